#!/usr/bin/env bash
# Group commit (issue 14): many clients commit small files at once, so their
# commits share fsyncs; kill -9 of the tracker in the middle of the burst
# loses none that was acknowledged. Each client records a name only after
# `ppctl put` exited 0; after the restart every recorded file is there with
# its own bytes.
. "$PP_SOURCE_DIR/tests/lib/cluster.sh"

pp_start_tracker
for i in 1 2 3; do pp_start_worker "w$i"; done
pp_wait_for "3 workers up" 15 pp_nodes_up_is 3

clients=8
client() {
	local c=$1 j=0
	while [ ! -e "$PP_TMP/stop" ] && [ "$j" -lt 500 ]; do
		j=$((j + 1))
		if printf 'client %s file %s\n' "$c" "$j" |
			"$PP_BIN_DIR/ppctl" --tracker "$TRACKER_ADDR" put - --name "burst/$c/$j" \
				>/dev/null 2>&1; then
			echo "burst/$c/$j" >>"$PP_TMP/acked.$c"
		fi
	done
}
pids=()
for c in $(seq 1 "$clients"); do
	: >"$PP_TMP/acked.$c"
	client "$c" &
	pids+=("$!")
	PP_PIDS+=("$!")
done
acked_count() { cat "$PP_TMP"/acked.* | wc -l; }
enough_acked() { [ "$(acked_count)" -ge 40 ]; }
pp_wait_for "40 commits acknowledged" 90 enough_acked
kill -KILL "$TRACKER_PID"
wait "$TRACKER_PID" 2>/dev/null || true
touch "$PP_TMP/stop"
for p in "${pids[@]}"; do wait "$p" || true; done
pp_log "acknowledged before the kill: $(acked_count)"

pp_launch_tracker
pp_wait_for "workers back" 15 pp_nodes_up_is 3
while read -r name; do
	c=${name#burst/}
	c=${c%%/*}
	j=${name##*/}
	got=$(ppctl get "$name" -o - 2>"$PP_TMP/get.err") ||
		fail "acknowledged $name lost after kill -9: $(cat "$PP_TMP/get.err")"
	assert_eq "$got" "client $c file $j" "bytes of $name"
done < <(cat "$PP_TMP"/acked.*)
pp_done
