#!/bin/bash
# t21_secrets: no credential, body or secret query value reaches a span file (docs/internals/contract.md §0.6).
# Every client of this suite sends canaries: Authorization bearer tokens, x-api-key,
# x-goog-api-key, Cookie, user:pass@ in a URL, ?sig= / ?key= / ?token= query values, and a canary
# inside the request bodies (bodies must never be stored). Each span file is decompressed with
# `zstd -dc` and grepped: the count of each canary must be 0. The test is not vacuous: the same
# files must contain the exchanges' paths, so plaintext HTTP metadata is really in there.
# Canaries are never put on a command line in the clear except where argv redaction is part of
# the contract (-H 'Authorization: ...', URLs with user:pass@ and secret query values).
# Part two: command lines. A Python host started with secret arguments spawns children (through
# subprocess: fork/exec or posix_spawn) and runs shell commands (os.system: system()) whose
# arguments carry canaries in every form argv redaction handles (-H without a space, cookies,
# -u/--user/--proxy-user, -b, -pPASS, --password=, request bodies, ?pw= and ;key=, sh -c
# strings; names matched word by word: --pass, --db-pass, --apiKey, --token-file, MYSQL_PWD=, and
# sk-/ghp_ values under innocent names); none may reach a span file, summary, JSONL, Chrome or
# OTLP output, or the OTLP POST. The values of flags whose names merely contain a stem
# (--bypass-cache, --keyboard-layout, --monkey, --passive, --max-tokens, ...) must be kept.
. "$(dirname "$0")/lib.sh"

mock_up || { fail "mock" "cannot start the mock provider"; finish; }
[ -x "$AP_TGT/curl_easy" ] || make -s -C "$AP_TGT_SRC" >/dev/null
require_preload secrets || finish
D=$W/run
export AP_TEST_CA=$AP_CA

printf '{"model":"gpt-4o","messages":[{"role":"user","content":"SECRET_CANARY_BODY_t21 do not store"}]}' >"$W/body.json"
printf 'x-api-key: SECRET_CANARY_XKEY_t21\nCookie: session=SECRET_CANARY_COOKIE_t21\nx-goog-api-key: SECRET_CANARY_GOOG_t21\napi-key: SECRET_CANARY_AZURE_t21\nContent-Type: application/json\n' >"$W/hdrs"
Q='sig=SIGCANARY21A&key=KEYCANARY21B&token=TOKCANARY21C&q=visible'

run_prof "$D" "$W/c1" curl -sS --cacert "$AP_CA" -H 'Authorization: Bearer SECRET_CANARY_AUTH_t21' -H @"$W/hdrs" \
	-d @"$W/body.json" "https://user:PWCANARY21D@localhost:$MOCK_TLS_PORT/v1/chat/completions?$Q"
run_prof "$D" "$W/c2" curl -sS -H 'Authorization: Bearer SECRET_CANARY_AUTH_t21' -H @"$W/hdrs" \
	"http://user:PWCANARY21D@127.0.0.1:$MOCK_PORT/tool/search?$Q"
run_prof "$D" "$W/c3" "$AP_TGT/curl_easy" -q "https://localhost:$MOCK_TLS_PORT/v1/messages" \
	"http://127.0.0.1:$MOCK_PORT/v1/chat/completions"
run_prof "$D" "$W/c4" "$PY" "$AP_TGT_SRC/py_httpclient.py" localhost "$MOCK_TLS_PORT" "$AP_CA"
run_prof "$D" "$W/c5" "$PY" "$AP_TGT_SRC/py_asyncio_tls.py" localhost "$MOCK_TLS_PORT" "$AP_CA"
[ -x "$NODE" ] && run_prof "$D" "$W/c6" "$NODE" "$AP_TGT_SRC/node_https.js" localhost "$MOCK_TLS_PORT" "$AP_CA"
run_prof "$D" "$W/c7" "$AP_TGT/fork_child" "$MOCK_PORT"
for i in 1 2 3 4 5 7; do
	eq "client $i ran" "$(cat "$W/c$i.rc")" 0
done

files=$(span_files "$D")
ge "span files written" "$(echo "$files" | grep -c .)" 8
for f in $files; do
	zstd -dc "$f" >"$f.raw" 2>/dev/null || fail "$(basename "$f"): zstd -dc" "not a valid zstd file"
done
cat "$D"/*.raw >"$W/all.raw" 2>/dev/null
if grep -qa '/v1/chat/completions' "$W/all.raw" && grep -qa '/tool/search' "$W/all.raw"; then
	ok "decompressed files contain the exchanges' paths (the grep is meaningful)"
else
	fail "decompressed files contain the exchanges' paths" "paths not found: the canary grep would prove nothing"
fi

CANARIES="SECRET_CANARY SECRET_SIG_CANARY SIGCANARY21A KEYCANARY21B TOKCANARY21C PWCANARY21D"
for c in $CANARIES; do
	n=0
	for f in $files; do
		k=$(grep -ac -- "$c" "$f.raw")
		n=$((n + k))
		[ "$k" -gt 0 ] && echo "# $c found in $(basename "$f")"
	done
	eq "canary $c: 0 occurrences in the decompressed span files" "$n" 0
done
grep -ac 'q=visible' "$W/all.raw" >/dev/null && ok "non-secret query value kept" || fail "non-secret query value kept" "q=visible missing"

# what the viewer prints must be clean too
timeout 60 "$AP_VIEW" export --format jsonl "$D" >"$W/export.jsonl" 2>&1
timeout 60 "$AP_VIEW" summary "$D" >"$W/summary.txt" 2>&1
for c in $CANARIES; do
	eq "canary $c: not in export/summary" "$(cat "$W/export.jsonl" "$W/summary.txt" | grep -ac -- "$c")" 0
done

# --- command lines ---------------------------------------------------------------------------------
A=$W/argv
cat >"$W/spawner.py" <<'PYEOF'
import os, subprocess, sys
forms = [
    ["-H", "Cookie: a=b; sid=ARGCANARY01x"],
    ["-H", "Authorization:Bearer ARGCANARY02x"],
    ["-u", "alice:ARGCANARY03x"],
    ["--user", "alice:ARGCANARY04x"],
    ["--proxy-user", "bob:ARGCANARY05x"],
    ["-b", "session=ARGCANARY06x"],
    ["-H", "x-api-key:ARGCANARY08x"],
    ["-pARGCANARY09x", "mydb"],
    ["--password=ARGCANARY10x"],
    ["-d", '{"prompt":"ARGCANARY11x"}'],
    ["--data-raw", "ARGCANARY12x"],
    ["--json", '{"m":"ARGCANARY13x"}'],
    ["https://h/login?user=bob&pw=ARGCANARY14x"],
    ["https://h/v1;key=ARGCANARY15x/models"],
    ["https://u:ARGCANARY16x@h/x"],
    # names matched word by word: each still hides its value
    ["--pass", "ARGCANARY24x", "--db-pass", "ARGCANARY25x"],
    ["--aws-secret-access-key", "ARGCANARY26x", "--client-secret=ARGCANARY27x"],
    ["--private-key-file", "/k/ARGCANARY28x", "--ssh-key=ARGCANARY29x", "--token-file", "/t/ARGCANARY30x"],
    ["--apiKey", "ARGCANARY31x", "--accessToken=ARGCANARY32x", "--key", "ARGCANARY33x"],
    ["https://h/x?access_token=ARGCANARY34x&q=1", "-H", "X-Api-Key: ARGCANARY35x"],
    # a well-known key format under an innocent name: found by its value
    ["--bypass-cache", "sk-proj-ARGCANARY36xabcdef", "--monkey=ghp_ARGCANARY37xabcdefgh"],
    ["WEBHOOK=ghp_ARGCANARY39xabcdefgh", "--hdr=Bearer", "ARGCANARY40x"],
    # innocent names: their values are kept
    ["--bypass-cache", "KEEPVAL01", "--keyboard-layout", "KEEPVAL02", "--monkey", "KEEPVAL03",
     "--passive", "KEEPVAL04", "--compass=KEEPVAL05", "--keep-alive", "KEEPVAL06",
     "--turnkey-mode", "KEEPVAL07", "--hotkeys", "KEEPVAL08", "--max-tokens", "KEEPVAL09"],
]
for f in forms:
    subprocess.run(["/bin/true", "curl-like"] + f, check=True)
os.system("/bin/true -u alice:ARGCANARY07x https://h/")
os.system("MYSQL_PWD=ARGCANARY38x /bin/true --bypass-cache KEEPVAL10 --tokenizer KEEPVAL11")
os.system("/bin/true -H 'Cookie: a=1; sid=ARGCANARY17x' -d '{\"k\":\"ARGCANARY18x\"}'")
subprocess.run(["/bin/sh", "-c", "/bin/true --user bob:ARGCANARY19x -H 'Authorization:Bearer ARGCANARY20x'"], check=True)
print("spawned", len(forms) + 4)
PYEOF
run_prof "$A" "$W/argv" "$PY" "$W/spawner.py" --api-key ARGCANARY21x -u "me:ARGCANARY22x" --proxy-user "p:ARGCANARY23x"
eq "argv host ran" "$(cat "$W/argv.rc")" 0
afiles=$(span_files "$A")
ge "argv host: span files (host and children)" "$(echo "$afiles" | grep -c .)" 2
: >"$W/argv.raw"
for f in $afiles; do
	zstd -dc "$f" >>"$W/argv.raw" 2>/dev/null
done
check "argv host: span files hold the spawned command lines (the grep is meaningful)" grep -qa 'curl-like' "$W/argv.raw"
check "argv host: span files hold the host's own argv" grep -qa 'spawner.py' "$W/argv.raw"
timeout 60 "$AP_VIEW" summary "$A" >"$W/argv.summary" 2>&1
timeout 60 "$AP_VIEW" export --format jsonl "$A" >"$W/argv.jsonl" 2>&1
timeout 60 "$AP_VIEW" export --format chrome "$A" >"$W/argv.chrome" 2>&1
timeout 60 "$AP_VIEW" export --format otlp "$A" >"$W/argv.otlp" 2>&1
check "argv host: the JSONL export holds the command lines" grep -q 'curl-like' "$W/argv.jsonl"
# the OTLP POST, as a collector receives it
cat >"$W/receiver.py" <<'PYEOF'
import http.server, sys
out = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(out, "ab") as f:
            f.write(body + b"\n")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(out + ".port", "w").write(str(s.server_address[1]))
s.serve_forever()
PYEOF
: >"$W/argv.post"
"$PY" "$W/receiver.py" "$W/argv.post" &
_AP_PIDS="$_AP_PIDS $!"
for _ in $(seq 1 50); do
	[ -s "$W/argv.post.port" ] && break
	sleep 0.1
done
timeout 60 "$AP_VIEW" export --format otlp --endpoint "http://127.0.0.1:$(cat "$W/argv.post.port")/v1/traces" "$A" \
	>/dev/null 2>"$W/argv.post.err"
eq "argv host: OTLP POST sent (exit 0)" "$?" 0
check "argv host: the collector received the spans" test -s "$W/argv.post"
for out in raw summary jsonl chrome otlp post; do
	leaked=$(grep -aoE 'ARGCANARY[0-9]+x' "$W/argv.$out" | sort -u | tr '\n' ' ')
	eq "argv canaries (40 forms): none in $out" "${leaked:-none}" none
done
# the other direction: values of flags whose names only contain a stem ("--bypass-cache",
# "--keyboard-layout", "--monkey", "--max-tokens", ...) are kept, in the span files and the export
for out in raw jsonl; do
	kept=$(grep -aoE 'KEEPVAL[0-9]+' "$W/argv.$out" | sort -u | tr '\n' ' ')
	eq "argv: the 11 values of innocent flags kept in $out" "$kept" "KEEPVAL01 KEEPVAL02 KEEPVAL03 KEEPVAL04 KEEPVAL05 KEEPVAL06 KEEPVAL07 KEEPVAL08 KEEPVAL09 KEEPVAL10 KEEPVAL11 "
done

# file hygiene: 0600 regular files, not world-readable
bad=""
for f in $files; do
	m=$(stat -c %a "$f")
	[ "$m" = 600 ] || bad="$bad $(basename "$f"):$m"
done
eq "span files are mode 0600" "${bad:-none}" none

# and the mock itself never logged a secret (sanity for the canary design)
eq "mock logs are clean" "$(cat "$MOCK_LOG" "$MOCK_TLS_LOG" | grep -acE 'CANARY|PWCANARY')" 0
finish
