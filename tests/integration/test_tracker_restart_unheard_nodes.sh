#!/usr/bin/env bash
# Durability (issue 12): after a restart the tracker credits a node only
# once it has heart-beaten to this tracker process. Regression: after kill
# -9 of the tracker and of worker w1, the restarted tracker listed w1 as up
# for about 3 s (nodes loaded as suspect got a fresh heartbeat time), so its
# copies counted as keepers while it was gone.
. "$PP_SOURCE_DIR/tests/lib/cluster.sh"

pp_start_tracker --chunk-size 256KiB
for i in 1 2 3; do pp_start_worker "w$i"; done
pp_wait_for "3 workers up" 15 pp_nodes_up_is 3
pp_make_file "$PP_TMP/f" $((3 * 1024 * 1024))
ppctl put "$PP_TMP/f" --name f >/dev/null
sum=$(pp_sha "$PP_TMP/f")

kill -KILL "$TRACKER_PID"
wait "$TRACKER_PID" 2>/dev/null || true
pp_kill_worker w1 KILL
pp_launch_tracker --chunk-size 256KiB
# Watch every node state for well past dead_ms: w1 is never up, and the
# first health report counts nothing on nodes not heard yet.
state_of() { jq -r --arg n "$1" '.nodes[] | select(.id == $n) | .state' <<<"$2"; }
end=$((SECONDS + (PP_DEAD_MS / 1000) + 3))
seen_up=0
while [ "$SECONDS" -lt "$end" ]; do
	nodes=$(ppctl --json nodes)
	[ "$(state_of w1 "$nodes")" != up ] || fail "w1 listed as up although it never heart-beat to this tracker"
	[ "$(state_of w2 "$nodes")" != up ] || seen_up=1
	sleep 0.1
done
[ "$seen_up" = 1 ] || fail "w2 never came up after the tracker restart"
pp_wait_for "w1 dead" 10 bash -c "[ \"\$(\"$PP_BIN_DIR/ppctl\" --tracker $TRACKER_ADDR --json nodes | jq -r '.nodes[] | select(.id == \"w1\") | .state')\" = dead ]"
pp_wait_for "w1's chunks repaired from the survivors" 60 pp_fully_replicated
ppctl get f -o "$PP_TMP/back" >/dev/null
assert_eq "$(pp_sha "$PP_TMP/back")" "$sum" "content after the restart"
# w1 comes back: its copies count again once it has heart-beaten, and the
# surplus is trimmed without losing the factor.
pp_start_worker w1
pp_wait_for "w1 up" 15 pp_nodes_up_is 3
pp_wait_for "fully replicated with w1 back" 30 pp_fully_replicated
ppctl get f -o "$PP_TMP/back2" >/dev/null
assert_eq "$(pp_sha "$PP_TMP/back2")" "$sum" "content with w1 back"
pp_done
