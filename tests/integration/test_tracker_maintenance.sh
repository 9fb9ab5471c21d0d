#!/usr/bin/env bash
# Maintenance (issue 4): a worker put in maintenance and then killed and
# restarted is not declared dead and causes no repair traffic; when the
# maintenance window runs out by itself with the worker still away, it is
# declared dead and repair starts.
. "$PP_SOURCE_DIR/tests/lib/cluster.sh"

pp_start_tracker --chunk-size 256KiB
for i in 1 2 3; do pp_start_worker "w$i" --heartbeat-ms "$PP_HEARTBEAT_MS"; done
pp_wait_for "3 workers up" 15 pp_nodes_up_is 3
pp_make_file "$PP_TMP/f.bin" $((4 * 1024 * 1024))
sum=$(pp_sha "$PP_TMP/f.bin")
ppctl put "$PP_TMP/f.bin" --name f.bin >/dev/null
snapshot() { for i in 2 3; do pp_worker_chunks "w$i"; done | sort | sha256sum; }
before=$(snapshot)

ppctl maintenance w1 on >/dev/null
w1_state() { ppctl --json nodes | jq -r '.nodes[] | select(.id == "w1") | .state'; }
assert_eq "$(w1_state)" maintenance "w1 state after maintenance on"
pp_kill_worker w1 KILL
# Well past the dead grace and dead_ms.
sleep $(((PP_DEAD_MS / 1000) + 2))
assert_eq "$(w1_state)" maintenance "w1 state while away in maintenance"
assert_eq "$(pp_health_field repairs_done)" 0 "repairs while w1 is in maintenance"
assert_eq "$(pp_health_field repairs_in_flight)" 0 "repairs in flight"
assert_eq "$(snapshot)" "$before" "chunks on the other workers"
ppctl get f.bin -o "$PP_TMP/o.bin" >/dev/null
assert_eq "$(pp_sha "$PP_TMP/o.bin")" "$sum" "content while w1 is away"

pp_start_worker w1 --heartbeat-ms "$PP_HEARTBEAT_MS"
back() { [ "$(ppctl --json nodes | jq -r '.nodes[] | select(.id == "w1") | .last_heartbeat_ms')" -lt 1000 ]; }
pp_wait_for "w1 heartbeats again" 15 back
ppctl maintenance w1 off >/dev/null
pp_wait_for "w1 up" 10 pp_nodes_up_is 3
pp_fully_replicated || fail "under-replicated after the restart"
assert_eq "$(pp_health_field repairs_done)" 0 "repairs after the restart"
assert_eq "$(snapshot)" "$before" "chunks on the other workers after the restart"

# A maintenance window that runs out by itself with the node away: the
# tracker (restarted gracefully with a 3 s window) declares it dead and
# repairs, with nobody switching maintenance off.
kill -TERM "$TRACKER_PID"
rc=0
wait "$TRACKER_PID" || rc=$?
assert_eq "$rc" 0 "tracker exit status on SIGTERM"
pp_launch_tracker --chunk-size 256KiB --maintenance-timeout-s 3
pp_wait_for "3 workers up after the tracker restart" 15 pp_nodes_up_is 3
ppctl maintenance w1 on >/dev/null
started=$SECONDS
pp_kill_worker w1 KILL
# Every time w1 still shows maintenance, no repair may have happened before.
w1_dead_without_early_repair() {
	local done state
	done=$(pp_health_field repairs_done)
	state=$(w1_state)
	if [ "$state" = maintenance ] && [ "$done" != 0 ]; then
		fail "repair ran while w1 was in maintenance ($done copies)"
	fi
	[ "$state" = dead ]
}
pp_wait_for "w1 dead once its maintenance window ran out" 20 w1_dead_without_early_repair
[ $((SECONDS - started)) -ge 2 ] || fail "w1 declared dead before its 3 s window ended"
pp_wait_for "repaired after maintenance ended" 60 pp_fully_replicated
[ "$(pp_health_field repairs_done)" -ge 1 ] || fail "no repair after maintenance ended"
ppctl get f.bin -o "$PP_TMP/o2.bin" >/dev/null
assert_eq "$(pp_sha "$PP_TMP/o2.bin")" "$sum" "content after the repair"
pp_done
