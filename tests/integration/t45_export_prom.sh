#!/bin/bash
# t45_export_prom.sh: export --format prom passes promtool check metrics (Debian's prometheus
# package) and the text-format rules: grouped, typed, cumulative GenAI-bucket histograms.
. "$(dirname "$0")/lib.sh"

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
	pycheck "$run" "$W/$run.prom" <"$AP_ROOT/tests/integration/checkers/t45_export_prom.py"
done
finish
