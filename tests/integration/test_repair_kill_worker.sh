#!/usr/bin/env bash
# Self-healing (issue 4): kill -9 the worker holding the most chunks of a
# 40 MiB file (1 MiB chunks, replication 2, four workers). The file reads back
# byte-exact while the tracker repairs, and afterwards every chunk has two ok
# replicas on live workers, none on the dead one.
. "$PP_SOURCE_DIR/tests/lib/cluster.sh"

pp_start_tracker --chunk-size 1MiB
for i in 1 2 3 4; do pp_start_worker "w$i" --heartbeat-ms "$PP_HEARTBEAT_MS"; done
pp_wait_for "4 workers up" 15 pp_nodes_up_is 4

pp_make_file "$PP_TMP/big.bin" $((40 * 1024 * 1024))
sum=$(pp_sha "$PP_TMP/big.bin")
ppctl put "$PP_TMP/big.bin" --name big.bin >/dev/null
pp_wait_for "fully replicated after put" 20 pp_fully_replicated

# The worker holding the most chunks.
victim=w1 most=0
for i in 1 2 3 4; do
	n=$(pp_worker_chunks "w$i" | wc -l)
	if [ "$n" -gt "$most" ]; then most=$n victim=w$i; fi
done
pp_log "killing $victim ($most chunks)"
t0=$(date +%s%N)
pp_kill_worker "$victim" KILL

# Reads keep working during the repair.
ppctl get big.bin -o "$PP_TMP/during.bin" >/dev/null || fail "get failed during repair"
assert_eq "$(pp_sha "$PP_TMP/during.bin")" "$sum" "content during repair"

pp_wait_for "$victim marked dead" 10 bash -c "[ \"\$(\"$PP_BIN_DIR/ppctl\" --tracker $TRACKER_ADDR --json nodes | jq -r '.nodes[] | select(.id == \"$victim\") | .state')\" = dead ]"
pp_wait_for "every chunk back to 2 live copies" 60 pp_fully_replicated
t1=$(date +%s%N)
pp_log "repaired $most chunks in $(((t1 - t0) / 1000000)) ms from the kill"

ppctl --json stat big.bin >"$PP_TMP/stat.json"
bad=$(jq --arg v "$victim" '[.chunks[] | select(([.replicas[] | select(.state == "ok" and .node != $v)] | length) < 2)] | length' "$PP_TMP/stat.json")
assert_eq "$bad" 0 "chunks with fewer than 2 ok live replicas"
for c in $(jq -r '.chunks[].id' "$PP_TMP/stat.json"); do
	holders=0
	for i in 1 2 3 4; do
		[ "w$i" = "$victim" ] && continue
		[ -f "${WORKER_DIR[w$i]}/chunks/${c:0:2}/${c:2:2}/$c" ] && holders=$((holders + 1))
	done
	[ "$holders" -ge 2 ] || fail "chunk $c is on $holders live workers' disks"
done
[ "$(pp_health_field repairs_done)" -ge 1 ] || fail "health shows no repairs done"

ppctl get big.bin -o "$PP_TMP/after.bin" >/dev/null
assert_eq "$(pp_sha "$PP_TMP/after.bin")" "$sum" "content after repair"
pp_done
