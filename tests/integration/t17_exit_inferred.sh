#!/bin/bash
# t17_exit_inferred: the exits no atexit handler sees. quick_exit() goes through our wrapper:
# the process end carries its status, the host's at_quick_exit handler still runs (and its
# exchange is recorded), and a request still waiting for its response is kept. A raw
# syscall(SYS_exit_group) leaves no end record: the finished exchanges are on disk, and the
# viewer infers the end from the parent's wait (waitpid, wait, wait3, wait4 or waitid; with the
# wait's exit status) or, with no
# parent in the run, from the last record; either way the overhead is "unknown".
. "$(dirname "$0")/lib.sh"

require_preload exit-inferred || finish
build_targets || finish
mock_up || { fail "mock" "cannot start the mock provider"; finish; }

# quick_exit(5): the status reaches the process end (our wrapper, not only our handler)
run_prof "$W/q" "$W/q" -- "$AP_TGT/wrstress" quick "$MOCK_PORT" 3
eq "quick_exit: exit status 5 unchanged" "$(cat "$W/q.rc")" 5
dump_spans "$W/q" "$W/q.dump"
eq "quick_exit: process end with exit code 5" \
	"$(grep -c '"rec":"process_end","exit_code":5,' "$W/q.dump")" 1
eq "quick_exit: 3 exchanges + 1 from the host's at_quick_exit handler (it still runs)" \
	"$(grep -c '"path":"/health"' "$W/q.dump")" 4
"$AP_VIEW" summary "$W/q" >"$W/q.sum" 2>&1
if grep -q '^Profiler overhead: [0-9].* in [1-9][0-9]* intercepted calls' "$W/q.sum"; then
	ok "quick_exit: overhead measured (the process has its end record)"
else
	fail "quick_exit: overhead measured" "$(grep -i overhead "$W/q.sum" | tr '\n' '|')"
fi

# quick_exit with a request whose response was never read: the exchange is kept
run_prof "$W/qo" "$W/qo" -- "$AP_TGT/wrstress" quickopen "$MOCK_PORT" 2
eq "quick_exit, open request: exit status 5 unchanged" "$(cat "$W/qo.rc")" 5
ap_export "$W/qo" "$W/qo.jsonl" || fail "quick_exit, open request: export" "$(cat "$W/qo.jsonl.err" 2>/dev/null)"
eq "quick_exit, open request: the finished exchanges" \
	"$(grep '"kind":"exchange"' "$W/qo.jsonl" | grep -c '"path":"/health"')" 2
eq "quick_exit, open request: the open one is kept" \
	"$(grep '"kind":"exchange"' "$W/qo.jsonl" | grep -c '"path":"/tool/weather?city=open"')" 1
eq "quick_exit, open request: the process exit code" \
	"$(grep '"kind":"process"' "$W/qo.jsonl" | grep -c '"exit_code":5')" 1

# a child ends with a raw exit_group(6), its parent reaps it with waitpid
run_prof "$W/fg" "$W/fg" -- "$AP_TGT/wrstress" forkgroup "$MOCK_PORT" 3
eq "exit_group child: the parent's exit status 0 unchanged" "$(cat "$W/fg.rc")" 0
cpid=$(sed -n 's/^child \([0-9]*\) status 6$/\1/p' "$W/fg.out")
if [ -z "$cpid" ]; then
	fail "exit_group child: its status reached the parent" "$(cat "$W/fg.out")"
	finish
fi
dump_spans "$W/fg" "$W/fg.dump"
eq "exit_group child: two processes, one end record (the parent's)" \
	"$(grep -c '"rec":"process"' "$W/fg.dump") $(grep -c '"rec":"process_end"' "$W/fg.dump")" "2 1"
ap_export "$W/fg" "$W/fg.jsonl"
eq "exit_group child: its 3 finished exchanges on disk" \
	"$(grep '"kind":"exchange"' "$W/fg.jsonl" | grep "\"pid\":$cpid," | grep -c '"path":"/health"')" 3
"$AP_VIEW" summary "$W/fg" >"$W/fg.sum" 2>&1
grep -qE "^  $cpid .*\(end inferred" "$W/fg.sum" && ok "exit_group child: its row marked (end inferred)" ||
	fail "exit_group child: row marked" "$(grep -E "^  $cpid " "$W/fg.sum")"
grep -q "^  end inferred (parent's wait), exit status from the wait: $cpid\$" "$W/fg.sum" &&
	ok "exit_group child: summary says end inferred (parent's wait)" ||
	fail "exit_group child: end inferred (parent's wait)" "$(grep -i inferred "$W/fg.sum" | tr '\n' '|')"
grep -q '^Profiler overhead unknown for 1 processes without an end record' "$W/fg.sum" &&
	ok "exit_group child: overhead unknown for it" ||
	fail "exit_group child: overhead unknown" "$(grep -i overhead "$W/fg.sum" | tr '\n' '|')"
"$AP_VIEW" summary --json "$W/fg" >"$W/fg.json" 2>/dev/null
check_py "" <<PY
import json
d = json.load(open("$W/fg.json"))
procs = d.get("processes") or []
c = [p for p in procs if p.get("pid") == $cpid]
eq("json: the child", len(c), 1)
if c:
    eq("json: child end inferred from the parent's wait, exit code 6",
       (c[0].get("end_inferred"), c[0].get("end_by"), c[0].get("exit_code")), (True, "parent's wait", 6))
    check("json: child end time known", c[0].get("end_ns") is not None, repr(c[0].get("end_ns")))
par = [p for p in procs if p.get("pid") != $cpid]
eq("json: the parent's end is recorded", [(p.get("end_by"), p.get("exit_code")) for p in par], [("recorded", 0)])
PY

# the same child reaped with each of the other wait functions: the end still comes from the wait
for how in wait wait3 wait4 waitid; do
	run_prof "$W/fg$how" "$W/fg$how" -- env REAPER=$how "$AP_TGT/wrstress" forkgroup "$MOCK_PORT" 1
	cpid=$(sed -n 's/^child \([0-9]*\) status 6$/\1/p' "$W/fg$how.out")
	eq "exit_group child reaped with $how: the parent saw status 6, exit status 0" \
		"$([ -n "$cpid" ] && echo child) $(cat "$W/fg$how.rc")" "child 0"
	"$AP_VIEW" summary "$W/fg$how" >"$W/fg$how.sum" 2>&1
	grep -q "^  end inferred (parent's wait), exit status from the wait: ${cpid:-none}\$" "$W/fg$how.sum" &&
		ok "exit_group child reaped with $how: end inferred (parent's wait)" ||
		fail "exit_group child reaped with $how: end inferred (parent's wait)" \
			"$(grep -i inferred "$W/fg$how.sum" | tr '\n' '|')"
done

# a lone exit_group(6): no parent in the run, the end comes from the last record
run_prof "$W/g" "$W/g" -- "$AP_TGT/wrstress" exitgroup "$MOCK_PORT" 2
eq "lone exit_group: exit status 6 unchanged" "$(cat "$W/g.rc")" 6
"$AP_VIEW" summary "$W/g" >"$W/g.sum" 2>&1
grep -q '^  end inferred (last record): [0-9]*$' "$W/g.sum" && ok "lone exit_group: end inferred (last record)" ||
	fail "lone exit_group: end inferred (last record)" "$(grep -A2 '^  pid' "$W/g.sum" | tr '\n' '|')"
grep -q '^Profiler overhead: unknown (a process has no end record)' "$W/g.sum" &&
	ok "lone exit_group: overhead unknown" ||
	fail "lone exit_group: overhead unknown" "$(grep -i overhead "$W/g.sum" | tr '\n' '|')"
finish
