# t42_export_speedscope.py: checks of tests/integration/t42_export_speedscope.sh, fed on stdin there.
# The rules of speedscope's file-format-spec.ts (schema generated with --required) and of its
# evented-profile importer (profile.ts: a close must match the frame on top of the stack).
d = json.load(open(sys.argv[1]))
res("$schema", d.get("$schema") == "https://www.speedscope.app/file-format-schema.json", d.get("$schema"))
res("shared.frames is a list", isinstance(d.get("shared", {}).get("frames"), list))
frames = d["shared"]["frames"]
bad = [f for f in frames if not isinstance(f.get("name"), str) or set(f) - {"name", "file", "line", "col"}
       or ("line" in f and not isinstance(f["line"], int)) or ("file" in f and not isinstance(f["file"], str))]
res("frames: {name, file?, line?, col?}", not bad, repr(bad[:3]))
res("profiles is a non-empty list", isinstance(d.get("profiles"), list) and d["profiles"])
res("activeProfileIndex in range", 0 <= d.get("activeProfileIndex", 0) < max(len(d["profiles"]), 1))
res("exporter and name are strings", isinstance(d.get("exporter"), str) and isinstance(d.get("name"), str))
units = {"none", "nanoseconds", "microseconds", "milliseconds", "seconds", "bytes"}
problems = []
for p in d["profiles"]:
    n = p.get("name")
    if p.get("type") != "evented" or not isinstance(n, str) or p.get("unit") not in units:
        problems.append(f"{n}: type/name/unit"); continue
    if not all(isinstance(p.get(k), (int, float)) for k in ("startValue", "endValue")) or p["endValue"] < p["startValue"]:
        problems.append(f"{n}: start/end"); continue
    stack, last = [], None
    for e in p["events"]:
        if set(e) != {"type", "at", "frame"} or e["type"] not in ("O", "C") or not isinstance(e["frame"], int) \
           or not 0 <= e["frame"] < len(frames) or not isinstance(e["at"], (int, float)):
            problems.append(f"{n}: bad event {e}"); break
        if last is not None and e["at"] < last:
            problems.append(f"{n}: 'at' decreases at {e}"); break
        if not p["startValue"] <= e["at"] <= p["endValue"]:
            problems.append(f"{n}: event outside [startValue, endValue]: {e}"); break
        last = e["at"]
        if e["type"] == "O":
            stack.append(e["frame"])
        elif not stack or stack[-1] != e["frame"]:
            problems.append(f"{n}: Tried to leave frame {e['frame']} while {stack[-1:]} was at the top"); break
        else:
            stack.pop()
    else:
        if stack:
            problems.append(f"{n}: {len(stack)} frames never closed")
res("evented profiles: balanced O/C, non-decreasing at, within range", not problems, "; ".join(problems[:3]))
names = [f["name"] for f in frames]
if L == "synth":
    res("overlapping requests get their own profile", any("(overlapping)" in p["name"] for p in d["profiles"]))
    res("program frames, endpoints, spans and phases are frames",
        {"path_plan", "[llm] openai gpt-4o", "plan", "wait for first byte"} <= set(names), repr(names[:12]))
    res("profiles per thread of both processes", {p["name"].split(" (")[0] for p in d["profiles"]} >=
        {"python3 pid 4242 tid 4242", "python3 pid 4242 tid 4243", "rg pid 4300 tid 4300"}, repr([p["name"] for p in d["profiles"]]))
if L == "real":
    ff = [f for f in frames if f["name"] == "plan_task"]
    res("symbolized frame with file and line", ff and ff[0].get("file", "").endswith("stack_paths.c") and ff[0].get("line", 0) > 0, repr(ff))
