#!/bin/bash
# t41_export_folded.sh: export --format folded (and --weight time|calls|tokens|cost) read back
# with the parsing rules of flamegraph.pl, inferno and speedscope: integer counts, no ';' in
# frames, no frame ending in ' <digits>' (read as a differential count); flamegraph.pl itself
# when installed.
. "$(dirname "$0")/lib.sh"

export_runs
for run in $RUNS; do
	for w in time calls tokens cost; do
		export_fmt folded "$run" --weight "$w" || continue
		mv "$W/$run.folded" "$W/$run.$w.folded"
		pycheck "$run --weight $w" "$W/$run.$w.folded" <"$AP_ROOT/tests/integration/checkers/t41_export_folded.py"
	done
done
# the real tool, when installed (Debian bookworm has no flamegraph package)
FG=$(command -v flamegraph.pl || command -v flamegraph || command -v inferno-flamegraph || true)
if [ -n "$FG" ]; then
	"$FG" --countname us "$W/synth.time.folded" >"$W/synth.svg" 2>"$W/fg.err"
	if [ -s "$W/synth.svg" ] && ! grep -qi 'ignored' "$W/fg.err"; then
		ok "$(basename "$FG") renders the folded stacks"
	else
		fail "$(basename "$FG")" "$(head -c 200 "$W/fg.err")"
	fi
else
	skip "flamegraph.pl" "not installed; its parsing rules were checked above"
fi
finish
