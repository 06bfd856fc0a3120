#!/bin/bash
# t95_install: make install into a temporary DESTDIR gives a working tool: the installed launcher
# finds its library under PREFIX/lib/agentprof and the installed viewer reads the run, from
# another working directory; every binary answers --version; man -l renders each page; the
# pkg-config file gives the header's -I; bash completion loads and completes commands;
# make uninstall removes every file again.
. "$(dirname "$0")/lib.sh"

mock_up || { fail "mock" "cannot start the mock provider"; finish; }
D=$W/dest
P=/opt/aptest
if make --no-print-directory -s -C "$AP_ROOT" install DESTDIR="$D" PREFIX="$P" >"$W/install.log" 2>&1; then
	ok "make install DESTDIR PREFIX"
else
	fail "make install DESTDIR PREFIX" "$(tail -5 "$W/install.log" | tr '\n' '|')"
	finish
fi
for f in bin/agentprof bin/agentprof-view lib/agentprof/libagentprof.so include/agentprof.h \
	lib/pkgconfig/agentprof.pc share/man/man1/agentprof.1 share/man/man1/agentprof-view.1 \
	share/man/man7/agentprof.7 share/bash-completion/completions/agentprof; do
	if [ -f "$D$P/$f" ]; then ok "installed $f"; else fail "installed $f" "missing"; fi
done

# --version everywhere (the .so run as a program)
for b in "$D$P/bin/agentprof" "$D$P/bin/agentprof-view" "$D$P/lib/agentprof/libagentprof.so"; do
	v=$(timeout 10 "$b" --version 2>&1)
	if printf '%s' "$v" | grep -qE '[0-9]+\.[0-9]+\.[0-9]+'; then
		ok "$(basename "$b") --version: $(printf '%s' "$v" | head -1)"
	else
		fail "$(basename "$b") --version" "$v"
	fi
done

# a run with the installed launcher, from another directory: a copy of the installed tree
# that is not under the build directory, so nothing can come from build/
mkdir -p "$W/elsewhere"
(
	cd "$W/elsewhere" || exit 1
	timeout -k 5 "$AP_TMO" "$D$P/bin/agentprof" run -o run1 -- \
		curl -sS -d '{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}' \
		"$PLAIN/v1/chat/completions" >curl.out 2>run.err
	echo $? >run.rc
)
eq "installed launcher: exit status of the command" "$(cat "$W/elsewhere/run.rc")" 0
if grep -q 'LLM' "$W/elsewhere/run.err" && [ -n "$(span_files "$W/elsewhere/run1")" ]; then
	ok "installed launcher: span files and the summary from the installed viewer"
else
	fail "installed launcher: span files and summary" "$(head -c 400 "$W/elsewhere/run.err")"
fi
n=$(cd "$W/elsewhere" && "$D$P/bin/agentprof-view" export --format jsonl run1 2>/dev/null | grep -c '"kind":"exchange"')
eq "installed viewer: one exchange exported" "$n" 1
# the library path the launcher chose (it must be the installed one)
if (cd "$W/elsewhere" && AGENTPROF_DISABLE=1 "$D$P/bin/agentprof" run -o run2 --no-summary -- sh -c 'echo "$LD_PRELOAD"') | grep -q "^$D$P/lib/agentprof/libagentprof.so"; then
	ok "installed launcher preloads the installed library"
else
	fail "installed launcher preloads the installed library" "LD_PRELOAD was something else"
fi

# man pages render without warnings
for m in "$D$P"/share/man/man*/*; do
	if out=$(MANWIDTH=80 man -l --warnings "$m" 2>&1 >/dev/null) && [ -z "$out" ] &&
		MANWIDTH=80 man -l "$m" 2>/dev/null | grep -q NAME; then
		ok "man -l $(basename "$m")"
	else
		fail "man -l $(basename "$m")" "$out"
	fi
done
if MANWIDTH=80 man -l "$D$P/share/man/man1/agentprof-view.1" | grep -qE '^   (summary|export|html)'; then
	ok "agentprof-view(1) has a section per command"
else
	fail "agentprof-view(1) has a section per command" "no command subsections"
fi

# pkg-config
cflags=$(PKG_CONFIG_PATH=$D$P/lib/pkgconfig pkg-config --cflags agentprof 2>&1)
eq "pkg-config --cflags agentprof" "${cflags% }" "-I$P/include"
printf '#include <agentprof.h>\nint main(void){AGENTPROF_SPAN_BEGIN("a","llm");AGENTPROF_SPAN_END();return 0;}\n' >"$W/uses.c"
if cc -o "$W/uses" "$W/uses.c" -I"$D$P/include" 2>"$W/cc.err" && "$W/uses"; then
	ok "a program built against the installed header runs without the preload"
else
	fail "program against the installed header" "$(head -3 "$W/cc.err")"
fi

# bash completion
comp=$(bash -c '. "$1"; COMP_WORDS=(agentprof-view ex); COMP_CWORD=1; _agentprof_view; echo "${COMPREPLY[*]}";
	COMP_WORDS=(agentprof-view export --format o); COMP_CWORD=3; _agentprof_view; echo "${COMPREPLY[*]}"' _ \
	"$D$P/share/bash-completion/completions/agentprof" 2>&1)
eq "bash completion: commands and --format values" "$(printf '%s' "$comp" | tr '\n' '|')" "export|otlp otlp-metrics"

# uninstall leaves nothing behind
make --no-print-directory -s -C "$AP_ROOT" uninstall DESTDIR="$D" PREFIX="$P" >"$W/uninstall.log" 2>&1
left=$(find "$D" -type f -o -type l | sed "s|^$D||")
eq "make uninstall removes every installed file" "$left" ""
finish
