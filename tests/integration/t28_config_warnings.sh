#!/bin/bash
# t28_config_warnings: every AGENTPROF_* setting is read once, at start, into one configuration. A
# malformed value of any of them gives exactly one agentprof: warning naming the variable (not
# none, not one per subsystem or per stack capture) and keeps its default: the host
# (tests/targets/private_libs.c: inline-hooked SSL functions, a gzipped reply) runs with the
# same output and exit status as without the preload, its call is recorded as with no setting at
# all (seen through the inline hooks, decoded, with a stack), and libunwind is the unwinder.
. "$(dirname "$0")/lib.sh"

require_preload config-warnings || finish
BIN=$AP_TGT/private_libs
[ -x "$BIN" ] || { fail "fixture private_libs" "not built (tests/targets/Makefile)"; finish; }
mock_up || { fail "mock" "cannot start the mock provider"; finish; }

run_bare "$W/b" "$BIN" "$MOCK_PORT"
grep -v '^mapped:' "$W/b.out" >"$W/b.same"
run_prof "$W/d" "$W/d" "$BIN" "$MOCK_PORT"
eq "no setting: nothing on stderr" "$(head -c 300 "$W/d.err")" ""
want_mapped=$(grep '^mapped:' "$W/d.out")

n=0
for setting in AGENTPROF_DISABLE=maybe AGENTPROF_CHILDREN=2 AGENTPROF_STACKS=yes-please \
	AGENTPROF_PYSTACKS=on AGENTPROF_INLINE_HOOKS=maybe AGENTPROF_UNWIND=dwarf \
	AGENTPROF_SAMPLE=2 AGENTPROF_FLUSH_MS=0 AGENTPROF_PROMETHEUS=abc \
	AGENTPROF_RULES=/nonexistent/rules; do
	n=$((n + 1))
	var=${setting%%=*}
	rm -rf "$W/p$n"
	mkdir -p "$W/p$n"
	# only the fixture carries the preload (timeout and env do not)
	timeout -k 5 "$AP_TMO" env "$setting" LD_PRELOAD="$AP_LIB" AGENTPROF_OUT="$W/p$n" \
		"$BIN" "$MOCK_PORT" >"$W/r$n.out" 2>"$W/r$n.err"
	echo $? >"$W/r$n.rc"
	eq "$setting: exit status unchanged" "$(cat "$W/r$n.rc")" "$(cat "$W/b.rc")"
	grep -v '^mapped:' "$W/r$n.out" >"$W/r$n.same"
	same_file "$setting: host output unchanged" "$W/b.same" "$W/r$n.same"
	eq "$setting: exactly one line on stderr, an agentprof warning naming $var" \
		"$(wc -l <"$W/r$n.err") $(grep -c "^agentprof: .*$var" "$W/r$n.err")" "1 1"
	eq "$setting: the helper libraries of the default configuration loaded" \
		"$(grep '^mapped:' "$W/r$n.out")" "$want_mapped"
	ap_export "$W/p$n" "$W/p$n.jsonl" || fail "$setting: export" "$(head -c 300 "$W/p$n.jsonl.err")"
	stacks=$(span_files "$W/p$n" | xargs -r -n1 "$AP_TGT/apdump" | grep -c '"type":8,')
	SETTING=$setting STACKS=$stacks check_py "$W/p$n.jsonl" <<'PY'
import os
s, port = os.environ["SETTING"], int(os.environ["MOCK_PORT"])
mine = [x for x in X if x.get("port") == port]
eq(f"{s}: the call recorded as by default (inline hooks, decoded body, a stack)",
   [(x.get("tls"), x.get("output_tokens")) for x in mine] + [int(os.environ["STACKS"]) > 0],
   [(True, 12), True])
PY
done
finish
