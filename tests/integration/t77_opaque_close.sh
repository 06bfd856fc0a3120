#!/bin/bash
# t77_opaque_close: opaque TLS (the fallback when a TLS library cannot be hooked; forced here with
# AGENTPROF_INLINE_HOOKS=0) infers exchanges from request/response turns. Records that carry no
# request must not become exchanges: the client's TLS close_notify after the last HTTP/1.1
# response (a 19-byte record), and HTTP/2's GOAWAY + close_notify at session.close(). The
# server's answering alert must not be counted into the last response either. The bytes still
# count on the connection. Then the same HTTP/1.1 run with the hooks on: two plaintext exchanges.
. "$(dirname "$0")/lib.sh"

require_preload opaque-close || finish
S=$AP_TGT_SRC/node_close.js
export NODE_EXTRA_CA_CERTS=$AP_CA

# Node's own servers (run without the preload): unlike the mock, they answer close_notify
for v in h1 h2; do
	"$NODE" "$S" ${v}server "$AP_CERT" "$AP_KEY" "$W/$v.port" 2>"$W/${v}server.err" &
	_AP_PIDS="$_AP_PIDS $!"
done
for _ in $(seq 1 100); do [ -s "$W/h1.port" ] && [ -s "$W/h2.port" ] && break; sleep 0.1; done
if [ ! -s "$W/h1.port" ] || [ ! -s "$W/h2.port" ]; then
	fail "node servers" "did not start: $(tail -2 "$W/h1server.err" "$W/h2server.err")"
	finish
fi
H1PORT=$(cat "$W/h1.port") H2PORT=$(cat "$W/h2.port")

run_bare "$W/b1" "$NODE" "$S" h1 localhost "$H1PORT"
run_bare "$W/b2" "$NODE" "$S" h2 "$H2PORT"
eq "h1 works without the preload" "$(cat "$W/b1.rc"):$(tail -1 "$W/b1.out")" "0:closed"
eq "h2 works without the preload" "$(cat "$W/b2.rc"):$(tail -1 "$W/b2.out")" "0:closed"
export AGENTPROF_INLINE_HOOKS=0
run_prof "$W/p1" "$W/r1" "$NODE" "$S" h1 localhost "$H1PORT"
run_prof "$W/p2" "$W/r2" "$NODE" "$S" h2 "$H2PORT"
unset AGENTPROF_INLINE_HOOKS
run_prof "$W/p3" "$W/r3" "$NODE" "$S" h1 localhost "$H1PORT"
for r in 1 2 3; do
	b=$([ $r = 2 ] && echo 2 || echo 1)
	eq "run $r: exit status unchanged" "$(cat "$W/r$r.rc")" "$(cat "$W/b$b.rc")"
	same_file "run $r: output unchanged" "$W/b$b.out" "$W/r$r.out"
	profile_and_export "run$r" "$W/p$r" "$W/p$r.jsonl" || finish
done

for r in 1 2 3; do
	case $r in
	1) port=$H1PORT vis=opaque what="h1 close_notify" ;;
	2) port=$H2PORT vis=opaque what="h2 GOAWAY" ;;
	3) port=$H1PORT vis=plaintext what="h1 hooked" ;;
	esac
	PORT=$port VIS=$vis WHAT=$what check_py "$W/p$r.jsonl" <<'PY'
import os
port, vis, what = int(os.environ["PORT"]), os.environ["VIS"], os.environ["WHAT"]
mine = [x for x in X if x.get("port") == port]
conns = [r for r in A if r.get("kind") == "connection" and r.get("port") == port]
eq(f"{what}: exactly the two calls are exchanges", len(mine), 2)
eq(f"{what}: visibility", [x.get("visibility") for x in mine], [vis, vis])
eq(f"{what}: every exchange got a response, none ends in error",
   [(x.get("bytes_received", 0) > 0, x.get("error")) for x in mine], [(True, None)] * 2)
if vis == "opaque" and len(conns) == 1:
    c = conns[0]
    check(f"{what}: the alert bytes still count on the connection",
          c.get("bytes_sent", 0) > sum(x.get("bytes_sent", 0) for x in mine),
          f"conn {c.get('bytes_sent')} vs exchanges {[x.get('bytes_sent') for x in mine]}")
PY
done
# TLS 1.3 (AES-GCM, ChaCha20) adds 17 bytes per record: the opaque response of the second call
# is its plaintext (seen by the hooked run) plus 17 per record, never plus the server's 19-byte
# close_notify
PORT=$H1PORT AP_HOOKED=$W/p3.jsonl check_py "$W/p1.jsonl" <<'PY'
import json, os
port = int(os.environ["PORT"])
hooked = [r for r in (json.loads(l) for l in open(os.environ["AP_HOOKED"]) if l.strip())
          if r.get("kind") == "exchange" and r.get("port") == port]
mine = [x for x in X if x.get("port") == port]
if len(mine) == 2 and len(hooked) == 2:
    extra = mine[1]["bytes_received"] - hooked[1]["bytes_received"]
    check("h1 close_notify: last response = plaintext + 17 per record (no server alert)",
          extra > 0 and extra % 17 == 0, f"{mine[1]['bytes_received']} - {hooked[1]['bytes_received']} = {extra}")
PY
finish
