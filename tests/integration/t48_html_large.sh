#!/bin/bash
# t48_html_large.sh: the HTML report for a run of 100,000 exchanges stays small and loads.
. "$(dirname "$0")/lib.sh"

# need CMD: CMD is installed, or installed now with scripts/install-deps.sh --extra (as root)
need() {
	command -v "$1" >/dev/null 2>&1 && return 0
	[ "$(id -u)" = 0 ] && "$AP_ROOT/scripts/install-deps.sh" --extra >>"$W/deps.log" 2>&1
	command -v "$1" >/dev/null 2>&1
}

# 100,000 exchanges: the report stays small and loads in a browser; the flame graph is merged
# and the waterfall says how many rows it shows.
if ! make -s -C "$AP_TGT_SRC" OUT="$AP_TGT" "$AP_TGT/gen_spans" >"$W/make.log" 2>&1; then
	fail "build gen_spans" "$(tail -3 "$W/make.log" | tr '\n' '|')"
	finish
fi
mkdir -p "$W/big"
"$AP_TGT/gen_spans" stacks "$W/big" 100000 || fail "gen_spans 100000" "exit $?"
t0=$(date +%s%N)
if timeout -k 5 300 "$AP_VIEW" html -o "$W/big.html" "$W/big" 2>"$W/big.err"; then
	ok "html for $("$AP_VIEW" export --format jsonl "$W/big" 2>/dev/null | grep -c '"kind":"exchange"') exchanges in $((($(date +%s%N) - t0) / 1000000)) ms"
else
	fail "html for 100k exchanges" "exit $?: $(head -c 300 "$W/big.err")"
	finish
fi
size=$(stat -c %s "$W/big.html")
if [ "$size" -lt $((4 * 1024 * 1024)) ]; then
	ok "report size $((size / 1024)) KiB (< 4 MiB)"
else
	fail "report size" "$size bytes"
fi
need chromium
CHROME=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROME" ]; then
	fail "chromium" "not installed: run scripts/install-deps.sh --extra"
	finish
fi
U=$(mktemp -d "$W/chrome.XXXXXX")
t0=$(date +%s%N)
timeout -k 5 60 "$CHROME" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
	--disable-background-networking --disable-component-update --disable-sync \
	--proxy-server=127.0.0.1:9 --user-data-dir="$U" --window-size=1400,2000 \
	--virtual-time-budget=10000 --dump-dom "file://$W/big.html" >"$W/big.dom" 2>/dev/null
ms=$((($(date +%s%N) - t0) / 1000000))
if grep -q 'data-ready="1"' "$W/big.dom"; then
	ok "loads and renders in headless Chromium ($ms ms)"
else
	fail "loads in headless Chromium" "no data-ready after $ms ms"
fi
grep -Eq 'Showing the 2000 longest of [0-9]+ exchanges' "$W/big.dom" &&
	ok "waterfall capped with a note" || fail "waterfall note" "$(grep -o 'id="wfnote"[^<]*<' "$W/big.dom" | head -1)"
n=$(grep -o 'class="wrow"' "$W/big.dom" | wc -l)
eq "waterfall rows drawn" "$n" 2000
f=$(grep -o '<g class="frame[^"]*" data-name=' "$W/big.dom" | wc -l)
if [ "$f" -gt 5 ] && [ "$f" -lt 200 ]; then
	ok "flame graph merged ($f frames for 100k exchanges)"
else
	fail "flame graph merged" "$f frames"
fi
finish
