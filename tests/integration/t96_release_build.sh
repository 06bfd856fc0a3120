#!/bin/bash
# t96_release_build: `make` ships a release viewer: no sanitizer runtime linked (ldd), and it runs
# under the preload itself (agentprof run -- bash -c 'agentprof-view ...') with the viewer's own
# exit status: 0 for a met budget, 1 for a blown one, never a sanitizer abort. The viewer the
# other integration tests use is the sanitized build/san/ one, so coverage stays. With PGO=1 (the
# default with GCC) the preload is built with the training's profile: the training ran here, every
# one of our compilation units was compiled with it, the hot path it exercised (HTTP framing, SSE,
# TLS reads and writes, the writer, the record encoder) is laid out in .text.hot, and nothing of
# the instrumented build (libgcov, .gcda files) ships.
. "$(dirname "$0")/lib.sh"

REL=$AP_RELEASE_VIEW
if [ ! -x "$REL" ]; then
	fail "release viewer" "$REL not built (make)"
	finish
fi
libs=$(ldd "$REL" 2>&1)
if printf '%s' "$libs" | grep -qE 'asan|ubsan|tsan|lsan'; then
	fail "release viewer links no sanitizer" "$(printf '%s' "$libs" | grep -E 'san' | tr '\n' ' ')"
else
	ok "release viewer links no sanitizer (ldd)"
fi
if nm -D "$REL" 2>/dev/null | grep -q '__asan_\|__ubsan_'; then
	fail "release viewer has no sanitizer symbols" "found __asan_/__ubsan_"
else
	ok "release viewer has no sanitizer symbols"
fi
for b in "$AP_LAUNCHER" "$AP_LIB"; do
	if ldd "$b" 2>&1 | grep -qE 'asan|ubsan'; then fail "$(basename "$b") links no sanitizer" "$(ldd "$b")"; else ok "$(basename "$b") links no sanitizer"; fi
done

# --- profile feedback (Makefile PGO) ----------------------------------------------------------
n=$(nm "$AP_LIB" 2>/dev/null | grep -c '__gcov_')
eq "libagentprof.so carries no libgcov (the instrumented build is not shipped)" "$n" 0
mkdir -p "$W/gcov"
(cd "$W/gcov" && GCOV_PREFIX=$W/gcov LD_PRELOAD=$AP_LIB AGENTPROF_OUT=$W/gcov-spans /bin/true)
eq "a profiled program leaves no .gcda file" "$(find "$W/gcov" -name '*.gcda' | wc -l)" 0
if [ "$(cat "$AP_BUILD/pgo.stamp" 2>/dev/null)" = 1 ]; then
	eq "PGO=1: the training ran on this machine (build/pgo/trained)" \
		"$(cat "$AP_BUILD/pgo/trained" 2>/dev/null)" ok
	readelf --debug-dump=info "$AP_LIB" 2>/dev/null | grep DW_AT_producer |
		grep -- '-fvisibility=hidden' >"$W/producers"
	ours=$(wc -l <"$W/producers")
	used=$(grep -c -- '-fprofile-use' "$W/producers")
	nsrc=$(ls "$AP_ROOT"/preload/{core,runtime,hooks}/*.c | wc -l)
	if [ "$ours" -ge "$nsrc" ] && [ "$used" -eq "$ours" ]; then
		ok "PGO=1: all $ours of the preload's compilation units were compiled with -fprofile-use"
	else
		fail "PGO=1: every compilation unit compiled with -fprofile-use" \
			"$used of $ours units (want all, and >= $nsrc sources)"
	fi
	hot=""
	for fo in hooks/hook_ssl:SSL_read hooks/hook_ssl:SSL_write core/http:feed \
		runtime/rt_writer:seg_put core/codec:encode_exchange runtime/rt_conn:emit_from_parser; do
		o=$AP_BUILD/pic/preload/${fo%%:*}.o
		objdump -t "$o" 2>/dev/null | awk -v f="${fo#*:}" '$3 == "F" && $NF == f && $4 == ".text.hot" {h=1}
			END {exit !h}' || hot="$hot ${fo#*:}"
	done
	eq "PGO=1: the trained hot path (SSL_read, SSL_write, HTTP feed, seg_put, encode_exchange, emit_from_parser) is in .text.hot" \
		"${hot# }" ""
else
	n=$(find "$AP_BUILD/pic" -name '*.o' -exec objdump -h {} + 2>/dev/null | grep -c '\.text\.hot')
	eq "PGO=0: no object has a profile-made .text.hot section" "$n" 0
fi

if [ -x "$AP_BUILD/san/agentprof-view" ]; then
	if ldd "$AP_BUILD/san/agentprof-view" | grep -q asan; then
		ok "build/san/agentprof-view is the sanitized viewer the tests use"
	else
		fail "build/san/agentprof-view is sanitized" "no libasan in ldd"
	fi
else
	fail "build/san/agentprof-view" "not built (make unittest)"
fi

# a run to look at
mock_up || { fail "mock" "cannot start the mock provider"; finish; }
run_prof "$W/run" "$W/curl" curl -sS -d '{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}' \
	"$PLAIN/v1/chat/completions"
eq "a profiled curl" "$(cat "$W/curl.rc")" 0

# the release viewer under the preload, through the launcher (which puts build/ on LD_PRELOAD)
cd "$W" || exit 1
PATH=$AP_BUILD:$PATH timeout -k 5 "$AP_TMO" "$AP_LAUNCHER" run -o "$W/outer" --no-summary -- \
	bash -c "agentprof-view tokens --budget tokens=100000000 '$W/run'" >"$W/ok.out" 2>"$W/ok.err"
eq "agentprof run -- bash -c 'agentprof-view tokens --budget (met)': exit 0" "$?" 0
if grep -qi 'asan\|sanitizer' "$W/ok.err"; then fail "no sanitizer message" "$(head -3 "$W/ok.err")"; else ok "no sanitizer message under the preload"; fi
PATH=$AP_BUILD:$PATH timeout -k 5 "$AP_TMO" "$AP_LAUNCHER" run -o "$W/outer2" --no-summary -- \
	bash -c "agentprof-view tokens --budget tokens=1 '$W/run'" >"$W/over.out" 2>"$W/over.err"
eq "same with a blown budget: exit 1 (the budget, not a crash)" "$?" 1
if grep -q 'over' "$W/over.out" "$W/over.err" 2>/dev/null || grep -qi 'budget' "$W/over.out"; then
	ok "the blown budget is reported"
else
	fail "the blown budget is reported" "$(head -c 300 "$W/over.out")"
fi
finish
