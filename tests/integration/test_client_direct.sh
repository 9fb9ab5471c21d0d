#!/usr/bin/env bash
# Direct node access (issue 6): `ppctl --node ADDR get NAME` with no tracker
# address works through a worker holding none, some and all of the file's
# chunks; afterwards the tracker lists that worker as a replica of every
# chunk it served (it became a source). A worker SIGKILLed in the middle of a
# direct get gives a clear error and exit 3, and leaves no partial file.
. "$PP_SOURCE_DIR/tests/lib/cluster.sh"

PPCTL=$PP_BIN_DIR/ppctl
pp_start_tracker --chunk-size 1MiB
for i in 1 2; do pp_start_worker "w$i"; done
pp_wait_for "2 workers up" 15 pp_nodes_up_is 2

pp_make_file "$PP_TMP/a" $((6 * 1048576 + 99))
ppctl put "$PP_TMP/a" --name a.bin --replication 2 >/dev/null

# w3 joins after the upload: it holds none of the chunks.
pp_start_worker w3
pp_wait_for "3 workers up" 15 pp_nodes_up_is 3
[ -z "$(pp_worker_chunks w3)" ] || fail "w3 already holds chunks"

direct_get() { # WORKER NAME OUT
	env -u PP_TRACKER "$PPCTL" --node "${WORKER_ADDR[$1]}" get "$2" -o "$3"
}
holds_all() { # WORKER NAME: the tracker lists WORKER on every chunk
	ppctl --json stat "$2" | jq -e --arg w "$1" \
		'all(.chunks[]; any(.replicas[]; .node == $w and .state == "ok"))' >/dev/null
}

# None: everything is pulled from peers, kept and registered.
direct_get w3 a.bin "$PP_TMP/none.out" || fail "direct get through a worker holding nothing"
cmp "$PP_TMP/a" "$PP_TMP/none.out" || fail "direct get (none) differs"
# Kept and registered just after each reply (fsync off the reader's path).
pp_wait_for "w3 listed as a source of every chunk" 15 holds_all w3 a.bin
assert_eq "$(pp_worker_chunks w3 | wc -l)" 7 "chunk files on w3"

# All: w1 or w2 hold everything already (replication 2 of 2 workers).
direct_get w1 a.bin "$PP_TMP/all.out" || fail "direct get through a worker holding all"
cmp "$PP_TMP/a" "$PP_TMP/all.out" || fail "direct get (all) differs"

# Some: a new file whose chunks half live on w4 already (shared with a.bin).
pp_start_worker w4
pp_wait_for "4 workers up" 15 pp_nodes_up_is 4
head -c $((3 * 1048576)) "$PP_TMP/a" >"$PP_TMP/b"
pp_make_file "$PP_TMP/b.tail" $((3 * 1048576))
cat "$PP_TMP/b.tail" >>"$PP_TMP/b"
# Warm w4 with the first three chunks (a direct ranged read of a.bin is not
# a ppctl verb, so get a file made only of them).
head -c $((3 * 1048576)) "$PP_TMP/a" >"$PP_TMP/head3"
ppctl put "$PP_TMP/head3" --name head3 >/dev/null
direct_get w4 head3 "$PP_TMP/head3.out" || fail "warming w4"
pp_wait_for "w4 listed on the shared chunks" 15 holds_all w4 head3
ppctl put "$PP_TMP/b" --name b.bin >/dev/null
before=$(pp_worker_chunks w4 | wc -l)
[ "$before" -ge 3 ] || fail "w4 should hold the shared chunks ($before)"
direct_get w4 b.bin "$PP_TMP/some.out" || fail "direct get through a worker holding some"
cmp "$PP_TMP/b" "$PP_TMP/some.out" || fail "direct get (some) differs"
pp_wait_for "w4 listed on every chunk of b.bin" 15 holds_all w4 b.bin

# ls, stat and ping through the node, no tracker given.
env -u PP_TRACKER "$PPCTL" --node "${WORKER_ADDR[w2]}" --json ls >"$PP_TMP/ls.json" || fail "ls via node"
jq -e '.files | map(.name) | index("a.bin") != null' "$PP_TMP/ls.json" >/dev/null || fail "ls via node misses a.bin"
env -u PP_TRACKER "$PPCTL" --node "${WORKER_ADDR[w2]}" --json stat a.bin | jq -e '.chunks | length == 7' >/dev/null ||
	fail "stat via node"
env -u PP_TRACKER "$PPCTL" --node "${WORKER_ADDR[w2]}" ping >/dev/null || fail "ping via node"

# Kill the serving worker in the middle of a large direct get.
pp_make_file "$PP_TMP/big" $((160 * 1048576))
ppctl put "$PP_TMP/big" --name big.bin >/dev/null
env -u PP_TRACKER "$PPCTL" --node "${WORKER_ADDR[w3]}" get big.bin -o "$PP_TMP/big.out" \
	>/dev/null 2>"$PP_TMP/kill.err" &
getpid=$!
# Wait until w3 has pulled a few chunks, then kill it.
has_some() { [ "$(pp_worker_chunks w3 | wc -l)" -ge 12 ]; }
pp_wait_for "w3 serving the big file" 30 has_some
pp_kill_worker w3 KILL
rc=0
wait "$getpid" || rc=$?
[ "$rc" = 3 ] || fail "direct get with its worker killed exited $rc, expected 3: $(cat "$PP_TMP/kill.err")"
grep -q "^ppctl: error: .*${WORKER_ADDR[w3]}" "$PP_TMP/kill.err" || fail "unclear error: $(cat "$PP_TMP/kill.err")"
[ ! -e "$PP_TMP/big.out" ] || fail "a partial file was left behind"
pp_done
