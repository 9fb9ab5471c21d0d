#!/usr/bin/env bash
# ppctl's bash completion (clients/c/completion/ppctl.bash), driven as bash
# drives it: COMP_WORDS and COMP_CWORD set (split at COMP_WORDBREAKS as
# readline splits them), _ppctl called, COMPREPLY checked. Verbs and flags,
# file names from the cluster (with spaces and colons), node ids, local
# paths, the connection flags passed through, and a dead tracker.
. "$PP_SOURCE_DIR/tests/lib/cluster.sh"
pp_cluster 2

pp_make_file "$PP_TMP/x" 1000
for name in docs/report.pdf docs/notes.txt "photo one.jpg" "a:b.txt" other; do
	ppctl put "$PP_TMP/x" --name "$name" >/dev/null
done
touch "$PP_TMP/local-file.bin"

# complete ENV... -- WORD...: COMPREPLY, one a line, for the last word.
complete_words() {
	local envs=()
	while [ "$1" != -- ]; do
		envs+=("$1")
		shift
	done
	shift
	env "${envs[@]}" bash -c '
		source "$0"
		COMP_WORDS=("$@")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMP_WORDBREAKS=$'"'"'"\x27><=;|&(:'"'"'
		_ppctl
		[ ${#COMPREPLY[@]} -eq 0 ] || printf "%s\n" "${COMPREPLY[@]}"
	' "$PP_SOURCE_DIR/clients/c/completion/ppctl.bash" "$@"
}
P=$PP_BIN_DIR/ppctl
T=(--tracker "$TRACKER_ADDR")
expect() {
	local want=$1 got
	shift
	got=$(complete_words "$@" | LC_ALL=C sort | tr '\n' ' ')
	assert_eq "$got" "$want" "completion of: ${*: -3}"
}

expect "drain get health ls maintenance nodes ping put rm stat " -- "$P" ""
expect "get " -- "$P" "${T[@]}" g
expect "--tracker " -- "$P" --tr
expect "--help --json --key-file --node --tracker --version " -- "$P" -
expect "--help --name --replication " -- "$P" put --
expect "--help --output -o " -- "$P" get x -

# File names come from the cluster named on the command line.
expect "docs/notes.txt docs/report.pdf " -- "$P" "${T[@]}" get docs/
expect "docs/report.pdf " -- "$P" "${T[@]}" --json rm docs/r
expect 'photo\ one.jpg ' -- "$P" "${T[@]}" stat ph
# or in PP_TRACKER, or with --tracker=ADDR that readline split at = and :.
expect "other " PP_TRACKER="$TRACKER_ADDR" -- "$P" get ot
host_port=${TRACKER_ADDR#tcp://}
expect "docs/notes.txt " -- "$P" --tracker = tcp : "//${host_port%:*}" : "${host_port##*:}" get docs/n
# A name with a colon: bash replaces only what follows the colon.
expect "b.txt " -- "$P" "${T[@]}" get a : b
# Node ids for drain and maintenance, then on/off.
expect "w1 w2 " -- "$P" "${T[@]}" drain w
expect "off on " -- "$P" "${T[@]}" maintenance w1 o
expect "" -- "$P" "${T[@]}" maintenance w1 on ""
# Local paths for put and -o.
expect "$PP_TMP/local-file.bin " -- "$P" "${T[@]}" put "$PP_TMP/local-"
expect "$PP_TMP/local-file.bin " -- "$P" "${T[@]}" get other -o "$PP_TMP/local-"

# A tracker that does not answer costs at most the timeout and offers nothing.
kill -STOP "$TRACKER_PID"
start=$SECONDS
expect "" PPCTL_COMPLETION_TIMEOUT=1 -- "$P" "${T[@]}" get d
kill -CONT "$TRACKER_PID"
[ $((SECONDS - start)) -le 3 ] || fail "completion waited $((SECONDS - start))s on a stopped tracker"
pp_done
