# t32_view_live.py: checks of tests/integration/t32_view_live.sh, fed on stdin there.
import json, os
W = os.environ["W"]
ld = lambda n: json.load(open(f"{W}/{n}.json"))
s, b, cp = ld("summary"), ld("bottlenecks"), ld("critical-path")
MS = 1e6
llm = s["categories"]["llm"]
eq("live: 6 LLM calls", llm["recorded_calls"], 6)
check("live: llm sum >= 6 x server delay", llm["sum_ns"] >= (3 * 250 + 3 * 300) * MS, llm["sum_ns"])
check("live: concurrent calls counted once (wall < sum by >= 400 ms)",
      llm["sum_ns"] - llm["wall_ns"] >= 400 * MS, (llm["sum_ns"], llm["wall_ns"]))
check("live: tool time >= 600 ms", s["categories"]["tool"]["wall_ns"] >= 600 * MS, s["categories"]["tool"])
eq("live: critical path adds up to wall", sum(x["ns"] for x in cp["steps"]), cp["wall_ns"])
eq("live: critical path wall = summary wall", cp["wall_ns"], s["wall_ns"])
seq = [f for f in b["findings"] if f["kind"] == "sequential_llm"]
eq("live: one sequential_llm finding", len(seq), 1)
xs = {}
for l in open(f"{W}/export.jsonl"):
    r = json.loads(l)
    if r["kind"] == "exchange":
        xs[(r["pid"], r["id"])] = r
if seq:
    models = sorted(xs[(e["pid"], e["id"])]["request_model"] or "" for e in seq[0]["exchanges"])
    eq("live: the sequential chain is the three seq-model calls", models,
       ["seq-model-0", "seq-model-1", "seq-model-2"])
    check("live: saving >= 2 x 250 ms", seq[0]["saving_ns"] >= 450 * MS, seq[0]["saving_ns"])
conc_flagged = [e for f in b["findings"] if f["kind"] == "sequential_llm" for e in f["exchanges"]
                if xs[(e["pid"], e["id"])]["request_model"] == "conc-model"]
eq("live: concurrent calls are not flagged sequential", conc_flagged, [])
check("live: slow_tool found", any(f["kind"] == "slow_tool" for f in b["findings"]), [f["kind"] for f in b["findings"]])
