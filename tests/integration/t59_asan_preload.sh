#!/bin/bash
# t59_asan_preload: the preload itself under AddressSanitizer (docs/internals/contract.md §10):
# LD_PRELOAD=libasan.so:build/targets/libagentprof-asan.so against the C fixtures (HTTP,
# fork with a busy thread, fd chaos, every exit path, spawns, signal-handler sends, RTLD_LOCAL
# copies, fortified reads). No ASan report, same output as without
# the preload, span files decode.
. "$(dirname "$0")/lib.sh"

require_preload asan || finish
build_targets || finish
mock_up || { fail "mock" "cannot start the mock provider"; finish; }
ASAN_RT=$(gcc -print-file-name=libasan.so)
[ -f "$ASAN_RT" ] || { fail "asan runtime" "gcc -print-file-name=libasan.so: $ASAN_RT"; finish; }
ALIB=$AP_TGT/libagentprof-asan.so
cp "$AP_TGT_SRC/fake_response.txt" "$W/fake.txt"
mkdir -p "$W/sb" "$W/sa"

# asan_run NAME COMPARE CMD...: COMPARE=1 diffs stdout with a run without the preload
asan_run() {
	local name=$1 cmp=$2
	shift 2
	mkdir -p "$W/$name"
	[ "$cmp" = 1 ] && run_bare "$W/$name.bare" "$@"
	timeout -k 5 "$AP_TMO" env LD_PRELOAD="$ASAN_RT:$ALIB" AGENTPROF_OUT="$W/$name" \
		ASAN_OPTIONS=detect_leaks=0:abort_on_error=0:exitcode=99 "$@" >"$W/$name.out" 2>"$W/$name.err"
	local rc=$?
	if grep -q 'ERROR: AddressSanitizer' "$W/$name.err"; then
		fail "$name under ASan" "$(grep -A3 'ERROR: AddressSanitizer' "$W/$name.err" | head -4 | tr '\n' '|')"
		return
	fi
	if [ "$cmp" = 1 ]; then
		if [ "$rc" = "$(cat "$W/$name.bare.rc")" ] && cmp -s "$W/$name.bare.out" "$W/$name.out"; then
			ok "$name under ASan: no report, same output and status"
		else
			fail "$name under ASan: same output and status" "rc $rc vs $(cat "$W/$name.bare.rc"): $(diff "$W/$name.bare.out" "$W/$name.out" | head -3 | tr '\n' '|')"
		fi
	else
		[ "$rc" != 99 ] && ok "$name under ASan: no report (rc $rc)" || fail "$name under ASan" "rc 99"
	fi
	if [ -n "$(span_files "$W/$name")" ] && ! ap_export "$W/$name" "$W/$name.jsonl"; then
		fail "$name under ASan: span files decode" "$(head -c 200 "$W/$name.jsonl.err")"
	fi
}

# (not ctor_main: .preinit_array and other libraries' constructors run before the ASan runtime
# is initialised, where no instrumented code can run; t51 covers them with the real build)
asan_run errno 1 "$AP_TGT/errno_new" "$MOCK_PORT"
asan_run fdchaos 1 "$AP_TGT/fdchaos" "$MOCK_PORT" "$W/fake.txt"
asan_run forkthr 0 "$AP_TGT/forkthr" "$MOCK_PORT" 8
asan_run rtld 1 "$AP_TGT/rtld_local" "$AP_TGT" nodeep # ASan refuses RTLD_DEEPBIND
asan_run fortify 1 "$AP_TGT/fortify" "$MOCK_PORT"
asan_run spawnall 0 "$AP_TGT/spawnall" "$W/sa" "$AP_TGT/static_hello"
asan_run sigprof 0 "$AP_TGT/sigprof" "$MOCK_PORT" 2
for m in exit _exit threads8 tlsdtor late spawn; do
	asan_run "exits-$m" 0 "$AP_TGT/exits" "$m" "$MOCK_PORT" 3
done
finish
