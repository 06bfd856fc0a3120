# t78_claude_code.py: checks of tests/integration/t78_claude_code.sh, fed on stdin there.
import json, os
port, plain_port = int(os.environ["MOCK_TLS_PORT"]), int(os.environ["MOCK_PORT"])
hooked = os.environ["HOOKED"] == "1"
plain = [r for r in (json.loads(l) for l in open(os.environ["AP_HTTP"]) if l.strip())
         if r.get("kind") == "exchange" and r.get("port") == plain_port]
check("mock answered claude over https", any(m.get("path") == "/v1/messages" for m in M),
      repr([m.get("path") for m in M]))
mine = [x for x in X if x.get("port") == port]
check("https: claude's calls are recorded", len(mine) >= 1, f"{len(mine)} exchanges")
claude = [p for p in P if "claude" in (p.get("exe") or "") and p.get("argv", [""])[1:2] == ["-p"]]
eq("one claude -p process", len(claude), 1)
if claude:
    eq("https: the claude process has its end record and exit status", (claude[0].get("end_ns") is not None,
       claude[0].get("exit_code")), (True, 0))
eq("https: one exchange per call (as many as over http)", len(mine), len(plain))
KEYS = ("method", "path", "status", "stream", "request_model", "response_model", "input_tokens",
        "output_tokens", "events", "category", "provider")
if hooked:
    eq("https: TLS, plaintext, named localhost", sorted({(x.get("host"), x.get("tls"), x.get("visibility")) for x in mine}),
       [("localhost", True, "plaintext")])
    msgs = [m for m in M if m.get("path") == "/v1/messages"]
    calls = [x for x in mine if (x.get("path") or "").startswith("/v1/messages")]
    eq("https: one exchange per Messages call", len(calls), len(msgs))
    for i, (x, m) in enumerate(zip(calls, msgs)):
        eq(f"https call {i + 1}: models and tokens as the mock sent them",
           (x.get("request_model"), x.get("response_model"), x.get("input_tokens"), x.get("output_tokens")),
           (m.get("request_model"), m.get("response_model"), m.get("input_tokens"), m.get("output_tokens")))
    eq("https: every call as over plain http (method, path, status, stream, models, tokens, events, category)",
       [tuple(x.get(k) for k in KEYS) for x in mine], [tuple(x.get(k) for k in KEYS) for x in plain])
else:
    eq("https: named by SNI, TLS, opaque", sorted({(x.get("host"), x.get("tls"), x.get("visibility")) for x in mine}),
       [("localhost", True, "opaque")])
