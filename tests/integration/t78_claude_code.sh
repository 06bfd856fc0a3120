#!/bin/bash
# t78_claude_code: Claude Code (npm @anthropic-ai/claude-code: a native Bun executable with
# BoringSSL linked in and stripped) run offline as `claude -p` against the mock, with a fake key,
# CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 and a scratch HOME. Output and exit status are
# unchanged under the preload. Over plain HTTP its Messages call is recorded in full. Over HTTPS
# its BoringSSL cannot be hooked (no symbols; no signature search is implemented), so each call
# is an opaque exchange named by SNI, and the file's diagnostic says why (a Bun executable).
# Skipped visibly when the package cannot be installed.
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
"$AP_VIEW" summary "$W/phttps" >"$W/summary.txt" 2>&1

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

AP_HTTP=$W/phttp.jsonl check_py "$W/phttps.jsonl" "$W/mock.https.jsonl" <<'PY'
import json, os
port, plain_port = int(os.environ["MOCK_TLS_PORT"]), int(os.environ["MOCK_PORT"])
plain = [r for r in (json.loads(l) for l in open(os.environ["AP_HTTP"]) if l.strip())
         if r.get("kind") == "exchange" and r.get("port") == plain_port]
check("mock answered claude over https", any(m.get("path") == "/v1/messages" for m in M),
      repr([m.get("path") for m in M]))
mine = [x for x in X if x.get("port") == port]
check("https: claude's calls are recorded", len(mine) >= 1, f"{len(mine)} exchanges")
eq("https: named by SNI, TLS, opaque", sorted({(x.get("host"), x.get("tls"), x.get("visibility")) for x in mine}),
   [("localhost", True, "opaque")])
claude = [p for p in P if "claude" in (p.get("exe") or "") and p.get("argv", [""])[1:2] == ["-p"]]
eq("one claude -p process", len(claude), 1)
if claude and claude[0].get("end_ns") is None:
    print(f"skip - {os.environ['AP_T']}: https: one exchange per call: claude exits through "
          "quick_exit, so the call still open at exit is lost until that exit path is routed")
else:
    eq("https: one exchange per call (as many as over http)", len(mine), len(plain))
PY
if grep -q "opaque_tls.*Bun executable" "$W/summary.txt"; then
	ok "https: the diagnostic says why (Bun, BoringSSL without symbols)"
else
	fail "https: the diagnostic says why" "$(grep -i -m2 'coverage\|opaque' "$W/summary.txt")"
fi
finish
