#!/bin/bash
# t78_claude_code: Claude Code (npm @anthropic-ai/claude-code: a native Bun executable with
# BoringSSL linked in and stripped) run offline as `claude -p` against the mock, with a fake key,
# CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 and a scratch HOME. Output and exit status are
# unchanged under the preload. Over plain HTTP its Messages call is recorded in full. Over HTTPS
# its BoringSSL has no symbols: SSL_read, SSL_write and SSL_do_handshake are found by signature
# (preload/core/bssl_find.h) and hooked, so every call is recorded as over plain HTTP (method,
# path, status, models, tokens, SSE events) and the file's diagnostic says where they were
# found. For a Claude Code version the search does not recognise, the calls stay opaque
# exchanges named by SNI with a diagnostic saying why: required to be hooked for the versions
# this test was verified on (KNOWN), a visible skip for others. Skipped visibly when the package
# cannot be installed.
. "$(dirname "$0")/lib.sh"

mock_up || { fail "mock" "cannot start the mock provider"; finish; }
require_preload claude-code || finish
if ! NM=$("$AP_ROOT/scripts/npm-deps.sh" --claude 2>"$W/npm.err"); then
	skip "claude code" "npm package not installable: $(tail -1 "$W/npm.err")"
	finish
fi
CLAUDE=$NM/@anthropic-ai/claude-code/bin/claude.exe
if ! "$CLAUDE" --version >"$W/version" 2>&1; then
	skip "claude code" "the installed binary does not run here: $(head -c 200 "$W/version")"
	finish
fi
mkdir -p "$W/home"
export HOME=$W/home ANTHROPIC_API_KEY=sk-ant-fake-t78 CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1
export NODE_EXTRA_CA_CERTS=$AP_CA
cd "$W" || finish

for v in http https; do
	if [ $v = http ]; then url=http://127.0.0.1:$MOCK_PORT; else url=https://localhost:$MOCK_TLS_PORT; fi
	ANTHROPIC_BASE_URL=$url run_bare "$W/b$v" "$CLAUDE" -p "say hi"
	eq "$v: claude -p works without the preload" "$(cat "$W/b$v.rc")" 0
	mock_mark
	ANTHROPIC_BASE_URL=$url run_prof "$W/p$v" "$W/r$v" "$CLAUDE" -p "say hi"
	mock_since "$W/mock.$v.jsonl"
	eq "$v: exit status unchanged" "$(cat "$W/r$v.rc")" "$(cat "$W/b$v.rc")"
	same_file "$v: output unchanged" "$W/b$v.out" "$W/r$v.out"
	profile_and_export "claude-$v" "$W/p$v" "$W/p$v.jsonl" || finish
done
"$AP_VIEW" summary --width 400 "$W/phttps" >"$W/summary.txt" 2>&1

check_py "$W/phttp.jsonl" "$W/mock.http.jsonl" <<'PY'
import os
port = int(os.environ["MOCK_PORT"])
msgs = [m for m in M if m.get("path") == "/v1/messages"]
check("mock answered claude's Messages call", len(msgs) >= 1, repr([m.get("path") for m in M]))
mine = [x for x in X if x.get("port") == port and (x.get("path") or "").startswith("/v1/messages")]
eq("http: one exchange per Messages call", len(mine), len(msgs))
for i, (x, m) in enumerate(zip(mine, msgs)):
    eq(f"http call {i + 1}: method, status, stream", (x.get("method"), x.get("status"), x.get("stream")),
       ("POST", 200, True))
    eq(f"http call {i + 1}: models and tokens as the mock sent them",
       (x.get("request_model"), x.get("response_model"), x.get("input_tokens"), x.get("output_tokens")),
       (m.get("request_model"), m.get("response_model"), m.get("input_tokens"), m.get("output_tokens")))
    eq(f"http call {i + 1}: llm / anthropic", (x.get("category"), x.get("provider")), ("llm", "anthropic"))
    check(f"http call {i + 1}: SSE events", (x.get("events") or 0) > 0, repr(x.get("events")))
PY

# versions whose BoringSSL the signature search was verified on
KNOWN="2.1.197"
ver=$(sed -n '1s/^\([0-9][0-9.]*\).*/\1/p' "$W/version")
if grep -q "tls_signature.*found by signature" "$W/summary.txt"; then
	ok "https: BoringSSL found by signature ($(grep -o 'SSL_read at [^,]*' "$W/summary.txt" | head -1))"
	hooked=1
elif case " $KNOWN " in *" $ver "*) true ;; *) false ;; esac then
	fail "https: BoringSSL found by signature in Claude Code $ver" \
		"$(grep -i -m2 'coverage' "$W/summary.txt")"
	hooked=0
else
	skip "https: BoringSSL found by signature" "Claude Code $ver is not a version the search was verified on ($KNOWN); $(grep -o 'not found by signature ([^)]*)' "$W/summary.txt")"
	hooked=0
fi

HOOKED=$hooked AP_HTTP=$W/phttp.jsonl check_py "$W/phttps.jsonl" "$W/mock.https.jsonl" <"$AP_ROOT/tests/integration/checkers/t78_claude_code.py"
# The search's evidence is kept for the other Bun processes of the run (.agentprof-tls.<build-id>
# in the output directory) and only ever taken as a hint that is verified again: a second
# process uses it, a forged one is ignored (the search runs and finds the right functions).
if [ "$hooked" = 1 ]; then
	mkdir -m 700 -p "$W/c1" "$W/c2"
	for i in 1 2; do
		env LD_PRELOAD="$AP_LIB" AGENTPROF_OUT="$W/c1" "$CLAUDE" --version >"$W/c1.$i.out" 2>&1
		echo $? >"$W/c1.$i.rc"
	done
	cf=$(cd "$W/c1" && ls -A | grep '^\.agentprof-tls\.')
	eq "cache: one evidence file written by the first process" "$(printf '%s\n' "$cf" | grep -c .)" 1
	read -r magic ver str f1 f2 f3 f4 f5 <"$W/c1/$cf"
	printf '%s %s %s %x %x %x %x %x\n' "$magic" "$ver" "$str" $((0x$f1 + 1)) $((0x$f2 + 1)) \
		$((0x$f3 + 1)) $((0x$f4 + 1)) $((0x$f5 + 1)) >"$W/c2/$cf"
	chmod 600 "$W/c2/$cf"
	env LD_PRELOAD="$AP_LIB" AGENTPROF_OUT="$W/c2" "$CLAUDE" --version >"$W/c2.out" 2>&1
	echo $? >"$W/c2.rc"
	n=0
	for f in $(span_files "$W/c1"); do
		"$AP_VIEW" summary --json "$f" 2>/dev/null | grep -q "found by signature.*verified from this run.s cache" &&
			n=$((n + 1))
	done
	eq "cache: the second process verified the hint instead of searching" "$n" 1
	"$AP_VIEW" summary --json "$W/c2" >"$W/c2.json" 2>/dev/null
	if grep -q "found by signature: SSL_read at 0x$f5," "$W/c2.json" && ! grep -q "this run.s cache" "$W/c2.json"; then
		ok "cache: a forged hint is refused; the search finds the right functions"
	else
		fail "cache: a forged hint is refused" "$(grep -o '"message": *"[^"]*signature[^"]*"' "$W/c2.json" | head -2)"
	fi
	eq "cache: claude --version exit status in every run" "$(cat "$W/c1.1.rc" "$W/c1.2.rc" "$W/c2.rc" | tr -d '\n')" "000"
	same_file "cache: output unchanged (hint used)" "$W/c1.1.out" "$W/c1.2.out"
	same_file "cache: output unchanged (forged hint)" "$W/c1.1.out" "$W/c2.out"
fi

if [ "$hooked" = 1 ]; then
	if grep -q "opaque_tls" "$W/summary.txt"; then
		fail "https: no opaque-TLS diagnostic once hooked" "$(grep -m1 opaque_tls "$W/summary.txt")"
	else
		ok "https: no opaque-TLS diagnostic once hooked"
	fi
elif grep -q "opaque_tls.*Bun executable" "$W/summary.txt"; then
	ok "https: the diagnostic says why (Bun, BoringSSL not found by signature)"
else
	fail "https: the diagnostic says why" "$(grep -i -m2 'coverage\|opaque' "$W/summary.txt")"
fi
finish
