#!/usr/bin/env bash
# Self-healing (issue 4): kill -9 a worker, let the cluster repair, then start
# it again with its old data. Its inventory brings every chunk to three
# copies; the tracker trims the surplus back to two, keeping the file whole.
. "$PP_SOURCE_DIR/tests/lib/cluster.sh"

pp_start_tracker --chunk-size 256KiB
for i in 1 2 3; do pp_start_worker "w$i" --heartbeat-ms "$PP_HEARTBEAT_MS"; done
pp_wait_for "3 workers up" 15 pp_nodes_up_is 3
pp_make_file "$PP_TMP/f.bin" $((6 * 1024 * 1024))
sum=$(pp_sha "$PP_TMP/f.bin")
ppctl put "$PP_TMP/f.bin" --name f.bin >/dev/null
n=$(ppctl --json stat f.bin | jq '.chunks | length')

pp_kill_worker w1 KILL
pp_wait_for "repaired without w1" 60 pp_fully_replicated
[ "$(pp_health_field repairs_done)" -ge 1 ] || fail "nothing was repaired"
had=$(pp_worker_chunks w1 | wc -l)
[ "$had" -gt 0 ] || fail "w1 held nothing before it died"

pp_start_worker w1 --heartbeat-ms "$PP_HEARTBEAT_MS"
pp_wait_for "w1 back up" 15 pp_nodes_up_is 3
disk_total() {
	local t=0
	for i in 1 2 3; do t=$((t + $(pp_worker_chunks "w$i" | wc -l))); done
	echo "$t"
}
trimmed() { [ "$(disk_total)" = $((2 * n)) ]; }
pp_wait_for "surplus trimmed to 2 copies per chunk on disk" 30 trimmed
exact_two() {
	[ "$(ppctl --json stat f.bin | jq '[.chunks[] | [.replicas[] | select(.state == "ok")] | length] | unique')" = "$(jq -n '[2]')" ]
}
pp_wait_for "every chunk listed with exactly 2 ok replicas" 10 exact_two
pp_fully_replicated || fail "trimming left chunks under-replicated"
ppctl get f.bin -o "$PP_TMP/out.bin" >/dev/null
assert_eq "$(pp_sha "$PP_TMP/out.bin")" "$sum" "content after trimming"
pp_done
