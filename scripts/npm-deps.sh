#!/bin/sh
# npm-deps.sh [--claude | --otel]: install the npm packages the Node tests drive into a cache under
# build/.
#
# Installs the official SDKs `openai` and `@anthropic-ai/sdk` into build/npm-cache/node_modules
# (NODE_PATH for the targets); --claude adds `@anthropic-ai/claude-code` (Claude Code's CLI).
# --otel installs `@opentelemetry/otlp-transformer@0.52.1` into build/otel-npm/node_modules instead
# (0.52.x ships the generated protobufjs root of opentelemetry-proto, the real OTLP definitions
# that t97/t98 decode with; later versions do not).
# Idempotent: packages already present are not fetched again; concurrent runs take turns (flock). Prints the directory on success;
# exits 1 (with the reason on stderr) when npm is missing or the registry is unreachable, so that
# a test can skip visibly.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
dir=$root/build/npm-cache
pkgs="openai @anthropic-ai/sdk"
[ "${1:-}" = --claude ] && pkgs="$pkgs @anthropic-ai/claude-code"
if [ "${1:-}" = --otel ]; then
	dir=$root/build/otel-npm
	pkgs="@opentelemetry/otlp-transformer@0.52.1"
fi

if ! command -v npm >/dev/null 2>&1; then
	echo "npm-deps.sh: npm not installed (Debian: apt-get install npm)" >&2
	exit 1
fi
mkdir -p "$dir"
# tests run side by side: one install at a time (the others wait, then find the packages there)
exec 9>"$dir/.lock"
flock -w 600 9 || { echo "npm-deps.sh: another install holds $dir/.lock" >&2; exit 1; }
[ -f "$dir/package.json" ] || echo '{"name":"agentprof-test-deps","private":true}' >"$dir/package.json"

need=""
for p in $pkgs; do
	[ -f "$dir/node_modules/${p%@[0-9]*}/package.json" ] || need="$need $p"
done
if [ -n "$need" ]; then
	# shellcheck disable=SC2086
	if ! (cd "$dir" && timeout 300 npm install --no-audit --no-fund --loglevel=error $need) \
		>"$dir/install.log" 2>&1; then
		echo "npm-deps.sh: npm install$need failed: $(tail -3 "$dir/install.log")" >&2
		exit 1
	fi
fi
echo "$dir/node_modules"
