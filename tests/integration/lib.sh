# shellcheck shell=bash
# lib.sh: the one helper library of the integration tests (sourced by tests/integration/t*.sh and
# scripts/stress.sh; nothing else is sourced). Sections:
#   assertions            ok fail skip check eq ge same_file finish
#   environment, mocks    ensure_certs mock_start mock_up mock_mark mock_since
#   running programs      have_preload require_preload run_bare run_prof run_both span_files
#                         ap_export profile_and_export
#   Python checks         check_py (tests/integration/checks.py prelude), pycheck (res() checker)
#   target programs       AP_TGT (build/targets) AP_TGT_SRC (tests/targets) build_targets
#                         need_pkgs need dump_spans clock_start elapsed_ms
#   export runs           export_runs export_fmt
#   HTTP/2 front          free_port nginx_h2_up
#   writer loops          wr_check wr_loop wr_kill9 wr_tsan
#   OTLP shipping         otel_defs start_receiver decode (tests/integration/otlp/)
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
AP_TGT=$AP_BUILD/targets         # every target program, built by make -C tests/targets
AP_TGT_SRC=$AP_ROOT/tests/targets # their sources, and the Python and Node targets
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

# ==== assertions =================================================================================

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

# ==== environment: certificates and mock providers ===============================================

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

# ==== running programs ===========================================================================

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

# run_prof DIR PREFIX [VAR=value... --] CMD...: run CMD with LD_PRELOAD and AGENTPROF_OUT=DIR
# (and the VAR=value settings, which may override both) into PREFIX.out, PREFIX.err, PREFIX.rc.
# Only CMD carries the preload (timeout and env do not). The settings need the "--".
run_prof() {
	local d=$1 p=$2 envs=() a
	shift 2
	for a in "$@"; do
		if [ "$a" = -- ]; then
			while [ "$1" != -- ]; do
				envs+=("$1")
				shift
			done
			shift
			break
		fi
		case $a in [A-Za-z_]*=*) ;; *) break ;; esac
	done
	mkdir -p "$d"
	timeout -k 5 "$AP_TMO" env LD_PRELOAD="$AP_LIB" AGENTPROF_OUT="$d" "${envs[@]}" "$@" \
		>"$p.out" 2>"$p.err"
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

# ==== JSONL checks in Python =====================================================================
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

# _py_tally OUT RC LABEL: print a checker's output, count its ok/FAIL lines, and FAIL once when
# it exited non-zero without a FAIL line (a Python exception)
_py_tally() {
	local out=$1 rc=$2 label=$3
	[ -n "$out" ] && printf '%s\n' "$out"
	_AP_PASS=$((_AP_PASS + $(printf '%s\n' "$out" | grep -c '^ok - ')))
	_AP_FAIL=$((_AP_FAIL + $(printf '%s\n' "$out" | grep -c '^FAIL - ')))
	if [ "$rc" -ne 0 ] && ! printf '%s\n' "$out" | grep -q '^FAIL - '; then
		fail "$label" "exit $rc: $(printf '%s' "$out" | tail -3 | tr '\n' '|')"
	fi
	return 0
}

check_py() {
	local jsonl=$1 mock=${2:-} code out rc
	code=$(cat)
	out=$(AP_T=$T AP_JSONL=$jsonl AP_MOCKLOG=$mock "$PY" -c "$AP_PY_PRELUDE
$code
sys.exit(1 if _fails else 0)" 2>&1)
	rc=$?
	_py_tally "$out" "$rc" "python check"
}

# pycheck LABEL FILE <<'PY' ... PY: run a checker on FILE (sys.argv[1]); it calls
# res(name, good, why) per assertion, printed as "TEST: LABEL: name"
pycheck() {
	local label=$1 file=$2 code out rc
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
	rc=$?
	_py_tally "$out" "$rc" "$label: checker"
}

# ==== target programs (tests/targets -> build/targets) ===========================================

# need_pkgs PKG...: install missing Debian packages when running as root (what these tests need
# beyond the core set; scripts/install-deps.sh --extra lists them too). 1 if still missing.
need_pkgs() {
	local p miss=""
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || miss="$miss $p"
	done
	[ -z "$miss" ] && return 0
	if [ "$(id -u)" = 0 ]; then
		# shellcheck disable=SC2086
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $miss >"$W/apt.log" 2>&1 ||
			{ apt-get update -qq >/dev/null 2>&1 &&
				DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $miss >>"$W/apt.log" 2>&1; }
	fi
	for p in $miss; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || return 1
	done
}

# build_targets: build the main targets if missing, and every target program (tests/run.sh has
# built them already; then this is an up-to-date check)
build_targets() {
	need_pkgs g++ libjemalloc2 || fail "packages" "g++/libjemalloc2 missing (scripts/install-deps.sh --extra)"
	if [ ! -f "$AP_LIB" ] || [ ! -x "$AP_VIEW" ]; then
		make -C "$AP_ROOT" --no-print-directory all >"$W/build.log" 2>&1 ||
			{ fail "build" "make all failed: $(tail -3 "$W/build.log" | tr '\n' '|')"; return 1; }
	fi
	if ! make -C "$AP_TGT_SRC" --no-print-directory -j2 >"$W/tbuild.log" 2>&1; then
		fail "build target programs" "$(grep -m3 -i error "$W/tbuild.log" | tr '\n' '|')"
		return 1
	fi
}

# dump_spans DIR OUT: decode every span file in DIR with apdump (one JSON object per record)
dump_spans() {
	local d=$1 out=$2 f
	: >"$out"
	for f in $(span_files "$d"); do
		"$AP_TGT/apdump" "$f" >>"$out" 2>>"$out.err"
	done
}

# clock_start; elapsed_ms: milliseconds since clock_start
clock_start() {
	_AP_T0=$(date +%s%N)
}

elapsed_ms() {
	echo $((($(date +%s%N) - _AP_T0) / 1000000))
}

# need CMD: CMD is installed, or installed now with scripts/install-deps.sh --extra (as root)
need() {
	command -v "$1" >/dev/null 2>&1 && return 0
	[ "$(id -u)" = 0 ] && "$AP_ROOT/scripts/install-deps.sh" --extra >>"$W/deps.log" 2>&1
	command -v "$1" >/dev/null 2>&1
}

# ==== export runs (t41-t48) ======================================================================

# Runs the exports are checked on: a synthetic run (tests/targets/gen_spans.c: 3 threads,
# overlapping requests, spans, a child process, counters, stacks into its own binary), the
# same with names that need sanitising, and a real profiled C agent (stack_paths via libcurl).
export_runs() {
	if ! make -s -C "$AP_TGT_SRC" "$AP_TGT/stack_paths" "$AP_TGT/gen_spans" >"$W/make.log" 2>&1; then
		fail "build target programs" "$(tail -3 "$W/make.log" | tr '\n' '|')"
		finish
	fi
	mkdir -p "$W/synth" "$W/odd" "$W/real"
	"$AP_TGT/gen_spans" stacks "$W/synth" 300 || fail "gen_spans" "exit $?"
	"$AP_TGT/gen_spans" stacks "$W/odd" 40 odd || fail "gen_spans odd" "exit $?"
	RUNS="synth odd"
	if have_preload && mock_up; then
		LD_PRELOAD="$AP_LIB" AGENTPROF_OUT="$W/real" timeout -k 5 "$AP_TMO" \
			"$AP_TGT/stack_paths" "$PLAIN" 2 >"$W/real.out" 2>&1 ||
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

# ==== HTTP/2 front: nginx proxying to the plain mock (t85-t89) ===================================

# nginx_h2_up: sets H2_PORT (TLS, h2 by ALPN), H2C_PORT (cleartext HTTP/2 only),
# H2URL=https://localhost:$H2_PORT, H2CURL=http://127.0.0.1:$H2C_PORT; returns 1 if nginx is
# missing or does not start (the caller FAILs: nginx-light is a test dependency).

free_port() {
	"$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

nginx_h2_up() {
	local d=$W/nginx i nginx
	nginx=$(command -v nginx || echo /usr/sbin/nginx)
	[ -x "$nginx" ] || { echo "nginx not installed (scripts/install-deps.sh: nginx-light)" >&2; return 1; }
	mkdir -p "$d/tmp"
	H2_PORT=$(free_port)
	H2C_PORT=$(free_port)
	cat >"$d/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log info;
events { worker_connections 256; }
http {
	access_log off;
	client_body_temp_path $d/tmp/body;
	proxy_temp_path $d/tmp/proxy;
	fastcgi_temp_path $d/tmp/fastcgi;
	uwsgi_temp_path $d/tmp/uwsgi;
	scgi_temp_path $d/tmp/scgi;
	http2_max_requests 10000;
	keepalive_requests 10000;
	server {
		listen 127.0.0.1:$H2_PORT ssl http2;
		listen 127.0.0.1:$H2C_PORT http2;
		server_name localhost;
		ssl_certificate $AP_CERT;
		ssl_certificate_key $AP_KEY;
		location / {
			proxy_pass http://127.0.0.1:$MOCK_PORT;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_buffering off;
			proxy_read_timeout 60s;
		}
	}
}
CONF
	"$nginx" -p "$d" -c "$d/nginx.conf" -e "$d/error.log" 2>"$d/stderr" &
	_AP_PIDS="$_AP_PIDS $!"
	for i in $(seq 1 50); do
		if curl -s -o /dev/null --http2-prior-knowledge "http://127.0.0.1:$H2C_PORT/health"; then
			H2URL=https://localhost:$H2_PORT
			H2CURL=http://127.0.0.1:$H2C_PORT
			export H2_PORT H2C_PORT H2URL H2CURL
			return 0
		fi
		sleep 0.1
	done
	echo "nginx did not start: $(tail -3 "$d/stderr" "$d/error.log" 2>/dev/null)" >&2
	return 1
}

# ==== writer loops (t62/t63 short, scripts/stress.sh long; need the mock up) =====================

# Each wr_* function runs a loop, prints one count line and returns the number of bad runs.

# wr_check DIR: damaged files or duplicated exchange ids in DIR's span files -> stdout "ok"/why
wr_check() {
	local d=$1
	dump_spans "$d" "$d.dump"
	python3 - "$d.dump" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
files = [r for r in recs if r.get("rec") == "_file"]
bad = [r["file"] for r in files if r["damaged"]]
ids = [(r["file"], r["id"]) for r in recs if r.get("rec") == "exchange"]
dup = len(ids) - len(set(ids))
procs = [r for r in recs if r.get("rec") == "process"]
if not files:
    print("no span file")
elif bad:
    print("damaged: " + " ".join(bad))
elif dup:
    print("%d duplicated exchanges" % dup)
elif len(procs) != len(files):
    print("%d process records in %d files" % (len(procs), len(files)))
else:
    print("ok")
PY
}

# wr_loop NAME RUNS WANT_RC MODE N [ENV...]: run the fixture RUNS times; a run is bad when it
# hangs (timeout), crashes, changes its exit status or leaves a damaged/duplicated file.
wr_loop() {
	local name=$1 runs=$2 want=$3 mode=$4 n=$5 i rc why bad=0 hang=0 crash=0
	shift 5
	for i in $(seq 1 "$runs"); do
		rm -rf "$W/wr.$mode"
		mkdir -p "$W/wr.$mode"
		timeout -k 2 20 env LD_PRELOAD="$AP_LIB" AGENTPROF_OUT="$W/wr.$mode" "$@" \
			"$AP_TGT/wrstress" "$mode" "$MOCK_PORT" "$n" >"$W/wr.$mode.out" 2>"$W/wr.$mode.err"
		rc=$?
		if [ $rc = 124 ] || [ $rc = 137 ]; then
			hang=$((hang + 1))
			bad=$((bad + 1))
			continue
		fi
		if [ $rc != "$want" ]; then
			crash=$((crash + 1))
			bad=$((bad + 1))
			echo "  $name run $i: exit status $rc, want $want: $(head -c 200 "$W/wr.$mode.err")"
			continue
		fi
		why=$(wr_check "$W/wr.$mode")
		if [ "$why" != ok ]; then
			bad=$((bad + 1))
			echo "  $name run $i: $why"
		fi
	done
	echo "$name: $bad of $runs runs bad ($hang hangs, $crash crashes or wrong exit status)"
	return $bad
}

# wr_kill9 RUNS CALLS [MODE PATH LABEL]: stream LLM calls (or make tool exchanges) and kill -9
# the client at a random moment; every call the client saw finish must be on disk.
wr_kill9() {
	local runs=$1 calls=$2 mode=${3:-stream} path=${4:-/v1/chat/completions}
	local label=${5:-kill -9 during streaming} i pid done_n rec lost=0 total=0 bad=0 d
	for i in $(seq 1 "$runs"); do
		d=$W/k9
		rm -rf "$d"
		mkdir -p "$d"
		env LD_PRELOAD="$AP_LIB" AGENTPROF_OUT="$d" AGENTPROF_FLUSH_MS=60000 \
			"$AP_TGT/wrstress" "$mode" "$MOCK_PORT" "$calls" >"$d.out" 2>"$d.err" &
		pid=$!
		sleep "0.$((RANDOM % 6 + 2))"
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		done_n=$(grep -c '^done ' "$d.out")
		dump_spans "$d" "$d.dump"
		rec=$(grep '"rec":"exchange"' "$d.dump" | grep -c "\"path\":\"$path\"")
		total=$((total + done_n))
		if [ "$rec" -lt "$done_n" ]; then
			lost=$((lost + done_n - rec))
			bad=$((bad + 1))
		fi
	done
	echo "$label: $lost of $total finished calls lost ($runs runs)"
	return $bad
}

# wr_tsan RUNS: the preload built with ThreadSanitizer under the threaded fixtures (exit race,
# and, with WR_TSAN_ALL=1, fork with busy threads and cancellation); prints the races reported in the writer's files and
# elsewhere. Returns the number of writer races (rt_writer.c, rt_init.c, hook_proc.c).
wr_tsan() {
	local runs=$1 ts lib d mine other
	ts=$(gcc -print-file-name=libtsan.so)
	make -C "$AP_TGT_SRC" --no-print-directory tsan >"$W/tsan.build" 2>&1 ||
		{ echo "tsan: build failed: $(tail -2 "$W/tsan.build" | tr '\n' '|')"; return 1; }
	lib="$ts:$AP_TGT/libagentprof-tsan.so"
	d=$W/tsan
	rm -rf "$d"
	mkdir -p "$d/out"
	for i in $(seq 1 "$runs"); do
		for m in "race 30" ${WR_TSAN_ALL:+"fork 5" "cancel 5"}; do
			# shellcheck disable=SC2086
			TSAN_OPTIONS="log_path=$d/report exitcode=0" AGENTPROF_UNWIND=fp AGENTPROF_FLUSH_MS=1 \
				AGENTPROF_OUT="$d/out" LD_PRELOAD="$lib" timeout -k 2 60 "$AP_TGT/wrstress" $m \
				"$MOCK_PORT" >/dev/null 2>&1
		done
	done
	# the first frame of each data-race report says where it is; thread leaks (the fixture's
	# race mode exits without joining, on purpose) are not races
	mine=$(cat "$d"/report* 2>/dev/null | awk '/^WARNING: ThreadSanitizer: data race/{w=1; next} w && /#0 /{print; w=0}' |
		grep -c 'rt_writer.c\|rt_init.c\|hook_proc.c')
	other=$(cat "$d"/report* 2>/dev/null | grep -c '^WARNING: ThreadSanitizer: data race')
	echo "tsan: $mine data races in the writer, $((other - mine)) elsewhere ($runs rounds${WR_TSAN_ALL:+ of race, fork, cancel})"
	return "$mine"
}

# ==== OTLP shipping: a receiver and the real OpenTelemetry definitions (t97, t98) ==========

OTLP_DIR=$AP_ROOT/tests/integration/otlp # receiver.py, decode.js

# otel_defs: @opentelemetry/otlp-transformer (its generated protobuf root is the real OpenTelemetry
# definitions) in build/otel-npm, installed once (scripts/npm-deps.sh --otel); sets OTEL_NM
otel_defs() {
	OTEL_NM=$AP_BUILD/otel-npm/node_modules
	# always through npm-deps.sh: its lock makes us wait while run.sh's prefetch still installs
	"$AP_ROOT/scripts/npm-deps.sh" --otel >/dev/null 2>"$W/npm.log" || return 1
	[ -f "$OTEL_NM/@opentelemetry/otlp-transformer/build/src/generated/root.js" ]
}

# start_receiver NAME [ARGS]: tests/integration/otlp/receiver.py into $W/NAME; sets RPORT and RDIR
start_receiver() {
	RDIR=$W/$1
	shift
	mkdir -p "$RDIR"
	rm -f "$RDIR/port"
	"$PY" "$OTLP_DIR/receiver.py" "$RDIR" "$@" 2>"$RDIR/stderr" &
	_AP_PIDS="$_AP_PIDS $!"
	for _ in $(seq 1 100); do
		[ -s "$RDIR/port" ] && break
		sleep 0.1
	done
	RPORT=$(cat "$RDIR/port" 2>/dev/null)
	[ -n "$RPORT" ]
}

# decode SIGNAL: the summary of every accepted body of $RDIR (decode.js) into $RDIR/summary.json
decode() {
	# shellcheck disable=SC2046
	"$NODE" "$OTLP_DIR/decode.js" "$OTEL_NM" "$1" $(ls "$RDIR"/body-*.json 2>/dev/null) >"$RDIR/summary.json" 2>"$RDIR/decode.err"
}
