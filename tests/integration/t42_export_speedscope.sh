#!/bin/bash
# t42_export_speedscope.sh: export --format speedscope checked against the speedscope file
# format (file-format-spec.ts): $schema, frames, evented profiles with balanced O/C events and
# non-decreasing times; overlapping requests in separate profiles; symbolized file:line.
. "$(dirname "$0")/lib.sh"

export_runs
for run in $RUNS; do
	export_fmt speedscope "$run" || continue
	pycheck "$run" "$W/$run.speedscope" <"$AP_ROOT/tests/integration/checkers/t42_export_speedscope.py"
done
finish
