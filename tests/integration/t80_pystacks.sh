#!/bin/bash
# t80_pystacks.sh: Python call stacks with Debian's python3 (3.11, libpython in the executable).
# tests/targets/py_paths.py calls the mock provider from two call paths through http.client,
# urllib.request, requests, httpx (sync and async), aiohttp and asyncio streams; the flame graph
# must show each path with the fixture's function names and line numbers (the coroutine chain
# for the async clients), no frame of the other path and no interpreter C frames; --native keeps
# native frames around them; `summary` names the calling line per endpoint; the JSON and Chrome
# exports carry the call site; AGENTPROF_PYSTACKS=0 records none; AGENTPROF_STACKS=0 keeps them.
. "$(dirname "$0")/lib.sh"

require_preload "pystacks" || finish
mock_up || { fail "mock provider" "did not start"; finish; }
FX=$AP_TGT_SRC/py_paths.py
CHECK=$AP_ROOT/tests/integration/pystack_check.py

for lib in http.client urllib requests httpx httpx_async aiohttp asyncio; do
	mod=${lib%%_async}
	mod=${mod%%.client}
	[ "$lib" = urllib ] && mod=urllib.request
	[ "$lib" = http.client ] && mod=http.client
	if ! "$PY" -c "import $mod" 2>/dev/null; then
		fail "$lib: importable by $PY" "install python3-$mod (scripts/install-deps.sh)"
		continue
	fi
	async=0
	case $lib in httpx_async | aiohttp | asyncio) async=1 ;; esac
	d=$W/$lib
	"$PY" "$FX" "$lib" x --lines >"$W/lines.json" || fail "$lib: fixture line numbers" "--lines"
	run_both "$W/$lib" "$d" "$PY" "$FX" "$lib" "$PLAIN"
	eq "$lib: the fixture ran" "$(cat "$W/$lib.prof.out")" "$lib [200, 200, 200]"
	if ! "$AP_VIEW" flamegraph "$d" >"$d.folded" 2>"$d.folded.err"; then
		fail "$lib: flamegraph" "$(head -c 300 "$d.folded.err")"
		continue
	fi
	"$PY" "$CHECK" "$T" "$lib" "$d.folded" "$W/lines.json" "$async" && ok "$lib: call paths"
	"$PY" - "$d.folded" "$lib" <<'PY'
import sys
n = sum(1 for l in open(sys.argv[1]) if l.strip())
print(("ok - t80_pystacks: %s: two distinct stacks, one per path" if n == 2 else
       "FAIL - t80_pystacks: %s: two distinct stacks, one per path: %d") % ((sys.argv[2],) + ((n,) if n != 2 else ())))
PY
	"$AP_VIEW" summary "$d" >"$d.summary" 2>&1
	LN_ASK=$("$PY" -c "import json;print(json.load(open('$W/lines.json'))['ask'])")
	LN_PLAN=$("$PY" -c "import json;print(json.load(open('$W/lines.json'))['plan'])")
	LN_SUM=$("$PY" -c "import json;print(json.load(open('$W/lines.json'))['summarize'])")
	check "$lib: summary: called from ... < ask_model:$LN_ASK < plan_task:$LN_PLAN" \
		grep -q "py_paths.py:send_.*< ask_model:$LN_ASK < plan_task:$LN_PLAN\$" "$d.summary"
	check "$lib: summary: called from ... < ask_model:$LN_ASK < summarize_review:$LN_SUM" \
		grep -q "py_paths.py:send_.*< ask_model:$LN_ASK < summarize_review:$LN_SUM\$" "$d.summary"
done

# --native: the Python frames stay, native frames (when recorded) are kept around them
d=$W/http.client
"$AP_VIEW" flamegraph --native "$d" >"$d.native" 2>/dev/null
check "--native: Python frames still shown" grep -q "py_paths.py:plan_task:" "$d.native"
check "--native: native frames (libc or the interpreter's entry) shown too" \
	grep -Eq "__libc_start_main|Py_RunMain|Py_BytesMain|_start" "$d.native"
"$AP_VIEW" summary --call-site any "$d" >"$d.any" 2>&1
check "--call-site any: the innermost frame is the library's" grep -q "client.py:HTTPConnection" "$d.any"
"$AP_VIEW" summary --call-site nonsense "$d" >/dev/null 2>"$d.bad"
eq "--call-site nonsense: exit 2" "$?" 2
"$AP_VIEW" export --format chrome "$d" >"$d.chrome" 2>/dev/null
check "chrome export: called_from and python_stack args" \
	grep -q '"called_from":"py_paths.py:send_sync:[0-9]* < ask_model' "$d.chrome"
"$AP_VIEW" summary --json "$d" >"$d.json" 2>/dev/null
check "summary --json: called_from" "$PY" -c "
import json,sys
j = json.load(open('$d.json'))
s = [x['site'] for e in j['called_from'] for x in e['sites']]
sys.exit(0 if len(s) == 2 and all(x.startswith('py_paths.py:send_sync:') for x in s) else 1)"
"$AP_VIEW" export --format speedscope "$d" >"$d.speedscope" 2>/dev/null
check "speedscope export: Python frames with file and line" "$PY" -c "
import json,sys
j = json.load(open('$d.speedscope'))
fr = [f for f in j['shared']['frames'] if f['name'].startswith('py_paths.py:plan_task:')]
sys.exit(0 if fr and fr[0].get('file','').endswith('py_paths.py') and fr[0].get('line',0) > 0 else 1)"

# AGENTPROF_PYSTACKS=0: exchanges recorded, no Python stacks
d=$W/off
mkdir -p "$d"
AGENTPROF_PYSTACKS=0 run_prof "$d" "$W/off" "$PY" "$FX" http.client "$PLAIN"
"$AP_VIEW" flamegraph "$d" >"$d.folded" 2>/dev/null
ap_export "$d" "$d.jsonl"
eq "AGENTPROF_PYSTACKS=0: three exchanges still recorded" "$(grep -c '"kind":"exchange"' "$d.jsonl")" 3
check "AGENTPROF_PYSTACKS=0: no Python frames" sh -c "! grep -q 'py_paths.py:' '$d.folded'"

# AGENTPROF_STACKS=0 (no native stacks): the Python stacks remain
d=$W/nonative
mkdir -p "$d"
AGENTPROF_STACKS=0 run_prof "$d" "$W/nonative" "$PY" "$FX" http.client "$PLAIN"
"$AP_VIEW" flamegraph "$d" >"$d.folded" 2>/dev/null
"$PY" "$FX" http.client x --lines >"$W/lines.json"
"$PY" "$CHECK" "$T" "AGENTPROF_STACKS=0" "$d.folded" "$W/lines.json" 0 && ok "AGENTPROF_STACKS=0: Python call paths"
finish
