#!/bin/bash
# t72_redact_asan: the redaction module's unit test (the canary table, exact forms and 20,000
# random words through every entry point with small buffers) built with AddressSanitizer and
# UndefinedBehaviorSanitizer: no report, every check passes.
. "$(dirname "$0")/lib.sh"

B=$W/test_redact_asan
if ! gcc -std=gnu11 -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer -D_GNU_SOURCE -I"$AP_ROOT/preload/core" -I"$AP_ROOT/tests/unit" \
	-o "$B" "$AP_ROOT/tests/unit/test_redact.c" "$AP_ROOT/preload/core/redact.c" 2>"$W/cc.err"; then
	fail "build test_redact with ASan/UBSan" "$(head -3 "$W/cc.err" | tr '\n' '|')"
	finish
fi
ASAN_OPTIONS=detect_leaks=1 timeout -k 2 120 "$B" >"$W/out" 2>"$W/err"
rc=$?
eq "test_redact under ASan/UBSan: exit 0" "$rc" 0
eq "test_redact under ASan/UBSan: no sanitizer report" "$(grep -c 'Sanitizer\|runtime error' "$W/err")" 0
check "test_redact under ASan/UBSan: all checks passed" grep -q ' 0 failed' "$W/out"
finish
