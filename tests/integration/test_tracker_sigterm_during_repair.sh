#!/usr/bin/env bash
# Durability (issue 12): SIGTERM stops the tracker cleanly at any moment,
# including while repair passes run. Regressions: the tracker freed its node
# table before stopping the repair planner and could crash on SIGTERM; and
# (found by chaos) a stop waited for every transfer in flight, up to its
# 30 s timeout when the target was frozen.
. "$PP_SOURCE_DIR/tests/lib/cluster.sh"

pp_start_tracker --chunk-size 64KiB --repair-per-node 2
for i in 1 2 3 4; do pp_start_worker "w$i"; done
pp_wait_for "4 workers up" 15 pp_nodes_up_is 4
pp_make_file "$PP_TMP/f" $((16 * 1024 * 1024))
ppctl put "$PP_TMP/f" --name f >/dev/null
sum=$(pp_sha "$PP_TMP/f")
repairing() { [ "$(pp_health_field repairs_in_flight)" -gt 0 ] || [ "$(pp_health_field repairs_queued)" -gt 0 ]; }
for round in 1 2 3 4 5; do
	victim=w$(((round % 4) + 1))
	pp_kill_worker "$victim" KILL
	pp_wait_for "round $round: repair under way" 20 repairing
	kill -TERM "$TRACKER_PID"
	rc=0
	wait "$TRACKER_PID" || rc=$?
	assert_eq "$rc" 0 "round $round: tracker exit status on SIGTERM during repair"
	pp_launch_tracker --chunk-size 64KiB --repair-per-node 2
	pp_start_worker "$victim"
	pp_wait_for "round $round: 4 workers up" 15 pp_nodes_up_is 4
	pp_wait_for "round $round: fully replicated" 60 pp_fully_replicated
done
# Transfers in flight to frozen workers do not hold the stop.
pp_kill_worker w1 KILL
pp_wait_for "repair under way before the freeze" 20 repairing
for w in w2 w3 w4; do kill -STOP "${WORKER_PID[$w]}"; done
kill -TERM "$TRACKER_PID"
exited() { [ ! -d "/proc/$TRACKER_PID" ] || [ "$(awk '{print $3}' "/proc/$TRACKER_PID/stat")" = Z ]; }
pp_wait_for "the tracker exits with transfers in flight to frozen workers" 12 exited
rc=0
wait "$TRACKER_PID" || rc=$?
assert_eq "$rc" 0 "tracker exit status on SIGTERM with frozen targets"
for w in w2 w3 w4; do kill -CONT "${WORKER_PID[$w]}"; done
pp_launch_tracker --chunk-size 64KiB --repair-per-node 2
pp_start_worker w1
pp_wait_for "4 workers up after the freeze" 15 pp_nodes_up_is 4
pp_wait_for "fully replicated after the freeze" 60 pp_fully_replicated
! grep -l "ERROR: AddressSanitizer\|runtime error:" "$PP_TMP"/logs/tracker.log ||
	fail "sanitizer report in the tracker log"
ppctl get f -o "$PP_TMP/back" >/dev/null
assert_eq "$(pp_sha "$PP_TMP/back")" "$sum" "content after five rounds"
pp_done
