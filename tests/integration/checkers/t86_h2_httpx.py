# t86_h2_httpx.py: checks of tests/integration/t86_h2_httpx.sh, fed on stdin there.
import asyncio, json, os, sys
import httpx

base = os.environ["H2URL"]
ca = os.environ["AP_CA"]
H = {"authorization": "Bearer SECRET_CANARY_t86"}

def summary(r):
    try:
        u = r.json().get("usage", {})
    except ValueError:
        u = {}
    return f"{r.http_version} {r.status_code} {r.request.url.path} {sorted(u.items()) if isinstance(u, dict) else u}"

def sync_part():
    with httpx.Client(http2=True, verify=ca, timeout=30) as c:
        r = c.post(base + "/v1/chat/completions", headers={**H, "x-mock-delay-ms": "150"},
                   json={"model": "gpt-4o", "messages": [{"role": "user", "content": "sync h2"}]})
        print("sync", summary(r))
        with c.stream("POST", base + "/v1/chat/completions",
                      headers={**H, "x-mock-ttfb-ms": "100", "x-mock-chunk-ms": "10"},
                      json={"model": "gpt-4o-mini", "stream": True,
                            "stream_options": {"include_usage": True},
                            "messages": [{"role": "user", "content": "stream h2"}]}) as s:
            n = sum(1 for line in s.iter_lines() if line.startswith("data:"))
            print("sync stream", s.http_version, s.status_code, n)
        r = c.post(base + "/v1/messages", headers={**H, "anthropic-version": "2023-06-01"},
                   json={"model": "claude-sonnet-4-5", "max_tokens": 32,
                         "messages": [{"role": "user", "content": "sync messages"}]})
        print("sync", summary(r))

async def async_part():
    async with httpx.AsyncClient(http2=True, verify=ca, timeout=30) as c:
        async def chat(delay, i):
            r = await c.post(base + "/v1/chat/completions",
                             headers={**H, "x-mock-delay-ms": str(delay)},
                             json={"model": f"gpt-4o-mini-c{i}", "messages": [
                                 {"role": "user", "content": "concurrent " + "x" * (i * 8)}]})
            return "async " + summary(r)
        async def stream():
            async with c.stream("POST", base + "/v1/messages",
                                headers={**H, "anthropic-version": "2023-06-01",
                                         "x-mock-ttfb-ms": "80", "x-mock-chunk-ms": "5"},
                                json={"model": "claude-sonnet-4-5", "max_tokens": 32,
                                      "stream": True,
                                      "messages": [{"role": "user", "content": "async stream"}]}) as s:
                n = 0
                async for line in s.aiter_lines():
                    n += line.startswith("data:")
                return f"async stream {s.http_version} {s.status_code} {n}"
        out = await asyncio.gather(chat(300, 1), chat(60, 2), chat(180, 3), chat(120, 4), stream())
        for line in out:
            print(line)

sync_part()
asyncio.run(async_part())
