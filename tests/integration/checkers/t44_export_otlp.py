# t44_export_otlp.py: checks of tests/integration/t44_export_otlp.sh, fed on stdin there.
import json, re
HEX32, HEX16 = re.compile(r"^[0-9a-fA-F]{32}$"), re.compile(r"^[0-9a-fA-F]{16}$")
CAMEL = re.compile(r"^[a-z][a-zA-Z]*$")
def keys_ok(x, path=""):
    bad = []
    if isinstance(x, dict):
        for k, v in x.items():
            if not CAMEL.match(k):
                bad.append(path + "/" + k)
            bad += keys_ok(v, path + "/" + k)
    elif isinstance(x, list):
        for i, v in enumerate(x):
            bad += keys_ok(v, path)
    return bad
ONEOF = {"stringValue", "boolValue", "intValue", "doubleValue", "arrayValue", "kvlistValue", "bytesValue"}
def anyvalue_ok(v):
    if not isinstance(v, dict) or len(v) != 1 or next(iter(v)) not in ONEOF:
        return False
    k, x = next(iter(v.items()))
    if k == "intValue":
        return isinstance(x, str) and re.match(r"^-?\d+$", x) is not None
    if k == "stringValue":
        return isinstance(x, str)
    if k == "boolValue":
        return isinstance(x, bool)
    if k == "doubleValue":
        return isinstance(x, (int, float)) and not isinstance(x, bool)
    if k == "arrayValue":
        return isinstance(x, dict) and all(anyvalue_ok(e) for e in x.get("values", []))
    return True
def attrs_ok(a):
    return isinstance(a, list) and all(isinstance(kv, dict) and set(kv) == {"key", "value"} and isinstance(kv["key"], str)
                                       and kv["key"] and anyvalue_ok(kv["value"]) for kv in a)
def attrs(a):
    return {kv["key"]: next(iter(kv["value"].values())) for kv in a}
def check_otlp(d, res):
    res("only resourceSpans at the top", set(d) == {"resourceSpans"}, repr(set(d)))
    res("keys are lowerCamelCase", not keys_ok(d), repr(keys_ok(d)[:5]))
    spans, problems = [], []
    for rs in d["resourceSpans"]:
        if not attrs_ok(rs.get("resource", {}).get("attributes")):
            problems.append("resource attributes"); continue
        ra = attrs(rs["resource"]["attributes"])
        if not {"service.name", "process.pid"} <= set(ra):
            problems.append(f"resource lacks service.name/process.pid: {ra}")
        for ss in rs["scopeSpans"]:
            if not isinstance(ss.get("scope", {}).get("name"), str):
                problems.append("scope name")
            for s in ss["spans"]:
                spans.append((s, ra))
    res("resources and scopes well-formed", not problems, "; ".join(problems[:3]))
    ids, traces, bad = set(), set(), []
    for s, _ in spans:
        why = []
        if not HEX32.match(s.get("traceId", "")) or set(s["traceId"]) == {"0"}: why.append("traceId")
        if not HEX16.match(s.get("spanId", "")) or set(s["spanId"]) == {"0"}: why.append("spanId")
        if "parentSpanId" in s and not HEX16.match(s["parentSpanId"]): why.append("parentSpanId")
        if not isinstance(s.get("name"), str) or not s["name"]: why.append("name")
        if not isinstance(s.get("kind"), int) or not 0 <= s["kind"] <= 5: why.append("kind (integer enum)")
        for k in ("startTimeUnixNano", "endTimeUnixNano"):
            if not isinstance(s.get(k), str) or not s[k].isdigit(): why.append(k + " (decimal string)")
        if not why and int(s["endTimeUnixNano"]) < int(s["startTimeUnixNano"]): why.append("end < start")
        if not attrs_ok(s.get("attributes", [])): why.append("attributes")
        st = s.get("status", {})
        if set(st) - {"code", "message"} or not isinstance(st.get("code", 0), int) or not 0 <= st.get("code", 0) <= 2: why.append("status")
        if why: bad.append((s.get("name"), why))
        ids.add(s.get("spanId")); traces.add(s.get("traceId"))
    res("spans: hex ids, integer kind, int64 times as strings, typed attributes", not bad, repr(bad[:3]))
    res("span ids unique", len(ids) == len(spans))
    res("one trace per run", len(traces) == 1, repr(traces))
    orphans = [s["name"] for s, _ in spans if s.get("parentSpanId") and s["parentSpanId"] not in ids]
    res("every parent span is in the export", not orphans, repr(orphans[:3]))
    gen = [(s, attrs(s["attributes"])) for s, _ in spans if any(kv["key"] == "gen_ai.operation.name" for kv in s["attributes"])]
    gbad = []
    for s, a in gen:
        want = a["gen_ai.operation.name"] + (" " + a["gen_ai.request.model"] if "gen_ai.request.model" in a else "")
        if s["name"] != want: gbad.append(f"name {s['name']!r} != {want!r}")
        if s["kind"] != 3: gbad.append("kind != CLIENT")
        for k in ("gen_ai.provider.name", "server.address", "server.port", "http.response.status_code"):
            if k not in a: gbad.append(f"{s['name']}: no {k}")
        if "gen_ai.response.time_to_first_chunk" in a and not isinstance(a["gen_ai.response.time_to_first_chunk"], float):
            gbad.append("ttfc not a double")
    res("GenAI spans: '{operation} {model}', CLIENT, provider, server, status code", gen and not gbad, repr(gbad[:3]) if gen else "no GenAI spans")
    return spans, gen
