# t56_process_tree.py: checks of tests/integration/t56_process_tree.sh, fed on stdin there.
import os
sp = [r for r in A if r.get("rec") == "process" and r["exe"].endswith("/spawnall")]
me = str([r for r in sp if r["ppid"] not in {q["pid"] for q in sp}][0]["pid"])
mine = [r for r in A if r["file"].endswith(f".{me}.zst")]
ev = [r for r in mine if r.get("rec") == "proc_event"]
spawns = [e for e in ev if e["kind"] == "spawn"]
waits = {e["child_pid"]: e for e in ev if e["kind"] == "wait"}
def one(label, pred):
    xs = [e for e in spawns if pred(e)]
    if len(xs) != 1:
        fail(label, f"{len(xs)} matching spawn events")
        return None
    ok(label)
    return xs[0]
e = one("posix_spawn /bin/sh: spawn event", lambda e: e["path"] == "/bin/sh" and e["argv"][:3] == ["sh", "-c", "exit 4"])
if e:
    check("posix_spawn: child pid recorded and reaped with status 4 (wait time known)",
          e["child_pid"] > 0 and waits.get(e["child_pid"], {}).get("status") == 4
          and waits[e["child_pid"]]["end_ns"] >= waits[e["child_pid"]]["time_ns"] > 0,
          f"{e['child_pid']} {waits.get(e['child_pid'])}")
    eq("posix_spawn: argv secret redacted", e["argv"][-2:], ["--api-key", "REDACTED"])
    eq("posix_spawn: child expected to be profiled", e["profiled"], 1)
e = one("posix_spawnp true: spawn event", lambda e: e["path"] == "true" and e["argv"][:1] == ["true"] and len(e["argv"]) == 2)
if e:
    eq("posix_spawnp: --token=VALUE redacted", e["argv"][1], "--token=REDACTED")
ns = [e for e in spawns if e["path"].endswith("noshebang.sh")]
eq("GLIBC_2.2.5 spawns of a #!-less script recorded (2; the 2.15 one failed with ENOEXEC)", len(ns), 2)
sysev = [e for e in spawns if e["path"] == "/bin/sh" and e["argv"][:2] == ["sh", "-c"] and e["child_pid"] < 0]
st = sorted(e["status"] for e in sysev)
check("system/popen: events with exit status and duration (5, 0, 6, static 0)",
      {0, 5, 6} <= set(st) and all(e["end_ns"] >= e["time_ns"] > 0 for e in sysev), f"{st}")
flat = " ".join(" ".join(e["argv"]) for e in ev)
check("no SECRET_CANARY in any process event", "SECRET_CANARY" not in flat, flat[:300])
forks = [e for e in ev if e["kind"] == "fork"]
check("fork+exec: fork event and wait status 8", any(waits.get(f["child_pid"], {}).get("status") == 8 for f in forks), f"{forks}")
if os.environ["STATIC"] != "-":
    d = [r for r in mine if r.get("rec") == "diag" and r["code"] == 2]
    check("static child: one diagnostic in the spawner's file per static spawn (posix_spawn)",
          len(d) == 1 and "not profiled: static binary" in d[0]["msg"], f"{d}")
    ds = [r for r in A if r.get("rec") == "diag" and r["code"] == 2 and not r["file"].endswith(f".{me}.zst")]
    # (sh from system() execs it from a vfork child, which must stay pass-through: no record)
    check("static child: a fork child that execs it says so too",
          len(ds) >= 1, f"{len(ds)}: {[r['file'].split('/')[-1] for r in ds]}")
    e = [e for e in spawns if e["path"] == os.environ["STATIC"]]
    check("static child: spawn event marked not profiled", e and e[0]["profiled"] == 0, f"{e}")
