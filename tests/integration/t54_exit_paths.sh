#!/bin/bash
# t54_exit_paths: data-loss bounds (docs/internals/contract.md §3.3-§3.5, §2.3): exit, _exit, _Exit,
# return from main, abort, os._exit in multiprocessing workers, exit while 8 threads block in
# recv (within a bound), kill -9 after N exchanges (at most the flush interval lost, the LLM
# call never), exec (from main and from a thread), posix_spawn, daemon(), TLS destructors that
# send(), and a destructor that sends after our final flush. Files are read back with
# agentprof-view export and with apdump.
. "$(dirname "$0")/lib.sh"

require_preload exit-paths || finish
build_targets || finish
mock_up || { fail "mock" "cannot start the mock provider"; finish; }

# count_x DIR PATH [PID]: exchanges with this path in DIR (via the viewer export)
count_x() {
	ap_export "$1" "$1.jsonl" || { echo "export-failed"; return; }
	if [ -n "${3:-}" ]; then
		grep '"kind":"exchange"' "$1.jsonl" | grep "\"pid\":$3," | grep -c "\"path\":\"$2\""
	else
		grep '"kind":"exchange"' "$1.jsonl" | grep -c "\"path\":\"$2\""
	fi
}

for mode in exit _exit _Exit return; do
	run_prof "$W/$mode" "$W/$mode" -- "$AP_TGT/exits" "$mode" "$MOCK_PORT" 5
	eq "$mode: exit status 3 unchanged" "$(cat "$W/$mode.rc")" 3
	eq "$mode: all 5 exchanges on disk" "$(count_x "$W/$mode" /health)" 5
	dump_spans "$W/$mode" "$W/$mode.dump"
	if [ "$mode" != return ]; then
		n=$(grep -c '"rec":"process_end","exit_code":3,"clean":1' "$W/$mode.dump")
		eq "$mode: process end with exit code 3" "$n" 1
	fi
done

run_prof "$W/abort" "$W/abort" AGENTPROF_FLUSH_MS=20 -- "$AP_TGT/exits" abort "$MOCK_PORT" 5
eq "abort: SIGABRT status unchanged" "$(cat "$W/abort.rc")" 134
n=$(count_x "$W/abort" /health)
case "$n" in [0-5]) ok "abort: file decodes ($n of 5 exchanges flushed before abort)" ;;
*) fail "abort: file decodes" "$n" ;; esac

clock_start
run_prof "$W/t8" "$W/t8" -- "$AP_TGT/exits" threads8 "$MOCK_PORT" 5
ms=$(elapsed_ms)
eq "exit with 8 threads blocked in recv: status 0" "$(cat "$W/t8.rc")" 0
if [ "$ms" -lt 5000 ]; then ok "exit with 8 threads blocked in recv: done in ${ms} ms (< 5 s)"; else
	fail "exit with 8 threads blocked in recv" "took ${ms} ms"; fi
eq "exit with 8 threads blocked: exchanges on disk" "$(count_x "$W/t8" /health)" 5

# kill -9: five exchanges, a pause longer than the flush interval, one more, an LLM call
mkdir -p "$W/k9"
env LD_PRELOAD="$AP_LIB" AGENTPROF_OUT="$W/k9" AGENTPROF_FLUSH_MS=100 \
	"$AP_TGT/exits" kill9 "$MOCK_PORT" 5 >"$W/k9.out" 2>"$W/k9.err" &
kp=$!
for _ in $(seq 100); do grep -q ready "$W/k9.out" 2>/dev/null && break; sleep 0.1; done
kill -9 $kp
wait $kp 2>/dev/null
n=$(count_x "$W/k9" /health)
ge "kill -9: the 5 exchanges before the last quiet moment survived ($n of 6)" "$n" 5
eq "kill -9: the finished LLM call is on disk" "$(count_x "$W/k9" /v1/chat/completions)" 1

run_prof "$W/tls" "$W/tls" -- "$AP_TGT/exits" tlsdtor "$MOCK_PORT" 2
eq "TLS destructors calling send(): status 0" "$(cat "$W/tls.rc")" 0
grep -q 'after thread 1' "$W/tls.out" && ok "TLS destructors: process continued normally" ||
	fail "TLS destructors: process continued normally" "$(cat "$W/tls.out")"
n=$(count_x "$W/tls" /health)
ge "TLS destructors: file decodes, exchanges present" "$n" 3

run_prof "$W/late" "$W/late" -- "$AP_TGT/exits" late "$MOCK_PORT" 2
eq "send()/close() in a destructor after the final flush: status 0" "$(cat "$W/late.rc")" 0
ge "late destructor: the earlier exchanges on disk" "$(count_x "$W/late" /health)" 2

for variant in main thread; do
	run_prof "$W/ex$variant" "$W/ex$variant" -- "$AP_TGT/exits" exec "$MOCK_PORT" 4 $variant
	eq "exec from $variant: status of /bin/true" "$(cat "$W/ex$variant.rc")" 0
	eq "exec from $variant: exchanges before exec on disk" "$(count_x "$W/ex$variant" /health)" 4
	dump_spans "$W/ex$variant" "$W/ex$variant.dump"
	n=$(grep -c '"kind":"exec".*"path":"/bin/true"' "$W/ex$variant.dump")
	eq "exec from $variant: exec event recorded" "$n" 1
	n=$(grep '"rec":"process"' "$W/ex$variant.dump" | grep -c '"exe":"/usr/bin/true"')
	eq "exec from $variant: the new image (true) has its own file" "$n" 1
done

run_prof "$W/sp" "$W/sp" -- "$AP_TGT/exits" spawn "$MOCK_PORT" 1
dump_spans "$W/sp" "$W/sp.dump"
cpid=$(sed -n 's/^spawned \([0-9]*\) .*/\1/p' "$W/sp.out")
n=$(grep -c "\"kind\":\"spawn\",\"child_pid\":$cpid," "$W/sp.dump")
eq "posix_spawn: spawn event with the child's pid" "$n" 1
n=$(grep -c "\"kind\":\"wait\",\"child_pid\":$cpid,\"status\":3" "$W/sp.dump")
eq "posix_spawn: wait event with exit status 3" "$n" 1
n=$(grep '"rec":"process"' "$W/sp.dump" | grep -c "\"pid\":$cpid,")
eq "posix_spawn: the child (sh) wrote its own file" "$n" 1

run_prof "$W/dm" "$W/dm" -- "$AP_TGT/exits" daemon "$MOCK_PORT" 3 "$W/daemon.pid"
for _ in $(seq 50); do [ -s "$W/daemon.pid" ] && break; sleep 0.1; done
sleep 0.3
dpid=$(awk '{print $1}' "$W/daemon.pid" 2>/dev/null)
ppid=$(awk '{print $3}' "$W/daemon.pid" 2>/dev/null)
if [ -n "$dpid" ]; then
	eq "daemon(): the daemon's exchanges are in its own file" "$(count_x "$W/dm" /health "$dpid")" 3
	eq "daemon(): the parent's exchanges (before daemon() ended it with _exit) on disk" \
		"$(count_x "$W/dm" /health "$ppid")" 3
else
	fail "daemon(0,0)" "no pid file"
fi

run_prof "$W/mp" "$W/mp" -- "$PY" "$AP_TGT_SRC/py_mp.py" "$MOCK_PORT"
grep -q 'workers exit codes \[0, 0, 0\]' "$W/mp.out" && ok "multiprocessing: workers ran" ||
	fail "multiprocessing: workers ran" "$(cat "$W/mp.out" "$W/mp.err" | tail -3 | tr '\n' '|')"
n=0
for i in 0 1 2; do n=$((n + $(count_x "$W/mp" "/tool/weather?city=worker$i"))); done
eq "multiprocessing: every os._exit worker's exchange on disk" "$n" 3
finish
