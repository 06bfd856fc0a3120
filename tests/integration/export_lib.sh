#!/bin/bash
# export_lib.sh: helpers shared by the export tests (t41-t47), sourced after lib.sh: the runs the
# exports are checked on, export_fmt, the python checker harness, and need.

# Runs the exports are checked on: a synthetic run (tests/fixtures/gen_spans.c: 3 threads,
# overlapping requests, spans, a child process, counters, stacks into its own binary), the
# same with names that need sanitising, and a real profiled C agent (stack_paths via libcurl).
export_runs() {
	if ! make -s -C "$AP_FIXSRC" OUT="$AP_FIX" "$AP_FIX/stack_paths" "$AP_FIX/gen_spans" \
		>"$W/make.log" 2>&1; then
		fail "build fixtures" "$(tail -3 "$W/make.log" | tr '\n' '|')"
		finish
	fi
	mkdir -p "$W/synth" "$W/odd" "$W/real"
	"$AP_FIX/gen_spans" "$W/synth" 300 || fail "gen_spans" "exit $?"
	"$AP_FIX/gen_spans" "$W/odd" 40 odd || fail "gen_spans odd" "exit $?"
	RUNS="synth odd"
	if have_preload && mock_up; then
		LD_PRELOAD="$AP_LIB" AGENTPROF_OUT="$W/real" timeout -k 5 "$AP_TMO" \
			"$AP_FIX/stack_paths" "$PLAIN" 2 >"$W/real.out" 2>&1 ||
			fail "profiled agent" "$(head -c 200 "$W/real.out")"
		RUNS="$RUNS real"
	else
		fail "profiled agent" "preload or mock provider unavailable"
	fi
}

# export_fmt FMT RUN [ARGS...]: agentprof-view export --format FMT into $W/RUN.FMT
export_fmt() {
	local fmt=$1 run=$2
	shift 2
	if timeout -k 5 "$AP_TMO" "$AP_VIEW" export --format "$fmt" "$@" "$W/$run" \
		>"$W/$run.$fmt" 2>"$W/$run.$fmt.err"; then
		ok "$run: export --format $fmt"
		return 0
	fi
	fail "$run: export --format $fmt" "exit $?: $(head -c 300 "$W/$run.$fmt.err")"
	return 1
}

# pycheck LABEL FILE <<'PY' ... PY: run a checker; it calls res(name, good, why) per assertion
pycheck() {
	local label=$1 file=$2 code out
	code=$(cat)
	out=$(AP_T=$T LABEL=$label "$PY" -c "import os, sys, json, re
T, L = os.environ['AP_T'], os.environ['LABEL']
_fails = 0
def res(name, good, why=''):
    global _fails
    print(f'ok - {T}: {L}: {name}' if good else f'FAIL - {T}: {L}: {name}: {why}')
    _fails += 0 if good else 1
$code
sys.exit(1 if _fails else 0)" "$file" 2>&1)
	local rc=$?
	[ -n "$out" ] && printf '%s\n' "$out"
	_AP_PASS=$((_AP_PASS + $(printf '%s\n' "$out" | grep -c '^ok - ')))
	_AP_FAIL=$((_AP_FAIL + $(printf '%s\n' "$out" | grep -c '^FAIL - ')))
	if [ "$rc" -ne 0 ] && ! printf '%s\n' "$out" | grep -q '^FAIL - '; then
		fail "$label: checker" "exit $rc: $(printf '%s' "$out" | tail -3 | tr '\n' '|')"
	fi
}

# need CMD: CMD is installed, or installed now with scripts/install-deps.sh --extra (as root)
need() {
	command -v "$1" >/dev/null 2>&1 && return 0
	[ "$(id -u)" = 0 ] && "$AP_ROOT/scripts/install-deps.sh" --extra >>"$W/deps.log" 2>&1
	command -v "$1" >/dev/null 2>&1
}
