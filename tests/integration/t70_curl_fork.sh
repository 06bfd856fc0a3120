#!/bin/bash
# t70_curl_fork: fork() while libcurl multi transfers are finished but not yet collected. Both
# processes then read the DONE messages and remove the handles; the transfers are recorded once,
# in the parent's file (the child re-emits nothing it inherited), exactly as many as without
# the fork.
. "$(dirname "$0")/lib.sh"

require_preload curl-fork || finish
build_targets || finish
mock_up || { fail "mock" "cannot start the mock provider"; finish; }

run_prof "$W/nofork" "$W/nofork" -- "$AP_TGT/curl_fork" "$MOCK_PORT" 6 nofork
dump_spans "$W/nofork" "$W/nofork.dump"
for round in 1 2 3; do
	rm -rf "$W/fork"
	run_prof "$W/fork" "$W/fork" -- "$AP_TGT/curl_fork" "$MOCK_PORT" 6
	eq "round $round: host output (child saw the inherited messages, parent collected)" \
		"$(tr '\n' '|' <"$W/fork.out")" "child collected 6|parent 6 done|"
	dump_spans "$W/fork" "$W/fork.dump"
	ROUND=$round check_py "$W/fork.dump" <<'PY'
import os, collections
rnd = os.environ["ROUND"]
procs = {r["pid"]: r for r in A if r.get("rec") == "process"}
parent = [p for p in procs.values() if p["ppid"] not in procs]
per_file = collections.Counter(r["file"] for r in A if r.get("rec") == "exchange" and r.get("path") == "/health")
pfile = [f for f in per_file if parent and f.endswith(f".{parent[0]['pid']}.zst")]
eq(f"round {rnd}: /health exchanges recorded exactly once in all (6 transfers)", sum(per_file.values()), 6)
eq(f"round {rnd}: all of them in the parent's file, none in the child's", [per_file[f] for f in pfile], [6])
PY
done
check_py "$W/nofork.dump" <<'PY'
eq("without fork: the same 6 exchanges", len([r for r in A if r.get("rec") == "exchange" and r.get("path") == "/health"]), 6)
PY
finish
