#!/usr/bin/env bash
# The man pages generated at build time (man/CMakeLists.txt): one per
# program, rendered by groff without a single warning (-ww) and by man -l,
# with NAME, SYNOPSIS, DESCRIPTION and the extra sections from man/*.h2m,
# and every --flag of the program's --help documented.
# Usage: check-man.sh MAN_DIR BIN_DIR
set -euo pipefail
unset MAN_KEEP_FORMATTING
man_dir=${1:?usage: check-man.sh MAN_DIR BIN_DIR}
bin=${2:?usage: check-man.sh MAN_DIR BIN_DIR}
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
command -v groff >/dev/null || fail "groff not found (package groff-base)"
command -v man >/dev/null || fail "man not found (package man-db)"
for prog in pp-tracker pp-worker pp-gateway ppctl; do
	page=$man_dir/man1/$prog.1
	[ -s "$page" ] || fail "$page was not generated (help2man missing? scripts/install-deps.sh installs it)"
	warnings=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
	[ -z "$warnings" ] || fail "groff warns on $prog.1: $warnings"
	text=$(MANWIDTH=100 man -l "$page" 2>"$man_dir/$prog.man.err")
	[ ! -s "$man_dir/$prog.man.err" ] || fail "man -l $prog.1: $(cat "$man_dir/$prog.man.err")"
	for section in NAME SYNOPSIS DESCRIPTION 'SEE ALSO'; do
		grep -q "^$section" <<<"$text" || fail "$prog.1 has no $section section"
	done
	grep -q "^ *$prog - " <<<"$text" || fail "$prog.1: NAME is not '$prog - ...'"
	version=$("$bin/$prog" --version | awk '{print $2}')
	grep -q "Peer Pressure $version" <<<"$text" || fail "$prog.1 does not carry version $version"
	for flag in $("$bin/$prog" --help | grep -oE '^  +--[a-z-]+' | tr -d ' '); do
		grep -q -- "$flag" <<<"$text" || fail "$prog.1 does not document $flag"
	done
	echo "$prog.1: renders cleanly, $(wc -l <<<"$text") lines"
done
grep -q "^METRICS" <<<"$(MANWIDTH=100 man -l "$man_dir/man1/pp-tracker.1")" ||
	fail "pp-tracker.1 has no METRICS section (man/pp-tracker.h2m)"
