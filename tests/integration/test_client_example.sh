#!/usr/bin/env bash
# The example program (clients/c/examples/ppcopy.c, built against the shared
# library and its public header only) stores a file, lists its chunk map and
# reads it back byte-exact from a live cluster (issue 6).
. "$PP_SOURCE_DIR/tests/lib/cluster.sh"

[ -x "$PP_BIN_DIR/ppcopy" ] || fail "ppcopy was not built"
pp_start_tracker --chunk-size 1MiB
for i in 1 2 3; do pp_start_worker "w$i"; done
pp_wait_for "3 workers up" 15 pp_nodes_up_is 3

pp_make_file "$PP_TMP/in.bin" 3500000
"$PP_BIN_DIR/ppcopy" "$TRACKER_ADDR" "$PP_TMP/in.bin" "examples/in.bin" "$PP_TMP/back.bin" \
	>"$PP_TMP/ppcopy.out" 2>"$PP_TMP/ppcopy.err" || fail "ppcopy failed: $(cat "$PP_TMP/ppcopy.err")"
cmp "$PP_TMP/in.bin" "$PP_TMP/back.bin" || fail "ppcopy read back different bytes"
assert_eq "$(grep -c '^chunk ' "$PP_TMP/ppcopy.out")" 4 "chunks printed by ppcopy"
grep -q "sha256 $(pp_sha "$PP_TMP/in.bin") verified" "$PP_TMP/ppcopy.out" || fail "no verified line: $(cat "$PP_TMP/ppcopy.out")"
# What it stored is a normal file for every other client.
ppctl get examples/in.bin -o "$PP_TMP/via-ppctl.bin"
cmp "$PP_TMP/in.bin" "$PP_TMP/via-ppctl.bin" || fail "ppctl reads different bytes"
# And it fails cleanly on a missing input.
rc=0
"$PP_BIN_DIR/ppcopy" "$TRACKER_ADDR" "$PP_TMP/nope" x "$PP_TMP/y" 2>"$PP_TMP/err" || rc=$?
[ "$rc" = 1 ] || fail "ppcopy on a missing file exited $rc"
grep -q "put failed" "$PP_TMP/err" || fail "no clear message: $(cat "$PP_TMP/err")"
pp_done
