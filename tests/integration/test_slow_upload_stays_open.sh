#!/usr/bin/env bash
# Durability (issue 12): an upload whose input pauses longer than the
# tracker's idle timeout (--gc-grace-s) stays open while the client is
# there, and commits whole. Regression: the session's idle clock moved only
# when a chunk was placed, so `ppctl put -` fed 6 MB, a long pause, then 6 MB
# more failed with "no upload". An upload whose client is gone still
# expires and leaves nothing behind.
. "$PP_SOURCE_DIR/tests/lib/cluster.sh"

pp_start_tracker --chunk-size 1MiB --gc-grace-s 3
for i in 1 2 3; do pp_start_worker "w$i"; done
pp_wait_for "3 workers up" 15 pp_nodes_up_is 3

pp_make_file "$PP_TMP/slow" $((12 * 1000 * 1000))
fifo=$PP_TMP/fifo
mkfifo "$fifo"
"$PP_BIN_DIR/ppctl" --tracker "$TRACKER_ADDR" --json put - --name slow <"$fifo" \
	>"$PP_TMP/put.json" 2>"$PP_TMP/put.err" &
putpid=$!
PP_PIDS+=("$putpid")
exec 7>"$fifo"
head -c 6000000 "$PP_TMP/slow" >&7
# More than twice the idle timeout with no byte arriving.
sleep 8
# (A put that already failed closed the pipe: its status tells, below.)
tail -c +6000001 "$PP_TMP/slow" >&7 2>/dev/null || true
exec 7>&-
rc=0
wait "$putpid" || rc=$?
[ "$rc" = 0 ] || fail "the paused upload failed: $(cat "$PP_TMP/put.err")"
assert_eq "$(jq -r .size "$PP_TMP/put.json")" 12000000 "committed size"
ppctl get slow -o "$PP_TMP/back"
cmp "$PP_TMP/slow" "$PP_TMP/back" || fail "the paused upload did not read back whole"

# A client killed mid-upload: the session expires and its chunks go.
before=$(for w in w1 w2 w3; do pp_worker_chunks "$w"; done | sort -u | wc -l)
exec 7<>"$fifo"
"$PP_BIN_DIR/ppctl" --tracker "$TRACKER_ADDR" put - --name dead <"$fifo" >/dev/null 2>&1 &
deadpid=$!
head -c 3000000 /dev/urandom >&7
stored_more() { [ "$(for w in w1 w2 w3; do pp_worker_chunks "$w"; done | sort -u | wc -l)" -gt "$before" ]; }
pp_wait_for "the doomed upload stored a chunk" 20 stored_more
kill -KILL "$deadpid"
wait "$deadpid" 2>/dev/null || true
exec 7>&-
only_slow_left() {
	local n
	n=$(for w in w1 w2 w3; do pp_worker_chunks "$w"; done | sort -u | wc -l)
	[ "$n" = "$(ppctl --json stat slow | jq '.chunks | length')" ]
}
pp_wait_for "the abandoned upload's chunks collected" 40 only_slow_left
assert_exit 2 ppctl stat dead
pp_done
