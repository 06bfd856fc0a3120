# t92_runs_retries.py: checks of tests/integration/t92_runs_retries.sh, fed on stdin there.
import json, os, subprocess
W, VIEW = os.environ["W"], os.environ["AP_VIEW"]
MS = 1_000_000

def j(*args):
    return json.loads(subprocess.run([VIEW, *args, "--json"], capture_output=True, text=True).stdout)

b = j("bottlenecks", f"{W}/retry")
kinds = [f["kind"] for f in b["findings"]]
eq("429, 429, 200: one rate_limited finding", kinds.count("rate_limited"), 1)
r = [f for f in b["findings"] if f["kind"] == "rate_limited"][0]
eq("rate_limited: the three attempts are its evidence", [x["status"] for x in r["exchanges"]], [429, 429, 200])
eq("rate_limited: time in failed attempts (2 x 60 ms)", r["failed_ns"], 120 * MS)
eq("rate_limited: backoff between attempts (2 x 540 ms)", r["backoff_ns"], 1080 * MS)
check("rate_limited: the suggestion names limits, concurrency and Retry-After",
      all(w in r["suggestion"] for w in ("rate limits", "concurrency", "Retry-After")), r["suggestion"])
rep = [f for f in b["findings"] if f["kind"] == "repeated_request"]
eq("the retried LLM request is not a cacheable repeat", [len(f["exchanges"]) for f in rep], [3])
eq("the repeat is the tool call answered three times", rep[0]["site"] if rep else None,
   "tool GET api.search.example/search?q=weather")
check("savings add up to at most the wall time", b["saving_total_ns"] <= b["wall_ns"], (b["saving_total_ns"], b["wall_ns"]))
s = j("summary", f"{W}/retry")
out = subprocess.run([VIEW, "summary", "--width", "100", f"{W}/retry"], capture_output=True, text=True).stdout
check("text summary shows errors per endpoint and status",
      "Errors: 2 failed calls" in out and "2 \u00d7 429" in out and "POST api.openai.com/v1/chat/completions" in out, out[-600:])
wf = j("waterfall", f"{W}/retry")
eq("waterfall marks the failed calls", [r["failed"] for g in wf["groups"] for r in g["rows"] if r["kind"] == "exchange"][:3], [True, True, False])
b = j("bottlenecks", f"{W}/findings")
check("findings run: savings add up to at most the wall time", b["saving_total_ns"] <= b["wall_ns"], (b["saving_total_ns"], b["wall_ns"]))
check("findings run: raw savings exceed the wall, exclusive ones do not",
      sum(f["saving_ns"] for f in b["findings"]) >= b["saving_total_ns"])
