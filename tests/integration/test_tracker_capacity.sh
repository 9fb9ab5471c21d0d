#!/usr/bin/env bash
# Capacity (issue 4): a worker whose capacity is used up receives no new
# chunks; uploads keep succeeding on the others and stay fully replicated.
. "$PP_SOURCE_DIR/tests/lib/cluster.sh"

pp_start_tracker --chunk-size 256KiB
# Modest capacities so that free space, the placement weight, gives the
# small worker a fair share of chunks until it is full.
for i in 1 2 3; do pp_start_worker "w$i" --heartbeat-ms "$PP_HEARTBEAT_MS" --capacity 5MiB; done
pp_start_worker small --heartbeat-ms "$PP_HEARTBEAT_MS" --capacity 1MiB
pp_wait_for "4 workers up" 15 pp_nodes_up_is 4
cap=$(ppctl --json nodes | jq '.nodes[] | select(.id == "small") | .capacity')
assert_eq "$cap" 1048576 "capacity reported for small"

for i in $(seq 1 10); do
	pp_make_file "$PP_TMP/f$i.bin" $((512 * 1024))
	ppctl put "$PP_TMP/f$i.bin" --name "f$i.bin" >/dev/null || fail "put f$i.bin failed"
	sleep 0.3 # let heartbeats report the new usage
done
held=$(pp_worker_chunks small | wc -l)
pp_log "small holds $held chunks"
[ "$held" -ge 1 ] || fail "small never received a chunk (test proves nothing)"
[ "$held" -le 4 ] || fail "small holds $held chunks of 256 KiB with 1 MiB capacity"
before=$(pp_worker_chunks small)
# Once full, more uploads do not touch it.
for i in 11 12 13; do
	pp_make_file "$PP_TMP/f$i.bin" $((512 * 1024))
	ppctl put "$PP_TMP/f$i.bin" --name "f$i.bin" >/dev/null || fail "put f$i.bin failed"
done
if [ "$held" -eq 4 ]; then
	assert_eq "$(pp_worker_chunks small)" "$before" "chunks on the full worker"
fi
[ "$(pp_worker_chunks small | wc -l)" -le 4 ] || fail "small went over capacity"
pp_fully_replicated || fail "files are under-replicated"
for i in 1 13; do
	ppctl get "f$i.bin" -o "$PP_TMP/o.bin" >/dev/null
	assert_eq "$(pp_sha "$PP_TMP/o.bin")" "$(pp_sha "$PP_TMP/f$i.bin")" "f$i.bin content"
done
pp_done
