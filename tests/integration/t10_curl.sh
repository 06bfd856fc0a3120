#!/bin/bash
# t10_curl: the curl CLI under the preload (libcurl + OpenSSL inside one process: one exchange
# per request, not one per layer). Six curl processes into one run directory:
#   1 HTTPS POST /v1/chat/completions, x-mock-delay-ms 200
#   2 plain POST /v1/chat/completions streamed (SSE, include_usage), ttfb 100 ms, 10 ms/chunk
#   3 plain GET /tool/search?q=..., x-mock-delay-ms 120             -> category tool
#   4 HTTPS POST /v1/messages streamed, gzip (curl --compressed)    -> anthropic, gzip+chunked SSE
#   5 plain POST /v1/chat/completions with x-mock-no-usage          -> tokens null, not 0
#   6 HTTPS keep-alive: GET /tool/weather then POST /v1/responses (curl --next), one connection
# Every exchange is matched to the mock's own log: method, path, status, stream, models, exact
# tokens, category, provider, host, port, tls, duration >= the server-imposed delay.
. "$(dirname "$0")/lib.sh"

mock_up || { fail "mock" "cannot start the mock provider"; finish; }
CHAT='{"model":"gpt-4o","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"What does an LD_PRELOAD profiler see?"}]}'
STREAM='{"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Stream three words."}]}'
MSG='{"model":"claude-sonnet-4-5","max_tokens":128,"stream":true,"messages":[{"role":"user","content":"Name one profiler."}]}'
RESP='{"model":"gpt-4o","input":"One sentence about keep-alive."}'
printf '%s' "$CHAT" >"$W/chat.json"
printf '%s' "$STREAM" >"$W/stream.json"
printf '%s' "$MSG" >"$W/msg.json"
printf '%s' "$RESP" >"$W/resp.json"
printf 'Authorization: Bearer SECRET_CANARY_AUTH_t10\nContent-Type: application/json\n' >"$W/hdrs"

# the six invocations (arguments only; each runs bare once, then under the preload)
c1=(curl -sS --cacert "$AP_CA" -H @"$W/hdrs" -H 'x-mock-delay-ms: 200' -d @"$W/chat.json" "$TLSURL/v1/chat/completions")
c2=(curl -sS -N -H @"$W/hdrs" -H 'x-mock-ttfb-ms: 100' -H 'x-mock-chunk-ms: 10' -d @"$W/stream.json" "$PLAIN/v1/chat/completions")
c3=(curl -sS -H 'x-mock-delay-ms: 120' "$PLAIN/tool/search?q=agent+profilers&lang=en")
c4=(curl -sS --compressed --cacert "$AP_CA" -H @"$W/hdrs" -H 'x-api-key: SECRET_CANARY_XKEY_t10' -H 'anthropic-version: 2023-06-01' -H 'x-mock-gzip: 1' -d @"$W/msg.json" "$TLSURL/v1/messages")
c5=(curl -sS -H @"$W/hdrs" -H 'x-mock-no-usage: 1' -d @"$W/chat.json" "$PLAIN/v1/chat/completions")
c6=(curl -sS --cacert "$AP_CA" -H 'x-mock-delay-ms: 50' "$TLSURL/tool/weather" --next --cacert "$AP_CA" -H @"$W/hdrs" -d @"$W/resp.json" "$TLSURL/v1/responses")

for i in 1 2 3 4 5 6; do
	eval "cmd=(\"\${c$i[@]}\")"
	run_bare "$W/bare$i" "${cmd[@]}"
	eq "curl $i works against the mock without the preload" "$(cat "$W/bare$i.rc")" 0
done
grep -q '"completion_tokens": 12' "$W/bare1.out" && ok "bare: https chat has usage" || fail "bare: https chat has usage" "$(head -c 200 "$W/bare1.out")"
tail -c 20 "$W/bare2.out" | grep -q 'data: \[DONE\]' && ok "bare: SSE stream ends with [DONE]" || fail "bare: SSE stream ends with [DONE]" "$(tail -c 100 "$W/bare2.out")"
grep -q 'event: message_stop' "$W/bare4.out" && ok "bare: gzip SSE decoded by curl" || fail "bare: gzip SSE decoded by curl" "no message_stop"

require_preload curl || finish
mock_mark
for i in 1 2 3 4 5 6; do
	eval "cmd=(\"\${c$i[@]}\")"
	run_prof "$W/prof" "$W/prof$i" "${cmd[@]}"
	eq "curl $i exit status under the preload" "$(cat "$W/prof$i.rc")" 0
	same_file "curl $i output unchanged under the preload" "$W/bare$i.out" "$W/prof$i.out"
done
mock_since "$W/mock.jsonl"
eq "six span files, one per curl process" "$(span_files "$W/prof" | wc -l)" 6
profile_and_export curl "$W/prof" "$W/prof.jsonl" || finish

check_py "$W/prof.jsonl" "$W/mock.jsonl" <<'PY'
eq("mock saw 7 requests", len(M), 7)
check_schema(X)
eq("exchange count (one per request, not one per layer)", len(X), len(M))
match_mock(X, M, "curl", endpoint=True)
chat = [x for x in X if path_is(x, "/v1/chat/completions")]
nousage = [x for x in chat if x.get("tls") is False and not x.get("stream")]
eq("no usage -> tokens unknown (null), not 0",
   [(x.get("input_tokens"), x.get("output_tokens")) for x in nousage], [(None, None)])
tool = [x for x in X if path_is(x, "/tool/search")]
check("tool path keeps its non-secret query", tool and "q=agent+profilers" in (tool[0].get("path") or ""),
      repr([t.get("path") for t in tool]))
stream = [x for x in X if x.get("stream")]
eq("two streamed exchanges (SSE, gzip SSE)", len(stream), 2)
ka = [x for x in X if path_is(x, "/tool/weather") or path_is(x, "/v1/responses")]
check("curl --next reuses one connection (same conn, same pid)",
      len(ka) == 2 and ka[0]["conn"] == ka[1]["conn"] and ka[0]["pid"] == ka[1]["pid"],
      repr([(x.get("conn"), x.get("pid")) for x in ka]))
check("keep-alive exchanges are sequential", len(ka) == 2 and ka[0]["end_ns"] <= ka[1]["start_ns"])
eq("six curl processes", len(P), 6)
check("processes: exe is curl", all((p.get("exe") or "").endswith("curl") for p in P),
      repr([p.get("exe") for p in P]))
# curl returns from main(): the exit status is still known (docs/FORMAT.md, process_end)
eq("processes: exit code 0 recorded", [p.get("exit_code") for p in P], [0] * len(P))
check("every exchange belongs to a recorded process", {x["pid"] for x in X} <= {p["pid"] for p in P})
PY

# the text summary names the endpoints
if timeout 60 "$AP_VIEW" summary "$W/prof" >"$W/summary.txt" 2>&1; then
	ok "summary runs"
	for want in anthropic claude-sonnet-4-5 gpt-4o /tool/search; do
		grep -q -- "$want" "$W/summary.txt" && ok "summary mentions $want" || fail "summary mentions $want" "see $W/summary.txt"
	done
else
	fail "summary runs" "$(head -5 "$W/summary.txt")"
fi
finish
