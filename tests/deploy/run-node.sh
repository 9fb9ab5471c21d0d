#!/usr/bin/env bash
# Runs one of the deploy checks (a .mjs file here) under node, installing the
# npm packages from package-lock.json first when node_modules is missing or
# older than the lock, so a fresh checkout needs no manual step. Parallel
# ctest runs serialize the install with flock on the lock file.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	echo "run-node: node and npm are needed (bash tests/deploy/install-deps.sh)" >&2
	exit 1
fi
stale() {
	[ ! -f "$here/node_modules/.package-lock.json" ] ||
		[ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]
}
if stale; then
	exec 9<"$here/package-lock.json"
	flock 9
	if stale; then
		echo "run-node: installing npm packages (npm ci) in $here" >&2
		(cd "$here" && npm ci --no-audit --no-fund --loglevel=error >&2)
	fi
	exec 9<&-
fi
script=$1
shift
exec node "$here/$script" "$@"
