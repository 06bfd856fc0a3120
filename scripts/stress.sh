#!/bin/bash
# stress.sh: the writer's interleaving loops, long version (make stress): kill -9 during streamed
# LLM calls and tool calls, exit races, signal exits, cancellation, fork with busy threads. Prints
# one count line per loop; exit status 1 if any run was bad. STRESS_SCALE=N multiplies the runs.
set -u
cd "$(dirname "$0")/.." || exit 2
export AP_TEST_OUT=${AP_TEST_OUT:-$PWD/build/test-out}
. tests/integration/lib.sh
. tests/hardening/hlib.sh
. tests/integration/writer_lib.sh
T=stress
S=${STRESS_SCALE:-1}
h_build || exit 2
mock_up || { echo "stress: cannot start the mock provider"; exit 2; }
bad=0
wr_kill9 $((60 * S)) 400 || bad=1
wr_kill9 $((20 * S)) 100000 seq /health "kill -9 during tool calls" || bad=1
wr_loop "exit while 8 threads record" $((150 * S)) 0 race 30 || bad=1
wr_loop "signal handler _exit during flushes" $((150 * S)) 7 sigexit 1500 AGENTPROF_FLUSH_MS=1 || bad=1
wr_loop "pthread_cancel during records and flushes" $((60 * S)) 0 cancel 15 AGENTPROF_FLUSH_MS=1 || bad=1
wr_loop "fork while threads record" $((20 * S)) 0 fork 20 || bad=1
WR_TSAN_ALL=1 wr_tsan $((3 * S)) || bad=1
[ $bad = 0 ] && echo "stress: zero crashes, zero hangs, zero lost finished calls" ||
	echo "stress: FAILURES above"
exit $bad
