#!/bin/bash
# t31_view_cli: agentprof-view's command line contract: every command's --json is valid JSON
# (python3 -m json.tool), --help for every command, exit status 2 with a message naming the
# file or option for bad input, and a truncated or corrupt file yields its complete frames
# with a note on stderr.
. "$(dirname "$0")/lib.sh"

GEN=$AP_TGT/gen_spans
if [ ! -x "$GEN" ] || [ ! -x "$AP_VIEW" ]; then
	fail "viewer and generator built" "run 'make all unittest' first"
	finish
fi
for s in seq conc spans procs findings sampled odd; do
	"$GEN" scenario "$W/$s" "$s" || fail "generate $s"
done
"$GEN" scenario "$W/ra" regress-a && "$GEN" scenario "$W/rb" regress-b || fail "generate regress"

V() { "$AP_VIEW" "$@"; }

# expect_rc NAME RC PATTERN CMD...: exit status RC and stderr matching PATTERN (grep -E)
expect_rc() {
	local name=$1 want=$2 pat=$3 rc
	shift 3
	"$@" >"$W/out" 2>"$W/err"
	rc=$?
	if [ "$rc" != "$want" ]; then
		fail "$name" "exit $rc, want $want; stderr: $(head -c 300 "$W/err")"
	elif [ -n "$pat" ] && ! grep -Eq -- "$pat" "$W/err"; then
		fail "$name" "stderr does not match /$pat/: $(head -c 300 "$W/err")"
	else
		ok "$name"
	fi
}

# --- valid JSON from every command on every scenario ------------------------------------------------
for c in summary flame waterfall tokens bottlenecks critical-path; do
	bad=""
	for s in seq conc spans procs findings sampled odd ra; do
		if ! V "$c" --json "$W/$s" 2>"$W/err" | "$PY" -m json.tool >/dev/null 2>&1; then
			bad="$bad $s"
		fi
	done
	eq "$c --json is valid JSON on every scenario" "${bad:-none}" none
done
if V diff --json "$W/ra" "$W/rb" | "$PY" -m json.tool >/dev/null 2>&1; then ok "diff --json is valid JSON"; else
	fail "diff --json is valid JSON"
fi
if V export --format jsonl "$W/odd" "$W/procs" | "$PY" -c 'import json,sys; [json.loads(l) for l in sys.stdin]'; then
	ok "export jsonl: every line is JSON (odd bytes included)"
else
	fail "export jsonl: every line is JSON"
fi
n=$(V export --format jsonl --json "$W/seq" | wc -l)
eq "export --json is accepted (jsonl already is JSON): 1 process + 5 exchanges" "$n" 6

# --- help ---------------------------------------------------------------------------------------
for c in summary export flame waterfall tokens bottlenecks critical-path diff; do
	if V "$c" --help | grep -q "usage: agentprof-view $c" && [ "$(V help "$c" | head -1)" = "$(V "$c" -h | head -1)" ]; then
		ok "$c --help"
	else
		fail "$c --help"
	fi
done
expect_rc "--help exits 0" 0 "" V --help
expect_rc "no command: usage, exit 2" 2 "usage: agentprof-view" V

# --- bad usage: exit 2, message names the problem -----------------------------------------------------
expect_rc "unknown command" 2 "unknown command 'frobnicate'" V frobnicate "$W/seq"
expect_rc "unknown option" 2 "unknown option '--frob'" V summary --frob "$W/seq"
expect_rc "option of another command" 2 "--fail-on does not apply" V flame --fail-on p95=+1% "$W/seq"
expect_rc "missing option value" 2 "missing value for option '--width'" V flame --width
expect_rc "bad --width" 2 "--width '5'" V flame --width 5 "$W/seq"
expect_rc "bad --pid" 2 "--pid 'x1'" V summary --pid x1 "$W/seq"
expect_rc "bad --category" 2 "--category 'llmm'" V summary --category llmm "$W/seq"
expect_rc "bad --provider" 2 "--provider 'opnai'" V summary --provider opnai "$W/seq"
expect_rc "bad --budget key" 2 "--budget 'money=1'" V tokens --budget money=1 "$W/seq"
expect_rc "bad --budget value" 2 "--budget 'tokens=lots'" V tokens --budget tokens=lots "$W/seq"
expect_rc "bad --fail-on key" 2 "--fail-on 'p42=\+1%'" V diff --fail-on p42=+1% "$W/ra" "$W/rb"
expect_rc "bad --fail-on value" 2 "--fail-on 'p95=\+lots'" V diff --fail-on p95=+lots "$W/ra" "$W/rb"
expect_rc "bad --threshold" 2 "--threshold 'nope'" V bottlenecks --threshold nope=1 "$W/seq"
expect_rc "export without --format" 2 "missing --format" V export "$W/seq"
expect_rc "export --format csv" 2 "unknown format" V export --format csv "$W/seq"
expect_rc "diff needs two runs" 2 "expected two runs" V diff "$W/ra"
expect_rc "bad --prices file" 2 "prices.json: invalid JSON at line 1" \
	sh -c "echo '{\"a\": [1,]}' > '$W/prices.json'; '$AP_VIEW' tokens --prices '$W/prices.json' '$W/seq'"

# --- bad input: exit 2, message names the file --------------------------------------------------------
printf 'this is not a span file at all' >"$W/garbage.zst"
expect_rc "non-agentprof file" 2 "garbage.zst: not an agentprof span file" V summary "$W/garbage.zst"
expect_rc "missing path" 2 "$W/nope: cannot access" V summary "$W/nope"
mkdir -p "$W/empty"
expect_rc "directory without span files" 2 "empty: no agentprof span files" V summary "$W/empty"
mkdir -p "$W/dirfile/agentprof.x.1.zst"
expect_rc "unreadable span file (a directory)" 2 "agentprof.x.1.zst: not a regular file" V summary "$W/dirfile"
: >"$W/zero.zst"
expect_rc "empty file" 2 "zero.zst: empty file" V summary "$W/zero.zst"
f=$(ls "$W"/seq/*.zst)
"$PY" -c "import sys; d=bytearray(open(sys.argv[1],'rb').read()); d[20]=99; open(sys.argv[2],'wb').write(d)" "$f" "$W/newer.zst"
expect_rc "newer format version" 2 "newer.zst: format version 99 is newer" V summary "$W/newer.zst"
expect_rc "one bad file among good ones" 2 "garbage.zst" V summary "$W/seq" "$W/garbage.zst"

# --- damaged files: complete frames + a note ------------------------------------------------------------
size=$(stat -c %s "$f")
head -c $((size - 7)) "$f" >"$W/trunc.zst"
expect_rc "truncated file: exit 0 and a note" 0 \
	"trunc.zst: truncated after [0-9]+ complete frames \([0-9]+ bytes ignored\)" V summary "$W/trunc.zst"
n=$(V export --format jsonl "$W/trunc.zst" 2>/dev/null | grep -c '"kind":"exchange"')
eq "truncated file: the 3 LLM exchanges of its complete frames (the cut frame held the rest)" "$n" 3
"$PY" -c "import sys; d=bytearray(open(sys.argv[1],'rb').read()); d[len(d)//2]^=0x5a; open(sys.argv[2],'wb').write(d)" "$f" "$W/corrupt.zst"
expect_rc "corrupt frame: exit 0 and a note" 0 "corrupt.zst: .*after [0-9]+ complete frames" V summary "$W/corrupt.zst"
if zstd -q -t "$f"; then ok "zstd -t verifies a generated span file"; else fail "zstd -t"; fi
for cut in 1 10 24 25 60 100 200 400; do
	head -c "$cut" "$f" >"$W/cut.zst"
	V summary --json "$W/cut.zst" >"$W/cut.out" 2>"$W/cut.err"
	rc=$?
	if [ "$rc" -le 2 ] && { [ "$rc" -ne 0 ] || "$PY" -m json.tool "$W/cut.out" >/dev/null; }; then
		ok "file cut at $cut bytes: exit $rc, no crash"
	else
		fail "file cut at $cut bytes" "exit $rc: $(head -c 200 "$W/cut.err")"
	fi
done
finish
