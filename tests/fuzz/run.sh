#!/usr/bin/env bash
# Builds the fuzz targets with clang + libFuzzer + ASan/UBSan in their own
# build directory and runs each for a bounded time over a copy of its seed
# corpus. Prints the executions each target ran. Exit 77 (skip) only when
# clang or its fuzzer runtime is not installed, saying so.
set -euo pipefail
seconds=8
build=build/fuzz-clang
src=$(cd "$(dirname "$0")/../.." && pwd)
while [ $# -gt 0 ]; do
	case "$1" in
	--seconds) seconds=$2; shift 2 ;;
	--build-dir) build=$2; shift 2 ;;
	--source-dir) src=$2; shift 2 ;;
	*) echo "run.sh: unknown argument $1" >&2; exit 1 ;;
	esac
done
if ! command -v clang >/dev/null; then
	echo "SKIP: clang is not installed (scripts/install-deps.sh installs it)"
	exit 77
fi
if ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
	echo "SKIP: clang's libFuzzer runtime is missing (package libclang-rt-14-dev)"
	exit 77
fi
CC=clang cmake -S "$src" -B "$build" -DPP_FUZZ=ON -DPP_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug \
	-DCMAKE_C_FLAGS="-fsanitize=fuzzer-no-link -Wno-unknown-warning-option" >/dev/null
targets=$(cd "$src/tests/fuzz" && ls fuzz_*.c | sed 's/\.c$//')
built=()
for t in $targets; do
	if cmake --build "$build" --target "$t" -j 2 >"$build/$t.build.log" 2>&1; then
		built+=("$t")
	else
		echo "fuzz: building $t failed:" >&2
		tail -20 "$build/$t.build.log" >&2
		exit 1
	fi
done
rc=0
for t in "${built[@]}"; do
	work=$(mktemp -d)
	cp -r "$src/tests/fuzz/corpus/$t/." "$work/" 2>/dev/null || true
	log=$build/$t.fuzz.log
	if "$build/fuzz/$t" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 \
		-artifact_prefix="$build/$t-" "$work" >"$log" 2>&1; then
		execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
		[ -n "$execs" ] || execs=$(grep -Eo '^#[0-9]+' "$log" | tail -1 | tr -d '#')
		echo "fuzz: $t ran $execs executions in ${seconds}s, no findings"
	else
		echo "fuzz: $t FOUND A PROBLEM; log $log; artifacts $build/$t-*" >&2
		tail -40 "$log" >&2
		rc=1
	fi
	rm -rf "$work"
done
exit "$rc"
