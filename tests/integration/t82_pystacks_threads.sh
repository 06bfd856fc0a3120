#!/bin/bash
# t82_pystacks_threads.sh: Python call stacks from 16 threads at once (each exchange under its own
# thread's function, none under the other's), from daemon threads that are mid-call while the
# interpreter finalizes (normal exit and os._exit, repeated: no crash, output and exit status
# unchanged, span files readable), at tool spawns (os.system, os.posix_spawn: the spawning
# function above the process) and at manual spans begun from Python through ctypes.
# Fixture: tests/targets/py_threads.py.
. "$(dirname "$0")/lib.sh"

require_preload "pystacks" || finish
mock_up || { fail "mock provider" "did not start"; finish; }
FX=$AP_TGT_SRC/py_threads.py

# --- 16 threads ------------------------------------------------------------------------------
d=$W/threads
run_both "$W/threads" "$d" "$PY" "$FX" threads "$PLAIN"
eq "threads: the fixture ran" "$(cat "$W/threads.prof.out")" "threads 48"
"$AP_VIEW" flamegraph --weight calls "$d" >"$d.folded" 2>"$d.err" || fail "threads: flamegraph" "$(head -c 200 "$d.err")"
AP_T=$T "$PY" - "$d.folded" <<'PY'
import os, re, sys
T = os.environ["AP_T"]
fails = 0
def res(name, good, why=""):
    global fails
    print(f"ok - {T}: threads: {name}" if good else f"FAIL - {T}: threads: {name}: {why}")
    fails += 0 if good else 1
calls = {"even": 0, "odd": 0}
for raw in open(sys.argv[1]):
    m = re.match(r"^(.*) (\d+)$", raw.strip())
    if not m:
        continue
    fr = m.group(1).split(";")
    for side, other in (("even", "odd"), ("odd", "even")):
        if not fr[-1].endswith(" model-" + side):
            continue
        calls[side] += int(m.group(2))
        names = " ".join(fr)
        res(f"{side}: Thread.run > threaded_{side} > post in order",
            re.search(rf"threading\.py:Thread\.run:\d+;py_threads\.py:threaded_{side}:\d+;.*py_threads\.py:post:\d+;", names.replace(" ", ";")) is not None,
            ";".join(fr))
        res(f"{side}: no frame of threaded_{other}", f"threaded_{other}" not in names, ";".join(fr))
res("24 calls under threaded_even", calls["even"] == 24, str(calls))
res("24 calls under threaded_odd", calls["odd"] == 24, str(calls))
sys.exit(1 if fails else 0)
PY

# --- exit while daemon threads are mid-call ---------------------------------------------------
for mode in exit exit_hard; do
	bad=0
	for i in 1 2 3 4 5; do
		d=$W/$mode-$i
		run_prof "$d" "$d" "$PY" "$FX" "$mode" "$PLAIN"
		rc=$(cat "$d.rc")
		if [ "$rc" != 0 ] || [ "$(cat "$d.out")" != exiting ] || grep -qi 'segmentation\|core dumped\|fatal' "$d.err"; then
			bad=1
			fail "$mode #$i: exit 0, output 'exiting', no crash" "rc=$rc out=$(head -c 100 "$d.out") err=$(head -c 200 "$d.err")"
		fi
		if ! ap_export "$d" "$d.jsonl"; then
			bad=1
			fail "$mode #$i: span file readable" "$(head -c 200 "$d.jsonl.err")"
		fi
	done
	[ "$bad" = 0 ] && ok "$mode: 5 runs exit 0 with daemon threads mid-call, span files readable"
	"$AP_VIEW" flamegraph "$W/$mode-1" >"$W/$mode.folded" 2>/dev/null
	check "$mode: the daemon threads' calls show loop_forever" grep -q "py_threads.py:loop_forever:" "$W/$mode.folded"
done

# --- spawns and spans --------------------------------------------------------------------------
d=$W/spawn
run_both "$W/spawn" "$d" "$PY" "$FX" spawn "$PLAIN"
"$AP_VIEW" flamegraph --weight calls "$d" >"$d.folded" 2>/dev/null
check "os.system: run_tool above '[process] sh -c'" grep -q "py_threads.py:run_tool:[0-9]*;\[process\] sh -c" "$d.folded"
check "os.posix_spawn: run_tool above '[process] true'" grep -q "py_threads.py:run_tool:[0-9]*;\[process\] true" "$d.folded"
d=$W/span
run_both "$W/span" "$d" "$PY" "$FX" span "$PLAIN"
"$AP_VIEW" flame --width 300 "$d" >"$d.flame" 2>/dev/null
check "span begun from Python: its call site is traced_step" grep -q "span traced-step (tool)  @ py_threads.py:traced_step:" "$d.flame"
check "exchange inside the span: called from post < traced_step" grep -q "@ py_threads.py:post:[0-9]* < traced_step:" "$d.flame"
d=$W/curl
run_both "$W/curl" "$d" "$PY" "$FX" curl "$PLAIN"
eq "curl: the transfer succeeded" "$(cat "$W/curl.prof.out")" "curl 0"
"$AP_VIEW" flamegraph "$d" >"$d.folded" 2>/dev/null
check "libcurl from Python: curl_tool above the exchange" \
	grep -q "py_threads.py:main:[0-9]*;py_threads.py:curl_tool:[0-9]*;\[llm\]" "$d.folded"
finish
