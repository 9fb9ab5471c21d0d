/* Metadata records in the tracker's store (DESIGN.md, "Metadata recovery"):
 * the commit sequence, which records are still to be written to workers,
 * merging records read back from workers, and which nodes' records have
 * been read since this tracker started (collection waits for them).
 *
 * Invariant: per name, files.seq or tombstones.seq (at most one of them
 * exists) is the seq of the newest record the tracker knows of, and kv
 * 'commit_seq' is at least every seq it has seen or given out. A merge applies a record
 * only when its seq is higher, so merging is idempotent and order-free. */
#define _GNU_SOURCE
#include "db_impl.h"
#include "errors.h"
#include "log.h"
#include "timeutil.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Sequence numbers are hybrid: max(last + 1, wall ms << 16). A tracker that
 * lost its database (or a promoted standby) so numbers its new commits above
 * every record written before, without first reading them all back. */
#define SEQ_CLOCK_SHIFT 16

int dbq_next_seq(struct db *db, uint64_t *seq)
{
	int64_t floor = time_wall_ms() << SEQ_CLOCK_SHIFT;
	int rc = dbq_exec(db,
			  "INSERT INTO kv(key, value) VALUES ('commit_seq', ?1)"
			  " ON CONFLICT(key) DO UPDATE SET value = max(value + 1, ?1)",
			  "i", floor);
	int64_t v = 0;
	if (rc == PP_OK)
		rc = dbq_int(db, &v, "SELECT value FROM kv WHERE key = 'commit_seq'", NULL);
	*seq = (uint64_t)v;
	return rc;
}

int db_commit_seq(struct db *db, uint64_t *seq)
{
	int64_t v = 0;
	pthread_mutex_lock(&db->lock);
	int rc = dbq_int(db, &v, "SELECT value FROM kv WHERE key = 'commit_seq'", NULL);
	pthread_mutex_unlock(&db->lock);
	if (rc == PP_ENOTFOUND) {
		v = 0;
		rc = PP_OK;
	}
	*seq = (uint64_t)v;
	return rc;
}

int db_is_empty(struct db *db, bool *empty)
{
	int64_t n = 0;
	pthread_mutex_lock(&db->lock);
	int rc = dbq_int(db, &n,
			 "SELECT (SELECT count(*) FROM files) + (SELECT count(*) FROM tombstones)"
			 " + coalesce((SELECT value FROM kv WHERE key = 'commit_seq'), 0)",
			 NULL);
	pthread_mutex_unlock(&db->lock);
	*empty = rc == PP_OK && n == 0;
	return rc;
}

int db_record_state(struct db *db, const char *name, struct record_head *out)
{
	sqlite3_stmt *st;
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&db->lock);
	int rc = dbq_prep(db, &st,
			  "SELECT seq, record_state, 0 FROM files WHERE name = ?1 UNION ALL"
			  " SELECT seq, record_state, 1 FROM tombstones WHERE name = ?1",
			  "t", name);
	if (rc == PP_OK) {
		if (sqlite3_step(st) == SQLITE_ROW) {
			out->seq = (uint64_t)sqlite3_column_int64(st, 0);
			out->durable = sqlite3_column_int(st, 1) != 0;
			out->tombstone = sqlite3_column_int(st, 2) != 0;
		} else {
			rc = PP_ENOTFOUND;
		}
		dbq_release(db, st);
	}
	pthread_mutex_unlock(&db->lock);
	return rc;
}

int db_record_durable(struct db *db, const char *name, uint64_t seq)
{
	pthread_mutex_lock(&db->lock);
	int rc = dbq_exec(db, "UPDATE files SET record_state = 1 WHERE name = ? AND seq = ?", "tI",
			  name, seq);
	if (rc == PP_OK)
		rc = dbq_exec(db, "UPDATE tombstones SET record_state = 1 WHERE name = ? AND seq = ?",
			      "tI", name, seq);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

int db_records_pending(struct db *db, size_t max, char (**names)[PP_NAME_MAX + 1], size_t *n)
{
	sqlite3_stmt *st;
	*names = calloc(max ? max : 1, sizeof(**names));
	*n = 0;
	if (*names == NULL)
		return PP_EINTERNAL;
	pthread_mutex_lock(&db->lock);
	int rc = dbq_prep(db, &st,
			  "SELECT name FROM (SELECT name, seq FROM files WHERE record_state = 0"
			  " UNION ALL SELECT name, seq FROM tombstones WHERE record_state = 0)"
			  " ORDER BY seq LIMIT ?",
			  "I", (uint64_t)max);
	while (rc == PP_OK && *n < max && sqlite3_step(st) == SQLITE_ROW)
		dbq_copy((*names)[(*n)++], PP_NAME_MAX + 1, st, 0);
	if (st)
		dbq_release(db, st);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

/* ---- merging records read back from workers ---- */

/* Lock held, in a transaction: the seq the store knows for name (0: none). */
static int known_seq(struct db *db, const char *name, uint64_t *seq, int64_t *file_id)
{
	sqlite3_stmt *st;
	*seq = 0;
	*file_id = 0;
	int rc = dbq_prep(db, &st,
			  "SELECT seq, id FROM files WHERE name = ?1 UNION ALL"
			  " SELECT seq, 0 FROM tombstones WHERE name = ?1",
			  "t", name);
	if (rc != PP_OK)
		return rc;
	if (sqlite3_step(st) == SQLITE_ROW) {
		*seq = (uint64_t)sqlite3_column_int64(st, 0);
		*file_id = sqlite3_column_int64(st, 1);
	}
	dbq_release(db, st);
	return PP_OK;
}

/* Lock held: drops a file row and its chunk references (as a delete does). */
static int drop_file(struct db *db, int64_t id, int64_t gc_after_ms)
{
	int rc = dbq_exec(db,
			  "UPDATE chunks SET refcount = refcount - (SELECT count(*) FROM file_chunks"
			  " WHERE file_id = ?1 AND chunk_id = chunks.id),"
			  " gc_after_ms = max(gc_after_ms, ?2)"
			  " WHERE id IN (SELECT chunk_id FROM file_chunks WHERE file_id = ?1)",
			  "ii", id, gc_after_ms);
	if (rc == PP_OK)
		rc = dbq_exec(db, "DELETE FROM files WHERE id = ?", "i", id);
	return rc;
}

static int raise_commit_seq(struct db *db, uint64_t seq)
{
	return dbq_exec(db,
			"INSERT INTO kv(key, value) VALUES ('commit_seq', ?1)"
			" ON CONFLICT(key) DO UPDATE SET value = max(value, excluded.value)",
			"I", seq);
}

/* Lock held, inside a transaction: one record. */
static int merge_locked(struct db *db, const struct merge_record *r, int64_t gc_after_ms,
			enum merge_outcome *outcome)
{
	*outcome = MERGE_OLDER;
	uint64_t seq = 0;
	int64_t file_id = 0;
	int rc = raise_commit_seq(db, r->seq);
	if (rc == PP_OK)
		rc = known_seq(db, r->name, &seq, &file_id);
	if (rc != PP_OK || r->seq <= seq)
		goto done;
	if (file_id != 0)
		rc = drop_file(db, file_id, gc_after_ms);
	if (rc == PP_OK)
		rc = dbq_exec(db, "DELETE FROM tombstones WHERE name = ?", "t", r->name);
	if (rc != PP_OK)
		goto done;
	if (r->tombstone) {
		rc = dbq_exec(db,
			      "INSERT INTO tombstones(name, seq, deleted_at_ms, record_state)"
			      " VALUES (?, ?, ?, 1)",
			      "tIi", r->name, r->seq, r->created_at_ms);
		*outcome = file_id ? MERGE_DELETED : MERGE_TOMBSTONE;
		goto done;
	}
	rc = dbq_exec(db,
		      "INSERT INTO files(name, version, size, sha256, replication, chunk_size,"
		      " chunk_count, created_at_ms, seq, record_state)"
		      " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
		      "tIItiiIiI", r->name, r->version, r->size, r->sha256, (int64_t)r->replication,
		      (int64_t)r->chunk_size, r->chunk_count, r->created_at_ms, r->seq);
	if (rc != PP_OK)
		goto done;
	int64_t id = sqlite3_last_insert_rowid(db->conn);
	sqlite3_stmt *chunk = NULL, *link = NULL;
	rc = dbq_prep(db, &chunk,
		      "INSERT INTO chunks(id, size, refcount, replication, gc_after_ms)"
		      " VALUES (?1, ?2, 1, ?3, 0) ON CONFLICT(id) DO UPDATE SET"
		      " refcount = refcount + 1, replication = max(replication, ?3)",
		      NULL);
	if (rc == PP_OK)
		rc = dbq_prep(db, &link, "INSERT INTO file_chunks(file_id, idx, chunk_id) VALUES (?, ?, ?)",
			      NULL);
	for (size_t i = 0; rc == PP_OK && i < r->n_chunks; i++) {
		sqlite3_bind_text(chunk, 1, r->chunks[i].id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(chunk, 2, r->chunks[i].size);
		sqlite3_bind_int64(chunk, 3, r->replication);
		if (sqlite3_step(chunk) != SQLITE_DONE)
			rc = PP_EINTERNAL;
		sqlite3_reset(chunk);
		sqlite3_bind_int64(link, 1, id);
		sqlite3_bind_int64(link, 2, (int64_t)i);
		sqlite3_bind_text(link, 3, r->chunks[i].id, -1, SQLITE_STATIC);
		if (rc == PP_OK && sqlite3_step(link) != SQLITE_DONE)
			rc = PP_EINTERNAL;
		sqlite3_reset(link);
	}
	if (chunk)
		dbq_release(db, chunk);
	if (link)
		dbq_release(db, link);
	if (rc == PP_OK)
		rc = dbq_grams_insert(db, id, r->name, r->created_at_ms);
	if (rc == PP_OK)
		*outcome = file_id ? MERGE_REPLACED : MERGE_RESTORED;
done:
	return rc;
}

/* One transaction for the batch (a record per transaction made rebuilding
 * 10 k files take 12 s); a savepoint per record, so one that fails is
 * rolled back alone and the others still land. */
int db_merge_records(struct db *db, const struct merge_record *recs, size_t n,
		     int64_t gc_after_ms, enum merge_outcome *outcomes)
{
	for (size_t i = 0; i < n; i++)
		outcomes[i] = MERGE_OLDER;
	pthread_mutex_lock(&db->lock);
	int rc = dbq_begin(db);
	for (size_t i = 0; rc == PP_OK && i < n; i++) {
		const struct merge_record *r = &recs[i];
		rc = dbq_exec(db, "SAVEPOINT merge_one", NULL);
		if (rc != PP_OK)
			break;
		if (merge_locked(db, r, gc_after_ms, &outcomes[i]) != PP_OK) {
			outcomes[i] = MERGE_OLDER;
			log_error("record_merge_failed", "name=%s seq=%llu", log_q(r->name),
				  (unsigned long long)r->seq);
			rc = dbq_exec(db, "ROLLBACK TO merge_one", NULL);
		}
		if (rc == PP_OK)
			rc = dbq_exec(db, "RELEASE merge_one", NULL);
	}
	if (rc == PP_OK)
		rc = dbq_commit(db);
	if (rc != PP_OK) {
		dbq_rollback(db);
		for (size_t i = 0; i < n; i++)
			outcomes[i] = MERGE_OLDER;
		log_error("records_merge_failed", "records=%zu", n);
	}
	pthread_mutex_unlock(&db->lock);
	return rc;
}

int db_merge_record(struct db *db, const struct merge_record *r, int64_t gc_after_ms,
		    enum merge_outcome *outcome)
{
	return db_merge_records(db, r, 1, gc_after_ms, outcome);
}

/* ---- which nodes' records were read since start ---- */

int db_scans_reset(struct db *db)
{
	pthread_mutex_lock(&db->lock);
	int rc = dbq_exec(db, "DELETE FROM node_scans", NULL);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

int db_scan_done(struct db *db, const char *node_id)
{
	pthread_mutex_lock(&db->lock);
	int rc = dbq_exec(db, "INSERT OR IGNORE INTO node_scans(node_id) VALUES (?)", "t", node_id);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

int db_names_after(struct db *db, uint64_t after_seq, size_t max, struct name_seq **out, size_t *n)
{
	sqlite3_stmt *st;
	*out = calloc(max ? max : 1, sizeof(**out));
	*n = 0;
	if (*out == NULL)
		return PP_EINTERNAL;
	pthread_mutex_lock(&db->lock);
	int rc = dbq_prep(db, &st,
			  "SELECT name, seq FROM (SELECT name, seq FROM files WHERE seq > ?1"
			  " UNION ALL SELECT name, seq FROM tombstones WHERE seq > ?1)"
			  " ORDER BY seq LIMIT ?2",
			  "II", after_seq, (uint64_t)max);
	while (rc == PP_OK && *n < max && sqlite3_step(st) == SQLITE_ROW) {
		dbq_copy((*out)[*n].name, sizeof((*out)[*n].name), st, 0);
		(*out)[*n].seq = (uint64_t)sqlite3_column_int64(st, 1);
		(*n)++;
	}
	if (st)
		dbq_release(db, st);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

int db_kv_get(struct db *db, const char *key, uint64_t *value)
{
	int64_t v = 0;
	pthread_mutex_lock(&db->lock);
	int rc = dbq_int(db, &v, "SELECT value FROM kv WHERE key = ?", "t", key);
	pthread_mutex_unlock(&db->lock);
	if (rc == PP_ENOTFOUND) {
		v = 0;
		rc = PP_OK;
	}
	*value = (uint64_t)v;
	return rc;
}

int db_kv_set(struct db *db, const char *key, uint64_t value)
{
	pthread_mutex_lock(&db->lock);
	int rc = dbq_begin_durable(db);
	if (rc == PP_OK)
		rc = dbq_exec(db,
			      "INSERT INTO kv(key, value) VALUES (?1, ?2)"
			      " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
			      "tI", key, value);
	if (rc == PP_OK)
		rc = dbq_commit(db);
	if (rc != PP_OK)
		dbq_rollback(db);
	dbq_end_durable(db);
	pthread_mutex_unlock(&db->lock);
	return rc;
}
