#!/usr/bin/env bash
# Read-ahead under a global memory budget (issue 15): 128 slow clients
# (curl --limit-rate) download a file of 4 chunks of 1 MiB from a gateway
# started with --max-memory 24MiB. Each ends byte-exact (200) or with a
# clear 503 JSON error, never cut; the budget's own peak gauge stays within
# it, and the gateway's peak RSS (VmHWM) stays under the budget plus a fixed
# base. Without the budget each download could hold 4 chunks of read-ahead
# and a send buffer (~540 MiB for 128). Release build only (label release):
# sanitizers inflate RSS, so there the RSS figure is logged, not asserted.
. "$PP_SOURCE_DIR/tests/lib/cluster.sh"

N=${PP_BUDGET_CLIENTS:-128}
BUDGET_MIB=${PP_BUDGET_MIB:-24}
BASE_MIB=64 # threads' stacks, MHD's pools, heap kept for reuse
RATE=${PP_BUDGET_RATE:-2M}
T=$PP_TMP
sanitized=0
if grep -qa '__asan_init\|__ubsan_handle' "$PP_BIN_DIR/pp-gateway"; then sanitized=1; fi

pp_start_tracker --chunk-size 1MiB
for i in 1 2 3; do pp_start_worker "w$i"; done
pp_wait_for "3 workers up" 15 pp_nodes_up_is 3
pp_start_gateway --max-memory "${BUDGET_MIB}MiB"
G=$GATEWAY_URL
pp_make_file "$T/f" $((4 * 1048576))
curl -fsS -X PUT --data-binary @"$T/f" "$G/api/v1/files/slow.bin" >/dev/null || fail "upload"
SHA=$(pp_sha "$T/f")
rss0=$(awk '/^VmRSS:/{print $2}' "/proc/$GATEWAY_PID/status")

PIDS=()
for i in $(seq 1 "$N"); do
	curl -sS --limit-rate "$RATE" --max-time 240 -o "$T/out$i" -w '%{http_code}' \
		"$G/api/v1/files/slow.bin" >"$T/code$i" 2>"$T/err$i" &
	PIDS+=("$!")
	PP_PIDS+=("$!")
done
peak=0
running() { local p; for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && return 0; done; return 1; }
deadline=$((SECONDS + 300))
while running; do
	[ "$SECONDS" -lt "$deadline" ] || fail "downloads still running after 300 s"
	r=$(awk '/^VmRSS:/{print $2}' "/proc/$GATEWAY_PID/status")
	[ "$r" -gt "$peak" ] && peak=$r
	sleep 0.2
done
ok=0 busy=0
for i in $(seq 1 "$N"); do
	wait "${PIDS[$((i - 1))]}" || fail "download $i: curl failed (a cut stream?): $(cat "$T/err$i")"
	code=$(cat "$T/code$i")
	case $code in
	200) [ "$(pp_sha "$T/out$i")" = "$SHA" ] || fail "download $i: 200 with the wrong bytes"
		ok=$((ok + 1)) ;;
	503) jq -e '.code == "unavailable" and (.error | length > 0)' "$T/out$i" >/dev/null ||
		fail "download $i: 503 without a JSON error: $(head -c 200 "$T/out$i")"
		busy=$((busy + 1)) ;;
	*) fail "download $i: status $code: $(head -c 200 "$T/out$i")" ;;
	esac
done
hwm=$(awk '/^VmHWM:/{print $2}' "/proc/$GATEWAY_PID/status")
curl -fsS "$G/metrics" >"$T/m.prom" || fail "no /metrics"
gauge() { awk -v n="$1" '$1 == n {printf "%.0f\n", $2}' "$T/m.prom"; }
used_peak=$(gauge pp_gateway_memory_peak_bytes)
pp_log "$N clients at $RATE/s: $ok complete, $busy refused with 503; budget ${BUDGET_MIB} MiB, its peak use $((used_peak / 1048576)) MiB; gateway RSS $((rss0 / 1024)) MiB before, peak sampled $((peak / 1024)) MiB, VmHWM $((hwm / 1024)) MiB"
[ "$ok" -ge 1 ] || fail "no download completed"
[ "$used_peak" -le $((BUDGET_MIB * 1048576)) ] || fail "budget peak $used_peak bytes exceeds ${BUDGET_MIB} MiB"
if [ "$sanitized" = 1 ]; then
	pp_log "RSS not asserted: this build uses sanitizers, which inflate RSS (run the release build)"
else
	[ "$hwm" -lt $(((BUDGET_MIB + BASE_MIB) * 1024)) ] ||
		fail "gateway peak RSS $((hwm / 1024)) MiB >= budget ${BUDGET_MIB} MiB + base ${BASE_MIB} MiB"
fi
pp_done
