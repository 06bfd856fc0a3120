#!/bin/bash
# t15_node_https: the opaque-TLS fallback, on Node's https.request. Node links OpenSSL
# statically; with the inline hooks switched off (AGENTPROF_INLINE_HOOKS=0, as when a prologue
# cannot be patched) the profiler sees only ciphertext on a socket: it must name the peer from
# the TLS ClientHello SNI (localhost), mark the exchanges opaque, and infer them from request /
# response turns. (t77 checks the same traffic seen in full through the hooks.) tests/targets/node_https.js makes two calls on one keep-alive connection:
#   POST /v1/chat/completions (x-mock-delay-ms 300), then GET /tool/weather (x-mock-delay-ms 150)
# What can be known is asserted exactly; what cannot (method, path, status, models, tokens)
# must be unknown (null), never guessed or 0.
. "$(dirname "$0")/lib.sh"

mock_up || { fail "mock" "cannot start the mock provider"; finish; }
if [ ! -x "$NODE" ]; then
	fail "node" "node not installed (scripts/install-deps.sh installs it)"
	finish
fi
S=$AP_TGT_SRC/node_https.js
run_bare "$W/bare" "$NODE" "$S" localhost "$MOCK_TLS_PORT" "$AP_CA"
eq "works without the preload" "$(cat "$W/bare.rc")" 0
eq "two calls on one connection" "$(grep -c ' 200 ' "$W/bare.out")/$(tail -1 "$W/bare.out")" "2/connections 1"

require_preload node-https || finish
mock_mark
export AGENTPROF_INLINE_HOOKS=0
run_prof "$W/p" "$W/prof" "$NODE" "$S" localhost "$MOCK_TLS_PORT" "$AP_CA"
mock_since "$W/mock.jsonl"
eq "exit status under the preload" "$(cat "$W/prof.rc")" 0
same_file "output unchanged under the preload" "$W/bare.out" "$W/prof.out"
profile_and_export node "$W/p" "$W/p.jsonl" || finish

check_py "$W/p.jsonl" "$W/mock.jsonl" <<'PY'
import os
port = int(os.environ["MOCK_TLS_PORT"])
eq("mock saw 2 requests on one connection", (len(M), len({m["peer_port"] for m in M})), (2, 1))
check_schema(X)
mine = [x for x in X if x.get("port") == port]
eq("two exchanges inferred from turns", len(mine), 2)
eq("host from SNI", sorted({x.get("host") for x in mine}), ["localhost"])
eq("tls", [x.get("tls") for x in mine], [True, True])
eq("visibility opaque", [x.get("visibility") for x in mine], ["opaque", "opaque"])
check("one connection", len({x.get("conn") for x in mine}) == 1)
for f in ("method", "path", "status", "request_model", "response_model", "input_tokens",
          "output_tokens", "cache_read_tokens", "reasoning_tokens"):
    eq(f"opaque: {f} unknown (null)", [x.get(f) for x in mine], [None, None])
eq("opaque localhost traffic classifies as tool", [x.get("category") for x in mine], ["tool", "tool"])
if len(mine) == 2:
    a, b = mine
    check("turn 1 lasts >= 300 ms (the chat's server delay)", dur_ms(a) >= 300, f"{dur_ms(a)}")
    check("turn 2 lasts >= 150 ms (the tool's server delay)", dur_ms(b) >= 150, f"{dur_ms(b)}")
    check("turns are sequential", a["end_ns"] <= b["start_ns"])
    # TLS 1.3 session tickets the server sends after the handshake are not response bytes
    fb = [(x["first_byte_ns"] - x["start_ns"]) / 1e6 for x in mine]
    check("turn 1: first response byte >= 300 ms after the request", fb[0] >= 300 - FB_SLACK_MS, f"{fb[0]:.1f} ms")
    check("turn 2: first response byte >= 150 ms after the request", fb[1] >= 150 - FB_SLACK_MS, f"{fb[1]:.1f} ms")
    check("bytes counted both ways", all(x.get("bytes_sent", 0) > 0 and x.get("bytes_received", 0) > 0 for x in mine))
check("one node process", len(P) == 1 and "node" in (P[0].get("exe") or ""), repr([p.get("exe") for p in P]))
PY
finish
