#!/bin/bash
# t24_tools_nested: subprocess tools nest under the manual span or thread that started them. A
# Python agent makes an LLM call, opens a manual span "research" (through ctypes) that makes an
# LLM call and runs two tools (subprocess.run of sh -c 'sleep 0.3', which Python starts through
# an invisible vfork, and os.posix_spawn of sleep 0.2), closes it, then runs sh -c 'sleep 0.15'
# outside any span and makes a last LLM call. Asserts: flame puts the two tools inside the span
# and the third under the thread; waterfall rows of the tools sit one level under the span (the
# third at thread level); the critical path has the tools as steps under the span ("span":
# "research"), the span's time split around them, steps adding up to the wall time; the folded
# flame graph draws the span as a frame above its exchange and its tools, the tool's own child
# under it, with frame totals equal to the children's lifetimes; speedscope nests the tools in
# the span's frame too. Under AGENTPROF_CHILDREN=0 the unprofiled tools nest the same way. A
# tool that makes its own LLM call has that call under its frame in the flame graph, counted
# once; an agent started by a wrapper (timeout) is not drawn as the wrapper's tool.
. "$(dirname "$0")/lib.sh"

require_preload tools-nested || finish
mock_up || { fail "mock" "cannot start the mock provider"; finish; }

cat >"$W/agent.py" <<'EOF'
import ctypes, http.client, json, os, subprocess, sys
port = int(sys.argv[1])
lib = ctypes.CDLL(None)
span = hasattr(lib, "agentprof_span_begin")
def llm(tag):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("POST", "/v1/chat/completions", json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": tag}]}),
              {"content-type": "application/json", "x-mock-delay-ms": "60"})
    r = c.getresponse()
    r.read()
    c.close()
llm("plan")
if span:
    lib.agentprof_span_begin(b"research", None)
llm("inside")
subprocess.run(["sh", "-c", "sleep 0.3"], check=True)
pid = os.posix_spawn("/bin/sleep", ["sleep", "0.2"], os.environ)
os.waitpid(pid, 0)
if span:
    lib.agentprof_span_end()
subprocess.run(["sh", "-c", "sleep 0.15"], check=True)
llm("final")
print("ok")
EOF
run_both "$W/a" "$W/run" "$PY" "$W/agent.py" "$MOCK_PORT"
for c in flame waterfall critical-path; do
	"$AP_VIEW" "$c" --json "$W/run" >"$W/$c.json" 2>"$W/$c.err" || fail "$c --json" "$(head -c 200 "$W/$c.err")"
done
"$AP_VIEW" export --format folded "$W/run" >"$W/folded.txt" 2>"$W/folded.err"
"$AP_VIEW" export --format speedscope "$W/run" >"$W/ss.json" 2>"$W/ss.err"
"$AP_VIEW" critical-path --width 160 "$W/run" >"$W/cp.txt" 2>&1
export W
check_py "" <"$AP_ROOT/tests/integration/checkers/t24_tools_nested.py"

# a wrapper (timeout) starts an agent whose tool is a Python script making its own LLM call:
# the tool's call nests under the tool's frame; the agent is no tool of the wrapper
cat >"$W/tool.py" <<'EOF'
import http.client, json, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
c.request("POST", "/v1/chat/completions", json.dumps({"model": "gpt-4o-mini", "messages": []}),
          {"content-type": "application/json", "x-mock-delay-ms": "120"})
c.getresponse().read()
EOF
cat >"$W/agent2.py" <<'EOF'
import http.client, json, subprocess, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
c.request("POST", "/v1/chat/completions", json.dumps({"model": "gpt-4o", "messages": []}), {"content-type": "application/json"})
c.getresponse().read()
subprocess.run([sys.executable, sys.argv[2], sys.argv[1]], check=True)
print("ok")
EOF
run_prof "$W/w" "$W/w" timeout 60 "$PY" "$W/agent2.py" "$MOCK_PORT" "$W/tool.py"
eq "wrapped agent runs" "$(cat "$W/w.rc"):$(cat "$W/w.out")" "0:ok"
"$AP_VIEW" export --format folded "$W/w" >"$W/w.folded" 2>&1
"$AP_VIEW" summary --json "$W/w" >"$W/w.json" 2>&1
check_py "" <<'PY'
import json, os
W = os.environ["W"]
fw = [(l.rsplit(" ", 1)[0].split(";"), int(l.rsplit(" ", 1)[1])) for l in open(f"{W}/w.folded").read().splitlines() if l.strip()]
check("wrapper: the agent is not a [process] frame of its wrapper",
      not any(fr.startswith("[process]") and "agent2.py" in fr for s, w in fw for fr in s), [s for s, w in fw])
a = [s for s, w in fw if s[-1] == "[llm] openai_compatible gpt-4o"]
check("wrapper: the agent's own call stays at its own root", len(a) == 1 and not any(f.startswith("[process]") for f in a[0]), a)
t = [s for s, w in fw if s[-1] == "[llm] openai_compatible gpt-4o-mini"]
check("the tool's own LLM call nests under the tool's frame, below the agent's stack",
      len(t) == 1 and any(f.startswith("[process] python3") and f.endswith("tool.py") for f in t[0]) and not t[0][0].startswith("[process]"), t)
s = json.load(open(f"{W}/w.json"))
tool = [p for p in s["processes"] if p["argv"] and len(p["argv"]) >= 2 and p["argv"][-2].endswith("tool.py")]
life = tool[0]["duration_ns"] / 1000 if tool else 0
tot = sum(w for st, w in fw if any(f.startswith("[process] python3") and f.endswith("tool.py") for f in st))
check("the tool's frame totals its lifetime (its call included once)", tool and abs(tot - life) <= 0.05 * life + 2000, (tot, life))
PY

# the same agent under AGENTPROF_CHILDREN=0: the tools are not profiled, and still nest
run_prof "$W/c0" "$W/c0" AGENTPROF_CHILDREN=0 -- "$PY" "$W/agent.py" "$MOCK_PORT"
eq "CHILDREN=0: agent runs unchanged" "$(cat "$W/c0.rc"):$(cat "$W/c0.out")" "0:ok"
"$AP_VIEW" flame --json "$W/c0" >"$W/c0.flame.json" 2>&1
"$AP_VIEW" export --format folded "$W/c0" >"$W/c0.folded" 2>&1
check_py "" <<'PY'
import json, os
W = os.environ["W"]
fl = json.load(open(f"{W}/c0.flame.json"))
def walk(n, path=()):
    yield n, path
    for c in n.get("children", []):
        yield from walk(c, path + (n,))
kids = [(n["name"], p[-1]["kind"]) for n, p in walk(fl["root"]) if n["kind"] == "process" and "not profiled" in n["name"]]
eq("CHILDREN=0 flame: two unprofiled tools inside span research, one under the thread",
   sorted(k for n, k in kids), ["span", "span", "thread"])
lines = open(f"{W}/c0.folded").read().splitlines()
check("CHILDREN=0 folded: the posix_spawn'd sleep is a leaf under the span, named from its spawn event",
      any(l.startswith("[span research];") and l.rsplit(" ", 1)[0].endswith(";[process] sleep 0.2") for l in lines), lines)
PY
finish
