#!/bin/bash
# t51_host_safety: P0 host safety (docs/internals/contract.md §1.1, §1.2, §1.4, §4): calls from other
# libraries' constructors and .preinit_array before ours; jemalloc in LD_PRELOAD in both orders
# with a program whose first action is read()/connect(); two RTLD_LOCAL copies of one library
# each reached (and RTLD_DEEPBIND unchanged); errno/EINTR through the fd, spawn and socket
# wrappers; Python signal wake-up writes and a raising handler during recv; a 1 us ITIMER_PROF
# handler calling send() for 10 s. Each compares with a run without the preload.
. "$(dirname "$0")/lib.sh"

require_preload host-safety || finish
build_targets || finish
mock_up || { fail "mock" "cannot start the mock provider"; finish; }

# The 10 s ITIMER_PROF run (last section) starts first and runs while the other sections do; its
# result is checked at the end.
sp_t0=$(date +%s%N)
run_prof "$W/sp" "$W/sp" AGENTPROF_FLUSH_MS=5 -- "$AP_TGT/sigprof" "$MOCK_PORT" 10 &
sp_pid=$!
_AP_PIDS="$_AP_PIDS $sp_pid"

# --- constructors and .preinit_array before ours ------------------------------------------------
run_bare "$W/ctor.bare" "$AP_TGT/ctor_main"
run_prof "$W/ctor" "$W/ctor.prof" -- "$AP_TGT/ctor_main"
eq "ctor: exit status with preload" "$(cat "$W/ctor.prof.rc")" "$(cat "$W/ctor.bare.rc")"
same_file "ctor: preinit, library constructor and main print the same" "$W/ctor.bare.out" "$W/ctor.prof.out"
n=$(grep -c '^preinit \|^lib-ctor ' "$W/ctor.prof.out")
ge "ctor: calls made before our constructor ran ($n lines)" "$n" 40
if ap_export "$W/ctor" "$W/ctor.jsonl"; then ok "ctor: span file decodes"; else
	fail "ctor: span file decodes" "$(head -c 300 "$W/ctor.jsonl.err")"
fi

# --- jemalloc in LD_PRELOAD, both orders --------------------------------------------------------
JE=$(ls /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 2>/dev/null)
if [ -z "$JE" ]; then
	fail "jemalloc" "libjemalloc2 not installed (scripts/install-deps.sh --extra)"
else
	for order in "$AP_LIB:$JE" "$JE:$AP_LIB"; do
		label=$([ "${order%%:*}" = "$AP_LIB" ] && echo "agentprof first" || echo "jemalloc first")
		for mode in read connect; do
			clock_start
			echo hello | timeout -k 2 5 env LD_PRELOAD="$order" AGENTPROF_OUT="$W" \
				"$AP_TGT/firstio" $mode "$MOCK_PORT" >"$W/je.out" 2>"$W/je.err"
			rc=$?
			ms=$(elapsed_ms)
			want=$([ $mode = read ] && echo "read 6: hello" || echo "connect status 200 malloc ok")
			if [ $rc -eq 0 ] && grep -q "$want" "$W/je.out"; then
				ok "jemalloc ($label), first action $mode: right result in ${ms} ms (< 5 s)"
			else
				fail "jemalloc ($label), first action $mode" "rc $rc after ${ms} ms: $(head -c 200 "$W/je.out" "$W/je.err" | tr '\n' '|')"
			fi
		done
	done
fi

# --- two RTLD_LOCAL copies of one library -------------------------------------------------------
run_bare "$W/rl.bare" "$AP_TGT/rtld_local" "$AP_TGT"
run_prof "$W/rl" "$W/rl.prof" -- "$AP_TGT/rtld_local" "$AP_TGT"
same_file "RTLD_LOCAL: same output with the preload" "$W/rl.bare.out" "$W/rl.prof.out"
if grep -q '^mod_a 11$' "$W/rl.prof.out" && grep -q '^mod_b 22$' "$W/rl.prof.out" &&
	grep -q '^mod_b deepbind 22$' "$W/rl.prof.out"; then
	ok "RTLD_LOCAL: each module reached its own SSL_read (11, 22; DEEPBIND 22)"
else
	fail "RTLD_LOCAL: each module reached its own SSL_read" "$(tr '\n' '|' <"$W/rl.prof.out")"
fi

# --- errno and EINTR through every new wrapper and tracked sockets ------------------------------
run_bare "$W/en.bare" "$AP_TGT/errno_new" "$MOCK_PORT"
run_prof "$W/en" "$W/en.prof" -- "$AP_TGT/errno_new" "$MOCK_PORT"
same_file "errno/EINTR: fd, spawn and socket wrappers identical to libc" "$W/en.bare.out" "$W/en.prof.out"
if grep -q 'waitpid status untouched: yes' "$W/en.prof.out"; then
	ok "waitpid(WNOHANG) with nothing reaped leaves the status variable alone"
else
	fail "waitpid(WNOHANG) leaves the status alone" "$(grep waitpid "$W/en.prof.out")"
fi
run_prof "$W/en2" "$W/en2.prof" AGENTPROF_FLUSH_MS=1 -- "$AP_TGT/errno_new" "$MOCK_PORT"
same_file "errno/EINTR: identical with a flush on every call" "$W/en.bare.out" "$W/en2.prof.out"

# --- Python: asyncio signal wake-up writes, a raising handler interrupts recv -------------------
run_bare "$W/ps.bare" "$PY" "$AP_TGT_SRC/py_signals.py" "$MOCK_PORT"
run_prof "$W/ps" "$W/ps.prof" -- "$PY" "$AP_TGT_SRC/py_signals.py" "$MOCK_PORT"
same_file "python signals: same output with the preload" "$W/ps.bare.out" "$W/ps.prof.out"
if grep -q 'asyncio signals handled 200' "$W/ps.prof.out" &&
	grep -q 'interrupted by the raising handler within 5 s' "$W/ps.prof.out"; then
	ok "python signals: 200 wake-ups handled, recv interrupted (EINTR passed through)"
else
	fail "python signals" "$(tr '\n' '|' <"$W/ps.prof.out") $(tail -2 "$W/ps.prof.err")"
fi

# --- 1 us ITIMER_PROF handler calling send() for 10 s -------------------------------------------
wait "$sp_pid"
ms=$((($(date +%s%N) - sp_t0) / 1000000))
if [ "$(cat "$W/sp.rc")" = 0 ] && grep -q '^ok$' "$W/sp.out"; then
	ok "ITIMER_PROF send() for 10 s: no deadlock, every handler byte delivered ($(grep -E 'handler_sent|exchanges' "$W/sp.out" | tr '\n' ' '))"
else
	fail "ITIMER_PROF send() for 10 s" "rc $(cat "$W/sp.rc") after ${ms} ms: $(tr '\n' '|' <"$W/sp.out")"
fi
if ap_export "$W/sp" "$W/sp.jsonl"; then
	n=$(grep -c '"kind":"exchange"' "$W/sp.jsonl")
	ge "ITIMER_PROF: file decodes, exchanges recorded" "$n" 10
else
	fail "ITIMER_PROF: file decodes" "$(head -c 300 "$W/sp.jsonl.err")"
fi
finish
