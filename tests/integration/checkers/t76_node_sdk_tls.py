# t76_node_sdk_tls.py: checks of tests/integration/t76_node_sdk_tls.sh, fed on stdin there.
import json, os
port = int(os.environ["MOCK_TLS_PORT"])
plain = [r for r in (json.loads(l) for l in open(os.environ["AP_PLAIN"]) if l.strip())
         if r.get("kind") == "exchange"]
plain.sort(key=lambda r: r.get("start_ns") or 0)
check_schema(X)
mine = [x for x in X if x.get("port") == port]
eq("mock saw 4 requests", len(M), 4)
eq("four exchanges over https", len(mine), 4)
eq("all TLS, all plaintext-visible", [(x.get("tls"), x.get("visibility")) for x in mine],
   [(True, "plaintext")] * 4)
eq("host from SNI", sorted({x.get("host") for x in mine}), ["localhost"])
eq("paths in order", [x.get("path") for x in mine],
   ["/v1/chat/completions", "/v1/chat/completions", "/v1/responses", "/v1/messages"])
eq("streams", [x.get("stream") for x in mine], [False, True, True, True])
eq("categories", [x.get("category") for x in mine], ["llm"] * 4)
eq("providers", [x.get("provider") for x in mine],
   ["openai_compatible", "openai_compatible", "openai_compatible", "anthropic"])
eq("request models", [x.get("request_model") for x in mine],
   ["gpt-4o", "gpt-4o-mini", "gpt-4o", "claude-sonnet-4-5"])
# the mock's own log says what it sent: the recorded tokens must be exactly those
eq("input tokens match the mock", [x.get("input_tokens") for x in mine],
   [m.get("input_tokens") for m in M])
eq("output tokens match the mock", [x.get("output_tokens") for x in mine],
   [m.get("output_tokens") for m in M])
fresh = [x for x in mine if x.get("new_connection")]
check("new https connections carry DNS, connect and TLS phases", fresh and all(
      (x.get("connect_ns") or 0) > 0 and (x.get("tls_ns") or 0) > 0 for x in fresh),
      repr([(x.get("connect_ns"), x.get("tls_ns")) for x in fresh]))
check("SSE events counted on every stream", all((x.get("events") or 0) > 0 for x in mine[1:]),
      repr([x.get("events") for x in mine]))
KEYS = ("method", "path", "status", "stream", "category", "provider", "request_model",
        "response_model", "input_tokens", "output_tokens", "cache_read_tokens",
        "reasoning_tokens", "events", "content_type", "error")
eq("plain http run recorded four exchanges", len(plain), 4)
for i, (a, b) in enumerate(zip(plain, mine)):
    eq(f"call {i + 1} ({b.get('path')}): same record over https as over http",
       {k: b.get(k) for k in KEYS}, {k: a.get(k) for k in KEYS})
check("one node process", len(P) == 1 and "node" in (P[0].get("exe") or ""),
      repr([p.get("exe") for p in P]))
