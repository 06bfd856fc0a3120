# t40_stacks.py: checks of tests/integration/t40_stacks.sh, fed on stdin there.
import os, re, sys
T, L = os.environ["AP_T"], os.environ["LABEL"]
fails = 0
def res(name, good, why=""):
    global fails
    print(f"ok - {T}: {L}: {name}" if good else f"FAIL - {T}: {L}: {name}: {why}")
    fails += 0 if good else 1
lines = [l.rstrip("\n") for l in open(sys.argv[1]) if l.strip()]
stacks = {}
for l in lines:
    m = re.match(r"^(.*) (\d+)$", l)
    if not m:
        res("folded line", False, repr(l)); continue
    frames = m.group(1).split(";")
    stacks.setdefault(frames[-1], []).append((frames, int(m.group(2))))
plan = [s for leaf, v in stacks.items() if leaf.endswith(" model-plan") for s in v]
rev = [s for leaf, v in stacks.items() if leaf.endswith(" model-review") for s in v]
res("leaf '[llm] ... model-plan' present", plan, f"leaves: {list(stacks)}")
res("leaf '[llm] ... model-review' present", rev, f"leaves: {list(stacks)}")
def order(frames, want):
    idx = [frames.index(f) if f in frames else -1 for f in want]
    return all(i >= 0 for i in idx) and idx == sorted(idx)
PLAN = ["main", "run_agent", "plan_task", "ask_model"]
REV = ["main", "run_agent", "review_code", "summarize_review", "ask_model"]
for frames, _ in plan:
    res("plan path: main;run_agent;plan_task;ask_model in order", order(frames, PLAN), ";".join(frames))
    res("plan path has no frame of the review path", not {"review_code", "summarize_review"} & set(frames), ";".join(frames))
for frames, _ in rev:
    res("review path: main;run_agent;review_code;summarize_review;ask_model", order(frames, REV), ";".join(frames))
    res("review path has no frame of the plan path", "plan_task" not in frames, ";".join(frames))
ours = [f for frames, _ in plan + rev for f in frames if f.startswith("ap_") or "libagentprof" in f]
res("no frames of the profiler itself", not ours, str(ours[:5]))
leaf_ok = all(f[-1].startswith("[llm] ") for f, _ in plan + rev)
res("the endpoint is the leaf frame", leaf_ok)
sys.exit(1 if fails else 0)
