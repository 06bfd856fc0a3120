# t84_pystacks_demo.py: checks of tests/integration/t84_pystacks_demo.sh, fed on stdin there.
import os, re, sys
T = os.environ["AP_T"]
fails = 0
def res(name, good, why=""):
    global fails
    print(f"ok - {T}: {name}" if good else f"FAIL - {T}: {name}: {why}")
    fails += 0 if good else 1
llm, tool = [], []
for raw in open(sys.argv[1]):
    m = re.match(r"^(.*) (\d+)$", raw.strip())
    if not m:
        continue
    fr = m.group(1).split(";")
    if fr[-1].startswith("[llm] "):
        llm.append(fr)
    elif fr[-1].startswith("[tool] "):
        tool.append(fr)
res("LLM calls in the flame graph", len(llm) >= 4, str(len(llm)))
res("tool calls in the flame graph", len(tool) >= 2, str(len(tool)))
def chain(fr, method):
    s = ";".join(fr)
    return re.search(r"agent\.py:main:\d+;agent\.py:Agent\.run:\d+;agent\.py:Agent\.%s:\d+;agent\.py:Http\.request:\d+;" % method, s)
for fr in llm:
    res("LLM call under main > Agent.run > Agent.chat|chat_stream|claude > Http.request",
        any(chain(fr, m) for m in ("chat", "chat_stream", "claude")), ";".join(fr))
for fr in tool:
    res("tool call under main > Agent.run > Agent.tool > Http.request", chain(fr, "tool"), ";".join(fr))
interp = [f for fr in llm + tool for f in fr if "_PyEval_EvalFrame" in f or "Py_RunMain" in f or f.startswith("python3.")]
res("no interpreter C frames", not interp, str(interp[:3]))
lines = {f for fr in llm for f in fr if f.startswith("agent.py:Agent.run:")}
res("distinct call lines in Agent.run for the LLM calls", len(lines) >= 3, str(sorted(lines)))
sys.exit(1 if fails else 0)
