#!/usr/bin/python3
"""h2_grpc_server.py: a gRPC server (Debian's python3-grpcio) speaking the Gemini and Vertex
GenerateContent methods with hand-encoded protobuf, for t88.

Usage: h2_grpc_server.py --ready-file F [--tls CERT KEY]
Methods (raw bytes in and out; field numbers as in googleapis):
  /google.ai.generativelanguage.v1beta.GenerativeService/GenerateContent        unary
  /google.ai.generativelanguage.v1beta.GenerativeService/StreamGenerateContent  3 messages
  /google.cloud.aiplatform.v1.PredictionService/GenerateContent                 unary (Vertex)
Invocation metadata x-mock-delay-ms delays the first response message; a request model that
ends in "missing" gets NOT_FOUND (grpc-status 5). Usage: prompt = request bytes // 4, output 11
(stream: 4, 8, 11 cumulative); modelVersion = model + "-001" (Gemini only).
"""
import argparse
import os
import time
from concurrent import futures

import grpc


def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def field_bytes(num, data):
    return varint(num << 3 | 2) + varint(len(data)) + data


def field_int(num, v):
    return varint(num << 3) + varint(v)


def read_string(buf, want):
    i = 0
    while i < len(buf):
        tag, shift = 0, 0
        while True:
            b = buf[i]; i += 1
            tag |= (b & 0x7F) << shift; shift += 7
            if not b & 0x80:
                break
        f, wt = tag >> 3, tag & 7
        if wt == 0:
            while buf[i] & 0x80:
                i += 1
            i += 1
        elif wt == 2:
            n, shift = 0, 0
            while True:
                b = buf[i]; i += 1
                n |= (b & 0x7F) << shift; shift += 7
                if not b & 0x80:
                    break
            if f == want:
                return buf[i:i + n].decode()
            i += n
        elif wt == 1:
            i += 8
        elif wt == 5:
            i += 4
    return ""


def response(vertex, prompt, out, model):
    usage = field_int(1, prompt) + field_int(2, out) + field_int(3, prompt + out)
    cand = field_bytes(1, field_bytes(2, field_bytes(2, b"hello from grpc")))
    if vertex:
        return field_bytes(2, cand) + field_bytes(4, usage)
    return field_bytes(1, cand) + field_bytes(3, usage) + field_bytes(4, (model + "-001").encode())


def delay(ctx):
    md = dict(ctx.invocation_metadata())
    time.sleep(int(md.get("x-mock-delay-ms", "0")) / 1000.0)


def model_of(req, vertex):
    m = read_string(req, 5 if vertex else 1)
    return m.rsplit("models/", 1)[-1]


def unary(vertex):
    def fn(req, ctx):
        model = model_of(req, vertex)
        delay(ctx)
        if model.endswith("missing"):
            ctx.abort(grpc.StatusCode.NOT_FOUND, "model not found")
        return response(vertex, len(req) // 4, 11, model)
    return fn


def streaming(req, ctx):
    model = model_of(req, False)
    delay(ctx)
    for out in (4, 8, 11):
        yield response(False, len(req) // 4, out, model)
        time.sleep(0.02)


class Handler(grpc.GenericRpcHandler):
    def service(self, details):
        m = details.method
        if m == "/google.ai.generativelanguage.v1beta.GenerativeService/GenerateContent":
            return grpc.unary_unary_rpc_method_handler(unary(False))
        if m == "/google.ai.generativelanguage.v1beta.GenerativeService/StreamGenerateContent":
            return grpc.unary_stream_rpc_method_handler(streaming)
        if m == "/google.cloud.aiplatform.v1.PredictionService/GenerateContent":
            return grpc.unary_unary_rpc_method_handler(unary(True))
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ready-file", required=True)
    a = ap.parse_args()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8), handlers=[Handler()])
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    tmp = a.ready_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(port))
    os.rename(tmp, a.ready_file)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
