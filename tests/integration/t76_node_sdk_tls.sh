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

AP_PLAIN=$W/ph.jsonl check_py "$W/pt.jsonl" "$W/mock.jsonl" <"$AP_ROOT/tests/integration/checkers/t76_node_sdk_tls.py"
finish
