#!/bin/bash
# t90_html_zoom.sh: the HTML report's waterfall on a 300-exchange agent loop: one labelled row per
# exchange (paths kept) grouped under thread headers, zoom by drag and wheel and back by
# double-click (headless Chromium over the DevTools protocol), findings shown as collapsed groups.
. "$(dirname "$0")/lib.sh"

GEN=$AP_TGT/gen_spans
if [ ! -x "$GEN" ] || [ ! -x "$AP_VIEW" ]; then
	fail "viewer and generator built" "run 'make all unittest' first"
	finish
fi
"$GEN" scenario "$W/loop" loop || fail "generate loop"
if "$AP_VIEW" html -o "$W/loop.html" "$W/loop" 2>"$W/html.err"; then
	ok "html -o loop.html"
else
	fail "html" "$(head -c 300 "$W/html.err")"
	finish
fi
"$AP_VIEW" html --json "$W/loop" >"$W/loop.json" 2>&1
"$AP_VIEW" bottlenecks --json "$W/loop" >"$W/bottlenecks.json" 2>&1
pycheck "data" "$W/loop.json" <<'PY'
d = json.load(open(sys.argv[1]))
wf, b = d["waterfall"], d["bottlenecks"]
res("one waterfall row per exchange", len(wf["rows"]) == 300 and wf["total"] == 300, (len(wf["rows"]), wf["total"]))
res("rows keep the path in their label", sum(r[3] == "gpt-4o POST /v1/chat/completions" for r in wf["rows"]) == 200 and
    sum(r[3] == "GET api.search.example/search?q=weather" for r in wf["rows"]) == 100, wf["rows"][:2])
res("overview counts every exchange", sum(sum(x) for x in wf["buckets"]) == 300)
g = [x for x in b["groups"] if x["kind"] == "sequential_llm"]
# each iteration's second call and the next iteration's first run back to back: 99 chains
res("the loop's 99 back-to-back pairs are one sequential_llm group", len(g) == 1 and g[0]["count"] == 99, [(x["kind"], x["count"]) for x in b["groups"]])
bj = json.load(open(sys.argv[1].replace("loop.json", "bottlenecks.json")))
key = lambda gs: [(x["kind"], x["count"], x["saving_ns"], x["title"]) for x in gs]
res("html and bottlenecks --json share one serialisation of the groups", key(b["groups"]) == key(bj["groups"]), (key(b["groups"]), key(bj["groups"])))
res("savings together within the wall time", b["saving_total_ns"] <= b["wall_ns"], (b["saving_total_ns"], b["wall_ns"]))
PY
need chromium
CHROME=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$CHROME" ] || [ ! -x "$NODE" ]; then
	fail "chromium and node" "not installed: run scripts/install-deps.sh --extra"
	finish
fi
U=$(mktemp -d "$W/cdp.XXXXXX")
"$CHROME" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
	--disable-background-networking --disable-component-update --disable-sync \
	--disable-default-apps --disable-extensions --mute-audio --proxy-server=127.0.0.1:9 \
	--user-data-dir="$U" --remote-debugging-port=0 --window-size=1400,1000 "file://$W/loop.html" \
	>"$W/chrome.log" 2>&1 &
cpid=$!
_AP_PIDS="$_AP_PIDS $cpid"
for _ in $(seq 1 100); do
	[ -s "$U/DevToolsActivePort" ] && break
	sleep 0.1
done
port=$(head -1 "$U/DevToolsActivePort" 2>/dev/null)
nodeflag=""
"$NODE" -e 'process.exit(typeof WebSocket === "function" ? 0 : 1)' 2>/dev/null || nodeflag=--experimental-websocket
# shellcheck disable=SC2086
timeout -k 5 60 "$NODE" $nodeflag "$AP_ROOT/tests/integration/html_zoom_cdp.js" "$port" >"$W/cdp.json" 2>"$W/cdp.err"
kill "$cpid" 2>/dev/null
wait "$cpid" 2>/dev/null
pycheck "zoom" "$W/cdp.json" <<'PY'
r = json.load(open(sys.argv[1]))
res("DevTools session", "error" not in r, r.get("error", ""))
res("page ready", r.get("ready") == "1")
res("rows labelled with model, method and path", "gpt-4o POST /v1/chat/completions" in (r.get("labels") or []), r.get("labels"))
res("rows grouped under a thread header", r.get("groups") == 1, r.get("groups"))
b, d, w, z = r.get("before", {}), r.get("dragged", {}), r.get("wheeled", {}), r.get("reset", {})
res("all rows in view before zooming", b.get("visible") == 300 and b.get("v0") == 0, b)
span = b.get("v1", 0)
res("drag zooms to the dragged fifth", d.get("v0", 0) > 0.35 * span and d.get("v1", span) < 0.65 * span and
    abs((d["v1"] - d["v0"]) - 0.2 * span) < 0.03 * span, (d, span))
res("fewer rows in view after the drag", 0 < d.get("visible", 0) < 300, d)
res("status says zoomed", "zoomed on" in d.get("status", ""), d.get("status"))
res("wheel up zooms in further", (w.get("v1", 0) - w.get("v0", 0)) < 0.8 * (d.get("v1", 0) - d.get("v0", 0)), (w, d))
res("double-click resets", z.get("v0") == 0 and z.get("v1") == span and z.get("visible") == 300, z)
fg = r.get("finding_groups") or []
res("findings as collapsed groups", fg and all(not o for _, _, o in fg), fg)
res("the sequential group shows its count", ["sequential_llm", 99, False] in fg, fg)
res("an opened group lists its instances", r.get("opened_items", 0) >= 20, r.get("opened_items"))
PY
finish
