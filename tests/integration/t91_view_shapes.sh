#!/bin/bash
# t91_view_shapes.sh: the views on the run shapes real agents produce (scripted by
# build/targets/gen_spans scenario): a pyenv-style shim chain (bash forking 62 helpers, then exec of
# python3), a 300-exchange loop, two concurrent calls followed by a third, retries and repeats,
# and the same run against another port. Asserts the process table (agent first, helpers
# folded with their counts), one waterfall row per exchange with its label, the critical path
# (one of the concurrent pair, repeated segments folded), grouped findings, widths, colour and
# diff across ports; compares text views with tests/golden/*.txt (AP_UPDATE_GOLDEN=1 rewrites).
. "$(dirname "$0")/lib.sh"

GEN=$AP_TGT/gen_spans
if [ ! -x "$GEN" ] || [ ! -x "$AP_VIEW" ]; then
	fail "viewer and generator built" "run 'make all unittest' first"
	finish
fi
for s in shim loop pair retry retry-8443 seq spans procs findings; do
	"$GEN" scenario "$W/$s" "$s" || fail "generate $s"
done

golden() {
	local name=$1 want=$AP_ROOT/tests/golden/$1.txt got=$W/$1.txt
	shift
	"$AP_VIEW" "$@" >"$got" 2>&1
	sed -i "s#$W#W#g" "$got"
	if [ "${AP_UPDATE_GOLDEN:-0}" = 1 ]; then
		cp "$got" "$want"
		ok "golden $name (updated)"
	elif diff -u "$want" "$got" >"$W/$name.diff" 2>&1; then
		ok "golden $name"
	else
		fail "golden $name" "differs from tests/golden/$name.txt: $(head -c 600 "$W/$name.diff")"
	fi
}
golden summary_shim summary --width 100 "$W/shim"
golden waterfall_loop waterfall --width 100 --limit 12 "$W/loop"
golden critical_path_loop critical-path --width 100 "$W/loop"
golden critical_path_pair critical-path --width 100 "$W/pair"
golden bottlenecks_loop bottlenecks --width 100 "$W/loop"
golden bottlenecks_retry bottlenecks --width 100 "$W/retry"
golden waterfall_procs waterfall --width 100 "$W/procs"

# text: widths, colour
for w in 60 100 200; do
	long=""
	for c in summary flame waterfall critical-path bottlenecks tokens; do
		for s in shim loop pair retry seq spans procs findings; do
			"$AP_VIEW" "$c" --width "$w" "$W/$s" >"$W/out.txt" 2>&1
			n=$("$PY" -c 'import sys; print(max((len(l) for l in open(sys.argv[1], encoding="utf-8").read().split("\n")), default=0))' "$W/out.txt")
			[ "$n" -gt "$w" ] && long="$long $c/$s:$n"
		done
	done
	for s in loop procs retry; do
		"$AP_VIEW" waterfall --lanes --width "$w" "$W/$s" >"$W/out.txt" 2>&1
		n=$("$PY" -c 'import sys; print(max(len(l) for l in open(sys.argv[1], encoding="utf-8").read().split("\n")))' "$W/out.txt")
		[ "$n" -gt "$w" ] && long="$long lanes/$s:$n"
	done
	"$AP_VIEW" diff --width "$w" "$W/retry" "$W/retry-8443" >"$W/out.txt" 2>&1
	n=$("$PY" -c 'import sys; print(max(len(l) for l in open(sys.argv[1], encoding="utf-8").read().split("\n")))' "$W/out.txt")
	[ "$n" -gt "$w" ] && long="$long diff:$n"
	if [ -z "$long" ]; then ok "every text line fits --width $w"; else fail "every text line fits --width $w" "$long"; fi
done
esc=0
for c in summary waterfall critical-path bottlenecks; do
	NO_COLOR=1 "$AP_VIEW" "$c" --color=auto "$W/loop" | grep -q $'\033' && esc=1
	"$AP_VIEW" "$c" "$W/loop" | grep -q $'\033' && esc=2
done
eq "NO_COLOR and piped output: no escape sequences" "$esc" 0
if "$AP_VIEW" waterfall --color=always "$W/retry" | grep -q $'\033\[3'; then
	ok "--color=always colours by category"
else
	fail "--color=always colours by category" "no SGR colour"
fi
NO_COLOR=1 script -qec "$AP_VIEW waterfall --width 100 $W/retry" /dev/null >"$W/tty.txt" 2>&1
if grep -q $'\033' "$W/tty.txt"; then fail "NO_COLOR on a terminal" "escapes"; else ok "NO_COLOR on a terminal: no escapes"; fi
script -qec "$AP_VIEW waterfall --width 100 $W/retry" /dev/null >"$W/tty.txt" 2>&1
if grep -q $'\033\[3' "$W/tty.txt"; then ok "colour on a terminal by default"; else fail "colour on a terminal by default" "$(head -c 200 "$W/tty.txt")"; fi
"$AP_VIEW" summary --color=sometimes "$W/loop" >/dev/null 2>"$W/err.txt"
eq "--color=sometimes is bad usage (exit 2)" "$?" 2

export W AP_VIEW
check_py "" <<'PY'
import json, os, re, subprocess
W, VIEW = os.environ["W"], os.environ["AP_VIEW"]
MS = 1_000_000

def run(*args):
    p = subprocess.run([VIEW, *args], capture_output=True, text=True)
    return p.stdout

def j(*args):
    return json.loads(run(*args, "--json"))

# shim chain: the agent first, the 62 helpers folded, not counted as process calls
out = run("summary", "--width", "100", f"{W}/shim")
table = out[out.index("Processes"):].split("\n")
rows = [l for l in table[2:] if l.startswith("  ") and not l.startswith("  folded") and re.match(r"  \d", l)]
check("shim: one process row, the agent (python3 agent.py, 9 calls)",
      len(rows) == 1 and "python3 agent.py" in rows[0] and re.search(r"\s9\s", rows[0]), rows)
fold = " ".join(l.strip() for l in table if "folded" in l or (l.startswith("  ") and not re.match(r"  \d", l) and "pid" not in l))
check("shim: helpers folded with their counts", "41 \u00d7 bash" in fold and "16 \u00d7 env" in fold and "5 \u00d7 readlink" in fold and "62 short helper" in fold, fold)
s = j("summary", f"{W}/shim")
eq("shim: JSON flags the agent and the 62 helpers", (sum(p["agent"] for p in s["processes"]),
   sum(p["helper"] for p in s["processes"]), [p["exe"] for p in s["processes"] if p["agent"]]), (1, 62, ["/usr/bin/python3.12"]))
eq("shim: helpers are not process calls", s["categories"]["process"]["recorded_calls"] if "process" in s["categories"] else 0, 0)

# the loop: one waterfall row per exchange with its label, one thread header
wf = j("waterfall", f"{W}/loop")
rows = [r for g in wf["groups"] for r in g["rows"]]
eq("loop: one waterfall row per exchange", len(rows), 300)
eq("loop: rows grouped under one thread header", len(wf["groups"]), 1)
eq("loop: labels", sorted(set(r["label"] for r in rows)),
   ["GET api.search.example/search?q=weather", "gpt-4o POST /v1/chat/completions"])
out = run("waterfall", "--width", "100", "--limit", "0", f"{W}/loop")
eq("loop: text waterfall has a row per exchange", sum(1 for l in out.split("\n") if "gpt-4o POST /v1/chat/completions" in l or "GET api.search" in l), 300)
lanes = j("waterfall", "--lanes", f"{W}/loop")
check("--lanes keeps the lane view", "lanes" in lanes and len(lanes["lanes"]) == 3, list(lanes))

# the loop's critical path: folded into iterations that still add up to the wall time
cp = j("critical-path", f"{W}/loop")
eq("loop: critical-path steps add up to the wall time", sum(x["ns"] for x in cp["steps"]), cp["wall_ns"])
out = run("critical-path", "--width", "100", f"{W}/loop")
check("loop: repeated segment folded", "\u00d7 100 iterations of:" in out, out[:600])
check("loop: the folded text is short", len(out.split("\n")) < 20, len(out.split("\n")))

# the concurrent pair: exactly one of the pair, then the third call
cp = j("critical-path", f"{W}/pair")
ex = [x for x in cp["steps"] if x["kind"] == "exchange"]
eq("pair: critical path has exactly one of the pair, then gemini",
   [(x["model"], x["ns"] // 1000) for x in ex], [("gpt-4o-mini", 150000), ("gemini-2.0-flash", 240000)])
eq("pair: steps add up to the wall time", sum(x["ns"] for x in cp["steps"]), cp["wall_ns"])

# grouped findings: counts and savings
b = j("bottlenecks", f"{W}/loop")
g = {(x["kind"], x["site"]): x for x in b["groups"]}
seq = [x for x in b["groups"] if x["kind"] == "sequential_llm"]
eq("loop: sequential chains grouped (99 at one call site)", [x["count"] for x in seq], [99])
eq("loop: a group's saving is the sum of its findings", seq[0]["saving_ns"],
   sum(f["saving_ns"] for f in b["findings"] if f["kind"] == "sequential_llm"))
eq("loop: each chain saves its shorter call (40 ms and 44 ms chains)",
   sorted(set(f["saving_ns"] // 1000 for f in b["findings"] if f["kind"] == "sequential_llm")), [44000])
check("loop: savings together within the wall time", b["saving_total_ns"] <= b["wall_ns"], (b["saving_total_ns"], b["wall_ns"]))
check("loop: overlapping findings say so", any(f["overlaps_with"] is not None for f in b["findings"]))
out = run("bottlenecks", "--width", "100", f"{W}/loop")
check("loop: text shows groups, not 99 cards", out.count("sequential_llm") == 1 and "99 times" in out, out[:400])
out = run("bottlenecks", "--all", "--limit", "0", "--width", "100", f"{W}/loop")
eq("loop: --all lists each instance", out.count("sequential_llm"), 99)
for s in ("loop", "pair", "retry", "seq", "findings", "procs"):
    b = j("bottlenecks", f"{W}/{s}")
    check(f"{s}: exclusive savings add up to at most the wall time", b["saving_total_ns"] <= b["wall_ns"], (b["saving_total_ns"], b["wall_ns"]))
    check(f"{s}: each exclusive saving within its own", all(0 <= f["exclusive_saving_ns"] <= f["saving_ns"] for f in b["findings"]))

# a profiled child started by a thread nests under that thread in flame and waterfall
fl = j("flame", f"{W}/procs")
def trail(node, want, path=()):
    path = path + (node["kind"] + ":" + node["name"].split(":")[0],)
    if want in node["name"]:
        yield path
    for ch in node["children"]:
        yield from trail(ch, want, path)
t = list(trail(fl["root"], "claude-haiku"))
check("flame: the child's LLM call nests under the thread that started the child",
      t and "thread:thread 400" in t[0] and t[0].index("thread:thread 400") < t[0].index("process:pid 401 python3 tool.py --fast"), t)
wf = j("waterfall", f"{W}/procs")
eq("waterfall: the child's call is in the starting thread's group, below the process row",
   [(g["tid"], [(r["kind"], r["depth"]) for r in g["rows"]]) for g in wf["groups"]],
   [(400, [("process", 0), ("exchange", 1), ("exchange", 0), ("process", 0)])])

# diff across ports: the endpoints match
d = j("diff", f"{W}/retry", f"{W}/retry-8443")
eq("diff across ports: every endpoint matched, none new or gone",
   [e["status"] for e in d["endpoints"]], ["both", "both"])
out = run("diff", "--width", "100", f"{W}/retry", f"{W}/retry-8443")
check("diff across ports: no 'new'/'gone' rows", " new\n" not in out and " gone\n" not in out, out)
PY
finish
