#!/bin/bash
# t63_writer_races: the writer under every interleaving we can provoke, short version (make
# stress runs the long one), and once under ThreadSanitizer: exit() while 8 threads record and flush; a signal handler that
# _exit()s at a random instant of a flush-heavy loop; pthread_cancel of threads in the middle of
# recording and flushing; fork while other threads record. A run is bad if it hangs, crashes,
# changes the exit status, or leaves a damaged file or a duplicated exchange.
. "$(dirname "$0")/lib.sh"

require_preload writer-races || finish
build_targets || finish
mock_up || { fail "mock" "cannot start the mock provider"; finish; }

loop() {
	local out
	out=$(wr_loop "$@")
	echo "$out" | sed 's/^/# /'
	case "$(echo "$out" | tail -1)" in
	*": 0 of "*) ok "$(echo "$out" | tail -1)" ;;
	*) fail "$1" "$(echo "$out" | tr '\n' '|')" ;;
	esac
}

loop "exit while 8 threads record" 8 0 race 30
loop "signal handler _exit during flushes" 8 7 sigexit 1500 AGENTPROF_FLUSH_MS=1
loop "pthread_cancel during records and flushes" 3 0 cancel 15 AGENTPROF_FLUSH_MS=1
loop "fork while threads record" 2 0 fork 10

# ThreadSanitizer: the first frame of every report names where the race is
out=$(wr_tsan 1)
echo "# $out"
case "$out" in
"tsan: 0 data races in the writer"*) ok "$out" ;;
*) fail "tsan" "$out" ;;
esac
finish
