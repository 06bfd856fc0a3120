# t01_mock_selftest.py: checks of tests/integration/t01_mock_selftest.sh, fed on stdin there.
import gzip, hashlib, json, os, re, subprocess, time, zlib
PLAIN = "http://127.0.0.1:%s" % os.environ["SELF_PORT"]
TLS = "https://localhost:%s" % os.environ["SELF_TLS_PORT"]
CA = os.environ["AP_CA"]
WD = os.environ["W"]
SECRETS = ["SECRET_CANARY_SELF_AUTH_1", "SECRET_CANARY_SELF_XKEY_2", "SECRET_CANARY_SELF_COOKIE_3",
           "SIGCANARY_SELF_4", "TOKCANARY_SELF_5"]
seen_bytes = []

def dechunk(raw):
    out, i = b"", 0
    sizes = []
    while True:
        j = raw.index(b"\r\n", i)
        n = int(raw[i:j].split(b";")[0], 16)
        sizes.append(n)
        i = j + 2
        if n == 0:
            assert raw[i:i + 2] == b"\r\n", "missing final CRLF"
            return out, sizes
        out += raw[i:i + n]
        assert raw[i + n:i + n + 2] == b"\r\n", "chunk not followed by CRLF"
        i += n + 2

def curl(path, body=None, headers=(), tls=False, method=None, extra=()):
    url = (TLS if tls else PLAIN) + path
    hf, bf = os.path.join(WD, "h.txt"), os.path.join(WD, "b.bin")
    args = ["curl", "-sS", "--raw", "--max-time", "30", "-D", hf, "-o", bf,
            "-w", "%{http_code} %{time_starttransfer} %{time_total}",
            "-H", "Authorization: Bearer " + SECRETS[0], "-H", "x-api-key: " + SECRETS[1],
            "-H", "Cookie: sid=" + SECRETS[2]]
    if tls:
        args += ["--cacert", CA]
    if body is not None:
        if not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        args += ["-H", "Content-Type: application/json", "--data-binary", body]
    if method:
        args += ["-X", method]
    for h in headers:
        args += ["-H", h]
    args += list(extra) + [url]
    r = subprocess.run(args, capture_output=True, timeout=60)
    code, ttfb, total = r.stdout.decode().split()
    hdr = {}
    lines = open(hf, "rb").read().decode().split("\r\n")
    status_line = lines[0]
    for l in lines[1:]:
        if ":" in l:
            k, v = l.split(":", 1)
            hdr[k.strip().lower()] = v.strip()
    raw = open(bf, "rb").read()
    seen_bytes.append(open(hf, "rb").read() + raw)
    data = raw
    if "chunked" in hdr.get("transfer-encoding", ""):
        data, sizes = dechunk(raw)
        hdr["_chunks"] = sizes
    if hdr.get("content-encoding") == "gzip":
        data = gzip.decompress(data)
    return int(code), hdr, data, float(ttfb), float(total), status_line

def blen(b):
    return len(b if isinstance(b, bytes) else json.dumps(b).encode() if not isinstance(b, str) else b.encode())

def sse_events(data):
    """WHATWG-style parse; also checks framing: every event ends with a blank line."""
    text = data.decode()
    assert re.search(r"(\r?\n){2}$", text), "stream does not end with a blank line"
    evs = []
    for block in re.split(r"\r?\n\r?\n", text.strip("\r\n")):
        ev = {"event": None, "data": []}
        for line in re.split(r"\r?\n", block):
            if line.startswith(":"):
                continue
            k, _, v = line.partition(":")
            v = v[1:] if v.startswith(" ") else v
            if k == "event": ev["event"] = v
            elif k == "data": ev["data"].append(v)
            else: raise AssertionError("unexpected SSE field %r" % k)
        ev["data"] = "\n".join(ev["data"])
        evs.append(ev)
    return evs

def t(name, fn):
    try:
        r = fn()
        if r is None or r is True:
            ok(name)
        else:
            fail(name, str(r))
    except Exception as e:  # an assertion inside fn
        fail(name, f"{type(e).__name__}: {e}")

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hello there mock"}]}

def chat_json():
    st, h, d, *_ = curl("/v1/chat/completions", CHAT)
    assert st == 200, st
    assert h["content-type"] == "application/json", h
    assert int(h["content-length"]) == len(d)
    r = json.loads(d)
    assert r["object"] == "chat.completion" and r["id"].startswith("chatcmpl-")
    assert r["model"] == "gpt-4o-2024-08-06", r["model"]
    assert r["choices"][0]["message"]["role"] == "assistant"
    assert r["choices"][0]["finish_reason"] == "stop"
    u = r["usage"]
    assert u["prompt_tokens"] == blen(CHAT) // 4, (u, blen(CHAT))
    assert u["completion_tokens"] == 12 and u["total_tokens"] == u["prompt_tokens"] + 12
    assert u["prompt_tokens_details"]["cached_tokens"] == 0
    assert u["completion_tokens_details"]["reasoning_tokens"] == 0
    assert "keep-alive" in h.get("connection", "")
t("chat JSON shape and token formula (IN=len(body)//4, OUT=12)", chat_json)

def chat_deterministic():
    a = curl("/v1/chat/completions", CHAT)[2]
    b = curl("/v1/chat/completions", CHAT)[2]
    assert a == b, "same request, different bytes"
t("responses are byte-for-byte deterministic", chat_deterministic)

def chat_stream():
    body = dict(CHAT, stream=True, stream_options={"include_usage": True})
    st, h, d, *_ = curl("/v1/chat/completions", body)
    assert st == 200
    assert h["content-type"].startswith("text/event-stream"), h["content-type"]
    assert "chunked" in h.get("transfer-encoding", "") and "content-length" not in h
    assert len(h["_chunks"]) > 10, "one chunk per event expected"
    evs = sse_events(d)
    assert evs[-1]["data"] == "[DONE]" and all(e["event"] is None for e in evs)
    objs = [json.loads(e["data"]) for e in evs[:-1]]
    assert all(o["object"] == "chat.completion.chunk" for o in objs)
    assert objs[0]["choices"][0]["delta"].get("role") == "assistant"
    content = [o for o in objs if o["choices"] and o["choices"][0]["delta"].get("content")]
    assert len(content) == 12, len(content)
    assert objs[-1]["choices"] == [] and objs[-1]["usage"]["completion_tokens"] == 12
    assert objs[-1]["usage"]["prompt_tokens"] == blen(body) // 4
    assert all("usage" in o and o["usage"] is None for o in objs[:-1]), \
        "every earlier chunk says usage: null, as OpenAI's do under include_usage"
    assert objs[-2]["choices"][0]["finish_reason"] == "stop"
t("chat SSE stream: chunks, usage chunk (choices []), data: [DONE]", chat_stream)

def chat_stream_no_usage_opt():
    st, h, d, *_ = curl("/v1/chat/completions", dict(CHAT, stream=True))
    evs = sse_events(d)
    assert evs[-1]["data"] == "[DONE]"
    assert all("usage" not in json.loads(e["data"]) for e in evs[:-1])
t("chat stream without include_usage has no usage", chat_stream_no_usage_opt)

def completions():
    body = {"model": "gpt-3.5-turbo-instruct", "prompt": "Say this is a test"}
    r = json.loads(curl("/v1/completions", body)[2])
    assert r["object"] == "text_completion" and r["usage"]["prompt_tokens"] == blen(body) // 4
    assert r["model"] == "gpt-3.5-turbo-instruct-2024-08-06"
t("legacy completions JSON", completions)

def responses_json():
    body = {"model": "gpt-4o-mini", "input": "one line about profilers"}
    st, h, d, *_ = curl("/v1/responses", body, ["x-mock-reasoning-tokens: 5", "x-mock-cached-tokens: 2"])
    r = json.loads(d)
    assert r["object"] == "response" and r["status"] == "completed"
    assert r["model"] == "gpt-4o-mini-2024-08-06"
    u = r["usage"]
    assert u["input_tokens"] == blen(body) // 4 and u["output_tokens"] == 14 + 5
    assert u["output_tokens_details"]["reasoning_tokens"] == 5
    assert u["input_tokens_details"]["cached_tokens"] == 2
t("responses JSON (OUT=14, reasoning and cache headers)", responses_json)

def responses_stream():
    body = {"model": "gpt-4o", "input": "stream", "stream": True}
    st, h, d, *_ = curl("/v1/responses", body)
    evs = sse_events(d)
    names = [e["event"] for e in evs]
    assert names[0] == "response.created" and names[-1] == "response.completed", names
    assert names.count("response.output_text.delta") == 14
    objs = [json.loads(e["data"]) for e in evs]
    assert all(o["type"] == e["event"] for o, e in zip(objs, evs))
    assert [o["sequence_number"] for o in objs] == list(range(len(objs)))
    assert objs[0]["response"]["usage"] is None
    u = objs[-1]["response"]["usage"]
    assert u["input_tokens"] == blen(body) // 4 and u["output_tokens"] == 14
    assert "[DONE]" not in d.decode()
t("responses SSE: named events, usage only in response.completed", responses_stream)

MSG = {"model": "claude-sonnet-4-5", "max_tokens": 64, "messages": [{"role": "user", "content": "hi claude"}]}

def messages_json():
    st, h, d, *_ = curl("/v1/messages", MSG, ["anthropic-version: 2023-06-01", "x-mock-cached-tokens: 7"])
    r = json.loads(d)
    assert r["type"] == "message" and r["model"] == "claude-sonnet-4-5-20250929"
    u = r["usage"]
    IN = blen(MSG) // 4
    assert u["input_tokens"] == IN - 7 and u["cache_read_input_tokens"] == 7, u
    assert u["cache_creation_input_tokens"] == 0 and u["output_tokens"] == 10
t("anthropic JSON with cache fields (input excludes cache read)", messages_json)

def messages_stream():
    st, h, d, *_ = curl("/v1/messages", dict(MSG, stream=True), ["anthropic-version: 2023-06-01"])
    evs = sse_events(d)
    names = [e["event"] for e in evs]
    assert names[:3] == ["message_start", "content_block_start", "ping"], names[:3]
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"], names[-3:]
    assert names.count("content_block_delta") == 10
    objs = [json.loads(e["data"]) for e in evs]
    assert all(o["type"] == e["event"] for o, e in zip(objs, evs))
    start = objs[0]["message"]
    assert start["usage"]["input_tokens"] == blen(dict(MSG, stream=True)) // 4
    assert start["usage"]["output_tokens"] == 1
    assert objs[-2]["usage"]["output_tokens"] == 10
    assert "[DONE]" not in d.decode()
t("anthropic SSE: message_start .. message_delta (cumulative) .. message_stop", messages_stream)

GEM = {"contents": [{"role": "user", "parts": [{"text": "explain SSE"}]}]}

def gemini_json():
    r = json.loads(curl("/v1beta/models/gemini-2.0-flash:generateContent", GEM)[2])
    u = r["usageMetadata"]
    assert r["modelVersion"] == "gemini-2.0-flash-001"
    assert u["promptTokenCount"] == blen(GEM) // 4 and u["candidatesTokenCount"] == 11
    assert u["totalTokenCount"] == u["promptTokenCount"] + 11
    assert "cachedContentTokenCount" not in u and "thoughtsTokenCount" not in u
    assert r["candidates"][0]["finishReason"] == "STOP"
t("gemini generateContent JSON (model from path, OUT=11)", gemini_json)

def gemini_sse():
    st, h, d, *_ = curl("/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse", GEM)
    assert h["content-type"].startswith("text/event-stream")
    evs = sse_events(d)
    assert all(e["event"] is None for e in evs) and "[DONE]" not in d.decode()
    objs = [json.loads(e["data"]) for e in evs]
    assert len(objs) == 3
    assert [o["usageMetadata"]["candidatesTokenCount"] for o in objs] == [4, 8, 11]
    assert objs[-1]["candidates"][0]["finishReason"] == "STOP"
    assert "finishReason" not in objs[0]["candidates"][0]
    assert objs[-1]["modelVersion"] == "gemini-2.5-pro-001"
t("gemini streamGenerateContent?alt=sse: data-only events, cumulative usage", gemini_sse)

def gemini_array():
    st, h, d, *_ = curl("/v1beta/models/gemini-2.0-flash:streamGenerateContent", GEM)
    arr = json.loads(d)
    assert isinstance(arr, list) and len(arr) == 3
t("gemini stream without alt=sse is a JSON array", gemini_array)

OLL = {"model": "llama3.2", "messages": [{"role": "user", "content": "why is the sky blue"}]}

def ollama_chat_stream():
    st, h, d, *_ = curl("/api/chat", OLL)
    assert h["content-type"] == "application/x-ndjson"
    lines = d.decode().splitlines()
    objs = [json.loads(l) for l in lines]
    assert len(objs) == 14 and all(not o["done"] for o in objs[:-1]) and objs[-1]["done"]
    assert objs[-1]["prompt_eval_count"] == blen(OLL) // 4 and objs[-1]["eval_count"] == 13
    assert all("eval_count" not in o for o in objs[:-1])
    assert objs[-1]["model"] == "llama3.2:latest"
t("ollama /api/chat NDJSON stream, metrics only when done", ollama_chat_stream)

def ollama_generate():
    body = {"model": "llama3.2:1b", "prompt": "hi", "stream": False}
    st, h, d, *_ = curl("/api/generate", body)
    r = json.loads(d)
    assert h["content-type"] == "application/json" and r["done"] is True
    assert r["eval_count"] == 15 and r["prompt_eval_count"] == blen(body) // 4
    assert r["model"] == "llama3.2:1b" and isinstance(r["context"], list)
t("ollama /api/generate stream:false JSON", ollama_generate)

def embeddings():
    body = {"model": "text-embedding-3-small", "input": ["a", "b"]}
    r = json.loads(curl("/v1/embeddings", body)[2])
    assert r["object"] == "list" and len(r["data"]) == 2 and len(r["data"][0]["embedding"]) == 8
    assert r["usage"] == {"prompt_tokens": blen(body) // 4, "total_tokens": blen(body) // 4}
    assert r["model"] == "text-embedding-3-small"
t("embeddings JSON", embeddings)

def tools():
    st, h, d, *_ = curl("/tool/search?q=SECRETQUERY_SELF_6&sig=" + SECRETS[3] + "&token=" + SECRETS[4])
    r = json.loads(d)
    assert st == 200 and r["count"] == 3
    st, h, d, *_ = curl("/tool/weather?city=Zurich")
    assert st == 200 and json.loads(d)["location"] == "Zurich"
    st, h, d, *_ = curl("/nope")
    assert st == 404 and json.loads(d)["error"]["message"]
t("tool endpoints and 404", tools)

def gzip_whole():
    st, h, d, *_ = curl("/v1/chat/completions", CHAT, ["x-mock-gzip: 1", "Accept-Encoding: gzip"])
    assert h.get("content-encoding") == "gzip"
    assert json.loads(d)["usage"]["completion_tokens"] == 12
    st, h, d, *_ = curl("/v1/chat/completions", CHAT, ["x-mock-gzip: 1"])
    assert "content-encoding" not in h, "gzip without Accept-Encoding"
    st, h, d, *_ = curl("/v1/chat/completions", CHAT, ["Accept-Encoding: gzip"])
    assert "content-encoding" not in h, "gzip without x-mock-gzip"
t("gzip only with x-mock-gzip and Accept-Encoding: gzip", gzip_whole)

def gzip_stream():
    st, h, d, *_ = curl("/v1/messages", dict(MSG, stream=True),
                        ["x-mock-gzip: 1", "Accept-Encoding: gzip, deflate"])
    assert h.get("content-encoding") == "gzip" and len(h["_chunks"]) > 10
    evs = sse_events(d)
    assert evs[-1]["event"] == "message_stop"
t("gzip SSE stream (sync flush per event, chunked)", gzip_stream)

def chunked_json():
    st, h, d, *_ = curl("/v1/responses", {"model": "gpt-4o", "input": "x"}, ["x-mock-chunked: 1"])
    assert "chunked" in h.get("transfer-encoding", "") and "content-length" not in h
    assert len([s for s in h["_chunks"] if s]) == 2
    assert json.loads(d)["usage"]["output_tokens"] == 14
    st, h, d, *_ = curl("/v1/responses", {"model": "gpt-4o", "input": "x"},
                        ["x-mock-chunked: 1", "x-mock-gzip: 1", "Accept-Encoding: gzip"])
    assert h.get("content-encoding") == "gzip" and json.loads(d)["object"] == "response"
t("x-mock-chunked: chunked non-stream body (plain and gzip)", chunked_json)

def delay():
    st, h, d, ttfb, total, _ = curl("/v1/chat/completions", CHAT, ["x-mock-delay-ms: 300"])
    assert ttfb >= 0.3, ttfb
t("x-mock-delay-ms delays the response headers", delay)

def pacing():
    st, h, d, ttfb, total, _ = curl("/v1/chat/completions", dict(CHAT, stream=True),
                                    ["x-mock-ttfb-ms: 200", "x-mock-chunk-ms: 20"])
    n = len(sse_events(d))
    assert total >= 0.2 + 0.02 * (n - 1) * 0.95, (total, n)
t("x-mock-ttfb-ms / x-mock-chunk-ms pace a stream", pacing)

def no_usage():
    for path, body in (("/v1/chat/completions", CHAT), ("/v1/messages", MSG),
                       ("/api/generate", {"model": "m", "prompt": "p", "stream": False}),
                       ("/v1beta/models/g:generateContent", GEM)):
        r = json.loads(curl(path, body, ["x-mock-no-usage: 1"])[2])
        for k in ("usage", "usageMetadata", "eval_count", "prompt_eval_count"):
            assert k not in r, (path, k)
    evs = sse_events(curl("/v1/chat/completions", dict(CHAT, stream=True, stream_options={"include_usage": True}),
                          ["x-mock-no-usage: 1"])[2])
    assert all("usage" not in json.loads(e["data"]) for e in evs[:-1])
t("x-mock-no-usage removes usage everywhere", no_usage)

def forced_status():
    st, h, d, *_ = curl("/v1/chat/completions", CHAT, ["x-mock-status: 429"])
    assert st == 429 and json.loads(d)["error"]["type"] == "invalid_request_error"
    st, h, d, *_ = curl("/v1/messages", MSG, ["x-mock-status: 529"])
    assert st == 529 and json.loads(d)["error"]["type"] == "overloaded_error"
t("x-mock-status returns provider-shaped errors", forced_status)

def close_hdr():
    st, h, d, *_ = curl("/v1/chat/completions", CHAT, ["x-mock-close: 1"])
    assert h.get("connection") == "close"
t("x-mock-close closes the connection", close_hdr)

def bad_json():
    st, h, d, *_ = curl("/v1/chat/completions", "{not json")
    assert st == 400
t("invalid JSON body gives 400", bad_json)

def chunked_request():
    body = json.dumps(CHAT)
    st, h, d, *_ = curl("/v1/chat/completions", body, ["Transfer-Encoding: chunked"])
    assert json.loads(d)["usage"]["prompt_tokens"] == len(body) // 4
t("chunked request body is de-chunked before counting", chunked_request)

def expect_continue():
    big = dict(CHAT, messages=[{"role": "user", "content": "x" * 5000}])
    st, h, d, *_ = curl("/v1/chat/completions", big, ["Expect: 100-continue"])
    assert st == 200 and json.loads(d)["usage"]["prompt_tokens"] == blen(big) // 4
t("Expect: 100-continue with a large body", expect_continue)

def tls_and_keepalive():
    st, h, d, *_ = curl("/v1/chat/completions", CHAT, tls=True)
    assert st == 200 and json.loads(d)["model"] == "gpt-4o-2024-08-06"
    r = subprocess.run(["curl", "-sS", "-v", "--cacert", CA, "-o", "/dev/null", "-o", "/dev/null",
                        TLS + "/tool/weather", TLS + "/health"], capture_output=True, timeout=60)
    err = r.stderr.decode()
    assert "ALPN: server accepted http/1.1" in err, "ALPN"
    assert "Re-using existing connection" in err, "no keep-alive reuse over TLS"
t("TLS (test CA, SAN localhost, ALPN http/1.1) and keep-alive", tls_and_keepalive)

def tls_ip():
    r = subprocess.run(["curl", "-sS", "--cacert", CA, TLS.replace("localhost", "127.0.0.1") + "/health"],
                       capture_output=True, timeout=60)
    assert r.stdout == b"ok\n", r.stderr
t("certificate also valid for 127.0.0.1", tls_ip)

def log_and_secrets():
    time.sleep(0.2)
    rows = []
    for f in (os.environ["SELF_LOG"], os.environ["SELF_TLS_LOG"]):
        txt = open(f).read()
        for s in SECRETS + ["SECRETQUERY_SELF_6"]:
            assert s not in txt, "secret in log: " + s
        rows += [json.loads(l) for l in txt.splitlines()]
    for blob in seen_bytes:
        for s in SECRETS + ["SECRETQUERY_SELF_6"]:
            assert s.encode() not in blob, "secret echoed in a response: " + s
    assert rows and all("?" not in r["path"] for r in rows)
    need = {"t", "peer_port", "method", "path", "status", "stream", "body_len", "request_model",
            "response_model", "input_tokens", "output_tokens", "cache_read_tokens",
            "reasoning_tokens", "delay_ms", "ttfb_ms", "chunk_ms", "gzip", "chunked", "events"}
    assert all(need <= set(r) for r in rows)
    for r in rows:
        if r["path"] in ("/v1/chat/completions", "/v1/responses") and r["status"] == 200 and r["input_tokens"] is not None:
            assert r["input_tokens"] == r["body_len"] // 4, r
t("log: one JSON line per request, formula consistent, no secrets, no query", log_and_secrets)
