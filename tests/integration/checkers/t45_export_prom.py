# t45_export_prom.py: checks of tests/integration/t45_export_prom.sh, fed on stdin there.
# text format 0.0.4: HELP/TYPE before samples, one group per metric,
# cumulative buckets in increasing le, +Inf == _count, no timestamps, GenAI bucket bounds.
raw = open(sys.argv[1], "rb").read()
res("UTF-8, LF, ends with a newline", raw.endswith(b"\n") and b"\r" not in raw and raw.decode("utf-8") is not None)
lines = raw.decode().splitlines()
types, order, series = {}, [], {}
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
bad = []
for l in lines:
    if l.startswith("# TYPE "):
        _, _, n, t = l.split(" ", 3)
        types[n] = t; order.append(n); continue
    if l.startswith("#"):
        continue
    m = SAMPLE.match(l)
    if not m:
        bad.append(l); continue
    name, labels, val = m.group(1), m.group(3) or "", m.group(4)
    float(val)
    base = re.sub(r"_(bucket|sum|count)$", "", name) if re.sub(r"_(bucket|sum|count)$", "", name) in types else name
    if base not in types:
        bad.append("no TYPE: " + l)
    elif order[-1] != base:
        bad.append("not grouped: " + l)
    series.setdefault(base, []).append((name, labels, float(val)))
res("every sample: name{labels} value, typed and grouped, no timestamp", not bad, repr(bad[:3]))
GENAI = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]
hbad = []
for base, t in types.items():
    if t != "histogram":
        continue
    groups = {}
    for name, labels, v in series.get(base, []):
        key = re.sub(r',?le="[^"]*"', "", labels)
        g = groups.setdefault(key, {"b": [], "sum": None, "count": None})
        if name.endswith("_bucket"):
            g["b"].append((re.search(r'le="([^"]*)"', labels).group(1), v))
        elif name.endswith("_sum"):
            g["sum"] = v
        else:
            g["count"] = v
    for key, g in groups.items():
        les = [b[0] for b in g["b"]]
        vals = [b[1] for b in g["b"]]
        if les[-1] != "+Inf" or [float(x) for x in les[:-1]] != GENAI:
            hbad.append(f"{base}{{{key}}} buckets {les}")
        if vals != sorted(vals) or vals[-1] != g["count"] or g["sum"] is None:
            hbad.append(f"{base}{{{key}}} not cumulative or +Inf != count")
res("histograms: GenAI bounds, cumulative, +Inf == _count", not hbad and any(t == "histogram" for t in types.values()), repr(hbad[:3]))
need = {"agentprof_request_duration_seconds", "agentprof_model_duration_seconds", "agentprof_time_to_first_byte_seconds",
        "agentprof_request_errors_total", "agentprof_tokens_total"}
res("per-endpoint and per-model latency, tokens and errors", need <= set(types), repr(need - set(types)))
res("counters end in _total", all(n.endswith("_total") for n, t in types.items() if t == "counter"))
if L == "synth":
    tok = {l for n, l, v in series["agentprof_tokens_total"] if 'model="gpt-4o"' in l and 'type="input"' in l and v > 0}
    res("token counter per model and type", tok, repr(series["agentprof_tokens_total"][:3]))
    errs = sum(v for n, l, v in series["agentprof_request_errors_total"])
    res("HTTP 429s counted as errors", errs > 0)
if L == "odd":
    res("label values with quotes and backslashes escaped", any('host="odd\\"host\\\\x"' in l for _, l, _ in series["agentprof_request_duration_seconds"]))
