#!/bin/bash
# t50_linkage: the preload's linkage is private and complete (docs/internals/contract.md §1.5, §1.7,
# §2.2, §5.3). Exports are exactly the list in preload/hooks/exports.map; no libunwind/libzstd/libz
# dependency; initial-exec TLS only (0 __tls_get_addr, STATIC_TLS); a port of firebuild's
# test_symbols: every public fortified/64/__ variant glibc exports for a wrapped function is
# wrapped too, and every multi-version function is wrapped in all its versions; fortified
# fixtures really call __recv_chk/__read_chk/__recvfrom_chk and are recorded; a dlopen()ed C++
# module still resolves _Unwind_RaiseException to libgcc_s.
. "$(dirname "$0")/lib.sh"

require_preload linkage || finish
build_targets || finish
LIBC=$(ldconfig -p 2>/dev/null | awk '/libc\.so\.6 .*x86-64/ {print $NF; exit}')
[ -n "$LIBC" ] || LIBC=/lib/x86_64-linux-gnu/libc.so.6

# --- exports ----------------------------------------------------------------------------------
sed -n '/EXPORTS (unversioned)/,/END EXPORTS/p' "$AP_ROOT/preload/hooks/exports.map" |
	grep -v EXPORTS | tr -s ' \t*' '\n' | grep -v '^$' | sort -u >"$W/want"
nm -D --defined-only "$AP_LIB" | awk '$2 != "A" {print $3}' | sort -u >"$W/got"
if [ -s "$W/want" ] && cmp -s "$W/want" "$W/got"; then
	ok "nm -D --defined-only equals the exports.map list ($(wc -l <"$W/got") symbols)"
else
	fail "nm -D --defined-only equals the exports.map list" \
		"extra: $(comm -13 "$W/want" "$W/got" | tr '\n' ' ') missing: $(comm -23 "$W/want" "$W/got" | tr '\n' ' ')"
fi
deps=$(ldd "$AP_LIB" | awk '{print $1}' | grep -vE '^(linux-vdso|/lib64/ld-linux|libc\.so|libdl\.so|libpthread\.so)' | tr '\n' ' ')
eq "ldd: only libc (+ld.so, libdl, libpthread)" "$deps" ""
n=$(objdump -d "$AP_LIB" | grep -c '__tls_get_addr')
eq "0 __tls_get_addr references (initial-exec TLS)" "$n" 0
if readelf -d "$AP_LIB" | grep -q 'FLAGS.*STATIC_TLS'; then ok "DT_FLAGS has STATIC_TLS"; else
	fail "DT_FLAGS has STATIC_TLS" "$(readelf -d "$AP_LIB" | grep FLAGS)"
fi
n=$(nm -D --defined-only "$AP_LIB" | grep -cE ' [TWDBRVi] (ZSTD_|ZDICT_|unw_|_U[A-Z]|_Unwind|inflate|deflate)')
eq "no zstd/libunwind/zlib symbol exported" "$n" 0
n=$(nm -D "$AP_LIB" | grep -ciE 'zstd|unw_')
eq "no zstd/libunwind symbol in the dynamic table at all (not even weak undefined hooks)" "$n" 0

# --- firebuild test_symbols port --------------------------------------------------------------
# public (non GLIBC_PRIVATE) libc symbols with their versions
objdump -T "$LIBC" | awk '$2 ~ /^[gw]/ || $3 ~ /DF/ {v=$(NF-1); n=$NF; if (v !~ /PRIVATE/) print n, v}' |
	sed 's/[()]//g' | sort -u >"$W/libc_pub"
nm -D --defined-only "$AP_LIB" | awk '$2 != "A" {print $3}' | sed 's/@.*//' | sort -u >"$W/ours"
missing=""
while read -r f; do
	case "$f" in agentprof_* | SSL_* | curl_*) continue ;; esac
	for v in "__${f}_chk" "${f}64" "__${f}" "${f}_time64" "__${f}64" "__${f}64_chk"; do
		if awk -v s="$v" '$1 == s {f=1} END {exit !f}' "$W/libc_pub" && ! grep -qx -- "$v" "$W/ours"; then
			missing="$missing $v(for $f)"
		fi
	done
done <"$W/ours"
eq "every public _chk/64/__/_time64 variant of a wrapped function is wrapped" "${missing# }" ""
multi=""
while read -r f; do
	nv=$(awk -v s="$f" '$1 == s' "$W/libc_pub" | wc -l)
	[ "$nv" -gt 1 ] || continue
	naddr=$(objdump -T "$LIBC" | awk -v s="$f" '$NF == s {print $1}' | sort -u | wc -l)
	if [ "$naddr" -eq 1 ]; then
		# every version is the same code: one unversioned wrapper forwards correctly for all
		ok "$f: its $nv glibc versions are aliases of one function (one wrapper serves all)"
		continue
	fi
	miss=""
	for ver in $(awk -v s="$f" '$1 == s {print $2}' "$W/libc_pub"); do
		objdump -T "$AP_LIB" | sed 's/[()]//g' | awk -v s="$f" -v v="$ver" '$NF == s && $(NF-1) == v {f=1} END {exit !f}' ||
			miss="$miss $f@$ver"
	done
	multi="$multi$miss"
	[ -z "$miss" ] && ok "$f: wrapped in all $nv glibc versions (distinct code per version)"
done <"$W/ours"
eq "no glibc version of a wrapped multi-version function left unwrapped" "${multi# }" ""

# --- fortified fixtures call the _chk entry points and are recorded -------------------------
mock_up || { fail "mock" "cannot start the mock provider"; finish; }
und=$(nm -D "$AP_TGT/fortify" | awk '$1 == "U" {print $2}' | sed 's/@.*//' | grep -E '^__(recv|read|recvfrom)_chk$' | sort | tr '\n' ' ')
eq "fortify fixture imports __read_chk __recv_chk __recvfrom_chk" "$und" "__read_chk __recv_chk __recvfrom_chk "
run_prof "$W/fort" "$W/fort" -- "$AP_TGT/fortify" "$MOCK_PORT"
eq "fortify: three 200 responses" "$(grep -c 'status 200' "$W/fort.out")" 3
if ap_export "$W/fort" "$W/fort.jsonl"; then
	n=$(grep -c '"kind":"exchange".*"path":"/health".*"status":200' "$W/fort.jsonl")
	eq "fortify: the three _chk reads are recorded as three exchanges" "$n" 3
else
	fail "fortify: export" "$(head -c 300 "$W/fort.jsonl.err")"
fi

# --- C++ exceptions in a dlopen()ed module still use libgcc_s ---------------------------------
run_bare "$W/cxx.bare" "$AP_TGT/cxxhost" "$AP_TGT/cxxmod.so"
run_prof "$W/cxxp" "$W/cxx.prof" -- "$AP_TGT/cxxhost" "$AP_TGT/cxxmod.so"
same_file "C++ module: same output with and without the preload" "$W/cxx.bare.out" "$W/cxx.prof.out"
if grep -q '^caught 1' "$W/cxx.prof.out" && grep -q 'from libgcc_s' "$W/cxx.prof.out"; then
	ok "C++ module: exception caught, _Unwind_RaiseException from libgcc_s"
else
	fail "C++ module: exception caught, _Unwind_RaiseException from libgcc_s" "$(tr '\n' '|' <"$W/cxx.prof.out")"
fi
finish
