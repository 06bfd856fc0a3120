#!/bin/bash
# t23_demo_shim: scripts/demo.sh (what `make demo` runs after building) starts the example agent
# through its pyenv-style shim chain and shows the agent first (its exec chain: the bash shim,
# pyenv exec, /usr/bin/python3), the shim's helpers folded by program, and a waterfall with one
# labelled row per call (the agent's 9 exchanges and its subprocess tool); in under 60 s.
. "$(dirname "$0")/lib.sh"

require_preload demo || finish
[ -x "$AP_LAUNCHER" ] || { fail "launcher built" "build/agentprof missing"; finish; }

t0=$(date +%s)
(cd "$AP_ROOT" && timeout -k 5 120 scripts/demo.sh) >"$W/demo.out" 2>"$W/demo.err"
rc=$?
t1=$(date +%s)
eq "demo.sh exits 0" "$rc" 0
check "demo.sh takes under 60 s ($((t1 - t0)) s)" [ $((t1 - t0)) -lt 60 ]
export W
check_py "" <<'PY'
import os, re
W = os.environ["W"]
out = open(f"{W}/demo.out").read()
def section(name):
    m = re.search(r"==== agentprof-view " + re.escape(name) + r"[^\n]*====\n(.*?)(?=\n==== |\Z)", out, re.S)
    return m.group(1) if m else ""
s = section("summary")
tab = s[s.find("Processes"):].split("\n")
rows = [l for l in tab if re.match(r"  \d", l)]
check("demo: the process table's first row is the agent (python3 examples/agent.py, 9 calls)",
      rows and rows[0].rstrip().endswith("agent.py") and "/usr/bin/pyth" in rows[0] and re.search(r"\s9\s", rows[0]), rows[:2])
chain = " ".join(l.strip() for l in tab if not re.match(r"  \d", l))
check("demo: its exec chain runs through the shim and pyenv exec",
      re.search(r"exec chain: bash \S*shims/python3 .*-> bash \S*libexec/pyenv exec python3 .*-> /usr/bin/python3", chain), tab[:6])
m = re.search(r"folded: (.*?): ", chain)
fold = dict((p, int(n)) for n, p in re.findall(r"(\d+) \u00d7 (\S+?)(?:,|$)", m.group(1))) if m else {}
# the demo's shim: readlink, $(cd $(dirname ...) && pwd) [its bash, dirname], $(cat version),
# 3 x dirname, $(uname -s)
eq("demo: the shim's helpers folded by program", fold, {"bash": 1, "dirname": 4, "cat": 1, "readlink": 1, "uname": 1})
w = section("waterfall")
labels = [l for l in w.split("\n") if l.startswith("  ") and re.search(r"\d+ (ms|us|s) ", l)]
eq("demo: waterfall has a row per call (7 LLM, 2 tool) plus the subprocess tool's processes",
   (sum("gpt-4o POST /v1/chat/completions" in l for l in labels), sum("claude-sonnet-4-5 POST /v1/messages" in l for l in labels),
    sum("GET localhost/tool" in l for l in labels), sum("process " in l for l in labels) >= 1),
   (6, 1, 2, True))
PY
finish
