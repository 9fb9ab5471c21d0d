#!/usr/bin/env bash
# /api/v1/events relays the tracker's event bus as Server-Sent Events: a
# browser-like client sees file_committed after an upload and node_state
# with state dead when a worker is SIGKILLed.
. "$PP_SOURCE_DIR/tests/lib/cluster.sh"

pp_cluster 3
pp_start_gateway
G=$GATEWAY_URL
T=$PP_TMP

curl -sS -N "$G/api/v1/events" >"$T/sse" 2>/dev/null &
CURL_PID=$!
PP_PIDS+=("$CURL_PID")
pp_wait_for "stream opened" 10 grep -q '^: connected' "$T/sse"

printf 'hello' >"$T/f"
curl -fsS -X PUT --data-binary @"$T/f" "$G/api/v1/files/ev.txt" >/dev/null
# The event and data lines may reach the file in separate writes: wait for
# the whole event.
committed_event() {
	local data
	data=$(grep '^data: ' "$T/sse" | sed 's/^data: //')
	jq -e 'select(.kind=="file_committed" and .file=="ev.txt" and .size==5)' <<<"$data" >/dev/null
}
pp_wait_for "file_committed event for ev.txt (5 bytes)" 10 committed_event

pp_kill_worker w2
pp_wait_for "node_state dead event for w2" 15 bash -c "grep '^data: ' '$T/sse' | sed 's/^data: //' | jq -e 'select(.kind==\"node_state\" and .node==\"w2\" and .state==\"dead\")' >/dev/null"
# Every event block is `event: KIND` then `data: JSON` with the same kind.
awk '/^event: /{k=$2; next} /^data: /{sub(/^data: /,""); print k "\t" $0}' "$T/sse" |
	while IFS=$'\t' read -r kind data; do
		[ "$(jq -r .kind <<<"$data")" = "$kind" ] || fail "event $kind carries data of another kind: $data"
	done
grep -q 'event_relayed kind=node_state' "$PP_TMP/logs/gateway.log" || fail "events are not logged"
pp_done
