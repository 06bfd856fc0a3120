#!/bin/bash
# t94_sanitized_hosts: hosts built with GCC's sanitizers start and run under the preload as
# without it (docs/internals/contract.md §1.9). tests/targets/san_host.c (2 threads, 5 keep-alive
# LLM calls each) built with -fsanitize=address, leak and undefined: the same exit status and
# output, no sanitizer report, all 10 exchanges recorded. ASan's runtime stopped such a host at
# start ("ASan runtime does not come first in initial library list", exit 1) before we gave it
# default options (hook_asan.c). The host's own errors are still found: a heap overflow of the
# host's is reported under the preload, with the exit status it has without it; and
# ASAN_OPTIONS=verify_asan_link_order=1, read after our defaults, brings the stop back.
. "$(dirname "$0")/lib.sh"

require_preload sanitized-hosts || finish
mock_up || { fail "mock" "cannot start the mock provider"; finish; }

REPORT='ERROR: AddressSanitizer|ERROR: LeakSanitizer|WARNING: ThreadSanitizer|runtime error:'
for san in address leak undefined; do
	bin=$W/san_$san
	if ! gcc -O1 -g -Wall -Werror -fsanitize=$san -fno-sanitize-recover=all -pthread \
		-o "$bin" "$AP_TGT_SRC/san_host.c" 2>"$bin.cc.err"; then
		fail "$san: host builds" "$(head -3 "$bin.cc.err" | tr '\n' '|')"
		continue
	fi
	run_both "$W/$san" "$W/$san.spans" "$bin" "$MOCK_PORT" 2 5
	if grep -qE "$REPORT|does not come first" "$W/$san.prof.err"; then
		fail "$san: no sanitizer report under the preload" "$(grep -m2 -E "$REPORT|does not come first" "$W/$san.prof.err" | tr '\n' '|')"
	else
		ok "$san: no sanitizer report under the preload"
	fi
	n=$(ap_export "$W/$san.spans" "$W/$san.jsonl" && grep -c '"kind": *"exchange"' "$W/$san.jsonl")
	eq "$san: its 10 LLM calls recorded" "$n" 10
done

# the host's own error: a heap overflow, reported with and without the preload
printf '%s\n' '#include <stdio.h>' '#include <stdlib.h>' \
	'int main(void) { char *p = malloc(8); p[8] = 1; puts("after"); return 0; }' >"$W/overflow.c"
if gcc -O0 -g -fsanitize=address -o "$W/overflow" "$W/overflow.c" 2>"$W/overflow.cc.err"; then
	run_bare "$W/overflow.bare" "$W/overflow"
	run_prof "$W/overflow.spans" "$W/overflow.prof" -- "$W/overflow"
	eq "overflow: exit status as without the preload" "$(cat "$W/overflow.prof.rc")" "$(cat "$W/overflow.bare.rc")"
	eq "overflow: the host's heap-buffer-overflow is reported under the preload" \
		"$(grep -c 'ERROR: AddressSanitizer: heap-buffer-overflow' "$W/overflow.prof.err")" 1
else
	fail "overflow: fixture builds" "$(head -3 "$W/overflow.cc.err" | tr '\n' '|')"
fi

# the host's own choice wins: ASAN_OPTIONS after our defaults
if [ -x "$W/san_address" ]; then
	run_prof "$W/order.spans" "$W/order" ASAN_OPTIONS=verify_asan_link_order=1 -- "$W/san_address" "$MOCK_PORT" 1 1
	eq "ASAN_OPTIONS=verify_asan_link_order=1: the runtime's stop is back (exit 1, its message)" \
		"$(cat "$W/order.rc"):$(grep -c 'does not come first' "$W/order.err")" "1:1"
fi
finish
