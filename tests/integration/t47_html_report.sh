#!/bin/bash
# t47_html_report.sh: agentprof-view html: a self-contained report that headless Chromium
# renders (DOM: flame graph frames, tables, waterfall, findings; a screenshot) and that reacts
# to the mouse: click to zoom, hover details, search, weight switch (DevTools protocol).
. "$(dirname "$0")/lib.sh"

export_runs
need chromium
CHROME=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
[ -n "$CHROME" ] || fail "chromium" "not installed: run scripts/install-deps.sh --extra (Debian package chromium)"
CFLAGS_CHROME="--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
	--disable-background-networking --disable-component-update --disable-sync
	--disable-default-apps --disable-extensions --mute-audio"

for run in $RUNS; do
	if "$AP_VIEW" html -o "$W/$run.html" "$W/$run" >"$W/$run.html.out" 2>"$W/$run.html.err"; then
		ok "$run: html -o $run.html"
	else
		fail "$run: html" "exit $?: $(head -c 300 "$W/$run.html.err")"
		continue
	fi
	# self-contained: no external resource at all
	if grep -Eiq '<(link|img|iframe)[ >]|src=|@import|url\(' "$W/$run.html"; then
		fail "$run: self-contained" "$(grep -Eio '.{20}(<link|<img|src=|@import|url\().{40}' "$W/$run.html" | head -2)"
	else
		ok "$run: self-contained (no external resources)"
	fi
	[ -n "$CHROME" ] || continue
	# no network for the page: every request would go to a dead proxy
	U=$(mktemp -d "$W/chrome.XXXXXX")
	# shellcheck disable=SC2086
	timeout -k 5 60 "$CHROME" $CFLAGS_CHROME --proxy-server=127.0.0.1:9 --user-data-dir="$U" \
		--window-size=1400,2000 --virtual-time-budget=5000 --dump-dom "file://$W/$run.html" \
		>"$W/$run.dom" 2>"$W/$run.chrome.err"
	pycheck "$run DOM" "$W/$run.dom" <<'PY'
dom = open(sys.argv[1], encoding="utf-8", errors="replace").read()
res("page ran its script (data-ready)", 'data-ready="1"' in dom, dom[:200])
frames = re.findall(r'<g class="frame[^"]*" data-name="([^"]*)"', dom)
res("flame graph drawn as SVG frames", len(frames) > 3, str(len(frames)))
want = {"synth": {"path_plan", "path_review", "[llm] openai gpt-4o"}, "real": {"plan_task", "review_code", "ask_model"}}.get(L, set())
res("flame graph frames carry the program's functions and endpoints", want <= set(frames), repr(sorted(set(frames))[:12]))
def table(tid):
    m = re.search(r'<table id="%s">(.*?)</table>' % tid, dom, re.S)
    return re.findall(r"<tr>(.*?)</tr>", m.group(1), re.S) if m else []
for tid in ("breakdown", "models", "endpoints", "tokens"):
    rows = table(tid)
    res(f"table #{tid} filled", len(rows) >= 2, str(len(rows)))
bd = " ".join(table("breakdown"))
res("breakdown has llm and internal rows", ">llm<" in bd and ">internal<" in bd)
res("percentile columns", all(h in " ".join(table("models")[:1]) for h in ("p50", "p95", "p99")))
res("waterfall rows drawn", dom.count('class="wrow"') >= 2, str(dom.count('class="wrow"')))
res("findings section rendered", 'class="finding"' in dom or "No bottleneck findings" in dom)
if L == "synth":
    res("tokens and cost table shows the models", "openai gpt-4o" in " ".join(table("tokens")))
    res("bottleneck findings present", dom.count('class="finding"') >= 1)
PY
	timeout -k 5 60 "$CHROME" $CFLAGS_CHROME --proxy-server=127.0.0.1:9 --user-data-dir="$U" \
		--window-size=1400,2400 --virtual-time-budget=5000 --screenshot="$W/$run.png" \
		"file://$W/$run.html" >/dev/null 2>&1
	if [ "$(head -c 8 "$W/$run.png" 2>/dev/null | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] &&
		[ "$(stat -c %s "$W/$run.png")" -gt 20000 ]; then
		ok "$run: screenshot $W/$run.png"
	else
		fail "$run: screenshot" "no PNG or too small"
	fi
done

# --- interaction: click to zoom, hover, search, weight switch (DevTools protocol) -------------------
if [ -n "$CHROME" ] && [ -x "$NODE" ]; then
	cat >"$W/cdp.js" <"$AP_ROOT/tests/integration/checkers/t47_html_report.js"
	for run in $RUNS; do
		case $run in
		synth) frame=path_plan ;;
		real) frame=plan_task ;;
		*) continue ;;
		esac
		U=$(mktemp -d "$W/cdp.XXXXXX")
		# shellcheck disable=SC2086
		"$CHROME" $CFLAGS_CHROME --proxy-server=127.0.0.1:9 --user-data-dir="$U" \
			--remote-debugging-port=0 --window-size=1400,1000 "file://$W/$run.html" \
			>"$W/cdp.$run.chrome.log" 2>&1 &
		cpid=$!
		_AP_PIDS="$_AP_PIDS $cpid"
		for _ in $(seq 1 100); do
			[ -s "$U/DevToolsActivePort" ] && break
			sleep 0.1
		done
		port=$(head -1 "$U/DevToolsActivePort" 2>/dev/null)
		nodeflag=""
		"$NODE" -e 'process.exit(typeof WebSocket === "function" ? 0 : 1)' 2>/dev/null ||
			nodeflag=--experimental-websocket
		# shellcheck disable=SC2086
		timeout -k 5 60 "$NODE" $nodeflag "$W/cdp.js" "$port" "$frame" "$W/$run.zoom.png" \
			>"$W/cdp.$run.json" 2>"$W/cdp.$run.err"
		kill "$cpid" 2>/dev/null
		wait "$cpid" 2>/dev/null
		FRAME=$frame pycheck "$run interaction" "$W/cdp.$run.json" <<'PY'
r = json.load(open(sys.argv[1]))
f = os.environ["FRAME"]
res("DevTools session", "error" not in r, r.get("error", ""))
res("page ready", r.get("ready") == "1")
res("hover shows details", f in (r.get("tooltip") or ""), repr(r.get("tooltip")))
res("click zooms: focus is the clicked frame", r.get("focus") == f, repr(r.get("focus")))
res("zoomed frame spans the full width", r.get("target_width_after") and r["target_width_after"] >= 0.95 * r["svg_width"] > r.get("target_width_before", 0), repr((r.get("target_width_before"), r.get("target_width_after"), r.get("svg_width"))))
other = {"path_plan": "path_review", "plan_task": "review_code"}[f]
res("other paths hidden while zoomed", other not in (r.get("names_after") or [other]), repr(r.get("names_after")))
res("reset zoom", r.get("focus_after_reset") == "all")
res("search highlights matching frames", r.get("matches", 0) >= 1 and "matched" in r.get("status", ""), repr((r.get("matches"), r.get("status"))))
res("weight switch redraws", r.get("frames_calls", 0) > 3)
PY
	done
else
	fail "interaction" "chromium or node missing"
fi
finish
