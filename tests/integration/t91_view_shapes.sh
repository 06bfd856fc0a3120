#!/bin/bash
# t91_view_shapes.sh: the views on the run shapes real agents produce (scripted by
# build/targets/gen_spans scenario): a pyenv-style shim chain (bash forking 62 helpers, then exec of
# python3), a 300-exchange loop, two concurrent calls followed by a third, two calls ending
# together, retries and repeats,
# and the same run against another port. Asserts the process table (agent first, helpers
# folded with their counts), one waterfall row per exchange with its label, the critical path
# (one of the concurrent pair, repeated segments folded), grouped findings, widths, colour and
# diff across ports; compares text views with tests/golden/*.txt (AP_UPDATE_GOLDEN=1 rewrites).
. "$(dirname "$0")/lib.sh"

GEN=$AP_TGT/gen_spans
if [ ! -x "$GEN" ] || [ ! -x "$AP_VIEW" ]; then
	fail "viewer and generator built" "run 'make all unittest' first"
	finish
fi
for s in shim loop pair ties retry retry-8443 seq spans procs findings; do
	"$GEN" scenario "$W/$s" "$s" || fail "generate $s"
done

golden() {
	local name=$1 want=$AP_ROOT/tests/golden/$1.txt got=$W/$1.txt
	shift
	"$AP_VIEW" "$@" >"$got" 2>&1
	sed -i "s#$W#W#g" "$got"
	if [ "${AP_UPDATE_GOLDEN:-0}" = 1 ]; then
		cp "$got" "$want"
		ok "golden $name (updated)"
	elif diff -u "$want" "$got" >"$W/$name.diff" 2>&1; then
		ok "golden $name"
	else
		fail "golden $name" "differs from tests/golden/$name.txt: $(head -c 600 "$W/$name.diff")"
	fi
}
golden summary_shim summary --width 100 "$W/shim"
golden waterfall_loop waterfall --width 100 --limit 12 "$W/loop"
golden critical_path_loop critical-path --width 100 "$W/loop"
golden critical_path_pair critical-path --width 100 "$W/pair"
golden bottlenecks_loop bottlenecks --width 100 "$W/loop"
golden bottlenecks_retry bottlenecks --width 100 "$W/retry"
golden waterfall_procs waterfall --width 100 "$W/procs"

# text: widths, colour
for w in 60 100 200; do
	long=""
	for c in summary flame waterfall critical-path bottlenecks tokens; do
		for s in shim loop pair retry seq spans procs findings; do
			"$AP_VIEW" "$c" --width "$w" "$W/$s" >"$W/out.txt" 2>&1
			n=$("$PY" -c 'import sys; print(max((len(l) for l in open(sys.argv[1], encoding="utf-8").read().split("\n")), default=0))' "$W/out.txt")
			[ "$n" -gt "$w" ] && long="$long $c/$s:$n"
		done
	done
	for s in loop procs retry; do
		"$AP_VIEW" waterfall --lanes --width "$w" "$W/$s" >"$W/out.txt" 2>&1
		n=$("$PY" -c 'import sys; print(max(len(l) for l in open(sys.argv[1], encoding="utf-8").read().split("\n")))' "$W/out.txt")
		[ "$n" -gt "$w" ] && long="$long lanes/$s:$n"
	done
	"$AP_VIEW" diff --width "$w" "$W/retry" "$W/retry-8443" >"$W/out.txt" 2>&1
	n=$("$PY" -c 'import sys; print(max(len(l) for l in open(sys.argv[1], encoding="utf-8").read().split("\n")))' "$W/out.txt")
	[ "$n" -gt "$w" ] && long="$long diff:$n"
	if [ -z "$long" ]; then ok "every text line fits --width $w"; else fail "every text line fits --width $w" "$long"; fi
done
esc=0
for c in summary waterfall critical-path bottlenecks; do
	NO_COLOR=1 "$AP_VIEW" "$c" --color=auto "$W/loop" | grep -q $'\033' && esc=1
	"$AP_VIEW" "$c" "$W/loop" | grep -q $'\033' && esc=2
done
eq "NO_COLOR and piped output: no escape sequences" "$esc" 0
if "$AP_VIEW" waterfall --color=always "$W/retry" | grep -q $'\033\[3'; then
	ok "--color=always colours by category"
else
	fail "--color=always colours by category" "no SGR colour"
fi
NO_COLOR=1 script -qec "$AP_VIEW waterfall --width 100 $W/retry" /dev/null >"$W/tty.txt" 2>&1
if grep -q $'\033' "$W/tty.txt"; then fail "NO_COLOR on a terminal" "escapes"; else ok "NO_COLOR on a terminal: no escapes"; fi
script -qec "$AP_VIEW waterfall --width 100 $W/retry" /dev/null >"$W/tty.txt" 2>&1
if grep -q $'\033\[3' "$W/tty.txt"; then ok "colour on a terminal by default"; else fail "colour on a terminal by default" "$(head -c 200 "$W/tty.txt")"; fi
"$AP_VIEW" summary --color=sometimes "$W/loop" >/dev/null 2>"$W/err.txt"
eq "--color=sometimes is bad usage (exit 2)" "$?" 2

export W AP_VIEW
check_py "" <"$AP_ROOT/tests/integration/checkers/t91_view_shapes.py"
finish
