#!/usr/bin/env bash
# Metadata recovery (issue 16): every commit, replacement and delete is also
# a signed record on the workers, so a tracker that lost its database
# rebuilds every file from them: 200 files (some replaced, some deleted, some
# sharing chunks), kill -9 of the tracker, its database deleted, a fresh
# tracker: every live file comes back with its latest version and bytes, no
# deleted one returns, and no chunk is collected while the rebuild runs (the
# collection grace is 2 s, far shorter than the test).
. "$PP_SOURCE_DIR/tests/lib/cluster.sh"
export PP_INVENTORY_INTERVAL_S=2

pp_start_tracker --chunk-size 64KiB --gc-grace-s 2
for i in 1 2 3; do pp_start_worker "w$i"; done
pp_wait_for "3 workers up" 15 pp_nodes_up_is 3

declare -A want_sha want_version
mkdir -p "$PP_TMP/src"
for i in $(seq 1 200); do
	f=$PP_TMP/src/f$i
	if [ $((i % 10)) = 0 ]; then
		cp "$PP_TMP/src/f$((i - 1))" "$f" # same content as the previous file: shared chunks
	else
		head -c $(((i * 7919) % 300000)) /dev/urandom >"$f"
	fi
	ppctl put "$f" --name "dir$((i % 7))/f$i" >/dev/null
	want_sha["dir$((i % 7))/f$i"]=$(pp_sha "$f")
	want_version["dir$((i % 7))/f$i"]=1
done
# Replace every 9th file (twice for every 27th), delete every 13th.
for i in $(seq 9 9 200); do
	name="dir$((i % 7))/f$i"
	rounds=1
	[ $((i % 27)) = 0 ] && rounds=2
	for r in $(seq 1 $rounds); do
		head -c $((1000 + i * r)) /dev/urandom >"$PP_TMP/src/r$i"
		ppctl put "$PP_TMP/src/r$i" --name "$name" >/dev/null
		want_sha[$name]=$(pp_sha "$PP_TMP/src/r$i")
		want_version[$name]=$((want_version[$name] + 1))
	done
done
deleted=()
for i in $(seq 13 13 200); do
	name="dir$((i % 7))/f$i"
	ppctl rm "$name" >/dev/null
	unset "want_sha[$name]" "want_version[$name]"
	deleted+=("$name")
done
live=${#want_sha[@]}
assert_eq "$(ppctl --json ls | jq .total)" "$live" "files before the crash"

# Lose the tracker's disk.
kill -KILL "$TRACKER_PID"
wait "$TRACKER_PID" 2>/dev/null || true
rm -f "$TRACKER_DB" "$TRACKER_DB-wal" "$TRACKER_DB-shm"
pp_launch_tracker --chunk-size 64KiB --gc-grace-s 2
restored() { [ "$(ppctl --json ls | jq .total)" = "$live" ]; }
pp_wait_for "every live file restored from the workers' records" 30 restored
grep -q "records_read" "$PP_TMP/logs/tracker.log" || fail "the tracker did not log what it restored"
pp_wait_for "fully replicated after the rebuild" 30 pp_fully_replicated
# Several collection passes run with the rebuilt database: nothing needed goes.
sleep 3
for name in "${!want_sha[@]}"; do
	ppctl get "$name" -o "$PP_TMP/back" >/dev/null || fail "$name: not readable after the rebuild"
	assert_eq "$(pp_sha "$PP_TMP/back")" "${want_sha[$name]}" "$name content"
	assert_eq "$(ppctl --json stat "$name" | jq .version)" "${want_version[$name]}" "$name version"
done
for name in "${deleted[@]}"; do
	assert_exit 2 ppctl stat "$name"
done
# A new commit after the rebuild wins over every record written before.
name=dir3/f10
echo "after the rebuild" >"$PP_TMP/new"
ppctl put "$PP_TMP/new" --name "$name" >/dev/null
kill -KILL "$TRACKER_PID"
wait "$TRACKER_PID" 2>/dev/null || true
rm -f "$TRACKER_DB" "$TRACKER_DB-wal" "$TRACKER_DB-shm"
pp_launch_tracker --chunk-size 64KiB --gc-grace-s 2
pp_wait_for "restored again" 30 restored
ppctl get "$name" -o "$PP_TMP/back" >/dev/null
cmp "$PP_TMP/new" "$PP_TMP/back" || fail "the newest commit did not win the second rebuild"
pp_done
