#!/bin/bash
# t99_live_cost: the live /metrics page (AGENTPROF_PROMETHEUS) has the cost counter, priced with
# the same built-in table and formula as the viewer (same USD as `export --format prom` of the
# same run), passes promtool; the metrics server calls the real libc send/recv/accept4/close,
# not the preload's own exported wrappers.
. "$(dirname "$0")/lib.sh"

require_preload "live metrics" || finish
mock_up || { fail "mock provider" "did not start"; finish; }
MPORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$W/agent.py" <<'PY'
import http.client, json, sys, time
port, mport = int(sys.argv[1]), int(sys.argv[2])
for model in ("gpt-4o", "gpt-4o", "claude-sonnet-4-5", "no-such-model-x"):
    c = http.client.HTTPConnection("127.0.0.1", port)
    path = "/v1/messages" if model.startswith("claude") else "/v1/chat/completions"
    body = {"model": model, "max_tokens": 64, "messages": [{"role": "user", "content": "price me"}]}
    c.request("POST", path, json.dumps(body), {"Content-Type": "application/json", "anthropic-version": "2023-06-01"})
    c.getresponse().read()
    c.close()
time.sleep(0.2)
m = http.client.HTTPConnection("127.0.0.1", mport)
m.request("GET", "/metrics")
sys.stdout.write(m.getresponse().read().decode())
PY
mkdir -p "$W/run"
# only the agent carries the preload (a profiled `timeout` would serve the port first)
timeout -k 5 60 /bin/sh -c 'AGENTPROF_PROMETHEUS=$0 LD_PRELOAD=$1 AGENTPROF_OUT=$2; export AGENTPROF_PROMETHEUS LD_PRELOAD AGENTPROF_OUT; shift 2; exec "$@"' \
	"$MPORT" "$AP_LIB" "$W/run" "$PY" "$W/agent.py" "$MOCK_PORT" "$MPORT" >"$W/live.prom" 2>"$W/agent.err"
eq "profiled agent scraping its own /metrics: exit 0" "$?" 0
if grep -q '^# TYPE agentprof_cost_usd_total counter' "$W/live.prom"; then
	ok "the live page has agentprof_cost_usd_total"
else
	fail "the live page has agentprof_cost_usd_total" "$(grep -c . "$W/live.prom") lines: $(head -c 300 "$W/live.prom")"
fi
if command -v promtool >/dev/null 2>&1; then
	if promtool check metrics <"$W/live.prom" >"$W/promtool.out" 2>&1; then ok "promtool check metrics (live page)"; else fail "promtool check metrics" "$(head -3 "$W/promtool.out")"; fi
else
	skip "promtool" "not installed (Debian package prometheus)"
fi
"$AP_VIEW" export --format prom "$W/run" >"$W/export.prom" 2>"$W/export.err"
"$PY" - "$W/live.prom" "$W/export.prom" <<'PY' >"$W/cmp"
import re, sys
def costs(f):
    out = {}
    for l in open(f):
        m = re.match(r'^agentprof_cost_usd_total\{(.*)\} (\S+)$', l)
        if m:
            lab = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
            out[(lab["provider"], lab["model"])] = float(m.group(2))
    return out
live, exp = costs(sys.argv[1]), costs(sys.argv[2])
ok = live and set(live) == set(exp) and all(abs(live[k] - exp[k]) <= 1e-8 * 4 for k in live)
print(("ok - " if ok else "FAIL - ") + "live cost per provider and model equals the viewer's: " + repr((live, exp)))
ok2 = not any(k[1].startswith("no-such-model") for k in live)
print(("ok - " if ok2 else "FAIL - ") + "a model without a price has no cost series")
PY
while read -r l; do case $l in ok*) ok "${l#ok - }" ;; *) fail "${l#FAIL - }" "" ;; esac; done <"$W/cmp"
# the server's own socket calls go to libc, not to our exported wrappers
o=$AP_BUILD/pic/preload/runtime/rt_metrics.o
if [ -f "$o" ]; then
	u=$(nm -u "$o" | awk '{print $2}' | grep -xE 'send|recv|accept4|accept|close|read|write' | tr '\n' ' ')
	eq "rt_metrics.o calls no wrapped function directly (AP_REAL)" "$u" ""
else
	fail "rt_metrics.o" "not built"
fi
finish
