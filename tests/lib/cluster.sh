# Shared helpers for integration tests: free ports, temp dirs, starting a
# tracker, workers and a gateway as real processes on 127.0.0.1, waiting for
# conditions, and killing every process started — by PID — on exit.
#
# Source it from a test: `. "$PP_SOURCE_DIR/tests/lib/cluster.sh"`. It needs
# PP_BIN_DIR (pp-tracker, pp-worker, pp-gateway, ppctl). Logs of every
# process go to $PP_TMP/logs/NAME.log and are printed when a test fails.
set -euo pipefail

: "${PP_BIN_DIR:?PP_BIN_DIR must point at the built binaries}"
PP_TMP=$(mktemp -d "${TMPDIR:-/tmp}/pptest.XXXXXX")
mkdir -p "$PP_TMP/logs"
PP_PIDS=()
declare -A WORKER_PID WORKER_ADDR WORKER_PORT WORKER_DIR
PP_TEST_FAILED=1
PP_HEARTBEAT_MS=${PP_HEARTBEAT_MS:-200}
PP_SUSPECT_MS=${PP_SUSPECT_MS:-1000}
PP_DEAD_MS=${PP_DEAD_MS:-2000}

pp_log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

fail() {
	pp_log "FAIL: $*"
	exit 1
}

pp_cleanup() {
	local rc=$?
	for pid in "${PP_PIDS[@]}"; do
		kill -CONT "$pid" 2>/dev/null || true
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${PP_PIDS[@]}"; do
		for _ in $(seq 1 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	# Every event any service logged must be logfmt (issue 17).
	if [ "$rc" -eq 0 ] && compgen -G "$PP_TMP/logs/*.log" >/dev/null &&
		! python3 "$PP_SOURCE_DIR/tests/lib/logfmt_check.py" "$PP_TMP"/logs/*.log; then
		pp_log "FAIL: a service wrote a log line that is not logfmt"
		rc=1
	fi
	if [ "$rc" -ne 0 ]; then
		for f in "$PP_TMP"/logs/*.log; do
			[ -f "$f" ] || continue
			echo "----- $(basename "$f") (last 40 lines) -----" >&2
			tail -n 40 "$f" >&2
		done
	fi
	if [ "${PP_KEEP_TMP:-0}" != 1 ]; then rm -rf "$PP_TMP"; fi
	exit "$rc"
}
trap pp_cleanup EXIT
trap 'exit 130' INT TERM

# A TCP port nothing listens on right now, below Linux's ephemeral range
# (32768+): a port picked there can be taken by any outgoing connection while
# a test restarts the service that owned it.
pp_free_port() {
	local p
	for _ in $(seq 1 200); do
		p=$((10000 + RANDOM % 22000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	fail "no free port found"
}

# pp_wait_for DESCRIPTION TIMEOUT_S COMMAND...: polls every 0.1 s.
pp_wait_for() {
	local desc=$1 timeout=$2
	shift 2
	local deadline=$((SECONDS + timeout))
	until "$@" >/dev/null 2>&1; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			fail "timed out after ${timeout}s waiting for: $desc"
		fi
		sleep 0.1
	done
}

pp_start_tracker() {
	TRACKER_PORT=$(pp_free_port)
	BUS_PORT=$(pp_free_port)
	EVENTS_PORT=$(pp_free_port)
	TRACKER_ADDR="tcp://127.0.0.1:$TRACKER_PORT"
	BUS_ADDR="tcp://127.0.0.1:$BUS_PORT"
	EVENTS_ADDR="tcp://127.0.0.1:$EVENTS_PORT"
	TRACKER_DB=${TRACKER_DB:-$PP_TMP/tracker.db}
	pp_launch_tracker "$@"
}

# Starts (or restarts) the tracker on the ports chosen by pp_start_tracker.
pp_launch_tracker() {
	"$PP_BIN_DIR/pp-tracker" --listen "$TRACKER_ADDR" --bus "$BUS_ADDR" \
		--events "$EVENTS_ADDR" --db "$TRACKER_DB" \
		--heartbeat-ms "$PP_HEARTBEAT_MS" --suspect-ms "$PP_SUSPECT_MS" \
		--dead-ms "$PP_DEAD_MS" ${PP_KEY_FILE_ARG:+--key-file "$PP_KEY_FILE_ARG"} \
		"$@" >>"$PP_TMP/logs/tracker.log" 2>&1 &
	TRACKER_PID=$!
	PP_PIDS+=("$TRACKER_PID")
	pp_wait_for "tracker answers ping" 10 ppctl ping
}

# pp_start_standby [extra flags...]: a second tracker following the first
# (STANDBY_ADDR, STANDBY_BUS, STANDBY_EVENTS, STANDBY_DB); workers started
# afterwards report to both (WORKER_TRACKERS, WORKER_BUSES).
pp_start_standby() {
	STANDBY_ADDR="tcp://127.0.0.1:$(pp_free_port)"
	STANDBY_BUS="tcp://127.0.0.1:$(pp_free_port)"
	STANDBY_EVENTS="tcp://127.0.0.1:$(pp_free_port)"
	STANDBY_DB=$PP_TMP/standby.db
	WORKER_TRACKERS="$TRACKER_ADDR,$STANDBY_ADDR"
	WORKER_BUSES="$BUS_ADDR,$STANDBY_BUS"
	pp_launch_standby "$@"
}

pp_launch_standby() {
	"$PP_BIN_DIR/pp-tracker" --listen "$STANDBY_ADDR" --bus "$STANDBY_BUS" \
		--events "$STANDBY_EVENTS" --db "$STANDBY_DB" --follow "$TRACKER_ADDR" \
		--heartbeat-ms "$PP_HEARTBEAT_MS" --suspect-ms "$PP_SUSPECT_MS" \
		--dead-ms "$PP_DEAD_MS" ${PP_KEY_FILE_ARG:+--key-file "$PP_KEY_FILE_ARG"} \
		"$@" >>"$PP_TMP/logs/standby.log" 2>&1 &
	STANDBY_PID=$!
	PP_PIDS+=("$STANDBY_PID")
	pp_wait_for "standby answers ping" 10 "$PP_BIN_DIR/ppctl" --tracker "$STANDBY_ADDR" \
		${PP_KEY_FILE_ARG:+--key-file "$PP_KEY_FILE_ARG"} ping
}

# pp_start_worker ID [extra flags...]
pp_start_worker() {
	local id=$1
	shift
	if [ -z "${WORKER_PORT[$id]:-}" ]; then
		WORKER_PORT[$id]=$(pp_free_port)
		WORKER_DIR[$id]=$PP_TMP/$id
	fi
	WORKER_ADDR[$id]="tcp://127.0.0.1:${WORKER_PORT[$id]}"
	mkdir -p "${WORKER_DIR[$id]}"
	"$PP_BIN_DIR/pp-worker" --id "$id" --listen "${WORKER_ADDR[$id]}" \
		--tracker "${WORKER_TRACKERS:-$TRACKER_ADDR}" --bus "${WORKER_BUSES:-$BUS_ADDR}" \
		--data "${WORKER_DIR[$id]}" \
		--heartbeat-ms "$PP_HEARTBEAT_MS" ${PP_KEY_FILE_ARG:+--key-file "$PP_KEY_FILE_ARG"} \
		"$@" >>"$PP_TMP/logs/$id.log" 2>&1 &
	WORKER_PID[$id]=$!
	PP_PIDS+=("${WORKER_PID[$id]}")
}

pp_kill_worker() {
	local id=$1 sig=${2:-KILL}
	kill "-$sig" "${WORKER_PID[$id]}"
	if [ "$sig" = KILL ]; then wait "${WORKER_PID[$id]}" 2>/dev/null || true; fi
}

pp_start_gateway() {
	GATEWAY_PORT=$(pp_free_port)
	GATEWAY_URL="http://127.0.0.1:$GATEWAY_PORT"
	"$PP_BIN_DIR/pp-gateway" --http "127.0.0.1:$GATEWAY_PORT" --tracker "$TRACKER_ADDR" \
		--events "$EVENTS_ADDR" ${PP_KEY_FILE_ARG:+--key-file "$PP_KEY_FILE_ARG"} \
		"$@" >>"$PP_TMP/logs/gateway.log" 2>&1 &
	GATEWAY_PID=$!
	PP_PIDS+=("$GATEWAY_PID")
	pp_wait_for "gateway /readyz" 10 curl -fsS "$GATEWAY_URL/readyz"
}

# ppctl against the test's tracker.
ppctl() {
	"$PP_BIN_DIR/ppctl" --tracker "$TRACKER_ADDR" ${PP_KEY_FILE_ARG:+--key-file "$PP_KEY_FILE_ARG"} "$@"
}

# Number of nodes in a given state ("up", "dead"...).
pp_nodes_in_state() {
	ppctl --json nodes | jq --arg s "$1" '[.nodes[] | select(.state == $s)] | length'
}

pp_nodes_up_is() { [ "$(pp_nodes_in_state up)" = "$1" ]; }

pp_health_field() { ppctl --json health | jq -r ".$1"; }

pp_fully_replicated() {
	local h
	h=$(ppctl --json health) || return 1
	[ "$(jq -r .under_replicated <<<"$h")" = 0 ] && [ "$(jq -r .lost <<<"$h")" = 0 ]
}

# pp_cluster N [worker flags...]: tracker + workers w1..wN, all up.
pp_cluster() {
	local n=$1
	shift
	pp_start_tracker
	for i in $(seq 1 "$n"); do pp_start_worker "w$i" "$@"; done
	pp_wait_for "$n workers up" 15 pp_nodes_up_is "$n"
}

# pp_make_file PATH BYTES: deterministic pseudo-random content.
pp_make_file() {
	head -c "$2" </dev/urandom >"$1"
}

pp_sha() { sha256sum "$1" | cut -d' ' -f1; }

assert_eq() {
	[ "$1" = "$2" ] || fail "${3:-values differ}: expected '$2', got '$1'"
}

# assert_exit CODE COMMAND...: the command exits with exactly CODE.
assert_exit() {
	local want=$1
	shift
	local got=0
	"$@" >"$PP_TMP/last.out" 2>"$PP_TMP/last.err" || got=$?
	[ "$got" = "$want" ] || fail "'$*' exited $got, expected $want; stderr: $(head -c 400 "$PP_TMP/last.err")"
}

# Chunk files stored by a worker (ids), one per line.
pp_worker_chunks() {
	find "${WORKER_DIR[$1]}/chunks" -type f -regextype egrep -regex '.*/[0-9a-f]{64}$' \
		-printf '%f\n' 2>/dev/null | sort
}

# pp_worker_has WORKER CHUNK_ID: the worker's store holds that chunk file.
pp_worker_has() {
	local id=$2
	[ -f "${WORKER_DIR[$1]}/chunks/${id:0:2}/${id:2:2}/$id" ]
}

# pp_worker_extra WORKER CHUNK_ID: the worker holds it as an extra copy.
pp_worker_extra() {
	[ -f "${WORKER_DIR[$1]}/extra/$2" ]
}

pp_done() {
	PP_TEST_FAILED=0
	pp_log "PASS: $(basename "$0")"
}
