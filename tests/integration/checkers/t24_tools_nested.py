# t24_tools_nested.py: checks of tests/integration/t24_tools_nested.sh, fed on stdin there.
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
