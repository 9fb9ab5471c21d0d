#!/usr/bin/env bash
# Drain (issue 4): `ppctl drain w1` moves every chunk off w1; it ends holding
# nothing that is not also held twice elsewhere, and the file stays whole.
. "$PP_SOURCE_DIR/tests/lib/cluster.sh"

pp_start_tracker --chunk-size 256KiB
for i in 1 2 3 4; do pp_start_worker "w$i" --heartbeat-ms "$PP_HEARTBEAT_MS"; done
pp_wait_for "4 workers up" 15 pp_nodes_up_is 4
pp_make_file "$PP_TMP/f.bin" $((8 * 1024 * 1024))
sum=$(pp_sha "$PP_TMP/f.bin")
ppctl put "$PP_TMP/f.bin" --name f.bin >/dev/null
[ "$(pp_worker_chunks w1 | wc -l)" -gt 0 ] || fail "w1 holds nothing to drain"

ppctl --json drain w1 >"$PP_TMP/drain.json" || fail "drain failed: $(cat "$PP_TMP/drain.json")"
jq -e '.' "$PP_TMP/drain.json" >/dev/null || fail "drain printed no JSON"
state=$(ppctl --json nodes | jq -r '.nodes[] | select(.id == "w1") | .state')
assert_eq "$state" draining "w1 state"
empty() { [ "$(pp_worker_chunks w1 | wc -l)" = 0 ]; }
pp_wait_for "w1 holds no chunk" 60 empty
pp_fully_replicated || fail "under-replicated after the drain"
ppctl --json stat f.bin >"$PP_TMP/stat.json"
bad=$(jq '[.chunks[] | select(([.replicas[] | select(.state == "ok" and .node != "w1")] | length) < 2)] | length' "$PP_TMP/stat.json")
assert_eq "$bad" 0 "chunks without 2 ok copies off w1"
jq -e '[.chunks[].replicas[] | select(.node == "w1")] | length == 0' "$PP_TMP/stat.json" >/dev/null ||
	fail "w1 still listed as a holder"
# A new upload avoids the draining node.
pp_make_file "$PP_TMP/g.bin" $((1024 * 1024))
ppctl put "$PP_TMP/g.bin" --name g.bin >/dev/null
empty || fail "a draining node received new chunks"
ppctl get f.bin -o "$PP_TMP/o.bin" >/dev/null
assert_eq "$(pp_sha "$PP_TMP/o.bin")" "$sum" "content after the drain"
pp_done
