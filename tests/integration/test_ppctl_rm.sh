#!/usr/bin/env bash
# Delete (issue 3): rm removes the file at once (stat/get say not found,
# exit 2), and its chunks disappear from the workers once the collection
# grace (--gc-grace-s, 2 s here) has passed, while chunks another file still
# references stay.
. "$PP_SOURCE_DIR/tests/lib/cluster.sh"

pp_start_tracker --chunk-size 1MiB --gc-grace-s 2
for i in 1 2 3; do pp_start_worker "w$i"; done
pp_wait_for "3 workers up" 15 pp_nodes_up_is 3

pp_make_file "$PP_TMP/a" 4200000
pp_make_file "$PP_TMP/keep" 1500000
ppctl put "$PP_TMP/a" --name gone >/dev/null
ppctl put "$PP_TMP/keep" --name keep >/dev/null
ids=$(ppctl --json stat gone | jq -r '.chunks[].id')
keep_ids=$(ppctl --json stat keep | jq -r '.chunks[].id')
[ -n "$ids" ] || fail "no chunks listed"

ppctl rm gone >/dev/null
assert_exit 2 "$PP_BIN_DIR/ppctl" --tracker "$TRACKER_ADDR" stat gone
assert_exit 2 "$PP_BIN_DIR/ppctl" --tracker "$TRACKER_ADDR" get gone -o "$PP_TMP/x"
[ ! -e "$PP_TMP/x" ] || fail "a failed get left a file behind"
assert_exit 2 "$PP_BIN_DIR/ppctl" --tracker "$TRACKER_ADDR" rm gone
assert_eq "$(ppctl --json ls gone | jq '.files | length')" 0 "ls after rm"

chunks_left() {
	local n=0
	for w in w1 w2 w3; do
		for id in $ids; do
			if pp_worker_has "$w" "$id"; then n=$((n + 1)); fi
		done
	done
	echo "$n"
}
no_chunks_left() { [ "$(chunks_left)" = 0 ]; }
pp_wait_for "deleted chunks collected from the workers" 20 no_chunks_left

for id in $keep_ids; do
	n=0
	for w in w1 w2 w3; do if pp_worker_has "$w" "$id"; then n=$((n + 1)); fi; done
	[ "$n" -ge 2 ] || fail "chunk $id of a kept file lost replicas ($n)"
done
ppctl get keep -o "$PP_TMP/keep.out"
cmp "$PP_TMP/keep" "$PP_TMP/keep.out" || fail "kept file changed"
pp_done
