#!/usr/bin/env bash
# Backups (issue 16): `ppctl backup -o FILE` writes a consistent copy of the
# tracker's database while uploads keep streaming in. A tracker started on
# that copy has every upload acknowledged before the backup began, and — by
# reading the workers' metadata records — also those acknowledged after it,
# and the deletes. The copy is a regular file written whole (never a
# partial file in place), and a device as target is written, not replaced.
. "$PP_SOURCE_DIR/tests/lib/cluster.sh"

pp_start_tracker --chunk-size 64KiB
for i in 1 2 3; do pp_start_worker "w$i"; done
pp_wait_for "3 workers up" 15 pp_nodes_up_is 3
mkdir -p "$PP_TMP/src"
for i in $(seq 1 60); do head -c $((i * 3000)) /dev/urandom >"$PP_TMP/src/f$i"; done

# Uploads in the background; each line of acked.log is a file whose put
# returned 0, written after the put returned.
(
	for i in $(seq 1 60); do
		if "$PP_BIN_DIR/ppctl" --tracker "$TRACKER_ADDR" put "$PP_TMP/src/f$i" --name "up/f$i" \
			>/dev/null 2>&1; then
			echo "f$i" >>"$PP_TMP/acked.log"
		fi
	done
) &
uploader=$!
PP_PIDS+=("$uploader")
enough() { [ "$(wc -l <"$PP_TMP/acked.log" 2>/dev/null || echo 0)" -ge 15 ]; }
pp_wait_for "some uploads acknowledged" 60 enough
cp "$PP_TMP/acked.log" "$PP_TMP/before.log"
ppctl backup -o "$PP_TMP/backup.db" 2>"$PP_TMP/backup.err" || fail "backup failed: $(cat "$PP_TMP/backup.err")"
wait "$uploader" || true
[ "$(wc -l <"$PP_TMP/acked.log")" -ge 30 ] || fail "too few uploads acknowledged in all"
# The copy is a database in its own right (no WAL beside it).
[ -s "$PP_TMP/backup.db" ] || fail "empty backup"
[ ! -e "$PP_TMP/backup.db-wal" ] || fail "the backup left a WAL file"
perm=$(stat -c %a "$PP_TMP/backup.db")
assert_eq "$perm" 600 "backup file permissions"
in_backup=$(sqlite3 "$PP_TMP/backup.db" "SELECT count(*) FROM files")
while read -r f; do
	n=$(sqlite3 "$PP_TMP/backup.db" "SELECT count(*) FROM files WHERE name = 'up/$f'")
	assert_eq "$n" 1 "up/$f (acknowledged before the backup) in the backup"
done <"$PP_TMP/before.log"
pp_log "backup holds $in_backup files; $(wc -l <"$PP_TMP/before.log") were acknowledged before it"

# A delete after the backup.
ppctl rm up/f1 >/dev/null

# Lose the database; start on the backup.
kill -KILL "$TRACKER_PID"
wait "$TRACKER_PID" 2>/dev/null || true
rm -f "$TRACKER_DB" "$TRACKER_DB-wal" "$TRACKER_DB-shm"
cp "$PP_TMP/backup.db" "$TRACKER_DB"
pp_launch_tracker --chunk-size 64KiB
want=$(($(wc -l <"$PP_TMP/acked.log") - 1))
all_back() { [ "$(ppctl --json ls --limit 1000 | jq .total)" = "$want" ]; }
pp_wait_for "every acknowledged upload (before and after the backup) back" 30 all_back
assert_exit 2 ppctl stat up/f1
while read -r f; do
	[ "$f" = f1 ] && continue
	ppctl get "up/$f" -o "$PP_TMP/back" >/dev/null 2>"$PP_TMP/get.err" ||
		fail "up/$f not readable after the restore: $(cat "$PP_TMP/get.err"; ppctl --json stat "up/$f")"
	cmp "$PP_TMP/src/$f" "$PP_TMP/back" || fail "up/$f changed"
done <"$PP_TMP/acked.log"
pp_wait_for "fully replicated after the restore" 30 pp_fully_replicated

# A character device (and a FIFO) as the target is written in place, never
# replaced by a regular file. (mknod needs root, as CI runs.)
if mknod "$PP_TMP/null" c 1 3 2>/dev/null; then
	ppctl backup -o "$PP_TMP/null" 2>/dev/null || fail "backup to a device failed"
	[ -c "$PP_TMP/null" ] || fail "the device was replaced by a regular file"
else
	pp_log "not root: the character-device case is skipped"
fi
mkfifo "$PP_TMP/fifo"
cat "$PP_TMP/fifo" >"$PP_TMP/from-fifo" &
reader=$!
ppctl backup -o "$PP_TMP/fifo" 2>/dev/null || fail "backup to a FIFO failed"
wait "$reader"
[ -p "$PP_TMP/fifo" ] || fail "the FIFO was replaced by a regular file"
[ "$(head -c 15 "$PP_TMP/from-fifo")" = "SQLite format 3" ] || fail "the FIFO did not receive a database"
pp_done
