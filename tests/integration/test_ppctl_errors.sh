#!/usr/bin/env bash
# Bad input gets a clear one-line message and the documented exit code
# (DESIGN.md, "Binaries"; issue 3): bad names and flags exit 1, missing
# things exit 2, a tracker that is not there or too few live workers exit 3
# within seconds, and a failed upload leaves nothing visible.
. "$PP_SOURCE_DIR/tests/lib/cluster.sh"

PPCTL=$PP_BIN_DIR/ppctl
pp_start_tracker --replication 2
pp_start_worker w1
pp_wait_for "1 worker up" 15 pp_nodes_up_is 1
T=(--tracker "$TRACKER_ADDR")
printf 'data' >"$PP_TMP/f"

expect_error() { # CODE ARGS... : exit code and a "ppctl: error:" line
	local code=$1
	shift
	assert_exit "$code" "$PPCTL" "$@"
	grep -q "^ppctl: error: " "$PP_TMP/last.err" || fail "no 'ppctl: error:' line for '$*': $(cat "$PP_TMP/last.err")"
	[ "$(wc -l <"$PP_TMP/last.err")" -le 2 ] || fail "error output for '$*' is not short: $(cat "$PP_TMP/last.err")"
}

# Names.
long=$(head -c 1089 /dev/zero | tr '\0' a)
expect_error 1 "${T[@]}" put "$PP_TMP/f" --name ""
expect_error 1 "${T[@]}" put "$PP_TMP/f" --name "$long"
expect_error 1 "${T[@]}" put "$PP_TMP/f" --name "$(printf 'bad\tname')"
expect_error 1 "${T[@]}" put "$PP_TMP/f" --name "$(printf 'bad\001name')"
expect_error 1 "${T[@]}" get ""
expect_error 1 "${T[@]}" stat "$long"
expect_error 1 "${T[@]}" rm "$(printf 'a\nb')"
# Usage.
expect_error 1 "${T[@]}" frobnicate
expect_error 1 "${T[@]}" --no-such-flag ls
expect_error 1 "${T[@]}" put
expect_error 1 "${T[@]}" put "$PP_TMP/f" --replication 1
expect_error 1 "${T[@]}" put "$PP_TMP" --name dir
expect_error 1 "${T[@]}" maintenance w1 sideways
assert_exit 1 "$PPCTL"
# Missing things.
expect_error 2 "${T[@]}" put "$PP_TMP/does-not-exist"
expect_error 2 "${T[@]}" get no-such-file -o "$PP_TMP/out"
[ ! -e "$PP_TMP/out" ] || fail "failed get left $PP_TMP/out"
[ -z "$(find "$PP_TMP" -maxdepth 1 -name '.out.ppctl-*')" ] || fail "failed get left a temp file"
expect_error 2 "${T[@]}" stat no-such-file
expect_error 2 "${T[@]}" rm no-such-file

# Fewer live workers than the replication factor: exit 3, nothing visible.
pp_make_file "$PP_TMP/big" 3000000
expect_error 3 "${T[@]}" put "$PP_TMP/big" --name underreplicated
expect_error 2 "${T[@]}" stat underreplicated
assert_eq "$(ppctl --json ls underreplicated | jq '.files | length')" 0 "files after a failed put"

# No tracker there: exit 3 within a few seconds.
dead="tcp://127.0.0.1:$(pp_free_port)"
start=$SECONDS
expect_error 3 --tracker "$dead" ls
expect_error 3 --tracker "$dead" put "$PP_TMP/f" --name x
[ $((SECONDS - start)) -le 14 ] || fail "ppctl took $((SECONDS - start)) s to give up on two calls"
grep -q "$dead" "$PP_TMP/last.err" || fail "the message does not name the address"
pp_done
