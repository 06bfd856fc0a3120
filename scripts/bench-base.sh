#!/bin/bash
# bench-base.sh [REF]: builds the preload and viewer of REF (default 2bb9165, the commit issue 15
# measured: the benchmarks' "original" column) from this clone's history, once, into
# build/bench-base/REF/, and prints that directory (nothing, exit 1, when it cannot).
set -u
cd "$(dirname "$0")/.." || exit 2
REF=${1:-2bb9165}
D=$PWD/build/bench-base/$REF
if [ -f "$D/.built" ]; then
	echo "$D"
	exit 0
fi
git cat-file -e "$REF^{commit}" 2>/dev/null || exit 1
rm -rf "$D"
mkdir -p "$D"
if git archive "$REF" | tar -x -C "$D" &&
	make -C "$D" -j2 SAN=0 build/libagentprof.so build/agentprof-view >"$D.log" 2>&1; then
	touch "$D/.built"
	echo "$D"
	exit 0
fi
echo "bench-base: cannot build $REF (see $D.log)" >&2
exit 1
