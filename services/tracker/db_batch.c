/* Batches of one-chunk uploads (ppctl put DIR): sessions, placements and
 * pending copies for many small files in one transaction each, instead of
 * one per file and step (items fail alone: each runs in a savepoint), their
 * commits sharing one durability wait, and the listing of a prefix. */
#define _GNU_SOURCE
#include "db_impl.h"
#include "errors.h"

#include <stdio.h>

#include <stdlib.h>
#include <string.h>

/* Lock held, inside a transaction: what db_upload_begin and db_upload_place
 * do for one file of at most one chunk. */
static int begin_place_locked(struct db *db, struct batch_upload *it, uint32_t replication,
			      uint32_t chunk_size, int64_t now_ms, int64_t gc_after_ms)
{
	int rc = dbq_exec(db,
			  "INSERT INTO uploads(name, replication, chunk_size, expected_size,"
			  " created_ms, last_activity_ms) VALUES (?, ?, ?, ?, ?, ?)",
			  "tiiIii", it->name, (int64_t)replication, (int64_t)chunk_size, it->size,
			  now_ms, now_ms);
	if (rc != PP_OK)
		return rc;
	it->upload_id = sqlite3_last_insert_rowid(db->conn);
	if (it->size == 0)
		return PP_OK;
	rc = dbq_exec(db, "INSERT INTO upload_chunks(upload_id, idx, chunk_id, size) VALUES (?, 0, ?, ?)",
		      "iti", it->upload_id, it->chunk_id, (int64_t)it->size);
	if (rc == PP_OK)
		rc = dbq_exec(db,
			      "INSERT INTO chunks(id, size, refcount, replication, gc_after_ms)"
			      " VALUES (?, ?, 0, 0, ?) ON CONFLICT(id) DO UPDATE SET gc_after_ms ="
			      " max(gc_after_ms, excluded.gc_after_ms)",
			      "tii", it->chunk_id, (int64_t)it->size, gc_after_ms);
	return rc;
}

int db_upload_begin_batch(struct db *db, struct batch_upload *items, size_t n,
			  uint32_t replication, uint32_t chunk_size, int64_t now_ms,
			  int64_t gc_after_ms)
{
	pthread_mutex_lock(&db->lock);
	int rc = dbq_begin(db);
	for (size_t i = 0; i < n; i++) {
		struct batch_upload *it = &items[i];
		it->upload_id = 0;
		if (rc != PP_OK) {
			it->rc = rc;
			continue;
		}
		it->rc = dbq_exec(db, "SAVEPOINT one_upload", NULL);
		if (it->rc == PP_OK)
			it->rc = begin_place_locked(db, it, replication, chunk_size, now_ms, gc_after_ms);
		if (it->rc != PP_OK) {
			dbq_exec(db, "ROLLBACK TO one_upload", NULL);
			it->upload_id = 0;
		}
		dbq_exec(db, "RELEASE one_upload", NULL);
	}
	if (rc == PP_OK)
		rc = dbq_commit(db);
	if (rc != PP_OK) {
		dbq_rollback(db);
		for (size_t i = 0; i < n; i++) {
			items[i].rc = rc;
			items[i].upload_id = 0;
		}
	}
	pthread_mutex_unlock(&db->lock);
	return rc;
}

int db_replicas_pending(struct db *db, const struct chunk_node *list, size_t n, int64_t now_ms)
{
	if (n == 0)
		return PP_OK;
	pthread_mutex_lock(&db->lock);
	int rc = dbq_begin(db);
	for (size_t i = 0; i < n && rc == PP_OK; i++)
		rc = dbq_exec(db, DB_SQL_REPLICA_PENDING, "tti", list[i].chunk_id, list[i].node_id,
			      now_ms);
	if (rc == PP_OK)
		rc = dbq_commit(db);
	if (rc != PP_OK)
		dbq_rollback(db);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

/* The smallest string above every string that starts with prefix, or NULL
 * when there is none (empty prefix, or all 0xff bytes): names compare as
 * bytes (SQLite's BINARY collation). */
static char *prefix_end(const char *prefix)
{
	size_t len = strlen(prefix);
	char *end = strdup(prefix);
	while (end != NULL && len > 0 && (unsigned char)end[len - 1] == 0xff)
		end[--len] = '\0';
	if (end == NULL || len == 0) {
		free(end);
		return NULL;
	}
	end[len - 1] = (char)((unsigned char)end[len - 1] + 1);
	return end;
}

int db_files_by_prefix(struct db *db, const char *prefix, const char *after, uint32_t limit,
		       struct file_rec **out, size_t *n, bool *more)
{
	*n = 0;
	*more = false;
	*out = calloc(limit ? limit : 1, sizeof(**out));
	if (*out == NULL)
		return PP_EINTERNAL;
	/* No end (out of memory, or none exists): the loop stops at the first
	 * name past the prefix instead. */
	char *end = prefix_end(prefix);
	size_t plen = strlen(prefix);
	pthread_mutex_lock(&db->lock);
	sqlite3_stmt *st;
	/* A range on the name index; one row past the page says whether more follow. */
	int rc = dbq_prep(db, &st,
			  "SELECT " FILE_COLS " FROM files f WHERE f.name >= ?1 AND f.name > ?2"
			  " AND (?3 IS NULL OR f.name < ?3) ORDER BY f.name LIMIT ?4",
			  "ttti", prefix, after ? after : "", end, (int64_t)limit + 1);
	if (rc == PP_OK) {
		int rv;
		while ((rv = sqlite3_step(st)) == SQLITE_ROW) {
			const char *name = (const char *)sqlite3_column_text(st, 1);
			if (name == NULL || strncmp(name, prefix, plen) != 0)
				break;
			if (*n == limit) {
				*more = true;
				break;
			}
			db_file_row(st, &(*out)[(*n)++]);
		}
		if (rv != SQLITE_ROW && rv != SQLITE_DONE)
			rc = PP_EINTERNAL;
		dbq_release(db, st);
	}
	pthread_mutex_unlock(&db->lock);
	free(end);
	return rc;
}

void db_upload_commit_many(struct db *db, struct commit_one *items, size_t n, int64_t now_ms,
			   int64_t gc_after_ms)
{
	/* Each commit is its own transaction (visible at once); one wait on
	 * the group fsync then covers them all. */
	uint64_t last = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t ticket = 0;
		items[i].err[0] = '\0';
		items[i].rc = db_upload_commit_visible(db, items[i].upload_id, items[i].size,
						       items[i].sha256, items[i].chunk_count, now_ms,
						       gc_after_ms, &items[i].out, items[i].err,
						       sizeof(items[i].err), &ticket);
		if (items[i].rc == PP_OK && ticket > last)
			last = ticket;
	}
	if (last == 0)
		return;
	int rc = db_wait_durable(db, last);
	for (size_t i = 0; rc != PP_OK && i < n; i++) {
		if (items[i].rc == PP_OK) {
			items[i].rc = rc;
			snprintf(items[i].err, sizeof(items[i].err), "committed, but the store failed to sync it");
		}
	}
}
