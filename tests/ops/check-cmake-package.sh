#!/usr/bin/env bash
# `cmake --install` of the build tree into a staging prefix provides what an
# operator and a library user need: the four programs, their man pages,
# ppctl's bash completion, the systemd units, ppclient.pc, and a CMake
# package with which a tiny project finds ppclient (find_package), builds
# the example program against the shared and the static library, and runs
# both. Release builds only (a sanitizer-built library needs sanitizer flags).
# Usage: check-cmake-package.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=${1:?usage: check-cmake-package.sh SOURCE_DIR BUILD_DIR}
build=${2:?usage: check-cmake-package.sh SOURCE_DIR BUILD_DIR}
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
[ -x "$build/bin/ppctl" ] || { echo "SKIP: $build is not built"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pppackage.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/stage
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1 || fail "cmake --install: $(tail -5 "$tmp/install.log")"

for f in bin/pp-tracker bin/pp-worker bin/pp-gateway bin/ppctl \
	share/man/man1/pp-tracker.1 share/man/man1/pp-worker.1 share/man/man1/pp-gateway.1 share/man/man1/ppctl.1 \
	share/bash-completion/completions/ppctl include/ppclient.h \
	lib/systemd/system/pp-tracker.service lib/systemd/system/pp-worker.service lib/systemd/system/pp-gateway.service; do
	[ -e "$prefix/$f" ] || fail "cmake --install puts no $f"
done
libdir=$(cd "$prefix" && dirname "$(find . -name ppclientConfig.cmake | head -1)")
[ "$libdir" != . ] || fail "no ppclientConfig.cmake installed"
pc=$(cd "$prefix" && find . -name ppclient.pc | head -1)
[ -n "$pc" ] || fail "no ppclient.pc installed"
version=$("$build/bin/ppctl" --version | awk '{print $2}')
grep -q "^Version: $version\$" "$prefix/$pc" || fail "ppclient.pc is not version $version"
grep -q "ExecStart=.*/bin/pp-tracker\$" "$prefix/lib/systemd/system/pp-tracker.service" || fail "unit without ExecStart"

# A user's project: find_package(ppclient) and the example program.
mkdir -p "$tmp/app"
cp "$src/clients/c/examples/ppcopy.c" "$tmp/app/"
cat >"$tmp/app/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.25)
project(ppclient_user C)
find_package(ppclient $version REQUIRED)
if(NOT ppclient_VERSION VERSION_EQUAL $version)
  message(FATAL_ERROR "found ppclient \${ppclient_VERSION}, want $version")
endif()
add_executable(ppcopy_shared ppcopy.c)
target_link_libraries(ppcopy_shared PRIVATE ppclient::ppclient)
add_executable(ppcopy_static ppcopy.c)
target_link_libraries(ppcopy_static PRIVATE ppclient::ppclient_static)
CMAKE
cmake -S "$tmp/app" -B "$tmp/app/build" -DCMAKE_PREFIX_PATH="$prefix" >"$tmp/configure.log" 2>&1 ||
	fail "configuring a project with find_package(ppclient): $(cat "$tmp/configure.log")"
cmake --build "$tmp/app/build" >"$tmp/build.log" 2>&1 || fail "building against the package: $(cat "$tmp/build.log")"
for kind in shared static; do
	rc=0
	"$tmp/app/build/ppcopy_$kind" >"$tmp/run.out" 2>&1 || rc=$?
	[ "$rc" = 1 ] && grep -q "^usage: " "$tmp/run.out" || fail "ppcopy_$kind did not run (exit $rc): $(cat "$tmp/run.out")"
done
libs=$(ldd "$tmp/app/build/ppcopy_static")
if grep -q libppclient <<<"$libs"; then fail "ppcopy_static loads libppclient.so"; fi
libs=$(ldd "$tmp/app/build/ppcopy_shared")
grep -q "$prefix/.*libppclient.so" <<<"$libs" || fail "ppcopy_shared does not load the staged libppclient.so: $libs"
# A version the package does not provide is refused.
sed -i "s/find_package(ppclient $version REQUIRED)/find_package(ppclient 9.0 REQUIRED)/" "$tmp/app/CMakeLists.txt"
if cmake -S "$tmp/app" -B "$tmp/app/build9" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null 2>&1; then
	fail "find_package(ppclient 9.0) accepted version $version"
fi
echo "installed: $(cd "$prefix" && find . -type f | wc -l) files; find_package(ppclient $version) builds and runs shared and static"
