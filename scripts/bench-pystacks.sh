#!/bin/bash
# bench-pystacks.sh: cost of one Python stack capture (preload/runtime/rt_pystack.c) at Python
# depth 10 and 40, in ns and in user-space instructions, with Debian's python3 (PY=... for
# another CPython). Builds scripts/bench_pystacks.c with rt_pystack.c into build/bench/ and
# drives it from Python through ctypes at the wanted depth (a stack seen before: the hot path).
# Instructions come from the hardware counter (perf_event_open); where there is none (many VMs)
# and valgrind is installed, from callgrind over a shorter run (2000 captures). REPS tunes the
# timed run; CALLGRIND=0 skips callgrind.
# Prints: "pystacks depth D: N ns, I instructions per capture (Python 3.X)".
set -eu
cd "$(dirname "$0")/.."
B=build/bench
PY=${PY:-/usr/bin/python3}
REPS=${REPS:-200000}
mkdir -p "$B"
CF="-std=gnu11 -O2 -g -D_GNU_SOURCE -Iinclude -Ipreload/core -Ipreload/runtime"
cc $CF -fPIC -shared -fvisibility=hidden -ftls-model=initial-exec \
	-o "$B/libbenchpystacks.so" scripts/bench_pystacks.c preload/runtime/rt_pystack.c \
	preload/core/pyline.c preload/core/codec.c preload/core/names.c -ldl -lpthread

cat >"$B/bench_pystacks.py" <<'PY'
import ctypes, sys
lib = ctypes.CDLL(sys.argv[1])
reps, depths = int(sys.argv[2]), [int(a) for a in sys.argv[3:]]
lib.bench_py_capture.restype = ctypes.c_uint64
lib.bench_py_run.restype = ctypes.c_uint64
lib.bench_py_run.argtypes = [ctypes.c_long, ctypes.POINTER(ctypes.c_double), ctypes.POINTER(ctypes.c_double)]
minor = lib.bench_py_init()
if not minor:
    sys.exit("bench-pystacks: this CPython's stacks are not read (see README: supported versions)")

def depth():
    f, n = sys._getframe(1), 0
    while f:
        n, f = n + 1, f.f_back
    return n

def at_depth(want):
    if depth() < want:
        return at_depth(want)
    ns, ins = ctypes.c_double(), ctypes.c_double()
    if not lib.bench_py_capture():
        sys.exit("bench-pystacks: no Python stack captured")
    lib.bench_py_run(reps, ctypes.byref(ns), ctypes.byref(ins))
    return ns.value, ins.value

for d in depths:
    ns, ins = at_depth(d)
    print("pystacks depth %d: %.0f ns, %s instructions per capture (Python 3.%d)" %
          (d, ns, "%.0f" % ins if ins >= 0 else "?", minor))
PY

out=$("$PY" "$B/bench_pystacks.py" "$PWD/$B/libbenchpystacks.so" "$REPS" 10 40)
if ! grep -q '?' <<<"$out" || [ "${CALLGRIND:-1}" = 0 ] || ! command -v valgrind >/dev/null 2>&1; then
	sed 's/, ? instructions per capture/ per capture (no hardware instruction counter)/' <<<"$out"
	exit 0
fi
# no hardware counter: instructions from callgrind (inclusive cost of ap_pystack_capture over
# a shorter run at one depth, divided by its calls)
creps=2000
while read -r line; do
	d=$(sed -n 's/^pystacks depth \([0-9]*\):.*/\1/p' <<<"$line")
	cg=$B/callgrind.pystacks.$d
	rm -f "$cg"
	valgrind --tool=callgrind --callgrind-out-file="$cg" "$PY" "$B/bench_pystacks.py" \
		"$PWD/$B/libbenchpystacks.so" "$creps" "$d" >/dev/null 2>&1 || true
	tot=$(callgrind_annotate --inclusive=yes "$cg" 2>/dev/null |
		sed -n 's/^ *\([0-9,]*\) .*rt_pystack.c:ap_pystack_capture \[.*/\1/p' | head -1 | tr -d ,)
	if [ -n "$tot" ]; then
		sed "s/, ? instructions/, $((tot / (creps + 1))) instructions (callgrind)/" <<<"$line"
	else
		sed 's/, ? instructions per capture/ per capture (instructions unknown)/' <<<"$line"
	fi
done <<<"$out"
