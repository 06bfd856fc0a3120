#!/bin/bash
# check-layers.sh: fails when an #include points up or across the layers (docs/internals/layout.md).
#
# Layers, lowest first; a file may include headers of its own layer and of the layers it lists:
#   preload/core         pure code shared by the preload and the viewer: core only
#   preload/runtime      the preload's runtime: core, runtime (never a hook)
#   preload/hooks        the wrappers: core, runtime
#   tools/view/load      reader, model, selection: core, load
#   tools/view/analyze   analyses over a const run: core, load, analyze
#   tools/view/render    text/JSON/HTML renderers: core, load, analyze, render
#   tools/view/export    exporters: core, load, analyze, render, export
#   tools/view/cmd       commands: everything in the viewer
# include/agentprof.h (the public header) may be included from anywhere. The preload's one
# constructor and one pthread_atfork are in preload/runtime/rt_init.c; hooks call no dlsym/dlopen.
# Prints one line per violation and "layers ok" or "N layer violations"; exit 1 on any.
set -u
cd "$(dirname "$0")/.." || exit 2

allowed() { # LAYER -> the folders it may include from
	case $1 in
	preload/core) echo "preload/core" ;;
	preload/runtime) echo "preload/core preload/runtime" ;;
	preload/hooks) echo "preload/core preload/runtime preload/hooks" ;;
	tools/view/load) echo "preload/core tools/view/load" ;;
	tools/view/analyze) echo "preload/core tools/view/load tools/view/analyze" ;;
	tools/view/render) echo "preload/core tools/view/load tools/view/analyze tools/view/render" ;;
	tools/view/export) echo "preload/core tools/view/load tools/view/analyze tools/view/render tools/view/export" ;;
	tools/view/cmd) echo "preload/core tools/view/load tools/view/analyze tools/view/render tools/view/export tools/view/cmd" ;;
	esac
}

# Where each project header lives (headers are included by bare name; the Makefile adds -I per folder).
declare -A home
for h in preload/*/*.h tools/view/*/*.h; do
	[ -f "$h" ] || continue
	b=$(basename "$h")
	if [ -n "${home[$b]:-}" ]; then
		echo "layer check: header name $b is used twice (${home[$b]}, $(dirname "$h"))"
		bad=1
	fi
	home[$b]=$(dirname "$h")
done

bad=${bad:-0}
n=0
for f in preload/*/*.[ch] tools/view/*/*.[ch]; do
	[ -f "$f" ] || continue
	layer=$(dirname "$f")
	ok=$(allowed "$layer")
	if [ -z "$ok" ]; then
		echo "layer check: $f is in no known layer (add its folder to scripts/check-layers.sh)"
		n=$((n + 1))
		continue
	fi
	while IFS= read -r inc; do
		[ "$inc" = agentprof.h ] && continue
		where=${home[$inc]:-}
		if [ -z "$where" ]; then
			case $inc in */*) echo "layer check: $f includes \"$inc\" by path (include by name)"; n=$((n + 1)) ;; esac
			continue
		fi
		case " $ok " in
		*" $where "*) ;;
		*)
			echo "layer check: $f ($layer) includes $inc from $where"
			n=$((n + 1))
			;;
		esac
	done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
done
# The preload's start-up has one place (docs/internals/layout.md): the one constructor and the one
# pthread_atfork are in preload/runtime/rt_init.c, and no hook resolves or loads symbols itself.
while IFS= read -r hit; do
	echo "layer check: $hit (start-up and fork handling belong in preload/runtime/rt_init.c)"
	n=$((n + 1))
done < <(grep -nE '__attribute__\(\((constructor|destructor)|pthread_atfork\(' preload/*/*.c |
	grep -v '^preload/runtime/rt_init\.c:')
while IFS= read -r hit; do
	echo "layer check: $hit (a hook's real function comes from the resolver table, rt_syms.h)"
	n=$((n + 1))
done < <(grep -nE '\bdl(v?sym|open)\(' preload/hooks/*.c)
n=$((n + bad))
if [ "$n" -eq 0 ]; then
	echo "layers ok"
else
	echo "$n layer violations"
	exit 1
fi
