#!/bin/bash
# t92_runs_retries.sh: retries are not repeats (429, 429, 200 gives one rate_limited finding and no
# repeated_request), savings never add up to more than the wall time;
# run directories are unique per run, the viewer with no PATH opens the newest and says so, and
# `agentprof run` ends with the commands to look further.
. "$(dirname "$0")/lib.sh"

GEN=$AP_TGT/gen_spans
if [ ! -x "$GEN" ] || [ ! -x "$AP_VIEW" ] || [ ! -x "$AP_LAUNCHER" ]; then
	fail "viewer, launcher and generator built" "run 'make all unittest' first"
	finish
fi
"$GEN" scenario "$W/retry" retry || fail "generate retry"
"$GEN" scenario "$W/findings" findings || fail "generate findings"

export W AP_VIEW
check_py "" <"$AP_ROOT/tests/integration/checkers/t92_runs_retries.py"

# runs: unique directories, the newest opened by default, the next commands printed
mkdir -p "$W/runs"
(cd "$W/runs" && "$AP_LAUNCHER" run --no-summary -- true 2>"$W/run1.err" && "$AP_LAUNCHER" run --no-summary -- true 2>"$W/run2.err")
eq "two runs in one second: two directories" "$(find "$W/runs" -maxdepth 1 -name 'agentprof-*' -type d | wc -l)" 2
newest=$(sed -n 's#^agentprof: span files in \(.*\) (exit.*#\1#p' "$W/run2.err")
if grep -q "agentprof-view flame $newest" "$W/run2.err" && grep -q "agentprof-view html -o report.html $newest" "$W/run2.err"; then
	ok "agentprof run ends with the commands to look further"
else
	fail "agentprof run prints next commands" "$(tail -4 "$W/run2.err")"
fi
(cd "$W/runs" && "$AP_VIEW" summary >"$W/view.out" 2>"$W/view.err")
if grep -q "reading the newest run, ./$(basename "$newest")" "$W/view.err" && grep -q "^Run: 1 process" "$W/view.out"; then
	ok "viewer with no PATH opens the newest run and says which"
else
	fail "viewer opens the newest run" "$(head -c 300 "$W/view.err") / $(head -c 200 "$W/view.out")"
fi
finish
