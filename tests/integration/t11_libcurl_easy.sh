#!/bin/bash
# t11_libcurl_easy: a C program on the libcurl easy API (tests/targets/curl_easy.c), one easy
# handle reused for every URL (keep-alive), so every provider format goes through one libcurl
# connection: curl_easy_perform's internal curl_multi_* calls must not double-count and libcurl's
# OpenSSL I/O must not add a second exchange per request.
#   run A (HTTPS, x-mock-delay-ms 150): chat, responses, gemini generateContent, anthropic
#          messages, embeddings, GET /tool/weather
#   run B (plain HTTP, streamed, 5 ms/chunk): chat SSE, responses SSE, anthropic SSE,
#          gemini streamGenerateContent?alt=sse, ollama /api/chat NDJSON
. "$(dirname "$0")/lib.sh"

mock_up || { fail "mock" "cannot start the mock provider"; finish; }
[ -x "$AP_TGT/curl_easy" ] || make -s -C "$AP_TGT_SRC" >/dev/null
export AP_TEST_CA=$AP_CA
A=(-q -H 'x-mock-delay-ms: 150' "$TLSURL/v1/chat/completions" "$TLSURL/v1/responses"
	"$TLSURL/v1beta/models/gemini-2.0-flash:generateContent" "$TLSURL/v1/messages"
	"$TLSURL/v1/embeddings" "$TLSURL/tool/weather")
B=(-s -H 'x-mock-chunk-ms: 5' "$PLAIN/v1/chat/completions" "$PLAIN/v1/responses" "$PLAIN/v1/messages"
	"$PLAIN/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse" "$PLAIN/api/chat")

run_bare "$W/bareA" "$AP_TGT/curl_easy" "${A[@]}"
eq "A: works without the preload" "$(cat "$W/bareA.rc")" 0
eq "A: six 200s" "$(grep -c 'rc=0 status=200' "$W/bareA.out")" 6
run_bare "$W/bareB" "$AP_TGT/curl_easy" "${B[@]}"
eq "B: works without the preload" "$(cat "$W/bareB.rc")" 0
eq "B: five 200s" "$(grep -c 'rc=0 status=200' "$W/bareB.out")" 5

require_preload libcurl-easy || finish
mock_mark
run_prof "$W/pA" "$W/profA" "$AP_TGT/curl_easy" "${A[@]}"
mock_since "$W/mockA.jsonl"
eq "A: exit status under the preload" "$(cat "$W/profA.rc")" 0
same_file "A: output unchanged under the preload" "$W/bareA.out" "$W/profA.out"
mock_mark
run_prof "$W/pB" "$W/profB" "$AP_TGT/curl_easy" "${B[@]}"
mock_since "$W/mockB.jsonl"
eq "B: exit status under the preload" "$(cat "$W/profB.rc")" 0
same_file "B: output unchanged under the preload" "$W/bareB.out" "$W/profB.out"

profile_and_export "A" "$W/pA" "$W/pA.jsonl" && check_py "$W/pA.jsonl" "$W/mockA.jsonl" <<'PY'
eq("A: mock saw 6 requests", len(M), 6)
check_schema(X)
eq("A: one exchange per request", len(X), 6)
match_mock(X, M, "A", endpoint=True)
eq("A: categories", sorted(x.get("category") for x in X), ["llm"] * 5 + ["tool"])
eq("A: providers", sorted(str(x.get("provider")) for x in X),
   ["None", "anthropic", "gemini", "openai_compatible", "openai_compatible", "openai_compatible"])
check("A: one keep-alive connection for all six", len({x.get("conn") for x in X}) == 1,
      repr({x.get("conn") for x in X}))
check("A: sequential (no overlap)", all(X[i]["end_ns"] <= X[i + 1]["start_ns"] for i in range(len(X) - 1)))
check("A: one process", len(P) == 1 and (P[0].get("exe") or "").endswith("curl_easy"),
      repr([p.get("exe") for p in P]))
check("A: every exchange took >= 150 ms", all(dur_ms(x) >= 150 for x in X),
      repr([round(dur_ms(x), 1) for x in X]))
PY

profile_and_export "B" "$W/pB" "$W/pB.jsonl" && check_py "$W/pB.jsonl" "$W/mockB.jsonl" <<'PY'
eq("B: mock saw 5 requests", len(M), 5)
check_schema(X)
eq("B: one exchange per request", len(X), 5)
match_mock(X, M, "B", endpoint=True)
eq("B: all streamed", [x.get("stream") for x in X], [True] * 5)
eq("B: providers in order", [x.get("provider") for x in X],
   ["openai_compatible", "openai_compatible", "anthropic", "gemini", "ollama"])
check("B: streams: first byte before the end", all(x["first_byte_ns"] < x["end_ns"] for x in X))
PY
finish
