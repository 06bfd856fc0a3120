#!/bin/bash
# t65_writer_dirs: output directories nobody else can tamper with. The preload refuses a
# directory another (non-root) user owns, or that its group or the world can write (sticky bit
# or not), unless AGENTPROF_UNSAFE_OUT names the same path (then it warns); the launcher refuses
# such an existing -o DIR unless --unsafe-out is given, and creates a missing one 0700. The host
# runs unchanged in every case.
. "$(dirname "$0")/lib.sh"

require_preload writer-dirs || finish
id nobody >/dev/null 2>&1 || { skip "dirs" "no user 'nobody'"; finish; }

host() { # host DIR ERRFILE [ENV...]: a host that prints and exits 4, under the preload
	local d=$1 e=$2
	shift 2
	env LD_PRELOAD="$AP_LIB" AGENTPROF_OUT="$d" "$@" /bin/sh -c 'echo hostout; exit 4' >"$e.out" 2>"$e"
	echo $? >"$e.rc"
}

# owned by another user (0755: they alone can change it)
O=$W/theirs
mkdir -p "$O"
chown nobody "$O"
chmod 0755 "$O"
host "$O" "$W/o.err"
eq "dir owned by another user: host exit status" "$(cat "$W/o.err.rc")" 4
eq "dir owned by another user: host output" "$(cat "$W/o.err.out")" hostout
eq "dir owned by another user: refused (no file)" "$(find "$O" -type f | wc -l)" 0
grep -q '^agentprof: refusing output directory .*owned by another user' "$W/o.err" &&
	ok "dir owned by another user: the warning says why" || fail "owner warning" "$(head -c 300 "$W/o.err")"
host "$O" "$W/o2.err" AGENTPROF_UNSAFE_OUT="$O"
eq "dir owned by another user, named in AGENTPROF_UNSAFE_OUT: used" "$(find "$O" -type f | wc -l)" 1
grep -q '^agentprof: warning: output directory .*unsafe' "$W/o2.err" &&
	ok "accepted unsafe dir: warning" || fail "accepted unsafe dir: warning" "$(head -c 300 "$W/o2.err")"
host "$O" "$W/o3.err" AGENTPROF_UNSAFE_OUT=/elsewhere
eq "AGENTPROF_UNSAFE_OUT naming another path does not unlock it" "$(find "$O" -type f | wc -l)" 1

# group-writable, and world-writable with the sticky bit
for mode in 0770 1777; do
	G=$W/g$mode
	mkdir -p "$G"
	chmod $mode "$G"
	host "$G" "$W/g$mode.err"
	eq "mode $mode dir: refused" "$(find "$G" -type f | wc -l)" 0
	eq "mode $mode dir: host exit status" "$(cat "$W/g$mode.err.rc")" 4
done

# the working directory (no AGENTPROF_OUT) is checked too
C=$W/cwd
mkdir -p "$C"
chmod 0777 "$C"
(cd "$C" && env -u AGENTPROF_OUT LD_PRELOAD="$AP_LIB" /bin/true 2>"$W/c.err")
eq "world-writable working directory: refused" "$(find "$C" -type f | wc -l)" 0

# a private directory of ours is used silently
P=$W/mine
mkdir -p "$P"
chmod 0700 "$P"
host "$P" "$W/p.err"
eq "private dir: used" "$(find "$P" -name 'agentprof.*' -type f | wc -l)" 1
eq "private dir: no warning" "$(grep -c agentprof "$W/p.err")" 0

# --- the launcher ----------------------------------------------------------------------------
"$AP_LAUNCHER" run -o "$O" --no-summary -- /bin/sh -c 'echo ran' >"$W/l1.out" 2>"$W/l1.err"
eq "launcher: existing dir of another user refused (exit 2)" "$?" 2
eq "launcher: the command did not run" "$(cat "$W/l1.out")" ""
grep -q 'refusing output directory.*owned by another user' "$W/l1.err" && ok "launcher: says why" ||
	fail "launcher: says why" "$(head -c 300 "$W/l1.err")"
"$AP_LAUNCHER" run -o "$W/g0770" --no-summary -- /bin/true 2>"$W/l2.err"
eq "launcher: group-writable dir refused" "$?" 2
"$AP_LAUNCHER" run -o "$O" --unsafe-out --no-summary -- /bin/sh -c 'exit 5' 2>"$W/l3.err"
eq "launcher --unsafe-out: runs the command" "$?" 5
grep -q 'warning: output directory.*unsafe' "$W/l3.err" && ok "launcher --unsafe-out: warns" ||
	fail "launcher --unsafe-out: warns" "$(head -c 300 "$W/l3.err")"
dump_spans "$O" "$W/l3.dump"
eq "launcher --unsafe-out: the preload accepted it too (its sh recorded, exit 5)" \
	"$(grep '"rec":"process_end"' "$W/l3.dump" | grep -c '"exit_code":5')" 1
"$AP_LAUNCHER" run -o "$W/fresh" --no-summary -- /bin/true 2>"$W/l4.err"
eq "launcher: a new dir is created 0700" "$(stat -c %a "$W/fresh")" 700
eq "launcher: and used" "$(find "$W/fresh" -type f | wc -l)" 1
finish
