#!/usr/bin/env bash
# Installs what the browser test (tests/web/ui.test.mjs) needs: Debian's
# headless Chromium (chromium-headless-shell, or the full chromium package
# when that is not available) and playwright-core from package-lock.json.
# Idempotent: does nothing when both are already there. npm never downloads
# a browser here; playwright-core drives the system one via executablePath.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
SUDO=
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi

have_browser() {
	[ -x /usr/lib/chromium/chromium-headless-shell ] || [ -x /usr/bin/chromium ]
}

apt_install() {
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if ! have_browser; then
	echo "web install-deps: installing headless Chromium" >&2
	$SUDO apt-get update -qq
	if apt-cache show chromium-headless-shell >/dev/null 2>&1; then
		apt_install chromium-headless-shell
	else
		apt_install chromium
	fi
fi

if [ ! -d "$here/node_modules/playwright-core" ]; then
	command -v npm >/dev/null || { echo "web install-deps: npm is not installed" >&2; exit 1; }
	echo "web install-deps: npm ci in tests/web" >&2
	(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi
