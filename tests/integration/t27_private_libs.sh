#!/bin/bash
# t27_private_libs: the four helper libraries the preload loads for itself (capstone for the inline
# hooks, nghttp2 for HTTP/2 headers, zlib for gzip bodies, libunwind for stacks) stay private. A
# host that carries its own SSL_* functions and gets a gzipped reply (tests/targets/
# private_libs.c, linking only libc) makes the preload load all four; it then sees:
#  - the same open fds at the start of main and after the call as without the preload (no fd of a
#    loader, of capstone, nghttp2, zlib or libunwind's validation pipe survives);
#  - none of their functions in its own global scope (each is loaded RTLD_LOCAL);
#  - zlib and libunwind mapped, capstone not (unloaded before the constructor returns), nghttp2
#    not either (it is loaded at the first HTTP/2 connection, which this host does not make: t89
#    checks it privately loaded there);
# and its output and exit status are unchanged. The span file shows that each library did its
# work: the call seen through the inline-hooked SSL functions (capstone), its gzipped body decoded
# (zlib: tokens and model), a stack written (libunwind).
. "$(dirname "$0")/lib.sh"

require_preload private-libs || finish
BIN=$AP_TGT/private_libs
[ -x "$BIN" ] || { fail "fixture private_libs" "not built (tests/targets/Makefile)"; finish; }
missing=""
for so in libcapstone.so.4 libnghttp2.so.14 libz.so.1 libunwind.so.8; do
	ldconfig -p 2>/dev/null | grep -q "$so " || missing="$missing $so"
done
if [ -n "$missing" ]; then
	skip "private helper libraries" "not installed:$missing (scripts/install-deps.sh)"
	finish
fi
mock_up || { fail "mock" "cannot start the mock provider"; finish; }

run_bare "$W/b" "$BIN" "$MOCK_PORT"
eq "fixture without the preload: exit 0, nothing of the helper libraries" \
	"$(cat "$W/b.rc") $(grep -E '^(mapped|global scope):' "$W/b.out" | tr '\n' ' ')" \
	"0 mapped: none global scope: none "
run_prof "$W/p" "$W/r" "$BIN" "$MOCK_PORT"
eq "under the preload: exit status unchanged" "$(cat "$W/r.rc")" "$(cat "$W/b.rc")"
eq "under the preload: nothing on stderr" "$(head -c 300 "$W/r.err")" ""
grep -v '^mapped:' "$W/b.out" >"$W/b.same"
grep -v '^mapped:' "$W/r.out" >"$W/r.same"
same_file "under the preload: the same output, the same fds at start and after the call, no helper function in the global scope" \
	"$W/b.same" "$W/r.same"
eq "under the preload: libunwind and zlib loaded, capstone unloaded again, nghttp2 not loaded (no HTTP/2)" \
	"$(grep '^mapped:' "$W/r.out")" "mapped: libunwind.so libz.so"

profile_and_export "private libs" "$W/p" "$W/p.jsonl" || finish
check_py "$W/p.jsonl" <<'PY'
import os
port = int(os.environ["MOCK_PORT"])
mine = [x for x in X if x.get("port") == port]
eq("one exchange", len(mine), 1)
if mine:
    x = mine[0]
    eq("seen through the inline-hooked SSL functions (capstone did its work)",
       (x.get("tls"), x.get("visibility")), (True, "plaintext"))
    eq("gzipped reply decoded (zlib did its work)",
       (x.get("status"), x.get("response_model"), x.get("output_tokens")),
       (200, "gpt-4o-2024-08-06", 12))
PY
if [ -x "$AP_TGT/apdump" ]; then
	stacks=$(span_files "$W/p" | xargs -n1 "$AP_TGT/apdump" | grep -c '"type":8,')
	ge "a stack written (AP_REC_STACK: libunwind did its work)" "$stacks" 1
else
	fail "apdump" "not built (tests/targets/Makefile)"
fi
finish
