#!/usr/bin/env bash
# A standby tracker (issue 16): `pp-tracker --follow` keeps its own database
# current from the primary and the workers, serves reads and refuses writes.
# kill -9 of the primary in the middle of a stream of uploads, then `ppctl
# promote`: every upload acknowledged is there, clients that know both
# addresses go on writing, and the old primary, restarted, steps down (the
# workers know a higher term) instead of acting on a stale database.
. "$PP_SOURCE_DIR/tests/lib/cluster.sh"

pp_start_tracker --chunk-size 64KiB
SB_METRICS=127.0.0.1:$(pp_free_port)
pp_start_standby --chunk-size 64KiB --metrics "$SB_METRICS"
for i in 1 2 3; do pp_start_worker "w$i"; done
pp_wait_for "3 workers up" 15 pp_nodes_up_is 3
both="$TRACKER_ADDR,$STANDBY_ADDR"
sb() { "$PP_BIN_DIR/ppctl" --tracker "$STANDBY_ADDR" "$@"; }
sb_up_is() { [ "$(sb --json nodes | jq '[.nodes[] | select(.state == "up")] | length')" = "$1" ]; }
pp_wait_for "the standby sees 3 workers up" 15 sb_up_is 3
# Its role shows in ping and metrics; the cluster view is the primary's alone.
assert_eq "$(sb --json ping | jq -c '[.standby, .term]')" "[true,1]" "standby's ping"
assert_eq "$(ppctl --json ping | jq -c '[.standby, .term]')" "[false,1]" "primary's ping"
curl -sf "http://$SB_METRICS/metrics" >"$PP_TMP/sb.prom" || fail "standby metrics"
grep -qx 'pp_tracker_standby 1' "$PP_TMP/sb.prom" || fail "standby does not export pp_tracker_standby 1"
if grep -q '^pp_cluster_files ' "$PP_TMP/sb.prom"; then fail "a standby exports pp_cluster_files"; fi

pp_make_file "$PP_TMP/first" 500000
ppctl put "$PP_TMP/first" --name first >/dev/null
# Reads from the standby: the file, its chunks and bytes.
follows() { sb stat first >/dev/null 2>&1; }
pp_wait_for "the standby follows the primary" 10 follows
sb get first -o "$PP_TMP/first.back" >/dev/null 2>"$PP_TMP/sb.err" || fail "get from the standby: $(cat "$PP_TMP/sb.err")"
cmp "$PP_TMP/first" "$PP_TMP/first.back" || fail "the standby served other bytes"
# Writes to the standby are refused (exit 3) and change nothing.
rc=0
sb put "$PP_TMP/first" --name refused >/dev/null 2>"$PP_TMP/sb.err" || rc=$?
assert_eq "$rc" 3 "put to the standby"
grep -q standby "$PP_TMP/sb.err" || fail "the refusal does not say standby: $(cat "$PP_TMP/sb.err")"
assert_exit 3 sb rm first

# A stream of uploads through a client that knows both trackers.
mkdir -p "$PP_TMP/src"
for i in $(seq 1 80); do head -c $((2000 + i * 997)) /dev/urandom >"$PP_TMP/src/f$i"; done
(
	for i in $(seq 1 80); do
		if "$PP_BIN_DIR/ppctl" --tracker "$both" put "$PP_TMP/src/f$i" --name "s/f$i" \
			>/dev/null 2>>"$PP_TMP/stream.err"; then
			echo "f$i" >>"$PP_TMP/acked.log"
		fi
	done
) &
stream=$!
PP_PIDS+=("$stream")
some() { [ "$(wc -l <"$PP_TMP/acked.log" 2>/dev/null || echo 0)" -ge 20 ]; }
pp_wait_for "uploads under way" 60 some
kill -KILL "$TRACKER_PID"
wait "$TRACKER_PID" 2>/dev/null || true
pp_log "primary killed after $(wc -l <"$PP_TMP/acked.log") acknowledged uploads"
sb --json promote >"$PP_TMP/promote.json" || fail "promote failed"
pp_log "promoted: $(cat "$PP_TMP/promote.json" | tr -d '\n ')"
assert_eq "$(sb --json ping | jq -c '[.standby, .term]')" "[false,2]" "ping after the promotion"
curl -sf "http://$SB_METRICS/metrics" >"$PP_TMP/sb.prom" || fail "metrics after the promotion"
grep -qx 'pp_tracker_standby 0' "$PP_TMP/sb.prom" || fail "promoted tracker still exports standby 1"
grep -q '^pp_cluster_files ' "$PP_TMP/sb.prom" || fail "promoted tracker exports no pp_cluster_files"
wait "$stream" || true
acked=$(wc -l <"$PP_TMP/acked.log")
[ "$acked" -ge 60 ] || fail "the stream did not go on after the promotion ($acked of 80 acknowledged)"
# Every acknowledged upload, from the new primary.
while read -r f; do
	sb get "s/$f" -o "$PP_TMP/back" >/dev/null 2>"$PP_TMP/get.err" ||
		fail "s/$f (acknowledged) missing after the promotion: $(cat "$PP_TMP/get.err")"
	cmp "$PP_TMP/src/$f" "$PP_TMP/back" || fail "s/$f changed"
done <"$PP_TMP/acked.log"
sb_full() {
	local h
	h=$(sb --json health) || return 1
	[ "$(jq -r .under_replicated <<<"$h")" = 0 ] && [ "$(jq -r .lost <<<"$h")" = 0 ]
}
pp_wait_for "fully replicated under the new primary" 60 sb_full

# The old primary comes back on its old database, as a primary: the
# workers' heartbeats carry the new term, so it steps down, and nothing it
# would collect or trim is acted on.
pp_launch_tracker --chunk-size 64KiB
demoted() { grep -q tracker_demoted "$PP_TMP/logs/tracker.log"; }
pp_wait_for "the old primary steps down" 15 demoted
rc=0
ppctl put "$PP_TMP/first" --name after >/dev/null 2>"$PP_TMP/old.err" || rc=$?
assert_eq "$rc" 3 "put to the old primary after it stepped down"
# Nor does it answer reads from its stale store; a client that knows both
# addresses reads from the new primary.
rc=0
ppctl ls >/dev/null 2>"$PP_TMP/old.err" || rc=$?
assert_eq "$rc" 3 "ls from the old primary after it stepped down"
grep -q "stale" "$PP_TMP/old.err" || fail "the refusal does not say why: $(cat "$PP_TMP/old.err")"
listed=$("$PP_BIN_DIR/ppctl" --tracker "$both" --json ls --limit 1000 | jq '.total')
assert_eq "$listed" "$(sb --json ls --limit 1000 | jq '.total')" "files listed through both addresses"
sleep 2
while read -r f; do
	sb get "s/$f" -o "$PP_TMP/back" >/dev/null 2>&1 || fail "s/$f lost after the old primary returned"
done <"$PP_TMP/acked.log"
sb_full || fail "not fully replicated after the old primary returned"
pp_done
