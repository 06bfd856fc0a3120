#!/bin/bash
# t81_pystacks_versions.sh: Python call stacks with every other CPython on the machine. For each
# pyenv CPython 3.9 to 3.13 (~/.pyenv/versions, shared libpython builds; or AP_PYTHONS="path ...")
# the two call paths of tests/targets/py_paths.py through http.client, urllib.request and
# asyncio streams must show with the right function names and line numbers, as with Debian's
# 3.11 (t80). A version that is not installed is skipped visibly. Older CPythons (3.6 to 3.8)
# must run unchanged with one "pystacks" diagnostic and no Python frames.
. "$(dirname "$0")/lib.sh"

require_preload "pystacks" || finish
mock_up || { fail "mock provider" "did not start"; finish; }
FX=$AP_TGT_SRC/py_paths.py
CHECK=$AP_ROOT/tests/integration/pystack_check.py
PYENV=${PYENV_ROOT:-$HOME/.pyenv}/versions

# the newest installed pyenv CPython of a minor version, "" if none
pyenv_python() {
	local d
	d=$(ls -d "$PYENV/$1".* 2>/dev/null | grep -E "/$1\.[0-9]+$" | sort -V | tail -1)
	[ -n "$d" ] && [ -x "$d/bin/python3" ] && echo "$d/bin/python3"
}

tested=""
for minor in 3.9 3.10 3.11 3.12 3.13; do
	py=$(pyenv_python "$minor")
	if [ -z "$py" ]; then
		skip "CPython $minor" "not installed under $PYENV"
		continue
	fi
	ver=$("$py" -c 'import platform; print(platform.python_version())')
	tested="$tested $ver"
	for lib in http.client urllib asyncio; do
		async=0
		[ "$lib" = asyncio ] && async=1
		d=$W/$ver-$lib
		"$py" "$FX" "$lib" x --lines >"$d.lines.json"
		run_both "$W/$ver-$lib" "$d" "$py" "$FX" "$lib" "$PLAIN"
		if ! "$AP_VIEW" flamegraph "$d" >"$d.folded" 2>"$d.err"; then
			fail "$ver $lib: flamegraph" "$(head -c 300 "$d.err")"
			continue
		fi
		"$PY" "$CHECK" "$T" "CPython $ver $lib" "$d.folded" "$d.lines.json" "$async" &&
			ok "CPython $ver $lib: call paths"
	done
	# the innermost frame: the socket call inside http.client, line and qualified name
	d=$W/$ver-http.client
	case $minor in
	3.9 | 3.10) want='client.py:send:' ;; # co_qualname exists from 3.11 on
	*) want='client.py:HTTPConnection.send:' ;;
	esac
	check "CPython $ver: innermost frame $want<line>" grep -q "${want}[0-9]*;\[llm\]" "$d.folded"
done
echo "# t81: CPython versions tested:${tested:- none}"
[ -n "$tested" ] && ok "CPython versions tested:$tested"

# older versions: unchanged behaviour, a diagnostic once, no Python frames
for minor in 3.6 3.7 3.8; do
	py=$(pyenv_python "$minor")
	if [ -z "$py" ]; then
		skip "CPython $minor (unsupported)" "not installed under $PYENV"
		continue
	fi
	d=$W/old-$minor
	run_both "$W/old-$minor" "$d" "$py" "$FX" http.client "$PLAIN"
	"$AP_VIEW" summary "$d" >"$d.summary" 2>&1
	eq "CPython $minor: one pystacks diagnostic" "$(grep -c 'pystacks x1: CPython' "$d.summary")" 1
	"$AP_VIEW" flamegraph "$d" >"$d.folded" 2>/dev/null
	check "CPython $minor: no Python frames" sh -c "! grep -q 'py_paths.py:' '$d.folded'"
	eq "CPython $minor: both paths still recorded" "$(grep -c '\[llm\]' "$d.folded")" 2
done
finish
