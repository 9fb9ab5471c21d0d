#!/usr/bin/env bash
# `make bench ARGS=--quick` prints only the JSON document on stdout
# (DESIGN.md, "Benchmarks"): build and installer chatter goes to stderr.
# 1. scripts/install-deps.sh, made to install everything through stub
#    dpkg-query/apt-get/npm/sudo that talk on stdout, prints nothing there.
# 2. `make bench` on this build tree (baselines only, to stay short) prints
#    exactly one JSON document with machine and scenarios on stdout.
# Usage: check-bench-stdout.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=${1:?usage: check-bench-stdout.sh SOURCE_DIR BUILD_DIR}
build=${2:?usage: check-bench-stdout.sh SOURCE_DIR BUILD_DIR}
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
[ -x "$build/bin/pp-tracker" ] || { echo "SKIP: $build is not built"; exit 77; }
command -v jq >/dev/null || fail "jq not found"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ppbenchout.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

mkdir -p "$tmp/stubs"
for tool in dpkg-query apt-get apt-cache npm sudo; do
	cat >"$tmp/stubs/$tool" <<STUB
#!/bin/sh
echo "$tool \$*" >>"$tmp/calls"
case "$tool" in
dpkg-query) echo "unknown ok not-installed"; exit 1 ;;
sudo) exec "\$@" ;;
esac
echo "Reading package lists... Done ($tool chatter on stdout)"
STUB
	chmod +x "$tmp/stubs/$tool"
done
PATH="$tmp/stubs:$PATH" bash "$src/scripts/install-deps.sh" >"$tmp/deps.out" 2>"$tmp/deps.err" ||
	fail "install-deps.sh with stubs failed: $(tail -5 "$tmp/deps.err")"
grep -q "^apt-get .*install" "$tmp/calls" || fail "the stubs were not used: $(cat "$tmp/calls" 2>/dev/null)"
[ ! -s "$tmp/deps.out" ] || fail "install-deps.sh wrote to stdout: $(head -5 "$tmp/deps.out")"
grep -q "chatter on stdout" "$tmp/deps.err" || fail "the installer's chatter went nowhere"

# As a user types it: not as a sub-make (ctest under `make test` is one,
# and GNU make announces its directory in sub-makes).
(cd "$src" && env -u MAKELEVEL -u MAKEFLAGS -u MFLAGS make bench REL_DIR="$build" JOBS=2 ARGS="--quick --only baselines") \
	>"$tmp/bench.out" 2>"$tmp/bench.err" || fail "make bench failed: $(tail -20 "$tmp/bench.err")"
jq -e -s 'length == 1 and (.[0].machine | type == "object") and (.[0].scenarios | type == "object")' \
	"$tmp/bench.out" >/dev/null ||
	fail "make bench stdout is not one JSON document: $(head -c 600 "$tmp/bench.out")"
[ "$(head -c 1 "$tmp/bench.out")" = "{" ] || fail "make bench stdout does not start with the document"
echo "make bench: stdout is one JSON document ($(wc -c <"$tmp/bench.out") bytes); $(wc -l <"$tmp/bench.err") lines on stderr"
