#!/bin/bash
# t71_viewer_files: the viewer and hostile files. A FIFO inside a run directory, or named
# directly, is skipped with a note instead of hanging the viewer; file names with terminal
# escapes are printed escaped (\xNN), never raw; and grouping endpoints by path without the
# query (summary, diff) is clean under AddressSanitizer with many distinct paths (the string
# table it adds to may move while the path being added points into it).
. "$(dirname "$0")/lib.sh"

require_preload viewer-files || finish
build_targets || finish

R=$W/run
mkdir -p "$R"
"$AP_TGT/gen_spans" flat "$R/agentprof.python3.4242.zst" 300
mkfifo "$R/agentprof.fifo.777.zst"
timeout -k 2 10 "$AP_VIEW" summary "$R" >"$W/fifo_dir.out" 2>"$W/fifo_dir.err"
eq "a FIFO inside the run directory: summary completes (124 = hung)" "$?" 0
check "a FIFO inside the run directory: skipped with a note" grep -q 'agentprof.fifo.777.zst: not a regular file, skipped' "$W/fifo_dir.err"
check "a FIFO inside the run directory: the real file is still shown" grep -qi 'tool/search' "$W/fifo_dir.out"
timeout -k 2 10 "$AP_VIEW" summary "$R/agentprof.fifo.777.zst" >"$W/fifo_named.out" 2>"$W/fifo_named.err"
rc=$?
check "a FIFO named directly: no hang (exit $rc, 124 = hung)" test "$rc" != 124
check "a FIFO named directly: a note says why" grep -q 'not a regular file, skipped' "$W/fifo_named.err"
timeout -k 2 10 "$AP_VIEW" summary --prices "$R/agentprof.fifo.777.zst" "$R" >"$W/fifo_prices.out" 2>"$W/fifo_prices.err"
rc=$?
eq "a FIFO as --prices: refused with exit 2, no hang (124 = hung)" "$rc" 2
check "a FIFO as --prices: says it is not a regular file" grep -q 'not a regular file' "$W/fifo_prices.err"
rm -f "$R/agentprof.fifo.777.zst"

# a file name carrying terminal escapes (title change, clear screen) in a damaged file's note
E=$W/esc
mkdir -p "$E"
bad="agentprof.x$(printf '\033]0;pwned\007\033[2J')y.1.zst"
"$AP_TGT/gen_spans" flat "$E/agentprof.ok.1.zst" 30
head -c 100 "$R/agentprof.python3.4242.zst" >"$E/$bad"
timeout -k 2 10 "$AP_VIEW" summary "$E" >"$W/esc.out" 2>"$W/esc.err"
check "escaped name: the note about the damaged file is printed" grep -q 'truncated after' "$W/esc.err"
eq "escaped name: no ESC or BEL byte reaches the terminal (stderr)" "$(tr -dc '\033\007' <"$W/esc.err" | wc -c)" 0
check "escaped name: shown as \\x1b]0;pwned\\x07" grep -qF 'agentprof.x\x1b]0;pwned\x07\x1b[2Jy.1.zst' "$W/esc.err"
E2="$W/run$(printf '\033[31m')b"
mkdir -p "$E2"
cp "$R/agentprof.python3.4242.zst" "$E2/"
timeout -k 2 10 "$AP_VIEW" diff "$R" "$E2" >"$W/diffesc.out" 2>&1
eq "diff: no ESC byte in the header naming the runs" "$(tr -dc '\033' <"$W/diffesc.out" | wc -c)" 0

# endpoint grouping under ASan: many distinct paths with a query string
ASAN=$(gcc -print-file-name=libasan.so 2>/dev/null)
if [ ! -f "$ASAN" ]; then
	skip "path_noquery under ASan" "libasan not found"
	finish
fi
for n in 300 3000; do
	Q=$W/q$n
	mkdir -p "$Q" "$Q.b"
	"$AP_TGT/gen_spans" flat "$Q/agentprof.python3.4242.zst" $n distinct
	"$AP_TGT/gen_spans" flat "$Q.b/agentprof.python3.4242.zst" $((n + 7)) distinct
	for cmd in "summary $Q" "summary --json $Q" "diff $Q $Q.b"; do
		# shellcheck disable=SC2086
		LD_PRELOAD=$ASAN ASAN_OPTIONS=detect_leaks=0:exitcode=99 timeout -k 2 120 "$AP_VIEW" $cmd \
			>"$W/asan.out" 2>"$W/asan.err"
		rc=$?
		eq "ASan: ${cmd%% *} ($n distinct query paths): exit 0, no report" \
			"$rc $(grep -c 'AddressSanitizer' "$W/asan.err")" "0 0"
	done
done
finish
