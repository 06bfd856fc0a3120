#!/bin/bash
# t69_config_files: AGENTPROF_RULES names only a regular file of bounded size. A FIFO does not
# hang the host at start, /dev/stdin does not take the host's input, a directory and a file over
# 64 KiB are refused with a warning, and a parse warning about a .env file named by mistake
# gives the line and the reason, never the file's content. A good rules file still loads.
. "$(dirname "$0")/lib.sh"

require_preload config-files || finish

# rules NAME RULES_PATH CMD...: run CMD under the preload with AGENTPROF_RULES (10 s limit)
rules() {
	local n=$1 r=$2
	shift 2
	mkdir -p "$W/$n.d"
	timeout -k 2 10 env LD_PRELOAD="$AP_LIB" AGENTPROF_OUT="$W/$n.d" AGENTPROF_RULES="$r" "$@" \
		<"${STDIN_FILE:-/dev/null}" >"$W/$n.out" 2>"$W/$n.err"
	echo $? >"$W/$n.rc"
}

mkfifo "$W/fifo"
rules fifo "$W/fifo" /bin/echo started
eq "rules file is a FIFO: the host starts and exits (124 = hung)" "$(cat "$W/fifo.rc")" 0
eq "rules file is a FIFO: host output unchanged" "$(cat "$W/fifo.out")" "started"
check "rules file is a FIFO: warned, not a regular file" grep -q 'AGENTPROF_RULES: .* is not a regular file' "$W/fifo.err"

# /dev/stdin when stdin is a pipe: the host must read all of its own input
printf 'line one\nline two\n' >"$W/input"
mkdir -p "$W/stdin.d"
timeout -k 2 10 sh -c 'cat "$1" | env LD_PRELOAD="$2" AGENTPROF_OUT="$3" AGENTPROF_RULES=/dev/stdin cat' \
	sh "$W/input" "$AP_LIB" "$W/stdin.d" >"$W/stdin.out" 2>"$W/stdin.err"
same_file "rules file /dev/stdin (a pipe): the host still reads all its input" "$W/input" "$W/stdin.out"
check "rules file /dev/stdin: warned, not a regular file" grep -q 'is not a regular file' "$W/stdin.err"

rules dir "$W" /bin/true
eq "rules file is a directory: host exit status 0" "$(cat "$W/dir.rc")" 0
check "rules file is a directory: refused with a warning (not accepted silently)" grep -q 'is not a regular file' "$W/dir.err"

head -c 70000 /dev/zero | tr '\0' '#' >"$W/big"
rules big "$W/big" /bin/true
check "rules file over 64 KiB: refused with a warning" grep -q 'larger than 64 KiB' "$W/big.err"

CANARY=sk-canaryrules-7f3a9c2e51
printf 'OPENAI_API_KEY=%s\nOTHER=%s-2\n' "$CANARY" "$CANARY" >"$W/dot.env"
rules env "$W/dot.env" /bin/true
check "a .env file as rules: warned with the line number" grep -q 'AGENTPROF_RULES: .*line 1: ' "$W/env.err"
eq "a .env file as rules: the warning quotes none of its content" "$(grep -c "$CANARY\|OPENAI_API_KEY" "$W/env.err")" 0

printf '# ours\nhost *.example.lan llm\nport 11434 llm ollama\n' >"$W/good.rules"
rules good "$W/good.rules" /bin/true
eq "a good rules file: no warning" "$(grep -c AGENTPROF_RULES "$W/good.err")" 0
finish
