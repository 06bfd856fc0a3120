#!/bin/bash
# bench-bun.sh: what finding Bun's BoringSSL by signature costs at start. Claude Code's executable
# (npm @anthropic-ai/claude-code, a Bun binary) runs `--version` plain, under the preload with the
# inline hooks off, with them on in a fresh output directory (the full search), and with them on
# where an earlier process of the run left its result (verified again, not searched). CPU time
# (user + system, wait4's rusage), medians of REPS runs; ratios from one run.
# Usage: scripts/bench-bun.sh [LIB]   (REPS from the environment; skipped without the package)
set -u
cd "$(dirname "$0")/.."
LIB=${1:-$PWD/build/libagentprof.so}
REPS=${REPS:-5}
[ -f "$LIB" ] || { echo "bench-bun.sh: $LIB not built" >&2; exit 1; }
NM=$(scripts/npm-deps.sh --claude 2>/dev/null) || { echo "bench-bun.sh: Claude Code not installable: skipped"; exit 0; }
CLAUDE=$NM/@anthropic-ai/claude-code/bin/claude.exe
"$CLAUDE" --version >/dev/null 2>&1 || { echo "bench-bun.sh: $CLAUDE does not run here: skipped"; exit 0; }
B=build/bench
mkdir -p "$B"
cc -O2 -o "$B/bench_io" scripts/bench_io.c || exit 1
OUT=$(mktemp -d /tmp/agentprof-bench-bun.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
chmod 700 "$OUT"
export HOME=$OUT/home
mkdir -p "$HOME"

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# cpu_ms MODE: one run's CPU in ms; MODE plain | off | search | cached
cpu_ms() {
	local d=$OUT/spans.$1.$RANDOM
	mkdir -m 700 -p "$d"
	[ "$1" = cached ] && cp "$OUT/seed/".agentprof-tls.* "$d/" 2>/dev/null
	case $1 in
	plain) "$B/bench_io" rusage "$CLAUDE" --version ;;
	off) "$B/bench_io" rusage env LD_PRELOAD="$LIB" AGENTPROF_OUT="$d" AGENTPROF_INLINE_HOOKS=0 "$CLAUDE" --version ;;
	*) "$B/bench_io" rusage env LD_PRELOAD="$LIB" AGENTPROF_OUT="$d" "$CLAUDE" --version ;;
	esac | awk '{printf "%.1f\n", $2 * 1000}'
	rm -rf "$d"
}
mkdir -m 700 -p "$OUT/seed"
env LD_PRELOAD="$LIB" AGENTPROF_OUT="$OUT/seed" "$CLAUDE" --version >/dev/null 2>&1
ls -A "$OUT/seed" | grep -q '^\.agentprof-tls\.' || echo "bench-bun.sh: no signature result was kept (search refused?)"

echo "bun startup: claude --version, CPU (median of $REPS)      ms    vs plain"
plain=""
for m in plain off search cached; do
	v=$(for ((i = 0; i < REPS; i++)); do cpu_ms $m; done | median)
	[ -z "$plain" ] && plain=$v
	case $m in
	plain) name="plain" ;;
	off) name="preload, AGENTPROF_INLINE_HOOKS=0" ;;
	search) name="preload, hooks on, first process (search)" ;;
	cached) name="preload, hooks on, later process (verify)" ;;
	esac
	awk -v n="$name" -v a="$plain" -v b="$v" 'BEGIN { printf "  %-46s %7.1f   %.2fx (+%.1f ms)\n", n, b, b / a, b - a }'
done
