#!/bin/bash
# t74_pipelining: a raw Python socket writes N requests at once (HTTP/1.1 pipelining) to the mock.
# The parser tracks 4 at a time: at depth 4 every exchange is recorded; deeper, the first 4 are
# recorded, every response stays matched to its own request, and the excess is counted as drops
# that the summary shows (never "Drops: none") with a diagnostic saying why.
. "$(dirname "$0")/lib.sh"

mock_up || { fail "mock" "cannot start the mock provider"; finish; }
require_preload pipelining || finish
S=$AP_TGT_SRC/py_pipeline.py
for n in 4 9; do
	rm -rf "$W/p$n"
	run_bare "$W/bare$n" "$PY" "$S" "$MOCK_PORT" "$n"
	eq "depth $n: works without the preload" "$(tail -1 "$W/bare$n.out")" "responses $n"
	run_prof "$W/p$n" "$W/prof$n" "$PY" "$S" "$MOCK_PORT" "$n"
	same_file "depth $n: output unchanged under the preload" "$W/bare$n.out" "$W/prof$n.out"
	profile_and_export "depth $n" "$W/p$n" "$W/p$n.jsonl" || finish
	timeout -k 5 "$AP_TMO" "$AP_VIEW" summary "$W/p$n" >"$W/sum$n.txt" 2>&1
done

check_py "$W/p4.jsonl" <<'PY'
xs = [x for x in X if (x.get("path") or "").startswith(("/tool/pipe", "/health"))]
eq("depth 4: all four recorded, in order", [x.get("path") for x in xs], ["/health?i=0", "/tool/pipe1", "/health?i=2", "/tool/pipe3"])
eq("depth 4: each with its own response", [x.get("status") for x in xs], [200, 404, 200, 404])
PY
check_py "$W/p9.jsonl" <<'PY'
xs = [x for x in X if (x.get("path") or "").startswith(("/tool/pipe", "/health"))]
eq("depth 9: the first four recorded", [x.get("path") for x in xs], ["/health?i=0", "/tool/pipe1", "/health?i=2", "/tool/pipe3"])
eq("depth 9: responses matched", [x.get("status") for x in xs], [200, 404, 200, 404])
PY
check "depth 4: summary says no drops" grep -q "^Drops: none" "$W/sum4.txt"
check "depth 9: summary counts the 5 unrecorded requests as drops" grep -q "^Drops: 5 records" "$W/sum9.txt"
check "depth 9: summary says why (pipelined more than 4 deep)" grep -q "pipelined more than 4 deep" "$W/sum9.txt"
finish
