#!/usr/bin/env bash
# Balance (issue 4): an empty worker joining a cluster whose workers are well
# filled receives chunks from the fullest, and every chunk keeps two copies.
. "$PP_SOURCE_DIR/tests/lib/cluster.sh"

pp_start_tracker --chunk-size 256KiB --balance-spread 0.05
pp_start_worker w1 --heartbeat-ms "$PP_HEARTBEAT_MS" --capacity 32MiB
pp_start_worker w2 --heartbeat-ms "$PP_HEARTBEAT_MS" --capacity 32MiB
pp_wait_for "2 workers up" 15 pp_nodes_up_is 2
pp_make_file "$PP_TMP/f.bin" $((12 * 1024 * 1024))
sum=$(pp_sha "$PP_TMP/f.bin")
ppctl put "$PP_TMP/f.bin" --name f.bin >/dev/null
n=$(ppctl --json stat f.bin | jq '.chunks | length')

pp_start_worker w3 --heartbeat-ms "$PP_HEARTBEAT_MS" --capacity 32MiB
pp_wait_for "3 workers up" 15 pp_nodes_up_is 3
got() { [ "$(pp_worker_chunks w3 | wc -l)" -ge $((n / 3)) ]; }
pp_wait_for "w3 received at least a third of the chunks" 60 got
settled() {
	local t=0
	for i in 1 2 3; do t=$((t + $(pp_worker_chunks "w$i" | wc -l))); done
	[ "$t" = $((2 * n)) ] && pp_fully_replicated
}
pp_wait_for "moves finished: 2 copies of every chunk on disk" 30 settled
pp_log "w1=$(pp_worker_chunks w1 | wc -l) w2=$(pp_worker_chunks w2 | wc -l) w3=$(pp_worker_chunks w3 | wc -l)"
ppctl get f.bin -o "$PP_TMP/o.bin" >/dev/null
assert_eq "$(pp_sha "$PP_TMP/o.bin")" "$sum" "content after balancing"
pp_done
