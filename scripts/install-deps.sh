#!/usr/bin/env bash
# Installs every Debian package the build, the tests and the benchmarks need,
# then the browser-test and manifest-check dependencies. Idempotent: it skips
# apt entirely when everything is already installed. Everything it and the
# installers it runs print goes to stderr, so `make bench` keeps stdout for
# the benchmark's JSON document alone.
set -euo pipefail
exec >&2

PACKAGES=(
	build-essential cmake pkg-config git
	libnng-dev libprotobuf-c-dev protobuf-c-compiler nanopb libnanopb-dev
	libmicrohttpd-dev libsqlite3-dev libssl-dev libjansson-dev libcmocka-dev
	libxml2-dev zlib1g-dev libisal-dev
	awscli s3cmd rclone python3-boto3
	clang libclang-rt-14-dev
	curl jq aria2 procps iproute2 openssl python3 sqlite3
	nodejs npm
	prometheus help2man groff-base man-db systemd
)

missing=()
for p in "${PACKAGES[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done
# Node.js may come from outside Debian (a preinstalled toolchain): accept it.
if command -v node >/dev/null && command -v npm >/dev/null; then
	missing=("${missing[@]/nodejs/}")
	missing=("${missing[@]/npm/}")
fi
read -r -a missing <<<"${missing[*]}"

SUDO=
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
if [ "${#missing[@]}" -gt 0 ]; then
	echo "install-deps: installing ${missing[*]}" >&2
	$SUDO apt-get update -qq
	# prometheus is installed for promtool; policy-rc.d or the absence of
	# systemd keeps its daemon from starting on build machines.
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

here=$(cd "$(dirname "$0")/.." && pwd)
for extra in tests/web/install-deps.sh tests/deploy/install-deps.sh; do
	if [ -x "$here/$extra" ] || [ -f "$here/$extra" ]; then
		bash "$here/$extra"
	fi
done
