#!/bin/bash
# t42_export_speedscope.sh: export --format speedscope checked against the speedscope file
# format (file-format-spec.ts): $schema, frames, evented profiles with balanced O/C events and
# non-decreasing times; overlapping requests in separate profiles; symbolized file:line.
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
	export_fmt speedscope "$run" || continue
	pycheck "$run" "$W/$run.speedscope" <<'PY'
# The rules of speedscope's file-format-spec.ts (schema generated with --required) and of its
# evented-profile importer (profile.ts: a close must match the frame on top of the stack).
d = json.load(open(sys.argv[1]))
res("$schema", d.get("$schema") == "https://www.speedscope.app/file-format-schema.json", d.get("$schema"))
res("shared.frames is a list", isinstance(d.get("shared", {}).get("frames"), list))
frames = d["shared"]["frames"]
bad = [f for f in frames if not isinstance(f.get("name"), str) or set(f) - {"name", "file", "line", "col"}
       or ("line" in f and not isinstance(f["line"], int)) or ("file" in f and not isinstance(f["file"], str))]
res("frames: {name, file?, line?, col?}", not bad, repr(bad[:3]))
res("profiles is a non-empty list", isinstance(d.get("profiles"), list) and d["profiles"])
res("activeProfileIndex in range", 0 <= d.get("activeProfileIndex", 0) < max(len(d["profiles"]), 1))
res("exporter and name are strings", isinstance(d.get("exporter"), str) and isinstance(d.get("name"), str))
units = {"none", "nanoseconds", "microseconds", "milliseconds", "seconds", "bytes"}
problems = []
for p in d["profiles"]:
    n = p.get("name")
    if p.get("type") != "evented" or not isinstance(n, str) or p.get("unit") not in units:
        problems.append(f"{n}: type/name/unit"); continue
    if not all(isinstance(p.get(k), (int, float)) for k in ("startValue", "endValue")) or p["endValue"] < p["startValue"]:
        problems.append(f"{n}: start/end"); continue
    stack, last = [], None
    for e in p["events"]:
        if set(e) != {"type", "at", "frame"} or e["type"] not in ("O", "C") or not isinstance(e["frame"], int) \
           or not 0 <= e["frame"] < len(frames) or not isinstance(e["at"], (int, float)):
            problems.append(f"{n}: bad event {e}"); break
        if last is not None and e["at"] < last:
            problems.append(f"{n}: 'at' decreases at {e}"); break
        if not p["startValue"] <= e["at"] <= p["endValue"]:
            problems.append(f"{n}: event outside [startValue, endValue]: {e}"); break
        last = e["at"]
        if e["type"] == "O":
            stack.append(e["frame"])
        elif not stack or stack[-1] != e["frame"]:
            problems.append(f"{n}: Tried to leave frame {e['frame']} while {stack[-1:]} was at the top"); break
        else:
            stack.pop()
    else:
        if stack:
            problems.append(f"{n}: {len(stack)} frames never closed")
res("evented profiles: balanced O/C, non-decreasing at, within range", not problems, "; ".join(problems[:3]))
names = [f["name"] for f in frames]
if L == "synth":
    res("overlapping requests get their own profile", any("(overlapping)" in p["name"] for p in d["profiles"]))
    res("program frames, endpoints, spans and phases are frames",
        {"path_plan", "[llm] openai gpt-4o", "plan", "wait for first byte"} <= set(names), repr(names[:12]))
    res("profiles per thread of both processes", {p["name"].split(" (")[0] for p in d["profiles"]} >=
        {"python3 pid 4242 tid 4242", "python3 pid 4242 tid 4243", "rg pid 4300 tid 4300"}, repr([p["name"] for p in d["profiles"]]))
if L == "real":
    ff = [f for f in frames if f["name"] == "plan_task"]
    res("symbolized frame with file and line", ff and ff[0].get("file", "").endswith("stack_paths.c") and ff[0].get("line", 0) > 0, repr(ff))
PY
done
finish
