#!/bin/bash
# tests/run.sh [-k PATTERN] [-v]: the test runner behind `make test` (which builds first).
#
#  1. unit tests: every executable build/tests/test_*; each prints "N passed, N failed" and the
#     numbers are added up (a crash or sanitizer abort with no failure counted adds 1 failure);
#  1b. the layer check (scripts/check-layers.sh) counts one pass or one failure;
#  2. builds every target program once (make -C tests/targets -> build/targets/, and the fuzz
#     truncation driver -> build/fuzz/), so tests side by side never compile the same target;
#  3. makes a throwaway CA + localhost certificate (scripts/gen-cert.sh);
#  4. for each integration test, starts its own mock provider pair (plain HTTP and TLS, OS-chosen
#     ports via --ready-file) and exports MOCK_PORT, MOCK_TLS_PORT, MOCK_LOG, MOCK_TLS_LOG, AP_CA,
#     AP_CERT, AP_KEY;
#  5. runs every executable tests/integration/t*.sh, AP_TEST_JOBS at a time (default: the number of
#     CPUs; a test whose first lines say "ap-test: serial" runs alone afterwards), longest first
#     (durations of the last run, build/test-times.txt, else tests/integration/durations.txt), so
#     the slow ones do not start last and leave a core idle; results are printed in name order. Each assertion line a test prints counts:
#     "ok - ..." one pass, "FAIL - ..." one failure ("skip - ..." neither). A test that exits
#     non-zero without printing a FAIL line (crash, timeout) counts one failure; a test that
#     prints nothing and exits 0 counts one pass;
#  6. stops the servers (trap) and ends with exactly one final line "N passed, N failed";
#     exit status 0 only when nothing failed.
#
# -k PATTERN  run only the unit and integration tests whose name matches PATTERN (an extended
#             regular expression, e.g. -k 't1[0-6]|test_http')
# -v          print every assertion line (default: FAIL and skip lines, plus a per-test count)
# Scratch output and logs: build/test-out/ (one directory and one .log per integration test).
# Each test's line gives its wall time and CPU seconds (its programs and its mock: a test with far
# less CPU than wall time is waiting); the summary gives each phase's wall time and the CPU total.
# Time limits: 300 s per unit binary, AP_TEST_TIMEOUT (default 300 s) per integration test; every
# command inside a test has its own timeout (lib.sh, 60 s).

set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 2
PATTERN=""
VERBOSE=0
while getopts "k:vh" o; do
	case $o in
	k) PATTERN=$OPTARG ;;
	v) VERBOSE=1 ;;
	*)
		sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'
		exit 2
		;;
	esac
done

OUT=$ROOT/build/test-out
rm -rf "$OUT"
mkdir -p "$OUT"
export AP_ROOT=$ROOT AP_TEST_OUT=$OUT
PASS=0
FAIL=0
T0=$(date +%s)
t_int=""
PIDS=""

matches() {
	[ -z "$PATTERN" ] || printf '%s\n' "$1" | grep -qE -- "$PATTERN"
}

cleanup() {
	local p
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	for p in $PIDS; do wait "$p" 2>/dev/null; done
	PIDS=""
}
trap cleanup EXIT
trap 'cleanup; echo "interrupted"; echo "$PASS passed, $((FAIL + 1)) failed"; exit 130' INT TERM

# ---- 1. unit tests ------------------------------------------------------------------------------
units=0
for b in build/tests/test_*; do
	[ -f "$b" ] && [ -x "$b" ] || continue
	name=$(basename "$b")
	matches "$name" || continue
	units=$((units + 1))
	out=$(timeout -k 5 300 "$b" 2>&1)
	rc=$?
	line=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -1)
	p=0
	f=0
	if [ -n "$line" ]; then
		p=${line%% passed*}
		f=${line#*passed, }
		f=${f%% failed*}
	fi
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1 # crashed, sanitizer report, timeout (124) or no summary line
	fi
	PASS=$((PASS + p))
	FAIL=$((FAIL + f))
	printf 'unit %-24s %4d ok %3d failed%s\n' "$name" "$p" "$f" "$([ "$rc" -eq 124 ] && echo ' (timeout)')"
	if [ "$f" -ne 0 ] || [ "$VERBOSE" = 1 ]; then
		printf '%s\n' "$out" | grep -vE '^[0-9]+ passed, [0-9]+ failed$' | head -40 | sed 's/^/    /'
	fi
done
if [ "$units" -eq 0 ] && [ -z "$PATTERN" ]; then
	echo "unit: no build/tests/test_* binaries (run 'make unittest')"
fi

# ---- the layer check: no #include points up or across the layers (scripts/check-layers.sh) ----
if matches "check_layers"; then
	if out=$(scripts/check-layers.sh 2>&1); then
		PASS=$((PASS + 1))
		echo "check_layers                 1 ok   0 failed"
	else
		FAIL=$((FAIL + 1))
		echo "FAIL - check_layers: $(printf '%s' "$out" | tail -1)"
		printf '%s\n' "$out" | head -20 | sed 's/^/    /'
	fi
fi

# ---- integration tests -------------------------------------------------------------------------
itests=()
for t in tests/integration/t*.sh; do
	[ -f "$t" ] && [ -x "$t" ] || continue
	matches "$(basename "$t" .sh)" || continue
	itests+=("$t")
done

if [ "${#itests[@]}" -gt 0 ]; then
	# ---- 2. target programs
	# Everything the tests run is built here, once, so that tests running side by side never
	# compile the same target at the same time (their own make calls then find it up to date).
	t_build=$(date +%s)
	# The npm packages of the Node tests (network, not CPU) are fetched meanwhile; a test that
	# needs them waits on scripts/npm-deps.sh's lock until the fetch is done.
	if command -v npm >/dev/null 2>&1 && grep -lq 'npm-deps.sh\|otel_defs' "${itests[@]}"; then
		# not a child of ours (the test scheduler's wait -n counts children); the tests that
		# need the packages wait for this fetch, so it ends before they do
		({ scripts/npm-deps.sh --claude && scripts/npm-deps.sh --otel; } >"$OUT/npm.log" 2>&1 &)
	fi
	# (the libFuzzer targets of t60 too, when clang is installed; else t60 installs it and builds)
	fuzz_goals=driver
	command -v clang >/dev/null 2>&1 && matches t60_fuzz_smoke && fuzz_goals="driver fuzzers"
	ncpu=$(nproc 2>/dev/null || echo 2)
	# shellcheck disable=SC2086
	if make --no-print-directory -s -C tests/targets -j"$ncpu" all tsan >"$OUT/targets.log" 2>&1 &&
		make --no-print-directory -s -C tests/fuzz -j"$ncpu" $fuzz_goals >>"$OUT/targets.log" 2>&1; then
		echo "targets: built into build/targets/ and build/fuzz/ in $(($(date +%s) - t_build)) s"
	else
		echo "FAIL - targets: build failed:"
		tail -20 "$OUT/targets.log" | sed 's/^/    /'
		FAIL=$((FAIL + 1))
	fi

	# ---- 3. certificates
	if scripts/gen-cert.sh "$OUT/certs" >"$OUT/certs.log" 2>&1; then
		export AP_CA=$OUT/certs/ca.pem AP_CERT=$OUT/certs/server.pem AP_KEY=$OUT/certs/server.key
	else
		echo "FAIL - certificates: scripts/gen-cert.sh failed: $(tail -3 "$OUT/certs.log")"
		FAIL=$((FAIL + 1))
	fi

	# ---- 4. mock providers: each test gets its own pair (plain HTTP and TLS, OS-chosen ports), so
	# tests are independent and can run side by side.
	start_mock() { # NAME DIR [--tls]; sets NAME_PORT / NAME_LOG, appends the pid to DIR/pids
		local name=$1 dir=$2 tls=${3:-} rf=$2/$1.ready log=$2/$1.log i
		: >"$log"
		if [ "$tls" = --tls ]; then
			/usr/bin/python3 scripts/mock_provider.py --port 0 --ready-file "$rf" --log "$log" \
				--tls "$AP_CERT" "$AP_KEY" 2>"$dir/$name.stderr" &
		else
			/usr/bin/python3 scripts/mock_provider.py --port 0 --ready-file "$rf" --log "$log" \
				2>"$dir/$name.stderr" &
		fi
		local pid=$!
		echo "$pid" >>"$dir/pids"
		for i in $(seq 1 100); do
			[ -s "$rf" ] && break
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if [ ! -s "$rf" ]; then
			echo "FAIL - mock provider ($name) did not start: $(tail -3 "$dir/$name.stderr")"
			return 1
		fi
		printf -v "${name}_PORT" '%s' "$(cat "$rf")"
		printf -v "${name}_LOG" '%s' "$log"
		export "${name}_PORT" "${name}_LOG"
	}

	# ---- 5. the tests: run_one NAME SCRIPT writes NAME.log and NAME.result ("pass fail secs note").
	run_one() {
		local name=$1 t=$2 dir=$OUT/mock-$1 log=$OUT/$1.log s rc p f cpu note=""
		mkdir -p "$dir"
		s=$(date +%s)
		if [ -z "${AP_CA:-}" ] || ! { start_mock MOCK "$dir" && start_mock MOCK_TLS "$dir" --tls; } >"$log" 2>&1; then
			rc=1
		else
			timeout -k 10 "${AP_TEST_TIMEOUT:-300}" "$t" >"$log" 2>&1 </dev/null
			rc=$?
		fi
		while read -r p; do kill "$p" 2>/dev/null; done <"$dir/pids"
		while read -r p; do wait "$p" 2>/dev/null; done <"$dir/pids" # (their CPU counts too)
		p=$(grep -c '^ok - ' "$log")
		f=$(grep -c '^FAIL - ' "$log")
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
			f=1
			if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then note="(timed out)"; else note="(exit $rc, no FAIL line)"; fi
		elif [ "$rc" -eq 0 ] && [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
			p=1
		fi
		times >"$dir/times" # this job's children: the test and what it ran (CPU, not waiting)
		cpu=$(tail -1 "$dir/times" | awk '{for (i = 1; i <= 2; i++) {split($i, a, /[ms]/); c += a[1] * 60 + a[2]}; printf "%.1f", c}')
		echo "$p $f $(($(date +%s) - s)) $cpu $note" >"$OUT/$name.result"
	}
	report_one() { # NAME: print the result line, failures and skips, and add up the counts
		local name=$1 log=$OUT/$1.log p f secs cpu note
		read -r p f secs cpu note <"$OUT/$name.result"
		PASS=$((PASS + p))
		FAIL=$((FAIL + f))
		printf '%-24s %4d ok %3d failed  %3ss %5s CPU-s%s\n' "$name" "$p" "$f" "$secs" "$cpu" "${note:+ $note}"
		if [ "$VERBOSE" = 1 ]; then
			grep -E '^(ok|FAIL|skip) - ' "$log" | sed 's/^/    /'
		else
			grep -E '^(FAIL|skip) - ' "$log" | sed 's/^/    /'
		fi
		[ -n "$note" ] && tail -5 "$log" | sed 's/^/    | /'
		[ "$f" -ne 0 ] && echo "    (log: ${log#"$ROOT"/})"
	}

	# Tests whose header carries "ap-test: serial" (timing-sensitive or machine-wide) run alone,
	# after the others; the rest run AP_TEST_JOBS at a time (default: the number of CPUs),
	# longest first by the durations of the last run (build/test-times.txt; a fresh clone uses
	# tests/integration/durations.txt; a test in neither counts 5 s).
	jobs_max=${AP_TEST_JOBS:-$(nproc 2>/dev/null || echo 2)}
	TIMES=$ROOT/build/test-times.txt
	times_from=$TIMES
	[ -s "$TIMES" ] || times_from=tests/integration/durations.txt
	parallel=() serial=()
	while read -r _ t; do
		if head -5 "$t" | grep -q 'ap-test: serial'; then serial+=("$t"); else parallel+=("$t"); fi
	done < <(for t in "${itests[@]}"; do
		secs=$(awk -v n="$(basename "$t" .sh)" '$1 == n {print $2; exit}' "$times_from" 2>/dev/null)
		echo "${secs:-5} $t"
	done | sort -k1,1nr -k2,2)
	echo "integration: ${#parallel[@]} tests, $jobs_max at a time, longest first; ${#serial[@]} serial"
	t_int=$(date +%s)
	running=0
	for t in "${parallel[@]}"; do
		if [ "$running" -ge "$jobs_max" ]; then
			wait -n
			running=$((running - 1))
		fi
		run_one "$(basename "$t" .sh)" "$t" &
		PIDS="$PIDS $!"
		running=$((running + 1))
	done
	wait
	PIDS=""
	for t in "${serial[@]}"; do run_one "$(basename "$t" .sh)" "$t"; done
	for t in "${itests[@]}"; do report_one "$(basename "$t" .sh)"; done
	t_int=$(($(date +%s) - t_int))
	# remember this run's durations for the next run's order (a -k run updates only its tests)
	{
		for t in "${itests[@]}"; do
			n=$(basename "$t" .sh)
			read -r _ _ secs _ <"$OUT/$n.result" && echo "$n $secs"
		done
	} >"$TIMES.new"
	if [ -s "$TIMES" ]; then
		awk 'NR == FNR {seen[$1] = 1; print; next} !($1 in seen)' "$TIMES.new" "$TIMES" |
			sort >"$TIMES.tmp" && mv "$TIMES.tmp" "$TIMES"
		rm -f "$TIMES.new"
	else
		sort "$TIMES.new" >"$TIMES" && rm -f "$TIMES.new"
	fi
fi

cleanup
# CPU seconds of everything the runner started (user + system, children included)
times >"$OUT/times.txt" # (not in a pipe: a subshell would report its own, empty, children)
cpu=$(tail -1 "$OUT/times.txt" | awk '{for (i = 1; i <= 2; i++) {split($i, a, /[ms]/); s += a[1] * 60 + a[2]}; printf "%.0f", s}')
echo "total time: $(($(date +%s) - T0)) s${t_int:+ (integration ${t_int} s)}, ${cpu} CPU-seconds"
echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
