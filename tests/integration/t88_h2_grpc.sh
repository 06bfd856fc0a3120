#!/bin/bash
# t88_h2_grpc: gRPC over cleartext HTTP/2 with Debian's python3-grpcio as client (under the
# preload) and server (tests/integration/h2_grpc_server.py): the Gemini GenerateContent and
# StreamGenerateContent methods and Vertex AI's PredictionService/GenerateContent are LLM
# exchanges with service/method path, grpc-status (0, and 5 for NOT_FOUND), request and
# response model and tokens read from the protobuf messages, stream flag and message count, and
# a time to first byte at least the server's delay.
. "$(dirname "$0")/lib.sh"

"$PY" -c 'import grpc' 2>/dev/null || { fail "python3-grpcio" "not importable by $PY (scripts/install-deps.sh)"; finish; }
SRV=$AP_ROOT/tests/integration/h2_grpc_server.py
"$PY" "$SRV" --ready-file "$W/grpc.ready" 2>"$W/grpc.stderr" &
_AP_PIDS="$_AP_PIDS $!"
for i in $(seq 1 100); do [ -s "$W/grpc.ready" ] && break; sleep 0.1; done
[ -s "$W/grpc.ready" ] || { fail "grpc server" "did not start: $(tail -3 "$W/grpc.stderr")"; finish; }
GPORT=$(cat "$W/grpc.ready")
export GPORT SRV

cat >"$W/client.py" <<'PYC'
import os, sys, grpc
sys.path.insert(0, os.path.dirname(os.environ["SRV"]))
from h2_grpc_server import field_bytes
port = os.environ["GPORT"]
G = "/google.ai.generativelanguage.v1beta.GenerativeService/"
V = "/google.cloud.aiplatform.v1.PredictionService/"
def req(model, field=1, text="Tell me about HTTP/2 and gRPC."):
    content = field_bytes(1, field_bytes(1, text.encode()))
    return field_bytes(field, model.encode()) + field_bytes(2, content)
with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
    q = req("models/gemini-2.0-flash")
    r = ch.unary_unary(G + "GenerateContent")(q, metadata=[("x-mock-delay-ms", "150"), ("authorization", "Bearer SECRET_CANARY_t88")])
    print("unary", len(r), "expect_input", len(q) // 4)
    n = sum(1 for _ in ch.unary_stream(G + "StreamGenerateContent")(q, metadata=[("x-mock-delay-ms", "80")]))
    print("stream", n)
    qv = req("projects/p/locations/us-central1/publishers/google/models/gemini-1.5-pro", 5)
    r = ch.unary_unary(V + "GenerateContent")(qv, metadata=[("x-mock-delay-ms", "60")])
    print("vertex", len(r), "expect_input", len(qv) // 4)
    try:
        ch.unary_unary(G + "GenerateContent")(req("models/gemini-missing"))
    except grpc.RpcError as e:
        print("error", e.code().name)
PYC
run_both "$W/py" "$W/prof" "$PY" "$W/client.py"
eq "client works without the preload" "$(cat "$W/py.bare.rc")" 0
grep -q '^error NOT_FOUND' "$W/py.bare.out" && ok "the server's NOT_FOUND reaches the client" || fail "the server's NOT_FOUND reaches the client" "$(cat "$W/py.bare.out")"
require_preload grpc || finish
profile_and_export grpc "$W/prof" "$W/prof.jsonl" || finish
EXP_G=$(awk '/^unary/{print $4}' "$W/py.bare.out")
EXP_V=$(awk '/^vertex/{print $4}' "$W/py.bare.out")
export EXP_G EXP_V
check_py "$W/prof.jsonl" <<'PY'
eg, ev = int(os.environ["EXP_G"]), int(os.environ["EXP_V"])
check_schema(X)
eq("four gRPC calls, four exchanges", len(X), 4)
G = "/google.ai.generativelanguage.v1beta.GenerativeService/"
V = "/google.cloud.aiplatform.v1.PredictionService/"
rows = [(x["path"], x["category"], x["provider"], x["status"], x.get("grpc_status"), x["content_type"],
         x["request_model"], x["response_model"], x["input_tokens"], x["output_tokens"], x["stream"],
         x["events"]) for x in X]
want = [
    (G + "GenerateContent", "llm", "gemini", 200, 0, "application/grpc", "gemini-2.0-flash", "gemini-2.0-flash-001", eg, 11, False, 0),
    (G + "StreamGenerateContent", "llm", "gemini", 200, 0, "application/grpc", "gemini-2.0-flash", "gemini-2.0-flash-001", eg, 11, True, 3),
    (V + "GenerateContent", "llm", "vertex_ai", 200, 0, "application/grpc", "gemini-1.5-pro", None, ev, 11, False, 0),
    (G + "GenerateContent", "llm", "gemini", 200, 5, "application/grpc", "gemini-missing", None, None, None, False, 0),
]
for i, (g, w) in enumerate(zip(rows, want)):
    eq(f"gRPC call {i} ({w[0].rsplit('/', 1)[-1]}, grpc-status {w[4]})", g, w)
for x, delay in zip(X, (150, 80, 60)):
    check(f"{x['path'].rsplit('.', 1)[-1]}: time to first byte >= {delay} ms",
          (x["first_byte_ns"] - x["start_ns"]) / 1e6 >= delay - FB_SLACK_MS,
          repr((x["first_byte_ns"] - x["start_ns"]) / 1e6))
check("one connection for the channel", len({x["conn"] for x in X}) == 1)
check("no secret in any exchange", "SECRET_CANARY" not in json.dumps(A))
PY
zstd -dc "$W"/prof/agentprof.*.zst 2>/dev/null | grep -c SECRET_CANARY_t88 | grep -qx 0 && ok "no secret in the span files" || fail "no secret in the span files"
finish
