#!/bin/bash
# t92_runs_retries.sh: retries are not repeats (429, 429, 200 gives one rate_limited finding and no
# repeated_request), savings never add up to more than the wall time;
# run directories are unique per run, the viewer with no PATH opens the newest and says so, and
# `agentprof run` ends with the commands to look further.
. "$(dirname "$0")/lib.sh"

GEN=$AP_TGT/gen_spans
if [ ! -x "$GEN" ] || [ ! -x "$AP_VIEW" ] || [ ! -x "$AP_LAUNCHER" ]; then
	fail "viewer, launcher and generator built" "run 'make all unittest' first"
	finish
fi
"$GEN" scenario "$W/retry" retry || fail "generate retry"
"$GEN" scenario "$W/findings" findings || fail "generate findings"

export W AP_VIEW
check_py "" <<'PY'
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
PY

# runs: unique directories, the newest opened by default, the next commands printed
mkdir -p "$W/runs"
(cd "$W/runs" && "$AP_LAUNCHER" run --no-summary -- true 2>"$W/run1.err" && "$AP_LAUNCHER" run --no-summary -- true 2>"$W/run2.err")
eq "two runs in one second: two directories" "$(find "$W/runs" -maxdepth 1 -name 'agentprof-*' -type d | wc -l)" 2
newest=$(sed -n 's#^agentprof: span files in \(.*\) (exit.*#\1#p' "$W/run2.err")
if grep -q "agentprof-view flame $newest" "$W/run2.err" && grep -q "agentprof-view html -o report.html $newest" "$W/run2.err"; then
	ok "agentprof run ends with the commands to look further"
else
	fail "agentprof run prints next commands" "$(tail -4 "$W/run2.err")"
fi
(cd "$W/runs" && "$AP_VIEW" summary >"$W/view.out" 2>"$W/view.err")
if grep -q "reading the newest run, ./$(basename "$newest")" "$W/view.err" && grep -q "^Run: 1 process" "$W/view.out"; then
	ok "viewer with no PATH opens the newest run and says which"
else
	fail "viewer opens the newest run" "$(head -c 300 "$W/view.err") / $(head -c 200 "$W/view.out")"
fi
finish
