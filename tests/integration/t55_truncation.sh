#!/bin/bash
# t55_truncation: a real span file (21 frames) truncated at every byte offset and with byte
# flips (docs/internals/contract.md §6): the reader keeps the verified prefix and never crashes.
# In process for every offset (tests/fuzz/trunc_driver, ASan+UBSan, the viewer's own reader and
# model), and through build/agentprof-view (ASan-built) for 80 cuts and 40 flips: exit status
# 0 or 2, no sanitizer report, a note for damaged files, exchange counts never decreasing as
# the cut moves forward.
. "$(dirname "$0")/lib.sh"

require_preload truncation || finish
build_targets || finish
mock_up || { fail "mock" "cannot start the mock provider"; finish; }
if ! make -C "$AP_ROOT/tests/fuzz" --no-print-directory driver >"$W/fbuild.log" 2>&1; then
	fail "build trunc_driver" "$(grep -m3 -i error "$W/fbuild.log" | tr '\n' '|')"
	finish
fi
run_prof "$W/src" "$W/src" AGENTPROF_FLUSH_MS=1 -- "$AP_TGT/exits" exit "$MOCK_PORT" 20
F=$(span_files "$W/src" | head -1)
if [ -z "$F" ]; then
	fail "source file" "no span file"
	finish
fi
"$AP_BUILD/fuzz/trunc_driver" "$F" >"$W/drv.out" 2>&1
rc=$?
if [ $rc -eq 0 ] && tail -1 "$W/drv.out" | grep -q '^ok$'; then
	ok "every truncation ($(grep truncations "$W/drv.out" | cut -d, -f1 | sed 's/truncations: //')) and byte flip: verified prefix, no sanitizer report"
else
	fail "in-process truncations and flips" "rc $rc: $(grep -v '^ok' "$W/drv.out" | head -5 | tr '\n' '|')"
fi

size=$(stat -c %s "$F")
prev=-1
badmono=0
badrc=""
for i in $(seq 0 79); do
	cut=$((size * i / 80 + i % 7))
	[ $cut -gt "$size" ] && cut=$size
	mkdir -p "$W/cut"
	head -c "$cut" "$F" >"$W/cut/agentprof.exits.1.zst"
	"$AP_VIEW" export --format jsonl "$W/cut/agentprof.exits.1.zst" >"$W/cut.jsonl" 2>"$W/cut.err"
	rc=$?
	if { [ $rc -ne 0 ] && [ $rc -ne 2 ]; } || grep -qE 'AddressSanitizer|runtime error|LeakSanitizer' "$W/cut.err"; then
		badrc="$badrc $cut:rc$rc"
		continue
	fi
	n=$(grep -c '"kind":"exchange"' "$W/cut.jsonl")
	[ "$n" -lt "$prev" ] && badmono=$((badmono + 1))
	prev=$n
done
eq "agentprof-view on 80 truncations: exit 0/2 and no sanitizer report" "${badrc# }" ""
eq "agentprof-view: exchanges never decrease as the cut moves forward" "$badmono" 0
head -c $((size - 5)) "$F" >"$W/cut/agentprof.exits.1.zst"
"$AP_VIEW" summary "$W/cut/agentprof.exits.1.zst" >"$W/t.out" 2>"$W/t.err"
if grep -qi 'truncat\|damaged\|incomplete' "$W/t.err" "$W/t.out"; then
	ok "agentprof-view notes a truncated file"
else
	fail "agentprof-view notes a truncated file" "$(head -c 200 "$W/t.err")"
fi
full=$("$AP_VIEW" export --format jsonl "$F" 2>/dev/null | grep -c '"kind":"exchange"')
badflip=""
for i in $(seq 1 40); do
	off=$((24 + (size - 24) * i / 41))
	cp "$F" "$W/cut/agentprof.exits.1.zst"
	printf '\xa5' | dd of="$W/cut/agentprof.exits.1.zst" bs=1 seek=$off conv=notrunc status=none
	"$AP_VIEW" export --format jsonl "$W/cut/agentprof.exits.1.zst" >"$W/flip.jsonl" 2>"$W/flip.err"
	rc=$?
	n=$(grep -c '"kind":"exchange"' "$W/flip.jsonl")
	if { [ $rc -ne 0 ] && [ $rc -ne 2 ]; } || [ "$n" -gt "$full" ] ||
		grep -qE 'AddressSanitizer|runtime error' "$W/flip.err"; then
		badflip="$badflip $off:rc$rc:n$n"
	fi
done
eq "agentprof-view on 40 byte flips: exit 0/2, no sanitizer report, never more exchanges than the file has" "${badflip# }" ""
finish
