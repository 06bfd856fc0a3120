#!/bin/bash
# t56_process_tree: process trees. posix_spawn (both symbol versions), posix_spawnp, system,
# popen/pclose and fork+exec behave as without the preload and become process events with
# argv redacted, child pid, exit status and wait time; children are profiled by default and
# AGENTPROF_CHILDREN=0 opts out; a static child runs normally with one "not profiled: static
# binary" diagnostic; subprocess tools (sh -c, git --version) appear as category "process" in
# the viewer. A CGO_ENABLED=0 Go child started by sh (through vfork) runs normally and leaves
# the static-binary diagnostic in the parent's file (the vfork mailbox).
. "$(dirname "$0")/lib.sh"

require_preload process-tree || finish
build_targets || finish
mock_up || { fail "mock" "cannot start the mock provider"; finish; }
STATIC=$AP_TGT/static_hello
[ -x "$STATIC" ] || STATIC=-

mkdir -p "$W/sb" "$W/sp"
run_bare "$W/bare" "$AP_TGT/spawnall" "$W/sb" "$STATIC"
run_prof "$W/p" "$W/prof" -- "$AP_TGT/spawnall" "$W/sp" "$STATIC"
eq "spawnall: exit status unchanged" "$(cat "$W/prof.rc")" "$(cat "$W/bare.rc")"
same_file "spawnall: every spawn result identical (incl. GLIBC_2.2.5 vs 2.15 semantics)" "$W/bare.out" "$W/prof.out"
dump_spans "$W/p" "$W/p.dump"
export STATIC
check_py "$W/p.dump" <"$AP_ROOT/tests/integration/checkers/t56_process_tree.py"
if [ "$STATIC" != - ]; then
	eq "static child ran normally (3 runs)" "$(grep -c '^static static-arg\|^static via-system' "$W/prof.out")" 3
fi
if ap_export "$W/p" "$W/p.jsonl" && "$AP_VIEW" summary --json "$W/p" >"$W/p.sum" 2>"$W/p.sum.err"; then
	ok "viewer reads the process tree"
	grep -q '"static_child"' "$W/p.sum" && ok "viewer summary lists the static-child diagnostic" ||
		fail "viewer summary lists the static-child diagnostic" "$(head -c 200 "$W/p.sum")"
	leaks=$(for f in "$W"/p/*.zst; do zstd -dc "$f" 2>/dev/null | grep -qa SECRET_CANARY && basename "$f"; done | tr '\n' ' ')
	if [ -n "$leaks" ] || grep -q SECRET_CANARY "$W/p.jsonl" "$W/p.sum"; then
		fail "no SECRET_CANARY in span files or viewer output" \
			"in $leaks(process argv of 'sh -c CMD' children is redacted per argument only)"
	else
		ok "no SECRET_CANARY in span files or viewer output"
	fi
else
	fail "viewer reads the process tree" "$(head -c 300 "$W/p.jsonl.err" "$W/p.sum.err")"
fi

# children profiled by default, AGENTPROF_CHILDREN=0 opts out
run_prof "$W/c1" "$W/c1" -- /bin/sh -c 'sh -c true; /bin/true'
run_prof "$W/c0" "$W/c0" AGENTPROF_CHILDREN=0 -- /bin/sh -c 'sh -c true; /bin/true'
dump_spans "$W/c1" "$W/c1.dump"
ge "children profiled by default (process records: sh, sh, true)" "$(grep -c '"rec":"process"' "$W/c1.dump")" 3
eq "AGENTPROF_CHILDREN=0: only the first process writes a file" "$(span_files "$W/c0" | wc -l)" 1
eq "AGENTPROF_CHILDREN=0: exit status unchanged" "$(cat "$W/c0.rc")" 0

# subprocess tools show as category "process" in the viewer
run_bare "$W/tb" "$PY" "$AP_TGT_SRC/py_tools.py" "$MOCK_PORT"
run_prof "$W/t" "$W/tp" -- "$PY" "$AP_TGT_SRC/py_tools.py" "$MOCK_PORT"
same_file "subprocess tools: same output with the preload" "$W/tb.out" "$W/tp.out"
"$AP_VIEW" summary --json "$W/t" >"$W/t.sum" 2>"$W/t.sum.err"
n=$("$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["categories"]["process"]["calls"])' "$W/t.sum" 2>/dev/null)
ge "viewer: sh -c, git --version, os.system, os.popen count as category process" "${n:-0}" 4
"$AP_VIEW" flamegraph "$W/t" >"$W/t.fg" 2>"$W/t.fg.err"
ge "flamegraph: subprocess tools are [process] leaves under the stack that started them" \
	"$(grep -c '\[process\] ' "$W/t.fg")" 1
"$AP_VIEW" flamegraph --category llm "$W/t" >"$W/t.fg2" 2>&1
eq "flamegraph --category llm leaves subprocesses out" "$(grep -c '\[process\] ' "$W/t.fg2")" 0
"$AP_VIEW" summary "$W/t" >"$W/t.txt" 2>&1
grep -qE '^ *process ' "$W/t.txt" && ok "viewer text summary has a process row" ||
	fail "viewer text summary has a process row" "$(head -12 "$W/t.txt" | tr '\n' '|')"

# a Go toolchain from Debian (golang-go) builds the static Go child; installed here when root
command -v go >/dev/null 2>&1 || need_pkgs golang-go || true
if command -v go >/dev/null 2>&1; then
	mkdir -p "$W/go"
	printf 'package main\nimport "fmt"\nfunc main() { fmt.Println("go ok") }\n' >"$W/go/main.go"
	if (cd "$W/go" && CGO_ENABLED=0 go build -o gohello main.go) >/dev/null 2>&1; then
		run_prof "$W/gop" "$W/gop" -- /bin/sh -c "$W/go/gohello"
		eq "Go (CGO_ENABLED=0) child runs normally" "$(cat "$W/gop.out")" "go ok"
		dump_spans "$W/gop" "$W/gop.dump"
		ge "Go child: static-binary diagnostic" "$(grep -c '"code":2' "$W/gop.dump")" 1
	fi
fi
finish
