#!/usr/bin/python3
"""A small but realistic research agent, used by `make demo` and the benchmarks.

It does what many agents do, including the usual inefficiency agentprof is meant to find:

  1. plan        one LLM call (OpenAI chat) that splits the topic into three sub-questions
  2. search      an HTTP tool call (GET /tool/search) whose results feed the research
  3. research    THREE SEQUENTIAL LLM CALLS THAT DO NOT DEPEND ON EACH OTHER (each only uses
                 the plan and the sources): they could run concurrently, and
                 `agentprof-view bottlenecks` flags them
  4. weather     a second HTTP tool call (GET /tool/weather)
  5. draft       one streamed LLM call (SSE, stream_options.include_usage)
  6. count       a subprocess tool: sh -c 'printf ... | wc -w'
  7. critique    one Anthropic-style call (POST /v1/messages, x-api-key, prompt caching)
  8. summarise   a final LLM call
plus CPU work between steps (ranking notes, checking the draft: about 0.36 s), which shows
up as "internal" time.

Standard library only; no code in it knows about the profiler. Run it under agentprof:
    build/agentprof run -o out/demo -- /usr/bin/python3 examples/agent.py

Environment:
  AGENT_BASE_URL          provider base URL (default http://127.0.0.1:8787, the mock:
                          /usr/bin/python3 scripts/mock_provider.py --port 8787)
                          https URLs use the system CA store; SSL_CERT_FILE points it at a test CA
  AGENT_API_KEY           bearer token for the OpenAI-style calls (default: a dummy)
  AGENT_ANTHROPIC_KEY     x-api-key for the Anthropic-style call (default: a dummy)
  AGENT_MODEL             OpenAI-style model (default gpt-4o)
  AGENT_CLAUDE_MODEL      Anthropic model (default claude-sonnet-4-5)
  AGENT_SIMULATE_LATENCY  1 (default) asks the mock for realistic latencies through x-mock-*
                          request headers (ignored by real providers); 0 turns that off
Usage: agent.py [TOPIC]
"""
import hashlib
import http.client
import json
import os
import ssl
import subprocess
import sys
import time
import urllib.parse

BASE = os.environ.get("AGENT_BASE_URL", "http://127.0.0.1:8787").rstrip("/")
API_KEY = os.environ.get("AGENT_API_KEY", "sk-demo-not-a-real-key")
ANTHROPIC_KEY = os.environ.get("AGENT_ANTHROPIC_KEY", "sk-ant-demo-not-a-real-key")
MODEL = os.environ.get("AGENT_MODEL", "gpt-4o")
CLAUDE = os.environ.get("AGENT_CLAUDE_MODEL", "claude-sonnet-4-5")
SIMULATE = os.environ.get("AGENT_SIMULATE_LATENCY", "1") != "0"


class Http:
    """One keep-alive connection per agent, like an SDK's connection pool of size one."""

    def __init__(self, base):
        u = urllib.parse.urlsplit(base)
        self.tls = u.scheme == "https"
        self.host = u.hostname or "127.0.0.1"
        self.port = u.port or (443 if self.tls else 80)
        self.prefix = u.path
        self.ctx = ssl.create_default_context() if self.tls else None
        self.conn = None

    def _connect(self):
        if self.tls:
            return http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=60)
        return http.client.HTTPConnection(self.host, self.port, timeout=60)

    def request(self, method, path, body=None, headers=None, stream=False):
        data = json.dumps(body).encode() if body is not None else None
        h = {"User-Agent": "agentprof-example-agent/1.0", "Accept": "application/json"}
        if data is not None:
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = self._connect()
            try:
                self.conn.request(method, self.prefix + path, body=data, headers=h)
                resp = self.conn.getresponse()
                break
            except (ConnectionError, http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        if resp.status >= 400:
            raise RuntimeError("%s %s: HTTP %d %s" % (method, path, resp.status, resp.read()[:200]))
        if stream:
            return resp  # the caller iterates over lines
        return json.loads(resp.read())

    def close(self):
        if self.conn:
            self.conn.close()


def latency(**ms):
    """x-mock-* headers that make the mock behave like a real provider (see mock_provider.py)."""
    if not SIMULATE:
        return {}
    return {"x-mock-" + k.replace("_", "-") + "-ms": str(v) for k, v in ms.items()}


class Agent:
    def __init__(self, topic):
        self.topic = topic
        self.http = Http(BASE)
        self.calls = 0
        self.tokens_in = 0
        self.tokens_out = 0

    def _count(self, usage, inp, out):
        self.calls += 1
        if usage:
            self.tokens_in += usage.get(inp) or 0
            self.tokens_out += usage.get(out) or 0

    def chat(self, system, user, delay_ms, model=None):
        r = self.http.request("POST", "/v1/chat/completions", {
            "model": model or MODEL,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
            "temperature": 0.2,
        }, dict({"Authorization": "Bearer " + API_KEY}, **latency(delay=delay_ms)))
        self._count(r.get("usage"), "prompt_tokens", "completion_tokens")
        return r["choices"][0]["message"]["content"]

    def chat_stream(self, system, user):
        resp = self.http.request("POST", "/v1/chat/completions", {
            "model": MODEL, "stream": True, "stream_options": {"include_usage": True},
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
        }, dict({"Authorization": "Bearer " + API_KEY, "Accept": "text/event-stream"},
                **latency(delay=120, ttfb=250, chunk=15)), stream=True)
        parts, usage = [], None
        for raw in resp:
            line = raw.decode("utf-8").strip()
            if not line.startswith("data:"):
                continue
            payload = line[5:].strip()
            if payload == "[DONE]":
                break
            ev = json.loads(payload)
            if ev.get("usage"):
                usage = ev["usage"]
            for ch in ev.get("choices", []):
                parts.append(ch.get("delta", {}).get("content") or "")
        resp.read()  # drain the terminating chunk so the connection can be reused
        self._count(usage, "prompt_tokens", "completion_tokens")
        return "".join(parts)

    def claude(self, system, user):
        r = self.http.request("POST", "/v1/messages", {
            "model": CLAUDE, "max_tokens": 512,
            "system": [{"type": "text", "text": system, "cache_control": {"type": "ephemeral"}}],
            "messages": [{"role": "user", "content": user}],
        }, dict({"x-api-key": ANTHROPIC_KEY, "anthropic-version": "2023-06-01",
                 "x-mock-cached-tokens": "64"}, **latency(delay=300)))
        self._count(r.get("usage"), "input_tokens", "output_tokens")
        return "".join(b.get("text", "") for b in r.get("content", []))

    def tool(self, path, delay_ms):
        return self.http.request("GET", path, headers=latency(delay=delay_ms))

    @staticmethod
    def think(items, ms):
        """Rank snippets by a (deliberately CPU-bound) score for about `ms` milliseconds: this is
        the agent's own work, which agentprof reports as "internal" time."""
        end = time.monotonic() + ms / 1000.0
        scores = {it: hashlib.sha256(it.encode()).digest() for it in items}
        while time.monotonic() < end:
            for it in items:
                scores[it] = hashlib.sha256(scores[it]).digest()
        return sorted(items, key=lambda it: scores[it], reverse=True)

    def run(self):
        t0 = time.monotonic()
        plan = self.chat("You are a research planner. Reply with three sub-questions.",
                         "Topic: %s" % self.topic, delay_ms=400)
        search = self.tool("/tool/search?" + urllib.parse.urlencode({"q": self.topic}), 120)
        sources = [r["snippet"] for r in search.get("results", [])]
        questions = ["What is %s and who needs it?" % self.topic,
                     "How is %s measured in practice?" % self.topic,
                     "What are the risks and limits of %s?" % self.topic]

        # Three independent calls made one after another (the bottleneck to find): each uses
        # only the plan and the sources, none uses another's answer.
        findings = []
        for q in questions:
            findings.append(self.chat("You are a careful researcher. Plan: %s Sources: %s"
                                      % (plan[:200], " | ".join(sources)), q, delay_ms=350))

        weather = self.tool("/tool/weather?city=Zurich", 80)
        notes = self.think(sources + findings, ms=60)

        draft = self.chat_stream("Write a short report from these notes.",
                                 "\n".join(notes[:5]) + "\nLocal conditions: " +
                                 weather.get("conditions", "?"))
        words = subprocess.run(["sh", "-c", 'printf "%s\\n" "$1" | wc -w', "sh", draft],
                               capture_output=True, text=True, timeout=30).stdout.strip()
        self.think([draft], ms=150)  # check the draft against the notes

        critique = self.claude("You are a strict reviewer. Point out one weakness.", draft)
        self.think([draft, critique], ms=150)  # revise

        final = self.chat("Summarise the report in one sentence.",
                          "Draft: %s\nCritique: %s\nWords: %s" % (draft, critique, words),
                          delay_ms=450)
        self.http.close()
        elapsed = time.monotonic() - t0
        print("research agent: topic %r" % self.topic)
        print("  %d model calls, 2 tool calls, 1 subprocess; tokens in %d, out %d; %.2f s"
              % (self.calls, self.tokens_in, self.tokens_out, elapsed))
        print("  draft has %s words; summary: %s" % (words, final[:100]))
        return 0


def main():
    topic = " ".join(sys.argv[1:]) or "profiling AI agents with LD_PRELOAD"
    try:
        return Agent(topic).run()
    except (OSError, RuntimeError, http.client.HTTPException, ValueError) as e:
        print("agent: cannot reach the model provider at %s: %s" % (BASE, e), file=sys.stderr)
        print("agent: start the mock with: /usr/bin/python3 scripts/mock_provider.py --port 8787",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
