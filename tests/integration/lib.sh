# shellcheck shell=bash
# lib.sh: helpers for the integration tests (sourced by tests/integration/t*.sh).
#
# Output protocol (counted by tests/run.sh): one line per assertion,
#   ok - TEST: name
#   FAIL - TEST: name: details
#   skip - TEST: name: reason            (counted as neither)
# A test exits 1 if any assertion failed (finish), so it also works when run on its own:
#   tests/integration/t10_curl.sh        (starts its own mock provider if run.sh did not)
#
# Environment provided by tests/run.sh (each helper falls back to doing it itself):
#   AP_ROOT, AP_TEST_OUT        repo root, scratch root (build/test-out)
#   AP_CA, AP_CERT, AP_KEY      test CA and server certificate (scripts/gen-cert.sh)
#   MOCK_PORT, MOCK_LOG         plain-HTTP mock provider on 127.0.0.1 and its request log
#   MOCK_TLS_PORT, MOCK_TLS_LOG TLS mock provider (certificate for localhost / 127.0.0.1)
#
# Expectations that depend on profiler policy (change here, not in every test):
#   expected_provider()         provider for a mock path on a loopback host
#   AP_EXPECT_ANTHROPIC_INPUT   "total" (default: the export normalises to the OTel GenAI
#                               convention, input = input_tokens + cache read + cache write,
#                               docs/internals/formats.md §6.8) or "reported" (Anthropic's own
#                               input_tokens field, which excludes cache reads)

set -u

AP_ROOT=${AP_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
AP_BUILD=$AP_ROOT/build
AP_LIB=$AP_BUILD/libagentprof.so
# The viewer under test: the sanitized build (make unittest builds it), else the release one;
# AP_RELEASE_VIEW is what `make` ships (t96 checks it carries no sanitizer).
AP_RELEASE_VIEW=$AP_BUILD/agentprof-view
if [ -z "${AP_VIEW:-}" ]; then
	AP_VIEW=$AP_RELEASE_VIEW
	[ -x "$AP_BUILD/san/agentprof-view" ] && AP_VIEW=$AP_BUILD/san/agentprof-view
fi
AP_LAUNCHER=$AP_BUILD/agentprof
AP_FIX=$AP_BUILD/fixtures
AP_FIXSRC=$AP_ROOT/tests/fixtures
AP_TEST_OUT=${AP_TEST_OUT:-$AP_BUILD/test-out}
AP_TMO=${AP_TMO:-60}
AP_EXPECT_ANTHROPIC_INPUT=${AP_EXPECT_ANTHROPIC_INPUT:-total}
PY=/usr/bin/python3 # Debian's Python (CI has it; a pyenv python3 on PATH is not what we test)
NODE=$(command -v node 2>/dev/null || echo /usr/bin/node)
export AP_ROOT AP_TEST_OUT AP_EXPECT_ANTHROPIC_INPUT

T=$(basename "$0" .sh)
W=$AP_TEST_OUT/$T # this test's scratch directory
rm -rf "$W"
mkdir -p "$W"

_AP_PASS=0
_AP_FAIL=0
_AP_PIDS=""

# ---- assertions ---------------------------------------------------------------------------

ok() {
	echo "ok - $T: $1"
	_AP_PASS=$((_AP_PASS + 1))
}

fail() {
	echo "FAIL - $T: $1: ${2:-failed}"
	_AP_FAIL=$((_AP_FAIL + 1))
}

skip() {
	echo "skip - $T: $1: ${2:-skipped}"
}

# check NAME CMD...: ok if CMD succeeds
check() {
	local name=$1
	shift
	if "$@" >/dev/null 2>&1; then ok "$name"; else fail "$name" "command failed: $*"; fi
}

# eq NAME GOT WANT
eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else fail "$1" "got '$2', want '$3'"; fi
}

# ge NAME GOT MIN (integers)
ge() {
	if [ "$2" -ge "$3" ] 2>/dev/null; then ok "$1"; else fail "$1" "got '$2', want >= $3"; fi
}

# same_file NAME A B: identical files; on failure show the first differing lines
same_file() {
	if cmp -s "$2" "$3"; then
		ok "$1"
	else
		fail "$1" "differs: $(diff "$2" "$3" | head -6 | tr '\n' '|')"
	fi
}

finish() {
	[ "$_AP_FAIL" -eq 0 ]
	exit $?
}

# ---- environment: certificates and mock providers -------------------------------------------

_ap_cleanup() {
	local p
	for p in $_AP_PIDS; do
		kill "$p" 2>/dev/null
	done
	for p in $_AP_PIDS; do
		wait "$p" 2>/dev/null
	done
	_AP_PIDS=""
}
trap _ap_cleanup EXIT
trap '_ap_cleanup; exit 130' INT TERM

ensure_certs() {
	if [ -n "${AP_CA:-}" ] && [ -f "$AP_CA" ]; then
		return 0
	fi
	"$AP_ROOT/scripts/gen-cert.sh" "$W/certs" >/dev/null || return 1
	AP_CA=$W/certs/ca.pem
	AP_CERT=$W/certs/server.pem
	AP_KEY=$W/certs/server.key
	export AP_CA AP_CERT AP_KEY
}

# mock_start NAME [--tls]: start a private mock instance; sets NAME_PORT, NAME_LOG, NAME_PID
mock_start() {
	local name=$1 tls=${2:-} rf log i
	rf=$W/$name.ready
	log=$W/$name.log
	rm -f "$rf"
	if [ "$tls" = --tls ]; then
		ensure_certs || return 1
		"$PY" "$AP_ROOT/scripts/mock_provider.py" --port 0 --ready-file "$rf" --log "$log" \
			--tls "$AP_CERT" "$AP_KEY" 2>>"$W/$name.stderr" &
	else
		"$PY" "$AP_ROOT/scripts/mock_provider.py" --port 0 --ready-file "$rf" --log "$log" \
			2>>"$W/$name.stderr" &
	fi
	local pid=$!
	_AP_PIDS="$_AP_PIDS $pid"
	for i in $(seq 1 100); do
		[ -s "$rf" ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if [ ! -s "$rf" ]; then
		echo "mock_start $name: not ready ($(tail -3 "$W/$name.stderr" 2>/dev/null))" >&2
		return 1
	fi
	: >>"$log"
	printf -v "${name}_PORT" '%s' "$(cat "$rf")"
	printf -v "${name}_LOG" '%s' "$log"
	printf -v "${name}_PID" '%s' "$pid"
}

# mock_up: make sure the shared plain and TLS mocks exist (run.sh starts them; else start ours)
mock_up() {
	ensure_certs || return 1
	if [ -z "${MOCK_PORT:-}" ] || [ -z "${MOCK_LOG:-}" ]; then
		mock_start MOCK || return 1
	fi
	if [ -z "${MOCK_TLS_PORT:-}" ] || [ -z "${MOCK_TLS_LOG:-}" ]; then
		mock_start MOCK_TLS --tls || return 1
	fi
	export MOCK_PORT MOCK_LOG MOCK_TLS_PORT MOCK_TLS_LOG
	PLAIN=http://127.0.0.1:$MOCK_PORT
	TLSURL=https://localhost:$MOCK_TLS_PORT
}

# mock_mark: remember where the mock logs end; mock_since FILE: the requests logged since,
# both instances, each tagged "tls": true|false, in arrival order
mock_mark() {
	_AP_MARK_P=$(wc -l <"$MOCK_LOG")
	_AP_MARK_T=$(wc -l <"$MOCK_TLS_LOG")
}

mock_since() {
	sleep 0.1 # the mock logs after the last response byte; let it land
	{
		tail -n +$((_AP_MARK_P + 1)) "$MOCK_LOG" | sed 's/^{/{"tls":false,/'
		tail -n +$((_AP_MARK_T + 1)) "$MOCK_TLS_LOG" | sed 's/^{/{"tls":true,/'
	} | "$PY" -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
rows.sort(key=lambda r: r["t"])
for r in rows:
    print(json.dumps(r))' >"$1"
}

# ---- running programs -----------------------------------------------------------------------

have_preload() {
	[ -f "$AP_LIB" ] && [ -x "$AP_VIEW" ]
}

# require_preload LABEL: FAIL (not skip: the preload is part of the product) when it is missing
require_preload() {
	if have_preload; then
		return 0
	fi
	fail "${1:-preload}" "build/libagentprof.so or build/agentprof-view not built"
	return 1
}

# run_bare PREFIX CMD...: run without the preload; PREFIX.out, PREFIX.err, PREFIX.rc
run_bare() {
	local p=$1
	shift
	timeout -k 5 "$AP_TMO" "$@" >"$p.out" 2>"$p.err"
	echo $? >"$p.rc"
	return "$(cat "$p.rc")"
}

# run_prof DIR PREFIX CMD...: run CMD with LD_PRELOAD and AGENTPROF_OUT=DIR. Only CMD carries
# the preload (timeout and the sh that sets the variables do not).
run_prof() {
	local d=$1 p=$2
	shift 2
	mkdir -p "$d"
	timeout -k 5 "$AP_TMO" /bin/sh -c \
		'LD_PRELOAD=$0; AGENTPROF_OUT=$1; export LD_PRELOAD AGENTPROF_OUT; shift; exec "$@"' \
		"$AP_LIB" "$d" "$@" >"$p.out" 2>"$p.err"
	echo $? >"$p.rc"
	return "$(cat "$p.rc")"
}

# run_both PREFIX DIR CMD...: run CMD bare (PREFIX.bare.*) and, when the preload is built,
# under it (PREFIX.prof.*, span files into DIR); assert the same exit status and stdout
run_both() {
	local p=$1 d=$2 n
	shift 2
	n=$(basename "$p")
	run_bare "$p.bare" "$@"
	have_preload || return 0
	run_prof "$d" "$p.prof" "$@"
	eq "$n: exit status unchanged" "$(cat "$p.prof.rc")" "$(cat "$p.bare.rc")"
	same_file "$n: stdout unchanged" "$p.bare.out" "$p.prof.out"
}

# span_files DIR: the span files written into DIR
span_files() {
	find "$1" -maxdepth 1 -name 'agentprof.*.zst' -type f 2>/dev/null | sort
}

# ap_export DIR JSONL: agentprof-view export --format jsonl DIR > JSONL (rc of the viewer)
ap_export() {
	timeout -k 5 "$AP_TMO" "$AP_VIEW" export --format jsonl "$1" >"$2" 2>"$2.err"
}

# profile_and_export NAME DIR JSONL: assert that span files exist and the export works
profile_and_export() {
	local name=$1 d=$2 j=$3 n
	n=$(span_files "$d" | wc -l)
	if [ "$n" -ge 1 ]; then ok "$name: span file written"; else
		fail "$name: span file written" "no agentprof.*.zst in $d"
	fi
	if ap_export "$d" "$j"; then
		ok "$name: export jsonl"
	else
		fail "$name: export jsonl" "agentprof-view exit $?: $(head -c 300 "$j.err")"
		return 1
	fi
}

# ---- JSONL checks in Python -------------------------------------------------------------------
#
# check_py JSONL [MOCKLOG] <<'PY' ... PY
# Runs the Python snippet after tests/integration/checks.py, which provides:
#   X  exchanges (dicts, the export --format jsonl fields), sorted by start_ns
#   P  processes;  A  every record;  M  mock-log requests (from mock_since), in arrival order
#   ok(name) fail(name, why) check(name, cond, why="") eq(name, got, want)
#   sel(xs, **field_equals), path_is(x, prefix), dur_ms(x), overlap(a, b)
#   check_schema(xs)                   every contract field present, with the right type
#   match_mock(xs, M, label, host=, port=, tls=, visibility=, endpoint=True|False)
#       pairs each mock request with one exchange (same method and path, earliest first) and
#       asserts category, provider, status, stream, models, the four token fields (exact, from
#       the mock's deterministic formula; null when the mock sent no usage), duration >= the
#       server-imposed delay (x-mock-delay-ms + x-mock-ttfb-ms), time order of the fields
#   expected_provider(path), expected_category(path)
# Output lines follow the ok/FAIL protocol; the shell side counts them.

AP_PY_PRELUDE=$(cat "$AP_ROOT/tests/integration/checks.py")

check_py() {
	local jsonl=$1 mock=${2:-} code out rc
	code=$(cat)
	out=$(AP_T=$T AP_JSONL=$jsonl AP_MOCKLOG=$mock "$PY" -c "$AP_PY_PRELUDE
$code
sys.exit(1 if _fails else 0)" 2>&1)
	rc=$?
	[ -n "$out" ] && printf '%s\n' "$out"
	_AP_PASS=$((_AP_PASS + $(printf '%s\n' "$out" | grep -c '^ok - ')))
	_AP_FAIL=$((_AP_FAIL + $(printf '%s\n' "$out" | grep -c '^FAIL - ')))
	if [ "$rc" -ne 0 ] && ! printf '%s\n' "$out" | grep -q '^FAIL - '; then
		fail "python check" "exit $rc: $(printf '%s' "$out" | tail -3 | tr '\n' '|')"
	fi
	return 0
}
