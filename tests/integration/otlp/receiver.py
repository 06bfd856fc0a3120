#!/usr/bin/python3
"""receiver.py: an OTLP/HTTP receiver on loopback for the export tests (t97, t98).

receiver.py OUTDIR [--limit BYTES] [--busy-once] [--reject-all]
Writes OUTDIR/port when listening. Every POST is logged to OUTDIR/requests.jsonl (path, headers,
sizes, status given); accepted bodies (gunzipped) go to OUTDIR/body-NNNNN.json.
  --limit BYTES   answer 413 with a chunked plain-text body when the request body on the wire or
                  after gunzip is larger (default 4 MiB, like a collector's max_request_body_size)
  --busy-once     answer the second request with 429 and Retry-After: 1 (once)
  --busy-503      answer every fifth request with 503 and no Retry-After
"""
import gzip
import http.server
import json
import os
import sys
import threading
import time

out = sys.argv[1]
args = sys.argv[2:]
limit = 4 << 20
if "--limit" in args:
    limit = int(args[args.index("--limit") + 1])
busy_once = "--busy-once" in args
busy_503 = "--busy-503" in args
lock = threading.Lock()
state = {"n": 0, "bodies": 0, "busy_done": False}


def log(rec):
    with open(os.path.join(out, "requests.jsonl"), "a") as f:
        f.write(json.dumps(rec) + "\n")


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def reply(self, code, body, ctype="application/json", chunked=False, extra=()):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        for k, v in extra:
            self.send_header(k, v)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if chunked:
            for i in range(0, len(body), 7):  # small chunks: the client must de-chunk
                part = body[i:i + 7]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.wfile.write(body)
        self.close_connection = True

    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        raw = self.rfile.read(n)
        with lock:
            state["n"] += 1
            seq = state["n"]
        rec = {"seq": seq, "t": time.time(), "path": self.path, "wire": len(raw),
               "ctype": self.headers.get("Content-Type"), "cenc": self.headers.get("Content-Encoding"),
               "auth": self.headers.get("Authorization"), "tenant": self.headers.get("X-Tenant")}
        if busy_once and seq == 2 and not state["busy_done"]:
            state["busy_done"] = True
            rec["status"] = 429
            log(rec)
            return self.reply(429, b'{"code":8,"message":"busy"}', extra=[("Retry-After", "1")])
        if busy_503 and seq % 5 == 0:
            rec["status"] = 503
            log(rec)
            return self.reply(503, b"unavailable", ctype="text/plain")
        if len(raw) > limit:
            rec["status"] = 413
            log(rec)
            return self.reply(413, b"request body too large: %d bytes, limit %d" % (len(raw), limit),
                              ctype="text/plain", chunked=True)
        body = gzip.decompress(raw) if rec["cenc"] == "gzip" else raw
        rec["size"] = len(body)
        if len(body) > limit:
            rec["status"] = 413
            log(rec)
            return self.reply(413, b"decompressed body too large: %d bytes" % len(body),
                              ctype="text/plain", chunked=True)
        with lock:
            state["bodies"] += 1
            name = "body-%05d.json" % state["bodies"]
        with open(os.path.join(out, name), "wb") as f:
            f.write(body)
        rec["status"] = 200
        rec["file"] = name
        log(rec)
        self.reply(200, b'{"partialSuccess":{}}')

    def log_message(self, *a):
        pass


s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(os.path.join(out, "port.tmp"), "w") as f:
    f.write(str(s.server_address[1]))
os.rename(os.path.join(out, "port.tmp"), os.path.join(out, "port"))
s.serve_forever()
