#!/usr/bin/env bash
# Durability (issue 12): a node in maintenance is not a keeper. Its copies
# stop repair while it is away, but they never justify trimming a copy on an
# active node. Regression: surplus trimming counted the maintenance node's
# copy and deleted one on an active worker, leaving the chunk with a single
# copy outside the node about to restart.
. "$PP_SOURCE_DIR/tests/lib/cluster.sh"

pp_start_tracker --chunk-size 256KiB
# w1 is the emptiest by far, so the trimmer (fullest first) never picks it.
pp_start_worker w1 --capacity 4GiB
for i in 2 3; do pp_start_worker "w$i" --capacity 256MiB; done
pp_wait_for "3 workers up" 15 pp_nodes_up_is 3
pp_make_file "$PP_TMP/f" $((4 * 1024 * 1024))
ppctl put "$PP_TMP/f" --name f >/dev/null
ppctl maintenance w1 on >/dev/null
pp_kill_worker w2 KILL
pp_wait_for "repaired while w1 is in maintenance" 60 pp_fully_replicated
# Every copy on the active workers (w2's on its disk while it is down).
snapshot() { for w in w2 w3; do pp_worker_chunks "$w"; done | sort | sha256sum; }
before=$(snapshot)
pp_start_worker w2 --capacity 256MiB
back() { [ "$(ppctl --json nodes | jq -r '.nodes[] | select(.id == "w2") | .state')" = up ]; }
pp_wait_for "w2 back" 15 back
# Its start-up inventory is in; let several collection passes (every 0.5 s)
# run: none may trim a copy on w2 or w3.
sleep 3
assert_eq "$(snapshot)" "$before" "copies on the active workers"
ppctl maintenance w1 off >/dev/null
pp_wait_for "fully replicated after maintenance" 30 pp_fully_replicated
ppctl get f -o "$PP_TMP/back" >/dev/null
cmp "$PP_TMP/f" "$PP_TMP/back" || fail "content changed"
pp_done
