#!/bin/bash
# t68_execl_args: execl, execlp and execle with 300 arguments work under the preload exactly as
# without it (glibc has no argument limit of its own; the wrappers must not add one), and each
# exec is still recorded. Exec'ing a FIFO fails with EACCES at once, as without the preload (the
# wrappers look at the file first: they must not block opening it).
. "$(dirname "$0")/lib.sh"

require_preload execl-args || finish
build_targets || finish

run_bare "$W/bare" "$AP_TGT/execl_many"
eq "without the preload: three execs saw 297 arguments" "$(grep -c '^297 a00 c96$' "$W/bare.out")" 3
run_prof "$W/d" "$W/prof" -- "$AP_TGT/execl_many"
same_file "execl/execlp/execle with 300 arguments: same output as without the preload" "$W/bare.out" "$W/prof.out"
eq "no exec failed (E2BIG)" "$(grep -c FAIL "$W/prof.out")" 0
dump_spans "$W/d" "$W/dump"
check_py "$W/dump" <<'PY'
# Each exec shows either as the new image's process record (a forked child that recorded nothing
# before exec writes no file of its own: the writer's cheap children) or, when the new image is
# not profiled (execle passes an environment without our LD_PRELOAD), as an exec event; either
# way with the arguments the exec passed.
root = [r for r in A if r.get("rec") == "process" and r.get("exe", "").endswith("/execl_many")
        and r.get("argc") == 1]
img = [r for r in A if r.get("rec") == "process" and root and r.get("ppid") == root[0]["pid"]
       and (r.get("argv") or [])[:1] == ["sh"] and "a00" in (r.get("argv") or [])]
ev = [r for r in A if r.get("rec") == "proc_event" and r.get("kind") == "exec"
      and "a00" in (r.get("argv") or [])]
check("the three execs are recorded (exec'd images or exec events) with their arguments",
      len(img) + len(ev) == 3, f"{len(img)} images, {len(ev)} exec events")
PY

mkfifo "$W/fifo"
chmod +x "$W/fifo"
run_bare "$W/fifo.bare" /bin/sh -c '"$0"; echo "exec rc $?"' "$W/fifo"
AP_TMO=10 run_prof "$W/fifo.d" "$W/fifo.prof" -- /bin/sh -c '"$0"; echo "exec rc $?"' "$W/fifo"
eq "exec of a FIFO under the preload: the host does not hang (124 = hung)" "$(cat "$W/fifo.prof.rc")" 0
same_file "exec of a FIFO: same output as without the preload (exec rc 126)" "$W/fifo.bare.out" "$W/fifo.prof.out"
finish
