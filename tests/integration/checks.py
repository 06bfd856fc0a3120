"""checks.py: the helpers every check_py snippet of tests/integration/lib.sh runs with (X, P, M, ok, eq, match_mock, ...)."""
import json, os, sys
TEST = os.environ["AP_T"]
_fails = 0
def _emit(s):
    print(s, flush=True)
def ok(name):
    _emit(f"ok - {TEST}: {name}")
def fail(name, why="failed"):
    global _fails
    _fails += 1
    _emit(f"FAIL - {TEST}: {name}: {why}")
def check(name, cond, why=""):
    ok(name) if cond else fail(name, why or "condition false")
def eq(name, got, want):
    ok(name) if got == want else fail(name, f"got {got!r}, want {want!r}")
def _load(path):
    out = []
    if path and os.path.exists(path):
        for n, line in enumerate(open(path, encoding="utf-8", errors="replace"), 1):
            line = line.strip()
            if not line:
                continue
            try:
                out.append(json.loads(line))
            except ValueError as e:
                fail(f"jsonl line {n} parses", f"{e}: {line[:120]!r}")
    return out
A = _load(os.environ.get("AP_JSONL"))
M = _load(os.environ.get("AP_MOCKLOG"))
X = sorted([r for r in A if r.get("kind") == "exchange"], key=lambda r: (r.get("start_ns") or 0))
P = [r for r in A if r.get("kind") == "process"]
LLM_PATHS = ("/v1/chat/completions", "/v1/completions", "/v1/responses", "/v1/embeddings",
             "/v1/messages", "/api/chat", "/api/generate", "/api/embed")
def expected_category(path):
    p = (path or "").split("?")[0]
    if p in LLM_PATHS or p.endswith(":generateContent") or p.endswith(":streamGenerateContent"):
        return "llm"
    return "tool"
def expected_provider(path):
    # The mock runs on 127.0.0.1 / localhost, not on a provider's host: OpenAI-shaped paths
    # classify as openai_compatible; the other APIs are recognisable by their path alone.
    p = (path or "").split("?")[0]
    if expected_category(p) != "llm":
        return None
    if p == "/v1/messages":
        return "anthropic"
    if ":generateContent" in p or ":streamGenerateContent" in p:
        return "gemini"
    if p.startswith("/api/"):
        return "ollama"
    return "openai_compatible"
def sel(xs, **kw):
    return [x for x in xs if all(x.get(k) == v for k, v in kw.items())]
def path_is(x, prefix):
    return (x.get("path") or "").split("?")[0] == prefix
def dur_ms(x):
    if x.get("start_ns") is None or x.get("end_ns") is None:
        return None
    return (x["end_ns"] - x["start_ns"]) / 1e6
# Durations (start to end) must cover the server's delay exactly. The first-byte checks allow a
# little scheduler noise: under CPU load the recorded start can trail the real write by a few ms.
FB_SLACK_MS = 10
def overlap(a, b):
    return max(a["start_ns"], b["start_ns"]) < min(a["end_ns"], b["end_ns"])
FIELDS = {"kind": str, "pid": int, "tid": int, "conn": int, "category": str, "provider": str,
          "host": str, "port": int, "tls": bool, "visibility": str, "method": str, "path": str,
          "status": int, "stream": bool, "request_model": str, "response_model": str,
          "input_tokens": int, "output_tokens": int, "cache_read_tokens": int,
          "reasoning_tokens": int, "start_ns": int, "first_byte_ns": int, "end_ns": int,
          "bytes_sent": int, "bytes_received": int}
def check_schema(xs, label="exchange schema"):
    bad = []
    for i, x in enumerate(xs):
        for f, t in FIELDS.items():
            if f not in x:
                bad.append(f"#{i} missing {f}")
            elif x[f] is not None and not (isinstance(x[f], t) and not (t is int and isinstance(x[f], bool))):
                bad.append(f"#{i} {f}={x[f]!r} not {t.__name__}")
            elif x[f] in ("", ) :
                bad.append(f"#{i} {f} is empty string (unknown must be null)")
        for f in ("start_ns", "end_ns", "pid"):
            if x.get(f) is None:
                bad.append(f"#{i} {f} is null")
    check(label, not bad, "; ".join(bad[:6]))
def match_mock(xs, ms, label, host=None, port=None, tls=None, visibility=None, endpoint=False):
    """endpoint=True: host/port/tls from the mock row (TLS mock: localhost + MOCK_TLS_PORT,
    plain mock: 127.0.0.1 + MOCK_PORT), as the clients in these tests address them."""
    used = set()
    for i, m in enumerate(ms):
        name = f"{label} #{i} {m['method']} {m['path']}"
        cands = [x for x in xs if id(x) not in used and x.get("method") == m["method"]
                 and (x.get("path") or "").split("?")[0] == m["path"]]
        same_model = [x for x in cands if x.get("request_model") == m.get("request_model")]
        cands = same_model or cands
        if not cands:
            fail(name, "no matching exchange recorded")
            continue
        x = min(cands, key=lambda c: c.get("start_ns") or 0)
        used.add(id(x))
        bad = []
        want = {
            "category": expected_category(m["path"]),
            "provider": expected_provider(m["path"]),
            "status": m["status"],
            "stream": m["stream"],
            "request_model": m["request_model"],
            "response_model": m["response_model"],
            "input_tokens": m["input_tokens"],
            "output_tokens": m["output_tokens"],
            "cache_read_tokens": m["cache_read_tokens"],
            "reasoning_tokens": m["reasoning_tokens"],
        }
        if (m["path"] == "/v1/messages" and os.environ.get("AP_EXPECT_ANTHROPIC_INPUT") == "total"
                and m["input_tokens"] is not None):
            want["input_tokens"] = m["input_tokens"] + (m["cache_read_tokens"] or 0)
        if endpoint and "tls" in m:
            want["host"] = "localhost" if m["tls"] else "127.0.0.1"
            want["port"] = int(os.environ["MOCK_TLS_PORT" if m["tls"] else "MOCK_PORT"])
            want["tls"] = m["tls"]
        if host is not None: want["host"] = host
        if port is not None: want["port"] = port
        if tls is not None: want["tls"] = tls
        if visibility is not None: want["visibility"] = visibility
        for f, w in want.items():
            if x.get(f) != w:
                bad.append(f"{f}={x.get(f)!r} want {w!r}")
        d = dur_ms(x)
        floor = (m.get("delay_ms") or 0) + (m.get("ttfb_ms") or 0)
        if d is None or d < floor:
            bad.append(f"duration {d} ms < server delay {floor} ms")
        s, fb, e = x.get("start_ns"), x.get("first_byte_ns"), x.get("end_ns")
        if None in (s, fb, e) or not (s <= fb <= e):
            bad.append(f"times not ordered start<=first_byte<=end: {s} {fb} {e}")
        elif (fb - s) / 1e6 < (m.get("delay_ms") or 0) - FB_SLACK_MS:
            bad.append(f"first byte after {(fb - s) / 1e6:.1f} ms < delay {m.get('delay_ms')} ms")
        for f in ("bytes_sent", "bytes_received"):
            if not isinstance(x.get(f), int) or x.get(f) <= 0:
                bad.append(f"{f}={x.get(f)!r}")
        if bad:
            fail(name, "; ".join(bad))
        else:
            ok(name)
    return used
