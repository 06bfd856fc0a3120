# shellcheck shell=bash
# setup.sh: helpers for the OTLP shipping tests (t97, t98), sourced after lib.sh.
#   otel_defs          installs @opentelemetry/otlp-transformer (its generated protobuf root is
#                      the real OpenTelemetry definitions) into build/otel-npm once; sets OTEL_NM
#   start_receiver NAME [ARGS]  receiver.py into $W/NAME; sets RPORT and RDIR
OTLP_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

otel_defs() {
	OTEL_NM=$AP_BUILD/otel-npm/node_modules
	local rootjs=$OTEL_NM/@opentelemetry/otlp-transformer/build/src/generated/root.js
	[ -f "$rootjs" ] && return 0
	command -v npm >/dev/null 2>&1 || return 1
	mkdir -p "$AP_BUILD/otel-npm"
	# 0.52.x ships the generated protobufjs root of opentelemetry-proto (later ones do not)
	(cd "$AP_BUILD/otel-npm" && timeout 180 npm install --no-audit --no-fund --silent \
		@opentelemetry/otlp-transformer@0.52.1 >"$W/npm.log" 2>&1) || return 1
	[ -f "$rootjs" ]
}

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
