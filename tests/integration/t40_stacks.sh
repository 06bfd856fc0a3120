#!/bin/bash
# t40_stacks.sh: call stacks. A C agent with known function names calls the mock
# provider from two call paths (tests/targets/stack_paths.c); the flame graph must show both
# paths with the right functions and no frame from the other path: with libunwind, with the
# frame-pointer fallback, through libcurl and through plain sockets. Also: AGENTPROF_STACKS=0,
# a binary rebuilt after the run (build-id mismatch: module+offset, never wrong names), the
# preload's linkage (libunwind only dlopen()ed, no __tls_get_addr) and the capture benchmark.
. "$(dirname "$0")/lib.sh"

require_preload "stacks" || finish
mock_up || { fail "mock provider" "did not start"; finish; }
if ! make -s -C "$AP_TGT_SRC" OUT="$AP_TGT" "$AP_TGT/stack_paths" >"$W/make.log" 2>&1; then
	fail "build stack_paths" "$(tail -3 "$W/make.log" | tr '\n' '|')"
	finish
fi

# --- linkage -----------------------------------------------------------------------------------
if ldd "$AP_LIB" | grep -q libunwind; then
	fail "libunwind not linked" "$(ldd "$AP_LIB" | grep libunwind)"
else
	ok "libunwind not linked (dlopen RTLD_LOCAL only)"
fi
eq "no __tls_get_addr in the preload" "$(objdump -d "$AP_LIB" | grep -c '__tls_get_addr')" 0

# --- two call paths --------------------------------------------------------------------------
# check_paths LABEL FOLDED: both leaves present, each with its own path and none of the other's
check_paths() {
	AP_T=$T LABEL=$1 "$PY" - "$2" <"$AP_ROOT/tests/integration/checkers/t40_stacks.py"
}

# run_case LABEL ENV... -- ARGS...: profile stack_paths, then check its flame graph
run_case() {
	local label=$1 d=$W/$2 env=()
	shift 2
	while [ "$1" != -- ]; do
		env+=("$1")
		shift
	done
	shift
	mkdir -p "$d"
	if env "${env[@]}" LD_PRELOAD="$AP_LIB" AGENTPROF_OUT="$d" timeout -k 5 "$AP_TMO" \
		"$AP_TGT/stack_paths" "$@" >"$d.out" 2>"$d.err"; then
		ok "$label: agent ran ($(cat "$d.out"))"
	else
		fail "$label: agent ran" "exit $?: $(head -c 300 "$d.err")"
		return 1
	fi
	if "$AP_VIEW" flamegraph "$d" >"$d.folded" 2>"$d.ferr"; then
		ok "$label: flamegraph"
	else
		fail "$label: flamegraph" "exit $?: $(head -c 300 "$d.ferr")"
		return 1
	fi
	_out=$(check_paths "$label" "$d.folded")
	printf '%s\n' "$_out"
	_AP_PASS=$((_AP_PASS + $(printf '%s\n' "$_out" | grep -c '^ok - ')))
	_AP_FAIL=$((_AP_FAIL + $(printf '%s\n' "$_out" | grep -c '^FAIL - ')))
}

run_case "libunwind, libcurl" unw_curl -- "$PLAIN" 3
run_case "libunwind, sockets" unw_raw -- -r "$PLAIN" 2
run_case "frame pointers, sockets" fp_raw AGENTPROF_UNWIND=fp -- -r "$PLAIN" 2
run_case "libunwind, TLS via libcurl" unw_tls AP_TEST_CA="$AP_CA" -- "$TLSURL" 1

# calls weight: 3 rounds = 3 calls per path
got=$("$AP_VIEW" flamegraph --weight calls "$W/unw_curl" 2>/dev/null |
	awk '/model-plan [0-9]+$/ {p += $NF} /model-review [0-9]+$/ {r += $NF} END {print p + 0, r + 0}')
eq "--weight calls counts each call once" "$got" "3 3"
if "$AP_VIEW" flamegraph --weight bogus "$W/unw_curl" >/dev/null 2>"$W/bogus.err"; then
	fail "--weight bogus is refused" "exit 0"
else
	eq "--weight bogus is refused (exit 2)" "$?" 2
fi
if "$AP_VIEW" flamegraph --json "$W/unw_curl" >"$W/tree.json" 2>/dev/null &&
	"$PY" -c 'import json,sys; t=json.load(open(sys.argv[1])); assert t["exchanges_with_stack"]==t["exchanges"]==6; assert t["root"]["children"]' "$W/tree.json"; then
	ok "flamegraph --json: merged tree, every exchange with a stack"
else
	fail "flamegraph --json" "$(head -c 300 "$W/tree.json")"
fi

# --- AGENTPROF_STACKS=0 ----------------------------------------------------------------------
d=$W/nostacks
mkdir -p "$d"
AGENTPROF_STACKS=0 LD_PRELOAD="$AP_LIB" AGENTPROF_OUT="$d" timeout -k 5 "$AP_TMO" \
	"$AP_TGT/stack_paths" "$PLAIN" 1 >/dev/null 2>&1
"$AP_VIEW" flamegraph "$d" >"$d.folded" 2>"$d.err"
if [ -s "$d.folded" ] && ! grep -q ';' "$d.folded" && grep -q 'no call stacks' "$d.err"; then
	ok "AGENTPROF_STACKS=0: endpoints only, with a note"
else
	fail "AGENTPROF_STACKS=0" "$(head -3 "$d.folded" | tr '\n' '|') / $(head -c 200 "$d.err")"
fi

# --- binary rebuilt after the run: no wrong names ----------------------------------------------
mkdir -p "$W/bin" "$W/rebuilt"
cp "$AP_TGT/stack_paths" "$W/bin/agent_copy"
LD_PRELOAD="$AP_LIB" AGENTPROF_OUT="$W/rebuilt" timeout -k 5 "$AP_TMO" \
	"$W/bin/agent_copy" "$PLAIN" 1 >/dev/null 2>&1
cc -O1 -g -D_GNU_SOURCE -o "$W/bin/agent_copy" "$AP_TGT_SRC/stack_paths.c" -lcurl 2>"$W/cc.err"
"$AP_VIEW" flamegraph "$W/rebuilt" >"$W/rebuilt.folded" 2>"$W/rebuilt.err"
if grep -q 'agent_copy changed since the run' "$W/rebuilt.err" &&
	grep -q 'agent_copy+0x' "$W/rebuilt.folded" && ! grep -q 'plan_task' "$W/rebuilt.folded"; then
	ok "rebuilt binary: warning, frames as module+offset, no names from the new file"
else
	fail "rebuilt binary" "$(head -c 200 "$W/rebuilt.err") / $(head -2 "$W/rebuilt.folded" | tr '\n' '|')"
fi
rm -f "$W/bin/agent_copy"
"$AP_VIEW" flamegraph "$W/rebuilt" >"$W/gone.folded" 2>"$W/gone.err"
if grep -q 'not readable now' "$W/gone.err" && grep -q 'agent_copy+0x' "$W/gone.folded"; then
	ok "deleted binary: a note, frames as module+offset"
else
	fail "deleted binary" "$(head -c 200 "$W/gone.err")"
fi

# --- a thread's stack mapping: asked of the kernel, not read from the maps text ----------------
# Linux 6.11+ answers PROCMAP_QUERY on /proc/self/maps: each new thread's first capture opens the
# file, asks for the mapping holding its stack pointer and closes it, reading no text (the text
# read formats every mapping under the address space's lock: 50-100 us a thread, and the host's
# mmap and page faults wait meanwhile). Older kernels refuse the ioctl and the text is read.
# Threads that unwind at most four times (fdreopen's make one or three exchanges each) never get
# libunwind's per-thread trace cache, a 256 KiB anonymous mapping filled at a thread's first
# unw_backtrace: their walks step frame by frame.
kv=$(uname -r | awk -F'[.-]' '{print $1 * 1000 + $2}')
if ! command -v strace >/dev/null 2>&1; then
	skip "stack mapping query" "strace not installed"
else
	build_targets >/dev/null 2>&1
	rm -rf "$W/mq"
	mkdir -p "$W/mq"
	timeout -k 5 60 strace -f -qq -e trace=openat,read,ioctl,close,mmap -o "$W/mq.strace" \
		env LD_PRELOAD="$AP_LIB" AGENTPROF_OUT="$W/mq" "$AP_TGT/fdreopen" "$MOCK_PORT" 3 \
		>"$W/mq.out" 2>"$W/mq.err"
	verdict=$(python3 - "$W/mq.strace" <<'PY'
import re, sys
fds = {}  # (pid, fd) of an open /proc/self/maps
opened = queried = texts = caches = 0
for line in open(sys.argv[1]):
    m = re.match(r"(\d+) +(\w+)\((.*)\) += (-?\d+)", line)
    if not m:
        continue
    pid, call, args, rc = m.group(1), m.group(2), m.group(3), int(m.group(4))
    if call == "mmap" and re.match(r"NULL, 262144, PROT_READ\|PROT_WRITE, MAP_PRIVATE\|MAP_ANONYMOUS,", args):
        caches += 1
        continue
    if call == "openat" and '"/proc/self/maps"' in args and rc >= 0:
        fds[(pid, rc)] = 1
        opened += 1
        continue
    fd = args.split(",")[0].strip()
    key = (pid, int(fd)) if fd.isdigit() else None
    if key in fds:
        if call == "ioctl" and "0x66, 0x11" in args:
            queried += 1
        elif call == "read":
            texts += 1
        elif call == "close":
            del fds[key]
print(opened, queried, texts, caches)
PY
)
	set -- $verdict
	if [ "$(tail -1 "$W/mq.out")" != "fds ok" ] || [ "${1:-0}" -lt 2 ]; then
		fail "stack mapping query" "opened/queried/text reads/trace caches: ${verdict:-none}; $(tail -2 "$W/mq.out" | tr '\n' '|')"
	else
		if [ "$kv" -lt 6011 ]; then
			skip "stack mapping query" "kernel $(uname -r) predates PROCMAP_QUERY"
		elif [ "$2" = "$1" ] && [ "$3" = 0 ]; then
			ok "stack mappings of $1 threads asked of the kernel (PROCMAP_QUERY), no maps text read"
		else
			fail "stack mapping query" "opened/queried/text reads: $1/$2/$3"
		fi
		eq "threads that unwind at most four times map no libunwind trace cache" "$4" 0
	fi
fi

# --- cost per capture ----------------------------------------------------------------------------
if [ -x "$AP_ROOT/scripts/bench-stacks.sh" ] &&
	REPS=20000 "$AP_ROOT/scripts/bench-stacks.sh" >"$W/bench.out" 2>&1; then
	if grep -q 'libunwind .*seen-before' "$W/bench.out" && grep -q 'frame-pointer .*seen-before' "$W/bench.out"; then
		ok "bench-stacks: $(grep -h seen-before "$W/bench.out" | awk '{print $2 "=" $(NF-1) "ns"}' | tr '\n' ' ')"
	else
		fail "bench-stacks output" "$(head -c 300 "$W/bench.out")"
	fi
else
	fail "bench-stacks runs" "$(tail -3 "$W/bench.out" 2>/dev/null | tr '\n' '|')"
fi
finish
