#!/bin/bash
# t67_unwind_fds: no fd of ours or of libunwind survives between calls. A host that closes every
# fd >= 3 and opens its own socket pair, file, socket and pipe keeps them working through
# tracked HTTP on its main thread and on new threads (8 of 8 runs; rc 124 = hung, as when an
# unwinder reads the host's blocking socket on fd 3), and /proc/self/fd, listed by the host at start and between calls,
# holds no fd it did not open; with libunwind stacks and with the frame-pointer walk. A Node
# program using child_process.fork() and a spawn with an IPC channel (libuv puts a blocking
# socket on fd 3) runs to completion under the preload with the same output as without it.
# Threads that open and close fds without pause while the first exchange loads libunwind leave
# no pipe of libunwind's behind and no line on stderr (12 of 12 runs; 5 of 20 leaked before the
# pipe was taken from pipe2 instead of guessed from the lowest free fds).
. "$(dirname "$0")/lib.sh"

require_preload unwind-fds || finish
build_targets || finish
mock_up || { fail "mock" "cannot start the mock provider"; finish; }

for mode in libunwind fp; do
	good=0
	why=""
	for i in 1 2 3 4 5 6 7 8; do
		rm -rf "$W/fd.$mode"
		AP_TMO=20 run_prof "$W/fd.$mode" "$W/fd.$mode" AGENTPROF_UNWIND=$mode -- "$AP_TGT/fdreopen" "$MOCK_PORT" 5
		if [ "$(cat "$W/fd.$mode.rc")" = 0 ] && [ "$(tail -1 "$W/fd.$mode.out")" = "fds ok" ]; then
			good=$((good + 1))
		else
			why="rc $(cat "$W/fd.$mode.rc"): $(head -4 "$W/fd.$mode.out" | tr '\n' '|')"
		fi
	done
	eq "host closes fds >= 3 and reopens its own ($mode): its fds work, none foreign, 8 of 8 runs${why:+ ($why)}" "$good" 8
done
# --- other threads churning fds while libunwind is loaded ---------------------------------------
good=0
why=""
for i in $(seq 12); do
	rm -rf "$W/race"
	AP_TMO=20 run_prof "$W/race" "$W/race" -- "$AP_TGT/unwind_race" "$MOCK_PORT"
	if [ "$(cat "$W/race.rc")" = 0 ] && [ "$(tail -1 "$W/race.out")" = "fds ok" ] && [ ! -s "$W/race.err" ]; then
		good=$((good + 1))
	else
		why="rc $(cat "$W/race.rc"): $(head -3 "$W/race.out" "$W/race.err" | tr '\n' '|')"
	fi
done
eq "threads opening and closing fds during libunwind's set-up: no fd of libunwind's left, stderr empty, 12 of 12 runs${why:+ ($why)}" "$good" 12
ge "stacks captured with libunwind while the fds churned (AP_REC_STACK records)" \
	"$(find "$W/race" -name 'agentprof.*.zst' -exec "$AP_TGT/apdump" {} \; | grep -c '"type":8,')" 1

stacks=$(find "$W/fd.libunwind" -name 'agentprof.*.zst' -exec "$AP_TGT/apdump" {} \; | grep -c '"type":8,')
ge "stacks still captured with libunwind (AP_REC_STACK records)" "$stacks" 1

# --- Node: fork() and a spawn with an IPC channel ------------------------------------------------
if [ ! -x "$NODE" ]; then
	skip "node fork/ipc" "node not installed"
	finish
fi
NJS=$AP_TGT_SRC/node_ipc/parent.js
AP_TMO=30 run_bare "$W/node.bare" "$NODE" "$NJS"
eq "node fork/ipc without the preload: completes" "$(cat "$W/node.bare.rc")" 0
for mode in libunwind fp; do
	rm -rf "$W/node.$mode"
	AP_TMO=30 run_prof "$W/node.$mode" "$W/node.$mode" AGENTPROF_UNWIND=$mode -- "$NODE" "$NJS"
	eq "node fork() + spawn with stdio ipc under the preload ($mode): completes, exit 0 (124 = hung)" \
		"$(cat "$W/node.$mode.rc")" 0
	# the fork child shares stdout with the parent: compare the lines, not their interleaving
	sort "$W/node.bare.out" >"$W/node.bare.sorted"
	sort "$W/node.$mode.out" >"$W/node.$mode.sorted"
	same_file "node fork/ipc ($mode): same output lines as without the preload" "$W/node.bare.sorted" "$W/node.$mode.sorted"
	dump_spans "$W/node.$mode" "$W/node.$mode.dump"
	ge "node fork/ipc ($mode): parent and children recorded (process records)" \
		"$(grep -c '"rec":"process"' "$W/node.$mode.dump")" 3
done
finish
