#!/bin/bash
# t12_libcurl_multi: the libcurl multi API (tests/targets/curl_multi.c) running requests in
# parallel, each on its own connection, against a delayed endpoint:
#   run A (HTTPS): chat + anthropic messages at once, x-mock-delay-ms 500
#   run B (plain): three chats at once, x-mock-delay-ms 300
# The exchanges must overlap in time, each last at least the delay, and the run's wall time
# must show they really ran in parallel (less than the sum of the delays).
. "$(dirname "$0")/lib.sh"

mock_up || { fail "mock" "cannot start the mock provider"; finish; }
[ -x "$AP_TGT/curl_multi" ] || make -s -C "$AP_TGT_SRC" >/dev/null
export AP_TEST_CA=$AP_CA
A=(-q -H 'x-mock-delay-ms: 500' "$TLSURL/v1/chat/completions" "$TLSURL/v1/messages")
B=(-q -H 'x-mock-delay-ms: 300' "$PLAIN/v1/chat/completions" "$PLAIN/v1/chat/completions" "$PLAIN/v1/chat/completions")

run_bare "$W/bareA" "$AP_TGT/curl_multi" "${A[@]}"
eq "A: works without the preload" "$(cat "$W/bareA.rc")" 0
run_bare "$W/bareB" "$AP_TGT/curl_multi" "${B[@]}"
eq "B: works without the preload" "$(cat "$W/bareB.rc")" 0
el=$(sed -n 's/.*elapsed_ms=\([0-9]*\).*/\1/p' "$W/bareB.err")
if [ -n "$el" ] && [ "$el" -lt 850 ]; then ok "B: the client itself runs them in parallel (${el} ms)"; else
	fail "B: the client itself runs them in parallel" "elapsed ${el:-?} ms"
fi

require_preload libcurl-multi || finish
mock_mark
run_prof "$W/pA" "$W/profA" "$AP_TGT/curl_multi" "${A[@]}"
mock_since "$W/mockA.jsonl"
mock_mark
run_prof "$W/pB" "$W/profB" "$AP_TGT/curl_multi" "${B[@]}"
mock_since "$W/mockB.jsonl"
for r in A B; do
	eq "$r: exit status under the preload" "$(cat "$W/prof$r.rc")" 0
	same_file "$r: output unchanged under the preload" "$W/bare$r.out" "$W/prof$r.out"
done
el=$(sed -n 's/.*elapsed_ms=\([0-9]*\).*/\1/p' "$W/profB.err")
if [ -n "$el" ] && [ "$el" -lt 850 ]; then ok "B: still parallel under the preload (${el} ms)"; else
	fail "B: still parallel under the preload" "elapsed ${el:-?} ms"
fi

profile_and_export "A" "$W/pA" "$W/pA.jsonl" && check_py "$W/pA.jsonl" "$W/mockA.jsonl" <<'PY'
check_schema(X)
eq("A: two exchanges", len(X), 2)
match_mock(X, M, "A", endpoint=True)
eq("A: providers", sorted(str(x.get("provider")) for x in X), ["anthropic", "openai_compatible"])
check("A: the two exchanges overlap in time", len(X) == 2 and overlap(X[0], X[1]),
      repr([(x.get("start_ns"), x.get("end_ns")) for x in X]))
check("A: two connections", len({x.get("conn") for x in X}) == 2, repr([x.get("conn") for x in X]))
check("A: both >= 500 ms", all(dur_ms(x) >= 500 for x in X), repr([dur_ms(x) for x in X]))
check("A: one thread (multi drives both from one thread)", len({x.get("tid") for x in X}) == 1)
PY

profile_and_export "B" "$W/pB" "$W/pB.jsonl" && check_py "$W/pB.jsonl" "$W/mockB.jsonl" <<'PY'
check_schema(X)
eq("B: three exchanges", len(X), 3)
match_mock(X, M, "B", endpoint=True)
pairs = [(a, b) for i, a in enumerate(X) for b in X[i + 1:]]
check("B: every pair overlaps in time", len(X) == 3 and all(overlap(a, b) for a, b in pairs))
span = (max(x["end_ns"] for x in X) - min(x["start_ns"] for x in X)) / 1e6 if X else 0
check("B: together they span < 2 x 300 ms (parallel, not serial)", 300 <= span < 600, f"{span:.1f} ms")
check("B: three connections", len({x.get("conn") for x in X}) == 3)
PY
finish
