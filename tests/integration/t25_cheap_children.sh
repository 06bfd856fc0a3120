#!/bin/bash
# t25_cheap_children: a profiled process that makes no tracked call stays cheap: libnghttp2,
# libunwind and zlib are not mapped while it runs (they load at the first HTTP/2 connection,
# stack or compressed body), and its file at exit is the header plus one zstd frame of a stored
# block with a content checksum (no compressor set up for a few hundred bytes), appended to the
# process log (no file of its own), which zstd and the viewer read. A process with more records than one stored block holds still gets a
# compressed frame. A renamed copy of the library does not inline-hook its own SSL_* wrappers.
# No CPUID constructor of libgcc's runs at start.
. "$(dirname "$0")/lib.sh"

require_preload cheap-children || finish

# a short program that is alive long enough to look at its mappings
mkdir -p "$W/sleep"
LD_PRELOAD=$AP_LIB AGENTPROF_OUT=$W/sleep sleep 2 &
SP=$!
sleep 0.5
cp "/proc/$SP/maps" "$W/sleep.maps" 2>/dev/null
wait $SP
eq "sleep under the preload: exit status 0" "$?" 0
ge "its mappings were read" "$(grep -c libagentprof "$W/sleep.maps")" 1
eq "libnghttp2 not mapped (loaded at the first HTTP/2 connection)" "$(grep -c libnghttp2 "$W/sleep.maps")" 0
eq "libunwind not mapped (loaded at the first stack)" "$(grep -c libunwind "$W/sleep.maps")" 0
eq "zlib not mapped (loaded at the first compressed body)" "$(grep -c 'libz\.so' "$W/sleep.maps")" 0

# no CPUID at every start: libgcc's __builtin_cpu_supports constructor (a series of CPUIDs, each
# a VM exit) is not linked in; the AVX2 check asks what the dynamic loader found
eq "libgcc's __cpu_indicator_init not linked into the library" \
	"$(nm "$AP_LIB" 2>/dev/null | grep -c '__cpu_indicator_init\|__cpu_model')" 0
ge "nm read the library's symbols" "$(nm "$AP_LIB" 2>/dev/null | grep -c ' ap_')" 10

# a copy of the library under another name: still no TLS library of its own found in it (our
# SSL_* wrappers are never taken for a linked-in OpenSSL: capstone is not even loaded)
cp "$AP_LIB" "$W/renamed-profiler.so"
LD_DEBUG=files LD_PRELOAD=$W/renamed-profiler.so AGENTPROF_OUT=$W/sleep /bin/true 2>"$W/renamed.ld"
eq "renamed library: capstone not loaded (no inline hooks on ourselves)" \
	"$(grep -c 'file=libcapstone' "$W/renamed.ld")" 0
ge "renamed library: the loader trace was read" "$(grep -c 'renamed-profiler.so' "$W/renamed.ld")" 1

# the short child creates no file: its start and end go to the process log as a header and
# one stored-block frame
run_prof "$W/kid" "$W/kid" /bin/sh -c '/bin/true; exit 3'
eq "sh -c 'true; exit 3': exit status unchanged" "$(cat "$W/kid.rc")" 3
eq "true created no file of its own" "$(span_files "$W/kid" | grep -c '/agentprof\.true\.')" 0
F=$(span_files "$W/kid" | grep '/agentprof\.procs\.zst$' | head -1)
if [ -n "$F" ]; then
	ok "true's records are in the process log"
	# bytes 24..: zstd magic 28 b5 2f fd, descriptor a4, 4-byte size, block header (type bits 1-2)
	hdr=$(od -An -tx1 -j24 -N12 "$F" | tr -d ' \n')
	eq "frame magic after the 24-byte header" "${hdr:0:8}" 28b52ffd
	eq "frame descriptor: content size, single segment, checksum (a4)" "${hdr:8:2}" a4
	eq "one last raw block (block type 0, last bit set)" "$((0x${hdr:18:2} & 7))" 1
	if command -v zstd >/dev/null; then
		zstd -tq "$F" && ok "zstd -t verifies the stored-block frame" || fail "zstd -t" "$F"
	fi
else
	fail "true's records are in the process log" "$(ls "$W/kid")"
fi
ap_export "$W/kid" "$W/kid.jsonl"
check_py "$W/kid.jsonl" <<'PY'
procs = [r for r in A if r.get("kind") == "process"]
t = [p for p in procs if (p.get("exe") or "").endswith("/true")]
s = [p for p in procs if (p.get("exe") or "").endswith("sh")]
check("the viewer reads true's process record (exit code 0)", len(t) == 1 and t[0].get("exit_code") == 0,
      repr(procs))
check("and sh's (exit code 3)", len(s) == 1 and s[0].get("exit_code") == 3, repr(procs))
PY

# many records in one flush (more than 4 KiB): a compressed frame, not a stored block
mock_start many || finish
AGENTPROF_FLUSH_MS=60000 run_prof "$W/many" "$W/many" "$PY" -c '
import http.client, sys
for i in range(60):
    c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]))
    c.request("POST", "/v1/chat/completions", body="{\"model\":\"m\",\"messages\":[]}",
              headers={"Content-Type": "application/json"})
    c.getresponse().read()
    c.close()
' "$many_PORT"
eq "60 calls from python: exit status 0" "$(cat "$W/many.rc")" 0
# frame kinds of a file: "raw" (one stored block) or "zstd" (compressed blocks), in order
frames() {
	"$PY" - "$1" <"$AP_ROOT/tests/integration/checkers/t25_cheap_children.py"
}
F=$(span_files "$W/many" | head -1)
fr=$([ -n "$F" ] && frames "$F")
eq "one flush of 60 exchanges: one compressed frame" "$fr" zstd
eq "the short child's unit in the process log: one stored-block frame" "$(frames "$(span_files "$W/kid" | grep '/agentprof\.procs\.zst$' | head -1)")" raw
ap_export "$W/many" "$W/many.jsonl"
check_py "$W/many.jsonl" <<'PY'
x = [r for r in A if r.get("kind") == "exchange" and r.get("path") == "/v1/chat/completions"]
check("the viewer reads the 60 exchanges", len(x) == 60, str(len(x)))
PY
finish
