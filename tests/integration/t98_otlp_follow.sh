#!/bin/bash
# t98_otlp_follow: `export --format otlp --follow DIR` on a run that is still being written (a
# profiled Python agent making LLM calls over ~6 s and starting curl children, new span files
# as it goes) ships every exchange exactly once: while the run goes, across a sidecar restart
# (SIGTERM: a final batch, exit 0, the state file), and after the run ends. Process spans are
# sent once each. Decoded with the real OpenTelemetry definitions when npm is reachable.
. "$(dirname "$0")/lib.sh"

require_preload "preload" || finish
mock_up || { fail "mock" "cannot start the mock provider"; finish; }
start_receiver recv || { fail "receiver" "did not start"; finish; }
RUN=$W/run
mkdir -p "$RUN"
cat >"$W/agent.py" <<'PY'
import http.client, json, subprocess, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
body = json.dumps({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]})
c = http.client.HTTPConnection("127.0.0.1", port)
for i in range(n):
    c.request("POST", "/v1/chat/completions", body, {"Content-Type": "application/json"})
    c.getresponse().read()
    if i % 40 == 20:  # a new process (and span file) now and then
        subprocess.run(["curl", "-sS", "-o", "/dev/null", "http://127.0.0.1:%d/tool/search?q=%d" % (port, i)])
    time.sleep(0.02)
PY
N=240
LD_PRELOAD=$AP_LIB AGENTPROF_OUT=$RUN AGENTPROF_FLUSH_MS=50 timeout -k 5 120 "$PY" "$W/agent.py" "$MOCK_PORT" $N \
	>"$W/agent.out" 2>"$W/agent.err" &
AGENT=$!
_AP_PIDS="$_AP_PIDS $AGENT"

sidecar() { # sidecar LOGNAME: start the sidecar in the background; SIDE = its pid
	"$AP_VIEW" export --format otlp --follow "$RUN" --endpoint "http://127.0.0.1:$RPORT" \
		>"$W/$1.out" 2>"$W/$1.err" &
	SIDE=$!
	_AP_PIDS="$_AP_PIDS $SIDE"
}
received() { # CLIENT spans the receiver accepted so far (exchanges)
	cat "$RDIR"/body-*.json 2>/dev/null | grep -o '"kind":3' | wc -l
}
sleep 0.3
sidecar side1
for _ in $(seq 1 100); do
	[ "$(received)" -ge 40 ] && break
	sleep 0.1
done
live=$(received)
kill -0 "$AGENT" 2>/dev/null && running=1 || running=0
eq "exchanges arrive while the run is still being written" "$running:$([ "$live" -ge 40 ] && echo yes)" "1:yes"
kill -TERM "$SIDE"
wait "$SIDE"
eq "sidecar exits 0 on SIGTERM" "$?" 0
grep -q 'stopped: ' "$W/side1.err" && ok "sidecar reports what it shipped" || fail "sidecar reports what it shipped" "$(tail -3 "$W/side1.err")"
state=$RUN/.agentprof-follow.state
if [ -s "$state" ] && head -1 "$state" | grep -qE '^trace [0-9a-f]{32}$'; then
	ok "state file with the trace id and the shipped span ids"
else
	fail "state file" "$(head -3 "$state" 2>/dev/null)"
fi
sleep 0.5 # the agent goes on while no sidecar runs
sidecar side2
wait "$AGENT"
eq "the agent finished normally" "$?" 0
want=$("$AP_VIEW" export --format jsonl "$RUN" 2>/dev/null | grep -c '"kind":"exchange"')
procs=$("$AP_VIEW" export --format jsonl "$RUN" 2>/dev/null | grep -c '"kind":"process"')
ge "the run has $N LLM exchanges and the curl children's" "$want" $((N + 5))
for _ in $(seq 1 150); do
	[ "$(received)" -ge "$want" ] && break
	sleep 0.1
done
sleep 0.5 # anything extra would show up now
kill -TERM "$SIDE"
wait "$SIDE"
eq "restarted sidecar exits 0 on SIGTERM" "$?" 0
grep -q '(.* spans shipped before)' "$W/side2.err" && ok "the restarted sidecar read the state" || fail "restarted sidecar read the state" "$(head -2 "$W/side2.err")"

"$PY" - "$RDIR" "$want" "$procs" <<'PY' >"$W/check"
import glob, json, os, sys
want, procs = int(sys.argv[2]), int(sys.argv[3])
spans = []
for f in sorted(glob.glob(os.path.join(sys.argv[1], "body-*.json"))):
    for rs in json.load(open(f))["resourceSpans"]:
        for ss in rs["scopeSpans"]:
            spans += ss["spans"]
ids = [s["spanId"] for s in spans]
client = [s for s in spans if s["kind"] == 3]
proc = [s for s in spans if s["name"].startswith("process ")]
def res(name, cond, why=""):
    print(("ok - " if cond else "FAIL - ") + name + ("" if cond else ": " + str(why)[:300]))
res("every exchange shipped", len(client) == want, (len(client), want))
res("nothing shipped twice (across the restart too)", len(ids) == len(set(ids)), len(ids) - len(set(ids)))
res("each process span once", len(proc) == procs, (len(proc), procs))
res("one trace across both sidecars", len({s["traceId"] for s in spans}) == 1)
py = [s for s in proc if "python" in s["name"]]
last = max(int(s["endTimeUnixNano"]) for s in client)
res("the agent's process span has its real end (sent after it ended, not at the first SIGTERM)", py and int(py[0]["endTimeUnixNano"]) >= last, (py[:1], last))
PY
while read -r l; do case $l in ok*) ok "${l#ok - }" ;; *) fail "${l#FAIL - }" "${l#*: }" ;; esac; done <"$W/check"
if otel_defs; then
	decode traces
	"$PY" -c 'import json,sys; S=json.load(open(sys.argv[1])); print(("ok - " if not S["errors"] and not S["unknown"] else "FAIL - ") + "every body decodes with the OpenTelemetry definitions " + repr((S["errors"][:2], S["unknown"][:2])))' "$RDIR/summary.json" >"$W/dec"
	while read -r l; do case $l in ok*) ok "${l#ok - }" ;; *) fail "${l#FAIL - }" "" ;; esac; done <"$W/dec"
else
	skip "OpenTelemetry definitions" "npm registry unreachable"
fi
# a collector that is down: the sidecar waits and retries rather than dropping
"$AP_VIEW" export --format otlp --follow "$RUN" >/dev/null 2>"$W/noep.err"
eq "--follow without an endpoint: usage error" "$?" 2
finish
