#!/bin/bash
# t94_sanitized_hosts: hosts built with GCC's sanitizers start and run under the preload as
# without it (docs/internals/contract.md §1.9). tests/targets/san_host.c (2 threads, 5 keep-alive
# LLM calls each) built with -fsanitize=address, leak and undefined: the same exit status and
# output, no sanitizer report, all 10 exchanges recorded; built with -fsanitize=thread (4
# threads, 10 calls each, 10 runs): no ThreadSanitizer report. ASan's runtime stopped such a host at
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

# ThreadSanitizer: our library is not instrumented, so the host's runtime never sees the atomics
# that order our threads, only the calls into libc it intercepts. Our memset and memcpy on a
# connection that one thread released and another took (conn_alloc, ap_http_init), against our
# strcspn or memchr on it, or inet_ntop into it, and libunwind's pipe closed behind the
# runtime's back (its fd number then reused by the host's socket), were reported as races and
# the host exited with 66: in 14 of 20 runs of 4 threads x 10 calls. Our copies and fills are
# our own now (rt_libc.c), inet_ntop writes a local, the pipe is closed through close().
bin=$W/san_thread
if gcc -O1 -g -Wall -Werror -fsanitize=thread -pthread -o "$bin" "$AP_TGT_SRC/san_host.c" 2>"$bin.cc.err"; then
	run_bare "$W/thread.bare" "$bin" "$MOCK_PORT" 4 10
	eq "thread: works without the preload" "$(cat "$W/thread.bare.rc"):$(cat "$W/thread.bare.out")" \
		"0:4 threads, 10 calls each, 0 failed"
	reports=0 bad=0 rec=0
	for i in 1 2 3 4 5 6 7 8 9 10; do
		run_prof "$W/thread.spans.$i" "$W/thread.$i" -- "$bin" "$MOCK_PORT" 4 10
		[ "$(cat "$W/thread.$i.rc")" = 0 ] && cmp -s "$W/thread.$i.out" "$W/thread.bare.out" || bad=$((bad + 1))
		grep -q 'WARNING: ThreadSanitizer' "$W/thread.$i.err" && reports=$((reports + 1))
		n=$(ap_export "$W/thread.spans.$i" "$W/thread.$i.jsonl" && grep -c '"kind": *"exchange"' "$W/thread.$i.jsonl")
		[ "$n" = 40 ] && rec=$((rec + 1))
	done
	eq "thread: 10 runs, exit status and output as without the preload" "$bad" 0
	if [ "$reports" = 0 ]; then ok "thread: 10 runs, no ThreadSanitizer report"; else
		fail "thread: 10 runs, no ThreadSanitizer report" "$reports runs reported: $(grep -h -m1 -A3 'WARNING: ThreadSanitizer' "$W"/thread.*.err | head -4 | tr '\n' '|')"
	fi
	eq "thread: 10 runs, all 40 LLM calls recorded in each" "$rec" 10
else
	fail "thread: host builds" "$(head -3 "$bin.cc.err" | tr '\n' '|')"
fi

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
