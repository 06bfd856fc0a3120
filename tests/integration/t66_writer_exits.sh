#!/bin/bash
# t66_writer_exits: exit paths no wrapper sees. quick_exit() runs at_quick_exit handlers: the
# host's run first (their exchanges are recorded), ours last does the final flush and writes the
# process end. A raw syscall(SYS_exit_group) runs nothing: every finished exchange is still on
# disk (the live segment), the process has no end record, and the summary says its end is
# inferred and the profiler overhead unknown.
. "$(dirname "$0")/lib.sh"

require_preload writer-exits || finish
build_targets || finish
mock_up || { fail "mock" "cannot start the mock provider"; finish; }

run_prof "$W/q" "$W/q" -- "$AP_TGT/wrstress" quick "$MOCK_PORT" 4
eq "quick_exit: exit status 5 unchanged" "$(cat "$W/q.rc")" 5
dump_spans "$W/q" "$W/q.dump"
eq "quick_exit: 4 exchanges + 1 from the host's at_quick_exit handler" \
	"$(grep -c '"path":"/health"' "$W/q.dump")" 5
eq "quick_exit: a process end record" "$(grep -c '"rec":"process_end"' "$W/q.dump")" 1
eq "quick_exit: the file is sound" "$(grep -c '"damaged":0' "$W/q.dump")" 1

run_prof "$W/g" "$W/g" -- "$AP_TGT/wrstress" exitgroup "$MOCK_PORT" 4
eq "exit_group: exit status 6 unchanged" "$(cat "$W/g.rc")" 6
dump_spans "$W/g" "$W/g.dump"
eq "exit_group: all 4 exchanges on disk" "$(grep -c '"path":"/health"' "$W/g.dump")" 4
eq "exit_group: no process end record" "$(grep -c '"rec":"process_end"' "$W/g.dump")" 0
"$AP_VIEW" summary "$W/g" >"$W/g.sum" 2>"$W/g.serr"
grep -q 'end inferred' "$W/g.sum" && ok "exit_group: summary marks the end inferred" ||
	fail "exit_group: end inferred" "$(grep -i 'end' "$W/g.sum" | head -3 | tr '\n' '|')"
grep -q '^Profiler overhead: unknown' "$W/g.sum" && ok "exit_group: summary says overhead unknown" ||
	fail "exit_group: overhead unknown" "$(grep -i overhead "$W/g.sum" | tr '\n' '|')"
"$AP_VIEW" summary --json "$W/g" >"$W/g.json" 2>/dev/null
grep -q '"end_inferred": *true' "$W/g.json" && ok "exit_group: JSON end_inferred" ||
	fail "exit_group: JSON end_inferred" "$(head -c 200 "$W/g.json")"
finish
