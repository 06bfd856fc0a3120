# t43_export_chrome.py: checks of tests/integration/t43_export_chrome.sh, fed on stdin there.
# What Perfetto's JSON importer requires: object form with traceEvents
# first; every non-M event has ts; X needs dur and X/B/E nest per thread; b/e need cat + id and
# balance per (pid, cat, id); C needs numeric args; M names processes and threads.
raw = open(sys.argv[1], encoding="utf-8").read()
res("first key is traceEvents", re.match(r'^\s*\{\s*"traceEvents"\s*:', raw) is not None, raw[:40])
d = json.loads(raw)
res("JSON round trip", json.loads(json.dumps(d)) == d)
res("only known top-level keys", set(d) <= {"traceEvents", "displayTimeUnit", "otherData", "metadata", "systemTraceEvents"}, repr(set(d)))
res("displayTimeUnit ms or ns", d.get("displayTimeUnit", "ms") in ("ms", "ns"))
ev = d["traceEvents"]
res("events present", len(ev) > 0)
phs = {"B", "E", "X", "b", "e", "n", "i", "I", "C", "M", "s", "t", "f"}
bad = [e for e in ev if e.get("ph") not in phs or not isinstance(e.get("pid"), int) or not isinstance(e.get("name"), str)
       or (e["ph"] != "M" and not isinstance(e.get("ts"), (int, float)))]
res("every event: known ph, int pid, name, numeric ts (M exempt)", not bad, repr(bad[:2]))
meta = [e for e in ev if e["ph"] == "M"]
res("M events name processes and threads", meta and all(e["name"] in ("process_name", "thread_name", "process_sort_index") and (isinstance(e["args"].get("name"), str) or isinstance(e["args"].get("sort_index"), int)) for e in meta))
pn = [e for e in meta if e["name"] == "process_name"]
res("one process_name per pid, without a '(pid N)' of its own (viewers add it)", len(pn) == len({e["pid"] for e in pn}) and not any("(pid" in e["args"]["name"] for e in pn), repr(pn[:3]))
si = {e["pid"]: e["args"]["sort_index"] for e in meta if e["name"] == "process_sort_index"}
res("process_sort_index for every named process, distinct", set(si) == {e["pid"] for e in pn} and len(set(si.values())) == len(si), repr(si))
pids = {e["pid"] for e in ev if e["ph"] != "M"}
named = {e["pid"] for e in meta if e["name"] == "process_name"}
res("every process has a name", pids <= named, repr(pids - named))
# X nesting per thread
xs = {}
for e in ev:
    if e["ph"] == "X":
        if not isinstance(e.get("dur"), (int, float)) or e["dur"] < 0:
            res("X has dur >= 0", False, repr(e)); break
        xs.setdefault((e["pid"], e.get("tid", e["pid"])), []).append((e["ts"], e["ts"] + e["dur"]))
nest_bad = []
for k, v in xs.items():
    st = []
    for a, b in sorted(v, key=lambda t: (t[0], -t[1])):
        while st and st[-1] <= a + 1e-6:
            st.pop()
        if st and b > st[-1] + 1e-6:
            nest_bad.append((k, a, b, st[-1]))
        st.append(b)
res("X events nest strictly per thread", not nest_bad, repr(nest_bad[:3]))
# async b/e
tracks, as_bad = {}, []
for e in sorted((e for e in ev if e["ph"] in "be"), key=lambda e: (e["ts"], 0 if e["ph"] == "e" else 1)):
    if "id" not in e or not isinstance(e.get("cat"), str):
        as_bad.append(("no id/cat", e)); continue
    k = (e["pid"], e["cat"], e["id"])
    st = tracks.setdefault(k, {"stack": [], "roots": 0})
    if e["ph"] == "b":
        if not st["stack"]:
            st["roots"] += 1
        st["stack"].append((e["name"], e["ts"]))
    else:
        if not st["stack"] or st["stack"][-1][0] != e["name"]:
            as_bad.append(("unmatched e", e)); continue
        name, ts = st["stack"].pop()
        if e["ts"] < ts:
            as_bad.append(("e before b", e))
open_ = [k for k, st in tracks.items() if st["stack"]]
res("async b/e balance and nest per (pid, cat, id)", not as_bad and not open_, repr((as_bad[:2], open_[:2])))
res("one request per async id (overlaps render)", all(st["roots"] == 1 for st in tracks.values()),
    repr([k for k, st in tracks.items() if st["roots"] != 1][:3]))
cs = [e for e in ev if e["ph"] == "C"]
res("C events: numeric args", all(isinstance(e.get("args"), dict) and e["args"] and all(isinstance(v, (int, float)) for v in e["args"].values()) for e in cs))
if L == "synth":
    res("RSS and CPU counters", {"memory", "cpu user", "cpu system"} <= {e["name"] for e in cs}, repr({e["name"] for e in cs}))
    llm = [e for e in ev if e["ph"] == "b" and e.get("cat") == "llm" and "args" in e]
    res("LLM slices named '{operation} {model}' with GenAI args", any(e["name"] == "chat gpt-4o" and e["args"].get("gen_ai.request.model") == "gpt-4o" for e in llm))
    by_thread = {}
    for e in llm + [e for e in ev if e["ph"] == "b" and e.get("cat") in ("tool", "memory") and "args" in e]:
        by_thread.setdefault((e["pid"], e["tid"]), []).append(e["ts"])
    res("spans as X events", any(e["ph"] == "X" and e["name"] == "plan" for e in ev))
    res("phases nested in the request", any(e["ph"] == "b" and e["name"] == "wait for first byte" for e in ev))
    res("two processes", len(pids) == 2, repr(pids))
    res("the agent (4242, the parent) sorts first, the helper after", si.get(4242) == 0 and si.get(4300, -1) > 0, repr(si))
    res("process names are the programs", {e["pid"]: e["args"]["name"] for e in pn} == {4242: "python3", 4300: "rg"}, repr(pn))
