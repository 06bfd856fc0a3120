#!/bin/bash
# bench-node.sh: Node's per-request overhead under the preload, with and without the inline TLS
# hooks. A bare Node HTTPS/HTTP server (tests/targets/node_bench.js) answers a chat-completion
# body; the client times N sequential keep-alive POSTs itself (startup excluded) and prints the
# mean wall and CPU microseconds per request (CPU rows are steadier on a loaded machine). Each row alternates plain and preloaded runs REPS times and
# compares the medians (ratios from one run, not pass/fail). Also Node's startup (node -e 0),
# which includes installing the hooks (capstone loaded, 10 entries patched).
# Usage: scripts/bench-node.sh [LIB [SCRATCH]]   (REPS, N from the environment)
set -u
cd "$(dirname "$0")/.."
LIB=${1:-$PWD/build/libagentprof.so}
OUT=${2:-}
REPS=${REPS:-5}
N=${N:-400}
NODE=$(command -v node) || { echo "bench-node.sh: node not installed: skipped"; exit 0; }
[ -f "$LIB" ] || { echo "bench-node.sh: $LIB not built" >&2; exit 1; }
own=0
if [ -z "$OUT" ]; then OUT=$(mktemp -d /tmp/agentprof-bench-node.XXXXXX); own=1; fi
S=tests/targets/node_bench.js
scripts/gen-cert.sh "$OUT/node-certs" >/dev/null 2>&1 || { echo "bench-node.sh: gen-cert failed" >&2; exit 1; }
"$NODE" "$S" server "$OUT/node-certs/server.pem" "$OUT/node-certs/server.key" "$OUT/node-ports" &
SRV=$!
cleanup() { kill "$SRV" 2>/dev/null; [ "$own" = 1 ] && rm -rf "$OUT"; }
trap cleanup EXIT
for _ in $(seq 100); do [ -s "$OUT/node-ports" ] && break; sleep 0.05; done
read -r TLS PLAIN <"$OUT/node-ports"
export NODE_EXTRA_CA_CERTS=$OUT/node-certs/ca.pem
mkdir -p "$OUT/node-spans"

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# row NAME ENV UNIT FIELD CMD...: plain vs LD_PRELOAD (+ ENV) medians of field FIELD of the
# command's output
row() {
	local name=$1 env=$2 unit=$3 field=$4
	shift 4
	local p=() l=()
	local pre=(env LD_PRELOAD="$LIB" AGENTPROF_OUT="$OUT/node-spans" $env) w=()
	if [ "$1" = wall_ms ]; then # time from outside, preloading only the command
		w=(wall_ms)
		shift
	fi
	for ((i = 0; i < REPS; i++)); do
		p+=("$("${w[@]}" "$@" | awk -v f="$field" '{print $f}')")
		l+=("$("${w[@]}" "${pre[@]}" "$@" | awk -v f="$field" '{print $f}')")
	done
	awk -v n="$name" -v a="$(printf '%s\n' "${p[@]}" | median)" \
		-v b="$(printf '%s\n' "${l[@]}" | median)" -v u="$unit" \
		'BEGIN { printf "%-40s %9.1f%s %9.1f%s   %.3fx  (+%.1f%s)\n", n, a, u, b, u, b / a, b - a, u }'
}
wall_ms() {
	local t0 t1
	t0=$(date +%s%N)
	"$@" >/dev/null 2>&1
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000000))
}

echo "node workload (median of $REPS, N=$N)           plain   preloaded   ratio"
C=("$NODE" "$S" client)
row "(n) Node https request, hooks on: wall" "AGENTPROF_INLINE_HOOKS=1" us 1 "${C[@]}" "https://localhost:$TLS" "$N"
row "(n) Node https request, hooks on: CPU" "AGENTPROF_INLINE_HOOKS=1" us 2 "${C[@]}" "https://localhost:$TLS" "$N"
row "(n) Node https request, hooks off: wall" "AGENTPROF_INLINE_HOOKS=0" us 1 "${C[@]}" "https://localhost:$TLS" "$N"
row "(n) Node https request, hooks off: CPU" "AGENTPROF_INLINE_HOOKS=0" us 2 "${C[@]}" "https://localhost:$TLS" "$N"
row "(n) Node http request: wall" "" us 1 "${C[@]}" "http://127.0.0.1:$PLAIN" "$N"
row "(n) Node http request: CPU" "" us 2 "${C[@]}" "http://127.0.0.1:$PLAIN" "$N"
row "(n) Node startup (node -e 0)" "AGENTPROF_INLINE_HOOKS=1" ms 1 wall_ms "$NODE" -e 0
row "(n) Node startup, hooks off" "AGENTPROF_INLINE_HOOKS=0" ms 1 wall_ms "$NODE" -e 0
exit 0
