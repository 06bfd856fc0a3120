#!/bin/bash
# t86_h2_httpx: Debian's httpx with http2=True (python3-h2) through nginx over TLS (ALPN h2),
# sync and async, under the preload. Each request is one exchange with its own path, model,
# tokens, stream flag, SSE events and time to first byte; concurrent requests multiplexed on one
# connection (asyncio.gather) stay separate exchanges.
#   sync:  chat (delay 150), streamed chat (ttfb 100, 10 ms per event), anthropic messages
#   async: four chats gathered at once (delays 300, 60, 180, 120) + a streamed messages call
#   Node's http2 module over h2c (its TLS is a static OpenSSL): two concurrent streams
#   fork: a child opens its own h2 connection while the parent keeps using its own
. "$(dirname "$0")/lib.sh"

mock_up || { fail "mock" "cannot start the mock provider"; finish; }
nginx_h2_up || { fail "nginx" "cannot start nginx with http2 (nginx-light)"; finish; }
"$PY" -c 'import httpx, h2' 2>/dev/null || { fail "python3-httpx + python3-h2" "not importable by $PY"; finish; }

cat >"$W/client.py" <"$AP_ROOT/tests/integration/checkers/t86_h2_httpx.py"

run_both "$W/py" "$W/prof" "$PY" "$W/client.py"
eq "client exit status" "$(cat "$W/py.bare.rc")" 0
grep -q '^sync HTTP/2 200 /v1/chat/completions' "$W/py.bare.out" && ok "httpx negotiated HTTP/2" || fail "httpx negotiated HTTP/2" "$(head -3 "$W/py.bare.out" "$W/py.bare.err")"
require_preload httpx || finish
mock_mark
run_prof "$W/prof2" "$W/py2" "$PY" "$W/client.py"
mock_since "$W/mock.jsonl"
same_file "second run output unchanged" "$W/py.bare.out" "$W/py2.out"
profile_and_export httpx "$W/prof2" "$W/prof.jsonl" || finish

check_py "$W/prof.jsonl" "$W/mock.jsonl" <<'PY'
H2 = int(os.environ["H2_PORT"])
eq("mock saw 8 requests", len(M), 8)
check_schema(X)
eq("one exchange per request", len(X), len(M))
match_mock(X, M, "httpx h2", host="localhost", port=H2, tls=True, visibility="plaintext")
conns = sorted({x["conn"] for x in X})
eq("two connections (sync client, async client)", len(conns), 2)
par = [x for x in X if (x.get("request_model") or "").startswith("gpt-4o-mini-c")]
eq("four concurrent chats", len(par), 4)
check("concurrent chats share one connection", len({x["conn"] for x in par}) == 1)
check("concurrent chats overlap in time", all(overlap(a, b) for a in par for b in par if a is not b))
for m in [r for r in M if (r.get("request_model") or "").startswith("gpt-4o-mini-c")]:
    cand = [x for x in par if x.get("input_tokens") == m["input_tokens"]]
    check(f"concurrent chat with {m['input_tokens']} input tokens: own ttfb >= {m['delay_ms']} ms",
          len(cand) == 1 and (cand[0]["first_byte_ns"] - cand[0]["start_ns"]) / 1e6 >= m["delay_ms"] - FB_SLACK_MS,
          repr([(c["first_byte_ns"] - c["start_ns"]) / 1e6 for c in cand]))
streams = [x for x in X if x.get("stream")]
eq("two streamed exchanges", len(streams), 2)
for x in streams:
    m = [r for r in M if r["stream"] and r["path"] == x["path"]][0]
    want = m["events"] - (1 if x["path"] == "/v1/chat/completions" else 0)
    eq(f"{x['path']} stream events", x.get("events"), want)
check("no secret in any exchange", "SECRET_CANARY" not in json.dumps(A))
PY

# Node's http2 client, two concurrent streams on one h2c connection
cat >"$W/node.js" <<'JS'
const http2 = require('http2');
const c = http2.connect(process.argv[2]);
let left = 2;
for (const [d, m] of [[200, 'gpt-4o'], [50, 'gpt-4o-mini']]) {
  const r = c.request({':method': 'POST', ':path': '/v1/chat/completions',
                       'content-type': 'application/json', 'x-mock-delay-ms': String(d)});
  let body = '';
  r.on('data', (x) => body += x);
  r.on('end', () => {
    console.log(m, JSON.parse(body).usage.completion_tokens);
    if (--left === 0) c.close();
  });
  r.end(JSON.stringify({model: m, messages: [{role: 'user', content: 'node over h2c'}]}));
}
JS
if [ -x "$NODE" ]; then
	run_bare "$W/node.bare" "$NODE" "$W/node.js" "$H2CURL"
	mock_mark
	run_prof "$W/prof3" "$W/node.prof" "$NODE" "$W/node.js" "$H2CURL"
	mock_since "$W/mock3.jsonl"
	eq "node: exit status unchanged" "$(cat "$W/node.prof.rc")" "$(cat "$W/node.bare.rc")"
	eq "node: output (order of completion) unchanged" "$(sort "$W/node.prof.out" | tr '\n' ' ')" "$(sort "$W/node.bare.out" | tr '\n' ' ')"
	profile_and_export node "$W/prof3" "$W/prof3.jsonl"
	check_py "$W/prof3.jsonl" "$W/mock3.jsonl" <<'PY'
eq("node: two streams, two exchanges", len(X), len(M))
match_mock(X, M, "node h2c", host="127.0.0.1", port=int(os.environ["H2C_PORT"]), tls=False, visibility="plaintext")
check("node: both streams on one connection, overlapping", len(X) == 2 and X[0]["conn"] == X[1]["conn"] and overlap(X[0], X[1]))
PY
else
	fail "node" "no node binary ($NODE)"
fi

# fork with an HTTP/2 connection open: the child starts clean, the parent goes on
cat >"$W/fork.py" <<'PYC'
import os, httpx
base, ca = os.environ["H2URL"], os.environ["AP_CA"]
with httpx.Client(http2=True, verify=ca, timeout=30) as c:
    print("parent1", c.get(base + "/tool/weather?city=parent1").status_code, flush=True)
    pid = os.fork()
    if pid == 0:
        with httpx.Client(http2=True, verify=ca, timeout=30) as c2:
            print("child", c2.get(base + "/tool/weather?city=child").status_code, flush=True)
        os._exit(0)
    _, st = os.waitpid(pid, 0)
    print("child exit", os.waitstatus_to_exitcode(st))
    print("parent2", c.get(base + "/tool/weather?city=parent2").status_code)
PYC
run_both "$W/fork" "$W/prof4" "$PY" "$W/fork.py"
profile_and_export fork "$W/prof4" "$W/prof4.jsonl"
check_py "$W/prof4.jsonl" <<'PY'
eq("fork: two processes", len(P), 2)
parent = [p for p in P if p.get("ppid") not in [q["pid"] for q in P]]
kids = [p for p in P if p not in parent]
got = {}
for x in X:
    got.setdefault(x["pid"], []).append(x["path"])
eq("fork: the parent's two requests on its connection", got.get(parent[0]["pid"]) if parent else None,
   ["/tool/weather?city=parent1", "/tool/weather?city=parent2"])
eq("fork: the child's request on its own connection", got.get(kids[0]["pid"]) if kids else None,
   ["/tool/weather?city=child"])
pc = [x for x in X if parent and x["pid"] == parent[0]["pid"]]
check("fork: the parent's requests share one connection", len(pc) == 2 and pc[0]["conn"] == pc[1]["conn"])
PY
finish
