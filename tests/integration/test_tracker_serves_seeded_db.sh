#!/usr/bin/env bash
# Scale benchmark (issue 14): a database pp-bench-seed builds offline is what
# the tracker itself would hold, so the benchmark's figures are the tracker's.
# 2,000 files x 3 chunks seeded on w1..w3 and served by a real tracker with
# real workers: health counts, stat (chunks, sizes, copies on the seeded
# nodes), ls for a word and for two characters (totals equal to the names'
# own count); a real upload beside them leaves rows of the same shape as a
# seeded file's; the counters recomputed from the rows agree with the
# triggers' before the tracker ran and after.
. "$PP_SOURCE_DIR/tests/lib/cluster.sh"

SEED=$PP_BIN_DIR/pp-bench-seed
[ -x "$SEED" ] || { echo "SKIP: pp-bench-seed not built" >&2; exit 77; }
command -v sqlite3 >/dev/null || { echo "SKIP: sqlite3 (the CLI) not installed" >&2; exit 77; }
FILES=2000
CHUNKS=3
CHUNK=4096
# Seeded copies are newer than any worker's snapshot (as in bench/run), so
# the workers' first inventories (their stores are empty) keep them.
GEN_BASE=$((0x7fffffff << 32))
TRACKER_DB=$PP_TMP/seeded.db

"$SEED" seed "$TRACKER_DB" "$FILES" "$CHUNKS" w1,w2,w3 --chunk-size "$CHUNK" \
	--gen-base "$GEN_BASE" --names-out "$PP_TMP/names" --names-sample "$FILES" >"$PP_TMP/seed.json"
jq -e ".files == $FILES and .chunks == $((FILES * CHUNKS)) and .replicas == $((FILES * CHUNKS * 2))" \
	"$PP_TMP/seed.json" >/dev/null || fail "seed summary: $(cat "$PP_TMP/seed.json")"
assert_eq "$(wc -l <"$PP_TMP/names")" "$FILES" "names written"
"$SEED" verify "$TRACKER_DB" >"$PP_TMP/verify.json" || fail "seeded store inconsistent: $(cat "$PP_TMP/verify.json")"
assert_eq "$("$SEED" seed "$TRACKER_DB" 1 1 w1 >/dev/null 2>&1; echo $?)" 1 "seeding a database with files"

pp_start_tracker --chunk-size "$CHUNK"
for i in 1 2 3; do PP_INVENTORY_INTERVAL_S=86400 pp_start_worker "w$i"; done
pp_wait_for "3 workers up" 30 pp_nodes_up_is 3
pp_wait_for "every seeded chunk on 2 live workers" 30 pp_fully_replicated
h=$(ppctl --json health)
assert_eq "$(jq -r .files <<<"$h")" "$FILES" "health files"
assert_eq "$(jq -r .chunks <<<"$h")" "$((FILES * CHUNKS))" "health chunks"
assert_eq "$(jq -r .bytes_stored <<<"$h")" "$((FILES * CHUNKS * 2 * CHUNK))" "health bytes stored"

name=$(sed -n 1234p "$PP_TMP/names")
assert_eq "$name" "$("$SEED" name 1233)" "names are reproducible"
ppctl --json stat "$name" >"$PP_TMP/stat.json"
assert_eq "$(jq -r .size "$PP_TMP/stat.json")" "$((CHUNKS * CHUNK))" "stat size"
assert_eq "$(jq '.chunks | length' "$PP_TMP/stat.json")" "$CHUNKS" "stat chunks"
assert_eq "$(jq '[.chunks[] | .replicas | map(select(.state == "ok")) | map(.node) | unique | length] | unique' \
	-c "$PP_TMP/stat.json")" "[2]" "two ok copies of each chunk on distinct nodes"
jq -e '[.chunks[].replicas[].node] | all(. == "w1" or . == "w2" or . == "w3")' "$PP_TMP/stat.json" \
	>/dev/null || fail "copies on nodes the seed did not name"

# Search: the trigram index for a word, the gram table for two characters;
# the totals are the names' own count of that substring.
word=$(cut -d/ -f2 <<<"$name")
assert_eq "$(ppctl --json ls "$word" | jq -r .total)" "$(grep -ciF "$word" "$PP_TMP/names")" "ls $word"
assert_eq "$(ppctl --json ls ar | jq -r .total)" "$(grep -ciF ar "$PP_TMP/names")" "ls ar"
ppctl --json ls "$word" --limit 5 | jq -e '.files | length == 5' >/dev/null || fail "ls --limit 5"

# A real upload of the same shape (3 chunks of 4 KiB) next to the seeded files.
head -c $((CHUNKS * CHUNK)) /dev/urandom >"$PP_TMP/real"
ppctl put "$PP_TMP/real" --name real/upload-0000001.bin >/dev/null
h=$(ppctl --json health)
assert_eq "$(jq -r .files <<<"$h")" "$((FILES + 1))" "files after a real upload"
assert_eq "$(jq -r .chunks <<<"$h")" "$((FILES * CHUNKS + CHUNKS))" "chunks after a real upload"
shape() {
	sqlite3 "$TRACKER_DB" "SELECT f.version, f.size, f.replication, f.chunk_size, f.chunk_count,
		f.record_state, c.refcount, c.replication, c.copies, c.copies_any,
		(SELECT group_concat(r.state || ':' || r.extra) FROM replicas r WHERE r.chunk_id = c.id),
		(SELECT count(*) > 0 FROM name_grams g WHERE g.file_id = f.id)
		FROM files f JOIN file_chunks fc ON fc.file_id = f.id JOIN chunks c ON c.id = fc.chunk_id
		WHERE f.name = '$1' ORDER BY fc.idx"
}
assert_eq "$(shape "$name")" "$(shape real/upload-0000001.bin)" "seeded rows shaped as a real upload's"

kill -TERM "$TRACKER_PID"
wait "$TRACKER_PID" 2>/dev/null || true
"$SEED" verify "$TRACKER_DB" >"$PP_TMP/verify2.json" || fail "store inconsistent after the tracker ran: $(cat "$PP_TMP/verify2.json")"
pp_done
