# t22_children_shim.py: checks of tests/integration/t22_children_shim.sh, fed on stdin there.
import json, os, re
W = os.environ["W"]
pids = {r["pid"] for r in A if r.get("rec") == "process"}
eq("CHILDREN=0: every span file is the one profiled pid (no helper, no subshell)", len(pids), 1)
ev = [r for r in A if r.get("rec") == "proc_event"]
bash_ev = [e for e in ev if ".bash." in e["file"]]
forks = [e for e in bash_ev if e["kind"] == "fork"]
waits = {e["child_pid"] for e in bash_ev if e["kind"] == "wait"}
check("CHILDREN=0: the shim's forks are recorded (at least its 4 direct helpers), not profiled",
      len(forks) >= 4 and all(e["profiled"] == 0 for e in forks), f"{[(e['kind'], e['profiled']) for e in forks]}")
check("CHILDREN=0: the shim's waits are recorded", {f["child_pid"] for f in forks} <= waits, f"{forks} {waits}")
ex = [e for e in ev if e["kind"] == "exec"]
check("CHILDREN=0: the execs of the profiled process are recorded as profiled",
      ex and all(e["profiled"] == 1 for e in ex) and any(e["path"] == "/usr/bin/python3" for e in ex), f"{ex}")
s = json.load(open(f"{W}/c0.json"))
last = [p for p in s["processes"] if not p["replaced_by_exec"]]
eq("CHILDREN=0: exactly one process, the agent", [(p["exe"].split("/")[-1].startswith("python3"), p["agent"], p["exchanges"]) for p in last], [(True, True, 3)])
chain = last[0].get("exec_chain") or []
check("CHILDREN=0: its exec chain starts at the bash shim and ends at python3",
      len(chain) >= 2 and chain[0]["exe"].endswith("/bash") and "bin/python3" in " ".join(chain[0]["argv"])
      and chain[-1]["exe"].split("/")[-1].startswith("python3"), f"{chain}")
eq("CHILDREN=0: no helper folded", sum(p["helper"] for p in s["processes"]), 0)
eq("CHILDREN=0: the shim's unfollowed short helpers are not process calls",
   s["categories"]["process"]["recorded_calls"] if "process" in s["categories"] else 0, 0)
txt = open(f"{W}/c0.txt").read()
tab = txt[txt.index("Processes"):].split("\n")
rows = [l for l in tab if re.match(r"  \d", l)]
check("CHILDREN=0: text table has one row, the agent, and no folded line",
      len(rows) == 1 and "python3" in rows[0] and "agent.py" in rows[0] and not any("folded:" in l for l in tab), rows)
check("CHILDREN=0: --exec-chain shows bash shim -> pyenv -> python3 under it",
      re.search(r"exec chain: bash \S*bin/python3 .*-> bash \S*libexec/pyenv exec python3 .*-> /usr/bin/python3", " ".join(l.strip() for l in tab)),
      tab[:6])
