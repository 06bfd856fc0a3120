# agentprof.bash: bash completion for agentprof and agentprof-view (installed by make install).

_agentprof_view()
{
	local cur prev cmd
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}
	local commands="summary export flame waterfall tokens bottlenecks critical-path diff flamegraph html help"
	if [ "$COMP_CWORD" -eq 1 ]; then
		mapfile -t COMPREPLY < <(compgen -W "$commands --help --version" -- "$cur")
		return
	fi
	cmd=${COMP_WORDS[1]}
	case $prev in
	--format)
		mapfile -t COMPREPLY < <(compgen -W "jsonl folded speedscope chrome otlp otlp-metrics prom" -- "$cur")
		return
		;;
	--category)
		mapfile -t COMPREPLY < <(compgen -W "llm tool memory process" -- "$cur")
		return
		;;
	--weight)
		mapfile -t COMPREPLY < <(compgen -W "time calls tokens cost" -- "$cur")
		return
		;;
	--roots)
		mapfile -t COMPREPLY < <(compgen -W "none process thread" -- "$cur")
		return
		;;
	--prices | --output | -o | --state)
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		return
		;;
	--follow)
		mapfile -t COMPREPLY < <(compgen -d -- "$cur")
		return
		;;
	--pid | --model | --host | --agent | --width | --limit | --budget | --threshold | --fail-on | \
		--depth | --endpoint | --batch-spans | --batch-bytes | --provider)
		return
		;;
	esac
	if [ "$cmd" = help ]; then
		mapfile -t COMPREPLY < <(compgen -W "$commands" -- "$cur")
		return
	fi
	if [[ $cur == -* ]]; then
		# the command's own options, read from its --help
		local opts
		opts=$("${COMP_WORDS[0]}" "$cmd" --help 2>/dev/null | grep -oE '^  (-h, )?--[a-z-]+' | grep -oE -- '--[a-z-]+')
		mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
		return
	fi
	mapfile -t COMPREPLY < <(compgen -f -- "$cur")
}

_agentprof()
{
	local cur=${COMP_WORDS[COMP_CWORD]} i
	if [ "$COMP_CWORD" -eq 1 ]; then
		mapfile -t COMPREPLY < <(compgen -W "run --help --version" -- "$cur")
		return
	fi
	for ((i = 2; i < COMP_CWORD; i++)); do
		if [ "${COMP_WORDS[i]}" = -- ]; then
			# the profiled command and its arguments
			if [ $((i + 1)) -eq "$COMP_CWORD" ]; then
				mapfile -t COMPREPLY < <(compgen -c -- "$cur")
			else
				mapfile -t COMPREPLY < <(compgen -f -- "$cur")
			fi
			return
		fi
	done
	case ${COMP_WORDS[COMP_CWORD - 1]} in
	-o)
		mapfile -t COMPREPLY < <(compgen -d -- "$cur")
		return
		;;
	esac
	mapfile -t COMPREPLY < <(compgen -W "-o --no-summary -- --help" -- "$cur")
}

complete -F _agentprof agentprof
complete -o filenames -F _agentprof_view agentprof-view
