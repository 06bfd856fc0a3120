#!/bin/bash
# t44_export_otlp.sh: export --format otlp checked against the opentelemetry-proto JSON
# mapping (hex ids, integer enums, int64 as strings, camelCase) and the GenAI span conventions;
# --endpoint POSTs to a real HTTP receiver on loopback; failures exit 1.
. "$(dirname "$0")/lib.sh"

export_runs

# The opentelemetry-proto JSON mapping and the GenAI span conventions.
read -r -d '' OTLP_CHECK <"$AP_ROOT/tests/integration/checkers/t44_export_otlp.py"
export OTLP_CHECK

for run in $RUNS; do
	export_fmt otlp "$run" || continue
	pycheck "$run" "$W/$run.otlp" <<'PY'
exec(os.environ["OTLP_CHECK"])
spans, gen = check_otlp(json.load(open(sys.argv[1])), res)
if L == "synth":
    a = [g for s, g in gen if g.get("gen_ai.request.model") == "gemini-2.0-flash"]
    res("gemini maps to gen_ai.provider.name gcp.gemini, operation generate_content",
        a and a[0]["gen_ai.provider.name"] == "gcp.gemini" and a[0]["gen_ai.operation.name"] == "generate_content", repr(a[:1]))
    c = [g for s, g in gen if g.get("gen_ai.provider.name") == "anthropic"]
    res("anthropic: input_tokens include cache reads; stream and time to first chunk",
        c and int(c[0]["gen_ai.usage.input_tokens"]) >= 1200 and c[0].get("gen_ai.request.stream") is True
        and isinstance(c[0].get("gen_ai.response.time_to_first_chunk"), float), repr(c[:1]))
    o = [g for s, g in gen if g.get("gen_ai.provider.name") == "openai"]
    res("request and response model, usage", o and o[0]["gen_ai.response.model"] == "gpt-4o-2025" and "gen_ai.usage.output_tokens" in o[0], repr(o[:1]))
    errs = [s for s, _ in spans if s.get("status", {}).get("code") == 2]
    res("HTTP 429 marks the span as an error with error.type", errs and any(kv["key"] == "error.type" for kv in errs[0]["attributes"]))
    kinds = {s["kind"] for s, _ in spans}
    res("process and manual spans are INTERNAL, requests CLIENT", kinds == {1, 3}, repr(kinds))
    child = [s for s, ra in spans if ra.get("process.pid") == "4300" and s["name"].startswith("process ")]
    res("child process span is parented by its parent process", child and "parentSpanId" in child[0], repr(child[:1]))
PY
done

# --- POST to a collector (a tiny OTLP/HTTP receiver on loopback) ------------------------------------
cat >"$W/receiver.py" <<'PY'
import gzip, http.server, json, os, sys
mode, out = sys.argv[1], sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        with open(out, "ab") as f:
            f.write(json.dumps({"path": self.path, "ctype": self.headers.get("Content-Type"), "body": body.decode("utf-8", "replace")}).encode() + b"\n")
        code = 500 if mode == "fail" else 200
        reply = b'{"partialSuccess":{}}' if code == 200 else b'{"code":13,"message":"boom"}'
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(out + ".port", "w").write(str(s.server_address[1]))
s.serve_forever()
PY
start_receiver() { # start_receiver MODE NAME: sets RPORT
	rm -f "$W/$2.log.port"
	"$PY" "$W/receiver.py" "$1" "$W/$2.log" &
	_AP_PIDS="$_AP_PIDS $!"
	for _ in $(seq 1 50); do
		[ -s "$W/$2.log.port" ] && break
		sleep 0.1
	done
	RPORT=$(cat "$W/$2.log.port" 2>/dev/null)
}
start_receiver ok recv
if "$AP_VIEW" export --format otlp --endpoint "http://127.0.0.1:$RPORT/v1/traces" "$W/synth" \
	>"$W/post.out" 2>"$W/post.err"; then
	ok "POST to an OTLP/HTTP receiver: exit 0 ($(head -c 120 "$W/post.err"))"
else
	fail "POST to an OTLP/HTTP receiver" "exit $?: $(head -c 300 "$W/post.err")"
fi
grep -q 'HTTP 200' "$W/post.err" && ok "reports the HTTP status" || fail "reports the HTTP status" "$(cat "$W/post.err")"
pycheck "received" "$W/recv.log" <<'PY'
exec(os.environ["OTLP_CHECK"])
reqs = [json.loads(l) for l in open(sys.argv[1])]
res("one request to /v1/traces with Content-Type application/json", len(reqs) == 1 and reqs[0]["path"] == "/v1/traces" and reqs[0]["ctype"] == "application/json", repr([(r["path"], r["ctype"]) for r in reqs]))
spans, gen = check_otlp(json.loads(reqs[0]["body"]), res)
res("the body carries every span", len(spans) > 300, str(len(spans)))
PY
start_receiver fail recv_fail
"$AP_VIEW" export --format otlp --endpoint "http://127.0.0.1:$RPORT" "$W/synth" >/dev/null 2>"$W/post500.err"
rc=$?
if [ "$rc" = 1 ] && grep -q 'HTTP 500' "$W/post500.err"; then
	ok "collector error: exit 1 with the status (default path /v1/traces)"
else
	fail "collector error" "exit $rc: $(head -c 200 "$W/post500.err")"
fi
"$AP_VIEW" export --format otlp --endpoint "http://127.0.0.1:1/v1/traces" "$W/synth" >/dev/null 2>"$W/refused.err"
eq "unreachable collector: exit 1" "$?" 1
"$AP_VIEW" export --format otlp --endpoint "https://example.invalid/v1/traces" "$W/synth" >/dev/null 2>&1
eq "https endpoint: usage error (exit 2)" "$?" 2
finish
