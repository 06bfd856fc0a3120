# t30_view_golden.py: checks of tests/integration/t30_view_golden.sh, fed on stdin there.
import json, os, subprocess
W, VIEW = os.environ["W"], os.environ["AP_VIEW"]
MS = 1_000_000

def view(*args):
    p = subprocess.run([VIEW, *args], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr

def j(*args):
    rc, out, err = view(*args, "--json")
    try:
        return json.loads(out)
    except ValueError as e:
        fail(f"{' '.join(args)} --json is JSON", f"{e}: {out[:200]} {err[:200]}")
        return {}

def cp_ok(name, cp):
    eq(f"{name}: critical-path steps add up to wall_ns", sum(s["ns"] for s in cp["steps"]), cp["wall_ns"])
    check(f"{name}: critical-path steps are contiguous",
          all(a["end_ns"] == b["start_ns"] for a, b in zip(cp["steps"], cp["steps"][1:])))

def kinds(b):
    return [f["kind"] for f in b["findings"]]

# sequential: three LLM calls back to back, a slow tool, a memory call (4 s run)
s = j("summary", f"{W}/seq")
c = s["categories"]
eq("seq: wall_ns", s["wall_ns"], 4000 * MS)
eq("seq: llm wall (union)", c["llm"]["wall_ns"], 2400 * MS)
eq("seq: llm sum", c["llm"]["sum_ns"], 2400 * MS)
eq("seq: tool wall", c["tool"]["wall_ns"], 600 * MS)
eq("seq: memory wall", c["memory"]["wall_ns"], 5 * MS)
eq("seq: internal = wall - union", c["internal"]["wall_ns"], 995 * MS)
eq("seq: llm share", round(c["llm"]["share"], 6), 0.6)
m = s["models"][0]
eq("seq: model", (m["provider"], m["model"], m["calls"]), ("openai", "gpt-4o", 3))
eq("seq: p50/p95/p99", [m["duration_ns"][k] for k in ("p50", "p95", "p99")], [800 * MS] * 3)
eq("seq: ttfb p50", m["ttfb_ns"]["p50"], 400 * MS)
eq("seq: tokens in/out", (m["tokens"]["input"], m["tokens"]["output"]), (3000, 300))
eq("seq: cache_read unknown is null", m["tokens"]["cache_read"], None)
check("seq: cost from the built-in table", abs(s["cost_usd"] - 0.0105) < 1e-9, s["cost_usd"])
b = j("bottlenecks", f"{W}/seq")
f = [x for x in b["findings"] if x["kind"] == "sequential_llm"]
eq("seq: one sequential_llm finding", len(f), 1)
if f:
    eq("seq: sequential_llm saving = chain - longest call", f[0]["saving_ns"], 1620 * MS)
    eq("seq: sequential_llm evidence", [x["id"] for x in f[0]["exchanges"]], [1, 2, 3])
    check("seq: finding has a suggestion", len(f[0]["suggestion"]) > 20)
eq("seq: slow_tool saving (600 ms - 500 ms threshold)",
   [x["saving_ns"] for x in b["findings"] if x["kind"] == "slow_tool"], [100 * MS])
eq("seq: findings ranked by saving", [x["saving_ns"] for x in b["findings"]],
   sorted([x["saving_ns"] for x in b["findings"]], reverse=True))
for k in ("repeated_request", "no_connection_reuse", "llm_dominant", "context_pressure"):
    check(f"seq: no {k}", k not in kinds(b), kinds(b))
cp = j("critical-path", f"{W}/seq")
cp_ok("seq", cp)
eq("seq: critical path", [(x["kind"], x["ns"] // MS) for x in cp["steps"]],
   [("internal", 100), ("exchange", 800), ("internal", 10), ("exchange", 800), ("internal", 10),
    ("exchange", 800), ("internal", 80), ("exchange", 600), ("internal", 100),
    ("exchange", 5), ("internal", 695)])

# the same calls concurrent on three threads: counted once in wall time, never "sequential"
s = j("summary", f"{W}/conc")
c = s["categories"]
eq("conc: llm wall is the union (100..1000 ms)", c["llm"]["wall_ns"], 900 * MS)
eq("conc: llm sum counts each call", c["llm"]["sum_ns"], 2400 * MS)
eq("conc: internal", c["internal"]["wall_ns"], 495 * MS)
b = j("bottlenecks", f"{W}/conc")
check("conc: concurrent calls are not flagged sequential", "sequential_llm" not in kinds(b), kinds(b))
cp = j("critical-path", f"{W}/conc")
cp_ok("conc", cp)
eq("conc: critical path takes the call that finished last, never a slice of a concurrent one",
   [(x["kind"], x["ns"] // MS) for x in cp["steps"]][:3],
   [("internal", 200), ("exchange", 800), ("internal", 100)])

# nested manual spans
s = j("summary", f"{W}/spans")
c = s["categories"]
eq("spans: llm wall includes the llm span", c["llm"]["wall_ns"], 850 * MS)
eq("spans: tool wall includes the tool span", c["tool"]["wall_ns"], 800 * MS)
eq("spans: internal", c["internal"]["wall_ns"], 350 * MS)
eq("spans: agents", sorted(a["agent"] for a in s["agents"]), ["demo-agent", "planner"])
cp = j("critical-path", f"{W}/spans")
cp_ok("spans", cp)
eq("spans: critical path through spans",
   [(x["kind"], x.get("name") or x.get("path"), x["ns"] // MS) for x in cp["steps"]],
   [("internal", None, 100), ("span", "agent-step", 50), ("span", "plan", 50),
    ("exchange", "/v1/chat/completions", 700), ("span", "plan", 100), ("span", "search", 100),
    ("exchange", "/search?q=weather", 400), ("span", "search", 300), ("span", "agent-step", 100),
    ("internal", None, 100)])
fl = j("flame", f"{W}/spans")
def path_to(node, kind, trail=()):
    trail = trail + (node["kind"] + ":" + node["name"].split(" ")[0 if node["kind"] != "span" else 1],)
    if node["kind"] == kind:
        yield trail
    for ch in node["children"]:
        yield from path_to(ch, kind, trail)
ex = [t for t in path_to(fl["root"], "exchange")]
check("spans: flame nests the LLM exchange under span plan under span agent-step",
      any(t[-3:-1] == ("span:agent-step", "span:plan") for t in ex), ex)
wf = j("waterfall", "--lanes", f"{W}/spans")
eq("spans: waterfall lanes (1 thread, 2 connections)",
   sorted(l["kind"] for l in wf["lanes"]), ["connection", "connection", "thread"])

# two processes: a shell that spawns a profiled python child and an unprofiled sleep
s = j("summary", f"{W}/procs")
p = {x["pid"]: x for x in s["processes"]}
eq("procs: two processes", sorted(p), [400, 401])
eq("procs: child's parent", p[401]["parent_pid"], 400)
eq("procs: child exit code", p[401]["exit_code"], 3)
eq("procs: child start on the shared axis (different monotonic base)",
   p[401]["start_ns"] - p[400]["start_ns"], 150 * MS)
eq("procs: process category = child lifetime + unprofiled spawn", s["categories"]["process"]["wall_ns"],
   2150 * MS)
eq("procs: anthropic input normalised (input + cache read)", s["models"][0]["tokens"]["input"], 2500)
eq("procs: drops", s["drops"]["records"], 5)
cp = j("critical-path", f"{W}/procs")
cp_ok("procs", cp)
eq("procs: critical path crosses processes", [(x["kind"], x["ns"] // MS) for x in cp["steps"]],
   [("internal", 150), ("process", 150), ("exchange", 1000), ("process", 700), ("internal", 200),
    ("exchange", 300), ("internal", 100), ("process", 300), ("internal", 100)])
s = j("summary", "--pid", "401", f"{W}/procs")
eq("procs: --pid 401 window", s["wall_ns"], 1850 * MS)
s = j("summary", "--provider", "anthropic", f"{W}/procs")
eq("procs: --provider filters exchanges", (s["categories"]["llm"]["recorded_calls"],
   s["categories"]["tool"]["recorded_calls"]), (1, 0))
s = j("summary", "--category", "tool", f"{W}/seq")
eq("seq: --category tool", (s["categories"]["llm"]["wall_ns"], s["categories"]["tool"]["wall_ns"]),
   (0, 600 * MS))
s = j("summary", "--host", "api.search.*", "--model", "nomatch*", f"{W}/seq")
eq("seq: --host and --model combine with AND", s["categories"]["tool"]["recorded_calls"], 0)

# regression between two runs: percentiles and diff gates
s = j("summary", f"{W}/ra")
d = s["models"][0]["duration_ns"]
eq("regress-a: nearest-rank percentiles of 100..1000 ms",
   [d[k] // MS for k in ("p50", "p90", "p95", "p99", "max")], [500, 900, 1000, 1000, 1000])
eq("regress-a: mean", d["mean"], 550 * MS)
rc, out, err = view("diff", f"{W}/ra", f"{W}/rb", "--fail-on", "p95=+20%")
eq("diff: p95 +50% crosses +20% (exit 1)", rc, 1)
rc, out, err = view("diff", f"{W}/ra", f"{W}/rb", "--fail-on", "p95=+60%,cost=+150%")
eq("diff: p95 +50% within +60%, cost +100% within +150% (exit 0)", rc, 0)
rc, out, err = view("diff", f"{W}/ra", f"{W}/ra", "--fail-on", "p95=+0%,cost=+0%,tokens=+0%")
eq("diff: a run against itself (exit 0)", rc, 0)
rc, out, err = view("diff", f"{W}/ra", f"{W}/rb", "--fail-on", "cost=+10%")
eq("diff: cost doubled crosses +10% (exit 1)", rc, 1)
rc, out, err = view("diff", f"{W}/rb", f"{W}/ra", "--fail-on", "p95=+20%,cost=+10%")
eq("diff: an improvement passes (exit 0)", rc, 0)
dj = j("diff", f"{W}/ra", f"{W}/rb", "--fail-on", "p95=+200ms")
m = dj["models"][0]
eq("diff json: p95 a/b", (m["p95_ns"]["a"], m["p95_ns"]["b"]), (1000 * MS, 1500 * MS))
eq("diff json: tokens change", m["tokens"]["change_pct"], 100)
eq("diff json: absolute limit +200ms crossed", dj["failed"], True)

# bottleneck patterns
b = j("bottlenecks", f"{W}/findings")
for k in ("repeated_request", "slow_first_byte", "no_connection_reuse", "llm_dominant",
          "high_call_count", "prompt_heavy", "context_pressure"):
    check(f"findings: {k} found", k in kinds(b), kinds(b))
check("findings: calls 530 ms apart are not sequential (seq_gap_ms 100)",
      "sequential_llm" not in kinds(b), kinds(b))
r = [x for x in b["findings"] if x["kind"] == "repeated_request"]
eq("findings: repeated_request evidence", [x["id"] for x in r[0]["exchanges"]] if r else None, [1, 2, 3])
eq("findings: repeated_request saves the repeats' critical-path time", r[0]["saving_ns"] if r else None,
   2 * 2070 * MS)
b = j("bottlenecks", "--threshold", "seq_gap_ms=600,llm_share=0.9", f"{W}/findings")
check("findings: --threshold seq_gap_ms=600 makes them sequential", "sequential_llm" in kinds(b), kinds(b))
check("findings: --threshold llm_share=0.9 drops llm_dominant", "llm_dominant" not in kinds(b), kinds(b))
check("findings: contract keys in every finding",
      all({"kind", "saving_ns", "exchanges", "suggestion"} <= set(x) for x in b["findings"]))

# context windows are per model: 100k-token prompts press gpt-4o's 128k window, not gpt-4.1's 1M
b = j("bottlenecks", f"{W}/windows")
eq("windows: context_pressure evidence is the gpt-4o calls only",
   [[x["id"] for x in f["exchanges"]] for f in b["findings"] if f["kind"] == "context_pressure"],
   [[1, 3]])

# sampling
s = j("summary", f"{W}/sampled")
eq("sampled: rate stated", s["sample_rate"], 0.25)
eq("sampled: calls scaled", s["models"][0]["calls"], 8)
eq("sampled: tokens scaled", s["models"][0]["tokens"]["input"], 8000)
rc, out, err = view("summary", f"{W}/sampled")
check("sampled: text states the rate", "recorded at 25%" in out, out[:300])

# tokens and budgets
t = j("tokens", f"{W}/findings")
eq("tokens: context share of gpt-4o (100k of 128k)", round(t["models"][0]["context_share"]["max"], 4),
   round(100000 / 128000, 4))
eq("tokens: per-call rows", len(t["calls"]), 4)
rc, out, err = view("tokens", "--budget", "tokens=100k", f"{W}/findings")
eq("tokens: over budget (exit 1)", rc, 1)
check("tokens: says OVER", "OVER" in out, out[-300:])
rc, out, err = view("tokens", "--budget", "tokens=1M,cost=5,llm=9s,tool.calls=30", f"{W}/findings")
eq("tokens: within budgets (exit 0)", rc, 0)
t = j("summary", "--budget", "llm=1s,internal=10s", f"{W}/seq")
eq("summary: per-category budgets", [(x["budget"], x["status"]) for x in t["budgets"]],
   [("llm=1s", "over"), ("internal=10s", "within")])

# odd strings and a process without an end record
rc, out, err = view("export", "--format", "jsonl", f"{W}/odd")
eq("odd: export exit 0", rc, 0)
rows = [json.loads(l) for l in out.splitlines()]
proc = [r for r in rows if r["kind"] == "process"][0]
x = [r for r in rows if r["kind"] == "exchange"][0]
eq("odd: argv bytes survive as JSON", proc["argv"], ['odd"prog', "tab\there", "nl\nx", "\ufffd\ufffd bad", "\u20ac ok"])
eq("odd: killed process: end and exit code null", (proc["end_ns"], proc["exit_code"]), (None, None))
eq("odd: unknown usage is null, never 0", [x[k] for k in ("input_tokens", "output_tokens",
   "cache_read_tokens", "reasoning_tokens", "first_byte_ns", "response_model")], [None] * 6)
eq("odd: provider name", x["provider"], "openai_compatible")
for k in ("kind", "pid", "tid", "conn", "category", "provider", "host", "port", "tls", "visibility",
          "method", "path", "status", "stream", "request_model", "response_model", "input_tokens",
          "output_tokens", "cache_read_tokens", "reasoning_tokens", "start_ns", "first_byte_ns",
          "end_ns", "bytes_sent", "bytes_received"):
    check(f"export: exchange has contract field {k}", k in x)
for k in ("kind", "pid", "ppid", "exe", "argv", "start_ns", "end_ns", "exit_code"):
    check(f"export: process has contract field {k}", k in proc)
