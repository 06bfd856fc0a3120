#!/bin/bash
# bench-stacks.sh: cost per stack capture of the preload's stack code (preload/runtime/rt_stack.c), once
# with libunwind (unw_backtrace) and once with the frame-pointer fallback (AGENTPROF_UNWIND=fp).
# Builds scripts/bench_stacks.c into build/bench/; DEPTH (frames, default 30) and REPS tune it.
set -eu
cd "$(dirname "$0")/.."
B=build/bench
mkdir -p "$B"
CF="-std=gnu11 -O2 -g -D_GNU_SOURCE -Iinclude -Ipreload/core -Ipreload/runtime -fno-omit-frame-pointer"
cc $CF -fPIC -shared -fvisibility=hidden -ftls-model=initial-exec -DBENCH_LIB \
	-o "$B/libbenchstacks.so" scripts/bench_stacks.c preload/runtime/rt_stack.c preload/runtime/rt_resolve.c \
	preload/core/codec.c preload/core/names.c -ldl -lpthread
cc $CF -o "$B/bench_stacks" scripts/bench_stacks.c -L"$B" -lbenchstacks -Wl,-rpath,"$PWD/$B"
"$B/bench_stacks" "${DEPTH:-30}" "${REPS:-200000}"
AGENTPROF_UNWIND=fp "$B/bench_stacks" "${DEPTH:-30}" "${REPS:-200000}"
