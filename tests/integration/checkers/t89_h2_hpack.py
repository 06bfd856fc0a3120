# t89_h2_hpack.py: checks of tests/integration/t89_h2_hpack.sh, fed on stdin there.
check_schema(X)
py = [x for x in X if P and x["pid"] == min(p["pid"] for p in P)]
byproc = {}
for x in X:
    byproc.setdefault(x["pid"], []).append(x)
procs = sorted(byproc.values(), key=lambda xs: min(x["start_ns"] for x in xs))
eq("two processes with exchanges", len(procs), 2)
hx, cu = procs
eq("httpx: 80 exchanges", len(hx), 80)
eq("httpx: one connection", len({x["conn"] for x in hx}), 1)
bad = []
for i, x in enumerate(hx):
    want = "/v1/chat/completions" if i % 4 == 0 else f"/tool/weather?city=c{i % 7}"
    if x["path"] != want or x["status"] != 200 or x["host"] != "localhost":
        bad.append((i, x["path"], x["status"], x["host"]))
    if i % 4 == 0 and (x["request_model"] != f"gpt-4o-{i % 3}" or x["input_tokens"] is None):
        bad.append((i, x["request_model"], x["input_tokens"]))
eq("httpx: every path, status, model decoded through the dynamic table", bad, [])
eq("curl: 40 exchanges", len(cu), 40)
eq("curl: one connection", len({x["conn"] for x in cu}), 1)
eq("curl: every path decoded", [x["path"] for x in cu], [f"/tool/search?q=k{i % 6}" for i in range(40)])
# header blocks that refer to the dynamic table are smaller than the first one (by a quarter or more)
for name, xs in (("httpx", [x for x in hx if x["method"] == "GET"]), ("curl", cu)):
    later = sorted(x["bytes_sent"] for x in xs[10:])
    check(f"{name}: later requests are indexed (bytes sent {xs[0]['bytes_sent']} first, {later[len(later) // 2]} median later)",
          later and later[len(later) // 2] * 4 < xs[0]["bytes_sent"] * 3)
eq("no drops in either process", [p.get("dropped_records") for p in P], [0, 0])
check("no secret in any exchange", "SECRET_CANARY" not in json.dumps(A))
