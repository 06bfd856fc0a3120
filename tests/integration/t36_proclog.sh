#!/bin/bash
# t36_proclog: processes that end with nothing but their start and end records share the process
# log (agentprof.procs.zst, one header + frame unit per process, appended with one O_APPEND
# write) instead of creating a file each: 200 such processes racing from 8 parallel shells all
# land, whole and readable, with no damage; a log that is not a plain private file of ours (a
# planted symlink, a FIFO, a hard link, group-writable, another user's, or past its size cap)
# is never written or followed, and the process writes its own file instead; a torn unit in the
# middle of the log costs only itself; a process that makes a tracked call still gets its own
# file. A file-size limit never gets the host killed (SIGXFSZ); a peak RSS inherited across
# exec is not reported as the child's; a fork in the middle of the final flush repeats nothing.
. "$(dirname "$0")/lib.sh"

require_preload proclog || finish
mock_up || { fail "mock" "cannot start the mock provider"; finish; }

# quiet PROG...: run PROG under the preload with output into $D (the current case's directory)
quiet() {
	env LD_PRELOAD="$AP_LIB" AGENTPROF_OUT="$D" "$@"
}

# --- 200 short processes from 8 parallel shells -------------------------------------------------
D=$W/race
mkdir -p "$D"
seq 8 | quiet xargs -P8 -I{} /bin/sh -c 'i=0; while [ $i -lt 25 ]; do /bin/true; i=$((i+1)); done'
eq "race: exit status of the 8 shells" "$?" 0
eq "race: no file of its own for any true" "$(find "$D" -name 'agentprof.true.*' | wc -l)" 0
dump_spans "$D" "$D.dump"
eq "race: 200 true process records in the process log" \
	"$(grep '"rec":"process"' "$D.dump" | grep 'agentprof.procs.zst' | grep -c '"exe":"/usr/bin/true"')" 200
eq "race: 200 process ends there" \
	"$(grep '"rec":"process_end"' "$D.dump" | grep -c 'agentprof.procs.zst')" 200
ap_export "$D" "$D.jsonl"
eq "race: the viewer reads the log without a problem" "$(grep -ci 'damage\|corrupt\|resync' "$D.jsonl.err")" 0
check_py "$D.jsonl" <<'PY'
t = [p for p in P if (p.get("exe") or "").endswith("/true")]
check("race: the viewer shows the 200 true, each with exit code 0 and its parent",
      len(t) == 200 and all(p.get("exit_code") == 0 and p.get("ppid") for p in t), str(len(t)))
check("race: 200 distinct pids", len({p["pid"] for p in t}) == 200, str(len({p["pid"] for p in t})))
PY
# the summary: the root (xargs) is the first row, not a quiet child from the log read first,
# and every true nests under the shell that started it (parents linked by pid and start)
timeout 20 "$AP_VIEW" summary --limit 0 "$D" >"$D.sum" 2>/dev/null
rows=$(sed -n '/^Processes/,/^$/p' "$D.sum" | tail -n +3)
# (a row's command follows the tool column after two spaces, plus two per level of nesting)
eq "race: the first process row is the root, xargs" "$(echo "$rows" | head -1 | grep -c '[0-9]  xargs ')" 1
eq "race: no true at the top level of the tree" "$(echo "$rows" | grep -c '[0-9]  /bin/true$')" 0
eq "race: 200 true nested two levels deep (xargs, sh)" "$(echo "$rows" | grep -c '[0-9]      /bin/true$')" 200
zstd -tq "$D/agentprof.procs.zst" 2>/dev/null && ok "race: zstd -t verifies every frame of the log" ||
	fail "race: zstd -t verifies every frame of the log" "$(zstd -t "$D/agentprof.procs.zst" 2>&1 | tail -1)"

# --- a process that makes a tracked call keeps its own file -------------------------------------
D=$W/busy
mkdir -p "$D"
quiet curl -s -o /dev/null "http://127.0.0.1:$MOCK_PORT/health"
eq "busy: curl exit status" "$?" 0
eq "busy: curl wrote its own file" "$(find "$D" -name 'agentprof.curl.*.zst' | wc -l)" 1
eq "busy: and nothing went to the process log" "$(find "$D" -name 'agentprof.procs.zst' | wc -l)" 0

# --- hostile or foreign logs: never written, never followed; our own file instead ---------------
# log_state: type, size, links, mode and owner of $D/agentprof.procs.zst (not followed)
log_state() {
	stat -c '%F %s %h %a %U' "$D/agentprof.procs.zst" 2>/dev/null
}
# refused CASE BEFORE: /bin/true wrote its own file and left the log as BEFORE (log_state)
refused() {
	local c=$1 before=$2
	eq "$c: true wrote its own file instead" "$(find "$D" -maxdepth 1 -name 'agentprof.true.*.zst' -type f | wc -l)" 1
	eq "$c: the log is untouched ($before)" "$(log_state)" "$before"
}
D=$W/symlink
mkdir -p "$D"
echo precious >"$W/victim"
ln -s "$W/victim" "$D/agentprof.procs.zst"
st=$(log_state)
quiet /bin/true
eq "symlink: host exit status" "$?" 0
eq "symlink: the target is unchanged" "$(cat "$W/victim")" precious
refused symlink "$st"

D=$W/fifo
mkdir -p "$D"
mkfifo -m 600 "$D/agentprof.procs.zst"
st=$(log_state)
timeout 10 env LD_PRELOAD="$AP_LIB" AGENTPROF_OUT="$D" /bin/true
eq "fifo: host exit status (no hang opening a FIFO)" "$?" 0
refused fifo "$st"

D=$W/hardlink
mkdir -p "$D"
: >"$W/linked"
chmod 600 "$W/linked"
ln "$W/linked" "$D/agentprof.procs.zst"
st=$(log_state)
quiet /bin/true
refused "hard link" "$st"

D=$W/groupw
mkdir -p "$D"
: >"$D/agentprof.procs.zst"
chmod 660 "$D/agentprof.procs.zst"
st=$(log_state)
quiet /bin/true
refused group-writable "$st"

D=$W/cap
mkdir -p "$D"
truncate -s $((256 * 1024 * 1024 + 1)) "$D/agentprof.procs.zst"
chmod 600 "$D/agentprof.procs.zst"
st=$(log_state)
quiet /bin/true
refused "past the 256 MiB cap" "$st"

if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	D=$W/foreign
	mkdir -p "$D"
	: >"$D/agentprof.procs.zst"
	chmod 600 "$D/agentprof.procs.zst"
	chown nobody "$D/agentprof.procs.zst"
	st=$(log_state)
	quiet /bin/true
	refused "another user's" "$st"
else
	skip "another user's log" "needs root and a user nobody"
fi

# --- a file-size limit (ulimit -f): no SIGXFSZ for the host, ever ------------------------------
# past RLIMIT_FSIZE the kernel kills the writer; an appender to a shared log cannot know where
# its unit lands, so under a limit each process writes its own (small) file instead, and no
# write of ours goes past the limit (the 528 KiB live segment is not allocated under 100 KiB)
D=$W/fsize
mkdir -p "$D"
rcs=$(bash -c 'ulimit -f 2; for i in $(seq 30); do env LD_PRELOAD="$1" AGENTPROF_OUT="$2" /bin/true; echo $?; done' \
	sh "$AP_LIB" "$D" | sort | uniq -c | awk '{print $1 "x" $2}' | tr '\n' ' ')
eq "fsize 2 KiB: 30 quiet processes all exit 0 (none killed by SIGXFSZ)" "$rcs" "30x0 "
eq "fsize: each wrote its own file, none appended to the log" \
	"$(find "$D" -name 'agentprof.true.*.zst' | wc -l) $(find "$D" -name 'agentprof.procs.zst' | wc -l)" "30 0"
bash -c 'ulimit -f 100; env LD_PRELOAD="$1" AGENTPROF_OUT="$2" curl -s -o /dev/null -w "%{http_code}\n" "http://127.0.0.1:$3/health"; echo "rc $?"' \
	sh "$AP_LIB" "$D" "$MOCK_PORT" >"$D.curl" 2>"$D.curl.err"
eq "fsize 100 KiB: curl with an exchange exits 0 (no SIGXFSZ at the segment)" "$(tail -1 "$D.curl")" "rc 0"
F=$(find "$D" -name 'agentprof.curl.*.zst' | head -1)
ge "fsize 100 KiB: curl's file stays under the limit" "$((100 * 1024))" "$(stat -c %s "$F" 2>/dev/null || echo 999999999)"
"$AP_TGT/apdump" "$F" >"$D.curl.dump" 2>/dev/null
eq "fsize 100 KiB: its exchange is on disk" "$(grep -c '"path":"/health"' "$D.curl.dump")" 1

# --- peak RSS: a peak inherited across exec is not the child's ----------------------------------
# (Python holds 200 MB and runs /bin/true through posix_spawn/vfork: ru_maxrss in the child
# starts at the parent's 200 MB; the child's own RSS is about 1 MB)
D=$W/rss
mkdir -p "$D"
quiet "$PY" -c 'import subprocess; b = bytearray(200 << 20); subprocess.run(["/bin/true"]); print(len(b) >> 20)' >"$D.out"
eq "rss: the parent ran (200 MB held)" "$(cat "$D.out")" 200
timeout 20 "$AP_VIEW" summary --json "$D" >"$D.json" 2>/dev/null
RSS_JSON=$D.json check_py /dev/null <<'PY'
doc = json.load(open(os.environ["RSS_JSON"]))
procs = doc.get("processes") or []
t = [p for p in procs if (p.get("exe") or "").endswith("/true")]
py = [p for p in procs if "python" in (p.get("exe") or "")]
check("rss: /bin/true's peak RSS is its own (under 50 MB), not the parent's inherited 200 MB",
      len(t) == 1 and 0 < (t[0].get("peak_rss_bytes") or 0) < 50 << 20, repr(t))
check("rss: the parent's peak RSS includes its 200 MB", len(py) == 1 and (py[0].get("peak_rss_bytes") or 0) > 200 << 20,
      repr(py))
PY

# --- a fork in the middle of a quiet process's final flush -----------------------------------
# (the child's copy of the static quiet segment holds the parent's records: it must not be
# handed out again, or the child's unit repeats the parent)
build_targets || finish
D=$W/forkend
mkdir -p "$D"
quiet "$AP_TGT/fork_at_end" >"$D.out"
eq "fork at end: exit status" "$?" 0
kid=$(sed -n 's/^child //p' "$D.out")
for _ in $(seq 100); do # the child appends its own unit as it leaves (not waited for)
	dump_spans "$D" "$D.dump"
	[ "$(grep -c '"rec":"process_end"' "$D.dump")" -ge 2 ] && break
	sleep 0.05
done
eq "fork at end: two process records, each pid once" \
	"$(grep '"rec":"process"' "$D.dump" | sed 's/.*"pid":\([0-9]*\).*/\1/' | sort | uniq -c | awk '{print $1}' | tr '\n' ' ')" "1 1 "
eq "fork at end: one of them is the child, whose parent is the quiet process" \
	"$(grep '"rec":"process"' "$D.dump" | grep -c "\"pid\":$kid,")" 1
eq "fork at end: two process ends" "$(grep -c '"rec":"process_end"' "$D.dump")" 2

# --- a torn unit in the middle costs only itself -------------------------------------------------
D=$W/torn
mkdir -p "$D"
quiet /bin/true
head -c 100 "$D/agentprof.procs.zst" >>"$D/agentprof.procs.zst" # a unit cut short
quiet /bin/echo after-the-tear >/dev/null
dump_spans "$D" "$D.dump"
eq "torn: both processes recovered" "$(grep -c '"rec":"process"' "$D.dump")" 2
timeout 20 "$AP_VIEW" summary "$D" >"$D.sum" 2>"$D.err"
grep -q 'agentprof.procs.zst' "$D.err" "$D.sum" && ok "torn: the viewer names the damaged log" ||
	fail "torn: the viewer names the damaged log" "$(head -c 300 "$D.err")"
grep -q '/bin/echo after-the-tear' "$D.sum" && ok "torn: the process after the tear is shown" ||
	fail "torn: the process after the tear is shown" "$(head -c 300 "$D.sum")"
finish
