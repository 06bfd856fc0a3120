#!/bin/bash
# t14_py_asyncio: Python asyncio streams over TLS (memory-BIO TLS: SSL objects with no fd; the
# preload keys them by SSL* and names them by SNI). tests/targets/py_asyncio_tls.py:
#   three chats at once via asyncio.gather (x-mock-delay-ms 400, one connection each),
#   then gemini generateContent + embeddings on one keep-alive connection,
#   then an anthropic SSE stream (10 ms between events).
. "$(dirname "$0")/lib.sh"

mock_up || { fail "mock" "cannot start the mock provider"; finish; }
S=$AP_TGT_SRC/py_asyncio_tls.py
run_bare "$W/bare" "$PY" "$S" localhost "$MOCK_TLS_PORT" "$AP_CA"
eq "works without the preload" "$(cat "$W/bare.rc")" 0
eq "six 200 lines" "$(grep -c ' 200 ' "$W/bare.out")" 6

require_preload py-asyncio || finish
mock_mark
run_prof "$W/p" "$W/prof" "$PY" "$S" localhost "$MOCK_TLS_PORT" "$AP_CA"
mock_since "$W/mock.jsonl"
eq "exit status under the preload" "$(cat "$W/prof.rc")" 0
same_file "output unchanged under the preload" "$W/bare.out" "$W/prof.out"
profile_and_export asyncio "$W/p" "$W/p.jsonl" || finish

check_py "$W/p.jsonl" "$W/mock.jsonl" <<'PY'
eq("mock saw 6 requests", len(M), 6)
check_schema(X)
eq("six exchanges", len(X), 6)
match_mock(X, M, "asyncio", endpoint=True)
chats = [x for x in X if path_is(x, "/v1/chat/completions")]
eq("three parallel chats", len(chats), 3)
pairs = [(a, b) for i, a in enumerate(chats) for b in chats[i + 1:]]
check("the three chats overlap in time", len(chats) == 3 and all(overlap(a, b) for a, b in pairs),
      repr([(x.get("start_ns"), x.get("end_ns")) for x in chats]))
check("the three chats are on three connections", len({x.get("conn") for x in chats}) == 3)
check("each chat >= 400 ms", all(dur_ms(x) >= 400 for x in chats), repr([dur_ms(x) for x in chats]))
ka = [x for x in X if x.get("provider") == "gemini" or path_is(x, "/v1/embeddings")]
check("gemini + embeddings share one keep-alive connection",
      len(ka) == 2 and ka[0]["conn"] == ka[1]["conn"], repr([(x.get("path"), x.get("conn")) for x in ka]))
eq("gemini model from the path, response model from modelVersion",
   [(x.get("request_model"), x.get("response_model")) for x in X if x.get("provider") == "gemini"],
   [("gemini-2.0-flash", "gemini-2.0-flash-001")])
st = [x for x in X if x.get("stream")]
eq("one stream: anthropic SSE", [(x.get("provider"), x.get("path")) for x in st], [("anthropic", "/v1/messages")])
check("all on one thread (asyncio)", len({x.get("tid") for x in X}) == 1)
PY
finish
