"""pystack_check.py TEST LABEL FOLDED LINES_JSON ASYNC: checks a folded flame graph of
tests/targets/py_paths.py (used by t80..t82).

Each of the two call paths must appear under its own leaf with the fixture's function names in
order and the recorded line of every call, no frame of the other path, and none of the
interpreter's C frames (they are replaced by the Python frames unless --native). Prints
ok/FAIL lines; exit status 1 on any failure.
"""
import json
import re
import sys

T, L, folded, lines_json, is_async = sys.argv[1:6]
is_async = is_async == "1"
LN = json.load(open(lines_json))
fails = 0


def res(name, good, why=""):
    global fails
    print(f"ok - {T}: {L}: {name}" if good else f"FAIL - {T}: {L}: {name}: {why}")
    fails += 0 if good else 1


stacks = {}
for raw in open(folded):
    raw = raw.rstrip("\n")
    if not raw.strip():
        continue
    m = re.match(r"^(.*) (\d+)$", raw)
    if not m:
        res("folded line", False, repr(raw))
        continue
    frames = m.group(1).split(";")
    stacks.setdefault(frames[-1], []).append(frames)

plan = [s for leaf, v in stacks.items() if leaf.endswith(" model-plan") for s in v]
rev = [s for leaf, v in stacks.items() if leaf.endswith(" model-review") for s in v]
res("leaf '... model-plan' present", bool(plan), f"leaves: {list(stacks)[:6]}")
res("leaf '... model-review' present", bool(rev), f"leaves: {list(stacks)[:6]}")

top = "amain" if is_async else "main"
F = "py_paths.py"
PLAN = [f"{F}:{top}:{LN['main']}", f"{F}:run_agent:{LN['run_plan']}",
        f"{F}:plan_task:{LN['plan']}", f"{F}:ask_model:{LN['ask']}"]
REV = [f"{F}:{top}:{LN['main']}", f"{F}:run_agent:{LN['run_review']}",
       f"{F}:review_code:{LN['review']}", f"{F}:summarize_review:{LN['summarize']}",
       f"{F}:ask_model:{LN['ask']}"]


def in_order(frames, want):
    idx = [frames.index(f) if f in frames else -1 for f in want]
    return all(i >= 0 for i in idx) and idx == sorted(idx)


def names(frames):
    return {f.split(":")[1] for f in frames if f.startswith(F + ":")}


for frames in plan:
    res("plan path: " + " > ".join(x.split(":", 1)[1] for x in PLAN), in_order(frames, PLAN),
        ";".join(frames))
    res("plan path has no frame of the review path",
        not {"review_code", "summarize_review"} & names(frames), ";".join(frames))
for frames in rev:
    res("review path: " + " > ".join(x.split(":", 1)[1] for x in REV), in_order(frames, REV),
        ";".join(frames))
    res("review path has no frame of the plan path", "plan_task" not in names(frames),
        ";".join(frames))
interp = [f for s in plan + rev for f in s
          if "_PyEval_EvalFrame" in f or "Py_RunMain" in f or re.match(r"(lib)?python3\.\d+", f)]
res("no interpreter C frames in place of the Python ones", not interp, str(interp[:4]))
ours = [f for s in plan + rev for f in s if f.startswith("ap_") or "libagentprof" in f]
res("no frames of the profiler itself", not ours, str(ours[:4]))
res("the endpoint is the leaf frame", all(s[-1].startswith("[llm] ") for s in plan + rev))
sys.exit(1 if fails else 0)
