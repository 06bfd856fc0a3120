#!/bin/bash
# t85_h2_curl: curl over HTTP/2 through nginx (TLS with ALPN h2, and h2c prior knowledge) in front
# of the mock provider. Each request is one exchange from our own byte view of its stream:
#   1 default flags, HTTPS (h2 by ALPN): POST /v1/chat/completions, x-mock-delay-ms 150
#   2 default flags, HTTPS: streamed chat (SSE over DATA frames), ttfb 100 ms, 10 ms per event
#   3 --http2: GET /tool/search (delay 80) then a streamed /v1/messages on the same connection
#   4 --http2-prior-knowledge, cleartext h2c: POST /v1/chat/completions, delay 120
#   5 -Z (parallel, multiplexed on one connection): three chats with different delays
#   6 --compressed: a gzip-encoded SSE stream (/v1/messages) in DATA frames
# Matched against the mock's log: path, model, exact tokens, stream flag, events, status, and a
# time to first byte at least the delay the mock imposed (curl 7.88's own start-transfer time on
# h2 is ~the request-sent time: it must not be what is recorded).
. "$(dirname "$0")/lib.sh"

mock_up || { fail "mock" "cannot start the mock provider"; finish; }
nginx_h2_up || { fail "nginx" "cannot start nginx with http2 (nginx-light)"; finish; }
J='content-type: application/json'
CHAT='{"model":"gpt-4o","messages":[{"role":"user","content":"Say hi over HTTP/2."}]}'
STREAM='{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Stream over h2."}]}'
MSG='{"model":"claude-sonnet-4-5","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"One profiler."}]}'
c6=(curl -sS --compressed --cacert "$AP_CA" -H "$J" -H 'anthropic-version: 2023-06-01' -H 'x-mock-gzip: 1' -H 'x-mock-chunk-ms: 5' -d "$MSG" "$H2URL/v1/messages")
for i in 1 2 3; do
	printf '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"parallel %s"}]}' "$i" >"$W/par$i.json"
done

c1=(curl -sS --cacert "$AP_CA" -H "$J" -H 'authorization: Bearer SECRET_CANARY_t85' -H 'x-mock-delay-ms: 150' -d "$CHAT" "$H2URL/v1/chat/completions")
c2=(curl -sS -N --cacert "$AP_CA" -H "$J" -H 'x-mock-ttfb-ms: 100' -H 'x-mock-chunk-ms: 10' -d "$STREAM" "$H2URL/v1/chat/completions")
c3=(curl -sS --http2 --cacert "$AP_CA" -H 'x-mock-delay-ms: 80' "$H2URL/tool/search?q=h2&lang=en" --next --http2 --cacert "$AP_CA" -H "$J" -H 'anthropic-version: 2023-06-01' -H 'x-mock-ttfb-ms: 60' -d "$MSG" "$H2URL/v1/messages")
c4=(curl -sS --http2-prior-knowledge -H "$J" -H 'x-mock-delay-ms: 120' -d "$CHAT" "$H2CURL/v1/chat/completions")
c5=(curl -sS -Z --cacert "$AP_CA" -H "$J"
	-H 'x-mock-delay-ms: 200' -d @"$W/par1.json" -o "$W/OUT.1" "$H2URL/v1/chat/completions" --next -Z --cacert "$AP_CA" -H "$J"
	-H 'x-mock-delay-ms: 50' -d @"$W/par2.json" -o "$W/OUT.2" "$H2URL/v1/completions" --next -Z --cacert "$AP_CA" -H "$J"
	-H 'x-mock-delay-ms: 120' -d @"$W/par3.json" -o "$W/OUT.3" "$H2URL/v1/embeddings")

for i in 1 2 3 4 5 6; do
	eval "cmd=(\"\${c$i[@]}\")"
	if [ "$i" = 5 ]; then cmd=("${cmd[@]//OUT/bare}"); fi
	run_bare "$W/bare$i" "${cmd[@]}"
	eq "curl $i works through nginx h2 without the preload" "$(cat "$W/bare$i.rc")" 0
done
curl -sS -o /dev/null -w '%{http_version}\n' --cacert "$AP_CA" "$H2URL/health" >"$W/ver"
eq "nginx speaks HTTP/2 to curl's default flags (ALPN)" "$(cat "$W/ver")" 2

require_preload curl || finish
mock_mark
for i in 1 2 3 4 5 6; do
	eval "cmd=(\"\${c$i[@]}\")"
	if [ "$i" = 5 ]; then cmd=("${cmd[@]//OUT/prof}"); fi
	run_prof "$W/prof" "$W/prof$i" "${cmd[@]}"
	eq "curl $i exit status under the preload" "$(cat "$W/prof$i.rc")" 0
	if [ "$i" = 2 ] || [ "$i" = 6 ]; then
		# the stream's ids and timestamps differ per run; compare its shape
		eq "curl $i stream has the same events under the preload" "$(grep -c '^data:' "$W/prof$i.out")" "$(grep -c '^data:' "$W/bare$i.out")"
	elif [ "$i" != 5 ]; then
		same_file "curl $i output unchanged under the preload" "$W/bare$i.out" "$W/prof$i.out"
	fi
done
for k in 1 2 3; do
	cmp -s <(sed 's/"id": "[^"]*"//; s/"created": [0-9]*//' "$W/bare.$k") <(sed 's/"id": "[^"]*"//; s/"created": [0-9]*//' "$W/prof.$k") &&
		ok "parallel transfer $k output unchanged" || fail "parallel transfer $k output unchanged" "$(diff "$W/bare.$k" "$W/prof.$k" | head -3 | tr '\n' '|')"
done
mock_since "$W/mock.jsonl"
profile_and_export curl "$W/prof" "$W/prof.jsonl" || finish

check_py "$W/prof.jsonl" "$W/mock.jsonl" <<'PY'
H2 = int(os.environ["H2_PORT"]); H2C = int(os.environ["H2C_PORT"])
eq("mock saw 9 requests", len(M), 9)
check_schema(X)
eq("one exchange per request (no libcurl duplicate)", len(X), len(M))
tls = [x for x in X if x.get("port") == H2]
clear = [x for x in X if x.get("port") == H2C]
eq("8 exchanges over TLS h2, 1 over h2c", (len(tls), len(clear)), (8, 1))
# pair each mock row with its exchange: h2c has delay 120 and the CHAT body
clear_rows = [m for m in M if m.get("delay_ms") == 120 and m["path"] == "/v1/chat/completions"]
tls_rows = [m for m in M if m not in clear_rows]
match_mock(clear, clear_rows, "h2c", host="127.0.0.1", port=H2C, tls=False, visibility="plaintext")
match_mock(tls, tls_rows, "h2 tls", host="localhost", port=H2, tls=True, visibility="plaintext")
streamed_rows = [r for r in M if r["stream"]]  # in arrival order, as the exchanges start
for x in sorted([x for x in X if x.get("stream")], key=lambda x: x["start_ns"]):
    m = [r for r in streamed_rows if r["path"] == x["path"].split("?")[0]][:1]
    if m:
        streamed_rows.remove(m[0])
    if x.get("stream"):
        # the mock counts every data line it sent; "data: [DONE]" (OpenAI) is not an event
        want = m and m[0]["events"] - (1 if x["path"].startswith("/v1/chat") else 0)
        check(f"{x['path']} stream: SSE events counted ({x.get('events')})",
              m and x.get("events") == want, f"got {x.get('events')} want {want}")
        check(f"{x['path']} first event after the mock's ttfb",
              x.get("first_event_ns") and (x["first_event_ns"] - x["start_ns"]) / 1e6 >= m[0]["ttfb_ms"] + m[0]["delay_ms"] - FB_SLACK_MS)
eq("three streamed exchanges", len([x for x in X if x.get("stream")]), 3)
gz = [m for m in M if m.get("gzip")]
eq("the mock gzipped one stream", len(gz), 1)
search = [x for x in tls if path_is(x, "/tool/search")]
seq = [x for x in tls if search and x["pid"] == search[0]["pid"]]
check("--next reuses the h2 connection", len(seq) == 2 and seq[0]["conn"] == seq[1]["conn"] and seq[0]["end_ns"] <= seq[1]["start_ns"], repr([(x["conn"], x["path"]) for x in seq]))
par = sorted([x for x in tls if x.get("request_model") == "gpt-4o-mini" and not x.get("stream")], key=lambda x: x["path"])
eq("parallel: three exchanges", len(par), 3)
check("parallel: multiplexed on one connection", len({x["conn"] for x in par}) == 1, repr([x["conn"] for x in par]))
check("parallel: the three streams overlap in time", len(par) == 3 and overlap(par[0], par[1]) and overlap(par[0], par[2]))
byp = {x["path"]: x for x in par}
for path, delay in (("/v1/chat/completions", 200), ("/v1/completions", 50), ("/v1/embeddings", 120)):
    x = byp.get(path)
    check(f"parallel {path}: its own time to first byte >= {delay} ms",
          x and (x["first_byte_ns"] - x["start_ns"]) / 1e6 >= delay - FB_SLACK_MS,
          repr(x and (x["first_byte_ns"] - x["start_ns"]) / 1e6))
check("no secret in any exchange", "SECRET_CANARY" not in json.dumps(A))
PY
zstd -dc "$W"/prof/agentprof.*.zst 2>/dev/null | grep -c SECRET_CANARY_t85 | grep -qx 0 && ok "no secret in the span files" || fail "no secret in the span files"
finish
