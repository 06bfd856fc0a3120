#!/bin/bash
# t83_pystacks_signals.sh: Python stack captures while signals keep arriving (interval timers
# SIGALRM and SIGPROF every 0.5 ms and a thread sending SIGUSR1 in a loop, Python handlers
# running between bytecodes and the interpreter's C handler interrupting our wrappers), in four
# threads making 50 requests each (tests/targets/py_signal_stress.py): output and exit status
# unchanged, every request recorded under signalled_worker with no truncated stack. Run with
# Debian's python3 and, when installed, pyenv's 3.12 and 3.13 (other frame layouts); 3 rounds.
. "$(dirname "$0")/lib.sh"

require_preload "pystacks" || finish
mock_up || { fail "mock provider" "did not start"; finish; }
FX=$AP_TGT_SRC/py_signal_stress.py
PYENV=${PYENV_ROOT:-$HOME/.pyenv}/versions

pythons=$PY
for minor in 3.12 3.13; do
	p=$(ls -d "$PYENV/$minor".* 2>/dev/null | grep -E "/$minor\.[0-9]+$" | sort -V | tail -1)
	if [ -n "$p" ] && [ -x "$p/bin/python3" ]; then
		pythons="$pythons $p/bin/python3"
	else
		skip "CPython $minor" "not installed under $PYENV"
	fi
done

for py in $pythons; do
	ver=$("$py" -c 'import platform; print(platform.python_version())')
	for round in 1 2 3; do
		d=$W/$ver-$round
		run_both "$d" "$d" "$py" "$FX" "$PLAIN"
		eq "$ver #$round: all requests succeeded" "$(cat "$d.prof.out")" "requests 200 ok"
		if ! "$AP_VIEW" flamegraph --weight calls "$d" >"$d.folded" 2>"$d.ferr"; then
			fail "$ver #$round: flamegraph" "$(head -c 200 "$d.ferr")"
			continue
		fi
		AP_T=$T LABEL="$ver #$round" "$PY" - "$d.folded" <<'PY'
import os, re, sys
T, L = os.environ["AP_T"], os.environ["LABEL"]
calls, bad = {}, []
for raw in open(sys.argv[1]):
    m = re.match(r"^(.*) (\d+)$", raw.strip())
    if not m:
        continue
    fr = m.group(1).split(";")
    leaf = fr[-1]
    if " model-sig-" not in leaf:
        continue
    k = leaf.rsplit(" ", 1)[1]
    calls[k] = calls.get(k, 0) + int(m.group(2))
    if not any(f.startswith("py_signal_stress.py:signalled_worker:") for f in fr) or \
            any("truncated" in f for f in fr):
        bad.append(";".join(fr))
ok = sorted(calls.items()) == [("model-sig-%d" % n, 50) for n in range(4)]
print(f"ok - {T}: {L}: 4 x 50 requests recorded" if ok else f"FAIL - {T}: {L}: 4 x 50 requests recorded: {calls}")
print(f"ok - {T}: {L}: every stack under signalled_worker, none truncated" if not bad else
      f"FAIL - {T}: {L}: every stack under signalled_worker, none truncated: {bad[:2]}")
PY
	done
done
finish
