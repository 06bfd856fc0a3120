#!/bin/bash
# t89_h2_hpack: many requests on one HTTP/2 connection, so that the clients' HPACK encoders
# index their headers in the dynamic table and later header blocks refer to it:
#   httpx (python3-h2's encoder), 80 requests: paths and header values that repeat and change
#   curl (nghttp2's encoder), 40 URLs in one invocation (one connection, one stream each)
# Every request is one exchange with its own path, status, model and tokens; the drop counter
# stays at zero.
. "$(dirname "$0")/lib.sh"

mock_up || { fail "mock" "cannot start the mock provider"; finish; }
nginx_h2_up || { fail "nginx" "cannot start nginx with http2 (nginx-light)"; finish; }

cat >"$W/client.py" <<'PYC'
import os, httpx
base, ca = os.environ["H2URL"], os.environ["AP_CA"]
with httpx.Client(http2=True, verify=ca, timeout=30) as c:
    for i in range(80):
        h = {"x-trace": f"run-{i % 5}", "x-static": "same-every-time", "authorization": "Bearer SECRET_CANARY_t89"}
        if i % 4 == 0:
            r = c.post(base + "/v1/chat/completions", headers=h,
                       json={"model": f"gpt-4o-{i % 3}", "messages": [{"role": "user", "content": "n" * i}]})
        else:
            r = c.get(base + f"/tool/weather?city=c{i % 7}", headers=h)
        print(i, r.http_version, r.status_code, r.request.url.path)
PYC
run_both "$W/py" "$W/prof" "$PY" "$W/client.py"
curls=(curl -sS --cacert "$AP_CA")
for i in $(seq 0 39); do
	[ "$i" -gt 0 ] && curls+=(--next --cacert "$AP_CA")
	curls+=(-H "x-trace: t$((i % 3))" -o /dev/null -w '%{http_version} %{http_code}\n' "$H2URL/tool/search?q=k$((i % 6))")
done
run_both "$W/curl" "$W/prof" "${curls[@]}"
eq "curl: 40 responses over HTTP/2" "$(grep -c '^2 200$' "$W/curl.bare.out")" 40
require_preload hpack || finish
profile_and_export hpack "$W/prof" "$W/prof.jsonl" || finish
check_py "$W/prof.jsonl" <"$AP_ROOT/tests/integration/checkers/t89_h2_hpack.py"
finish
