#!/bin/bash
# t01_mock_selftest: the mock provider itself, without the preload. Starts its own plain and
# TLS instances (--port 0 + --ready-file), drives every endpoint with curl --raw and checks the
# wire format byte by byte: JSON shapes and the deterministic token formula, SSE framing and
# event order, NDJSON, chunked transfer framing, gzip (whole and per-event sync-flushed), the
# pacing headers, keep-alive, forced status, no usage, request bodies sent chunked and with
# Expect: 100-continue, and that no credential or query value reaches a response or the log.
. "$(dirname "$0")/lib.sh"

ensure_certs || fail "certificates" "gen-cert.sh failed"
if mock_start SELF && mock_start SELF_TLS --tls; then
	ok "mock starts (plain + TLS, OS-chosen ports via --ready-file)"
else
	fail "mock starts" "see $W/*.stderr"
	finish
fi
export SELF_PORT SELF_TLS_PORT SELF_LOG SELF_TLS_LOG AP_CA W

check_py "" <"$AP_ROOT/tests/integration/checkers/t01_mock_selftest.py"

# keep-alive seen from the server side: two requests, one curl, one client port
before=$(wc -l <"$SELF_LOG")
curl -sS --max-time 30 -o /dev/null -o /dev/null "http://127.0.0.1:$SELF_PORT/health" "http://127.0.0.1:$SELF_PORT/tool/weather"
sleep 0.1
ports=$(tail -n +$((before + 1)) "$SELF_LOG" | "$PY" -c 'import sys,json; print(len({json.loads(l)["peer_port"] for l in sys.stdin}))')
eq "keep-alive: two requests on one connection" "$ports" 1

# threaded: two delayed requests at once finish in about one delay, not two
start=$(date +%s%N)
curl -sS --max-time 30 -o /dev/null -H 'x-mock-delay-ms: 500' "http://127.0.0.1:$SELF_PORT/tool/weather" &
bg=$!
curl -sS --max-time 30 -o /dev/null -H 'x-mock-delay-ms: 500' "http://127.0.0.1:$SELF_PORT/tool/weather"
wait "$bg"
el=$((($(date +%s%N) - start) / 1000000))
if [ "$el" -lt 950 ]; then ok "threaded: parallel requests overlap (${el} ms)"; else
	fail "threaded: parallel requests overlap" "${el} ms for two 500 ms requests"
fi

# clean shutdown on SIGTERM
kill "$SELF_PID"
for i in $(seq 1 50); do kill -0 "$SELF_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$SELF_PID" 2>/dev/null; then fail "SIGTERM stops the mock" "still running"; else ok "SIGTERM stops the mock"; fi
finish
