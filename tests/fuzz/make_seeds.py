"""make_seeds.py OUTDIR [SPANFILE...]: seed corpora for the libFuzzer targets.
reader: real span files and truncations of them; http: request/response exchanges in the
fuzz_http chunk format (tag, len, bytes); usage: provider JSON bodies and SSE events; sni: a
real ClientHello made by Python's ssl module (memory BIOs, no network) and truncations."""
import os, ssl, sys

out = sys.argv[1]
for t in ("reader", "http", "usage", "sni"):
    os.makedirs(os.path.join(out, t), exist_ok=True)


def put(t, name, data):
    with open(os.path.join(out, t, name), "wb") as f:
        f.write(data)


for i, path in enumerate(sys.argv[2:8]):
    data = open(path, "rb").read()
    put("reader", f"file{i}", data)
    for k, cut in enumerate((24, len(data) // 3, len(data) // 2, len(data) - 1)):
        put("reader", f"file{i}_cut{k}", data[:cut])


def chunks(parts):
    b = b""
    for tag, data in parts:
        for o in range(0, len(data), 255):
            piece = data[o:o + 255]
            b += bytes([tag, len(piece)]) + piece
    return b


req = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\nAuthorization: Bearer x\r\n"
       b"Content-Type: application/json\r\nContent-Length: 44\r\n\r\n"
       b'{"model":"gpt-4o","messages":[],"stream":1}\n')
resp = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 96\r\n\r\n"
        b'{"model":"gpt-4o-2024","usage":{"prompt_tokens":11,"completion_tokens":12,"total_tokens":23}}   ')
sse = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
       b"2a\r\ndata: {\"choices\":[{\"delta\":{\"x\":1}}]}\n\n\r\n"
       b"10\r\ndata: [DONE]\n\n\r\n0\r\n\r\n")
put("http", "json", chunks([(0, req), (1, resp)]))
put("http", "sse", chunks([(0, req), (1, sse), (2, b"")]))
put("http", "pipelined", chunks([(0, req + req), (1, resp), (1, resp), (4, b""), (0, req)]))
put("usage", "openai", b'{"model":"gpt-4o","usage":{"prompt_tokens":5,"completion_tokens":7,'
    b'"prompt_tokens_details":{"cached_tokens":2},"completion_tokens_details":{"reasoning_tokens":1}}}')
put("usage", "anthropic", b'{"type":"message_delta","usage":{"input_tokens":3,"output_tokens":9,'
    b'"cache_read_input_tokens":4,"cache_creation_input_tokens":0}}')
put("usage", "gemini", b'{"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":4,'
    b'"thoughtsTokenCount":1},"modelVersion":"gemini-2.0"}')
put("usage", "ollama", b'{"model":"llama3.2","done":true,"prompt_eval_count":6,"eval_count":8,'
    b'"total_duration":100}')
ctx = ssl.create_default_context()
inc, outb = ssl.MemoryBIO(), ssl.MemoryBIO()
obj = ctx.wrap_bio(inc, outb, server_hostname="api.openai.com")
try:
    obj.do_handshake()
except ssl.SSLWantReadError:
    pass
hello = outb.read()
put("sni", "clienthello", hello)
for k, cut in enumerate((5, 40, len(hello) // 2, len(hello) - 1)):
    put("sni", f"cut{k}", hello[:cut])
