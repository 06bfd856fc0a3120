#!/bin/bash
# t46_live_metrics.sh: AGENTPROF_PROMETHEUS serves /metrics from inside a profiled agent: a
# real Prometheus server scrapes it; one thread added only when asked, signals blocked, loopback;
# invalid values give one warning and change nothing else.
. "$(dirname "$0")/lib.sh"
# need CMD: CMD is installed, or installed now with scripts/install-deps.sh --extra (as root)
need() {
	command -v "$1" >/dev/null 2>&1 && return 0
	[ "$(id -u)" = 0 ] && "$AP_ROOT/scripts/install-deps.sh" --extra >>"$W/deps.log" 2>&1
	command -v "$1" >/dev/null 2>&1
}

require_preload "live metrics" || finish
mock_up || { fail "mock provider" "did not start"; finish; }
if ! make -s -C "$AP_TGT_SRC" OUT="$AP_TGT" "$AP_TGT/stack_paths" >"$W/make.log" 2>&1; then
	fail "build stack_paths" "$(tail -3 "$W/make.log" | tr '\n' '|')"
	finish
fi
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
MPORT=$(free_port)
PPORT=$(free_port)

# --- off by default: no thread, no port ---------------------------------------------------------
LD_PRELOAD="$AP_LIB" AGENTPROF_OUT="$W/off" "$AP_TGT/stack_paths" -w 300 "$PLAIN" 3 >/dev/null 2>&1 &
apid=$!
sleep 0.5
eq "without AGENTPROF_PROMETHEUS: no thread added" "$(ls /proc/$apid/task 2>/dev/null | wc -l)" 1
wait $apid

# --- invalid values: one warning, the program runs as before ------------------------------------
for spec in "abc" "127.0.0.1:99999" "host.example:9464"; do
	mkdir -p "$W/bad"
	AGENTPROF_PROMETHEUS=$spec LD_PRELOAD="$AP_LIB" AGENTPROF_OUT="$W/bad" \
		"$AP_TGT/stack_paths" "$PLAIN" 1 >"$W/bad.out" 2>"$W/bad.err"
	rc=$?
	if [ "$rc" = 0 ] && [ "$(grep -c '^agentprof: .*AGENTPROF_PROMETHEUS' "$W/bad.err")" = 1 ] &&
		[ "$(wc -l <"$W/bad.err")" = 1 ]; then
		ok "AGENTPROF_PROMETHEUS=$spec: one warning, exit 0"
	else
		fail "AGENTPROF_PROMETHEUS=$spec" "rc $rc: $(head -c 300 "$W/bad.err")"
	fi
done

# --- a real Prometheus scraping a profiled agent ------------------------------------------------------
if ! need prometheus || ! need promtool; then
	fail "prometheus" "not installed: run scripts/install-deps.sh --extra (Debian package prometheus)"
	finish
fi
mkdir -p "$W/on" "$W/tsdb"
AGENTPROF_PROMETHEUS=$MPORT LD_PRELOAD="$AP_LIB" AGENTPROF_OUT="$W/on" \
	"$AP_TGT/stack_paths" -w 150 "$PLAIN" 200 >"$W/agent.out" 2>"$W/agent.err" &
apid=$!
_AP_PIDS="$_AP_PIDS $apid"
cat >"$W/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: agent
    static_configs:
      - targets: ['127.0.0.1:$MPORT']
YML
prometheus --config.file="$W/prometheus.yml" --storage.tsdb.path="$W/tsdb" \
	--web.listen-address="127.0.0.1:$PPORT" >"$W/prometheus.log" 2>&1 &
_AP_PIDS="$_AP_PIDS $!"
sleep 1
# the endpoint itself
if curl -sf -o "$W/metrics.txt" -D "$W/metrics.hdr" "http://127.0.0.1:$MPORT/metrics"; then
	ok "GET /metrics answers"
	grep -qi '^content-type: text/plain; version=0.0.4' "$W/metrics.hdr" &&
		ok "Content-Type text/plain; version=0.0.4" || fail "Content-Type" "$(cat "$W/metrics.hdr")"
	if promtool check metrics <"$W/metrics.txt" >"$W/promtool.out" 2>&1; then
		ok "live page passes promtool check metrics"
	else
		fail "live page passes promtool" "$(head -5 "$W/promtool.out" | tr '\n' '|')"
	fi
else
	fail "GET /metrics answers" "curl failed on 127.0.0.1:$MPORT: $(head -c 200 "$W/agent.err")"
fi
eq "unknown path: 404" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MPORT/")" 404
# the one added thread: named, every signal blocked, bound to loopback
tasks=$(ls /proc/$apid/task 2>/dev/null | wc -l)
eq "exactly one thread added" "$tasks" 2
prom_tid=$(grep -l '^agentprof-prom$' /proc/$apid/task/*/comm 2>/dev/null | head -1 | cut -d/ -f5)
if [ -n "$prom_tid" ]; then
	blk=$(awk '/^SigBlk/ {print $2}' "/proc/$apid/task/$prom_tid/status")
	bits=$("$PY" -c "print(bin(int('$blk', 16)).count('1'))")
	ge "metrics thread blocks every signal (SigBlk $blk)" "$bits" 60
else
	fail "metrics thread named agentprof-prom" "$(cat /proc/$apid/task/*/comm 2>/dev/null | tr '\n' ' ')"
fi
hexport=$(printf '%04X' "$MPORT")
if grep -q "0100007F:$hexport 00000000:0000 0A" /proc/net/tcp; then
	ok "listens on 127.0.0.1 only (PORT alone binds loopback)"
else
	fail "listens on loopback" "$(grep ":$hexport " /proc/net/tcp | head -2)"
fi
# Prometheus scrapes it
got=""
for _ in $(seq 1 40); do
	got=$(curl -s "http://127.0.0.1:$PPORT/api/v1/query" \
		--data-urlencode 'query=sum(agentprof_request_duration_seconds_count{job="agent"})' |
		"$PY" -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")' 2>/dev/null)
	up=$(curl -s "http://127.0.0.1:$PPORT/api/v1/query" --data-urlencode 'query=up{job="agent"}' |
		"$PY" -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")' 2>/dev/null)
	[ "$up" = 1 ] && [ -n "$got" ] && [ "${got%%.*}" -gt 0 ] 2>/dev/null && break
	sleep 0.5
done
eq "Prometheus: up{job=\"agent\"} is 1" "${up:-}" 1
ge "Prometheus: agentprof_request_duration_seconds_count scraped" "${got%%.*}" 1
q=$(curl -s "http://127.0.0.1:$PPORT/api/v1/query" \
	--data-urlencode 'query=sum by (model) (agentprof_tokens_total{job="agent",type="input"})' |
	"$PY" -c 'import json,sys; print(sorted(r["metric"].get("model","") for r in json.load(sys.stdin)["data"]["result"]))' 2>/dev/null)
eq "Prometheus: tokens by model" "$q" "['model-plan', 'model-review']"
kill "$apid" 2>/dev/null
wait "$apid" 2>/dev/null
finish
