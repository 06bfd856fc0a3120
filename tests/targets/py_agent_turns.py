#!/usr/bin/python3
"""py_agent_turns.py HOST PORT CA: agent-sized turns with Debian's requests over TLS.

A 200 KiB conversation (tool calls whose arguments are JSON inside JSON strings: escaped quotes,
backslash runs, brackets and braces inside strings, non-ASCII) sent as an agent loop sends it,
the conversation first and "model" after it:
  1. POST /v1/chat/completions    the turn A
  2. POST /v1/chat/completions    A again, byte for byte (a repeat)
  3. POST /v1/chat/completions    A with one character changed deep in the conversation (B)
  4. POST /v1/chat/completions    A uploaded chunked (the same body: a repeat of 1 and 2)
  5. POST /v1/chat/completions    A's conversation with "stream": true after it (SSE)
Prints one line per call: the status and the model the response named.
"""
import json
import ssl
import sys

import requests


def conversation(change=False):
    msgs = [{"role": "system", "content": "You are a coding agent. Use the tools."}]
    i = 0
    while len(json.dumps(msgs)) < 200 * 1024:
        args = {"command": "grep -n \"def \\\\w\\+(\" src/*.py | head", "cwd": "/repo/{x}[y]",
                "note": "quote \" and backslash \\ and ünïcödé ✓"}
        out = "src/a.py:%d: def f%d(x):\n\treturn {\"k\": [x, \"]}\"]}\n" % (i, i)
        if change and i == 150:
            out = out.replace("return", "retURN")
        msgs.append({"role": "assistant", "content": None,
                     "tool_calls": [{"id": "call_%d" % i, "type": "function",
                                     "function": {"name": "bash", "arguments": json.dumps(args)}}]})
        msgs.append({"role": "tool", "tool_call_id": "call_%d" % i, "content": out})
        i += 1
    msgs.append({"role": "user", "content": "Which functions return a dict?"})
    return msgs


def main():
    host, port, ca = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    url = "https://%s:%d/v1/chat/completions" % (host, port)
    s = requests.Session()
    hdr = {"Content-Type": "application/json", "Authorization": "Bearer sk-agent-turns"}
    tools = [{"type": "function", "function": {"name": "bash", "parameters": {"type": "object"}}}]
    body_a = json.dumps({"messages": conversation(), "tools": tools, "model": "gpt-4o"}).encode()
    body_b = json.dumps({"messages": conversation(True), "tools": tools, "model": "gpt-4o"}).encode()
    assert len(body_a) == len(body_b) and body_a != body_b
    body_s = json.dumps({"messages": conversation(), "tools": tools, "model": "gpt-4o",
                         "stream": True, "stream_options": {"include_usage": True}}).encode()

    def chunks(b):
        for k in range(0, len(b), 7001):
            yield b[k:k + 7001]

    for body in (body_a, body_a, body_b, chunks(body_a)):
        r = s.post(url, data=body, headers=hdr, timeout=60, verify=ca)
        print(r.status_code, r.json()["model"])
    r = s.post(url, data=body_s, headers=hdr, timeout=60, stream=True, verify=ca)
    events = [l for l in r.iter_lines() if l.startswith(b"data: ")]
    print(r.status_code, "stream", len(events) > 2, events[-1] == b"data: [DONE]")


if __name__ == "__main__":
    main()
