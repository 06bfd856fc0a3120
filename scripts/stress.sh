#!/bin/bash
# stress.sh: the writer's interleaving loops, long version (make stress): kill -9 during streamed
# LLM calls and tool calls, exit races, signal exits, cancellation, fork with busy threads, fds
# churned while libunwind loads. Prints one count line per loop; exit status 1 if any run was
# bad. STRESS_SCALE=N multiplies the runs.
# Also: kill -9 right after the provider's terminal event, from Python and from curl (libcurl), and
# the redaction canaries (every form of every canary through every redaction path).
set -u
cd "$(dirname "$0")/.." || exit 2
export AP_TEST_OUT=${AP_TEST_OUT:-$PWD/build/test-out}
. tests/integration/lib.sh
T=stress
S=${STRESS_SCALE:-1}
build_targets || exit 2
mock_up || { echo "stress: cannot start the mock provider"; exit 2; }
bad=0
wr_kill9 $((60 * S)) 400 || bad=1
wr_kill9 $((20 * S)) 100000 seq /health "kill -9 during tool calls" || bad=1
wr_loop "exit while 8 threads record" $((150 * S)) 0 race 30 || bad=1
wr_loop "signal handler _exit during flushes" $((150 * S)) 7 sigexit 1500 AGENTPROF_FLUSH_MS=1 || bad=1
wr_loop "pthread_cancel during records and flushes" $((60 * S)) 0 cancel 15 AGENTPROF_FLUSH_MS=1 || bad=1
# 1,000 runs of 20 forks: a child forked while a thread held the loader lock hung ~1 in 2,000-7,500 forks
wr_loop "fork while threads record" $((1000 * S)) 0 fork 20 || bad=1
# threads churning fds while the first exchange loads libunwind: its pipe leaked in 5 of 20 runs
runs=$((300 * S)) leaked=0
for _ in $(seq "$runs"); do
	rm -rf "$W/race"
	AP_TMO=20 run_prof "$W/race" "$W/race" -- "$AP_TGT/unwind_race" "$MOCK_PORT"
	[ "$(cat "$W/race.rc")" = 0 ] && [ ! -s "$W/race.err" ] || leaked=$((leaked + 1))
done
echo "fds churned during libunwind's set-up: $runs runs, $leaked with an fd left or a warning"
[ "$leaked" = 0 ] || { head -3 "$W/race.out" "$W/race.err"; bad=1; }
# terminal event then kill -9: Python http.client (5 stream shapes) and curl ([DONE], message_stop)
reps=$((10 * S))
out=$(T73_REPS=$reps AP_TEST_OUT=$AP_TEST_OUT/stress-t73 tests/integration/t73_terminal_event_kill.sh 2>&1)
lost=$(printf '%s\n' "$out" | grep -c '^FAIL - ')
echo "kill -9 after the terminal event (Python and libcurl): $((7 * reps)) finished calls, $lost checks failed"
[ "$lost" = 0 ] || { printf '%s\n' "$out" | grep '^FAIL - ' | head -5; bad=1; }
make -s --no-print-directory build/tests/test_redact >/dev/null 2>&1
line=$(build/tests/test_redact 2>&1 | tail -1)
leaked=${line#*passed, }
leaked=${leaked%% failed*}
echo "redaction canaries: ${line%% passed*} checks, ${leaked:-?} leaked"
[ "${leaked:-1}" = 0 ] || bad=1
WR_TSAN_ALL=1 wr_tsan $((3 * S)) || bad=1
[ $bad = 0 ] && echo "stress: zero crashes, zero hangs, zero lost finished calls, zero leaked canaries" ||
	echo "stress: FAILURES above"
exit $bad
