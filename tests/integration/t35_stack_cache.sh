#!/bin/bash
# t35_stack_cache: the trace cache (rt_stack.c) never hands one call path's stack to another.
# tests/targets/stack_alias.c reaches send() from one call site at one stack depth through
# via_alpha or via_beta (same frame size; only a return address differs), in runs of one path
# (the second call of a run learns the stack, the third is served from the cache) and
# alternating. Each LLM call's stack must name its own path and never the other one's, with the
# calls counted per path; the same after a long run of one path; and under AGENTPROF_UNWIND=fp
# (no libunwind, no cache) every call is recorded.
. "$(dirname "$0")/lib.sh"

require_preload "stack cache" || finish
mock_up || { fail "mock provider" "did not start"; finish; }

# check_paths LABEL DIR WANT_ALPHA WANT_BETA
check_paths() {
	local got
	if ! "$AP_VIEW" flamegraph --weight calls "$2" >"$2.folded" 2>"$2.err"; then
		fail "$1: flamegraph" "$(head -c 300 "$2.err")"
		return
	fi
	got=$(awk '
		/model-alpha [0-9]+$/ { if ($0 ~ /;via_alpha;ask;/ && $0 !~ /via_beta/) a += $NF; else bad++ }
		/model-beta [0-9]+$/  { if ($0 ~ /;via_beta;ask;/ && $0 !~ /via_alpha/) b += $NF; else bad++ }
		END { print a + 0, b + 0, bad + 0 }' "$2.folded")
	eq "$1: calls per path, none under the other path" "$got" "$3 $4 0"
}

PAT=aaaabbbbaaababababbbbaaaa
run_prof "$W/one" "$W/one" "$AP_TGT/stack_alias" "$MOCK_PORT" "$PAT"
eq "stack_alias runs" "$(cat "$W/one.rc"):$(cat "$W/one.out")" "0:ok"
check_paths "runs and alternation" "$W/one" 14 11

# a path repeated long after the cache has seen the other: still its own stack
run_prof "$W/long" "$W/long" "$AP_TGT/stack_alias" "$MOCK_PORT" aaaaaaaaaaaabbbbbbbbbbbba
eq "long runs: stack_alias runs" "$(cat "$W/long.rc")" "0"
check_paths "long runs" "$W/long" 13 12

# frame pointers (no libunwind, no cache): the same answer
run_prof "$W/fp" "$W/fp" AGENTPROF_UNWIND=fp -- "$AP_TGT/stack_alias" "$MOCK_PORT" "$PAT"
eq "frame pointers: stack_alias runs" "$(cat "$W/fp.rc")" "0"
if [ -s "$W/fp/$(ls "$W/fp" | head -1)" ]; then
	"$AP_VIEW" flamegraph --weight calls "$W/fp" >"$W/fp.folded" 2>&1
	eq "frame pointers: every call recorded" \
		"$(awk '/model-(alpha|beta) [0-9]+$/ {n += $NF} END {print n + 0}' "$W/fp.folded")" 25
fi
finish
