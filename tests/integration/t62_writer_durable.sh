#!/bin/bash
# t62_writer_durable: finished records are durable at once (the file's shared mapping): kill -9
# during streamed LLM calls loses none of the calls the client saw finish, even with a flush
# interval of a minute; a host that unmaps our mapping keeps recording; one file per process
# for fork+exec children; a child never re-writes its parent's records; the live segment is
# mapped without read-ahead (a short process keeps 2 of its 129 pages in memory, not all).
. "$(dirname "$0")/lib.sh"

require_preload writer-durable || finish
build_targets || finish
mock_up || { fail "mock" "cannot start the mock provider"; finish; }

out=$(wr_kill9 6 400)
echo "# $out"
case "$out" in
"kill -9 during streaming: 0 of 0 "*) fail "kill -9 during streaming" "no call finished: $out" ;;
"kill -9 during streaming: 0 of "*) ok "$out" ;;
*) fail "kill -9 during streaming" "$out" ;;
esac

out=$(wr_kill9 4 100000 seq /health "kill -9 during tool calls")
echo "# $out"
case "$out" in
"kill -9 during tool calls: 0 of 0 "*) fail "kill -9 during tool calls" "no call finished: $out" ;;
"kill -9 during tool calls: 0 of "*) ok "$out" ;;
*) fail "kill -9 during tool calls" "$out" ;;
esac

# the records of a killed writer sit in the live segment: the viewer reads them too
wr_kill9 1 400 >/dev/null
d=$W/k9
n=$(grep -c '^done ' "$d.out")
timeout 20 "$AP_VIEW" export --format jsonl "$d" >"$W/k9.jsonl" 2>"$W/k9.err"
v=$(grep '"kind":"exchange"' "$W/k9.jsonl" | grep -c '/v1/chat/completions')
ge "viewer reads a killed writer's live segment: $v calls for $n finished" "$v" "$n"

# munmap of the segment by the host: recording goes on (the file is mapped again)
run_prof "$W/mu" "$W/mu" -- "$AP_TGT/wrstress" munmap "$MOCK_PORT" 5
eq "munmap: host exit status" "$(cat "$W/mu.rc")" 0
eq "munmap: the host unmapped our mapping" "$(head -1 "$W/mu.out")" "unmapped 1"
dump_spans "$W/mu" "$W/mu.dump"
eq "munmap: all 10 exchanges on disk" "$(grep -c '"path":"/health"' "$W/mu.dump")" 10

# no second file per child: a shell running 5 short children writes its own file, and the 5
# children, which end with nothing but their start and end, append to the process log
mkdir -p "$W/kids"
env LD_PRELOAD="$AP_LIB" AGENTPROF_OUT="$W/kids" /bin/sh -c '/bin/true; /bin/true; /bin/true; /bin/true; /bin/true' 
eq "fork+exec children: the shell's file and the process log" "$(span_files "$W/kids" | xargs -n1 basename | sed 's/[0-9][0-9]*/N/' | sort | tr '\n' ' ')" "agentprof.procs.zst agentprof.sh.N.zst "
dump_spans "$W/kids" "$W/kids.dump"
eq "fork+exec children: 6 process records (sh + 5 true)" "$(grep -c '"rec":"process"' "$W/kids.dump")" 6
eq "fork+exec children: the 5 true in the process log" \
	"$(grep '"rec":"process"' "$W/kids.dump" | grep 'agentprof.procs.zst' | grep -c '"exe":"/usr/bin/true"')" 5

# a forked child with busy threads in the parent: each child's file has its own exchange only
run_prof "$W/fk" "$W/fk" -- "$AP_TGT/wrstress" fork "$MOCK_PORT" 10
eq "fork with busy threads: host exit status" "$(cat "$W/fk.rc")" 0
eq "fork with busy threads: every child worked" "$(grep -c failed "$W/fk.out")" 0
eq "fork with busy threads: files are sound, no duplicate exchange" "$(wr_check "$W/fk")" ok
eq "fork with busy threads: 11 files (parent + 10 children)" "$(span_files "$W/fk" | wc -l)" 11

# a clean exit compacts the file: no live segment left, plain zstd frames
f=$(span_files "$W/mu" | head -1)
if zstd -t "$f" >/dev/null 2>&1 && [ "$(stat -c %s "$f")" -lt 100000 ]; then
	ok "clean exit: compact file of zstd frames ($(stat -c %s "$f") bytes)"
else
	fail "clean exit: compact file" "$(stat -c %s "$f") bytes, zstd -t: $(zstd -t "$f" 2>&1 | tail -1)"
fi
# the live segment is mapped without read-ahead: a process that wrote one exchange holds a few
# pages of its file in memory, not the whole segment (before: the first fault read ahead and
# zeroed all 129 pages, 516 KiB of page cache per process)
if command -v fincore >/dev/null 2>&1; then
	rm -rf "$W/ra"
	mkdir -p "$W/ra"
	cat >"$W/ra.py" <<'PY'
import http.client, sys, time
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]))
c.request("POST", "/v1/chat/completions", body='{"model":"gpt-4o-mini","messages":[]}',
          headers={"Content-Type": "application/json"})
c.getresponse().read()
print("done", flush=True)
time.sleep(3)
PY
	env LD_PRELOAD="$AP_LIB" AGENTPROF_OUT="$W/ra" "$PY" "$W/ra.py" "$MOCK_PORT" >"$W/ra.out" 2>&1 &
	rapid=$!
	f=""
	for _ in $(seq 40); do
		f=$(ls "$W/ra"/agentprof.python3.*.zst 2>/dev/null | head -1)
		[ -n "$f" ] && grep -q done "$W/ra.out" && break # (reading the file would cache it)
		sleep 0.1
	done
	pages=$(fincore -n -o PAGES "$f" 2>/dev/null | tr -d ' ')
	wait "$rapid"
	if [ -n "$pages" ] && [ "$pages" -le 8 ]; then
		ok "live segment without read-ahead: $pages of 129 pages in memory after one exchange"
	else
		fail "live segment read-ahead" "${pages:-no} pages of ${f:-no file} in memory ($(head -c 200 "$W/ra.out"))"
	fi
else
	skip "live segment read-ahead" "fincore not installed"
fi
finish
