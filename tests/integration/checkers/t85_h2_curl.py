# t85_h2_curl.py: checks of tests/integration/t85_h2_curl.sh, fed on stdin there.
H2 = int(os.environ["H2_PORT"]); H2C = int(os.environ["H2C_PORT"])
eq("mock saw 9 requests", len(M), 9)
check_schema(X)
eq("one exchange per request (no libcurl duplicate)", len(X), len(M))
tls = [x for x in X if x.get("port") == H2]
clear = [x for x in X if x.get("port") == H2C]
eq("8 exchanges over TLS h2, 1 over h2c", (len(tls), len(clear)), (8, 1))
# pair each mock row with its exchange: h2c has delay 120 and the CHAT body
clear_rows = [m for m in M if m.get("delay_ms") == 120 and m["path"] == "/v1/chat/completions"]
tls_rows = [m for m in M if m not in clear_rows]
match_mock(clear, clear_rows, "h2c", host="127.0.0.1", port=H2C, tls=False, visibility="plaintext")
match_mock(tls, tls_rows, "h2 tls", host="localhost", port=H2, tls=True, visibility="plaintext")
streamed_rows = [r for r in M if r["stream"]]  # in arrival order, as the exchanges start
for x in sorted([x for x in X if x.get("stream")], key=lambda x: x["start_ns"]):
    m = [r for r in streamed_rows if r["path"] == x["path"].split("?")[0]][:1]
    if m:
        streamed_rows.remove(m[0])
    if x.get("stream"):
        # the mock counts every data line it sent; "data: [DONE]" (OpenAI) is not an event
        want = m and m[0]["events"] - (1 if x["path"].startswith("/v1/chat") else 0)
        check(f"{x['path']} stream: SSE events counted ({x.get('events')})",
              m and x.get("events") == want, f"got {x.get('events')} want {want}")
        check(f"{x['path']} first event after the mock's ttfb",
              x.get("first_event_ns") and (x["first_event_ns"] - x["start_ns"]) / 1e6 >= m[0]["ttfb_ms"] + m[0]["delay_ms"] - FB_SLACK_MS)
eq("three streamed exchanges", len([x for x in X if x.get("stream")]), 3)
gz = [m for m in M if m.get("gzip")]
eq("the mock gzipped one stream", len(gz), 1)
search = [x for x in tls if path_is(x, "/tool/search")]
seq = [x for x in tls if search and x["pid"] == search[0]["pid"]]
check("--next reuses the h2 connection", len(seq) == 2 and seq[0]["conn"] == seq[1]["conn"] and seq[0]["end_ns"] <= seq[1]["start_ns"], repr([(x["conn"], x["path"]) for x in seq]))
par = sorted([x for x in tls if x.get("request_model") == "gpt-4o-mini" and not x.get("stream")], key=lambda x: x["path"])
eq("parallel: three exchanges", len(par), 3)
check("parallel: multiplexed on one connection", len({x["conn"] for x in par}) == 1, repr([x["conn"] for x in par]))
check("parallel: the three streams overlap in time", len(par) == 3 and overlap(par[0], par[1]) and overlap(par[0], par[2]))
byp = {x["path"]: x for x in par}
for path, delay in (("/v1/chat/completions", 200), ("/v1/completions", 50), ("/v1/embeddings", 120)):
    x = byp.get(path)
    check(f"parallel {path}: its own time to first byte >= {delay} ms",
          x and (x["first_byte_ns"] - x["start_ns"]) / 1e6 >= delay - FB_SLACK_MS,
          repr(x and (x["first_byte_ns"] - x["start_ns"]) / 1e6))
check("no secret in any exchange", "SECRET_CANARY" not in json.dumps(A))
