#!/bin/bash
# t57_coverage_diag: a process whose TLS the preload cannot see (Node's statically linked
# OpenSSL with its inline hooks off, AGENTPROF_INLINE_HOOKS=0, as when they cannot be applied)
# says so once in its file (AP_DIAG_OPAQUE_TLS), however many opaque connections it opens; the
# viewer lists the diagnostic and marks those exchanges "opaque" (timed at socket level only).
# Skipped without node.
. "$(dirname "$0")/lib.sh"

require_preload coverage || finish
[ -x "$NODE" ] || { skip "node" "node not installed"; finish; }
build_targets || finish
mock_up || { fail "mock" "cannot start the mock provider"; finish; }
cat >"$W/n.js" <<'JS'
const https = require('https'), fs = require('fs');
const [port, ca] = process.argv.slice(2);
function get(path) {
	return new Promise((res, rej) => {
		https.get({ host: 'localhost', port, path, ca: fs.readFileSync(ca), agent: false }, (r) => {
			r.resume();
			r.on('end', () => res(r.statusCode));
		}).on('error', rej);
	});
}
(async () => {
	const a = [];
	for (const c of ['one', 'two', 'three'])
		a.push(await get('/tool/weather?city=' + c));
	console.log('statuses', a.join(' '));
})();
JS
run_bare "$W/bare" "$NODE" "$W/n.js" "$MOCK_TLS_PORT" "$AP_CA"
AGENTPROF_INLINE_HOOKS=0 run_prof "$W/p" "$W/prof" -- "$NODE" "$W/n.js" "$MOCK_TLS_PORT" "$AP_CA"
same_file "node: same output with the preload" "$W/bare.out" "$W/prof.out"
dump_spans "$W/p" "$W/p.dump"
n=$(grep -c '"rec":"diag","code":1,' "$W/p.dump")
eq "node: exactly one opaque-TLS diagnostic for 3 opaque connections" "$n" 1
if "$AP_VIEW" summary --json "$W/p" >"$W/sum.json" 2>"$W/sum.err"; then
	grep -q '"opaque_tls"' "$W/sum.json" && ok "viewer summary lists the opaque-TLS diagnostic" ||
		fail "viewer summary lists the opaque-TLS diagnostic" "$(grep -o '"diagnostics".\{0,200\}' "$W/sum.json")"
else
	fail "viewer summary" "$(head -c 200 "$W/sum.err")"
fi
ap_export "$W/p" "$W/p.jsonl"
n=$(grep '"kind":"exchange"' "$W/p.jsonl" | grep -c '"visibility":"opaque"')
ge "viewer: node's exchanges are marked opaque (socket-level timing)" "$n" 3
finish
