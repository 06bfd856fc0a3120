#!/bin/bash
# t79_inline_hooks: the inline TLS hooks on an executable that carries its own SSL_* functions
# (tests/targets/fake_tls.c: exported, identity cipher, one HTTP call to the plain mock).
#  - hooked: the call is seen through the SSL wrappers (tls, plaintext, host from SNI), once; the
#    fixture's callers keep registers across calls (-fipa-ra), so a wrapper that clobbered a
#    register the original leaves alone would crash it or corrupt its arguments;
#  - fake_tls_refuse: SSL_write starts with a loop branching into its first bytes: nothing in the
#    object is patched (not even the functions that could be), one diagnostic says which
#    function and why, and the call is seen as plain socket traffic;
#  - AGENTPROF_INLINE_HOOKS=0: nothing patched, no diagnostic;
#  - fake_tls PORT peek: an SSL_peek before each SSL_read (hooked too): the peeked bytes are not
#    counted, the exchange is the same as without peeks;
#  - fake_tls_refuse_peek: SSL_peek's prologue cannot be moved: SSL_peek (optional) stays
#    unpatched and everything else is hooked, with no diagnostic.
# Output and exit status are unchanged in every case; the output includes whether any mapping is
# writable and executable, so patched text that kept write permission would show.
. "$(dirname "$0")/lib.sh"

mock_up || { fail "mock" "cannot start the mock provider"; finish; }
require_preload inline-hooks || finish
for b in fake_tls fake_tls_refuse fake_tls_refuse_peek; do
	[ -x "$AP_TGT/$b" ] || { fail "fixture $b" "not built (tests/targets/Makefile)"; finish; }
done

run_bare "$W/b" "$AP_TGT/fake_tls" "$MOCK_PORT"
eq "fixture works without the preload" "$(cat "$W/b.rc"):$(tr '\n' ' ' <"$W/b.out")" "0:HTTP/1.1 200 OK wx none "
run_prof "$W/p1" "$W/r1" "$AP_TGT/fake_tls" "$MOCK_PORT"
run_prof "$W/p2" "$W/r2" "$AP_TGT/fake_tls_refuse" "$MOCK_PORT"
AGENTPROF_INLINE_HOOKS=0 run_prof "$W/p3" "$W/r3" "$AP_TGT/fake_tls" "$MOCK_PORT"
for r in 1 2 3; do
	eq "run $r: exit status unchanged" "$(cat "$W/r$r.rc")" "$(cat "$W/b.rc")"
	same_file "run $r: output unchanged" "$W/b.out" "$W/r$r.out"
	eq "run $r: nothing on stderr" "$(head -c 300 "$W/r$r.err")" ""
	profile_and_export "run$r" "$W/p$r" "$W/p$r.jsonl" || finish
	"$AP_VIEW" summary --json "$W/p$r" >"$W/s$r.json" 2>&1
done

for r in 1 2 3; do
	case $r in
	1) want="True plaintext localhost" diag=0 ;;
	2) want="False plaintext localhost" diag=1 ;;
	3) want="False plaintext localhost" diag=0 ;;
	esac
	R=$r WANT=$want DIAG=$diag check_py "$W/p$r.jsonl" <<'PY'
import os
r, (tls, vis, host), diag = os.environ["R"], os.environ["WANT"].split(), int(os.environ["DIAG"])
port = int(os.environ["MOCK_PORT"])
mine = [x for x in X if x.get("port") == port]
eq(f"run {r}: one exchange", len(mine), 1)
if mine:
    x = mine[0]
    eq(f"run {r}: tls, visibility, host", (str(x.get("tls")), x.get("visibility"), x.get("host")),
       (tls, vis, host))
    eq(f"run {r}: parsed in full", (x.get("method"), x.get("path"), x.get("status"),
       x.get("request_model"), x.get("output_tokens")), ("POST", "/v1/chat/completions", 200, "gpt-4o", 12))
PY
done
run_bare "$W/bpk" "$AP_TGT/fake_tls" "$MOCK_PORT" peek
run_prof "$W/ppk" "$W/rpk" "$AP_TGT/fake_tls" "$MOCK_PORT" peek
eq "peek: exit status unchanged" "$(cat "$W/rpk.rc")" "$(cat "$W/bpk.rc")"
same_file "peek: output unchanged" "$W/bpk.out" "$W/rpk.out"
profile_and_export "peek" "$W/ppk" "$W/ppk.jsonl" || finish
AP_REF=$W/p1.jsonl check_py "$W/ppk.jsonl" <<'PY'
import json, os
port = int(os.environ["MOCK_PORT"])
ref = [r for r in (json.loads(l) for l in open(os.environ["AP_REF"]) if l.strip())
       if r.get("kind") == "exchange" and r.get("port") == port]
mine = [x for x in X if x.get("port") == port]
eq("peek: one exchange", len(mine), 1)
if mine and ref:
    x = mine[0]
    eq("peek: tls, plaintext, parsed in full", (x.get("tls"), x.get("visibility"), x.get("method"),
       x.get("status"), x.get("output_tokens")), (True, "plaintext", "POST", 200, 12))
    eq("peek: bytes as without peeks (peeked bytes not counted)",
       (x.get("bytes_sent"), x.get("bytes_received")), (ref[0].get("bytes_sent"), ref[0].get("bytes_received")))
PY
run_prof "$W/prp" "$W/rrp" "$AP_TGT/fake_tls_refuse_peek" "$MOCK_PORT" peek
eq "SSL_peek unpatchable: exit status unchanged" "$(cat "$W/rrp.rc")" "$(cat "$W/bpk.rc")"
same_file "SSL_peek unpatchable: output unchanged" "$W/bpk.out" "$W/rrp.out"
profile_and_export "refuse-peek" "$W/prp" "$W/prp.jsonl" || finish
check_py "$W/prp.jsonl" <<'PY'
import os
port = int(os.environ["MOCK_PORT"])
mine = [x for x in X if x.get("port") == port]
eq("SSL_peek unpatchable: the rest hooked, the call parsed in full",
   [(x.get("tls"), x.get("visibility"), x.get("method"), x.get("status"), x.get("output_tokens")) for x in mine],
   [(True, "plaintext", "POST", 200, 12)])
PY
"$AP_VIEW" summary --json "$W/prp" >"$W/sprp.json" 2>&1
if grep -q '"opaque_tls"' "$W/sprp.json"; then
	fail "SSL_peek unpatchable: no opaque-TLS diagnostic" "$(grep -o '"diagnostics".\{0,300\}' "$W/sprp.json")"
else
	ok "SSL_peek unpatchable: no opaque-TLS diagnostic"
fi
n=$(grep -o '"opaque_tls"' "$W/s2.json" | wc -l)
ge "refused: the diagnostic is listed" "$n" 1
if grep -q 'not hooked: SSL_write: a branch targets the bytes the patch overwrites' "$W/s2.json"; then
	ok "refused: the diagnostic names the function and the reason"
else
	fail "refused: the diagnostic names the function and the reason" "$(grep -o '"diagnostics".\{0,300\}' "$W/s2.json")"
fi
for r in 1 3; do
	if grep -q '"opaque_tls"' "$W/s$r.json"; then
		fail "run $r: no opaque-TLS diagnostic" "$(grep -o '"diagnostics".\{0,300\}' "$W/s$r.json")"
	else
		ok "run $r: no opaque-TLS diagnostic"
	fi
done
finish
