#!/bin/bash
# t33_view_parallel.sh: the viewer's parallel load (files cut into frame pieces decoded on worker
# threads, docs/internals/layout.md "Loading on several threads") gives byte for byte the output,
# notes and exit status of the sequential load (AGENTPROF_VIEW_THREADS=1) on a multi-file run
# with a corrupt file, a truncated one and two files glued together; the corrupt file is named
# and the rest of it and of the run is recovered; threads are really used.
. "$(dirname "$0")/lib.sh"

HB=$AP_TGT
if ! make -s -C "$AP_TGT_SRC" OUT="$AP_TGT" "$AP_TGT/gen_spans" >"$W/make.log" 2>&1 ||
	! make -s -C "$AP_TGT_SRC" OUT="$HB" "$HB/gen_spans" >>"$W/make.log" 2>&1; then
	fail "build gen_spans" "$(tail -3 "$W/make.log" | tr '\n' '|')"
	finish
fi
R=$W/run
mkdir -p "$R"
# a parent with spans, stacks and a child (one frame each), a file of 5 frames (one piece each),
# one with a distinct path per tool call (many strings to re-intern), a corrupt copy (bytes
# flipped inside frame 3 of 5), a truncated copy, and two files glued into one (the second header is damage the
# sequential reader resynchronises past, then a second process record)
"$AP_TGT/gen_spans" stacks "$R" 2000 >/dev/null || fail "gen_spans fixture" "exit $?"
fixture=$(AGENTPROF_VIEW_THREADS=1 "$AP_VIEW" export --format jsonl "$R" 2>/dev/null | grep -c '"kind":"exchange"')
"$HB/gen_spans" flat "$R/agentprof.big.4242.zst" 40000 || fail "gen_spans 40000" "exit $?"
"$HB/gen_spans" flat "$R/agentprof.mid.4243.zst" 10000 distinct || fail "gen_spans distinct" "exit $?"
cp "$R/agentprof.big.4242.zst" "$R/agentprof.bad.4244.zst"
size=$(stat -c %s "$R/agentprof.bad.4244.zst")
printf '\377\377\377\377\377\377\377\377' | dd of="$R/agentprof.bad.4244.zst" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
head -c $((size * 3 / 4)) "$R/agentprof.big.4242.zst" >"$R/agentprof.trunc.4245.zst"
cat "$R/agentprof.mid.4243.zst" "$R/agentprof.big.4242.zst" >"$R/agentprof.glued.4246.zst"

# run THREADS NAME ARGS...: checksum and size of stdout, stderr and exit status of one command
# into $W/NAME.THREADS.{out,err}
run() {
	local t=$1 name=$2
	shift 2
	AGENTPROF_VIEW_THREADS=$t timeout -k 5 120 "$AP_VIEW" "$@" 2>"$W/$name.$t.err" | tee "$W/$name.$t.head" |
		cksum >"$W/$name.$t.out"
	echo "exit ${PIPESTATUS[0]}" >>"$W/$name.$t.err"
	[ "$name" = jsonl ] || : >"$W/$name.$t.head"
}

n=0
while read -r name args; do
	# shellcheck disable=SC2086
	for t in 1 2 3; do run "$t" "$name" $args "$R"; done
	for t in 2 3; do
		if cmp -s "$W/$name.1.out" "$W/$name.$t.out" && cmp -s "$W/$name.1.err" "$W/$name.$t.err"; then
			n=$((n + 1))
		else
			fail "$name with $t threads = 1 thread" "$(cat "$W/$name.1.out" "$W/$name.$t.out" | tr '\n' '|') $(diff "$W/$name.1.err" "$W/$name.$t.err" | head -4 | tr '\n' '|')"
		fi
	done
done <<'EOF'
summary summary
summary_json summary --json
jsonl export --format jsonl
chrome export --format chrome
speedscope export --format speedscope
bottlenecks bottlenecks --json --all
critpath critical-path --json
tokens tokens --json
waterfall waterfall --lanes
flame flame
EOF
eq "10 commands, 2 and 3 threads: stdout, stderr and exit status identical to 1 thread" "$n" 20
grep -q '^exit 0$' "$W/summary.2.err" && ok "a run with damaged files loads (exit 0)" ||
	fail "exit status" "$(tail -3 "$W/summary.2.err" | tr '\n' '|')"

# the corrupt and truncated files are named; what follows the corrupt stretch is recovered
grep -q 'agentprof.bad.4244.zst: corrupt frame.*resynchronised' "$W/summary.2.err" &&
	ok "corrupt file named, resynchronised" || fail "corrupt file named" "$(head -c 300 "$W/summary.2.err")"
grep -q 'agentprof.trunc.4245.zst: truncated after' "$W/summary.2.err" &&
	ok "truncated file named" || fail "truncated file named" "$(head -c 300 "$W/summary.2.err")"
for t in 1 2; do
	AGENTPROF_VIEW_THREADS=$t "$AP_VIEW" export --format jsonl "$R/agentprof.bad.4244.zst" 2>/dev/null |
		grep -c '"kind":"exchange"' >"$W/bad.$t.count"
done
eq "corrupt file alone: all frames but the damaged one (4 of 5 frames; 2 threads)" "$(cat "$W/bad.2.count")" 30000
eq "corrupt file alone: 1 thread agrees" "$(cat "$W/bad.1.count")" 30000
total=$(grep -c '"kind":"exchange"' "$W/jsonl.2.head")
want=$((fixture + 40000 + 10000 + 30000 + 10000 + 40000))
trunc=$(AGENTPROF_VIEW_THREADS=2 "$AP_VIEW" export --format jsonl "$R/agentprof.trunc.4245.zst" 2>/dev/null | grep -c '"kind":"exchange"')
ge "the truncated file keeps its complete frames" "$trunc" 20000
eq "every exchange of the run (the damaged frame and the truncated tail excepted)" "$total" $((want + trunc))

# the pieces path is the one taken: the big file in several pieces decoded on threads, the corrupt
# one in pieces up to the damaged frame and sequentially from there; worker threads exist
AGENTPROF_VIEW_THREADS=2 AGENTPROF_VIEW_LOAD_STATS=1 "$AP_VIEW" summary "$R" >/dev/null 2>"$W/stats.err"
grep -q 'agentprof.big.4242.zst: 5 frames in [0-9]* pieces on 2 threads, 5 decoded in pieces' "$W/stats.err" &&
	ok "5-frame file decoded in pieces" || fail "pieces" "$(grep big "$W/stats.err")"
grep -Eq 'agentprof.bad.4244.zst: 5 frames in [0-9]+ pieces on 2 threads, [1-4] decoded in pieces' "$W/stats.err" &&
	ok "corrupt file: pieces before the damage, sequential from it" || fail "corrupt file pieces" "$(grep bad "$W/stats.err")"
p=$(grep -o 'big.4242.zst: 5 frames in [0-9]* pieces' "$W/stats.err" | grep -o 'in [0-9]*' | cut -c4-)
ge "the 5-frame file is cut into several pieces" "${p:-0}" 3
if command -v strace >/dev/null 2>&1; then
	AGENTPROF_VIEW_THREADS=2 strace -f -qq -e trace=clone,clone3 -o "$W/strace2" "$AP_VIEW" summary "$R" >/dev/null 2>&1
	AGENTPROF_VIEW_THREADS=1 strace -f -qq -e trace=clone,clone3 -o "$W/strace1" "$AP_VIEW" summary "$R" >/dev/null 2>&1
	# (a sanitized build's leak checker starts a thread of its own at exit, in both runs)
	eq "2 threads: two worker threads more than AGENTPROF_VIEW_THREADS=1" \
		$(($(grep -c 'clone' "$W/strace2") - $(grep -c 'clone' "$W/strace1"))) 2
else
	skip "threads started" "strace not installed"
fi
finish
