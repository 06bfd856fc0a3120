#!/bin/bash
# fuzz.sh [--smoke]: build the libFuzzer targets (tests/fuzz) and run each for a bounded time.
#
#   FUZZ_SECONDS=60 (default; --smoke: 5)   seconds per target
#   FUZZ_TARGETS="reader http usage sni"    which targets
# Seeds: real span files (from build/test-out, or made on the spot with the exits fixture
# and the mock provider) and their truncations, HTTP/SSE exchanges, usage JSON, a ClientHello
# (tests/fuzz/make_seeds.py). Corpora grow in build/fuzz/corpus/TARGET; crashes are written to
# build/fuzz/artifacts/TARGET/ and make the script exit 1. Needs clang (installed as root if
# missing: Debian package clang).
set -u
cd "$(dirname "$0")/.."
SECS=${FUZZ_SECONDS:-60}
[ "${1:-}" = --smoke ] && SECS=${FUZZ_SECONDS:-5}
TARGETS=${FUZZ_TARGETS:-reader http usage sni}
F=build/fuzz

if ! command -v clang >/dev/null 2>&1; then
	if [ "$(id -u)" = 0 ]; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends clang >/dev/null ||
			{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends clang; }
	fi
	command -v clang >/dev/null 2>&1 || { echo "fuzz.sh: clang is needed (apt-get install clang)" >&2; exit 1; }
fi
make -C tests/fuzz --no-print-directory -j2 fuzzers >"$F.build.log" 2>&1 || {
	mkdir -p "$F"
	echo "fuzz.sh: build failed:" >&2
	tail -20 "$F.build.log" >&2
	exit 1
}
mv -f "$F.build.log" "$F/build.log" 2>/dev/null

# real span files to seed the reader
spans=$(find build/test-out -name 'agentprof.*.zst' -size -64k 2>/dev/null | head -6)
if [ -z "$spans" ] && [ -x build/targets/exits ] && [ -f build/libagentprof.so ]; then
	mkdir -p "$F/seedrun"
	/usr/bin/python3 scripts/mock_provider.py --port 0 --ready-file "$F/seedrun/port" >/dev/null 2>&1 &
	mp=$!
	for _ in $(seq 50); do [ -s "$F/seedrun/port" ] && break; sleep 0.1; done
	env LD_PRELOAD="$PWD/build/libagentprof.so" AGENTPROF_OUT="$F/seedrun" AGENTPROF_FLUSH_MS=1 \
		build/targets/exits exit "$(cat "$F/seedrun/port")" 10 >/dev/null 2>&1
	kill $mp 2>/dev/null
	spans=$(find "$F/seedrun" -name 'agentprof.*.zst')
fi
# shellcheck disable=SC2086
/usr/bin/python3 tests/fuzz/make_seeds.py "$F/seeds" $spans || exit 1

rc=0
for t in $TARGETS; do
	mkdir -p "$F/corpus/$t" "$F/artifacts/$t"
	start=$(date +%s)
	"$F/fuzz_$t" -max_total_time="$SECS" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
		-artifact_prefix="$F/artifacts/$t/" "$F/corpus/$t" "$F/seeds/$t" >"$F/$t.log" 2>&1
	r=$?
	runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$F/$t.log" | grep -o '[0-9]*$')
	cov=$(grep -o 'cov: [0-9]*' "$F/$t.log" | tail -1)
	if [ $r -eq 0 ]; then
		echo "fuzz $t: ok, ${runs:-?} runs in $(($(date +%s) - start)) s, $cov"
	else
		echo "fuzz $t: FAILED (exit $r), see $F/$t.log and $F/artifacts/$t/"
		grep -m3 -E 'ERROR|SUMMARY|runtime error' "$F/$t.log"
		rc=1
	fi
done
exit $rc
