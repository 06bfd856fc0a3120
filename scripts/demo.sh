#!/bin/bash
# demo.sh: run the example agent under the profiler against the bundled mock provider (TLS) and
# show what agentprof-view makes of it. `make demo` installs dependencies and builds first.
# The agent is started the way a pyenv user starts it: through a generated shim chain (a bash
# shim that forks helpers and execs `pyenv exec`, a bash script that forks more helpers and
# execs /usr/bin/python3), so the views show the agent first and the helpers folded.
#
# Output: out/demo/ (span files; report.html when the viewer has `html`). The mock runs on an
# OS-chosen loopback port and is stopped on exit. Everything has a time limit.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
OUT=out/demo
VIEW=build/agentprof-view
PY=/usr/bin/python3

for f in build/libagentprof.so build/agentprof build/agentprof-view; do
	if [ ! -x "$f" ] && [ ! -f "$f" ]; then
		echo "demo: $f is missing; run 'make' (or 'make demo')" >&2
		exit 1
	fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/agentprof-demo.XXXXXX")
mock_pid=""
cleanup() {
	if [ -n "$mock_pid" ]; then
		kill "$mock_pid" 2>/dev/null
		wait "$mock_pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

scripts/gen-cert.sh "$tmp/certs" >/dev/null || {
	echo "demo: could not make a test certificate" >&2
	exit 1
}
"$PY" scripts/mock_provider.py --port 0 --ready-file "$tmp/port" --log "$tmp/mock.log" \
	--tls "$tmp/certs/server.pem" "$tmp/certs/server.key" 2>"$tmp/mock.err" &
mock_pid=$!
for _ in $(seq 1 100); do
	[ -s "$tmp/port" ] && break
	kill -0 "$mock_pid" 2>/dev/null || break
	sleep 0.1
done
if [ ! -s "$tmp/port" ]; then
	echo "demo: the mock provider did not start: $(tail -3 "$tmp/mock.err")" >&2
	exit 1
fi
port=$(cat "$tmp/port")

# A pyenv-style shim chain, like ~/.pyenv/shims/python3 -> pyenv exec -> the real python3.
pyroot=$tmp/pyenv
mkdir -p "$pyroot/shims" "$pyroot/libexec"
echo system >"$pyroot/version"
cat >"$pyroot/shims/python3" <<'EOF'
#!/usr/bin/env bash
set -e
[ -n "${PYENV_DEBUG:-}" ] && set -x
program="${0##*/}"
PYENV_ROOT="$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)"
export PYENV_ROOT
exec "$PYENV_ROOT/libexec/pyenv" exec "$program" "$@"
EOF
cat >"$pyroot/libexec/pyenv" <<'EOF'
#!/usr/bin/env bash
set -e
version=$(cat "$PYENV_ROOT/version")
for hook in exec rehash which; do
	dirname "$PYENV_ROOT/libexec/pyenv-$hook" >/dev/null
done
[ "$(uname -s)" = Linux ] && [ -n "$version" ]
shift 2
exec /usr/bin/python3 "$@"
EOF
chmod +x "$pyroot/shims/python3" "$pyroot/libexec/pyenv"

rm -rf "$OUT"
mkdir -p "$OUT"
section() {
	printf '\n==== %s ====\n\n' "$1"
}

section "the example agent under the profiler (mock provider at https://localhost:$port)"
echo "(python3 here is a pyenv-style shim: shims/python3 -> pyenv exec python3 -> $PY)"
echo "\$ build/agentprof run -o $OUT --no-summary -- python3 examples/agent.py"
PATH=$pyroot/shims:$PATH AGENT_BASE_URL=https://localhost:$port \
	SSL_CERT_FILE=$tmp/certs/ca.pem \
	timeout -k 5 120 build/agentprof run -o "$OUT" --no-summary -- python3 examples/agent.py
rc=$?
if [ "$rc" -ne 0 ]; then
	echo "demo: the agent run failed (exit $rc)" >&2
	exit 1
fi

section "agentprof-view summary --exec-chain $OUT"
timeout 60 "$VIEW" summary --exec-chain "$OUT"

help=$(timeout 10 "$VIEW" --help 2>&1)
has() {
	printf '%s\n' "$help" | grep -qE "^[[:space:]]+$1[[:space:]]"
}
for cmd in flame waterfall bottlenecks; do
	if has "$cmd"; then
		section "agentprof-view $cmd $OUT"
		timeout 60 "$VIEW" "$cmd" "$OUT"
	fi
done
if has html; then
	section "agentprof-view html -o $OUT/report.html $OUT"
	if timeout 60 "$VIEW" html -o "$OUT/report.html" "$OUT"; then
		echo "wrote $OUT/report.html (open it in a browser)"
	fi
fi
echo
echo "demo: span files in $OUT/; try: $VIEW --help"
