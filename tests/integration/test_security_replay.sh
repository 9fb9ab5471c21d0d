#!/usr/bin/env bash
# Replayed, stale, unsigned and oversized frames, and forged heartbeats, sent
# with the real wire protocol (tests/tools/pp_wire_probe) to a keyed tracker
# and a keyed worker: each is refused and the refusal is logged by the
# service; the services keep answering; a file stored before the attacks is
# byte-for-byte the same after them (issue "Security and hostile input").
. "$PP_SOURCE_DIR/tests/lib/cluster.sh"

probe_bin=$PP_BIN_DIR/pp_wire_probe
[ -x "$probe_bin" ] || { echo "SKIP: $probe_bin not built"; exit 77; }

key=$PP_TMP/cluster.key
openssl rand -base64 32 >"$key"
chmod 600 "$key"
PP_KEY_FILE_ARG=$key

pp_cluster 2
pp_make_file "$PP_TMP/a.bin" 700000
ppctl put "$PP_TMP/a.bin" --name a.bin >/dev/null
sum=$(pp_sha "$PP_TMP/a.bin")
chunks_before=$( (pp_worker_chunks w1; pp_worker_chunks w2) | sort)

# A hung probe fails the step (exit 124) with the logs, not the whole ctest.
probe() { timeout -k 5 60 "$probe_bin" --key-file "$key" "$@"; }
# log_has FILE TEXT: the service logged TEXT (fixed string).
log_has() { grep -qF -- "$2" "$PP_TMP/logs/$1.log"; }

# The probe itself works: a correctly signed ping is answered by both.
assert_exit 0 probe "$TRACKER_ADDR" ping
assert_exit 0 probe "${WORKER_ADDR[w1]}" ping
# Without the key the probe's ping is refused (4: not the OK it wanted).
assert_exit 4 timeout -k 5 60 "$probe_bin" "$TRACKER_ADDR" ping

for target in tracker w1; do
	if [ "$target" = tracker ]; then addr=$TRACKER_ADDR; else addr=${WORKER_ADDR[w1]}; fi
	for attack in replay stale unsigned; do
		assert_exit 0 probe "$addr" "$attack"
		grep -qx refused "$PP_TMP/last.out" || fail "$attack on $target: $(cat "$PP_TMP/last.out")"
	done
	pp_wait_for "$target logs the replay" 5 log_has "$target" 'request_refused reason="replayed message"'
	pp_wait_for "$target logs the stale frame" 5 log_has "$target" 'request_refused reason="stale timestamp"'
	pp_wait_for "$target logs the unsigned frame" 5 log_has "$target" 'request_refused reason="unsigned message"'
done

# Oversized frames: just over the tracker's limit (its largest protobuf part),
# and over the largest frame any service accepts (the worker's limit). nng
# drops the connection before the service sees a byte; the probe then checks
# that the service still answers a ping.
assert_exit 0 probe --bytes $((4 * 1024 * 1024 + 4096)) "$TRACKER_ADDR" oversize
assert_exit 0 probe "$TRACKER_ADDR" oversize
assert_exit 0 probe "${WORKER_ADDR[w1]}" oversize

# A heartbeat signed with a wrong key: the node never appears, and the tracker
# logs the refusal. The control (same heartbeat, right key) does appear, so
# the probe could have seen a forged node had the tracker accepted it.
assert_exit 0 probe --bus "$BUS_ADDR" --node-id forged-node "$TRACKER_ADDR" heartbeat-forge
pp_wait_for "tracker logs the forged heartbeat" 5 log_has tracker 'heartbeat_refused reason="bad signature"'
assert_exit 0 probe --bus "$BUS_ADDR" --node-id probe-control "$TRACKER_ADDR" heartbeat
ppctl --json nodes >"$PP_TMP/nodes.json"
if jq -e '.nodes[] | select(.id == "forged-node")' "$PP_TMP/nodes.json" >/dev/null; then
	fail "the forged node is listed: $(cat "$PP_TMP/nodes.json")"
fi

# Every service is alive and answering; nothing stored changed.
for pid in "$TRACKER_PID" "${WORKER_PID[w1]}" "${WORKER_PID[w2]}"; do
	kill -0 "$pid" || fail "a service died (pid $pid)"
done
assert_exit 0 probe "$TRACKER_ADDR" ping
assert_exit 0 probe "${WORKER_ADDR[w2]}" ping
ppctl get a.bin -o "$PP_TMP/a.out" >/dev/null
assert_eq "$(pp_sha "$PP_TMP/a.out")" "$sum" "a.bin content"
assert_eq "$( (pp_worker_chunks w1; pp_worker_chunks w2) | sort)" "$chunks_before" "chunks stored"
pp_done
