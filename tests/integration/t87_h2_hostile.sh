#!/bin/bash
# t87_h2_hostile: a hostile HTTP/2 server (tests/integration/h2_hostile.py: oversized header
# blocks, bad frame lengths, stream-id reuse, a 16 MiB frame header, padding beyond the frame,
# garbage) over h2c and over TLS with ALPN h2. curl and httpx behave exactly as without the
# preload (stdout, stderr, exit status), the preload does not crash, every process still writes
# its span file, and what was well-formed is still recorded.
# Without libnghttp2 (hidden by a bind mount in a private mount namespace): the same client
# output, HTTP/2 timed per connection only, and a diagnostic that says why.
. "$(dirname "$0")/lib.sh"

ensure_certs || { fail "certs" "cannot make certificates"; finish; }
start_hostile() { # NAME [--tls CERT KEY]
	local name=$1 rf=$W/$1.ready i
	shift
	"$PY" "$AP_ROOT/tests/integration/h2_hostile.py" --ready-file "$rf" "$@" 2>"$W/$name.stderr" &
	_AP_PIDS="$_AP_PIDS $!"
	for i in $(seq 1 50); do [ -s "$rf" ] && break; sleep 0.1; done
	[ -s "$rf" ] || return 1
	printf -v "${name}_PORT" '%s' "$(cat "$rf")"
}
start_hostile HC || { fail "hostile server" "$(cat "$W/HC.stderr")"; finish; }
start_hostile HT --tls "$AP_CERT" "$AP_KEY" || { fail "hostile TLS server" "$(cat "$W/HT.stderr")"; finish; }
MODES="ok oversized badlen reuse huge padding garbage"

n=0
for mode in $MODES; do
	for tr in h2c tls; do
		n=$((n + 1))
		if [ "$tr" = h2c ]; then
			cmd=(curl -sS --max-time 10 --http2-prior-knowledge -H 'content-type: application/json' -d '{"model":"gpt-4o"}' "http://127.0.0.1:$HC_PORT/$mode")
		else
			cmd=(curl -sS --max-time 10 --cacert "$AP_CA" -H 'content-type: application/json' -d '{"model":"gpt-4o"}' "https://localhost:$HT_PORT/$mode")
		fi
		run_bare "$W/bare.$mode.$tr" "${cmd[@]}"
		have_preload || continue
		run_prof "$W/prof" "$W/prof.$mode.$tr" "${cmd[@]}"
		eq "curl $tr /$mode: exit status unchanged ($(cat "$W/bare.$mode.$tr.rc"))" "$(cat "$W/prof.$mode.$tr.rc")" "$(cat "$W/bare.$mode.$tr.rc")"
		same_file "curl $tr /$mode: stdout unchanged" "$W/bare.$mode.$tr.out" "$W/prof.$mode.$tr.out"
		same_file "curl $tr /$mode: stderr unchanged" "$W/bare.$mode.$tr.err" "$W/prof.$mode.$tr.err"
	done
done
eq "the control request works" "$(cat "$W/bare.ok.tls.out")" '{"ok":true}'
check "the hostile modes make curl fail (they are hostile)" test "$(cat "$W/bare.badlen.tls.rc")" != 0

cat >"$W/client.py" <<'PYC'
import os, sys
import httpx
port = os.environ["HT_PORT"]
for mode in ("ok", "reuse", "oversized", "badlen", "garbage"):
    try:
        with httpx.Client(http2=True, verify=os.environ["AP_CA"], timeout=10) as c:
            r = c.post(f"https://localhost:{port}/{mode}", json={"model": "gpt-4o"})
            print(mode, r.http_version, r.status_code, r.content[:20])
    except Exception as e:
        print(mode, "error", type(e).__name__)
PYC
export HT_PORT
run_both "$W/py" "$W/prof" "$PY" "$W/client.py"
require_preload hostile || finish
eq "span files: one per process" "$(span_files "$W/prof" | wc -l)" $((n + 1))
profile_and_export hostile "$W/prof" "$W/prof.jsonl" || finish
check_py "$W/prof.jsonl" <<'PY'
eq("every process ended cleanly with its file", [p.get("pid") is not None for p in P], [True] * len(P))
ok_x = [x for x in X if path_is(x, "/ok")]
eq("control /ok recorded (curl h2c, curl tls, httpx)", len(ok_x), 3)
check("control /ok: status 200, no error", all(x.get("status") == 200 and x.get("error") is None for x in ok_x),
      repr([(x.get("status"), x.get("error")) for x in ok_x]))
reuse = [x for x in X if path_is(x, "/reuse")]
check("stream-id reuse: the first answer is the exchange, the replays are ignored",
      len(reuse) == 3 and all(x.get("status") == 200 and x.get("error") is None for x in reuse),
      repr([(x.get("status"), x.get("error")) for x in reuse]))
for mode in ("badlen", "huge", "padding", "garbage", "oversized"):
    xs = [x for x in X if path_is(x, "/" + mode)]
    check(f"/{mode}: at most one exchange per request, ended with an error",
          len(xs) <= 3 and all(x.get("error") for x in xs), repr([(x.get("status"), x.get("error")) for x in xs]))
PY

# no libnghttp2: h2c prior knowledge from httpx (pure-Python h2), nothing parsed, a diagnostic
NGH=$(ls /usr/lib/*/libnghttp2.so.14 /lib/*/libnghttp2.so.14 2>/dev/null | head -1)
cat >"$W/h2c.py" <<'PYC'
import os, httpx
with httpx.Client(http1=False, http2=True, timeout=10) as c:
    r = c.get(f"http://127.0.0.1:{os.environ['HC_PORT']}/ok")
    print(r.http_version, r.status_code, r.content)
PYC
export HC_PORT
if [ -n "$NGH" ] && unshare -m true 2>/dev/null; then
	run_bare "$W/nolib.bare" "$PY" "$W/h2c.py"
	mkdir -p "$W/nolib"
	timeout -k 5 "$AP_TMO" unshare -m /bin/sh -c 'mount --bind /dev/null "$0" && LD_PRELOAD=$1 AGENTPROF_OUT=$2 exec "$3" "$4"' \
		"$NGH" "$AP_LIB" "$W/nolib" "$PY" "$W/h2c.py" >"$W/nolib.prof.out" 2>"$W/nolib.prof.err"
	eq "no libnghttp2: exit status unchanged" "$?" "$(cat "$W/nolib.bare.rc")"
	same_file "no libnghttp2: stdout unchanged" "$W/nolib.bare.out" "$W/nolib.prof.out"
	timeout 60 "$AP_VIEW" summary "$W/nolib" >"$W/nolib.summary" 2>&1
	grep -q 'HTTP/2 to 127.0.0.1 is not parsed (libnghttp2.so.14 not found)' "$W/nolib.summary" &&
		ok "no libnghttp2: the diagnostic says why" || fail "no libnghttp2: the diagnostic says why" "$(tail -3 "$W/nolib.summary")"
	ap_export "$W/nolib" "$W/nolib.jsonl"
	eq "no libnghttp2: no exchange invented" "$(grep -c '"kind":"exchange"' "$W/nolib.jsonl")" 0
else
	skip "no libnghttp2" "needs unshare -m (root) to hide the library"
fi
finish
