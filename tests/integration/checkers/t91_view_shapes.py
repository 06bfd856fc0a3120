# t91_view_shapes.py: checks of tests/integration/t91_view_shapes.sh, fed on stdin there.
import json, os, re, subprocess
W, VIEW = os.environ["W"], os.environ["AP_VIEW"]
MS = 1_000_000

def run(*args):
    p = subprocess.run([VIEW, *args], capture_output=True, text=True)
    return p.stdout

def j(*args):
    return json.loads(run(*args, "--json"))

# shim chain: the agent first, the 62 helpers folded, not counted as process calls
out = run("summary", "--width", "100", f"{W}/shim")
table = out[out.index("Processes"):].split("\n")
rows = [l for l in table[2:] if l.startswith("  ") and not l.startswith("  folded") and re.match(r"  \d", l)]
check("shim: one process row, the agent (python3 agent.py, 9 calls)",
      len(rows) == 1 and "python3 agent.py" in rows[0] and re.search(r"\s9\s", rows[0]), rows)
fold = " ".join(l.strip() for l in table if "folded" in l or (l.startswith("  ") and not re.match(r"  \d", l) and "pid" not in l))
check("shim: helpers folded with their counts", "41 \u00d7 bash" in fold and "16 \u00d7 env" in fold and "5 \u00d7 readlink" in fold and "62 short helper" in fold, fold)
s = j("summary", f"{W}/shim")
eq("shim: JSON flags the agent and the 62 helpers", (sum(p["agent"] for p in s["processes"]),
   sum(p["helper"] for p in s["processes"]), [p["exe"] for p in s["processes"] if p["agent"]]), (1, 62, ["/usr/bin/python3.12"]))
eq("shim: helpers are not process calls", s["categories"]["process"]["recorded_calls"] if "process" in s["categories"] else 0, 0)

# the loop: one waterfall row per exchange with its label, one thread header
wf = j("waterfall", f"{W}/loop")
rows = [r for g in wf["groups"] for r in g["rows"]]
eq("loop: one waterfall row per exchange", len(rows), 300)
eq("loop: rows grouped under one thread header", len(wf["groups"]), 1)
eq("loop: labels", sorted(set(r["label"] for r in rows)),
   ["GET api.search.example/search?q=weather", "gpt-4o POST /v1/chat/completions"])
out = run("waterfall", "--width", "100", "--limit", "0", f"{W}/loop")
eq("loop: text waterfall has a row per exchange", sum(1 for l in out.split("\n") if "gpt-4o POST /v1/chat/completions" in l or "GET api.search" in l), 300)
lanes = j("waterfall", "--lanes", f"{W}/loop")
check("--lanes keeps the lane view", "lanes" in lanes and len(lanes["lanes"]) == 3, list(lanes))

# the loop's critical path: folded into iterations that still add up to the wall time
cp = j("critical-path", f"{W}/loop")
eq("loop: critical-path steps add up to the wall time", sum(x["ns"] for x in cp["steps"]), cp["wall_ns"])
out = run("critical-path", "--width", "100", f"{W}/loop")
check("loop: repeated segment folded", "\u00d7 100 iterations of:" in out, out[:600])
check("loop: the folded text is short", len(out.split("\n")) < 20, len(out.split("\n")))

# the concurrent pair: exactly one of the pair, then the third call
cp = j("critical-path", f"{W}/pair")
ex = [x for x in cp["steps"] if x["kind"] == "exchange"]
eq("pair: critical path has exactly one of the pair, then gemini",
   [(x["model"], x["ns"] // 1000) for x in ex], [("gpt-4o-mini", 150000), ("gemini-2.0-flash", 240000)])
eq("pair: steps add up to the wall time", sum(x["ns"] for x in cp["steps"]), cp["wall_ns"])

# equal ends: the call that started first is on the path, whole (the critical path's tie order)
cp = j("critical-path", f"{W}/ties")
eq("ties: critical path takes the earlier-started of two calls ending together",
   [(x["kind"], x.get("model"), x["ns"] // MS) for x in cp["steps"]],
   [("internal", None, 100), ("exchange", "gpt-4o", 800), ("internal", None, 100)])

# grouped findings: counts and savings
b = j("bottlenecks", f"{W}/loop")
g = {(x["kind"], x["site"]): x for x in b["groups"]}
seq = [x for x in b["groups"] if x["kind"] == "sequential_llm"]
eq("loop: sequential chains grouped (99 at one call site)", [x["count"] for x in seq], [99])
eq("loop: a group's saving is the sum of its findings", seq[0]["saving_ns"],
   sum(f["saving_ns"] for f in b["findings"] if f["kind"] == "sequential_llm"))
eq("loop: each chain saves its shorter call (40 ms and 44 ms chains)",
   sorted(set(f["saving_ns"] // 1000 for f in b["findings"] if f["kind"] == "sequential_llm")), [44000])
check("loop: savings together within the wall time", b["saving_total_ns"] <= b["wall_ns"], (b["saving_total_ns"], b["wall_ns"]))
check("loop: overlapping findings say so", any(f["overlaps_with"] is not None for f in b["findings"]))
out = run("bottlenecks", "--width", "100", f"{W}/loop")
check("loop: text shows groups, not 99 cards", out.count("sequential_llm") == 1 and "99 times" in out, out[:400])
out = run("bottlenecks", "--all", "--limit", "0", "--width", "100", f"{W}/loop")
eq("loop: --all lists each instance", out.count("sequential_llm"), 99)
for s in ("loop", "pair", "retry", "seq", "findings", "procs"):
    b = j("bottlenecks", f"{W}/{s}")
    check(f"{s}: exclusive savings add up to at most the wall time", b["saving_total_ns"] <= b["wall_ns"], (b["saving_total_ns"], b["wall_ns"]))
    check(f"{s}: each exclusive saving within its own", all(0 <= f["exclusive_saving_ns"] <= f["saving_ns"] for f in b["findings"]))

# a profiled child started by a thread nests under that thread in flame and waterfall
fl = j("flame", f"{W}/procs")
def trail(node, want, path=()):
    path = path + (node["kind"] + ":" + node["name"].split(":")[0],)
    if want in node["name"]:
        yield path
    for ch in node["children"]:
        yield from trail(ch, want, path)
t = list(trail(fl["root"], "claude-haiku"))
check("flame: the child's LLM call nests under the thread that started the child",
      t and "thread:thread 400" in t[0] and t[0].index("thread:thread 400") < t[0].index("process:pid 401 python3 tool.py --fast"), t)
wf = j("waterfall", f"{W}/procs")
eq("waterfall: the child's call is in the starting thread's group, below the process row",
   [(g["tid"], [(r["kind"], r["depth"]) for r in g["rows"]]) for g in wf["groups"]],
   [(400, [("process", 0), ("exchange", 1), ("exchange", 0), ("process", 0)])])

# diff across ports: the endpoints match
d = j("diff", f"{W}/retry", f"{W}/retry-8443")
eq("diff across ports: every endpoint matched, none new or gone",
   [e["status"] for e in d["endpoints"]], ["both", "both"])
out = run("diff", "--width", "100", f"{W}/retry", f"{W}/retry-8443")
check("diff across ports: no 'new'/'gone' rows", " new\n" not in out and " gone\n" not in out, out)
