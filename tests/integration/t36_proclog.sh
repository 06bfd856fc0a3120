#!/bin/bash
# t36_proclog: processes that end with nothing but their start and end records share the process
# log (agentprof.procs.zst, one header + frame unit per process, appended with one O_APPEND
# write) instead of creating a file each: 200 such processes racing from 8 parallel shells all
# land, whole and readable, with no damage; a log that is not a plain private file of ours (a
# planted symlink, a FIFO, a hard link, group-writable, another user's, or past its size cap)
# is never written or followed, and the process writes its own file instead; a torn unit in the
# middle of the log costs only itself; a process that makes a tracked call still gets its own
# file.
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
