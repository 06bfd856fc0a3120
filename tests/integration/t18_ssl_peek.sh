#!/bin/bash
# t18_ssl_peek: an OpenSSL client that peeks at each response before reading it
# (tests/targets/ssl_peek.c: SSL_peek before SSL_read, SSL_peek_ex before SSL_read_ex), over
# TLS to the mock. Peeked bytes are read again later, so they are not counted: the exchange is
# parsed in full (method, path, status, model, tokens) with exactly the bytes a client that only
# reads gets, and the output and exit status are those of the run without the preload.
. "$(dirname "$0")/lib.sh"

mock_up || { fail "mock" "cannot start the mock provider"; finish; }
require_preload ssl-peek || finish
[ -x "$AP_TGT/ssl_peek" ] || { fail "fixture ssl_peek" "not built (tests/targets/Makefile)"; finish; }

for m in read peek peek_ex; do
	run_bare "$W/b$m" "$AP_TGT/ssl_peek" "$MOCK_TLS_PORT" "$AP_CA" $m
	eq "$m: works without the preload" "$(cat "$W/b$m.rc"):$(head -1 "$W/b$m.out")" "0:HTTP/1.1 200 OK"
	run_prof "$W/p$m" "$W/r$m" "$AP_TGT/ssl_peek" "$MOCK_TLS_PORT" "$AP_CA" $m
	eq "$m: exit status unchanged" "$(cat "$W/r$m.rc")" "$(cat "$W/b$m.rc")"
	same_file "$m: output unchanged" "$W/b$m.out" "$W/r$m.out"
	profile_and_export "$m" "$W/p$m" "$W/p$m.jsonl" || finish
done

for m in read peek peek_ex; do
	M=$m READ=$(sed -n 's/^read //p' "$W/b$m.out") AP_REF=$W/pread.jsonl check_py "$W/p$m.jsonl" <<'PY'
import json, os
m, port, read = os.environ["M"], int(os.environ["MOCK_TLS_PORT"]), int(os.environ["READ"])
mine = [x for x in X if x.get("port") == port]
eq(f"{m}: one exchange", len(mine), 1)
if mine:
    x = mine[0]
    eq(f"{m}: tls, plaintext, host from SNI", (x.get("tls"), x.get("visibility"), x.get("host")),
       (True, "plaintext", "localhost"))
    eq(f"{m}: parsed in full", (x.get("method"), x.get("path"), x.get("status"), x.get("request_model"),
       x.get("output_tokens")), ("POST", "/v1/chat/completions", 200, "gpt-4o", 12))
    eq(f"{m}: bytes received = the bytes the client read (peeks not counted)",
       x.get("bytes_received"), read)
    ref = [r for r in (json.loads(l) for l in open(os.environ["AP_REF"]) if l.strip())
           if r.get("kind") == "exchange" and r.get("port") == port]
    if ref and m != "read":
        eq(f"{m}: bytes sent and received as for the read-only client",
           (x.get("bytes_sent"), x.get("bytes_received")), (ref[0].get("bytes_sent"), ref[0].get("bytes_received")))
PY
done
finish
