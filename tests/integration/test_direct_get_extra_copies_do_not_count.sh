#!/usr/bin/env bash
# Durability (issue 12): copies a worker pulled for a direct get are extra —
# its to evict at any time — and the tracker never counts them toward a
# chunk's factor. Regression: the tracker could count such a copy as
# required while the worker kept it evictable, so losing another holder
# left one durable copy. Now repair restores the factor, claiming the extra
# copy in place (no transfer) where it can.
. "$PP_SOURCE_DIR/tests/lib/cluster.sh"

pp_start_tracker --chunk-size 256KiB
for i in 1 2 3; do pp_start_worker "w$i"; done
pp_wait_for "3 workers up" 15 pp_nodes_up_is 3
pp_make_file "$PP_TMP/f" $((2 * 1024 * 1024))
ppctl put "$PP_TMP/f" --name f >/dev/null
ids=$(ppctl --json stat f | jq -r '.chunks[].id')
pp_start_worker w4
pp_wait_for "4 workers up" 15 pp_nodes_up_is 4
"$PP_BIN_DIR/ppctl" --node "${WORKER_ADDR[w4]}" get f -o "$PP_TMP/direct" >/dev/null
cmp "$PP_TMP/f" "$PP_TMP/direct" || fail "direct get returned other bytes"
# The copies are made durable (and registered) just after the reply.
all_extra() {
	for id in $ids; do pp_worker_extra w4 "$id" || return 1; done
}
pp_wait_for "w4 keeps every chunk as an extra copy" 15 all_extra
pp_fully_replicated || fail "not fully replicated before the kill"

# Lose one holder: every chunk it held must get back to two regular copies.
pp_kill_worker w1 KILL
regular_copies() {
	local id=$1 n=0
	for w in w2 w3 w4; do
		if pp_worker_has "$w" "$id" && ! pp_worker_extra "$w" "$id"; then n=$((n + 1)); fi
	done
	echo "$n"
}
all_regular() {
	pp_fully_replicated || return 1
	for id in $ids; do [ "$(regular_copies "$id")" -ge 2 ] || return 1; done
}
pp_wait_for "two regular copies of every chunk without w1" 60 all_regular
ppctl get f -o "$PP_TMP/back" >/dev/null
cmp "$PP_TMP/f" "$PP_TMP/back" || fail "content after the repair"
pp_done
