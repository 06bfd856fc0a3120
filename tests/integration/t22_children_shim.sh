#!/bin/bash
# t22_children_shim: an agent started through a pyenv-like shim chain (a bash shim that forks
# helpers and execs a second bash script, which forks more helpers, a subshell and a pipeline,
# then execs /usr/bin/python3 running an agent that makes three LLM calls). With
# AGENTPROF_CHILDREN=0 the profiled process is followed through its execs and no fork is: one
# process (the agent, its exchanges, the bash shim at the start of its exec chain), no file of
# any helper, helpers exec'd without our LD_PRELOAD or AGENTPROF_* variables, the shim's fork
# and wait events still recorded. By default (children followed) the summary lists the agent
# first and folds the helpers with the counts the shim's structure gives.
. "$(dirname "$0")/lib.sh"

require_preload children-shim || finish
build_targets || finish
mock_up || { fail "mock" "cannot start the mock provider"; finish; }

# --- the shim chain, like pyenv's: bin/python3 -> libexec/pyenv exec python3 -> /usr/bin/python3
S=$W/pyenv
mkdir -p "$S/bin" "$S/libexec"
echo 3.11.9 >"$S/version"
cat >"$S/bin/python3" <<'EOF'
#!/usr/bin/env bash
set -e
readlink -f "$0" >/dev/null
here=$(dirname "$0")
exec "$here/../libexec/pyenv" exec python3 "$@"
EOF
cat >"$S/libexec/pyenv" <<'EOF'
#!/usr/bin/env bash
set -e
root=$PYENV_TEST_ROOT
v=$(cat "$root/version")
for i in 1 2 3; do dirname "$root/versions/$v/$i" >/dev/null; done
( true )
n=$( (echo a; echo b) | wc -l)
leak=$(env | grep -c -e libagentprof -e '^AGENTPROF_' || true)
echo "$leak" >>"$PYENV_TEST_LEAKS"
shift 2
exec /usr/bin/python3 "$@"
EOF
chmod +x "$S/bin/python3" "$S/libexec/pyenv"
# The helpers the shim forks, by final program, read off the scripts above: bin/python3 runs
# readlink and $(dirname); pyenv runs $(cat), 3 x dirname, a ( true ) subshell, a $( ... | wc)
# substitution (its bash, the bash of the (echo; echo) group, wc) and $(env | grep) (its bash,
# env, grep).
WANT_FOLD='4 × bash, 4 × dirname, 1 × cat, 1 × env, 1 × grep, 1 × readlink, 1 × wc'
WANT_HELPERS=13

cat >"$W/agent.py" <<'EOF'
import http.client, json, sys
port = int(sys.argv[1])
for i in range(3):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    body = json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": f"step {i}"}]})
    c.request("POST", "/v1/chat/completions", body, {"content-type": "application/json"})
    r = c.getresponse()
    r.read()
    c.close()
print("agent done")
EOF
export PYENV_TEST_ROOT=$S

PYENV_TEST_LEAKS=$W/bare.leaks run_bare "$W/bare" "$S/bin/python3" "$W/agent.py" "$MOCK_PORT"
eq "shim chain runs without the preload" "$(cat "$W/bare.rc"):$(cat "$W/bare.out")" "0:agent done"

# --- AGENTPROF_CHILDREN=0: exec followed, fork not
run_prof "$W/c0" "$W/c0" AGENTPROF_CHILDREN=0 PYENV_TEST_LEAKS="$W/c0.leaks" -- \
	"$S/bin/python3" "$W/agent.py" "$MOCK_PORT"
eq "CHILDREN=0: exit status unchanged" "$(cat "$W/c0.rc")" 0
same_file "CHILDREN=0: stdout unchanged" "$W/bare.out" "$W/c0.out"
eq "CHILDREN=0: helpers run without LD_PRELOAD=libagentprof or AGENTPROF_* in their environment" \
	"$(cat "$W/c0.leaks" 2>/dev/null)" 0
dump_spans "$W/c0" "$W/c0.dump"
"$AP_VIEW" summary --json --exec-chain "$W/c0" >"$W/c0.json" 2>"$W/c0.json.err"
"$AP_VIEW" summary --width 200 --exec-chain "$W/c0" >"$W/c0.txt" 2>&1
export W
check_py "$W/c0.dump" <"$AP_ROOT/tests/integration/checkers/t22_children_shim.py"

# --- default: children followed, helpers folded
run_prof "$W/c1" "$W/c1" PYENV_TEST_LEAKS="$W/c1.leaks" -- "$S/bin/python3" "$W/agent.py" "$MOCK_PORT"
eq "default: exit status unchanged" "$(cat "$W/c1.rc")" 0
same_file "default: stdout unchanged" "$W/bare.out" "$W/c1.out"
ge "default: helpers are profiled (they see our variables)" "$(cat "$W/c1.leaks" 2>/dev/null || echo 0)" 1
"$AP_VIEW" summary --json "$W/c1" >"$W/c1.json" 2>"$W/c1.json.err"
"$AP_VIEW" summary --width 200 "$W/c1" >"$W/c1.txt" 2>&1
export WANT_FOLD WANT_HELPERS
check_py "" <<'PY'
import json, os, re
W = os.environ["W"]
s = json.load(open(f"{W}/c1.json"))
eq("default: the helpers are flagged (13 by the shim's structure)", sum(p["helper"] for p in s["processes"]), int(os.environ["WANT_HELPERS"]))
txt = open(f"{W}/c1.txt").read()
tab = txt[txt.index("Processes"):].split("\n")
rows = [l for l in tab if re.match(r"  \d", l)]
check("default: the first row is the agent (python3 agent.py, 3 calls)",
      rows and "agent.py" in rows[0] and "python3" in rows[0] and re.search(r"\s3\s", rows[0]), rows)
eq("default: the agent is the only row (the shim's images are its exec chain)", len(rows), 1)
fold = " ".join(l.strip() for l in tab if not re.match(r"  \d", l))
want = os.environ["WANT_FOLD"]
check(f"default: helpers folded as '{want}'", f"folded: {want}:" in fold, fold)
PY
finish
