#!/usr/bin/env bash
# The image is `cmake --install build --prefix /opt/pp` of a release build:
# check that an install of this build tree puts the four binaries in bin/,
# where the manifests (/opt/pp/bin/...) and the image's PATH expect them.
# Usage: check-install-layout.sh BUILD_DIR BIN_DIR   (exit 77: nothing built)
set -euo pipefail
build=${1:?usage: check-install-layout.sh BUILD_DIR BIN_DIR}
bin=${2:?usage: check-install-layout.sh BUILD_DIR BIN_DIR}
bins=(pp-tracker pp-worker pp-gateway ppctl)
for b in "${bins[@]}"; do
	if [ ! -x "$bin/$b" ]; then
		echo "SKIP: $bin/$b is not built yet"
		exit 77
	fi
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ppinstall.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
if ! cmake --install "$build" --prefix "$tmp/opt/pp" >"$tmp/install.log" 2>&1; then
	cat "$tmp/install.log" >&2
	echo "FAIL: cmake --install $build failed" >&2
	exit 1
fi
missing=0
for b in "${bins[@]}"; do
	if [ ! -x "$tmp/opt/pp/bin/$b" ]; then
		echo "FAIL: cmake --install puts no bin/$b (needs install(TARGETS $b RUNTIME DESTINATION bin)); the image would lack it" >&2
		missing=1
	fi
done
[ "$missing" = 0 ] || exit 1
echo "cmake --install provides: $(cd "$tmp/opt/pp" && find . -type f | sort | tr '\n' ' ')"
