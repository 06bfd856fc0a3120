#!/bin/bash
# t84_pystacks_demo.sh: the example agent (examples/agent.py, what `make demo` runs) over TLS
# through `agentprof run`: its flame graph shows the agent's own methods (Agent.run >
# Agent.chat / chat_stream / claude / tool > Http.request) above every LLM and tool call with
# no interpreter C frames, the subprocess tool under Agent.run, the HTML report embeds the same
# frames, and `summary` names the calling line per endpoint. Also: scripts/bench-pystacks.sh
# runs and reports a cost for depth 10 and 40 (the number itself is a benchmark, not checked).
. "$(dirname "$0")/lib.sh"

require_preload "pystacks demo" || finish
mock_up || { fail "mock provider" "did not start"; finish; }
d=$W/demo
mkdir -p "$d"
AGENT_BASE_URL=https://localhost:$MOCK_TLS_PORT SSL_CERT_FILE=$AP_CA \
	timeout -k 5 "$AP_TMO" "$AP_LAUNCHER" run -o "$d" --no-summary -- "$PY" "$AP_ROOT/examples/agent.py" \
	>"$W/agent.out" 2>"$W/agent.err"
eq "the example agent ran" "$?" 0
"$AP_VIEW" flamegraph --weight calls "$d" >"$d.folded" 2>"$d.err" || fail "flamegraph" "$(head -c 200 "$d.err")"
AP_T=$T "$PY" - "$d.folded" <"$AP_ROOT/tests/integration/checkers/t84_pystacks_demo.py"
"$AP_VIEW" html -o "$d/report.html" "$d" >/dev/null 2>"$d.html.err" || fail "html report" "$(head -c 200 "$d.html.err")"
check "HTML report embeds the agent's frames" grep -q 'agent.py:Agent.run:[0-9]*' "$d/report.html"
"$AP_VIEW" summary "$d" >"$d.summary" 2>&1
check "summary: called from Http.request < Agent.chat < Agent.run" \
	grep -Eq '^ +[0-9]+  agent\.py:Http\.request:[0-9]+ < Agent\.chat:[0-9]+ < Agent\.run:[0-9]+$' "$d.summary"
check "summary: called from Http.request < Agent.tool < Agent.run" \
	grep -Eq '^ +[0-9]+  agent\.py:Http\.request:[0-9]+ < Agent\.tool:[0-9]+ < Agent\.run:[0-9]+$' "$d.summary"

# findings name their Python call site; diff compares runs by call site
"$AP_VIEW" bottlenecks --width 100 "$d" >"$d.bn" 2>&1
check "bottlenecks: a finding is called from the agent's own code" \
	grep -Eq '^    called from agent\.py:Http\.request:[0-9]+ < Agent\.[a-z_]+:[0-9]+' "$d.bn"
"$AP_VIEW" bottlenecks --json "$d" >"$d.bn.json" 2>&1
"$AP_VIEW" diff --json "$d" "$d" >"$d.diff.json" 2>&1
"$AP_VIEW" diff --width 100 "$d" "$d" >"$d.diff" 2>&1
check "diff: a section by call site" grep -q '^By call site' "$d.diff"
"$PY" - "$d.bn.json" "$d.diff.json" >"$W/cs.out" 2>&1 <<'PYEOF'
import json, sys
bn = json.load(open(sys.argv[1])); df = json.load(open(sys.argv[2]))
sites = [f.get("called_from") for f in bn["findings"]]
assert sites and all(s and s.startswith("agent.py:Http.request:") for s in sites), sites
cs = df["call_sites"]
assert any(c["called_from"].startswith("agent.py:Http.request:") and "Agent.chat:" in c["called_from"] for c in cs), cs
assert all(c["calls"]["a"] == c["calls"]["b"] and c["calls"]["a"] >= 1 for c in cs), cs
assert sum(c["calls"]["a"] for c in cs) >= 8, cs  # every LLM and tool call of the demo has a site
print("ok")
PYEOF
eq "bottlenecks --json names each finding's call site; diff --json pairs call sites" "$(tail -1 "$W/cs.out")" ok

# the capture benchmark runs (its numbers are printed, not judged)
if REPS=2000 CALLGRIND=0 "$AP_ROOT/scripts/bench-pystacks.sh" >"$W/bench.out" 2>"$W/bench.err"; then
	eq "bench-pystacks.sh: a cost line for depth 10 and 40" \
		"$(grep -cE '^pystacks depth (10|40): [0-9]+ ns' "$W/bench.out")" 2
	echo "# $(tr '\n' ' ' <"$W/bench.out")"
else
	fail "bench-pystacks.sh runs" "$(head -c 300 "$W/bench.err")"
fi
finish
