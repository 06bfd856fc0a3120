#!/bin/bash
# t58_security: P3 (docs/internals/contract.md §9). Secret canaries (Authorization, x-api-key, Cookie,
# ?sig=/?api_key=, user:pass@) sent by every client (curl, Python http.client plain and TLS,
# Python asyncio TLS, Node) never appear in span files or viewer output; output-path hardening
# (a pre-planted symlink is never followed and its target is unchanged, files are 0600 under
# umask 000, a world-writable directory without the sticky bit is refused); env-var fuzzing
# (malformed AGENTPROF_* values: the host always runs with unchanged output and exit status).
. "$(dirname "$0")/lib.sh"

require_preload security || finish
build_targets || finish
mock_up || { fail "mock" "cannot start the mock provider"; finish; }

# --- canaries -------------------------------------------------------------------------------
D=$W/can
mkdir -p "$D"
CAN="CANARYAUTH7 CANARYXKEY7 CANARYCOOKIE7 CANARYSIG7 CANARYAPIKEY7 CANARYPASS7"
q='/tool/search?q=ok&sig=CANARYSIG7&api_key=CANARYAPIKEY7'
for u in "http://u:CANARYPASS7@127.0.0.1:$MOCK_PORT$q" "https://u:CANARYPASS7@localhost:$MOCK_TLS_PORT$q"; do
	run_prof "$D" "$W/curl" -- curl -sS --cacert "$AP_CA" -o /dev/null -H 'Authorization: Bearer CANARYAUTH7' \
		-H 'x-api-key: CANARYXKEY7' -H 'Cookie: s=CANARYCOOKIE7' "$u"
done
cat >"$W/py.py" <<'PYEOF'
import asyncio, http.client, ssl, sys
plain, tls, ca = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
H = {"Authorization": "Bearer CANARYAUTH7", "x-api-key": "CANARYXKEY7", "Cookie": "s=CANARYCOOKIE7"}
Q = "/tool/search?q=ok&sig=CANARYSIG7&api_key=CANARYAPIKEY7"
ctx = ssl.create_default_context(cafile=ca)
for c in (http.client.HTTPConnection("127.0.0.1", plain), http.client.HTTPSConnection("localhost", tls, context=ctx)):
    c.request("GET", Q, headers=H); c.getresponse().read()
    c.request("POST", "/v1/chat/completions?api_key=CANARYAPIKEY7", body='{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}',
              headers=dict(H, **{"Content-Type": "application/json"})); c.getresponse().read()
async def a():
    r, w = await asyncio.open_connection("localhost", tls, ssl=ctx)
    w.write(("GET %s HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer CANARYAUTH7\r\nConnection: close\r\n\r\n" % Q).encode())
    await r.read(); w.close()
asyncio.run(a())
PYEOF
run_prof "$D" "$W/py" -- "$PY" "$W/py.py" "$MOCK_PORT" "$MOCK_TLS_PORT" "$AP_CA"
if [ -x "$NODE" ]; then
	cat >"$W/n.js" <<'JS'
const https = require("https"), fs = require("fs");
https.get({host: "localhost", port: process.argv[2], ca: fs.readFileSync(process.argv[3]),
  path: "/tool/search?q=ok&sig=CANARYSIG7&api_key=CANARYAPIKEY7",
  headers: {Authorization: "Bearer CANARYAUTH7", "x-api-key": "CANARYXKEY7"}}, r => r.resume());
JS
	# (the script is in a file: secrets inside a -e/-c argument are a separate, argv problem)
	run_prof "$D" "$W/node" -- "$NODE" "$W/n.js" \
		"$MOCK_TLS_PORT" "$AP_CA"
fi
ge "canaries: span files from curl, python (plain, TLS, asyncio), node" "$(span_files "$D" | wc -l)" 4
"$AP_VIEW" export --format jsonl "$D" >"$W/can.jsonl" 2>&1
"$AP_VIEW" summary "$D" >"$W/can.txt" 2>&1
"$AP_VIEW" summary --json "$D" >"$W/can.json" 2>&1
ge "canaries: the exchanges were recorded" "$(grep -c '"kind":"exchange"' "$W/can.jsonl")" 8
leak=""
for c in $CAN; do
	for f in $(span_files "$D"); do
		zstd -dc "$f" 2>/dev/null | grep -qa "$c" && leak="$leak $c@$(basename "$f")"
	done
	grep -qa "$c" "$W/can.jsonl" "$W/can.txt" "$W/can.json" && leak="$leak $c@viewer"
done
eq "canaries: no secret in any span file or viewer output" "${leak# }" ""
grep -q 'sig=REDACTED' "$W/can.jsonl" && ok "canaries: secret query values recorded as REDACTED" ||
	fail "canaries: secret query values recorded as REDACTED" "$(grep -o '"path":"[^"]*"' "$W/can.jsonl" | head -3 | tr '\n' ' ')"

# --- output path hardening ------------------------------------------------------------------
O=$W/out
mkdir -p "$O"
echo precious >"$W/target"
cp "$W/target" "$W/target.orig"
/bin/sh -c 'ln -s "$1" "$2/agentprof.true.$$.zst"; LD_PRELOAD=$3 AGENTPROF_OUT=$2 exec /bin/true' \
	sh "$W/target" "$O" "$AP_LIB" >"$W/sym.out" 2>"$W/sym.err"
eq "symlink: host exit status" "$?" 0
same_file "symlink: the planted symlink's target is unchanged" "$W/target.orig" "$W/target"
n=$(find "$O" -maxdepth 1 -type l | wc -l)
eq "symlink: the planted link is still a link (never replaced or followed)" "$n" 1
n=$(find "$O" -maxdepth 1 -type f -name 'agentprof.true.*' | wc -l)
ok "symlink: the profile went to a fresh name instead ($n file)"
U=$W/umask
mkdir -p "$U"
(umask 000 && env LD_PRELOAD="$AP_LIB" AGENTPROF_OUT="$U" /bin/true)
modes=$(stat -c %a "$U"/agentprof.* 2>/dev/null | sort -u | tr '\n' ' ')
eq "umask 000: span file mode 0600" "$modes" "600 "
WW=$W/ww
mkdir -p "$WW"
chmod 0777 "$WW"
env LD_PRELOAD="$AP_LIB" AGENTPROF_OUT="$WW" /bin/sh -c 'echo hostout; exit 4' >"$W/ww.out" 2>"$W/ww.err"
eq "world-writable dir without sticky bit: host exit status unchanged" "$?" 4
eq "world-writable dir without sticky bit: host output unchanged" "$(cat "$W/ww.out")" hostout
eq "world-writable dir without sticky bit: refused (no file)" "$(find "$WW" -type f | wc -l)" 0
grep -q '^agentprof: .*world-writable' "$W/ww.err" && ok "world-writable dir: one agentprof: warning" ||
	fail "world-writable dir: one agentprof: warning" "$(head -c 200 "$W/ww.err")"
chmod 1777 "$WW"
env LD_PRELOAD="$AP_LIB" AGENTPROF_OUT="$WW" /bin/true 2>"$W/ww.err"
eq "world-writable dir with the sticky bit (like /tmp): refused too" "$(find "$WW" -type f | wc -l)" 0
env LD_PRELOAD="$AP_LIB" AGENTPROF_OUT="$WW" AGENTPROF_UNSAFE_OUT="$WW" /bin/true 2>"$W/ww.err"
eq "world-writable dir named again in AGENTPROF_UNSAFE_OUT: accepted" "$(find "$WW" -type f | wc -l)" 1
grep -q '^agentprof: warning: .*unsafe' "$W/ww.err" && ok "accepted unsafe dir: a warning says so" ||
	fail "accepted unsafe dir: a warning says so" "$(head -c 200 "$W/ww.err")"

# --- env-var fuzzing ------------------------------------------------------------------------
F=$W/fz/a/b
mkdir -p "$F"
long=$(head -c 10240 /dev/zero | tr '\0' 'x')
vals=("" "-1" "0" "99999999999999999999999" "1e400" "nan" "0x10" " 1" "1 " "../.." "/nonexistent/dir"
	"$long" $'\xff\xfe\xfd' $'a\tb' "%s%s%n" "-" "true" "2" "1.5" "/dev/null")
vars=(AGENTPROF_OUT AGENTPROF_DISABLE AGENTPROF_SAMPLE AGENTPROF_RULES AGENTPROF_FLUSH_MS
	AGENTPROF_CHILDREN AGENTPROF_AGENT AGENTPROF_STACKS AGENTPROF_PROMETHEUS)
bad=""
runs=0
for v in "${vars[@]}"; do
	for x in "${vals[@]}"; do
		(cd "$F" && timeout -k 2 10 env LD_PRELOAD="$AP_LIB" "$v=$x" /bin/sh -c 'echo out; echo err >&2; exit 7') \
			>"$W/fz.out" 2>"$W/fz.err"
		rc=$?
		runs=$((runs + 1))
		other=$(grep -av '^err$' "$W/fz.err" | grep -avc '^agentprof: ')
		if [ $rc -ne 7 ] || [ "$(cat "$W/fz.out")" != out ] || ! grep -aq '^err$' "$W/fz.err" || [ "$other" -ne 0 ]; then
			bad="$bad $v=${x:0:12}(rc$rc)"
		fi
	done
done
eq "env fuzzing: $runs malformed AGENTPROF_* settings, host output and exit status unchanged" "${bad# }" ""
finish
