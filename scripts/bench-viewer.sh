#!/bin/bash
# bench-viewer.sh [N...]: agentprof-view (the release build/agentprof-view) on generated runs of
# N exchanges (default 100000 1000000, and 5000000 with BENCH_BIG=1): per command, from one run,
# wall time, CPU time (user+sys) and peak RSS in bytes per exchange, next to the decode floor
# (zstd -dc of the same bytes), the target (issue 15: 1M exchanges in 3 s for every command,
# summary 1.5 s, 5M in 15 s, 400 bytes per exchange; scaled linearly for other sizes; "ok on
# cpu" when only the CPU time meets it, the machine being busy), the same command forced onto one thread
# (AGENTPROF_VIEW_THREADS=1) and the "before" build: AP_BENCH_BASE, /tmp/base/build/agentprof-view
# or else the viewer issue 15 measured (commit 2bb9165, built once by scripts/bench-base.sh). A
# loaded machine shows in the wall column; CPU time is the stable figure. Each command is cut at AP_BENCH_TIMEOUT seconds (default 120; shown as exit 124).
# Called by scripts/bench.sh when present.
set -u
cd "$(dirname "$0")/.." || exit 2
V=${AP_BENCH_VIEW:-build/agentprof-view}
BASE=${AP_BENCH_BASE:-/tmp/base/build/agentprof-view}
OUT=build/bench-viewer
SIZES=("$@")
if [ ${#SIZES[@]} -eq 0 ]; then
	SIZES=(100000 1000000)
	[ "${BENCH_BIG:-0}" = 1 ] && SIZES+=(5000000)
fi
[ -x "$V" ] || { echo "bench-viewer: $V not built (make)"; exit 2; }
command -v /usr/bin/time >/dev/null || { echo "bench-viewer: /usr/bin/time missing (Debian package time)"; exit 2; }
make -s -C tests/targets OUT="$PWD/build/targets" "$PWD/build/targets/gen_spans" >/dev/null || exit 2
mkdir -p "$OUT"
if ldd "$V" | grep -q asan; then echo "note: $V is a sanitized build (make SAN=1); figures are not the release ones"; fi
# the "before" viewer: the one issue 15 measured, built once from this clone's history when
# not given (scripts/bench-base.sh; AP_BENCH_BASE=none skips it)
if [ ! -x "$BASE" ] && [ "$BASE" != none ] && B_DIR=$(scripts/bench-base.sh); then
	BASE=$B_DIR/build/agentprof-view
fi
[ -x "$BASE" ] || BASE=
echo "viewer: $V ($(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg))${BASE:+; before: $BASE}"

# run_one N CMD...: sets wall cpu bpx rc for one run of CMD
run_one() {
	local n=$1
	shift
	/usr/bin/time -f '%e %U %S %M' -o "$OUT/time" timeout "${AP_BENCH_TIMEOUT:-120}" "$@" >/dev/null 2>"$OUT/err"
	rc=$?
	read -r wall user sys kb < <(tail -1 "$OUT/time" 2>/dev/null) || { wall='?'; user=0; sys=0; kb=0; }
	cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN {printf "%.2f", u + s}')
	bpx=$(awk -v k="$kb" -v n="$n" 'BEGIN {printf "%.0f", k * 1024 / n}')
}

# target N LABEL: the wall-time target in seconds for this size and command
target() {
	local n=$1 label=$2 t=3
	[ "$label" = summary ] && t=1.5
	awk -v t="$t" -v n="$n" 'BEGIN {printf "%.1f", (n >= 5000000 ? 15 * n / 5000000 : t * n / 1000000)}'
}

# measure N LABEL CMD...: one line: this build (threads), one thread, before; target and verdict
measure() {
	local n=$1 label=$2 w1 c1 b1 r1 line verdict tg
	shift 2
	run_one "$n" "$V" "$@"
	w1=$wall c1=$cpu b1=$bpx r1=$rc
	line=$(printf '  %-24s %7s s wall %6s s cpu %4s B/x' "$label" "$w1" "$c1" "$b1")
	AGENTPROF_VIEW_THREADS=1 run_one "$n" "$V" "$@"
	line+=$(printf ' | 1 thread %6s s wall %6s s cpu %4s B/x' "$wall" "$cpu" "$bpx")
	if [ -n "$BASE" ]; then
		run_one "$n" "$BASE" "$@"
		line+=$(printf ' | before %7s s wall %6s s cpu %4s B/x%s' "$wall" "$cpu" "$bpx" \
			"$([ "$rc" = 0 ] || echo " (exit $rc)")")
	fi
	tg=$(target "$n" "$label")
	verdict=$(awk -v w="$w1" -v c="$c1" -v t="$tg" -v b="$b1" 'BEGIN {
		s = (w + 0 <= t ? "ok" : (c + 0 <= t ? "ok on cpu" : "SLOW"));
		printf "%s%s", s, (b + 0 <= 400 ? "" : ", MEMORY") }')
	line+=$(printf ' | target %4s s, 400 B/x: %s%s' "$tg" "$verdict" "$([ "$r1" = 0 ] || echo "  (exit $r1)")")
	echo "$line"
}

for n in "${SIZES[@]}"; do
	d=$OUT/run$n
	if [ ! -s "$d/agentprof.gen.4242.zst" ] || [ "$(cat "$d/n" 2>/dev/null)" != "$n" ]; then
		rm -rf "$d"
		mkdir -p "$d"
		build/targets/gen_spans flat "$d/agentprof.gen.4242.zst" "$n" || exit 1
		echo "$n" >"$d/n"
	fi
	echo "== $n exchanges ($(stat -c %s "$d/agentprof.gen.4242.zst") bytes of span file)"
	run_one "$n" zstd -dc "$d/agentprof.gen.4242.zst"
	printf '  %-24s %7s s wall %6s s cpu\n' "decode floor: zstd -dc" "$wall" "$cpu"
	for c in summary tokens bottlenecks critical-path waterfall flame; do
		measure "$n" "$c" "$c" "$d"
	done
	for f in chrome otlp jsonl speedscope prom; do
		measure "$n" "export $f" export --format "$f" "$d"
	done
	measure "$n" "html" html -o "$OUT/report$n.html" "$d"
done
