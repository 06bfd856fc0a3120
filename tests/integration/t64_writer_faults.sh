#!/bin/bash
# t64_writer_faults: write faults are transient and damage is contained. EMFILE while the file
# is first needed, and a full disk for the first 1.5 s (a 1 MiB tmpfs filled up): every
# exchange is still recorded once the fault clears, a diagnostic says what happened and stderr
# says why. The reader resynchronises after a corrupt frame in the middle of a file (the later
# frames are read, the viewer names the file and the bytes skipped). A file swapped for a FIFO
# between flushes stops our writing there, with a warning, and never blocks the host.
. "$(dirname "$0")/lib.sh"

require_preload writer-faults || finish
build_targets || finish
mock_up || { fail "mock" "cannot start the mock provider"; finish; }

# --- EMFILE ---------------------------------------------------------------------------------
run_prof "$W/em" "$W/em" AGENTPROF_FLUSH_MS=5 -- "$AP_TGT/wrstress" emfile "$MOCK_PORT" 5
eq "EMFILE: host exit status" "$(cat "$W/em.rc")" 0
eq "EMFILE: the host made 7 exchanges" "$(cat "$W/em.out")" "exchanges 7"
dump_spans "$W/em" "$W/em.dump"
eq "EMFILE: all 7 recorded (buffered while no fd was free)" "$(grep -c '"path":"/health"' "$W/em.dump")" 7
ge "EMFILE: a diagnostic in the file says writing resumed" "$(grep -c 'writing resumed.*Too many open files' "$W/em.dump")" 1
ge "EMFILE: stderr says why" "$(grep -c '^agentprof: .*Too many open files.*retries' "$W/em.err")" 1
# only the creation of the file finds no fd (no flush fails): the file still says so
run_prof "$W/ec" "$W/ec" AGENTPROF_FLUSH_MS=5 -- "$AP_TGT/wrstress" emfilecreate "$MOCK_PORT" 5
eq "EMFILE at creation: the host made 7 exchanges, all recorded" \
	"$(cat "$W/ec.out") $(dump_spans "$W/ec" "$W/ec.dump"; grep -c '"path":"/health"' "$W/ec.dump")" "exchanges 7 7"
ge "EMFILE at creation: a diagnostic in the file says writing resumed" \
	"$(grep -c 'writing resumed.*Too many open files' "$W/ec.dump")" 1

# --- ENOSPC for the first 1.5 s ---------------------------------------------------------------
M=$W/full
mkdir -p "$M"
if mount -t tmpfs -o size=1m tmpfs "$M" 2>/dev/null; then
	dd if=/dev/zero of="$M/filler" bs=4k 2>/dev/null
	mkdir -p "$M/out" 2>/dev/null || { rm -f "$M/filler"; mkdir -p "$M/out"; dd if=/dev/zero of="$M/filler" bs=4k 2>/dev/null; }
	env LD_PRELOAD="$AP_LIB" AGENTPROF_OUT="$M/out" AGENTPROF_FLUSH_MS=20 \
		"$AP_TGT/wrstress" timed "$MOCK_PORT" 100 >"$W/ns.out" 2>"$W/ns.err" &
	pid=$!
	sleep 1.5
	rm -f "$M/filler"
	wait $pid
	eq "ENOSPC: host exit status" "$?" 0
	dump_spans "$M/out" "$W/ns.dump"
	eq "ENOSPC: the host made 100 exchanges" "$(cat "$W/ns.out")" "exchanges 100"
	eq "ENOSPC: all 100 recorded after the disk had room again" \
		"$(grep -c '"path":"/health"' "$W/ns.dump")" 100
	eq "ENOSPC: the file is sound" "$(grep -c '"damaged":0' "$W/ns.dump")" 1
	ge "ENOSPC: stderr says why" "$(grep -c 'No space left' "$W/ns.err")" 1
	# full in the middle of the run: frames fail part-way and are cut back, records wait
	rm -rf "$M/out"
	mkdir -p "$M/out"
	env LD_PRELOAD="$AP_LIB" AGENTPROF_OUT="$M/out" AGENTPROF_FLUSH_MS=20 \
		"$AP_TGT/wrstress" timed "$MOCK_PORT" 120 >"$W/nm.out" 2>"$W/nm.err" &
	pid=$!
	sleep 0.5
	dd if=/dev/zero of="$M/filler" bs=4k 2>/dev/null
	sleep 1
	rm -f "$M/filler"
	wait $pid
	dump_spans "$M/out" "$W/nm.dump"
	eq "disk full mid-run: all 120 recorded" "$(grep -c '"path":"/health"' "$W/nm.dump")" 120
	eq "disk full mid-run: no torn frame left in the file" "$(grep -c '"damaged":0' "$W/nm.dump")" 1
	zstd -t "$(span_files "$M/out" | head -1)" >/dev/null 2>&1 && ok "disk full mid-run: zstd -t passes" ||
		fail "disk full mid-run: zstd -t" "$(zstd -t "$(span_files "$M/out" | head -1)" 2>&1 | tail -1)"
	umount "$M"
else
	skip "ENOSPC" "cannot mount a tmpfs here (needs root)"
fi

# --- a corrupt frame in the middle: resynchronise --------------------------------------------
run_prof "$W/cf" "$W/cf" AGENTPROF_FLUSH_MS=1 -- "$AP_TGT/wrstress" timed "$MOCK_PORT" 30
f=$(span_files "$W/cf" | head -1)
frames=$(python3 - "$f" <<'PY'
import sys
b = open(sys.argv[1], "rb").read()
m = b"\x28\xb5\x2f\xfd"
offs = [i for i in range(len(b)) if b.startswith(m, i)]
print(len(offs), offs[1] if len(offs) > 2 else 0, offs[2] if len(offs) > 2 else 0)
PY
)
set -- $frames
if [ "${1:-0}" -ge 3 ]; then
	cp "$f" "$W/cf/orig"
	python3 - "$f" "$2" "$3" <<'PY'
import sys
p, a, b = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
d = bytearray(open(p, "rb").read())
d[(a + b) // 2] ^= 0x55
open(p, "wb").write(d)
PY
	before=$("$AP_TGT/apdump" "$W/cf/orig" | grep -c '"path":"/health"')
	after=$("$AP_TGT/apdump" "$f" | grep -c '"path":"/health"')
	lost=$((before - after))
	if [ "$after" -gt 0 ] && [ "$lost" -lt 10 ] && [ "$lost" -ge 0 ]; then
		ok "corrupt frame 2 of $1: later frames still read ($after of $before exchanges; $lost in the bad frame)"
	else
		fail "corrupt frame: later frames read" "$after of $before"
	fi
	"$AP_VIEW" summary "$W/cf" >"$W/cf.sum" 2>"$W/cf.serr"
	grep -q "$(basename "$f").*resynchronised, [0-9]* bytes skipped" "$W/cf.serr" &&
		ok "viewer names the file and the bytes skipped" ||
		fail "viewer note on resync" "$(head -c 300 "$W/cf.serr")"
else
	fail "corrupt frame" "the source file has only ${1:-0} frames"
fi

# --- our file swapped for a FIFO between flushes ---------------------------------------------
mkdir -p "$W/sw"
env LD_PRELOAD="$AP_LIB" AGENTPROF_OUT="$W/sw" AGENTPROF_FLUSH_MS=10 \
	"$AP_TGT/wrstress" timed "$MOCK_PORT" 60 >"$W/sw.out" 2>"$W/sw.err" &
pid=$!
sleep 0.5
f=$(span_files "$W/sw" | head -1)
if [ -n "$f" ]; then
	rm -f "$f"
	mkfifo "$f"
fi
clock_start
wait $pid
eq "swapped file: host exit status" "$?" 0
eq "swapped file: host finished its work" "$(cat "$W/sw.out")" "exchanges 60"
grep -q 'agentprof: .*replaced.*recording stops' "$W/sw.err" && ok "swapped file: a warning says we stopped writing there" ||
	fail "swapped file warning" "$(head -c 300 "$W/sw.err")"
finish
