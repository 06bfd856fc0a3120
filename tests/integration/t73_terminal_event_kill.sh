#!/bin/bash
# t73_terminal_event_kill: a streamed call is complete at the provider's terminal event. A Python
# http.client client reads each stream line by line up to that event (data: [DONE], Anthropic
# message_stop, Responses response.completed, Gemini's last chunk, Ollama "done": true) and is
# then killed with SIGKILL while the server still holds the end of the body (the chunked
# terminator). Each call must be in the span file with its usage and model, exactly once.
# Token counters (/v1/messages/count_tokens, :countTokens) in the same run are LLM-provider calls
# that the summary keeps out of the per-model rows (they generate nothing).
. "$(dirname "$0")/lib.sh"

require_preload terminal-kill || finish
SRV=$AP_TGT_SRC/held_stream_server.py
CLI=$AP_TGT_SRC/py_stream_kill.py
rm -f "$W/port"
"$PY" "$SRV" "$W/port" &
SPID=$!
trap 'kill $SPID 2>/dev/null' EXIT
for _ in $(seq 100); do [ -s "$W/port" ] && break; sleep 0.05; done
PORT=$(cat "$W/port" 2>/dev/null)
[ -n "$PORT" ] || { fail "server" "held_stream_server.py did not start"; finish; }

PATHS="/v1/chat/completions /v1/messages /v1/responses /v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse /api/chat"
REPS=${T73_REPS:-3}
rm -rf "$W/p"
i=0
for path in $PATHS; do
	for ((r = 0; r < REPS; r++)); do
		i=$((i + 1))
		run_prof "$W/p" "$W/run$i" "$PY" "$CLI" "$PORT" "$path"
		rc=$(cat "$W/run$i.rc")
		out=$(cat "$W/run$i.out")
		if [ "$rc" != 137 ] || [ "$out" != "terminal event seen" ]; then
			fail "client $i ($path) saw the terminal event and was killed" "rc $rc, out '$out', $(head -c 200 "$W/run$i.err")"
		fi
	done
done
# token counters in the same run: LLM-provider calls, kept out of the per-model figures
for path in /v1/messages/count_tokens /v1beta/models/gemini-2.0-flash:countTokens; do
	run_prof "$W/p" "$W/count" "$PY" -c 'import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=20)
c.request("POST", sys.argv[2], body="{\"model\": \"test-model\", \"messages\": []}")
print(c.getresponse().status)' "$PORT" "$path"
	eq "token counter $path answered" "$(cat "$W/count.out")" 200
done
profile_and_export terminal-kill "$W/p" "$W/p.jsonl" || finish
timeout -k 5 "$AP_TMO" "$AP_VIEW" summary "$W/p" >"$W/summary.txt" 2>&1
check "summary: anthropic model row counts the 3 streamed calls, not the token counter" \
	grep -Eq "^  anthropic test-model +$REPS " "$W/summary.txt"
check "summary: gemini model row counts the 3 streamed calls, not the token counter" \
	grep -Eq "^  gemini test-model +$REPS " "$W/summary.txt"
check "summary: the token counter is listed as its own endpoint" grep -Eq "(/v1/messages|…[a-z]*)/count_tokens +1 " "$W/summary.txt"

# libcurl (the curl tool): the exchange waits for libcurl's own timings until the transfer ends,
# so it is also written provisionally at the terminal event; a kill -9 in between keeps it, and a
# transfer that ends normally leaves exactly one record (the merged one replaces it).
rm -rf "$W/c"
for path in /v1/chat/completions /v1/messages; do
	marker='[DONE]'
	[ "$path" = /v1/messages ] && marker=message_stop
	for ((r = 0; r < REPS; r++)); do
		# a fresh output file: the background curl truncates it only once it runs, and the
		# previous call's marker must not end the wait before this call has even started
		rm -f "$W/curl.out"
		run_prof "$W/c" "$W/crun" /bin/bash -c 'curl -sN -d "{\"stream\": true}" "http://127.0.0.1:$1$2" >"$3" &
p=$!
for _ in $(seq 400); do grep -qF "$4" "$3" && break; sleep 0.025; done
kill -9 $p; wait $p; echo "rc $?"' _ "$PORT" "$path" "$W/curl.out" "$marker"
		eq "curl $path #$r: saw the terminal event and was killed" "$(cat "$W/crun.out")" "rc 137"
	done
done
run_prof "$W/c" "$W/cfull" curl -s -o /dev/null "http://127.0.0.1:$PORT/v1/messages/count_tokens" -d '{"model": "test-model"}'
profile_and_export terminal-kill-curl "$W/c" "$W/c.jsonl" || finish
T73_REPS=$REPS check_py "$W/c.jsonl" <<'PY'
reps = int(os.environ.get("T73_REPS", "3"))
for path in ("/v1/chat/completions", "/v1/messages"):
    xs = [x for x in X if x.get("path") == path]
    eq(f"curl {path}: every killed call recorded once", len(xs), reps)
    eq(f"curl {path}: usage of each (input, output)",
       sorted({(x.get("input_tokens"), x.get("output_tokens")) for x in xs}), [(17, 5)] if xs else [])
xs = [x for x in X if x.get("path") == "/v1/messages/count_tokens"]
eq("curl: a transfer that ended normally is one exchange (the provisional one replaced)", len(xs), 1)
PY

T73_REPS=$REPS check_py "$W/p.jsonl" <<'PY'
reps = int(os.environ.get("T73_REPS", "3"))
want = {
    "/v1/chat/completions": ("gpt-4o-mini-2024-07-18", 3),
    "/v1/messages": ("claude-sonnet-4-5", 4),
    "/v1/responses": ("gpt-4.1-2025-04-14", 3),
    "/v1beta/models/gemini-2.0-flash:streamGenerateContent": ("gemini-2.0-flash", 2),
    "/api/chat": ("llama3.2", 2),
}
for path, (model, events) in want.items():
    xs = [x for x in X if (x.get("path") or "").split("?")[0] == path]
    eq(f"{path}: every killed call recorded once", len(xs), reps)
    eq(f"{path}: usage of each (input, output)",
       sorted({(x.get("input_tokens"), x.get("output_tokens")) for x in xs}),
       [(17, 5)] if xs else [])
    eq(f"{path}: response model", sorted({x.get("response_model") for x in xs}), [model] if xs else [])
    eq(f"{path}: events", sorted({x.get("events") for x in xs}), [events] if xs else [])
    check(f"{path}: complete, not an error", xs and all(not x.get("error") for x in xs),
          repr([x.get("error") for x in xs]))
    check(f"{path}: streamed llm exchange", xs and all(x.get("stream") and x.get("category") == "llm" for x in xs))
for path, prov in (("/v1/messages/count_tokens", "anthropic"),
                   ("/v1beta/models/gemini-2.0-flash:countTokens", "gemini")):
    xs = [x for x in X if x.get("path") == path]
    eq(f"{path}: an LLM-provider call", [(x.get("category"), x.get("provider")) for x in xs], [("llm", prov)])
    eq(f"{path}: no tokens consumed", [(x.get("input_tokens"), x.get("output_tokens")) for x in xs], [(None, None)])
PY
finish
