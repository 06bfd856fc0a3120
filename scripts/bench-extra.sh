#!/bin/bash
# bench-extra.sh LIB OUTDIR: the rest of `make bench` (called at the end of scripts/bench.sh).
# Always measures with and without the preload in the same run and prints ratios and targets:
#   per-call cost (ns) of a socket send+recv, a pipe write+read and a 4 KiB file read, plus
#     instruction counts (perf stat, else valgrind --tool=callgrind), stable on a noisy machine;
#   a 1 GiB streamed HTTP download over loopback; 10,000 small keep-alive HTTP exchanges;
#   the same workloads under `strace -f -e trace=network` (what users reach for today);
#   max RSS with and without the preload; agentprof-view reading 1 million exchanges.
# REPS (default 5) runs per side, median. BENCH_GIB=1 sizes the download.
set -u
LIB=${1:?usage: bench-extra.sh LIB OUTDIR}
OUT=${2:?usage: bench-extra.sh LIB OUTDIR}
cd "$(dirname "$0")/.."
REPS=${REPS:-5}
B=build/targets
make -C tests/targets --no-print-directory -s >/dev/null 2>&1 || {
	echo "bench-extra: cannot build tests/targets" >&2
	exit 1
}
P=$OUT/prof
mkdir -p "$P"
PIDS=""
trap 'for p in $PIDS; do kill $p 2>/dev/null; done' EXIT

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0) printf "%.3f", b / a; else print "?" }'; }
pre() { env LD_PRELOAD="$LIB" AGENTPROF_OUT="$P" "$@"; }
# verdict RATIO TARGET: "ok" or "OVER"
verdict() { awk -v r="$1" -v t="$2" 'BEGIN { print (r != "?" && r <= t) ? "ok" : "OVER" }'; }

# pair NAME TARGET CMD...: CMD prints one number; medians of REPS plain and preloaded runs
pair() {
	local name=$1 target=$2 a=() b=() ma mb r
	shift 2
	for ((i = 0; i < REPS; i++)); do
		a+=("$("$@" 2>/dev/null)")
		b+=("$(pre "$@" 2>/dev/null)")
		rm -f "$P"/agentprof.*
	done
	ma=$(printf '%s\n' "${a[@]}" | median)
	mb=$(printf '%s\n' "${b[@]}" | median)
	r=$(ratio "$ma" "$mb")
	printf '%-40s %12s %12s %8sx  target <= %sx %s\n' "$name" "$ma" "$mb" "$r" "$target" "$(verdict "$r" "$target")"
}

echo
echo "== per-call cost (ns per call, median of $REPS)        plain    preloaded    ratio"
head -c 1048576 /dev/urandom >"$OUT/file1m.bin"
pair "socket send+recv 64 B (tracked TCP)" 1.05 "$B/bench_calls" sock 200000
pair "pipe write+read 64 B" 1.02 "$B/bench_calls" pipe 200000
pair "file read 4 KiB" 1.02 "$B/bench_calls" file "$OUT/file1m.bin" 200000

echo
echo "== instructions (user space only: the kernel's share of a syscall is not counted, so"
echo "   these ratios are far above the wall-clock ones; they track the wrapper's own cost)"
icount() { # icount PRELOAD CMD...: user-space instructions of CMD ("" = no preload)
	local lp=$1 n
	shift
	n=$(perf stat -x, -e instructions:u env ${lp:+LD_PRELOAD=$lp AGENTPROF_OUT=$P} "$@" 2>&1 >/dev/null |
		awk -F, '/instructions/ {print $1; exit}')
	case "$n" in '' | *[!0-9]*) ;; *) echo "$n"; return ;; esac
	if command -v valgrind >/dev/null 2>&1; then
		# valgrind passes LD_PRELOAD on to the program it runs
		env ${lp:+LD_PRELOAD=$lp AGENTPROF_OUT=$P} valgrind --tool=callgrind \
			--callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null | awk '/Collected/ {print $NF; exit}'
	fi
}
# marginal instructions per iteration: (I(2N) - I(N)) / N, so the preload's one-time start-up
# cost (constructor, zstd workspace, file creation) is shown apart
for w in sock pipe file; do
	arg=$([ $w = file ] && echo "$OUT/file1m.bin")
	a1=$(icount "" "$B/bench_calls" $w $arg 20000)
	a2=$(icount "" "$B/bench_calls" $w $arg 40000)
	b1=$(icount "$LIB" "$B/bench_calls" $w $arg 20000)
	b2=$(icount "$LIB" "$B/bench_calls" $w $arg 40000)
	if [ -z "$a1" ] || [ -z "$a2" ] || [ -z "$b1" ] || [ -z "$b2" ]; then
		echo "instructions: neither perf nor valgrind usable here"
		break
	fi
	pa=$(awk -v x="$a1" -v y="$a2" 'BEGIN {printf "%.1f", (y - x) / 20000}')
	pb=$(awk -v x="$b1" -v y="$b2" 'BEGIN {printf "%.1f", (y - x) / 20000}')
	fixed=$(awk -v a="$a1" -v b="$b1" -v pa="$pa" -v pb="$pb" 'BEGIN {printf "%.0f", (b - 20000 * pb) - (a - 20000 * pa)}')
	printf '%-40s %12s %12s %8sx  (start-up: +%s instructions once)\n' "instructions/iteration: $w" "$pa" "$pb" "$(ratio "$pa" "$pb")" "$fixed"
done
rm -f "$P"/agentprof.*

# servers: small responses and a streamed body
"$B/bench_calls" serve-small "$OUT/small.port" &
PIDS="$PIDS $!"
GIB=${BENCH_GIB:-1}
"$B/bench_calls" serve-stream "$OUT/stream.port" $((GIB * 1073741824)) &
PIDS="$PIDS $!"
for _ in $(seq 50); do [ -s "$OUT/small.port" ] && [ -s "$OUT/stream.port" ] && break; sleep 0.05; done
SP=$(cat "$OUT/small.port")
ST=$(cat "$OUT/stream.port")

echo
echo "== HTTP workloads (seconds, median of $REPS)              plain    preloaded    ratio"
pair "10,000 small keep-alive exchanges" 1.10 "$B/bench_calls" small "$SP" 10000
pair "${GIB} GiB streamed download" 1.05 "$B/bench_calls" download "$ST"

echo
echo "== strace -f -e trace=network on the same workloads (seconds, median of 3)"
st() { strace -f -qq -e trace=network -o /dev/null "$@"; }
for w in "small $SP 10000" "download $ST"; do
	a=() s=() l=()
	for ((i = 0; i < 3; i++)); do
		# shellcheck disable=SC2086
		a+=("$("$B/bench_calls" $w)")
		# shellcheck disable=SC2086
		l+=("$(pre "$B/bench_calls" $w)")
		# shellcheck disable=SC2086
		command -v strace >/dev/null && s+=("$(st "$B/bench_calls" $w)")
	done
	ma=$(printf '%s\n' "${a[@]}" | median)
	ml=$(printf '%s\n' "${l[@]}" | median)
	ms=$(printf '%s\n' "${s[@]:-0}" | median)
	printf '%-28s plain %8s  agentprof %8s (%sx)  strace %8s (%sx)\n' "${w%% *}" "$ma" "$ml" \
		"$(ratio "$ma" "$ml")" "$ms" "$(ratio "$ma" "$ms")"
done
rm -f "$P"/agentprof.*

echo
echo "== max RSS (KiB), 10,000 exchanges"
if [ -x /usr/bin/time ]; then
	ra=$(/usr/bin/time -f %M "$B/bench_calls" small "$SP" 10000 2>&1 >/dev/null | tail -1)
	rb=$(/usr/bin/time -f %M env LD_PRELOAD="$LIB" AGENTPROF_OUT="$P" "$B/bench_calls" small "$SP" 10000 2>&1 >/dev/null | tail -1)
	added=$((rb - ra))
	printf 'plain %s KiB, preloaded %s KiB: added %s KiB (%.1f MiB)  target <= 16 MiB %s\n' "$ra" "$rb" "$added" \
		"$(awk -v k="$added" 'BEGIN {print k / 1024}')" "$([ "$added" -le 16384 ] && echo ok || echo OVER)"
else
	echo "/usr/bin/time not installed (Debian package time)"
fi
rm -f "$P"/agentprof.*

echo
echo "== agentprof-view reading 1,000,000 exchanges"
"$B/gen_spans" flat "$OUT/agentprof.gen.4242.zst" 1000000 || exit 1
printf 'span file: %s bytes\n' "$(stat -c %s "$OUT/agentprof.gen.4242.zst")"
# the release viewer (no sanitizers), built here from the same sources and the HTML page make
# embedded (build/gen/report_page.c: make bench runs make all first)
VR=build/bench/agentprof-view-release
mkdir -p build/bench
if [ ! -x "$VR" ] || [ build/gen/report_page.c -nt "$VR" ] ||
	[ -n "$(find tools/view preload include -newer "$VR" -name '*.[ch]' | head -1)" ]; then
	cc -std=gnu11 -O2 -D_GNU_SOURCE -Iinclude -Ipreload/core -Itools/view/load -Itools/view/analyze -Itools/view/render -Itools/view/export -Itools/view/cmd -o "$VR" tools/view/*/*.c \
		preload/core/*.c build/gen/report_page.c -lzstd -lz -lm \
		$(pkg-config --exists libdw 2>/dev/null && echo -DAP_HAVE_LIBDW -ldw) 2>"$OUT/vr.log" ||
		{ echo "release viewer build failed: $(head -3 "$OUT/vr.log")"; VR=""; }
fi
for v in $VR build/agentprof-view; do
	t=()
	for ((i = 0; i < 3; i++)); do
		s=$(date +%s%N)
		"$v" summary "$OUT/agentprof.gen.4242.zst" >/dev/null 2>&1
		t+=("$(awk -v a="$s" -v b="$(date +%s%N)" 'BEGIN {printf "%.3f", (b - a) / 1e9}')")
	done
	m=$(printf '%s\n' "${t[@]}" | median)
	printf '%-40s %8s s  target < 2 s %s\n' "$(basename "$v") summary" "$m" \
		"$(awk -v m="$m" 'BEGIN {print (m < 2) ? "ok" : "OVER"}')"
done
echo "(build/agentprof-view is the release build that make builds by default; scripts/bench-viewer.sh has every command next to the decode floor)"
exit 0
