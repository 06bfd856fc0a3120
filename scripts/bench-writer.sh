#!/bin/bash
# bench-writer.sh: the writer's figures as ratios from one run (with / without the preload):
# 3,000 TLS LLM calls from a C client, small LLM exchanges from 1-16 threads (throughput),
# 1,000 short children from a shell, and the cost of one profiled `true`. CPU time is the
# children's getrusage (user+sys), wall beside it. BASE_LIB=path adds a column for another
# build of the preload (e.g. the previous writer). Usage: scripts/bench-writer.sh [SCALE]
set -u
cd "$(dirname "$0")/.." || exit 2
ROOT=$PWD
LIB=${AP_LIB:-$ROOT/build/libagentprof.so}
BASE_LIB=${BASE_LIB:-}
S=${1:-1}
OUT=$(mktemp -d "${TMPDIR:-/tmp}/apbench-writer.XXXXXX")
trap 'kill $SRV $SRVT 2>/dev/null; rm -rf "$OUT"' EXIT
cc -O2 -D_GNU_SOURCE -o "$OUT/bw" scripts/bench_writer.c -lssl -lcrypto -lpthread || exit 1
sh scripts/gen-cert.sh "$OUT/cert" >/dev/null 2>&1 || exit 1
"$OUT/bw" serve >"$OUT/port" &
SRV=$!
"$OUT/bw" serve "$OUT/cert/server.pem" "$OUT/cert/server.key" >"$OUT/tport" &
SRVT=$!
sleep 0.5
P=$(cat "$OUT/port")
PT=$(cat "$OUT/tport")
printf 'i=0; while [ $i -lt %d ]; do /bin/true; i=$((i+1)); done\n' $((1000 * S)) >"$OUT/kids.sh"

# measure LABEL CMD...: run CMD plain, under BASE_LIB (if set) and under LIB, in turn, 3 times;
# print the median CPU and wall ratios.
measure() {
	local label=$1
	shift
	python3 - "$label" "$LIB" "$BASE_LIB" "$OUT" "$@" <<'PY'
import os, resource, subprocess, sys, time, statistics, shutil
label, lib, base, out = sys.argv[1:5]
cmd = sys.argv[5:]
def run(preload):
    d = os.path.join(out, "spans")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d, mode=0o700)
    env = dict(os.environ, AGENTPROF_OUT=d)
    env.pop("LD_PRELOAD", None)
    if preload:
        env["LD_PRELOAD"] = preload
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    p = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t1 = time.monotonic()
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return cpu, t1 - t0, p.returncode
variants = [("plain", None)] + ([("base", base)] if base else []) + [("new", lib)]
res = {v: [] for v, _ in variants}
for _ in range(3):
    for v, pl in variants:
        res[v].append(run(pl))
med = {v: (statistics.median(x[0] for x in r), statistics.median(x[1] for x in r)) for v, r in res.items()}
pc, pw = med["plain"]
cols = []
for v, _ in variants[1:]:
    c, w = med[v]
    cols.append("%s cpu %.2fx wall %.2fx" % (v, c / pc if pc else float("nan"), w / pw if pw else float("nan")))
bad = [v for v, r in res.items() if any(x[2] for x in r)]
print("%-44s plain cpu %6.3fs wall %6.3fs | %s%s" % (label, pc, pw, " | ".join(cols),
      ("  (nonzero exit: %s)" % ",".join(bad)) if bad else ""))
PY
}

echo "writer benchmark (median of 3; ratios = with preload / without)"
measure "3000 TLS LLM calls, C client, 1 connection" "$OUT/bw" client "$PT" 1 1 $((3000 * S))
for t in 1 2 4 8 16; do
	measure "$t threads x $((4000 * S / t)) small LLM calls (plain HTTP)" "$OUT/bw" client "$P" 0 "$t" $((4000 * S / t))
done
measure "$((1000 * S)) short children from a shell" /bin/sh "$OUT/kids.sh"
measure "one profiled true (x200 from a shell)" /bin/sh -c 'i=0; while [ $i -lt 200 ]; do /bin/true; i=$((i+1)); done'
echo "(thread rows: throughput ratio = 1 / wall ratio)"
