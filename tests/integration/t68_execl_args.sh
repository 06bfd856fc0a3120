#!/bin/bash
# t68_execl_args: execl, execlp and execle with 300 arguments work under the preload exactly as
# without it (glibc has no argument limit of its own; the wrappers must not add one), and each
# exec is still recorded. Exec'ing a FIFO fails with EACCES at once, as without the preload (the
# wrappers look at the file first: they must not block opening it).
. "$(dirname "$0")/lib.sh"
. "$AP_ROOT/tests/hardening/hlib.sh"

require_preload execl-args || finish
h_build || finish

run_bare "$W/bare" "$H/execl_many"
eq "without the preload: three execs saw 297 arguments" "$(grep -c '^297 a00 c96$' "$W/bare.out")" 3
h_prof "$W/d" "$W/prof" -- "$H/execl_many"
same_file "execl/execlp/execle with 300 arguments: same output as without the preload" "$W/bare.out" "$W/prof.out"
eq "no exec failed (E2BIG)" "$(grep -c FAIL "$W/prof.out")" 0
h_dump "$W/d" "$W/dump"
check_py "$W/dump" <<'PY'
ev = [r for r in A if r.get("rec") == "proc_event" and r.get("kind") == "exec"]
check("the three execs are recorded as exec events", len(ev) >= 3, f"{len(ev)} exec events: {ev[:2]}")
PY

mkfifo "$W/fifo"
chmod +x "$W/fifo"
run_bare "$W/fifo.bare" /bin/sh -c '"$0"; echo "exec rc $?"' "$W/fifo"
AP_TMO=10 h_prof "$W/fifo.d" "$W/fifo.prof" -- /bin/sh -c '"$0"; echo "exec rc $?"' "$W/fifo"
eq "exec of a FIFO under the preload: the host does not hang (124 = hung)" "$(cat "$W/fifo.prof.rc")" 0
same_file "exec of a FIFO: same output as without the preload (exec rc 126)" "$W/fifo.bare.out" "$W/fifo.prof.out"
finish
