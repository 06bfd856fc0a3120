#!/bin/bash
# t100_agent_turns: agent-sized requests from a real client (Debian's requests over TLS,
# tests/targets/py_agent_turns.py): a 200 KiB conversation with JSON inside its strings, "model"
# after it. The request model is still found (the JSON skip of the conversation, 64 bytes at a
# time), the request hash (XXH64) makes the byte-identical and the chunked upload one repeated
# request and the turn with one character changed another, the stream flag after the
# conversation is seen, and the viewer reports the repeats.
. "$(dirname "$0")/lib.sh"

mock_up || { fail "mock" "cannot start the mock provider"; finish; }
"$PY" -c 'import requests' 2>/dev/null || { skip "agent turns" "python3-requests not installed"; finish; }
S=$AP_TGT_SRC/py_agent_turns.py
run_bare "$W/bare" "$PY" "$S" localhost "$MOCK_TLS_PORT" "$AP_CA"
eq "works without the preload" "$(cat "$W/bare.rc")" 0

require_preload agent-turns || finish
mock_mark
run_prof "$W/p" "$W/prof" "$PY" "$S" localhost "$MOCK_TLS_PORT" "$AP_CA"
mock_since "$W/mock.jsonl"
eq "exit status under the preload" "$(cat "$W/prof.rc")" 0
same_file "output unchanged under the preload" "$W/bare.out" "$W/prof.out"
profile_and_export agent-turns "$W/p" "$W/p.jsonl" || finish

check_py "$W/p.jsonl" "$W/mock.jsonl" <<'PY'
eq("the mock saw five requests of over 200 KiB", [m["body_len"] > 200 * 1024 for m in M], [True] * 5)
eq("five exchanges", len(X), 5)
eq("the request model, after 200 KiB of conversation, on each",
   [x.get("request_model") for x in X], ["gpt-4o"] * 5)
eq("request bytes counted whole", [x.get("bytes_sent", 0) > 200 * 1024 for x in X], [True] * 5)
eq("only the last is a stream", [bool(x.get("stream")) for x in X], [False] * 4 + [True])
h = [x.get("request_hash") for x in X]
check("every request hashed", all(h), repr(h))
check("identical bodies hash the same, the chunked upload too", h[0] == h[1] == h[3], repr(h))
check("one character changed deep in the conversation: another hash", h[2] != h[0], repr(h))
check("the streamed turn: another hash", h[4] not in (h[0], h[2]), repr(h))
PY

"$AP_VIEW" bottlenecks --json "$W/p" >"$W/find.json" 2>"$W/find.err"
pycheck "viewer findings" "$W/find.json" <<'PY'
d = json.load(open(sys.argv[1]))
fs = d.get("findings", d) if isinstance(d, dict) else d
rep = [f for f in fs if f.get("kind") == "repeated_request"]
res("one repeated request, of three calls", [f.get("exchanges_total") for f in rep] == [3],
    repr(rep)[:300])
PY
finish
