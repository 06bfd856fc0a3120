#!/bin/bash
# t60_fuzz_smoke: a short run of every libFuzzer target (span-file reader, HTTP/SSE parser,
# JSON usage, SNI) seeded with real files and their truncations: scripts/fuzz.sh --smoke with
# 4 s per target (make fuzz runs them for 60 s each). Needs clang (installed as root).
. "$(dirname "$0")/lib.sh"

FUZZ_SECONDS=${FUZZ_SMOKE_SECONDS:-4} "$AP_ROOT/scripts/fuzz.sh" --smoke >"$W/fuzz.out" 2>&1
rc=$?
for t in reader http usage sni; do
	line=$(grep "^fuzz $t:" "$W/fuzz.out")
	case "$line" in
	*": ok"*) ok "libFuzzer $t: ${line#fuzz $t: ok, }" ;;
	*) fail "libFuzzer $t" "${line:-no result} $(tail -3 "$W/fuzz.out" | tr '\n' '|')" ;;
	esac
done
[ $rc -eq 0 ] || fail "scripts/fuzz.sh --smoke" "exit $rc"
finish
