#!/usr/bin/env bash
# Worker integrity and start-up (issue "Self-healing"; DESIGN.md "Data model"
# and "Binaries"): a worker whose data dir is a regular file exits non-zero
# with a message; workers started before the tracker keep retrying and join
# once it starts; a byte flipped in a stored chunk of a 2-replica file is
# never served (gets return the exact bytes), the bad copy is quarantined
# and the file is repaired back to 2 ok replicas.
. "$PP_SOURCE_DIR/tests/lib/cluster.sh"

for b in pp-tracker pp-worker ppctl; do
	[ -x "$PP_BIN_DIR/$b" ] || { echo "skip: $b is not built yet"; exit 77; }
done
command -v jq >/dev/null || { echo "skip: jq missing"; exit 77; }

# --- an unusable data dir -------------------------------------------------
touch "$PP_TMP/plain-file"
rc=0
timeout 10 "$PP_BIN_DIR/pp-worker" --id bad --listen "tcp://127.0.0.1:$(pp_free_port)" \
	--tracker "tcp://127.0.0.1:$(pp_free_port)" --bus "tcp://127.0.0.1:$(pp_free_port)" \
	--data "$PP_TMP/plain-file" 2>"$PP_TMP/bad.err" || rc=$?
[ "$rc" != 0 ] && [ "$rc" != 124 ] || fail "worker with a file as data dir exited $rc"
grep -q "data dir .*plain-file.* not usable" "$PP_TMP/bad.err" ||
	fail "no clear data-dir message: $(cat "$PP_TMP/bad.err")"

# --- workers first, tracker later -----------------------------------------
TRACKER_PORT=$(pp_free_port)
BUS_PORT=$(pp_free_port)
EVENTS_PORT=$(pp_free_port)
TRACKER_ADDR="tcp://127.0.0.1:$TRACKER_PORT"
BUS_ADDR="tcp://127.0.0.1:$BUS_PORT"
EVENTS_ADDR="tcp://127.0.0.1:$EVENTS_PORT"
TRACKER_DB=$PP_TMP/tracker.db
for w in w1 w2 w3; do pp_start_worker "$w" --heartbeat-ms "$PP_HEARTBEAT_MS"; done
pp_wait_for "w1 logs tracker_unreachable" 15 grep -q tracker_unreachable "$PP_TMP/logs/w1.log"
sleep 1
for w in w1 w2 w3; do
	kill -0 "${WORKER_PID[$w]}" 2>/dev/null || fail "$w exited while the tracker was down"
done
pp_launch_tracker
pp_wait_for "3 workers join the late tracker" 20 pp_nodes_up_is 3
# Heartbeats (the bus) can arrive before the worker's RPC link retries.
pp_wait_for "w1 logs tracker_connected" 20 grep -q tracker_connected "$PP_TMP/logs/w1.log"

# --- a flipped byte is never served, is quarantined and repaired ----------
pp_make_file "$PP_TMP/f.bin" 700000
sum=$(pp_sha "$PP_TMP/f.bin")
ppctl put "$PP_TMP/f.bin" --name f.bin --replication 2 >/dev/null
pp_wait_for "f.bin fully replicated" 10 pp_fully_replicated
ppctl --json stat f.bin >"$PP_TMP/stat.json"
chunk=$(jq -r '.chunks[0].id' "$PP_TMP/stat.json")
[ "$(jq '.chunks[0].replicas | map(select(.state == "ok")) | length' "$PP_TMP/stat.json")" = 2 ] ||
	fail "expected 2 ok replicas: $(cat "$PP_TMP/stat.json")"
bad=
for w in w1 w2 w3; do
	if pp_worker_has "$w" "$chunk"; then bad=$w; break; fi
done
[ -n "$bad" ] || fail "no worker holds chunk $chunk"
file="${WORKER_DIR[$bad]}/chunks/${chunk:0:2}/${chunk:2:2}/$chunk"
orig=$(od -An -tu1 -j 4321 -N1 "$file" | tr -d ' ')
printf "\\$(printf '%03o' $(((orig + 1) % 256)))" |
	dd of="$file" bs=1 seek=4321 conv=notrunc status=none
[ "$(sha256sum "$file" | cut -d' ' -f1)" != "$chunk" ] || fail "the flip did not change the chunk"

# Through the tracker the client may pick either replica: always exact bytes.
for i in 1 2 3; do
	ppctl get f.bin -o "$PP_TMP/out$i.bin" >/dev/null
	assert_eq "$(pp_sha "$PP_TMP/out$i.bin")" "$sum" "f.bin read $i"
done
# Through the worker holding the bad copy: it must not serve it.
"$PP_BIN_DIR/ppctl" --node "${WORKER_ADDR[$bad]}" get f.bin -o "$PP_TMP/direct.bin" >/dev/null
assert_eq "$(pp_sha "$PP_TMP/direct.bin")" "$sum" "f.bin read through $bad"

[ -f "${WORKER_DIR[$bad]}/quarantine/$chunk" ] || fail "corrupt copy not quarantined on $bad"
grep -q "chunk_quarantined chunk=$chunk" "$PP_TMP/logs/$bad.log" || fail "$bad did not log the quarantine"
pp_wait_for "tracker heard of the corrupt copy" 10 grep -q "corrupt_reported chunk=$chunk" "$PP_TMP/logs/$bad.log"
pp_wait_for "repaired to 2 ok replicas" 30 pp_fully_replicated
assert_eq "$(pp_health_field under_replicated)" 0 "under_replicated"
ppctl --json stat f.bin >"$PP_TMP/stat2.json"
ok=$(jq '.chunks[0].replicas | map(select(.state == "ok")) | length' "$PP_TMP/stat2.json")
[ "$ok" -ge 2 ] || fail "chunk has $ok ok replicas after repair: $(cat "$PP_TMP/stat2.json")"
# Every ok copy on disk is a good one.
for w in w1 w2 w3; do
	f="${WORKER_DIR[$w]}/chunks/${chunk:0:2}/${chunk:2:2}/$chunk"
	[ ! -f "$f" ] || assert_eq "$(sha256sum "$f" | cut -d' ' -f1)" "$chunk" "copy on $w"
done
ppctl get f.bin -o "$PP_TMP/final.bin" >/dev/null
assert_eq "$(pp_sha "$PP_TMP/final.bin")" "$sum" "f.bin after repair"
pp_done
