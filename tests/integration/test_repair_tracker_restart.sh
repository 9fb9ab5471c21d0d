#!/usr/bin/env bash
# Crash safety (issue 4): kill -9 the tracker in the middle of an upload and
# in the middle of a repair. Nothing committed is lost, the interrupted
# upload never becomes visible and its chunks are collected from the workers,
# and the repair resumes after the restart (its queue comes from the store).
. "$PP_SOURCE_DIR/tests/lib/cluster.sh"
export PP_INVENTORY_INTERVAL_S=2

pp_start_tracker --chunk-size 128KiB --gc-grace-s 2
for i in 1 2 3 4; do pp_start_worker "w$i" --heartbeat-ms "$PP_HEARTBEAT_MS"; done
pp_wait_for "4 workers up" 15 pp_nodes_up_is 4
pp_make_file "$PP_TMP/keep.bin" $((3 * 1024 * 1024 + 7))
keep=$(pp_sha "$PP_TMP/keep.bin")
ppctl put "$PP_TMP/keep.bin" --name keep.bin >/dev/null
kept_chunks=$(ppctl --json stat keep.bin | jq '.chunks | length')

# 1. Mid-upload: a slow, large put is cut off by kill -9 of the tracker.
pp_make_file "$PP_TMP/big.bin" $((48 * 1024 * 1024))
"$PP_BIN_DIR/ppctl" --tracker "$TRACKER_ADDR" put "$PP_TMP/big.bin" --name big.bin \
	>"$PP_TMP/put.out" 2>&1 &
put_pid=$!
disk_total() {
	local t=0
	for i in 1 2 3 4; do t=$((t + $(pp_worker_chunks "w$i" | wc -l))); done
	echo "$t"
}
started() { [ "$(disk_total)" -gt $((2 * kept_chunks + 4)) ]; }
pp_wait_for "the upload stored some chunks" 30 started
kill -KILL "$TRACKER_PID"
wait "$TRACKER_PID" 2>/dev/null || true
rc=0
wait "$put_pid" || rc=$?
[ "$rc" != 0 ] || fail "put succeeded although the tracker was killed mid-upload"
pp_launch_tracker --chunk-size 128KiB --gc-grace-s 2
pp_wait_for "workers back" 15 pp_nodes_up_is 4
assert_exit 2 ppctl stat big.bin
assert_eq "$(ppctl --json ls | jq '.total')" 1 "files visible after the crash"
collected() { [ "$(disk_total)" = $((2 * kept_chunks)) ]; }
pp_wait_for "the interrupted upload's chunks collected" 40 collected
ppctl get keep.bin -o "$PP_TMP/keep.out" >/dev/null
assert_eq "$(pp_sha "$PP_TMP/keep.out")" "$keep" "committed file after the crash"

# 2. Mid-repair: kill a worker, then kill the tracker while it repairs.
pp_make_file "$PP_TMP/r.bin" $((12 * 1024 * 1024))
rsum=$(pp_sha "$PP_TMP/r.bin")
ppctl put "$PP_TMP/r.bin" --name r.bin >/dev/null
pp_kill_worker w1 KILL
repairing() { [ "$(pp_health_field repairs_done)" -ge 1 ] || [ "$(pp_health_field repairs_in_flight)" -ge 1 ]; }
pp_wait_for "repair under way" 20 repairing
kill -KILL "$TRACKER_PID"
wait "$TRACKER_PID" 2>/dev/null || true
pp_launch_tracker --chunk-size 128KiB --gc-grace-s 2
pp_wait_for "every chunk repaired after the restart" 60 pp_fully_replicated
for f in keep r; do
	ppctl get "$f.bin" -o "$PP_TMP/$f.out" >/dev/null
done
assert_eq "$(pp_sha "$PP_TMP/keep.out")" "$keep" "keep.bin after both crashes"
assert_eq "$(pp_sha "$PP_TMP/r.out")" "$rsum" "r.bin after both crashes"
assert_eq "$(ppctl --json ls | jq '.total')" 2 "files visible at the end"
pp_done
