#!/bin/bash
# t61_metrics: system metrics. The preload writes RSS and CPU user/system counters at every
# flush (so a long run has a series), and the viewer uses them: summary shows each process's
# peak RSS and CPU time and the profiler's own overhead. (A counter timeline view is the
# viewer's; this test notes whether one exists.)
. "$(dirname "$0")/lib.sh"

require_preload metrics || finish
build_targets || finish
mock_up || { fail "mock" "cannot start the mock provider"; finish; }
# 200 exchanges: long enough for a series at 1 ms flushes (not left to the mock's speed)
run_prof "$W/p" "$W/p" AGENTPROF_FLUSH_MS=1 -- "$AP_TGT/exits" exit "$MOCK_PORT" 200
dump_spans "$W/p" "$W/p.dump"
for k in 1 2 3; do
	name=$(case $k in 1) echo RSS ;; 2) echo "CPU user" ;; 3) echo "CPU sys" ;; esac)
	n=$(grep -c "\"rec\":\"counter\",\"kind\":$k," "$W/p.dump")
	ge "$name counter written at flush points ($n samples)" "$n" 3
done
bad=$(grep '"rec":"counter","kind":1,' "$W/p.dump" | grep -c '"value":[0-9]\{0,5\}}')
eq "RSS samples are plausible (>= 100 KB)" "$bad" 0
"$AP_VIEW" summary --json "$W/p" >"$W/s.json" 2>"$W/s.err"
SUMJSON=$W/s.json check_py "" <<'PY'
d = json.load(open(os.environ["SUMJSON"]))
ps = d.get("processes") or []
check("summary --json: peak_rss_bytes and cpu_ns per process", ps and all((p.get("peak_rss_bytes") or 0) > 100000 and p.get("cpu_ns") is not None for p in ps), json.dumps(ps)[:300])
check("summary --json: profiler overhead", isinstance(d.get("overhead"), dict) and "share" in d["overhead"], str(d.get("overhead"))[:200])
PY
"$AP_VIEW" summary "$W/p" >"$W/s.txt" 2>&1
grep -q 'Profiler overhead:.*% of wall' "$W/s.txt" && ok "summary text: profiler overhead line" ||
	fail "summary text: profiler overhead line" "$(tail -3 "$W/s.txt" | tr '\n' '|')"
finish
