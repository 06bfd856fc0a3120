#!/bin/bash
# t43_export_chrome.sh: export --format chrome checked with the rules Perfetto's JSON importer
# applies (traceEvents first, ts everywhere, strict X nesting per thread, async b/e balanced per
# id with one request per id, numeric counters, process/thread names) and a JSON round trip.
. "$(dirname "$0")/lib.sh"

export_runs
for run in $RUNS; do
	export_fmt chrome "$run" || continue
	pycheck "$run" "$W/$run.chrome" <"$AP_ROOT/tests/integration/checkers/t43_export_chrome.py"
done
finish
