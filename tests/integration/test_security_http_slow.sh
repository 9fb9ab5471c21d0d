#!/usr/bin/env bash
# Slow clients (issue "Security and hostile input"): a client that trickles
# its request headers one byte a second is dropped by the gateway's header
# deadline (10 s) instead of holding a connection forever, while ordinary
# requests keep being served; nothing stored changes.
. "$PP_SOURCE_DIR/tests/lib/cluster.sh"

pp_cluster 2
pp_start_gateway
pp_make_file "$PP_TMP/a.bin" 200000
curl -fsS -T "$PP_TMP/a.bin" "$GATEWAY_URL/api/v1/files/a.bin" >/dev/null
sum=$(pp_sha "$PP_TMP/a.bin")

# Three tricklers at once; each reports how long the gateway let it live.
cat >"$PP_TMP/trickle.py" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
s = socket.create_connection(("127.0.0.1", port))
start = time.monotonic()
s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n")
try:
    while time.monotonic() - start < 40:
        s.sendall(b"X")
        time.sleep(1)
        s.settimeout(0.01)
        try:
            if s.recv(1) == b"":
                break
        except socket.timeout:
            pass
        s.settimeout(None)
except (BrokenPipeError, ConnectionResetError):
    pass
print(round(time.monotonic() - start, 1))
PY
tricklers=()
for i in 1 2 3; do
	python3 "$PP_TMP/trickle.py" "$GATEWAY_PORT" >"$PP_TMP/trickle.$i" &
	tricklers+=($!)
done

# Ordinary requests are served while the tricklers hang on.
sleep 3
for _ in 1 2 3; do
	curl -fsS -m 5 "$GATEWAY_URL/api/v1/health" >/dev/null || fail "a normal request failed during the trickle"
done
wait "${tricklers[@]}"
for i in 1 2 3; do
	lived=$(cat "$PP_TMP/trickle.$i")
	pp_log "trickler $i dropped after ${lived}s"
	python3 -c "import sys; sys.exit(0 if 8 <= float('$lived') <= 20 else 1)" ||
		fail "trickler $i lived ${lived}s; the header deadline is 10 s"
done
grep -q slow_client_dropped "$PP_TMP/logs/gateway.log" || fail "the drop was not logged"

curl -fsS -o "$PP_TMP/a.out" "$GATEWAY_URL/api/v1/files/a.bin"
assert_eq "$(pp_sha "$PP_TMP/a.out")" "$sum" "a.bin content"
pp_done
