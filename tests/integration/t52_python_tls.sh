#!/bin/bash
# t52_python_tls: Python TLS in every form under the preload (docs/internals/contract.md §1.3, §7):
# ssl.wrap_bio with memory BIOs, a blocking ssl socket, asyncio TLS, each against the local TLS
# mock; same output as without the preload and one exchange each with its plaintext path.
# Then the vfork child of subprocess.run is pure pass-through (§3.2): no python file with the
# child's pid, no exec recorded in the parent, and the parent's keep-alive connection (which
# the child closes with close_range before exec) keeps its exchanges.
. "$(dirname "$0")/lib.sh"

require_preload python-tls || finish
build_targets || finish
mock_up || { fail "mock" "cannot start the mock provider"; finish; }
S=$AP_TGT_SRC/py_tls_forms.py

run_bare "$W/bare" "$PY" "$S" "$MOCK_TLS_PORT" "$AP_CA" "$MOCK_PORT"
run_prof "$W/p" "$W/prof" CHILD_PIDS="$W/child.pids" -- "$PY" "$S" "$MOCK_TLS_PORT" "$AP_CA" "$MOCK_PORT"
eq "exit status unchanged" "$(cat "$W/prof.rc")" "$(cat "$W/bare.rc")"
same_file "same output with and without the preload" "$W/bare.out" "$W/prof.out"
eq "all three TLS forms got 200" "$(grep -cE '^(wrap_bio|blocking|asyncio) 200$' "$W/prof.out")" 3
if ! ap_export "$W/p" "$W/p.jsonl"; then
	fail "export" "$(head -c 300 "$W/p.jsonl.err")"
	finish
fi
dump_spans "$W/p" "$W/p.dump"
PPID_PY=$(grep '"rec":"process"' "$W/p.dump" | grep '"exe":"[^"]*python' | head -1 | sed 's/.*"pid":\([0-9]*\).*/\1/')
export PPID_PY
AP_CHILD_PIDS=$(cat "$W/child.pids" 2>/dev/null) check_py "$W/p.jsonl" <<'PY'
import os
for form in ("wrapbio", "blocking", "asyncio"):
    xs = [x for x in X if (x.get("path") or "").endswith("city=" + form)]
    if len(xs) != 1:
        fail(f"{form}: one exchange recorded", f"{len(xs)} found")
        continue
    x = xs[0]
    check(f"{form}: exchange is TLS with plaintext visibility, status 200",
          x.get("tls") is True and x.get("visibility") == "plaintext" and x.get("status") == 200,
          f"tls={x.get('tls')} visibility={x.get('visibility')} status={x.get('status')}")
for city in ("before", "after"):
    xs = [x for x in X if (x.get("path") or "").endswith("city=" + city)]
    eq(f"keep-alive exchange {city} subprocess.run recorded once", len(xs), 1)
pyfiles = [p for p in P if "python" in (p.get("exe") or "")]
eq("one python process (the vfork children left no python file)", len(pyfiles), 1)
child = os.environ.get("AP_CHILD_PIDS", "").strip()
if child:
    bad = [p for p in P if str(p.get("pid")) == child and "python" in (p.get("exe") or "")]
    eq("no python record with the vfork child's pid", len(bad), 0)
PY
# the parent's own file: no exec event (the child's execve passed through), pid is the parent's
out=$(AP_T=$T "$PY" - "$W/p.dump" <<'PY'
import json, os, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
ppid = os.environ["PPID_PY"]
mine = [r for r in recs if r["file"].endswith(f".{ppid}.zst")]
execs = [r for r in mine if r.get("rec") == "proc_event" and r.get("kind") == "exec"]
T = os.environ["AP_T"]
print(f"ok - {T}: parent file has no exec event" if mine and not execs else
      f"FAIL - {T}: parent file has no exec event: {len(mine)} records, {len(execs)} exec")
PY
)
echo "$out"
case "$out" in ok*) _AP_PASS=$((_AP_PASS + 1)) ;; *) _AP_FAIL=$((_AP_FAIL + 1)) ;; esac
finish
