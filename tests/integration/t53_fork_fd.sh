#!/bin/bash
# t53_fork_fd: fork while another thread is inside wrappers (docs/internals/contract.md §3.1): every
# child records and exits, one file per pid, no parent record duplicated into a child; and a
# host that closes every fd, calls close_range/closefrom and dup2s over sockets (§3.4): no
# foreign byte on a host socket, no stale fd-table entry (a file read through a number that
# named a socket is never parsed as a response), the span file stays valid. And fork while
# another thread holds the loader's lock: the child finishes and records (contract.md §3.1).
. "$(dirname "$0")/lib.sh"

require_preload fork-fd || finish
build_targets || finish
mock_up || { fail "mock" "cannot start the mock provider"; finish; }

# --- fork with a thread inside wrappers ---------------------------------------------------------
clock_start
run_prof "$W/fk" "$W/fk" AGENTPROF_FLUSH_MS=1 -- "$AP_TGT/forkthr" "$MOCK_PORT" 20
ms=$(elapsed_ms)
if [ "$(cat "$W/fk.rc")" = 0 ] && grep -q 'children 20 of 20 ok' "$W/fk.out"; then
	ok "fork x20 while a thread does HTTP: every child finished (${ms} ms)"
else
	fail "fork x20 while a thread does HTTP" "rc $(cat "$W/fk.rc"): $(tr '\n' '|' <"$W/fk.out")"
fi
dump_spans "$W/fk" "$W/fk.dump"
PX=$(sed -n 's/^parent_exchanges \([0-9]*\)/\1/p' "$W/fk.out")
export PX
check_py "$W/fk.dump" <<'PY'
import collections, os
files = collections.defaultdict(list)
for r in A:
    files[r["file"]].append(r)
procs = [r for r in A if r.get("rec") == "process"]
pids = [p["pid"] for p in procs]
eq("21 span files (parent + 20 children)", len(files), 21)
eq("one process record per pid, pids distinct", len(set(pids)), len(pids))
bad = [f for f, rs in files.items() if not any(r.get("rec") == "process" and f.endswith(f".{r['pid']}.zst") for r in rs)]
eq("every file is named after its own pid", bad, [])
damaged = [r["file"] for r in A if r.get("rec") == "_file" and r["damaged"]]
eq("no damaged file", damaged, [])
health = [r for r in A if r.get("rec") == "exchange" and r.get("path") == "/health"]
weather = [r for r in A if r.get("rec") == "exchange" and r.get("path") == "/tool/weather"]
parent = [p for p in procs if p["ppid"] not in pids]
child_files = [f for f, rs in files.items() if not any(r.get("rec") == "process" and r in parent for r in rs)]
in_children = [r for r in health if r["file"] in child_files]
eq("no parent /health exchange duplicated into a child file", len(in_children), 0)
want = int(os.environ.get("PX") or -1)
check("parent /health exchanges recorded exactly once (the count the program saw, +-1 in flight)",
      want - 1 <= len(health) <= want + 1, f"recorded {len(health)}, program counted {want}")
eq("each child recorded its own /tool/weather exchange", len(weather), 20)
PY

# --- fork while another thread holds the loader's lock ---------------------------------------
# glibc leaves dl_load_write_lock (dl_iterate_phdr, dlopen) as it was in the child: a child whose
# first stack capture or helper-library load called the loader would wait forever. "cold": the
# parent never captured (the child sets stacks up); "warm": it did (libunwind is loaded).
run_bare "$W/dl.bare" "$AP_TGT/forkdl" "$MOCK_PORT" cold
eq "loader lock held at fork, no preload: the child finishes" "$(head -1 "$W/dl.bare.out")" "child ok"
# "ldso": cold, with the dynamic loader run as the program (AT_BASE is 0 there)
LDSO=$(ls /lib64/ld-linux-x86-64.so.2 /lib/ld-linux-aarch64.so.1 2>/dev/null | head -1)
for mode in cold warm ${LDSO:+ldso}; do
	if [ $mode = ldso ]; then
		run_prof "$W/dl$mode" "$W/dl$mode" -- "$LDSO" "$AP_TGT/forkdl" "$MOCK_PORT" cold
	else
		run_prof "$W/dl$mode" "$W/dl$mode" -- "$AP_TGT/forkdl" "$MOCK_PORT" $mode
	fi
	if [ "$(cat "$W/dl$mode.rc")" = 0 ] && [ "$(tr '\n' ' ' <"$W/dl$mode.out")" = "child ok parent ok " ]; then
		ok "loader lock held at fork ($mode): the child finishes, exit status 0"
	else
		fail "loader lock held at fork ($mode)" "rc $(cat "$W/dl$mode.rc"): $(tr '\n' '|' <"$W/dl$mode.out")"
	fi
	dump_spans "$W/dl$mode" "$W/dl$mode.dump"
	check_py "$W/dl$mode.dump" <<'PY'
procs = [r for r in A if r.get("rec") == "process"]
eq("two span files (parent and child)", len({r["file"] for r in A}), 2)
child = [p for p in procs if p["ppid"] in [q["pid"] for q in procs]]
eq("one child process", len(child), 1)
cf = child[0]["file"] if child else None
paths = sorted(r.get("path") for r in A if r.get("rec") == "exchange" and r["file"] == cf)
eq("the child recorded its tool exchange and its LLM call", paths, ["/tool/weather", "/v1/chat/completions"])
diags = [r for r in A if r.get("rec") == "diag" and r.get("code") == 10]
eq("one fork_locked diagnostic, in the child", [d["file"] for d in diags], [cf])
check("it names the loader's lock as held (found at start-up, not a guess)",
      bool(diags) and diags[0]["msg"].startswith("forked while another thread held the loader's lock"),
      diags[0]["msg"] if diags else "no diagnostic")
PY
done

# --- fork while our own threads unwind: the prepare step lets them leave libunwind ------------
# 10 runs of 4 recording threads while main forks 20 children: no child starts with a lock of
# libunwind's or the loader's held by one of our captures (without the prepare step about 2% did)
rm -rf "$W/fu"
mkdir -p "$W/fu"
bad_runs=0
for i in $(seq 1 10); do
	timeout -k 2 30 env LD_PRELOAD="$AP_LIB" AGENTPROF_OUT="$W/fu" "$AP_TGT/wrstress" fork "$MOCK_PORT" 20 \
		>>"$W/fu.out" 2>&1 || bad_runs=$((bad_runs + 1))
done
eq "fork while our threads unwind: every child exited 0, no run hung ($(grep -c failed "$W/fu.out") children failed)" "$bad_runs" 0
dump_spans "$W/fu" "$W/fu.dump"
check_py "$W/fu.dump" <<'PY'
procs = [r for r in A if r.get("rec") == "process"]
check("200 children and their parents recorded", len(procs) >= 210, f"{len(procs)} process records")
locked = [r["msg"] for r in A if r.get("rec") == "diag" and r.get("code") == 10]
eq("no child inherited a lock our capture held (fork_locked diagnostics)", locked, [])
PY

# --- hostile fd management ----------------------------------------------------------------------
cp "$AP_TGT_SRC/fake_response.txt" "$W/fake.txt"
mock_mark
run_bare "$W/fd.bare" "$AP_TGT/fdchaos" "$MOCK_PORT" "$W/fake.txt"
for flush in 100 1; do
	mock_mark
	run_prof "$W/fd$flush" "$W/fd$flush" AGENTPROF_FLUSH_MS=$flush -- "$AP_TGT/fdchaos" "$MOCK_PORT" "$W/fake.txt"
	mock_since "$W/fd$flush.mock"
	same_file "fd chaos (flush ${flush} ms): same output as without the preload" "$W/fd.bare.out" "$W/fd$flush.out"
	eq "fd chaos (flush ${flush} ms): every host exchange got its 200" "$(tail -1 "$W/fd$flush.out")" "ok"
	bad=$(grep -vc '"path": "/health"' "$W/fd$flush.mock")
	eq "fd chaos (flush ${flush} ms): the mock saw only the host's requests (no foreign bytes)" "$bad" 0
	if ap_export "$W/fd$flush" "$W/fd$flush.jsonl"; then
		ok "fd chaos (flush ${flush} ms): span file valid"
		n=$(grep -c '"status":299' "$W/fd$flush.jsonl")
		eq "fd chaos (flush ${flush} ms): no stale fd entry parsed a file as a response" "$n" 0
	else
		fail "fd chaos (flush ${flush} ms): span file valid" "$(head -c 300 "$W/fd$flush.jsonl.err")"
	fi
done
finish
