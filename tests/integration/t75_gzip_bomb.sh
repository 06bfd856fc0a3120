#!/bin/bash
# t75_gzip_bomb: an LLM endpoint answers with a gzip bomb (200 MiB of zeros, ~200 KiB on the
# wire). The client (curl, without --compressed) never inflates it; the preload must not either,
# beyond its cap: the exchange is recorded, the bytes past the cap are counted as unscanned, and
# the next exchange on the connection is parsed normally. (Its CPU cost is measured in
# `make bench`, not here.)
. "$(dirname "$0")/lib.sh"

require_preload gzip-bomb || finish
build_targets || finish
command -v curl >/dev/null || { skip "gzip bomb" "curl not installed"; finish; }
rm -f "$W/port"
"$PY" "$AP_TGT_SRC/gzip_bomb_server.py" "$W/port" 200 &
SPID=$!
trap 'kill $SPID 2>/dev/null' EXIT
for _ in $(seq 200); do [ -s "$W/port" ] && break; sleep 0.05; done
PORT=$(cat "$W/port" 2>/dev/null)
[ -n "$PORT" ] || { fail "server" "gzip_bomb_server.py did not start"; finish; }

URL=http://127.0.0.1:$PORT/v1/chat/completions
ARGS=(-s -o /dev/null -w '%{http_code} %{size_download}\n' -H 'Content-Type: application/json' -d '{"model":"m"}')
run_bare "$W/bare" curl "${ARGS[@]}" "$URL" --next "${ARGS[@]}" "$URL"
rm -rf "$W/p"
run_prof "$W/p" "$W/prof" curl "${ARGS[@]}" "$URL" --next "${ARGS[@]}" "$URL"
eq "exit status unchanged" "$(cat "$W/prof.rc")" "$(cat "$W/bare.rc")"
same_file "output unchanged (the compressed body, as curl received it)" "$W/bare.out" "$W/prof.out"
dump_spans "$W/p" "$W/dump.jsonl"
check_py "$W/dump.jsonl" <<'PY'
# raw records: each curl call also has a provisional copy, written at the end of the response
# before libcurl finished the transfer (the viewer keeps the final one)
xs = [r for r in A if r.get("rec") == "exchange" and r.get("path") == "/v1/chat/completions"
      and not r.get("provisional")]
eq("both calls recorded (one connection, keep-alive)", len(xs), 2)
prov = [r for r in A if r.get("rec") == "exchange" and r.get("provisional")]
eq("each has one provisional copy with the same id", sorted(r["id"] for r in prov), sorted(x["id"] for x in xs))
wire = [x["received"] for x in xs]
check("each call received the whole compressed body (~200 KiB)", all(150000 < w < 400000 for w in wire), repr(wire))
# at most 1 MiB of zeros inflated (about 1 KiB compressed): the rest counted, not inflated
check("inflate stopped at its cap: almost all compressed bytes unscanned",
      all(x.get("unscanned", 0) > x["received"] - 8192 for x in xs),
      repr([(x.get("unscanned"), x["received"]) for x in xs]))
eq("both complete with status 200", [(x["status"], x.get("cat")) for x in xs], [(200, 1), (200, 1)])
PY
finish
