#!/bin/bash
# t13_py_httpclient: Python http.client over ssl (blocking socket with an fd; Python loads libssl
# RTLD_LOCAL and calls SSL_read_ex/SSL_write_ex). tests/targets/py_httpclient.py makes six calls
# on ONE keep-alive TLS connection: chat (delay 200), anthropic with cache read 32, gzip chat,
# SSE chat with usage (ttfb 100), SSE responses, GET /tool/search with a secret ?sig= value.
. "$(dirname "$0")/lib.sh"

mock_up || { fail "mock" "cannot start the mock provider"; finish; }
S=$AP_TGT_SRC/py_httpclient.py
run_bare "$W/bare" "$PY" "$S" localhost "$MOCK_TLS_PORT" "$AP_CA"
eq "works without the preload" "$(cat "$W/bare.rc")" 0
eq "six calls, one connection" "$(grep -c ' 200 ' "$W/bare.out")/$(cat "$W/bare.out" | tail -1)" "6/connections 1"

require_preload py-httpclient || finish
mock_mark
run_prof "$W/p" "$W/prof" "$PY" "$S" localhost "$MOCK_TLS_PORT" "$AP_CA"
mock_since "$W/mock.jsonl"
eq "exit status under the preload" "$(cat "$W/prof.rc")" 0
same_file "output unchanged under the preload" "$W/bare.out" "$W/prof.out"
profile_and_export py "$W/p" "$W/p.jsonl" || finish

check_py "$W/p.jsonl" "$W/mock.jsonl" <<'PY'
eq("mock saw 6 requests on one connection", (len(M), len({m["peer_port"] for m in M})), (6, 1))
check_schema(X)
eq("six exchanges", len(X), 6)
match_mock(X, M, "py", endpoint=True, visibility="plaintext")
check("one connection id for all (keep-alive)", len({x.get("conn") for x in X}) == 1,
      repr([x.get("conn") for x in X]))
anth = [x for x in X if x.get("provider") == "anthropic"]
eq("anthropic cache read tokens", [x.get("cache_read_tokens") for x in anth], [32])
gz = [x for x in X if x.get("request_model") == "gpt-4o-mini" and path_is(x, "/v1/chat/completions")]
eq("gzip response: usage still extracted", [(x.get("input_tokens"), x.get("output_tokens")) for x in gz],
   [(M[2]["input_tokens"], 12)])
st = [x for x in X if x.get("stream")]
eq("two SSE streams", [x.get("path") for x in st], ["/v1/chat/completions", "/v1/responses"])
check("SSE chat: first byte >= 100 ms (x-mock-ttfb-ms after headers: headers come first)",
      st and (st[0]["end_ns"] - st[0]["start_ns"]) / 1e6 >= 100)
tool = [x for x in X if path_is(x, "/tool/search")]
check("tool call recorded with its path", len(tool) == 1 and tool[0].get("category") == "tool")
check("secret query value redacted in the recorded path",
      tool and "SECRET_SIG_CANARY" not in (tool[0].get("path") or "") and "q=" in (tool[0].get("path") or ""),
      repr([t.get("path") for t in tool]))
check("one python process", len(P) == 1 and "python" in (P[0].get("exe") or ""), repr([p.get("exe") for p in P]))
PY
finish
