#!/usr/bin/env bash
# A large upload and download streamed through the gateway (default 2 GiB,
# PP_LARGE_BYTES to change) with the gateway's peak RSS (VmHWM) checked
# under 64 MiB. Sanitizers inflate RSS, so with them the figure is only shown.
# Seconds of fsync-heavy load can delay heartbeats: use liveness timings that
# a loaded 2-core machine keeps, so a suspect flap does not refuse the commit.
export PP_HEARTBEAT_MS=${PP_HEARTBEAT_MS:-500} PP_SUSPECT_MS=${PP_SUSPECT_MS:-5000} PP_DEAD_MS=${PP_DEAD_MS:-10000}
. "$PP_SOURCE_DIR/tests/lib/cluster.sh"

size=${PP_LARGE_BYTES:-2147483648}
limit_kib=$((64 * 1024))
pp_cluster 3
pp_start_gateway
T=$PP_TMP
sanitized=0
if grep -qa '__asan_init\|__ubsan_handle' "$PP_BIN_DIR/pp-gateway"; then sanitized=1; fi
[ "$(df --output=avail -B1 "$T" | tail -1)" -gt $((size * 4)) ] ||
	{ echo "SKIP: not enough disk for $size bytes x 2 replicas + copies"; exit 77; }

# Stream from a generator so the test itself holds nothing: the same seed
# gives the same bytes for the upload and the check.
gen() { { openssl enc -aes-128-ctr -nosalt -pass pass:pp-large -pbkdf2 -in /dev/zero 2>/dev/null || true; } | head -c "$size"; }
want=$(gen | sha256sum | cut -d' ' -f1)
t0=$(date +%s.%N)
gen | curl -fsS -T - \
	"$GATEWAY_URL/api/v1/files/large.bin?replication=2" >"$T/put.json" || fail "upload failed"
t1=$(date +%s.%N)
assert_eq "$(jq -r .sha256 "$T/put.json")" "$want" "uploaded SHA-256"
assert_eq "$(jq -r .size "$T/put.json")" "$size" "uploaded size"
got=$(curl -fsS "$GATEWAY_URL/api/v1/files/large.bin" | sha256sum | cut -d' ' -f1)
t2=$(date +%s.%N)
assert_eq "$got" "$want" "downloaded SHA-256"
hwm=$(awk '/^VmHWM:/{print $2}' "/proc/$GATEWAY_PID/status")
up=$(awk -v s="$size" -v a="$t0" -v b="$t1" 'BEGIN{printf "%.0f", s/(b-a)/1e6}')
down=$(awk -v s="$size" -v a="$t1" -v b="$t2" 'BEGIN{printf "%.0f", s/(b-a)/1e6}')
pp_log "gateway: $size bytes up ${up} MB/s, down ${down} MB/s, peak RSS ${hwm} KiB"
if [ "$sanitized" = 1 ]; then
	pp_log "RSS not asserted: this build uses sanitizers, which inflate RSS (run the release build)"
else
	[ "$hwm" -lt "$limit_kib" ] || fail "gateway peak RSS ${hwm} KiB >= ${limit_kib} KiB"
fi
pp_done
