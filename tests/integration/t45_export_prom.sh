#!/bin/bash
# t45_export_prom.sh: export --format prom passes promtool check metrics (Debian's prometheus
# package) and the text-format rules: grouped, typed, cumulative GenAI-bucket histograms.
. "$(dirname "$0")/lib.sh"

# Runs the exports are checked on: a synthetic run (tests/fixtures/gen_spans.c: 3 threads,
# overlapping requests, spans, a child process, counters, stacks into its own binary), the
# same with names that need sanitising, and a real profiled C agent (stack_paths via libcurl).
export_runs() {
	if ! make -s -C "$AP_FIXSRC" OUT="$AP_FIX" "$AP_FIX/stack_paths" "$AP_FIX/gen_spans" \
		>"$W/make.log" 2>&1; then
		fail "build fixtures" "$(tail -3 "$W/make.log" | tr '\n' '|')"
		finish
	fi
	mkdir -p "$W/synth" "$W/odd" "$W/real"
	"$AP_FIX/gen_spans" "$W/synth" 300 || fail "gen_spans" "exit $?"
	"$AP_FIX/gen_spans" "$W/odd" 40 odd || fail "gen_spans odd" "exit $?"
	RUNS="synth odd"
	if have_preload && mock_up; then
		LD_PRELOAD="$AP_LIB" AGENTPROF_OUT="$W/real" timeout -k 5 "$AP_TMO" \
			"$AP_FIX/stack_paths" "$PLAIN" 2 >"$W/real.out" 2>&1 ||
			fail "profiled agent" "$(head -c 200 "$W/real.out")"
		RUNS="$RUNS real"
	else
		fail "profiled agent" "preload or mock provider unavailable"
	fi
}

# export_fmt FMT RUN [ARGS...]: agentprof-view export --format FMT into $W/RUN.FMT
export_fmt() {
	local fmt=$1 run=$2
	shift 2
	if timeout -k 5 "$AP_TMO" "$AP_VIEW" export --format "$fmt" "$@" "$W/$run" \
		>"$W/$run.$fmt" 2>"$W/$run.$fmt.err"; then
		ok "$run: export --format $fmt"
		return 0
	fi
	fail "$run: export --format $fmt" "exit $?: $(head -c 300 "$W/$run.$fmt.err")"
	return 1
}

# pycheck LABEL FILE <<'PY' ... PY: run a checker; it calls res(name, good, why) per assertion
pycheck() {
	local label=$1 file=$2 code out
	code=$(cat)
	out=$(AP_T=$T LABEL=$label "$PY" -c "import os, sys, json, re
T, L = os.environ['AP_T'], os.environ['LABEL']
_fails = 0
def res(name, good, why=''):
    global _fails
    print(f'ok - {T}: {L}: {name}' if good else f'FAIL - {T}: {L}: {name}: {why}')
    _fails += 0 if good else 1
$code
sys.exit(1 if _fails else 0)" "$file" 2>&1)
	local rc=$?
	[ -n "$out" ] && printf '%s\n' "$out"
	_AP_PASS=$((_AP_PASS + $(printf '%s\n' "$out" | grep -c '^ok - ')))
	_AP_FAIL=$((_AP_FAIL + $(printf '%s\n' "$out" | grep -c '^FAIL - ')))
	if [ "$rc" -ne 0 ] && ! printf '%s\n' "$out" | grep -q '^FAIL - '; then
		fail "$label: checker" "exit $rc: $(printf '%s' "$out" | tail -3 | tr '\n' '|')"
	fi
}

# need CMD: CMD is installed, or installed now with scripts/install-deps.sh --extra (as root)
need() {
	command -v "$1" >/dev/null 2>&1 && return 0
	[ "$(id -u)" = 0 ] && "$AP_ROOT/scripts/install-deps.sh" --extra >>"$W/deps.log" 2>&1
	command -v "$1" >/dev/null 2>&1
}

export_runs
if ! need promtool; then
	fail "promtool" "not installed: run scripts/install-deps.sh --extra (Debian package prometheus)"
fi
for run in $RUNS; do
	export_fmt prom "$run" || continue
	if command -v promtool >/dev/null 2>&1; then
		if promtool check metrics <"$W/$run.prom" >"$W/$run.promtool" 2>&1; then
			ok "$run: promtool check metrics"
		else
			fail "$run: promtool check metrics" "$(head -5 "$W/$run.promtool" | tr '\n' '|')"
		fi
	fi
	pycheck "$run" "$W/$run.prom" <<'PY'
# text format 0.0.4 (formats.md section 5): HELP/TYPE before samples, one group per metric,
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
PY
done
finish
