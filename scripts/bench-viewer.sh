#!/bin/bash
# bench-viewer.sh [N...]: agentprof-view (the release build/agentprof-view) on generated runs of
# N exchanges (default 100000 1000000): wall time, CPU time and peak RSS per command, next to
# the decode floor (zstd -dc of the same bytes). One run each; a loaded machine shows in the
# wall column, CPU time is the stable figure. Each command is cut at AP_BENCH_TIMEOUT seconds
# (default 120; shown as exit 124). Called by scripts/bench.sh when present.
set -u
cd "$(dirname "$0")/.." || exit 2
V=${AP_BENCH_VIEW:-build/agentprof-view}
OUT=build/bench-viewer
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(100000 1000000)
[ -x "$V" ] || { echo "bench-viewer: $V not built (make)"; exit 2; }
command -v /usr/bin/time >/dev/null || { echo "bench-viewer: /usr/bin/time missing (Debian package time)"; exit 2; }
make -s -C tests/targets OUT="$PWD/build/targets" "$PWD/build/targets/gen_spans" >/dev/null || exit 2
mkdir -p "$OUT"
if ldd "$V" | grep -q asan; then echo "note: $V is a sanitized build (make SAN=1); figures are not the release ones"; fi

# measure LABEL CMD...: one line: wall s, cpu s (user+sys), peak RSS MB, bytes per exchange
measure() {
	local label=$1 n=$2
	shift 2
	/usr/bin/time -f '%e %U %S %M' -o "$OUT/time" timeout "${AP_BENCH_TIMEOUT:-120}" "$@" >/dev/null 2>"$OUT/err"
	local rc=$?
	read -r wall user sys kb < <(tail -1 "$OUT/time" 2>/dev/null) || { wall='?'; user=0; sys=0; kb=0; }
	printf '  %-28s %8s s wall %7.2f s cpu %7.0f MB peak %5.0f B/exchange%s\n' "$label" "$wall" \
		"$(awk -v u="$user" -v s="$sys" 'BEGIN {print u + s}')" "$(awk -v k="$kb" 'BEGIN {print k / 1024}')" \
		"$(awk -v k="$kb" -v n="$n" 'BEGIN {print k * 1024 / n}')" "$([ "$rc" = 0 ] || echo "  (exit $rc)")"
}

for n in "${SIZES[@]}"; do
	d=$OUT/run$n
	rm -rf "$d"
	mkdir -p "$d"
	build/targets/gen_spans flat "$d/agentprof.gen.4242.zst" "$n" || exit 1
	echo "== $n exchanges ($(stat -c %s "$d/agentprof.gen.4242.zst") bytes of span file)"
	measure "decode floor: zstd -dc" "$n" zstd -dc "$d/agentprof.gen.4242.zst"
	for c in summary tokens bottlenecks critical-path; do
		measure "$c" "$n" "$V" "$c" "$d"
	done
	for f in chrome otlp jsonl speedscope prom; do
		measure "export --format $f" "$n" "$V" export --format "$f" "$d"
	done
	measure "html" "$n" "$V" html -o "$OUT/report$n.html" "$d"
done
