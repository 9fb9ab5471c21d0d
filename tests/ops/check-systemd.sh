#!/usr/bin/env bash
# The systemd units (deploy/systemd) as configured into the build tree:
# `systemd-analyze verify` loads each without a warning (unknown keys,
# bad values, a missing binary or man page all fail it), and
# `systemd-analyze security --offline` rates each at most 2.0 ("OK"), so
# none of the hardening (ProtectSystem=strict, NoNewPrivileges, ...) can
# quietly go. ExecStart is pointed at the build's binaries and MANPATH at
# the build's man pages, which is what verify checks for.
# Usage: check-systemd.sh BUILD_DIR
set -euo pipefail
build=${1:?usage: check-systemd.sh BUILD_DIR}
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
command -v systemd-analyze >/dev/null || fail "systemd-analyze not found (package systemd)"
bindir=$(sed -n 's|^ExecStart=\(.*\)/pp-[a-z]*$|\1|p' "$build/deploy/systemd/pp-tracker.service")
[ -n "$bindir" ] || fail "no ExecStart in $build/deploy/systemd/pp-tracker.service"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ppunits.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
for svc in pp-tracker pp-worker pp-gateway; do
	unit=$build/deploy/systemd/$svc.service
	[ -f "$unit" ] || fail "$unit was not configured"
	[ -x "$build/bin/$svc" ] || fail "$build/bin/$svc is not built"
	sed "s|^ExecStart=$bindir/|ExecStart=$build/bin/|" "$unit" >"$tmp/$svc.service"
	for key in 'StateDirectory=' 'ProtectSystem=strict' 'NoNewPrivileges=yes' 'DynamicUser=yes' \
		'CapabilityBoundingSet=$' 'SystemCallFilter=@system-service' 'Documentation=man:'; do
		[ "$svc" = pp-gateway ] && [ "$key" = 'StateDirectory=' ] && continue
		grep -q "^$key" "$tmp/$svc.service" || fail "$svc.service lacks $key"
	done
	if ! (cd "$tmp" && MANPATH=$build/man SYSTEMD_LOG_COLOR=0 \
		systemd-analyze verify "./$svc.service") >"$tmp/verify.out" 2>&1; then
		fail "systemd-analyze verify $svc.service: $(cat "$tmp/verify.out")"
	fi
	[ ! -s "$tmp/verify.out" ] || fail "systemd-analyze verify $svc.service warns: $(cat "$tmp/verify.out")"
	if ! (cd "$tmp" && systemd-analyze security --offline=yes --threshold=20 "$svc.service") \
		>"$tmp/security.out" 2>&1; then
		fail "$svc.service is exposed: $(grep -i 'overall exposure' "$tmp/security.out")"
	fi
	echo "$svc.service: verified; $(grep -o 'Overall exposure level.*' "$tmp/security.out" | head -1)"
done
