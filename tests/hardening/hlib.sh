# shellcheck shell=bash
# hlib.sh: helpers for the hardening tests t5x/t6x (sourced after tests/integration/lib.sh).
#
#   h_build                 build the main targets if missing and tests/hardening fixtures
#   H                       build/hardening (fixtures, apdump, libagentprof-asan.so)
#   h_dump DIR OUT          decode every span file in DIR with apdump (one JSON per record)
#   h_prof DIR PREFIX ENV... -- CMD...   like run_prof, with extra VAR=value settings
#   h_elapsed_ms            milliseconds since h_t0 was called

H=$AP_BUILD/hardening

# h_need PKG...: install missing Debian packages when running as root (what these tests need
# beyond the core set; scripts/install-deps.sh --extra lists them too). 1 if still missing.
h_need() {
	local p miss=""
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || miss="$miss $p"
	done
	[ -z "$miss" ] && return 0
	if [ "$(id -u)" = 0 ]; then
		# shellcheck disable=SC2086
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $miss >"$W/apt.log" 2>&1 ||
			{ apt-get update -qq >/dev/null 2>&1 &&
				DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $miss >>"$W/apt.log" 2>&1; }
	fi
	for p in $miss; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || return 1
	done
}

h_build() {
	h_need g++ libjemalloc2 || fail "packages" "g++/libjemalloc2 missing (scripts/install-deps.sh --extra)"
	if [ ! -f "$AP_LIB" ] || [ ! -x "$AP_VIEW" ]; then
		make -C "$AP_ROOT" --no-print-directory all >"$W/build.log" 2>&1 ||
			{ fail "build" "make all failed: $(tail -3 "$W/build.log" | tr '\n' '|')"; return 1; }
	fi
	if ! make -C "$AP_ROOT/tests/hardening" --no-print-directory -j2 >"$W/hbuild.log" 2>&1; then
		fail "build hardening fixtures" "$(grep -m3 -i error "$W/hbuild.log" | tr '\n' '|')"
		return 1
	fi
}

h_dump() {
	local d=$1 out=$2 f
	: >"$out"
	for f in $(span_files "$d"); do
		"$H/apdump" "$f" >>"$out" 2>>"$out.err"
	done
}

# h_prof DIR PREFIX [VAR=value...] -- CMD...
h_prof() {
	local d=$1 p=$2
	shift 2
	local envs=()
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do
		envs+=("$1")
		shift
	done
	shift
	mkdir -p "$d"
	timeout -k 5 "$AP_TMO" env LD_PRELOAD="$AP_LIB" AGENTPROF_OUT="$d" "${envs[@]}" "$@" \
		>"$p.out" 2>"$p.err"
	echo $? >"$p.rc"
	return "$(cat "$p.rc")"
}

h_t0() {
	_H_T0=$(date +%s%N)
}

h_elapsed_ms() {
	echo $((($(date +%s%N) - _H_T0) / 1000000))
}
