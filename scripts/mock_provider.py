#!/usr/bin/python3
"""mock_provider.py: a realistic mock LLM provider and tool server on loopback (stdlib only).

Usage:
  mock_provider.py [--host 127.0.0.1] [--port N] [--tls CERT KEY] [--ready-file F] [--log F]

--port 0 (the default) lets the OS choose; --ready-file receives the bound port (written
atomically once the socket listens). --log appends one JSON object per request (see LOG below).
HTTP/1.1 with keep-alive, one thread per connection, TLS (ALPN http/1.1) with --tls.

ENDPOINTS (response shapes follow the real APIs, docs/internals/formats.md §6)
  POST /v1/chat/completions      OpenAI chat; "stream":true => SSE chat.completion.chunk events,
                                 a usage chunk (choices:[]) only with
                                 "stream_options":{"include_usage":true} (every earlier chunk
                                 then says "usage":null, as OpenAI's do), then "data: [DONE]".
  POST /v1/completions           OpenAI legacy completions (same usage object as chat).
  POST /v1/responses             OpenAI Responses; stream => named events ending with
                                 "event: response.completed" (usage only there).
  POST /v1/messages              Anthropic Messages; stream => message_start, content_block_start,
                                 ping, content_block_delta..., content_block_stop, message_delta,
                                 message_stop.
  POST /v1beta/models/{m}:generateContent          Gemini JSON.
  POST /v1beta/models/{m}:streamGenerateContent    ?alt=sse => SSE "data:" chunks (no event
                                 line, no [DONE]); without alt=sse a streamed JSON array.
  POST /api/chat, /api/generate  Ollama; NDJSON stream by default, "stream":false => one JSON.
  POST /v1/embeddings            OpenAI embeddings.
  GET  /tool/search?q=...        tool: JSON search results (the query is never echoed).
  GET  /tool/weather[?city=..]   tool: JSON weather.
  POST /tool/echo-size           tool: {"received_bytes": N}.
  GET  /health                   "ok".
  anything else                  404 with an OpenAI-style error object.

DETERMINISTIC TOKEN FORMULA (tests assert these exact numbers)
  B    = number of bytes of the request body as received (after de-chunking; 0 for GET).
  IN   = B // 4                                  (the "prompt size" of every LLM request)
  OUT  = fixed per endpoint:
           chat 12, completions 12, responses 14, messages 10, gemini 11,
           ollama /api/chat 13, ollama /api/generate 15, embeddings: none.
  C    = cached prompt tokens = min(x-mock-cached-tokens header, IN), default 0.
  R    = reasoning tokens = x-mock-reasoning-tokens header, default 0.
  Reported fields (as the real providers define them):
    OpenAI chat/completions: prompt_tokens=IN, completion_tokens=OUT+R,
        prompt_tokens_details.cached_tokens=C, completion_tokens_details.reasoning_tokens=R
        (both details objects always present, so cache/reasoning are known zeros by default).
    OpenAI responses: input_tokens=IN, output_tokens=OUT+R,
        input_tokens_details.cached_tokens=C, output_tokens_details.reasoning_tokens=R.
    Anthropic: input_tokens=IN-C (Anthropic excludes cache reads), cache_read_input_tokens=C,
        cache_creation_input_tokens=0, output_tokens=OUT (stream: message_start says 1,
        the last message_delta says OUT, cumulative). No reasoning field.
    Gemini: promptTokenCount=IN, candidatesTokenCount=OUT, totalTokenCount=IN+OUT+R;
        cachedContentTokenCount=C and thoughtsTokenCount=R only when the headers are given.
        Streams carry usageMetadata on every chunk, cumulative, final counts on the last.
    Ollama: prompt_eval_count=IN, eval_count=OUT (final object only); no cache/reasoning.
    Embeddings: prompt_tokens=IN, total_tokens=IN; no output tokens.
  x-mock-no-usage: 1 removes every usage object (usage / usageMetadata / Ollama metrics), so
  the profiler must report unknown (null), not 0.
  Streams emit one content token per event (OUT content events).

MODELS
  Request model defaults: chat/completions/responses "gpt-4o", embeddings
  "text-embedding-3-small", messages "claude-sonnet-4-5", ollama "llama3.2"; Gemini takes it
  from the path. Response model (so request and response models differ):
    OpenAI chat/completions/responses: m + "-2024-08-06" (unless m already ends in a date)
    Anthropic: m + "-20250929" (unless already dated);  Gemini modelVersion: m + "-001"
    Ollama: m + ":latest" when m has no tag;  embeddings: m unchanged (as the real API does).

PER-REQUEST CONTROLS (request headers)
  x-mock-delay-ms: N       sleep N ms after reading the request, before the response headers
  x-mock-ttfb-ms: N        streams: sleep N ms after the headers, before the first event
  x-mock-chunk-ms: N       streams: sleep N ms between events
  x-mock-gzip: 1           gzip the body (Content-Encoding: gzip) if Accept-Encoding has gzip;
                           "force" gzips regardless. Streams are gzipped with a sync flush per
                           event.
  x-mock-chunked: 1        Transfer-Encoding: chunked for non-stream bodies too
  x-mock-no-usage: 1       omit usage (see above)
  x-mock-status: N         reply with HTTP status N and a provider-shaped error body
  x-mock-close: 1          Connection: close after this response
  x-mock-cached-tokens: N, x-mock-reasoning-tokens: N   see the formula
  Delays are capped at 30 s.

SECRETS: Authorization, x-api-key, api-key, Cookie and query strings are never echoed in
responses nor written to the log (the log has the path without its query).

LOG (--log FILE): one JSON object per request:
  {"t": unix time the request line arrived, "peer_port": client port, "method", "path" (no query), "status", "stream",
   "body_len": B, "request_model", "response_model", "input_tokens", "output_tokens",
   "cache_read_tokens", "reasoning_tokens", "delay_ms", "ttfb_ms", "chunk_ms", "gzip",
   "chunked", "events", "duration_ms"}
  Token fields hold what a correct profiler reports for the exchange (null when unknown).
  input_tokens is the provider's reported input field; for Anthropic that is IN-C (cache reads
  excluded), while a profiler normalising to the OTel GenAI convention reports IN (input + cache
  read + cache write; cache write is always 0 here). output_tokens for Gemini is OUT+R
  (candidates + thoughts), already the OTel meaning.
"""

import argparse
import gzip
import hashlib
import json
import os
import re
import signal
import socket
import ssl
import sys
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

OUT_TOKENS = {
    "chat": 12,
    "completions": 12,
    "responses": 14,
    "messages": 10,
    "gemini": 11,
    "ollama_chat": 13,
    "ollama_generate": 15,
}

WORDS = ("The mock model considered your request carefully and here is a short deterministic "
         "answer that exists only for testing the profiler end to end without any network "
         "access at all").split()

CREATED = 1741569952  # fixed timestamps keep every response byte-for-byte reproducible
MAX_DELAY_MS = 30000
MAX_BODY = 16 << 20
DATE_RE = re.compile(r"(\d{4}-\d{2}-\d{2}|\d{8})$")

LOG_LOCK = threading.Lock()
LOG_FILE = None


def tokens(n):
    """The n content tokens of a reply: words, each but the first with a leading space."""
    out = []
    for i in range(n):
        w = WORDS[i % len(WORDS)]
        out.append(w if i == 0 else " " + w)
    return out


def openai_model(m):
    return m if DATE_RE.search(m) else m + "-2024-08-06"


def anthropic_model(m):
    return m if DATE_RE.search(m) else m + "-20250929"


def gemini_version(m):
    return m + "-001"


def ollama_model(m):
    return m if ":" in m else m + ":latest"


def clamp_ms(v):
    try:
        n = int(v)
    except (TypeError, ValueError):
        return 0
    return max(0, min(n, MAX_DELAY_MS))


class Reply:
    """What a handler decided to send: status, headers, body or a list of stream events."""

    def __init__(self, status=200, ctype="application/json", body=None, events=None, headers=None):
        self.status = status
        self.ctype = ctype
        self.body = body  # bytes for non-stream
        self.events = events  # list of bytes for streams
        self.headers = headers or []


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body are two writes; without TCP_NODELAY the body waits for the client's
    # delayed ACK (40 ms per keep-alive request), which is no part of any provider's behaviour.
    disable_nagle_algorithm = True
    server_version = "mock-provider/1.0"
    sys_version = ""
    timeout = 120  # idle keep-alive connections are dropped after this

    # ---- plumbing -------------------------------------------------------------------------

    def log_message(self, fmt, *args):  # silence the default stderr access log
        pass

    def hdr_int(self, name, default=0):
        v = self.headers.get(name)
        if v is None:
            return default
        try:
            return max(0, int(v))
        except ValueError:
            return default

    def read_body(self):
        te = self.headers.get("Transfer-Encoding", "").lower()
        if "chunked" in te:
            parts = []
            total = 0
            while True:
                line = self.rfile.readline(1024)
                if not line:
                    break
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while True:  # trailers
                        t = self.rfile.readline(1024)
                        if t in (b"\r\n", b"\n", b""):
                            break
                    break
                total += size
                if total > MAX_BODY:
                    raise ValueError("body too large")
                parts.append(self.rfile.read(size))
                self.rfile.readline(16)
            return b"".join(parts)
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            raise ValueError("body too large")
        return self.rfile.read(n) if n > 0 else b""

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_DELETE(self):
        self.handle_any("DELETE")

    def handle_any(self, method):
        self.t_wall = time.time()
        t0 = time.monotonic()
        url = urlsplit(self.path)
        path = url.path
        self.query = parse_qs(url.query)
        try:
            body = self.read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        self.body_len = len(body)
        self.info = {
            "request_model": None, "response_model": None, "input_tokens": None,
            "output_tokens": None, "cache_read_tokens": None, "reasoning_tokens": None,
        }
        self.stream = False
        self.want_gzip = False
        self.no_usage = self.headers.get("x-mock-no-usage", "") not in ("", "0")
        self.cached = self.hdr_int("x-mock-cached-tokens")
        self.reasoning = self.hdr_int("x-mock-reasoning-tokens")
        self.has_cached_hdr = "x-mock-cached-tokens" in self.headers
        self.has_reason_hdr = "x-mock-reasoning-tokens" in self.headers
        self.req_id = hashlib.sha1(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()
        try:
            reply = self.route(method, path, body)
        except BadRequest as e:
            reply = self.error_reply(400, str(e), path)
        forced = self.headers.get("x-mock-status")
        if forced and reply.status == 200:
            try:
                st = int(forced)
            except ValueError:
                st = 200
            if st != 200 and 100 <= st <= 599:
                reply = self.error_reply(st, "mock forced status %d" % st, path)
                for k in ("input_tokens", "output_tokens", "cache_read_tokens", "reasoning_tokens",
                          "response_model"):
                    self.info[k] = None
        delay = clamp_ms(self.headers.get("x-mock-delay-ms"))
        ttfb = clamp_ms(self.headers.get("x-mock-ttfb-ms"))
        chunk_ms = clamp_ms(self.headers.get("x-mock-chunk-ms"))
        if delay:
            time.sleep(delay / 1000.0)
        gz_hdr = self.headers.get("x-mock-gzip", "").lower()
        accepts = "gzip" in self.headers.get("Accept-Encoding", "").lower()
        use_gzip = (gz_hdr == "force") or (gz_hdr not in ("", "0") and accepts)
        force_chunked = self.headers.get("x-mock-chunked", "") not in ("", "0")
        if self.headers.get("x-mock-close", "") not in ("", "0"):
            self.close_connection = True
        try:
            self.send_reply(reply, use_gzip, force_chunked, ttfb, chunk_ms)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True
        self.write_log(method, path, reply, delay, ttfb, chunk_ms, use_gzip,
                       force_chunked or reply.events is not None, t0)

    def send_reply(self, reply, use_gzip, force_chunked, ttfb_ms, chunk_ms):
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.ctype)
        for k, v in reply.headers:
            self.send_header(k, v)
        self.send_header("x-request-id", "req_" + self.req_id[:24])
        if use_gzip:
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Vary", "Accept-Encoding")
        if self.close_connection:
            self.send_header("Connection", "close")
        else:
            self.send_header("Connection", "keep-alive")
        if reply.events is None:
            data = reply.body or b""
            if use_gzip:
                data = gzip.compress(data, compresslevel=6, mtime=0)
            if force_chunked:
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                half = len(data) // 2  # two data chunks so parsers see a real split
                for part in (data[:half], data[half:]):
                    if part:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                self.wfile.write(b"0\r\n\r\n")
            else:
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            self.wfile.flush()
            return
        # streamed response: chunked transfer, one chunk per event
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        comp = zlib.compressobj(6, zlib.DEFLATED, 31) if use_gzip else None
        for i, ev in enumerate(reply.events):
            time.sleep((ttfb_ms if i == 0 else chunk_ms) / 1000.0)
            data = ev
            if comp:
                data = comp.compress(ev) + comp.flush(zlib.Z_SYNC_FLUSH)
            if data:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()
        if comp:
            tail = comp.flush(zlib.Z_FINISH)
            if tail:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(tail), tail))
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def write_log(self, method, path, reply, delay, ttfb, chunk_ms, use_gzip, chunked, t0):
        if LOG_FILE is None:
            return
        rec = {
            "t": round(self.t_wall, 6),
            "peer_port": self.client_address[1] if isinstance(self.client_address, tuple) else None,
            "method": method,
            "path": path,
            "status": reply.status,
            "stream": reply.events is not None,
            "body_len": self.body_len,
        }
        rec.update(self.info)
        rec.update({
            "delay_ms": delay, "ttfb_ms": ttfb, "chunk_ms": chunk_ms, "gzip": use_gzip,
            "chunked": chunked, "events": len(reply.events) if reply.events is not None else 0,
            "duration_ms": round((time.monotonic() - t0) * 1000.0, 3),
        })
        line = json.dumps(rec, separators=(",", ":")) + "\n"
        with LOG_LOCK:
            LOG_FILE.write(line)
            LOG_FILE.flush()

    # ---- routing --------------------------------------------------------------------------

    def route(self, method, path, body):
        if path == "/health":
            return Reply(ctype="text/plain", body=b"ok\n")
        if path.startswith("/tool/"):
            return self.tool(method, path, body)
        if method != "POST":
            return self.error_reply(404, "not found", path)
        if path in ("/v1/chat/completions", "/v1/completions", "/v1/responses", "/v1/messages",
                    "/v1/embeddings", "/api/chat", "/api/generate") or \
                path.startswith("/v1beta/models/"):
            req = self.parse_json(body)
        else:
            return self.error_reply(404, "not found", path)
        if path == "/v1/chat/completions":
            return self.openai_chat(req, "chat")
        if path == "/v1/completions":
            return self.openai_chat(req, "completions")
        if path == "/v1/responses":
            return self.openai_responses(req)
        if path == "/v1/messages":
            return self.anthropic(req)
        if path == "/v1/embeddings":
            return self.embeddings(req)
        if path == "/api/chat":
            return self.ollama(req, "chat")
        if path == "/api/generate":
            return self.ollama(req, "generate")
        m = re.match(r"^/v1beta/models/([^/:]+):(generateContent|streamGenerateContent)$", path)
        if m:
            return self.gemini(unquote(m.group(1)), m.group(2) == "streamGenerateContent")
        return self.error_reply(404, "not found", path)

    def parse_json(self, body):
        if not body:
            return {}
        try:
            v = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise BadRequest("request body is not valid JSON")
        if not isinstance(v, dict):
            raise BadRequest("request body must be a JSON object")
        return v

    def error_reply(self, status, message, path):
        if path == "/v1/messages":
            kind = {400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error",
                    429: "rate_limit_error", 529: "overloaded_error"}.get(status, "api_error")
            body = {"type": "error", "error": {"type": kind, "message": message}}
        elif path.startswith("/v1beta/"):
            body = {"error": {"code": status, "message": message, "status": "INVALID_ARGUMENT"
                              if status == 400 else "UNAVAILABLE"}}
        elif path.startswith("/api/"):
            body = {"error": message}
        else:
            body = {"error": {"message": message, "type": "invalid_request_error" if status < 500
                              else "server_error", "param": None, "code": None}}
        return Reply(status=status, body=dumps(body))

    # ---- counts ---------------------------------------------------------------------------

    def counts(self, kind):
        inp = self.body_len // 4
        out = OUT_TOKENS[kind]
        cached = min(self.cached, inp)
        return inp, out, cached, self.reasoning

    # ---- OpenAI chat / completions ----------------------------------------------------------

    def openai_chat(self, req, kind):
        model = str(req.get("model") or "gpt-4o")
        rmodel = openai_model(model)
        inp, out, cached, reason = self.counts(kind)
        toks = tokens(out)
        usage = {
            "prompt_tokens": inp,
            "completion_tokens": out + reason,
            "total_tokens": inp + out + reason,
            "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": reason, "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0,
                                          "rejected_prediction_tokens": 0},
        }
        stream = bool(req.get("stream"))
        include_usage = bool((req.get("stream_options") or {}).get("include_usage"))
        self.stream = stream
        self.info.update(request_model=model, response_model=rmodel)
        if not self.no_usage and (not stream or include_usage):
            self.info.update(input_tokens=inp, output_tokens=out + reason, cache_read_tokens=cached,
                             reasoning_tokens=reason)
        cid = ("chatcmpl-" if kind == "chat" else "cmpl-") + self.req_id[:29]
        obj = "chat.completion" if kind == "chat" else "text_completion"
        fp = "fp_mock" + self.req_id[:6]
        if not stream:
            if kind == "chat":
                choice = {"index": 0, "message": {"role": "assistant", "content": "".join(toks),
                                                  "refusal": None, "annotations": []},
                          "logprobs": None, "finish_reason": "stop"}
            else:
                choice = {"text": "".join(toks), "index": 0, "logprobs": None, "finish_reason": "stop"}
            resp = {"id": cid, "object": obj, "created": CREATED, "model": rmodel,
                    "choices": [choice]}
            if not self.no_usage:
                resp["usage"] = usage
            resp["service_tier"] = "default"
            resp["system_fingerprint"] = fp
            return Reply(body=dumps(resp, pretty=True), headers=openai_headers())
        chunk_obj = "chat.completion.chunk" if kind == "chat" else "text_completion"
        events = []

        def chunk(choices, **extra):
            d = {"id": cid, "object": chunk_obj, "created": CREATED, "model": rmodel,
                 "system_fingerprint": fp, "choices": choices}
            if include_usage and not self.no_usage:
                d["usage"] = None  # as OpenAI: every chunk but the usage one says null
            d.update(extra)
            return sse(None, d)

        if kind == "chat":
            events.append(chunk([{"index": 0, "delta": {"role": "assistant", "content": "",
                                                        "refusal": None},
                                  "logprobs": None, "finish_reason": None}]))
            for t in toks:
                events.append(chunk([{"index": 0, "delta": {"content": t}, "logprobs": None,
                                      "finish_reason": None}]))
            events.append(chunk([{"index": 0, "delta": {}, "logprobs": None,
                                  "finish_reason": "stop"}]))
        else:
            for t in toks:
                events.append(chunk([{"text": t, "index": 0, "logprobs": None,
                                      "finish_reason": None}]))
            events.append(chunk([{"text": "", "index": 0, "logprobs": None,
                                  "finish_reason": "stop"}]))
        if include_usage and not self.no_usage:
            events.append(chunk([], usage=usage))
        events.append(b"data: [DONE]\n\n")
        return Reply(ctype="text/event-stream; charset=utf-8", events=events,
                     headers=openai_headers())

    # ---- OpenAI responses -------------------------------------------------------------------

    def openai_responses(self, req):
        model = str(req.get("model") or "gpt-4o")
        rmodel = openai_model(model)
        inp, out, cached, reason = self.counts("responses")
        toks = tokens(out)
        text = "".join(toks)
        stream = bool(req.get("stream"))
        self.stream = stream
        self.info.update(request_model=model, response_model=rmodel)
        if not self.no_usage:
            self.info.update(input_tokens=inp, output_tokens=out + reason,
                             cache_read_tokens=cached, reasoning_tokens=reason)
        rid = "resp_" + self.req_id[:40]
        mid = "msg_" + self.req_id[-40:]
        usage = {"input_tokens": inp,
                 "input_tokens_details": {"cached_tokens": cached, "cache_write_tokens": 0},
                 "output_tokens": out + reason,
                 "output_tokens_details": {"reasoning_tokens": reason},
                 "total_tokens": inp + out + reason}
        msg_done = {"type": "message", "id": mid, "status": "completed", "role": "assistant",
                    "content": [{"type": "output_text", "text": text, "annotations": []}]}

        def response(status, output, with_usage):
            r = {"id": rid, "object": "response", "created_at": CREATED, "status": status,
                 "completed_at": CREATED + 1 if status == "completed" else None, "error": None,
                 "incomplete_details": None, "instructions": None, "max_output_tokens": None,
                 "model": rmodel, "output": output, "parallel_tool_calls": True,
                 "previous_response_id": None, "reasoning": {"effort": None, "summary": None},
                 "store": True, "temperature": 1.0, "text": {"format": {"type": "text"}},
                 "tool_choice": "auto", "tools": [], "top_p": 1.0, "truncation": "disabled",
                 "usage": None, "user": None, "metadata": {}}
            if with_usage and not self.no_usage:
                r["usage"] = usage
            elif with_usage:
                del r["usage"]
            return r

        if not stream:
            return Reply(body=dumps(response("completed", [msg_done], True), pretty=True),
                         headers=openai_headers())
        seq = [0]
        events = []

        def ev(name, data):
            data = dict({"type": name}, **data)
            data["sequence_number"] = seq[0]
            seq[0] += 1
            events.append(sse(name, data))

        ev("response.created", {"response": response("in_progress", [], False)})
        ev("response.in_progress", {"response": response("in_progress", [], False)})
        ev("response.output_item.added", {"output_index": 0, "item": {
            "id": mid, "type": "message", "status": "in_progress", "role": "assistant",
            "content": []}})
        ev("response.content_part.added", {"item_id": mid, "output_index": 0, "content_index": 0,
                                           "part": {"type": "output_text", "text": "",
                                                    "annotations": []}})
        for t in toks:
            ev("response.output_text.delta", {"item_id": mid, "output_index": 0,
                                              "content_index": 0, "delta": t})
        ev("response.output_text.done", {"item_id": mid, "output_index": 0, "content_index": 0,
                                         "text": text})
        ev("response.content_part.done", {"item_id": mid, "output_index": 0, "content_index": 0,
                                          "part": {"type": "output_text", "text": text,
                                                   "annotations": []}})
        ev("response.output_item.done", {"output_index": 0, "item": msg_done})
        ev("response.completed", {"response": response("completed", [msg_done], True)})
        return Reply(ctype="text/event-stream; charset=utf-8", events=events,
                     headers=openai_headers())

    # ---- Anthropic --------------------------------------------------------------------------

    def anthropic(self, req):
        model = str(req.get("model") or "claude-sonnet-4-5")
        rmodel = anthropic_model(model)
        inp, out, cached, _ = self.counts("messages")
        toks = tokens(out)
        stream = bool(req.get("stream"))
        self.stream = stream
        self.info.update(request_model=model, response_model=rmodel)
        if not self.no_usage:
            self.info.update(input_tokens=inp - cached, output_tokens=out,
                             cache_read_tokens=cached, reasoning_tokens=None)
        mid = "msg_01" + self.req_id[:22]
        hdrs = [("anthropic-organization-id", "00000000-0000-4000-8000-000000000000"),
                ("request-id", "req_01" + self.req_id[:22])]

        def usage(output_tokens):
            return {"input_tokens": inp - cached, "cache_creation_input_tokens": 0,
                    "cache_read_input_tokens": cached,
                    "cache_creation": {"ephemeral_5m_input_tokens": 0,
                                       "ephemeral_1h_input_tokens": 0},
                    "output_tokens": output_tokens, "service_tier": "standard"}

        if not stream:
            resp = {"model": rmodel, "id": mid, "type": "message", "role": "assistant",
                    "content": [{"type": "text", "text": "".join(toks)}],
                    "stop_reason": "end_turn", "stop_sequence": None}
            if not self.no_usage:
                resp["usage"] = usage(out)
            return Reply(body=dumps(resp, pretty=True), headers=hdrs)
        events = []
        start = {"id": mid, "type": "message", "role": "assistant", "content": [],
                 "model": rmodel, "stop_reason": None, "stop_sequence": None}
        if not self.no_usage:
            start["usage"] = usage(1)
        events.append(sse("message_start", {"type": "message_start", "message": start}))
        events.append(sse("content_block_start", {"type": "content_block_start", "index": 0,
                                                  "content_block": {"type": "text", "text": ""}}))
        events.append(b'event: ping\ndata: {"type": "ping"}\n\n')
        for t in toks:
            events.append(sse("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                      "delta": {"type": "text_delta", "text": t}}))
        events.append(sse("content_block_stop", {"type": "content_block_stop", "index": 0}))
        md = {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None}}
        if not self.no_usage:
            md["usage"] = {"output_tokens": out}
        events.append(sse("message_delta", md))
        events.append(sse("message_stop", {"type": "message_stop"}))
        return Reply(ctype="text/event-stream; charset=utf-8", events=events, headers=hdrs)

    # ---- Gemini -----------------------------------------------------------------------------

    def gemini(self, model, stream):
        inp, out, cached, reason = self.counts("gemini")
        version = gemini_version(model)
        toks = tokens(out)
        self.stream = stream
        self.info.update(request_model=model, response_model=version)
        if not self.no_usage:
            self.info.update(input_tokens=inp, output_tokens=out + reason,
                             cache_read_tokens=cached if self.has_cached_hdr else None,
                             reasoning_tokens=reason if self.has_reason_hdr else None)
        rid = self.req_id[:22]

        def usage(n_out, final):
            u = {"promptTokenCount": inp, "candidatesTokenCount": n_out,
                 "totalTokenCount": inp + n_out + (reason if final else 0)}
            if self.has_cached_hdr:
                u["cachedContentTokenCount"] = cached
            if self.has_reason_hdr and final:
                u["thoughtsTokenCount"] = reason
            u["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": inp}]
            return u

        def response(text, n_out, final):
            cand = {"content": {"parts": [{"text": text}], "role": "model"}, "index": 0}
            if final:
                cand["finishReason"] = "STOP"
            r = {"candidates": [cand]}
            if not self.no_usage:
                r["usageMetadata"] = usage(n_out, final)
            r["modelVersion"] = version
            r["responseId"] = rid
            return r

        if not stream:
            return Reply(body=dumps(response("".join(toks), out, True), pretty=True))
        groups = [toks[i:i + 4] for i in range(0, len(toks), 4)]
        objs = []
        done = 0
        for gi, g in enumerate(groups):
            done += len(g)
            objs.append(response("".join(g), done, gi == len(groups) - 1))
        if self.query.get("alt", [""])[0] == "sse":
            events = [b"data: " + dumps(o) + b"\r\n\r\n" for o in objs]
            return Reply(ctype="text/event-stream", events=events)
        # without alt=sse: one JSON array, streamed element by element
        events = []
        for i, o in enumerate(objs):
            events.append((b"[" if i == 0 else b",\r\n") + dumps(o, pretty=True))
        events.append(b"]")
        return Reply(ctype="application/json; charset=UTF-8", events=events)

    # ---- Ollama -----------------------------------------------------------------------------

    def ollama(self, req, kind):
        model = str(req.get("model") or "llama3.2")
        rmodel = ollama_model(model)
        inp, out, _, _ = self.counts("ollama_" + kind)
        toks = tokens(out)
        stream = req.get("stream", True) is not False
        self.stream = stream
        self.info.update(request_model=model, response_model=rmodel)
        if not self.no_usage:
            self.info.update(input_tokens=inp, output_tokens=out)
        created = "2025-10-17T23:14:07.414671Z"
        metrics = {"total_duration": 174560334, "load_duration": 101397084,
                   "prompt_eval_count": inp, "prompt_eval_duration": 13074791,
                   "eval_count": out, "eval_duration": 52479709}
        if inp == 0:
            del metrics["prompt_eval_count"]  # Go omitempty: a zero count is omitted

        def final(text):
            d = {"model": rmodel, "created_at": created}
            if kind == "chat":
                d["message"] = {"role": "assistant", "content": text}
            else:
                d["response"] = text
            d["done"] = True
            d["done_reason"] = "stop"
            if kind == "generate":
                d["context"] = list(range(1, 17))
            if not self.no_usage:
                d.update(metrics)
            return d

        if not stream:
            return Reply(body=dumps(final("".join(toks))))
        events = []
        for t in toks:
            d = {"model": rmodel, "created_at": created}
            if kind == "chat":
                d["message"] = {"role": "assistant", "content": t, "images": None}
            else:
                d["response"] = t
            d["done"] = False
            events.append(dumps(d) + b"\n")
        events.append(dumps(final("")) + b"\n")
        return Reply(ctype="application/x-ndjson", events=events)

    # ---- embeddings -------------------------------------------------------------------------

    def embeddings(self, req):
        model = str(req.get("model") or "text-embedding-3-small")
        inp = self.body_len // 4
        inputs = req.get("input")
        n = len(inputs) if isinstance(inputs, list) and inputs and not isinstance(inputs[0], int) \
            else 1
        self.info.update(request_model=model, response_model=model)
        if not self.no_usage:
            self.info.update(input_tokens=inp)
        seed = int(self.req_id[:8], 16)
        data = []
        for i in range(n):
            vec = [round(((seed >> (j % 24)) % 1000) / 1000.0 - 0.5 + i * 0.001, 6)
                   for j in range(8)]
            data.append({"object": "embedding", "index": i, "embedding": vec})
        resp = {"object": "list", "data": data, "model": model}
        if not self.no_usage:
            resp["usage"] = {"prompt_tokens": inp, "total_tokens": inp}
        return Reply(body=dumps(resp), headers=openai_headers())

    # ---- tools ------------------------------------------------------------------------------

    def tool(self, method, path, body):
        if path == "/tool/search":
            q = self.query.get("q", [""])[0]
            results = [{"title": "Result %d" % (i + 1), "url": "https://example.com/doc/%d" % (i + 1),
                        "snippet": " ".join(WORDS[i * 5:i * 5 + 8])} for i in range(3)]
            return Reply(body=dumps({"results": results, "count": len(results),
                                     "query_chars": len(q)}))
        if path == "/tool/weather":
            return Reply(body=dumps({"location": "Zurich", "temperature_c": 12.5,
                                     "conditions": "partly cloudy", "humidity": 0.61}))
        if path == "/tool/echo-size":
            return Reply(body=dumps({"received_bytes": self.body_len}))
        return self.error_reply(404, "no such tool", path)


class BadRequest(Exception):
    pass


def dumps(obj, pretty=False):
    if pretty:
        return json.dumps(obj, indent=2).encode()
    return json.dumps(obj, separators=(",", ":")).encode()


def sse(event, data):
    payload = dumps(data)
    if event:
        return b"event: " + event.encode() + b"\ndata: " + payload + b"\n\n"
    return b"data: " + payload + b"\n\n"


def openai_headers():
    return [("openai-organization", "user-mock"), ("openai-processing-ms", "42"),
            ("openai-version", "2020-10-01")]


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    ssl_ctx = None

    def finish_request(self, request, client_address):
        if self.ssl_ctx is None:
            return super().finish_request(request, client_address)
        request.settimeout(30)
        try:
            tls = self.ssl_ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        # a client vanishing mid-response is normal for a test server; stay quiet
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, ssl.SSLError, TimeoutError, socket.timeout)):
            return
        super().handle_error(request, client_address)


def main():
    global LOG_FILE
    ap = argparse.ArgumentParser(description="mock LLM provider / tool server for agentprof tests")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("--ready-file")
    ap.add_argument("--log")
    args = ap.parse_args()

    if args.log:
        LOG_FILE = open(args.log, "a", encoding="utf-8")
    srv = Server((args.host, args.port), Handler)
    if args.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls[0], args.tls[1])
        ctx.set_alpn_protocols(["http/1.1"])
        srv.ssl_ctx = ctx
    port = srv.server_address[1]

    def stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.ready_file:
        tmp = args.ready_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, args.ready_file)
    else:
        print("mock provider listening on %s:%d%s" % (args.host, port,
                                                     " (TLS)" if args.tls else ""), flush=True)
    try:
        srv.serve_forever(poll_interval=0.2)
    except SystemExit:
        pass
    finally:
        srv.server_close()
        if LOG_FILE:
            LOG_FILE.close()


if __name__ == "__main__":
    main()
