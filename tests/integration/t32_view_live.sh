#!/bin/bash
# t32_view_live: the analyses on a live run. A Python agent (http.client, under the preload)
# makes 3 LLM calls one after another, then 3 concurrently from threads, then a slow tool call
# and a manual-free subprocess; every view must work on the real span files, the breakdown must
# count the concurrent calls once, bottlenecks must flag exactly the sequential chain, and the
# critical path must add up to the wall time.
. "$(dirname "$0")/lib.sh"

require_preload "live views" || finish
mock_up || { fail "mock" "cannot start the mock provider"; finish; }

cat >"$W/agent.py" <<'PYEOF'
import http.client, json, os, subprocess, sys, threading
port = int(sys.argv[1])

def call(model, delay_ms, path="/v1/chat/completions", method="POST"):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": model}]})
    c.request(method, path, body if method == "POST" else None,
              {"Content-Type": "application/json", "x-mock-delay-ms": str(delay_ms)})
    r = c.getresponse()
    r.read()
    c.close()

for i in range(3):
    call("seq-model-%d" % i, 250)
ts = [threading.Thread(target=call, args=("conc-model", 300)) for _ in range(3)]
for t in ts:
    t.start()
for t in ts:
    t.join()
call("", 600, "/tool/search?q=agents", "GET")
subprocess.run(["/bin/sleep", "0.1"])
PYEOF

run_prof "$W/run" "$W/agent" "$PY" "$W/agent.py" "$MOCK_PORT"
eq "agent exit status" "$(cat "$W/agent.rc")" 0

for c in summary flame waterfall tokens bottlenecks critical-path; do
	if "$AP_VIEW" "$c" "$W/run" >"$W/$c.txt" 2>"$W/$c.err" && [ -s "$W/$c.txt" ]; then
		ok "$c (text) on a live run"
	else
		fail "$c (text) on a live run" "$(head -c 300 "$W/$c.err")"
	fi
	if "$AP_VIEW" "$c" --json "$W/run" >"$W/$c.json" 2>"$W/$c.err" &&
		"$PY" -m json.tool "$W/$c.json" >/dev/null 2>&1; then
		ok "$c --json on a live run is valid JSON"
	else
		fail "$c --json on a live run" "$(head -c 300 "$W/$c.err")"
	fi
done

"$AP_VIEW" export --format jsonl "$W/run" >"$W/export.jsonl" 2>"$W/export.err" ||
	fail "export on a live run" "$(head -c 300 "$W/export.err")"
export W
check_py "" <"$AP_ROOT/tests/integration/checkers/t32_view_live.py"
finish
