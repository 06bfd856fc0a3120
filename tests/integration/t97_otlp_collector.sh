#!/bin/bash
# t97_otlp_collector: a 100k-exchange run reaches an OTLP/HTTP receiver that behaves like a
# collector (4 MiB body limit, gzip, one 429 with Retry-After) complete, in batches, nothing
# duplicated, and every body decodes with the real OpenTelemetry definitions (npm
# @opentelemetry/otlp-transformer's generated protobuf root). The OTEL_EXPORTER_OTLP_* variables,
# OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES are honoured; a 413 is a clear error with the
# collector's de-chunked body; otlp-metrics decodes as ExportMetricsServiceRequest.
. "$(dirname "$0")/lib.sh"

if ! make -s -C "$AP_TGT_SRC" OUT="$AP_TGT" "$AP_TGT/gen_spans" >"$W/make.log" 2>&1; then
	fail "build gen_spans" "$(tail -3 "$W/make.log")"
	finish
fi
mkdir -p "$W/run"
"$AP_TGT/gen_spans" stacks "$W/run" 100000 || fail "gen_spans 100000" "exit $?"
want=$("$AP_VIEW" export --format jsonl "$W/run" 2>/dev/null | grep -c '"kind":"exchange"')
ge "the run has 100k exchanges" "$want" 100000
if ! otel_defs; then
	skip "OpenTelemetry definitions" "npm registry unreachable: cannot install @opentelemetry/otlp-transformer ($(tail -2 "$W/npm.log" 2>/dev/null | tr '\n' ' '))"
	HAVE_DEFS=0
else
	ok "OpenTelemetry definitions from npm (@opentelemetry/otlp-transformer 0.52.1)"
	HAVE_DEFS=1
fi

# --- the whole run through the environment variables, with one 429 ---------------------------
start_receiver recv --busy-once || { fail "receiver" "did not start"; finish; }
s=$(date +%s%N)
OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$RPORT/ \
	OTEL_EXPORTER_OTLP_HEADERS='Authorization=Bearer%20t97-token,X-Tenant=acme' \
	OTEL_RESOURCE_ATTRIBUTES='deployment.environment=ci,service.namespace=agents' \
	AGENTPROF_OTLP_BACKOFF_MS=200 \
	timeout -k 5 300 "$AP_VIEW" export --format otlp "$W/run" >"$W/post.out" 2>"$W/post.err"
rc=$?
el=$((($(date +%s%N) - s) / 1000000))
eq "export via OTEL_EXPORTER_OTLP_ENDPOINT: exit 0" "$rc" 0
[ -s "$W/post.out" ] && fail "nothing on stdout when posting" "$(head -c 100 "$W/post.out")" || ok "nothing on stdout when posting"
if grep -q 'HTTP 429; retrying in 1.0 s (Retry-After)' "$W/post.err"; then
	ok "the 429 is retried after Retry-After"
else
	fail "the 429 is retried after Retry-After" "$(head -c 300 "$W/post.err")"
fi
"$PY" - "$RDIR/requests.jsonl" "$el" <<'PY' >"$W/reqs.check"
import json, sys
R = [json.loads(l) for l in open(sys.argv[1])]
def res(name, cond, why=""):
    print(("ok - " if cond else "FAIL - ") + name + ("" if cond else ": " + str(why)))
acc = [r for r in R if r["status"] == 200]
res("batched: more than 20 requests, each under the 4 MiB limit", len(acc) > 20 and all(r["wire"] <= 4 << 20 and r["size"] <= 4 << 20 for r in acc), (len(acc), max(r["size"] for r in acc)))
res("every request to /v1/traces, application/json, Content-Encoding gzip", all(r["path"] == "/v1/traces" and r["ctype"] == "application/json" and r["cenc"] == "gzip" for r in R), R[:2])
res("gzip shrinks the bodies (wire < 1/3 of the JSON)", sum(r["wire"] for r in acc) * 3 < sum(r["size"] for r in acc))
res("OTEL_EXPORTER_OTLP_HEADERS sent, percent-decoded", all(r["auth"] == "Bearer t97-token" and r["tenant"] == "acme" for r in R), R[0])
b = [r for r in R if r["status"] == 429]
res("exactly one 429, and the same batch came again >= 1 s later", len(b) == 1 and any(r["seq"] == b[0]["seq"] + 1 and r["t"] - b[0]["t"] >= 0.9 for r in R), b)
PY
while read -r l; do case $l in ok*) ok "${l#ok - }" ;; *) fail "${l#FAIL - }" "" ;; esac; done <"$W/reqs.check"

if [ "$HAVE_DEFS" = 1 ]; then
	if decode traces; then ok "decode.js ran"; else fail "decode.js" "$(head -c 300 "$RDIR/decode.err")"; fi
	"$PY" - "$RDIR/summary.json" "$want" <<'PY' >"$W/sum.check"
import json, sys
S = json.load(open(sys.argv[1])); want = int(sys.argv[2])
def res(name, cond, why=""):
    print(("ok - " if cond else "FAIL - ") + name + ("" if cond else ": " + str(why)[:300]))
res("every body decodes with the OpenTelemetry definitions (fromObject, verify, encode/decode)", not S["errors"], S["errors"][:3])
res("no key the definitions do not know", not S["unknown"], S["unknown"])
res("complete: one CLIENT span per exchange", S["client"] == want, (S["client"], want))
res("nothing duplicated: span ids unique", S["unique"] == S["spans"], (S["unique"], S["spans"]))
res("at most 2048 spans per request", 0 < S["maxSpans"] <= 2048, S["maxSpans"])
res("one trace", S["traces"] == 1, S["traces"])
res("OTEL_RESOURCE_ATTRIBUTES on the resources", S["resAttrs"].get("deployment.environment") == "ci" and S["resAttrs"].get("service.namespace") == "agents", S["resAttrs"])
res("service.name: the agent label or the program (not empty, not unknown)", all(s and s != "unknown_service" for s in S["services"]), S["services"])
PY
	while read -r l; do case $l in ok*) ok "${l#ok - }" ;; *) fail "${l#FAIL - }" "${l#*: }" ;; esac; done <"$W/sum.check"
fi

# --- service.name: OTEL_SERVICE_NAME wins; small batches by bytes; no gzip -----------------------
mkdir -p "$W/small"
"$AP_TGT/gen_spans" stacks "$W/small" 300
start_receiver recv2 || { fail "receiver 2" "did not start"; finish; }
OTEL_SERVICE_NAME=fleet-agent OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://127.0.0.1:$RPORT/custom/traces \
	"$AP_VIEW" export --format otlp --no-gzip --batch-bytes 64k "$W/small" >/dev/null 2>"$W/small.err"
eq "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, --no-gzip, --batch-bytes 64k: exit 0" "$?" 0
"$PY" - "$RDIR" <<'PY' >"$W/small.check"
import glob, json, os, sys
R = [json.loads(l) for l in open(os.path.join(sys.argv[1], "requests.jsonl"))]
def res(name, cond, why=""):
    print(("ok - " if cond else "FAIL - ") + name + ("" if cond else ": " + str(why)[:300]))
res("the signal endpoint is used as is, uncompressed", all(r["path"] == "/custom/traces" and r["cenc"] is None for r in R), R[:1])
res("--batch-bytes 64k: several requests of about 64 KiB", len(R) > 2 and all(r["size"] < 64 * 1024 + 16 * 1024 for r in R), [r["size"] for r in R])
names = set()
for f in glob.glob(os.path.join(sys.argv[1], "body-*.json")):
    for rs in json.load(open(f))["resourceSpans"]:
        names |= {a["value"]["stringValue"] for a in rs["resource"]["attributes"] if a["key"] == "service.name"}
res("OTEL_SERVICE_NAME sets service.name", names == {"fleet-agent"}, names)
PY
while read -r l; do case $l in ok*) ok "${l#ok - }" ;; *) fail "${l#FAIL - }" "${l#*: }" ;; esac; done <"$W/small.check"
# service.name without the variables: the agent label, else the final program of the exec chain
"$AP_VIEW" export --format otlp "$W/small" >"$W/small.otlp"
"$AP_VIEW" export --format jsonl "$W/small" >"$W/small.jsonl"
"$PY" - "$W/small.otlp" "$W/small.jsonl" <<'PY' >"$W/svc.check"
import json, os, sys
d = json.load(open(sys.argv[1]))
P = [r for r in map(json.loads, open(sys.argv[2])) if r["kind"] == "process"]
def final(p):  # the latest image of the same pid
    imgs = sorted((q for q in P if q["pid"] == p["pid"]), key=lambda q: q["start_ns"] or 0)
    return imgs[-1]
want = {}
for p in P:
    f = final(p)
    want[str(p["pid"])] = p["agent"] or f["agent"] or os.path.basename(f["exe"] or "")
got = {}
for rs in d["resourceSpans"]:
    a = {x["key"]: x["value"] for x in rs["resource"]["attributes"]}
    got[a["process.pid"]["intValue"]] = a["service.name"]["stringValue"]
ok = got == want and all(got.values())
print(("ok - " if ok else "FAIL - ") + "service.name per process: the agent label, else the final program: " + repr((got, want)))
PY
while read -r l; do case $l in ok*) ok "${l#ok - }" ;; *) fail "${l#FAIL - }" "" ;; esac; done <"$W/svc.check"

# --- progress: on a terminal only (script(1) gives the viewer a pty), never when piped or --quiet
if command -v script >/dev/null 2>&1; then
	start_receiver recvp || fail "receiver p" "did not start"
	cmd="'$AP_VIEW' export --format otlp --batch-spans 200 --endpoint http://127.0.0.1:$RPORT '$W/run'"
	script -qfec "$cmd" /dev/null >"$W/tty.out" 2>&1 </dev/null
	if grep -qa 'spans in [0-9]* requests, [0-9.]* MB sent' "$W/tty.out"; then
		ok "progress on a terminal (spans, requests, MB sent)"
	else
		fail "progress on a terminal" "$(tail -c 300 "$W/tty.out" | tr '\r' '|')"
	fi
	script -qfec "$cmd --quiet" /dev/null >"$W/quiet.out" 2>&1 </dev/null
	"$AP_VIEW" export --format otlp --batch-spans 200 --endpoint "http://127.0.0.1:$RPORT" "$W/run" 2>"$W/piped.err" | cat
	if ! grep -qaE 'requests, [0-9.]+ MB sent' "$W/quiet.out" "$W/piped.err"; then
		ok "no progress with --quiet or when stderr is not a terminal"
	else
		fail "no progress with --quiet or when piped" "$(tail -c 200 "$W/quiet.out" "$W/piped.err" | tr '\r' '|')"
	fi
else
	skip "progress on a terminal" "script(1) not installed"
fi

# --- a refusal: 413 with a chunked body --------------------------------------------------------
start_receiver recv413 || { fail "receiver 3" "did not start"; finish; }
"$AP_VIEW" export --format otlp --no-gzip --batch-spans 1000000 --batch-bytes 1000M \
	--endpoint "http://127.0.0.1:$RPORT" "$W/run" >/dev/null 2>"$W/413.err"
eq "one body over the collector's limit: exit 1" "$?" 1
if grep -q 'HTTP 413: the collector refused .*: request body too large: [0-9]* bytes, limit 4194304' "$W/413.err" &&
	! grep -qE '(^|[^0-9a-f])7\r?$' "$W/413.err"; then
	ok "413: a clear message with the de-chunked body"
else
	fail "413: clear message with the de-chunked body" "$(head -c 400 "$W/413.err")"
fi

# --- metrics -------------------------------------------------------------------------------------
start_receiver recvm || { fail "receiver 4" "did not start"; finish; }
OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$RPORT "$AP_VIEW" export --format otlp-metrics "$W/small" >/dev/null 2>"$W/m.err"
eq "otlp-metrics POST: exit 0" "$?" 0
if grep -q '"/v1/metrics"' "$RDIR/requests.jsonl"; then ok "otlp-metrics goes to /v1/metrics"; else fail "otlp-metrics goes to /v1/metrics" "$(cat "$RDIR/requests.jsonl")"; fi
if [ "$HAVE_DEFS" = 1 ]; then
	decode metrics
	"$PY" - "$RDIR/summary.json" <<'PY' >"$W/m.check"
import json, sys
S = json.load(open(sys.argv[1]))
want = {"agentprof.request.duration", "agentprof.time_to_first_byte", "agentprof.model.duration", "agentprof.request.errors", "agentprof.tokens", "agentprof.exchanges", "agentprof.run.wall", "agentprof.category.wall"}
ok = not S["errors"] and not S["unknown"] and want <= set(S["metrics"]) and S["points"] > 10
print(("ok - " if ok else "FAIL - ") + "otlp-metrics decodes as ExportMetricsServiceRequest with what prom shows: " + repr((S["errors"][:2], S["unknown"][:3], sorted(want - set(S["metrics"])), S["points"])))
PY
	while read -r l; do case $l in ok*) ok "${l#ok - }" ;; *) fail "${l#FAIL - }" "" ;; esac; done <"$W/m.check"
fi
finish
