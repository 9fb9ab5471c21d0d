#!/usr/bin/env bash
# A cluster that spans hosts, on one machine: every process runs in its own
# network namespace with its own address on a bridge (198.18.0.0/24, the
# benchmarking range, never a private one): tracker, gateway, three workers
# and a client. Workers advertise their namespace address. The test uploads
# a file, SIGKILLs one worker (crash: repaired around, downloads byte-exact),
# then cuts another worker's link (partition, its process still runs: dead by
# heartbeat timeout, repaired around) and restores it (the worker rejoins).
# Needs root and `ip netns`; otherwise it says why and exits 77 (skipped).
set -euo pipefail

skip() {
	echo "SKIP: $*"
	exit 77
}
[ "$(id -u)" = 0 ] || skip "network namespaces need root (running as uid $(id -u))"
command -v ip >/dev/null || skip "ip (iproute2) is not installed, so no network namespaces"
for t in jq ping curl openssl; do
	command -v "$t" >/dev/null || { echo "FAIL: $t is not installed (tests/deploy/install-deps.sh)" >&2; exit 1; }
done

# Names unique to this run; interface names stay under 15 characters.
TAG=$(printf 'pp%04x' $((RANDOM ^ $$ & 0xffff)))
NS_SW=$TAG-sw
HOSTS=(tr gw w1 w2 w3 cl)
declare -A NS ADDR
ADDR=([tr]=198.18.0.1 [gw]=198.18.0.2 [w1]=198.18.0.11 [w2]=198.18.0.12 [w3]=198.18.0.13 [cl]=198.18.0.100)
for h in "${HOSTS[@]}"; do NS[$h]=$TAG-$h; done
CREATED_NS=()

if ! reason=$(ip netns add "$NS_SW" 2>&1); then
	skip "cannot create a network namespace here: $reason"
fi
CREATED_NS+=("$NS_SW")

# Kills whatever still runs in our namespaces, then deletes them (their veth
# pairs and the bridge go with them).
netns_cleanup() {
	local ns pid
	set +eu
	for ns in "${CREATED_NS[@]}"; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
	done
	for ns in "${CREATED_NS[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
}
trap netns_cleanup EXIT

if [ -z "${PP_BIN_DIR:-}" ] || [ -z "${PP_SOURCE_DIR:-}" ]; then
	echo "FAIL: PP_BIN_DIR and PP_SOURCE_DIR must be set" >&2
	exit 1
fi
# shellcheck source=SCRIPTDIR/../lib/cluster.sh
. "$PP_SOURCE_DIR/tests/lib/cluster.sh"
# cluster.sh's exit trap kills processes by PID, prints logs on failure and
# removes the temp dir; the namespaces go first, with $? kept for it.
multihost_cleanup() {
	local rc=$? pid alive
	set +eu # finish the cleanup whatever fails in it
	for pid in "${PP_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
	for _ in $(seq 1 50); do
		alive=0
		for pid in "${PP_PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
		[ "$alive" = 0 ] && break
		sleep 0.1
	done
	netns_cleanup
	(exit "$rc")
	pp_cleanup
}
trap multihost_cleanup EXIT

# --- the network ---------------------------------------------------------------
in_ns() { # in_ns HOST COMMAND...
	local h=$1
	shift
	ip netns exec "${NS[$h]}" "$@"
}

ip -n "$NS_SW" link add br0 type bridge || skip "cannot create a bridge here"
ip -n "$NS_SW" link set br0 up
ip -n "$NS_SW" link set lo up
for h in "${HOSTS[@]}"; do
	ip netns add "${NS[$h]}"
	CREATED_NS+=("${NS[$h]}")
	# eth0 inside the host, its peer (named for the host) on the switch.
	ip link add eth0 netns "${NS[$h]}" type veth peer name "$h" netns "$NS_SW" ||
		skip "cannot create veth pairs here"
	ip -n "$NS_SW" link set "$h" master br0 up
	ip -n "${NS[$h]}" addr add "${ADDR[$h]}/24" dev eth0
	ip -n "${NS[$h]}" link set eth0 up
	ip -n "${NS[$h]}" link set lo up
done

can_reach() { in_ns "$1" ping -c 1 -W 1 "${ADDR[$2]}" >/dev/null 2>&1; } # FROM TO_HOST
for h in tr gw w1 w2 w3; do
	pp_wait_for "client reaches $h (${ADDR[$h]})" 10 can_reach cl "$h"
done
# The plumbing can partition: with w2's switch port down, w2 is unreachable.
ip -n "$NS_SW" link set w2 down
if can_reach cl w2; then fail "w2 still reachable with its link down: the partition would not cut it off"; fi
ip -n "$NS_SW" link set w2 up
pp_wait_for "client reaches w2 again" 10 can_reach cl w2
pp_log "network: 6 namespaces on bridge br0 in $NS_SW, 198.18.0.0/24"

# --- the cluster -----------------------------------------------------------------
for b in pp-tracker pp-worker pp-gateway ppctl; do
	[ -x "$PP_BIN_DIR/$b" ] || fail "$PP_BIN_DIR/$b is not built"
done

KEY=$PP_TMP/cluster.key
openssl rand -base64 32 >"$KEY"
chmod 600 "$KEY"
TRACKER_ADDR="tcp://${ADDR[tr]}:7000"
BUS_ADDR="tcp://${ADDR[tr]}:7001"
EVENTS_ADDR="tcp://${ADDR[tr]}:7002"
GATEWAY_URL="http://${ADDR[gw]}:8080"
CHUNK=1048576

# ppctl from the client host (cluster.sh's helpers call this one).
ppctl() {
	in_ns cl "$PP_BIN_DIR/ppctl" --tracker "$TRACKER_ADDR" --key-file "$KEY" "$@"
}
node_field() { # node_field ID FIELD
	ppctl --json nodes | jq -r --arg id "$1" --arg f "$2" '.nodes[] | select(.id == $id) | .[$f]'
}
node_state_is() { [ "$(node_field "$1" state)" = "$2" ]; }
under_replicated_is_zero() {
	local h
	h=$(ppctl --json health) || return 1
	[ "$(jq -r .under_replicated <<<"$h")" = 0 ] && [ "$(jq -r .lost <<<"$h")" = 0 ]
}

start_tracker() {
	in_ns tr "$PP_BIN_DIR/pp-tracker" --listen "$TRACKER_ADDR" --bus "$BUS_ADDR" \
		--events "$EVENTS_ADDR" --db "$PP_TMP/tracker.db" --chunk-size "$CHUNK" \
		--heartbeat-ms 200 --suspect-ms 1000 --dead-ms 2000 --key-file "$KEY" \
		>>"$PP_TMP/logs/tracker.log" 2>&1 &
	PP_PIDS+=("$!")
}

declare -A WPID
start_worker() { # start_worker w1|w2|w3 ZONE
	local h=$1
	mkdir -p "$PP_TMP/$h"
	in_ns "$h" "$PP_BIN_DIR/pp-worker" --id "$h" --listen tcp://0.0.0.0:7100 \
		--advertise "tcp://${ADDR[$h]}:7100" --tracker "$TRACKER_ADDR" --bus "$BUS_ADDR" \
		--data "$PP_TMP/$h" --zone "$2" --key-file "$KEY" \
		>>"$PP_TMP/logs/$h.log" 2>&1 &
	WPID[$h]=$!
	PP_PIDS+=("$!")
}

start_tracker
pp_wait_for "tracker answers ping from the client host" 15 ppctl ping
start_worker w1 zone-a
start_worker w2 zone-b
start_worker w3 zone-c
in_ns gw "$PP_BIN_DIR/pp-gateway" --http "${ADDR[gw]}:8080" --tracker "$TRACKER_ADDR" \
	--events "$EVENTS_ADDR" --key-file "$KEY" >>"$PP_TMP/logs/gateway.log" 2>&1 &
PP_PIDS+=("$!")
pp_wait_for "3 workers up" 20 pp_nodes_up_is 3
for h in w1 w2 w3; do
	assert_eq "$(node_field "$h" address)" "tcp://${ADDR[$h]}:7100" "$h's address (its --advertise)"
done
pp_wait_for "gateway ready" 15 in_ns cl curl -fsS "$GATEWAY_URL/readyz"

# A file of several chunks, spread over the three hosts.
SRC=$PP_TMP/big.bin
pp_make_file "$SRC" $((6 * CHUNK + 12345))
SUM=$(pp_sha "$SRC")
ppctl put "$SRC" --name big.bin >/dev/null
pp_wait_for "fully replicated after upload" 15 under_replicated_is_zero

# Every chunk of big.bin has at least 2 `ok` replicas on workers other than
# $1: read from the chunk map, independently of health's own count.
replicated_without() { # replicated_without NODE
	ppctl --json stat big.bin | jq -e --arg gone "$1" '
		(.chunks | length) > 0 and
		all(.chunks[]; ([.replicas[] | select(.state == "ok" and .node != $gone)] | length) >= 2)' >/dev/null
}

# Health alone is not enough: right after `nodes` shows a node dead, health
# may still count it as up for an instant and report 0 under-replicated.
repaired_around() { under_replicated_is_zero && replicated_without "$1"; }

download_is_exact() { # download_is_exact LABEL
	rm -f "$PP_TMP/out.bin" "$PP_TMP/out-http.bin"
	ppctl get big.bin -o "$PP_TMP/out.bin" >/dev/null || fail "$1: ppctl get failed"
	assert_eq "$(pp_sha "$PP_TMP/out.bin")" "$SUM" "$1: ppctl download"
	in_ns cl curl -fsS -o "$PP_TMP/out-http.bin" "$GATEWAY_URL/api/v1/files/big.bin" ||
		fail "$1: gateway download failed"
	assert_eq "$(pp_sha "$PP_TMP/out-http.bin")" "$SUM" "$1: gateway download"
}
download_is_exact "all hosts up"

# --- crash: SIGKILL w1 -------------------------------------------------------------
pp_log "SIGKILL w1 (pid ${WPID[w1]})"
kill -KILL "${WPID[w1]}"
wait "${WPID[w1]}" 2>/dev/null || true
for pid in $(ip netns pids "${NS[w1]}"); do kill -KILL "$pid" 2>/dev/null || true; done
pp_wait_for "w1 dead after its crash" 10 node_state_is w1 dead
pp_wait_for "chunks of w1 repaired onto w2/w3" 30 repaired_around w1
download_is_exact "w1 crashed"

start_worker w1 zone-a
pp_wait_for "w1 back up after restart" 20 node_state_is w1 up
pp_wait_for "fully replicated with w1 back" 30 under_replicated_is_zero

# --- partition: w2's link goes down, its process keeps running ------------------------
pp_log "partition: w2's switch port down"
t0=$SECONDS
ip -n "$NS_SW" link set w2 down
pp_wait_for "w2 dead by heartbeat timeout" 15 node_state_is w2 dead
pp_log "w2 declared dead after $((SECONDS - t0)) s"
kill -0 "${WPID[w2]}" 2>/dev/null || fail "w2's process died: a partition must not kill it"
pp_wait_for "chunks of w2 repaired onto w1/w3" 30 repaired_around w2
download_is_exact "w2 partitioned"

pp_log "heal: w2's switch port up"
ip -n "$NS_SW" link set w2 up
pp_wait_for "w2 rejoins (state up)" 60 node_state_is w2 up
pp_wait_for "3 workers up after the partition heals" 20 pp_nodes_up_is 3
pp_wait_for "fully replicated after the heal" 30 under_replicated_is_zero
download_is_exact "w2 rejoined"
pp_done
