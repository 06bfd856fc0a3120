# shellcheck shell=bash
# writer_lib.sh: the writer's interleaving loops, shared by the short runs in make test
# (t62/t63) and the long ones in make stress (scripts/stress.sh). Source after lib.sh and
# hlib.sh, with the mock up. Each wr_* function runs a loop, prints one count line and returns
# the number of bad runs (0 = every run was right).

# wr_check DIR: damaged files or duplicated exchange ids in DIR's span files -> stdout "ok"/why
wr_check() {
	local d=$1
	h_dump "$d" "$d.dump"
	python3 - "$d.dump" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
files = [r for r in recs if r.get("rec") == "_file"]
bad = [r["file"] for r in files if r["damaged"]]
ids = [(r["file"], r["id"]) for r in recs if r.get("rec") == "exchange"]
dup = len(ids) - len(set(ids))
procs = [r for r in recs if r.get("rec") == "process"]
if not files:
    print("no span file")
elif bad:
    print("damaged: " + " ".join(bad))
elif dup:
    print("%d duplicated exchanges" % dup)
elif len(procs) != len(files):
    print("%d process records in %d files" % (len(procs), len(files)))
else:
    print("ok")
PY
}

# wr_loop NAME RUNS WANT_RC MODE N [ENV...]: run the fixture RUNS times; a run is bad when it
# hangs (timeout), crashes, changes its exit status or leaves a damaged/duplicated file.
wr_loop() {
	local name=$1 runs=$2 want=$3 mode=$4 n=$5 i rc why bad=0 hang=0 crash=0
	shift 5
	for i in $(seq 1 "$runs"); do
		rm -rf "$W/wr.$mode"
		mkdir -p "$W/wr.$mode"
		timeout -k 2 20 env LD_PRELOAD="$AP_LIB" AGENTPROF_OUT="$W/wr.$mode" "$@" \
			"$H/wrstress" "$mode" "$MOCK_PORT" "$n" >"$W/wr.$mode.out" 2>"$W/wr.$mode.err"
		rc=$?
		if [ $rc = 124 ] || [ $rc = 137 ]; then
			hang=$((hang + 1))
			bad=$((bad + 1))
			continue
		fi
		if [ $rc != "$want" ]; then
			crash=$((crash + 1))
			bad=$((bad + 1))
			echo "  $name run $i: exit status $rc, want $want: $(head -c 200 "$W/wr.$mode.err")"
			continue
		fi
		why=$(wr_check "$W/wr.$mode")
		if [ "$why" != ok ]; then
			bad=$((bad + 1))
			echo "  $name run $i: $why"
		fi
	done
	echo "$name: $bad of $runs runs bad ($hang hangs, $crash crashes or wrong exit status)"
	return $bad
}

# wr_kill9 RUNS CALLS [MODE PATH LABEL]: stream LLM calls (or make tool exchanges) and kill -9
# the client at a random moment; every call the client saw finish must be on disk.
wr_kill9() {
	local runs=$1 calls=$2 mode=${3:-stream} path=${4:-/v1/chat/completions}
	local label=${5:-kill -9 during streaming} i pid done_n rec lost=0 total=0 bad=0 d
	for i in $(seq 1 "$runs"); do
		d=$W/k9
		rm -rf "$d"
		mkdir -p "$d"
		env LD_PRELOAD="$AP_LIB" AGENTPROF_OUT="$d" AGENTPROF_FLUSH_MS=60000 \
			"$H/wrstress" "$mode" "$MOCK_PORT" "$calls" >"$d.out" 2>"$d.err" &
		pid=$!
		sleep "0.$((RANDOM % 6 + 2))"
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		done_n=$(grep -c '^done ' "$d.out")
		h_dump "$d" "$d.dump"
		rec=$(grep '"rec":"exchange"' "$d.dump" | grep -c "\"path\":\"$path\"")
		total=$((total + done_n))
		if [ "$rec" -lt "$done_n" ]; then
			lost=$((lost + done_n - rec))
			bad=$((bad + 1))
		fi
	done
	echo "$label: $lost of $total finished calls lost ($runs runs)"
	return $bad
}

# wr_tsan RUNS: the preload built with ThreadSanitizer under the threaded fixtures (exit race,
# and, with WR_TSAN_ALL=1, fork with busy threads and cancellation); prints the races reported in the writer's files and
# elsewhere. Returns the number of writer races (rt_writer.c, rt_init.c, hook_proc.c).
wr_tsan() {
	local runs=$1 ts lib d mine other
	ts=$(gcc -print-file-name=libtsan.so)
	make -C "$AP_ROOT/tests/hardening" --no-print-directory tsan >"$W/tsan.build" 2>&1 ||
		{ echo "tsan: build failed: $(tail -2 "$W/tsan.build" | tr '\n' '|')"; return 1; }
	lib="$ts:$H/libagentprof-tsan.so"
	d=$W/tsan
	rm -rf "$d"
	mkdir -p "$d/out"
	for i in $(seq 1 "$runs"); do
		for m in "race 30" ${WR_TSAN_ALL:+"fork 5" "cancel 5"}; do
			# shellcheck disable=SC2086
			TSAN_OPTIONS="log_path=$d/report exitcode=0" AGENTPROF_UNWIND=fp AGENTPROF_FLUSH_MS=1 \
				AGENTPROF_OUT="$d/out" LD_PRELOAD="$lib" timeout -k 2 60 "$H/wrstress" $m \
				"$MOCK_PORT" >/dev/null 2>&1
		done
	done
	# the first frame of each data-race report says where it is; thread leaks (the fixture's
	# race mode exits without joining, on purpose) are not races
	mine=$(cat "$d"/report* 2>/dev/null | awk '/^WARNING: ThreadSanitizer: data race/{w=1; next} w && /#0 /{print; w=0}' |
		grep -c 'rt_writer.c\|rt_init.c\|hook_proc.c')
	other=$(cat "$d"/report* 2>/dev/null | grep -c '^WARNING: ThreadSanitizer: data race')
	echo "tsan: $mine data races in the writer, $((other - mine)) elsewhere ($runs rounds${WR_TSAN_ALL:+ of race, fork, cancel})"
	return "$mine"
}
