#!/bin/bash
# bench.sh: overhead of the preload, measured with and without it in the same run; prints ratios.
# Verdicts use stable measures: CPU time (user + system from wait4's rusage), instruction counts
# (valgrind --tool=callgrind, user space) and syscall counts (strace -f -c); wall-clock ratios
# are printed beside them. Every workload runs plain, under the preload being measured (build/)
# and under a "before" build: BASE, /tmp/base/build/libagentprof.so, or else the preload issue 15
# measured (commit 2bb9165, built once by scripts/bench-base.sh). REPS (default 3) runs per side, median.
# First scripts/bench-table.sh (the issue-15 target table: original, MAIN, new build side by
# side); then, when present: scripts/bench-writer.sh (threads, TLS calls, children),
# bench-pystacks.sh (Python capture cost), bench-node.sh (Node per request), bench-bun.sh
# (the BoringSSL signature search at a Bun start), bench-viewer.sh
# (viewer at 100k and 1M next to the decode floor) and bench-extra.sh (BENCH_EXTRA=0: not).
set -u
cd "$(dirname "$0")/.."
LIB=$PWD/build/libagentprof.so
BASE=${BASE:-/tmp/base/build/libagentprof.so}
[ -f "$BASE" ] || BASE=""
# "before": the preload issue 15 measured (commit 2bb9165), built once from this clone's history
# when no BASE build is given (scripts/bench-base.sh; BASE_REF=none skips it)
if [ -z "$BASE" ] && [ "${BASE_REF:-}" != none ] && B_DIR=$(scripts/bench-base.sh ${BASE_REF:-}); then
	BASE=$B_DIR/build/libagentprof.so
fi
B=build/bench
REPS=${REPS:-3}
mkdir -p "$B"
cc -O2 -o "$B/bench_io" scripts/bench_io.c || exit 1
make -C tests/targets --no-print-directory -s >/dev/null 2>&1 || true
OUT=$(mktemp -d /tmp/agentprof-bench.XXXXXX)
PIDS=""
trap 'for p in $PIDS; do kill $p 2>/dev/null; done; rm -rf "$OUT"' EXIT
P=$OUT/prof
mkdir -p "$P"

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b != "") printf "%.2f", b / a; else print "?" }'; }
# with LIBPATH CMD...: CMD under LIBPATH ("" = plain); span files into $P, removed afterwards
with() {
	local l=$1
	shift
	env ${l:+LD_PRELOAD=$l AGENTPROF_OUT=$P} "$@"
}
# cpu_wall LIB CMD...: "wall cpu" medians of REPS runs
cpu_wall() {
	local l=$1 w=() c=() line
	shift
	for ((i = 0; i < REPS; i++)); do
		line=$(with "$l" "$B/bench_io" rusage "$@")
		w+=("${line% *}")
		c+=("${line#* }")
		rm -f "$P"/agentprof.*
	done
	echo "$(printf '%s\n' "${w[@]}" | median) $(printf '%s\n' "${c[@]}" | median)"
}
# icount LIB CMD...: user-space instructions of CMD (callgrind passes LD_PRELOAD on)
icount() {
	local l=$1
	shift
	with "$l" valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
		awk '/Collected/ {print $NF; exit}'
	rm -f "$P"/agentprof.*
}
# syscalls LIB CMD...: syscalls made by CMD and its children
syscalls() {
	local l=$1
	shift
	command -v strace >/dev/null || { echo "?"; return; }
	with "$l" strace -f -qq -c -o "$OUT/strace.txt" "$@" >/dev/null 2>&1
	awk '$NF == "total" {print $4 + 0; exit}' "$OUT/strace.txt"
	rm -f "$P"/agentprof.*
}
# verdict VALUE TARGET [le|ge]
verdict() {
	awk -v r="$1" -v t="$2" -v d="${3:-le}" 'BEGIN {
		if (r == "?" || r == "") print "?"; else if (d == "le") print (r <= t) ? "ok" : "OVER";
		else print (r >= t) ? "ok" : "UNDER" }'
}

# row NAME TARGET CMD...: CPU and wall ratios (before, now), syscall ratio (now), verdict on CPU
row() {
	local name=$1 target=$2 p n b pc nc bc sp sn
	shift 2
	p=$(cpu_wall "" "$@")
	n=$(cpu_wall "$LIB" "$@")
	b=$([ -n "$BASE" ] && cpu_wall "$BASE" "$@")
	pc=${p#* } nc=${n#* } bc=${b#* }
	sp=$(syscalls "" "$@")
	sn=$(syscalls "$LIB" "$@")
	printf '%-44s cpu %6sx (before %6sx)  wall %6sx (before %6sx)  syscalls %6sx  target <= %sx %s\n' \
		"$name" "$(ratio "$pc" "$nc")" "$([ -n "$b" ] && ratio "$pc" "$bc" || echo -)" \
		"$(ratio "${p% *}" "${n% *}")" "$([ -n "$b" ] && ratio "${p% *}" "${b% *}" || echo -)" \
		"$(ratio "$sp" "$sn")" "$target" "$(verdict "$(ratio "$pc" "$nc")" "$target")"
}

# per_unit LIB N1 N2 CMD1 CMD2: instructions per unit, (I(CMD2) - I(CMD1)) / (N2 - N1)
per_unit() {
	local l=$1 n1=$2 n2=$3 a b
	a=$(icount "$l" $4)
	b=$(icount "$l" $5)
	[ -n "$a" ] && [ -n "$b" ] || { echo "?"; return; }
	awk -v a="$a" -v b="$b" -v n="$((n2 - n1))" 'BEGIN {printf "%.0f", (b - a) / n}'
}
# irow NAME TARGET N1 N2 CMD1 CMD2 [ENV...]: instructions added per unit, plain vs before vs now
irow() {
	local name=$1 target=$2 n1=$3 n2=$4 c1=$5 c2=$6 pl nw bf
	if ! command -v valgrind >/dev/null; then
		printf '%-44s valgrind not installed\n' "$name"
		return
	fi
	pl=$(per_unit "" "$n1" "$n2" "$c1" "$c2")
	nw=$(per_unit "$LIB" "$n1" "$n2" "$c1" "$c2")
	bf=$([ -n "$BASE" ] && per_unit "$BASE" "$n1" "$n2" "$c1" "$c2" || echo "?")
	printf '%-44s plain %7s  before +%-7s now +%-7s target <= +%s %s\n' "$name" "$pl" \
		"$(awk -v a="$pl" -v b="$bf" 'BEGIN {if (b == "?") print "?"; else printf "%.0f", b - a}')" \
		"$(awk -v a="$pl" -v b="$nw" 'BEGIN {printf "%.0f", b - a}')" "$target" \
		"$(verdict "$(awk -v a="$pl" -v b="$nw" 'BEGIN {printf "%.0f", b - a}')" "$target")"
}

# --- servers ----------------------------------------------------------------------------------
start() { # start PORTFILE CMD...: background server printing its port
	local f=$1
	shift
	"$@" >"$f" &
	PIDS="$PIDS $!"
	for _ in $(seq 100); do [ -s "$f" ] && return; sleep 0.05; done
}
start "$OUT/echo.port" "$B/bench_io" echo-server
start "$OUT/sse100k.port" "$B/bench_io" llm-server 100000
start "$OUT/sse20k.port" "$B/bench_io" llm-server 20000
start "$OUT/sse10k.port" "$B/bench_io" llm-server 10000
EP=$(cat "$OUT/echo.port")
S100=$(cat "$OUT/sse100k.port")
S20=$(cat "$OUT/sse20k.port")
S10=$(cat "$OUT/sse10k.port")
head -c 4194304 /dev/urandom >"$OUT/file.bin"

echo "agentprof bench: plain vs preloaded ($LIB)${BASE:+, before = $BASE}; median of $REPS"
echo
# the issue-15 target table first: original (BASE), current main (MAIN=path, or MAIN_REF=main
# to build it), new
[ -x scripts/bench-table.sh ] && BASE=$BASE MAIN=${MAIN:-} MAIN_REF=${MAIN_REF:-} REPS=$REPS \
	scripts/bench-table.sh
echo
echo "== the issue-15 table: CPU-time ratio (verdict), wall ratio, syscall ratio"
row "3,000 small LLM exchanges (HTTP keep-alive)" 1.10 "$B/bench_io" llm-small "$S20" 3000
row "100k SSE events (one stream)" 1.20 "$B/bench_io" llm-sse "$S100"
row "1,000 short children from a shell" 1.50 sh -c 'i=0; while [ $i -lt 1000 ]; do /bin/true; i=$((i+1)); done'
row "TCP ping-pong 64 B x 20000 (tracked socket)" 1.10 "$B/bench_io" pingpong "$EP" 20000
row "pipe write+read 64 B x 200000 (not a socket)" 1.05 "$B/bench_io" pipe 200000
row "file read 4 KiB x 200000 (not a socket)" 1.05 "$B/bench_io" file "$OUT/file.bin" 200000
if [ -x /usr/bin/python3 ] && [ -f examples/agent.py ]; then
	python3 scripts/mock_provider.py --port 0 --ready-file "$OUT/mport" >/dev/null 2>&1 &
	PIDS="$PIDS $!"
	for _ in $(seq 100); do [ -s "$OUT/mport" ] && break; sleep 0.05; done
	AGENT_BASE_URL="http://127.0.0.1:$(cat "$OUT/mport")" row "example agent (examples/agent.py, mock)" 1.10 \
		python3 examples/agent.py
fi
if command -v curl >/dev/null; then
	python3 tests/targets/gzip_bomb_server.py "$OUT/bomb.pf" 200 &
	PIDS="$PIDS $!"
	for _ in $(seq 200); do [ -s "$OUT/bomb.pf" ] && break; sleep 0.05; done
	row "gzip bomb, 200 MiB inflated (curl, raw)" 1.50 curl -s -o /dev/null -d '{}' \
		"http://127.0.0.1:$(cat "$OUT/bomb.pf")/v1/chat/completions"
fi

echo
echo "== instructions added by the preload (callgrind, user space; marginal per unit)"
irow "SSE: per event" 300 10000 20000 "$B/bench_io llm-sse $S10" "$B/bench_io llm-sse $S20"
irow "small LLM exchange (record written)" 3000 500 1000 "$B/bench_io llm-small $S20 500" \
	"$B/bench_io llm-small $S20 1000"
AGENTPROF_SAMPLE=0 irow "small LLM exchange, parse+classify only" 3000 500 1000 \
	"$B/bench_io llm-small $S20 500" "$B/bench_io llm-small $S20 1000"
if [ -x build/targets/bench_calls ]; then
	irow "non-socket fd call (pipe write+read pair)" 50 10000 20000 \
		"build/targets/bench_calls pipe 10000" "build/targets/bench_calls pipe 20000"
	irow "tracked TCP call (send+recv pair)" 470 10000 20000 \
		"build/targets/bench_calls sock 10000" "build/targets/bench_calls sock 20000"
fi
echo "(the 'parse+classify only' row runs with AGENTPROF_SAMPLE=0: exchanges are parsed and"
echo " classified but not recorded, which isolates the parser from the writer)"

echo
echo "== finished LLM calls lost under kill -9 right after the terminal event (20 runs)"
python3 tests/targets/held_stream_server.py "$OUT/held.pf" &
PIDS="$PIDS $!"
for _ in $(seq 100); do [ -s "$OUT/held.pf" ] && break; sleep 0.05; done
HP=$(cat "$OUT/held.pf" 2>/dev/null)
if [ -n "$HP" ] && [ -x build/agentprof-view ]; then
	rm -rf "$OUT/kill"
	mkdir -p "$OUT/kill"
	{
		for ((i = 0; i < 20; i++)); do
			LD_PRELOAD=$LIB AGENTPROF_OUT=$OUT/kill python3 tests/targets/py_stream_kill.py \
				"$HP" /v1/chat/completions >/dev/null 2>&1
		done
	} 2>/dev/null
	got=$(build/agentprof-view export --format jsonl "$OUT/kill" 2>/dev/null | grep -c '"path":"/v1/chat/completions"')
	echo "kill -9 during streaming: $((20 - got)) of 20 finished calls lost  target 0 $([ "$got" = 20 ] && echo ok || echo OVER)"
fi

[ -x scripts/bench-writer.sh ] && scripts/bench-writer.sh
[ -x scripts/bench-pystacks.sh ] && scripts/bench-pystacks.sh
[ -x scripts/bench-node.sh ] && scripts/bench-node.sh "$LIB"
[ -x scripts/bench-bun.sh ] && REPS=$REPS scripts/bench-bun.sh "$LIB"
[ -x scripts/bench-viewer.sh ] && scripts/bench-viewer.sh
[ "${BENCH_EXTRA:-1}" = 1 ] && [ -x scripts/bench-extra.sh ] && REPS=$REPS scripts/bench-extra.sh "$LIB" "$OUT"
exit 0
