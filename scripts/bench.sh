#!/bin/bash
# bench.sh: overhead of the preload, measured with and without it in the same run; prints ratios.
# Each workload runs REPS times alternating plain/preloaded; the median of each side is compared.
set -u
cd "$(dirname "$0")/.."
LIB=$PWD/build/libagentprof.so
B=build/bench
REPS=${REPS:-7}
mkdir -p "$B"
cc -O2 -o "$B/bench_io" scripts/bench_io.c || exit 1
OUT=$(mktemp -d /tmp/agentprof-bench.XXXXXX)
trap 'kill $SRV 2>/dev/null; rm -rf "$OUT"' EXIT

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# run_pair NAME CMD...: prints "NAME plain preloaded ratio"
run_pair() {
	local name=$1; shift
	local p=() l=()
	for ((i = 0; i < REPS; i++)); do
		p+=("$("$@")")
		l+=("$(LD_PRELOAD=$LIB AGENTPROF_OUT=$OUT "$@")")
	done
	local mp ml
	mp=$(printf '%s\n' "${p[@]}" | median)
	ml=$(printf '%s\n' "${l[@]}" | median)
	awk -v n="$name" -v a="$mp" -v b="$ml" \
		'BEGIN { printf "%-34s %10.4fs %10.4fs   %.3fx\n", n, a, b, b / a }'
}

# time_cmd CMD...: wall seconds of one run
time_cmd() {
	local t0 t1
	t0=$(date +%s%N)
	"$@" >/dev/null 2>&1
	t1=$(date +%s%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", (b - a) / 1e9 }'
}

"$B/bench_io" echo-server >"$OUT/port" &
SRV=$!
for _ in $(seq 50); do [ -s "$OUT/port" ] && break; sleep 0.05; done
PORT=$(cat "$OUT/port")
head -c 4194304 /dev/urandom >"$OUT/file.bin"

echo "workload                              plain  preloaded   ratio   (median of $REPS)"
run_pair "(a) TCP ping-pong 64 B x 20000" "$B/bench_io" pingpong "$PORT" 20000
run_pair "(b) pipe write+read 64 B x 200000" "$B/bench_io" pipe 200000
run_pair "(b) file read 4 KiB x 200000" "$B/bench_io" file "$OUT/file.bin" 200000

# (c) the example agent against the mock provider (plain HTTP, no artificial delays beyond the mock's)
PY=/usr/bin/python3
$PY scripts/mock_provider.py --port 0 --ready-file "$OUT/mport" >/dev/null 2>&1 &
MOCK=$!
trap 'kill $SRV $MOCK 2>/dev/null; rm -rf "$OUT"' EXIT
for _ in $(seq 100); do [ -s "$OUT/mport" ] && break; sleep 0.05; done
export AGENT_BASE_URL="http://127.0.0.1:$(cat "$OUT/mport")"
run_pair "(c) example agent (examples/agent.py)" time_cmd $PY examples/agent.py
[ -x scripts/bench-extra.sh ] && scripts/bench-extra.sh "$LIB" "$OUT"
exit 0
