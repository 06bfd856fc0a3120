#!/bin/bash
# pgo-train.sh LIB: run the instrumented preload LIB on the benchmarks' LLM workloads so that its
# .gcda files hold the profile the release build is optimised with (Makefile, PGO=1).
#
# Workloads (about 2 s on two cores): 3,000 small LLM exchanges over HTTP keep-alive, 200 with an
# agent-sized 64 KiB request (the hash and the skip of a long conversation), one stream of
# 50k SSE events in each of the five stream styles, 200 short children from a shell, and 4 threads
# x 500 TLS LLM calls plus 16 threads x 100 plain ones (skipped when OpenSSL's headers or the
# openssl tool are missing). Servers run without the preload; only the clients load LIB. Exits
# non-zero when a workload fails: the build then goes on without a profile.
set -u
lib=$(realpath "${1:?usage: pgo-train.sh LIB}") || exit 2
cd "$(dirname "$0")/.." || exit 2
T=$(mktemp -d "${TMPDIR:-/tmp}/agentprof-pgo.XXXXXX") || exit 2
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; rm -rf "$T"' EXIT
# The user's own settings must not steer the training (or write its profile elsewhere).
for v in $(env | sed -n 's/^\(AGENTPROF_[A-Z0-9_]*\)=.*/\1/p'); do unset "$v"; done
unset LD_PRELOAD GCOV_PREFIX GCOV_PREFIX_STRIP
mkdir -m 700 "$T/spans"

cc -O2 -o "$T/bench_io" scripts/bench_io.c || exit 1

# serve NAME CMD...: start a server that prints its port on its first line; wait for the port.
serve() {
	local name=$1
	shift
	"$@" >"$T/$name.port" 2>/dev/null &
	pids+=($!)
	for _ in $(seq 100); do
		[ -s "$T/$name.port" ] && return 0
		sleep 0.05
	done
	echo "pgo-train: $name did not start" >&2
	return 1
}

# client CMD...: run CMD under the instrumented preload.
client() {
	LD_PRELOAD=$lib AGENTPROF_OUT=$T/spans "$@" >/dev/null || {
		echo "pgo-train: failed: $*" >&2
		return 1
	}
}

serve small "$T/bench_io" llm-server 20 || exit 1
client "$T/bench_io" llm-small "$(head -1 "$T/small.port")" 3000 || exit 1
client "$T/bench_io" llm-big "$(head -1 "$T/small.port")" 200 || exit 1
for style in openai include-usage anthropic gemini ollama; do
	serve "$style" "$T/bench_io" llm-server 50000 "$style" || exit 1
	client "$T/bench_io" llm-sse "$(head -1 "$T/$style.port")" || exit 1
done
# shellcheck disable=SC2016 # the loop is the shell's
client sh -c 'i=0; while [ $i -lt 200 ]; do /bin/true; i=$((i + 1)); done' || exit 1

if command -v openssl >/dev/null &&
	cc -O2 -D_GNU_SOURCE -o "$T/bench_writer" scripts/bench_writer.c -lssl -lcrypto -lpthread \
		2>/dev/null && sh scripts/gen-cert.sh "$T/cert" >/dev/null 2>&1; then
	serve tls "$T/bench_writer" serve "$T/cert/server.pem" "$T/cert/server.key" || exit 1
	client "$T/bench_writer" client "$(head -1 "$T/tls.port")" 1 4 500 || exit 1
	serve plain "$T/bench_writer" serve || exit 1
	client "$T/bench_writer" client "$(head -1 "$T/plain.port")" 0 16 100 || exit 1
else
	echo "pgo-train: no OpenSSL headers or openssl tool: TLS calls not trained" >&2
fi
[ -n "$(find "$T/spans" -type f -print -quit)" ] || {
	echo "pgo-train: the preload wrote no span file" >&2
	exit 1
}
echo "pgo-train: done"
