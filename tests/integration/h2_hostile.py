#!/usr/bin/python3
"""h2_hostile.py: a hostile HTTP/2 server for t87 (stdlib + Debian's python3-hpack).

Usage: h2_hostile.py --ready-file F [--tls CERT KEY]
Listens on 127.0.0.1 (OS-chosen port written to F). The request path picks the misbehaviour;
the server reads the client preface and its first HEADERS, answers as below, then closes.

  /oversized    HEADERS without END_HEADERS and 300 KiB of CONTINUATION frames (one huge
                literal header value), never finished
  /badlen       SETTINGS whose length is not a multiple of 6, then a PING of 3 bytes
  /reuse        a valid 200 on stream 1, then HEADERS and DATA on stream 1 again, DATA on an
                unopened stream 99, a push on an even stream, then GOAWAY
  /huge         a DATA frame header claiming 16 MiB of payload, then 100 bytes and close
  /padding      a padded DATA frame whose pad length exceeds the frame
  /garbage      random bytes after the server preface
  /ok           a valid JSON 200 (control)
"""
import argparse
import os
import random
import socket
import ssl
import struct
import threading

import hpack


def frame(ftype, flags, sid, payload=b""):
    n = len(payload)
    return struct.pack(">BHBBI", n >> 16, n & 0xFFFF, ftype, flags, sid & 0x7FFFFFFF) + payload


def read_exact(conn, n):
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def read_request(conn):
    """Consume the preface and frames until the first request ends (END_STREAM); return :path."""
    read_exact(conn, 24)
    dec = hpack.Decoder()
    block, sid, path = b"", 0, None
    while True:
        hdr = read_exact(conn, 9)
        n = hdr[0] << 16 | hdr[1] << 8 | hdr[2]
        ftype, flags = hdr[3], hdr[4]
        payload = read_exact(conn, n)
        if ftype in (1, 9):
            if ftype == 1:
                sid = struct.unpack(">I", hdr[5:9])[0] & 0x7FFFFFFF
                pad = payload[0] if flags & 0x08 else 0
                start = (1 if flags & 0x08 else 0) + (5 if flags & 0x20 else 0)
                payload = payload[start : len(payload) - pad]
            block += payload
            if flags & 0x04:
                headers = dict((k if isinstance(k, str) else k.decode(),
                                v if isinstance(v, str) else v.decode()) for k, v in dec.decode(block))
                path = headers.get(":path", "/")
        if path is not None and ftype in (0, 1) and flags & 0x01:
            return path, sid


def serve(conn):
    try:
        path, sid = read_request(conn)
        enc = hpack.Encoder()
        out = frame(4, 0, 0) + frame(4, 1, 0)  # SETTINGS, ACK of the client's
        ok_hdr = enc.encode([(":status", "200"), ("content-type", "application/json")])
        if path.startswith("/oversized"):
            out += frame(1, 0, sid, enc.encode([(":status", "200")]))
            big = b"\x00\x01x" + b"\x7f\xff\xff\x7f" + b"v" * (300 * 1024)  # literal, huge value
            for off in range(0, len(big), 16384):
                out += frame(9, 0, sid, big[off : off + 16384])
        elif path.startswith("/badlen"):
            out += b"\x00\x00\x07\x04\x00\x00\x00\x00\x00" + b"\x00" * 7
            out += frame(6, 0, 0, b"abc")
        elif path.startswith("/reuse"):
            out += frame(1, 4, sid, ok_hdr) + frame(0, 1, sid, b"{}")
            out += frame(1, 4, sid, enc.encode([(":status", "200")])) + frame(0, 1, sid, b"again")
            out += frame(0, 1, 99, b"nobody asked")
            out += frame(1, 5, 2, enc.encode([(":status", "200")]))
            out += frame(7, 0, 0, struct.pack(">II", sid, 0))
        elif path.startswith("/huge"):
            out += frame(1, 4, sid, ok_hdr)
            out += b"\xff\xff\xff\x00\x00" + struct.pack(">I", sid) + b"z" * 100
        elif path.startswith("/padding"):
            out += frame(1, 4, sid, ok_hdr) + frame(0, 0x08 | 1, sid, b"\xf0abc")
        elif path.startswith("/garbage"):
            rnd = random.Random(87)
            out += bytes(rnd.randrange(256) for _ in range(4096))
        else:
            out += frame(1, 4, sid, ok_hdr) + frame(0, 1, sid, b'{"ok":true}')
        conn.sendall(out)
        conn.shutdown(socket.SHUT_WR)
        try:
            while conn.recv(65536):
                pass
        except OSError:
            pass
    except (EOFError, OSError, ValueError, hpack.HPACKError):
        pass
    finally:
        conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ready-file", required=True)
    ap.add_argument("--tls", nargs=2)
    a = ap.parse_args()
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    ctx = None
    if a.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.tls[0], a.tls[1])
        ctx.set_alpn_protocols(["h2"])
    tmp = a.ready_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(s.getsockname()[1]))
    os.rename(tmp, a.ready_file)
    while True:
        c, _ = s.accept()
        if ctx:
            try:
                c = ctx.wrap_socket(c, server_side=True)
            except (ssl.SSLError, OSError):
                c.close()
                continue
        threading.Thread(target=serve, args=(c,), daemon=True).start()


if __name__ == "__main__":
    main()
