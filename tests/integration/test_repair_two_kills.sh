#!/usr/bin/env bash
# Self-healing (issue 4): kill -9 two workers one after the other (waiting for
# the repair in between). Every chunk ends with two ok replicas on the
# survivors and the file reads back byte-exact after each kill.
. "$PP_SOURCE_DIR/tests/lib/cluster.sh"

pp_start_tracker --chunk-size 256KiB
for i in 1 2 3 4; do pp_start_worker "w$i" --heartbeat-ms "$PP_HEARTBEAT_MS"; done
pp_wait_for "4 workers up" 15 pp_nodes_up_is 4
pp_make_file "$PP_TMP/f.bin" $((8 * 1024 * 1024 + 12345))
sum=$(pp_sha "$PP_TMP/f.bin")
ppctl put "$PP_TMP/f.bin" --name f.bin >/dev/null

ok_live_min() { # fewest ok replicas of any chunk
	ppctl --json stat f.bin | jq '[.chunks[] | [.replicas[] | select(.state == "ok")] | length] | min'
}
for victim in w2 w4; do
	pp_kill_worker "$victim" KILL
	pp_wait_for "$victim dead" 10 bash -c "[ \"\$(\"$PP_BIN_DIR/ppctl\" --tracker $TRACKER_ADDR --json nodes | jq -r '.nodes[] | select(.id == \"$victim\") | .state')\" = dead ]"
	pp_wait_for "repaired after killing $victim" 60 pp_fully_replicated
	assert_eq "$(ok_live_min)" 2 "fewest ok replicas after killing $victim"
	ppctl get f.bin -o "$PP_TMP/out.bin" >/dev/null
	assert_eq "$(pp_sha "$PP_TMP/out.bin")" "$sum" "content after killing $victim"
done
# Only w1 and w3 are left: both must hold every chunk.
n=$(ppctl --json stat f.bin | jq '.chunks | length')
assert_eq "$(pp_worker_chunks w1 | wc -l)" "$n" "chunks on w1"
assert_eq "$(pp_worker_chunks w3 | wc -l)" "$n" "chunks on w3"
pp_done
