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

# 16 busy threads never sleep in the writer: the thread that seals a full slot compresses it
# while the others fill the next ones. (The writer once flushed only when all four slots were
# full, and the threads that found them full slept in 50 us steps while one compressed them:
# about 800 sleeps in 16 x 1,000 exchanges.) Timed flushes off: only filled slots flush. The
# server is bench_io's (C, a process a connection): the mock would be the bottleneck.
if ! command -v strace >/dev/null 2>&1; then
	skip "16 busy threads" "strace not installed"
elif ! cc -O2 -o "$W/bench_io" "$AP_ROOT/scripts/bench_io.c" 2>"$W/bench_io.err"; then
	fail "16 busy threads" "cannot build scripts/bench_io.c: $(head -c 200 "$W/bench_io.err")"
else
	"$W/bench_io" llm-server 20 >"$W/bio.port" 2>/dev/null &
	_AP_PIDS="$_AP_PIDS $!"
	for _ in $(seq 100); do [ -s "$W/bio.port" ] && break; sleep 0.05; done
	mkdir -p "$W/burst"
	AGENTPROF_FLUSH_MS=3600000 timeout 60 strace -f -qq -c -e trace=clock_nanosleep,nanosleep \
		-o "$W/burst.strace" env LD_PRELOAD="$AP_LIB" AGENTPROF_OUT="$W/burst" \
		"$AP_TGT/wrstress" burst "$(head -1 "$W/bio.port")" 1000 >/dev/null 2>"$W/burst.err"
	rc=$?
	sleeps=$(awk '$NF ~ /nanosleep$/ { n += $4 } END { print n + 0 }' "$W/burst.strace")
	dump_spans "$W/burst" "$W/burst.dump"
	got=$(grep -c '"rec": *"exchange"' "$W/burst.dump")
	if [ "$rc" = 0 ] && [ "$sleeps" = 0 ] && [ "$got" = 16000 ]; then
		ok "16 threads x 1,000 exchanges: all 16000 recorded, no sleep in the writer"
	else
		fail "16 busy threads" "exit $rc, $sleeps sleeps, $got of 16000 exchanges recorded"
	fi
	# ... and each such flush compresses the full slot alone: a frame a 128 KiB slot, plus the
	# final flush's (sealing the active slot too, which had just begun, made a tiny frame
	# after every full one: twice the frames)
	if command -v zstd >/dev/null 2>&1; then
		f=$(span_files "$W/burst" | head -1)
		bytes=$(zstd -dcq "$f" 2>/dev/null | wc -c)
		frames=$(sed -n 's/.*"rec":"_file","frames":\([0-9]*\).*/\1/p' "$W/burst.dump" | head -1)
		full=$((bytes / 131072))
		if [ "$full" -ge 8 ] && [ -n "$frames" ] && [ "$frames" -le $((full + 3)) ]; then
			ok "16 busy threads: $frames frames for $full full slots"
		else
			fail "16 busy threads: a frame a slot" "$frames frames, $bytes record bytes ($full full slots)"
		fi
	else
		skip "16 busy threads: a frame a slot" "zstd not installed"
	fi
fi

# ThreadSanitizer: the first frame of every report names where the race is
out=$(wr_tsan 1)
echo "# $out"
case "$out" in
"tsan: 0 data races in the writer"*) ok "$out" ;;
*) fail "tsan" "$out" ;;
esac
finish
