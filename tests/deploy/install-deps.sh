#!/usr/bin/env bash
# Installs what the deploy checks and the multi-host test need: yamllint,
# jq, iproute2 and ping (network namespaces), node and npm when missing,
# then the npm packages pinned in tests/deploy/package-lock.json.
# kubectl (for `kubectl kustomize`) is not a Debian package: it must already
# be on the machine; the checks fail with a clear message when it is not.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

need=()
command -v yamllint >/dev/null || need+=(yamllint)
command -v jq >/dev/null || need+=(jq)
command -v ip >/dev/null || need+=(iproute2)
command -v ping >/dev/null || need+=(iputils-ping)
command -v flock >/dev/null || need+=(util-linux)
command -v curl >/dev/null || need+=(curl)
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)

SUDO=
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
if [ "${#need[@]}" -gt 0 ]; then
	echo "deploy install-deps: installing ${need[*]}" >&2
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if ! command -v kubectl >/dev/null; then
	echo "deploy install-deps: kubectl not found; the Kubernetes manifest checks need it (kubectl kustomize)" >&2
fi

if [ ! -f "$here/node_modules/.package-lock.json" ] ||
	[ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
	(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi
