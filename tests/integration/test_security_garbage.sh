#!/usr/bin/env bash
# Hostile bytes on every service port: random bytes, truncated and oversized
# SP frames, raw HTTP on RPC ports. Every service keeps running and
# answering, and no stored file changes.
. "$PP_SOURCE_DIR/tests/lib/cluster.sh"

pp_cluster 2
pp_make_file "$PP_TMP/a.bin" 500000
ppctl put "$PP_TMP/a.bin" --name a.bin >/dev/null
sum=$(pp_sha "$PP_TMP/a.bin")

ports=("$TRACKER_PORT" "$BUS_PORT" "${WORKER_PORT[w1]}" "${WORKER_PORT[w2]}")
# nng's SP handshake: "\0SP\0" + protocol id (REQ = 0x30, PUB = 0x20) + reserved.
# Kept as printf escapes: bash variables cannot hold NUL bytes.
sp_req='\x00SP\x00\x00\x30\x00\x00'
sp_pub='\x00SP\x00\x00\x20\x00\x00'
send() { # port, bytes-producing command
	local port=$1
	shift
	timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port; $* >&3; sleep 0.2" 2>/dev/null || true
}
for port in "${ports[@]}"; do
	send "$port" "head -c 4096 /dev/urandom"
	send "$port" "printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'"
	for hs in "$sp_req" "$sp_pub"; do
		# Valid handshake, then a frame header announcing 2^62 bytes.
		send "$port" "printf '$hs'; printf '\x40\x00\x00\x00\x00\x00\x00\x00'"
		# Valid handshake, then a length-prefixed message of random bytes.
		send "$port" "printf '$hs'; printf '\x00\x00\x00\x00\x00\x00\x01\x00'; head -c 256 /dev/urandom"
		# Valid handshake, then a truncated message.
		send "$port" "printf '$hs'; printf '\x00\x00\x00\x00\x00\x10\x00\x00'; head -c 100 /dev/urandom"
		# Valid handshake, a REQ-shaped message (request id) holding garbage.
		send "$port" "printf '$hs'; printf '\x00\x00\x00\x00\x00\x00\x00\x48\x80\x00\x00\x01'; head -c 68 /dev/urandom"
	done
done

for pid in "$TRACKER_PID" "${WORKER_PID[w1]}" "${WORKER_PID[w2]}"; do
	kill -0 "$pid" || fail "a service died from hostile input (pid $pid)"
done
ppctl ping >/dev/null || fail "tracker stopped answering"
"$PP_BIN_DIR/ppctl" --node "${WORKER_ADDR[w1]}" ping >/dev/null || fail "w1 stopped answering"
pp_wait_for "both workers still up" 10 pp_nodes_up_is 2
ppctl get a.bin -o "$PP_TMP/a.out" >/dev/null
assert_eq "$(pp_sha "$PP_TMP/a.out")" "$sum" "a.bin content"
pp_done
