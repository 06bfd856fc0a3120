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

check_py "$W/prof.jsonl" "$W/mock.jsonl" <"$AP_ROOT/tests/integration/checkers/t85_h2_curl.py"
zstd -dc "$W"/prof/agentprof.*.zst 2>/dev/null | grep -c SECRET_CANARY_t85 | grep -qx 0 && ok "no secret in the span files" || fail "no secret in the span files"
finish
