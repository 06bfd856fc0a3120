#!/bin/bash
# t41_export_folded.sh: export --format folded (and --weight time|calls|tokens|cost) read back
# with the parsing rules of flamegraph.pl, inferno and speedscope: integer counts, no ';' in
# frames, no frame ending in ' <digits>' (read as a differential count); flamegraph.pl itself
# when installed.
. "$(dirname "$0")/lib.sh"

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

export_runs
for run in $RUNS; do
	for w in time calls tokens cost; do
		export_fmt folded "$run" --weight "$w" || continue
		mv "$W/$run.folded" "$W/$run.$w.folded"
		pycheck "$run --weight $w" "$W/$run.$w.folded" <<'PY'
raw = open(sys.argv[1], "rb").read()
res("LF line endings, last line terminated", b"\r" not in raw and (not raw or raw.endswith(b"\n")))
lines = raw.decode("utf-8").splitlines()
res("not empty", len(lines) > 0 or "tokens" in L or "cost" in L, "no lines")
# flamegraph.pl: ^(.*)\s+?(\d+(?:\.\d*)?)$ ; the stack part must not match it again (differential)
FG = re.compile(r"^(.*)\s+?(\d+(?:\.\d*)?)$")
# speedscope (bg-flamegraph.ts): ^(.*) (\d+)$ ; inferno: integer counts
SS = re.compile(r"^(.*) (\d+)$")
bad_fg, bad_diff, bad_ss, bad_frames, seen = [], [], [], [], set()
for l in lines:
    m = FG.match(l)
    if not m:
        bad_fg.append(l); continue
    if FG.match(m.group(1)):
        bad_diff.append(l)
    s = SS.match(l)
    if not s or s.group(1) != m.group(1):
        bad_ss.append(l); continue
    if int(s.group(2)) <= 0:
        bad_ss.append(l)
    frames = s.group(1).split(";")
    if any(f == "" or f != f.strip() for f in frames):
        bad_frames.append(l)
    seen.add(s.group(1))
res("every line parses as flamegraph.pl input", not bad_fg, repr(bad_fg[:3]))
res("no line is read as a differential (frame ending in ' <digits>')", not bad_diff, repr(bad_diff[:3]))
res("speedscope/inferno: one space, positive integer count", not bad_ss, repr(bad_ss[:3]))
res("no empty or space-padded frame", not bad_frames, repr(bad_frames[:3]))
res("each stack once (merged)", len(seen) == len(lines))
leaves = {l.rsplit(" ", 1)[0].split(";")[-1] for l in lines}
res("endpoint leaves", all(x.startswith("[") for x in leaves), repr(sorted(leaves)[:5]))
if L.startswith("synth --weight time"):
    want = {"agent_step;path_plan;[llm] openai gpt-4o", "agent_step;path_review;[llm] anthropic claude-sonnet-4-5",
            "agent_step;path_search;[llm] gemini gemini-2.0-flash", "agent_step;path_search;[tool] api.github.com"}
    res("synthetic stacks symbolized from the generator binary", want <= seen, repr(sorted(seen)))
if L.startswith("odd --weight time"):
    res("';' in a model name is not a frame separator", any("a:b c_7" in l for l in lines), repr(lines[:4]))
    res("model 'my model 42' kept readable as 'my model_42'", any(l.rsplit(" ", 1)[0].endswith("my model_42") for l in lines), repr(lines[:4]))
PY
	done
done
# the real tool, when installed (Debian bookworm has no flamegraph package)
FG=$(command -v flamegraph.pl || command -v flamegraph || command -v inferno-flamegraph || true)
if [ -n "$FG" ]; then
	"$FG" --countname us "$W/synth.time.folded" >"$W/synth.svg" 2>"$W/fg.err"
	if [ -s "$W/synth.svg" ] && ! grep -qi 'ignored' "$W/fg.err"; then
		ok "$(basename "$FG") renders the folded stacks"
	else
		fail "$(basename "$FG")" "$(head -c 200 "$W/fg.err")"
	fi
else
	skip "flamegraph.pl" "not installed; its parsing rules were checked above"
fi
finish
