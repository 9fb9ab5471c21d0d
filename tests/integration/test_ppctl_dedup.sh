#!/usr/bin/env bash
# Deduplication (issue 3): the same content stored under two names keeps one
# copy of each chunk per replica — the workers hold the same chunk files
# after the second put as after the first — and both names read back.
. "$PP_SOURCE_DIR/tests/lib/cluster.sh"

pp_start_tracker --chunk-size 1MiB
for i in 1 2 3; do pp_start_worker "w$i"; done
pp_wait_for "3 workers up" 15 pp_nodes_up_is 3

pp_make_file "$PP_TMP/a.bin" $((5 * 1048576 + 77))
ppctl put "$PP_TMP/a.bin" --name first >/dev/null
all_chunks() { for w in w1 w2 w3; do pp_worker_chunks "$w"; done | sort; }
all_chunks >"$PP_TMP/before"
[ "$(wc -l <"$PP_TMP/before")" -ge 12 ] || fail "expected 6 chunks x 2 replicas, got $(wc -l <"$PP_TMP/before") files"

ppctl put "$PP_TMP/a.bin" --name second >/dev/null
all_chunks >"$PP_TMP/after"
diff "$PP_TMP/before" "$PP_TMP/after" >/dev/null || fail "second put stored chunks again: $(diff "$PP_TMP/before" "$PP_TMP/after" | head)"
# Each distinct chunk id appears on exactly as many workers as its replication.
assert_eq "$(sort -u "$PP_TMP/after" | wc -l)" 6 "distinct chunks"
assert_eq "$(ppctl --json stat first | jq -c '[.chunks[].id]')" "$(ppctl --json stat second | jq -c '[.chunks[].id]')" "chunk lists"

# A file sharing only some chunks stores only the new ones.
cp "$PP_TMP/a.bin" "$PP_TMP/b.bin"
printf 'tail' >>"$PP_TMP/b.bin"
ppctl put "$PP_TMP/b.bin" --name third >/dev/null
assert_eq "$(all_chunks | sort -u | wc -l)" 7 "distinct chunks after a file differing in its last chunk"

for n in first second; do
	ppctl get "$n" -o "$PP_TMP/$n.out"
	cmp "$PP_TMP/a.bin" "$PP_TMP/$n.out" || fail "$n differs"
done
ppctl get third -o "$PP_TMP/third.out"
cmp "$PP_TMP/b.bin" "$PP_TMP/third.out" || fail "third differs"
pp_done
