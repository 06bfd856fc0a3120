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
check_py "" <<'PY'
import json, os, re
W = os.environ["W"]
MS = 1_000_000
def walk(n, path=()):
    yield n, path
    for c in n.get("children", []):
        yield from walk(c, path + (n,))
fl = json.load(open(f"{W}/flame.json"))
nodes = list(walk(fl["root"]))
def procs_named(pat):
    return [(n, p) for n, p in nodes if n["kind"] == "process" and re.search(pat, n["name"])]
def parent_kinds(p):
    return [(x["kind"], x["name"].split()[1] if x["kind"] == "span" else "") for x in p[-2:]]
inside = procs_named(r"sh -c sleep 0\.3$") + procs_named(r"sleep 0\.2$")
check("flame: both tools of the span are drawn inside span research (under its thread)",
      len(inside) == 2 and all(p[-1]["kind"] == "span" and p[-1]["name"].startswith("span research") and p[-2]["kind"] == "thread" for n, p in inside),
      [parent_kinds(p) for n, p in inside])
outside = procs_named(r"sh -c sleep 0\.15$")
check("flame: the tool outside the span is under the thread, not the process",
      len(outside) == 1 and outside[0][1][-1]["kind"] == "thread", [parent_kinds(p) for n, p in outside])
sp = [n for n, p in nodes if n["kind"] == "span"]
kids = [c["kind"] for c in sp[0]["children"]] if sp else []
eq("flame: span research holds, in time order, its exchange then its two tools", kids, ["exchange", "process", "process"])

wf = json.load(open(f"{W}/waterfall.json"))
rows = [r for g in wf["groups"] for r in g["rows"]]
span_row = [r for r in rows if r["kind"] == "span"]
d = span_row[0]["depth"] if span_row else -9
tools = [r for r in rows if r["kind"] == "process"]
check("waterfall: the span's tools are one level under the span",
      len([r for r in tools if r["depth"] == d + 1 and span_row and span_row[0]["start_ns"] <= r["start_ns"] <= span_row[0]["end_ns"]]) == 2,
      [(r["label"], r["depth"]) for r in tools] + [("span", d)])
late = [r for r in tools if span_row and r["start_ns"] > span_row[0]["end_ns"]]
check("waterfall: the tool after the span is at thread level (its child one below it)",
      sorted(r["depth"] for r in late) == [0, 1], [(r["label"], r["depth"]) for r in late])

cp = json.load(open(f"{W}/critical-path.json"))
eq("critical path: steps add up to the wall time", sum(s["ns"] for s in cp["steps"]), cp["wall_ns"])
ps = [s for s in cp["steps"] if s["kind"] == "process"]
insp = [s for s in ps if s.get("span") == "research"]
check("critical path: the span's tools are steps under it (span research), ~500 ms of them",
      sum(s["ns"] for s in insp) >= 450 * MS and {s.get("exe", "").split("/")[-1] for s in insp} >= {"sleep"}, [(s.get("exe"), s.get("span"), s["ns"] // MS) for s in ps])
spans = [s for s in cp["steps"] if s["kind"] == "span"]
check("critical path: the span keeps only the time its tools and exchange do not explain",
      spans and sum(s["ns"] for s in spans) < 100 * MS, [(s["name"], s["ns"] // MS) for s in spans])
check("critical path: the tool after the span is not under it",
      any(s.get("span") is None and s["ns"] > 100 * MS for s in ps), [(s.get("exe"), s.get("span"), s["ns"] // MS) for s in ps])
txt = open(f"{W}/cp.txt").read()
check("critical path text: tool steps carry [span research]", re.search(r"process +child pid \d+ \S*sleep  \[span research\]", txt), txt[:800])

lines = [l.rsplit(" ", 1) for l in open(f"{W}/folded.txt").read().splitlines() if l.strip()]
fw = [(s.split(";"), int(w)) for s, w in lines]
def total(pred):
    return sum(w for fr, w in fw if pred(fr))
llm_in = [fr for fr, w in fw if fr[-1].startswith("[llm]") and "[span research]" in fr]
check("folded: the exchange inside the span has the span as a frame (its root)", len(llm_in) == 1 and llm_in[0][0] == "[span research]", llm_in)
check("folded: exchanges outside the span have no span frame", sum(1 for fr, w in fw if fr[-1].startswith("[llm]") and "[span research]" not in fr) == 2, [fr[-1] for fr, w in fw])
sh_in = total(lambda fr: fr[0] == "[span research]" and "[process] sh -c" in fr)
sl_in = total(lambda fr: fr[0] == "[span research]" and fr[-1] == "[process] sleep 0.3" and fr[-2] == "[process] sh -c")
check("folded: sh -c under the span, its sleep 0.3 under it; the frame's total is its lifetime (~300 ms)",
      290_000 <= sh_in <= 400_000 and 290_000 <= sl_in <= sh_in, (sh_in, sl_in))
sp2 = total(lambda fr: fr[0] == "[span research]" and fr[-1] == "[process] sleep 0.2")
check("folded: posix_spawn'd sleep 0.2 under the span (~200 ms)", 190_000 <= sp2 <= 300_000, sp2)
out = total(lambda fr: "[span research]" not in fr and "[process] sh -c" in fr)
check("folded: the tool outside the span is not under it (~150 ms)", 140_000 <= out <= 250_000, out)

ss = json.load(open(f"{W}/ss.json"))
names = [f["name"] for f in ss["shared"]["frames"]]
found = set()
for p in ss["profiles"]:
    st = []
    for e in p["events"]:
        if e["type"] == "O":
            st.append(names[e["frame"]])
            if names[e["frame"]].startswith("[process]"):
                found.add((("research" in st), names[e["frame"]]))
        else:
            st.pop()
eq("speedscope: the tools are opened inside the span's frame, the late one outside it",
   sorted(found), sorted({(True, "[process] sh -c"), (True, "[process] sleep 0.3"), (True, "[process] sleep 0.2"),
                          (False, "[process] sh -c"), (False, "[process] sleep 0.15")}))
PY

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
