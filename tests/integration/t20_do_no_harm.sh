#!/bin/bash
# t20_do_no_harm: the preload must not change behaviour (docs/internals/contract.md §0).
#  - errno_probe: errno of failing calls is the real one; errno preset to EDOM survives
#    successful calls (incl. the fortified __recv_chk/__read_chk/__recvfrom_chk entry points)
#  - eintr_probe: blocking calls interrupted by SIGALRM without SA_RESTART return -1/EINTR; the
#    signal dispositions and mask are untouched; no thread is added
#  - Python: a signal handler that raises interrupts a blocking recv within about 1 s
#  - curl: same output and exit status for success, connection refused and a bad CA
#  - stdin/stdout pass-through, exit status pass-through (also through `agentprof run`)
#  - fork: the parent and the child each get their own span file named with their pid
. "$(dirname "$0")/lib.sh"

mock_up || { fail "mock" "cannot start the mock provider"; finish; }
[ -x "$AP_TGT/errno_probe" ] || make -s -C "$AP_TGT_SRC" >/dev/null

# same NAME CMD...: once bare, once under the preload; same exit status and stdout (lib.sh)
same() {
	run_both "$W/$1" "$W/prof" "${@:2}"
}

# sanity of the probes themselves (no preload involved)
run_bare "$W/e0" "$AP_TGT/errno_probe"
eq "errno_probe runs" "$(cat "$W/e0.rc")" 0
# (glibc's getaddrinfo("localhost") may itself change errno: compared, not required to be EDOM)
eq "errno_probe: successful calls keep EDOM (bare)" "$(grep '^ok ' "$W/e0.out" | grep -v 'getaddrinfo localhost' | grep -vc 'errno=EDOM')" 0
run_bare "$W/i0" "$AP_TGT/eintr_probe"
eq "eintr_probe: seven EINTRs (bare)" "$(grep -c 'errno=EINTR handler_ran=1' "$W/i0.out")" 7

require_preload do-no-harm || finish

same errno_probe "$AP_TGT/errno_probe"
same eintr_probe "$AP_TGT/eintr_probe"
grep -q 'threads at end: 1' "$W/eintr_probe.prof.out" && ok "no thread added by the preload" || fail "no thread added by the preload" "$(grep threads "$W/eintr_probe.prof.out")"

cat >"$W/pyintr.py" <<'PYEOF'
import signal, socket, time
class Boom(Exception):
    pass
def h(sig, frm):
    raise Boom()
signal.signal(signal.SIGALRM, h)
a, b = socket.socketpair()
c = socket.create_connection(("127.0.0.1", int(__import__("sys").argv[1])))
for label, sock in (("socketpair", a), ("tcp", c)):
    signal.setitimer(signal.ITIMER_REAL, 0.3)
    t0 = time.monotonic()
    try:
        sock.recv(10)
        print(label, "recv returned: wrong")
    except Boom:
        print(label, "handler raised in time:", time.monotonic() - t0 < 1.0)
PYEOF
same py_eintr "$PY" "$W/pyintr.py" "$MOCK_PORT"
grep -c 'in time: True' "$W/py_eintr.prof.out" | grep -q 2 && ok "python: raising handler interrupts recv under the preload" || fail "python: raising handler interrupts recv" "$(cat "$W/py_eintr.prof.out")"

printf '{"model":"gpt-4o","messages":[{"role":"user","content":"same bytes please"}]}' >"$W/body.json"
same curl_ok curl -sS -H 'Content-Type: application/json' -d @"$W/body.json" "$PLAIN/v1/chat/completions"
same curl_tls curl -sS --cacert "$AP_CA" -H 'Content-Type: application/json' -d @"$W/body.json" "$TLSURL/v1/messages"
same curl_stream curl -sS -N -H 'Content-Type: application/json' -d '{"model":"gpt-4o","stream":true,"messages":[]}' "$PLAIN/v1/chat/completions"
# a port nobody listens on: bind one, let it go
CLOSED=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
same curl_refused curl -sS "http://127.0.0.1:$CLOSED/"
eq "curl refused: exit 7 both ways" "$(cat "$W/curl_refused.prof.rc")" 7
same curl_badca curl -sS "https://localhost:$MOCK_TLS_PORT/health"
eq "curl bad CA: exit 60 both ways" "$(cat "$W/curl_badca.prof.rc")" 60
same curl_404 curl -sS -f "$PLAIN/nope"
eq "curl -f 404: exit 22 both ways" "$(cat "$W/curl_404.prof.rc")" 22

# stdin -> stdout, and exit statuses
printf 'line one\nline two\n' >"$W/in.txt"
run_prof "$W/prof" "$W/cat" /bin/sh -c 'cat; exit 0' <"$W/in.txt"
same_file "stdin passes through" "$W/in.txt" "$W/cat.out"
run_prof "$W/prof" "$W/exit3" /bin/sh -c 'exit 3'
eq "exit status 3 passes through" "$(cat "$W/exit3.rc")" 3
(run_prof "$W/prof" "$W/kill" /bin/sh -c 'kill -TERM $$') 2>/dev/null # no "Terminated" notice
eq "death by SIGTERM passes through (143)" "$(cat "$W/kill.rc")" 143
if [ -x "$AP_LAUNCHER" ]; then
	timeout 60 "$AP_LAUNCHER" run -o "$W/launch" -- /bin/sh -c 'echo from-child; exit 7' >"$W/launch.out" 2>"$W/launch.err"
	eq "agentprof run: exit status passes through" "$?" 7
	grep -q '^from-child$' "$W/launch.out" && ok "agentprof run: the command's stdout is kept" || fail "agentprof run: stdout" "$(head -3 "$W/launch.out")"
	ge "agentprof run: span file written" "$(span_files "$W/launch" | wc -l)" 1
else
	fail "agentprof run" "build/agentprof missing"
fi

# fork: one file per process, named with its pid
run_prof "$W/fork" "$W/fork" "$AP_TGT/fork_child" "$MOCK_PORT"
eq "fork_child: exit 0" "$(cat "$W/fork.rc")" 0
PP=$(sed -n 's/^parent_pid=\([0-9]*\) child_pid=.*/\1/p' "$W/fork.out")
CP=$(sed -n 's/^parent_pid=[0-9]* child_pid=\([0-9]*\)/\1/p' "$W/fork.out")
[ -f "$W/fork/agentprof.fork_child.$PP.zst" ] && ok "fork: parent file agentprof.fork_child.<parent pid>.zst" || fail "fork: parent file" "$(ls "$W/fork")"
[ -f "$W/fork/agentprof.fork_child.$CP.zst" ] && ok "fork: child file agentprof.fork_child.<child pid>.zst" || fail "fork: child file" "$(ls "$W/fork")"
eq "fork: exactly two span files" "$(span_files "$W/fork" | wc -l)" 2
for f in $(span_files "$W/fork"); do
	zstd -qt "$f" 2>/dev/null && ok "fork: $(basename "$f") is valid zstd" || fail "fork: $(basename "$f") is valid zstd" "zstd -t failed"
done
if ap_export "$W/fork" "$W/fork.jsonl"; then
	FORK_PP=$PP FORK_CP=$CP check_py "$W/fork.jsonl" <<'PY'
import os
pp, cp = int(os.environ["FORK_PP"]), int(os.environ["FORK_CP"])
eq("fork: parent's exchanges", [(x.get("method"), x.get("path")) for x in X if x["pid"] == pp],
   [("GET", "/tool/weather"), ("POST", "/v1/chat/completions")])
eq("fork: child's exchange", [(x.get("method"), x.get("path"), x.get("provider")) for x in X if x["pid"] == cp],
   [("POST", "/api/generate", "ollama")])
procs = {p["pid"]: p for p in P}
check("fork: both processes recorded", pp in procs and cp in procs, repr(sorted(procs)))
check("fork: child's ppid is the parent", procs.get(cp, {}).get("ppid") == pp)
eq("fork: child's exit code (it calls exit(0))", procs.get(cp, {}).get("exit_code"), 0)
check("fork: no exchange of the parent duplicated into the child",
      len([x for x in X if x["pid"] == cp]) == 1)
PY
else
	fail "fork: export" "$(head -c 300 "$W/fork.jsonl.err")"
fi
finish
