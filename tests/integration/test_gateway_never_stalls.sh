#!/usr/bin/env bash
# A gateway that never stalls (issue 15): with every worker holding file A
# frozen (SIGSTOP) and 64 downloads of A waiting on them, /healthz, /metrics
# and a download of file B (whose copies are all on live workers) still
# answer within GW_STALL_BOUND_S (2 s: generous for a loaded 2-core machine;
# the issue's target is 100 ms and the measured figures are logged). The 64
# must still be pending when the checks end, and finish once the workers
# resume.
# Frozen workers stay "ok" in the tracker's eyes for the whole test, so
# downloads opened late still wait on them rather than fail at once.
export PP_SUSPECT_MS=${PP_SUSPECT_MS:-60000} PP_DEAD_MS=${PP_DEAD_MS:-120000}
. "$PP_SOURCE_DIR/tests/lib/cluster.sh"
for t in curl jq ss; do command -v "$t" >/dev/null || { echo "SKIP: $t is not installed"; exit 77; }; done

N=64
BOUND_S=${GW_STALL_BOUND_S:-2}
T=$PP_TMP
pp_cluster 4
pp_start_gateway
G=$GATEWAY_URL

holders() { ppctl --json stat "$1" | jq -r '.chunks[].replicas[].node' | sort -u; }

pp_make_file "$T/a" 65536
curl -fsS -X PUT --data-binary @"$T/a" "$G/api/v1/files/a.bin" >/dev/null || fail "upload of a.bin"
mapfile -t A_NODES < <(holders a.bin)
[ "${#A_NODES[@]}" -ge 2 ] || fail "a.bin has copies on ${#A_NODES[@]} workers, expected 2"
# Placement is the tracker's choice: upload candidates until one has no copy
# on a worker that holds a.bin (4 workers, 2 copies each: usually the first).
B=""
for i in $(seq 1 20); do
	pp_make_file "$T/b$i" 65536
	curl -fsS -X PUT --data-binary @"$T/b$i" "$G/api/v1/files/b$i.bin" >/dev/null || fail "upload of b$i.bin"
	if [ -z "$(comm -12 <(holders "b$i.bin") <(printf '%s\n' "${A_NODES[@]}"))" ]; then
		B=b$i
		break
	fi
done
[ -n "$B" ] || fail "no file placed away from a.bin's workers (${A_NODES[*]}) in 20 tries"
pp_log "a.bin on ${A_NODES[*]}; $B.bin on $(holders "$B.bin" | tr '\n' ' ')"

for w in "${A_NODES[@]}"; do pp_kill_worker "$w" STOP; done
DL_PIDS=()
for i in $(seq 1 "$N"); do
	curl -sS -o "$T/dl$i" --max-time 150 "$G/api/v1/files/a.bin" 2>"$T/dl$i.err" &
	DL_PIDS+=("$!")
	PP_PIDS+=("$!")
done
conns() { ss -Htn state established "( sport = :$GATEWAY_PORT )" | wc -l; }
pp_wait_for "$N downloads connected" 30 bash -c "[ \$(ss -Htn state established '( sport = :$GATEWAY_PORT )' | wc -l) -ge $N ]"
# Each has asked for its manifest and is waiting on a frozen worker's chunk
# once the gateway logs no more request lines for a moment.
sleep 1

# timed NAME URL [OUT]: the request's total time in seconds; fails past BOUND_S.
timed() {
	local name=$1 url=$2 out=${3:-/dev/null} t
	t=$(curl -fsS -o "$out" -w '%{time_total}' --max-time 30 "$url") || fail "$name failed while $N downloads were stuck"
	pp_log "$name answered in ${t}s with $N downloads stuck ($(conns) connections open)"
	awk -v t="$t" -v b="$BOUND_S" 'BEGIN{exit !(t < b)}' || fail "$name took ${t}s (bound ${BOUND_S}s)"
}
timed /healthz "$G/healthz"
timed /metrics "$G/metrics"
timed "download of $B.bin" "$G/api/v1/files/$B.bin" "$T/got"
assert_eq "$(pp_sha "$T/got")" "$(pp_sha "$T/$B")" "$B.bin downloaded while a.bin is stuck"
timed /healthz "$G/healthz"

pending=0
for p in "${DL_PIDS[@]}"; do kill -0 "$p" 2>/dev/null && pending=$((pending + 1)); done
assert_eq "$pending" "$N" "downloads of a.bin still pending after the checks"

for w in "${A_NODES[@]}"; do pp_kill_worker "$w" CONT; done
ok=0
for i in $(seq 1 "$N"); do
	wait "${DL_PIDS[$((i - 1))]}" && cmp -s "$T/dl$i" "$T/a" && ok=$((ok + 1))
done
pp_log "$ok of $N downloads of a.bin completed after the workers resumed"
assert_eq "$ok" "$N" "downloads of a.bin that completed after SIGCONT"
pp_done
