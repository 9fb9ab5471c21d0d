#!/usr/bin/env bash
# ctest driver for the browser test (web.ui): starts tracker + 3 workers +
# gateway with tests/lib/cluster.sh, installs playwright-core and
# chromium-headless-shell when missing (tests/web/install-deps.sh), then
# runs `node --test tests/web/ui.test.mjs` with:
#   GATEWAY_URL         the gateway's base URL
#   SCREENSHOT_DIR      where the test saves screenshots (build dir)
#   PP_KILL_WORKER_CMD  a shell command that SIGKILLs worker w1 by its PID
#   PP_CHROMIUM         the headless Chromium binary
. "$PP_SOURCE_DIR/tests/lib/cluster.sh"

WEB_DIR=$PP_SOURCE_DIR/tests/web
export PP_CHROMIUM=${PP_CHROMIUM:-/usr/lib/chromium/chromium-headless-shell}

[ -f "$WEB_DIR/ui.test.mjs" ] || { echo "SKIP: tests/web/ui.test.mjs is not written yet"; exit 77; }
if [ ! -d "$WEB_DIR/node_modules/playwright-core" ] || [ ! -x "$PP_CHROMIUM" ]; then
	if [ -x "$WEB_DIR/install-deps.sh" ] || [ -f "$WEB_DIR/install-deps.sh" ]; then
		pp_log "installing browser test dependencies (tests/web/install-deps.sh)"
		bash "$WEB_DIR/install-deps.sh" || fail "tests/web/install-deps.sh failed"
	fi
fi
command -v node >/dev/null || { echo "SKIP: node is not installed"; exit 77; }
[ -d "$WEB_DIR/node_modules/playwright-core" ] ||
	{ echo "SKIP: playwright-core is missing and could not be installed"; exit 77; }
[ -x "$PP_CHROMIUM" ] || { echo "SKIP: no headless Chromium at $PP_CHROMIUM"; exit 77; }

pp_cluster 3
pp_start_gateway
echo "${WORKER_PID[w1]}" >"$PP_TMP/w1.pid"
export GATEWAY_URL
export SCREENSHOT_DIR=${SCREENSHOT_DIR:-$PP_TMP/screenshots}
export PP_KILL_WORKER_CMD="kill -9 \$(cat '$PP_TMP/w1.pid')"
mkdir -p "$SCREENSHOT_DIR"
pp_log "gateway at $GATEWAY_URL; screenshots in $SCREENSHOT_DIR"

node --test "$WEB_DIR/ui.test.mjs" || fail "browser test failed (screenshots in $SCREENSHOT_DIR)"
pp_done
