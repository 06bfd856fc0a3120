#!/bin/bash
# t76_node_sdk_tls: the official npm SDKs (`openai`, `@anthropic-ai/sdk`) in Node over HTTPS.
# Node links OpenSSL into its executable; the preload patches the entries of its SSL_* functions
# (inline hooks) and binds each memory-BIO SSL* to its socket by SNI, so each call is seen in full:
# chat, chat streaming with usage, the Responses API stream and an Anthropic messages stream,
# each with method, path, status, models, tokens and SSE event counts identical to the same
# script over plain HTTP, a TLS phase on every new connection, and the host's output and exit
# status unchanged.
# npm packages come from scripts/npm-deps.sh (a cache under build/); skipped visibly without npm.
. "$(dirname "$0")/lib.sh"

mock_up || { fail "mock" "cannot start the mock provider"; finish; }
require_preload node-sdk-tls || finish
if ! NM=$("$AP_ROOT/scripts/npm-deps.sh" 2>"$W/npm.err"); then
	skip "node sdk" "npm packages not installable: $(tail -1 "$W/npm.err")"
	finish
fi
export NODE_PATH=$NM NODE_EXTRA_CA_CERTS=$AP_CA
S=$AP_TGT_SRC/node_sdk.js
HTTP=http://127.0.0.1:$MOCK_PORT
HTTPS=https://localhost:$MOCK_TLS_PORT

run_bare "$W/bare" "$NODE" "$S" "$HTTPS"
eq "works without the preload" "$(cat "$W/bare.rc")" 0
eq "four calls answered" "$(grep -cE '^(chat|chat-stream|responses-stream|messages-stream) ' "$W/bare.out")" 4
run_prof "$W/ph" "$W/plain" "$NODE" "$S" "$HTTP"
mock_mark
run_prof "$W/pt" "$W/tls" "$NODE" "$S" "$HTTPS"
mock_since "$W/mock.jsonl"
eq "exit status unchanged (https)" "$(cat "$W/tls.rc")" "$(cat "$W/bare.rc")"
same_file "output unchanged under the preload (https)" "$W/bare.out" "$W/tls.out"
same_file "same output over http" "$W/bare.out" "$W/plain.out"
profile_and_export node-http "$W/ph" "$W/ph.jsonl" || finish
profile_and_export node-https "$W/pt" "$W/pt.jsonl" || finish
"$AP_VIEW" summary "$W/pt" >"$W/summary.txt" 2>&1
if grep -q "statically linked TLS" "$W/summary.txt"; then
	fail "no opaque-TLS diagnostic" "$(grep -m1 'statically linked' "$W/summary.txt")"
else
	ok "no opaque-TLS diagnostic"
fi

AP_PLAIN=$W/ph.jsonl check_py "$W/pt.jsonl" "$W/mock.jsonl" <<'PY'
import json, os
port = int(os.environ["MOCK_TLS_PORT"])
plain = [r for r in (json.loads(l) for l in open(os.environ["AP_PLAIN"]) if l.strip())
         if r.get("kind") == "exchange"]
plain.sort(key=lambda r: r.get("start_ns") or 0)
check_schema(X)
mine = [x for x in X if x.get("port") == port]
eq("mock saw 4 requests", len(M), 4)
eq("four exchanges over https", len(mine), 4)
eq("all TLS, all plaintext-visible", [(x.get("tls"), x.get("visibility")) for x in mine],
   [(True, "plaintext")] * 4)
eq("host from SNI", sorted({x.get("host") for x in mine}), ["localhost"])
eq("paths in order", [x.get("path") for x in mine],
   ["/v1/chat/completions", "/v1/chat/completions", "/v1/responses", "/v1/messages"])
eq("streams", [x.get("stream") for x in mine], [False, True, True, True])
eq("categories", [x.get("category") for x in mine], ["llm"] * 4)
eq("providers", [x.get("provider") for x in mine],
   ["openai_compatible", "openai_compatible", "openai_compatible", "anthropic"])
eq("request models", [x.get("request_model") for x in mine],
   ["gpt-4o", "gpt-4o-mini", "gpt-4o", "claude-sonnet-4-5"])
# the mock's own log says what it sent: the recorded tokens must be exactly those
eq("input tokens match the mock", [x.get("input_tokens") for x in mine],
   [m.get("input_tokens") for m in M])
eq("output tokens match the mock", [x.get("output_tokens") for x in mine],
   [m.get("output_tokens") for m in M])
fresh = [x for x in mine if x.get("new_connection")]
check("new https connections carry DNS, connect and TLS phases", fresh and all(
      (x.get("connect_ns") or 0) > 0 and (x.get("tls_ns") or 0) > 0 for x in fresh),
      repr([(x.get("connect_ns"), x.get("tls_ns")) for x in fresh]))
check("SSE events counted on every stream", all((x.get("events") or 0) > 0 for x in mine[1:]),
      repr([x.get("events") for x in mine]))
KEYS = ("method", "path", "status", "stream", "category", "provider", "request_model",
        "response_model", "input_tokens", "output_tokens", "cache_read_tokens",
        "reasoning_tokens", "events", "content_type", "error")
eq("plain http run recorded four exchanges", len(plain), 4)
for i, (a, b) in enumerate(zip(plain, mine)):
    eq(f"call {i + 1} ({b.get('path')}): same record over https as over http",
       {k: b.get(k) for k in KEYS}, {k: a.get(k) for k in KEYS})
check("one node process", len(P) == 1 and "node" in (P[0].get("exe") or ""),
      repr([p.get("exe") for p in P]))
PY
finish
