#!/bin/bash
# t30_view_golden: agentprof-view on span files generated from scripted timelines
# (build/targets/gen_spans scenario: sequential vs concurrent calls, nested manual spans, two
# processes, a regression between two runs, bottleneck patterns, context windows per model,
# sampling, odd strings).
# Asserts the numbers (breakdown, percentiles, critical path, findings present and absent,
# diff exit codes) and compares the text views with tests/golden/*.txt
# (AP_UPDATE_GOLDEN=1 rewrites them).
. "$(dirname "$0")/lib.sh"

GEN=$AP_TGT/gen_spans
if [ ! -x "$GEN" ] || [ ! -x "$AP_VIEW" ]; then
	fail "viewer and generator built" "run 'make all unittest' first"
	finish
fi
for s in seq conc spans procs findings sampled windows odd; do
	"$GEN" scenario "$W/$s" "$s" || fail "generate $s"
done
"$GEN" scenario "$W/ra" regress-a || fail "generate regress-a"
"$GEN" scenario "$W/rb" regress-b || fail "generate regress-b"

# --- text views against golden files -------------------------------------------------------------
golden() {
	local name=$1 want=$AP_ROOT/tests/golden/$1.txt got=$W/$1.txt
	shift
	(cd "$W" && "$AP_VIEW" "$@" --width 100) >"$got" 2>&1
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
golden summary_seq summary "$W/seq"
golden summary_procs summary "$W/procs"
golden flame_spans flame "$W/spans"
golden waterfall_conc waterfall "$W/conc"
golden critical_path_procs critical-path "$W/procs"
golden bottlenecks_seq bottlenecks "$W/seq"
golden tokens_procs tokens --calls "$W/procs"
golden diff_regress diff ra rb --fail-on p95=+20% # relative: the header names the paths

# --- numbers ------------------------------------------------------------------------------------
export W AP_VIEW
check_py "" <"$AP_ROOT/tests/integration/checkers/t30_view_golden.py"
finish
