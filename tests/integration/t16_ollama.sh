#!/bin/bash
# t16_ollama: a plain-HTTP Ollama-style client (tests/targets/py_ollama.py; the socket bytes
# are seen directly, no TLS): /api/chat streamed as NDJSON (the Ollama default, 20 ms per line),
# then /api/generate with "stream": false (x-mock-delay-ms 150), one keep-alive connection.
# Usage comes from the final object ("done": true): prompt_eval_count / eval_count.
. "$(dirname "$0")/lib.sh"

mock_up || { fail "mock" "cannot start the mock provider"; finish; }
S=$AP_TGT_SRC/py_ollama.py
run_bare "$W/bare" "$PY" "$S" 127.0.0.1 "$MOCK_PORT"
eq "works without the preload" "$(cat "$W/bare.rc")" 0
grep -q '^chat 200 application/x-ndjson 14 True llama3.2:latest' "$W/bare.out" && ok "NDJSON stream of 14 lines" || fail "NDJSON stream of 14 lines" "$(head -1 "$W/bare.out")"

require_preload ollama || finish
mock_mark
run_prof "$W/p" "$W/prof" "$PY" "$S" 127.0.0.1 "$MOCK_PORT"
mock_since "$W/mock.jsonl"
eq "exit status under the preload" "$(cat "$W/prof.rc")" 0
same_file "output unchanged under the preload" "$W/bare.out" "$W/prof.out"
profile_and_export ollama "$W/p" "$W/p.jsonl" || finish

check_py "$W/p.jsonl" "$W/mock.jsonl" <<'PY'
eq("mock saw 2 requests", len(M), 2)
check_schema(X)
eq("two exchanges", len(X), 2)
match_mock(X, M, "ollama", endpoint=True, visibility="plaintext")
eq("provider ollama, category llm", [(x.get("provider"), x.get("category")) for x in X], [("ollama", "llm")] * 2)
eq("NDJSON chat is a stream, generate is not", [x.get("stream") for x in X], [True, False])
eq("plain HTTP", [x.get("tls") for x in X], [False, False])
eq("tokens from the final object", [(x.get("output_tokens")) for x in X], [13, 15])
check("stream lasted >= 13 x 20 ms of pacing", X and dur_ms(X[0]) >= 13 * 20 * 0.9, repr(X and dur_ms(X[0])))
check("one connection (keep-alive)", len({x.get("conn") for x in X}) == 1)
PY
finish
