#!/bin/sh
# install-deps.sh [--extra] [--check]: make sure the Debian packages agentprof needs are present.
#
# Core (build + make test): compiler, zstd/zlib/curl/ssl/unwind/dw/capstone headers, and the CLI tools the
# tests drive (zstd, curl, openssl, Debian's /usr/bin/python3, node, CA certificates).
# --extra adds what later features and their tests use: chromium (HTML report screenshots),
# prometheus (promtool), redis-server (memory-store tests), clang (libFuzzer), libjemalloc2,
# g++ (C++ exception fixture), valgrind, strace, time (make bench: instruction counts, strace
# comparison, max RSS).
# --check only reports; exit 1 if something is missing.
#
# Idempotent: when everything is installed it only runs dpkg-query and exits 0. As root it runs
# `apt-get update` once and installs what is missing (no recommends); otherwise it prints the
# exact apt command and exits 1.
set -eu

CORE="gcc make pkg-config libzstd-dev zlib1g-dev libcurl4-openssl-dev libssl-dev libunwind-dev
libdw-dev libcapstone-dev libnghttp2-dev zstd curl openssl python3 ca-certificates nginx-light
python3-requests python3-httpx python3-h2 python3-aiohttp python3-grpcio"
EXTRA="chromium prometheus redis-server clang libjemalloc2 g++ valgrind strace time golang-go"

want_extra=0
check_only=0
for a in "$@"; do
	case "$a" in
	--extra) want_extra=1 ;;
	--check) check_only=1 ;;
	-h | --help)
		sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "install-deps.sh: unknown option '$a' (use --extra, --check)" >&2
		exit 2
		;;
	esac
done

pkgs=$CORE
# Node: any installed node is fine (nodesource, nvm); otherwise Debian's nodejs package.
if ! command -v node >/dev/null 2>&1 && [ ! -x /usr/bin/node ]; then
	pkgs="$pkgs nodejs"
fi
[ "$want_extra" = 1 ] && pkgs="$pkgs $EXTRA"

installed() {
	dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -q '^install ok installed$'
}

missing=""
for p in $pkgs; do
	installed "$p" || missing="$missing $p"
done
missing=${missing# }

if [ -z "$missing" ]; then
	exit 0
fi

cmd="apt-get install -y --no-install-recommends $missing"
if [ "$check_only" = 1 ]; then
	echo "install-deps.sh: missing packages: $missing" >&2
	exit 1
fi
if [ "$(id -u)" != 0 ]; then
	echo "install-deps.sh: missing packages: $missing" >&2
	echo "run as root:  apt-get update && $cmd" >&2
	exit 1
fi

echo "install-deps.sh: installing: $missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing

still=""
for p in $missing; do
	installed "$p" || still="$still $p"
done
if [ -n "$still" ]; then
	echo "install-deps.sh: could not install:$still" >&2
	exit 1
fi
