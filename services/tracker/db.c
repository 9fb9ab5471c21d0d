/* The tracker's SQLite store: open, uploads, commits, files and search
 * (schema in db_schema.c, statement helpers in db_query.c).
 *
 * Invariant: a file becomes visible (and an older version of its name goes
 * away) only inside the commit transaction, and chunks.refcount always
 * equals the number of file_chunks rows naming the chunk. Search uses the
 * FTS5 trigram table for queries of >= 3 characters and name_grams (every
 * 1- and 2-character substring of each name, lowercased) for shorter ones,
 * so no query scans the files table. */
#define _GNU_SOURCE
#include "db_impl.h"
#include "errors.h"
#include "log.h"
#include "policy.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int db_open(const char *path, struct db **out)
{
	struct db *db = calloc(1, sizeof(*db));
	if (db == NULL)
		return PP_EINTERNAL;
	pthread_mutex_init(&db->lock, NULL);
	pthread_mutex_init(&db->sync_lock, NULL);
	pthread_cond_init(&db->synced_cv, NULL);
	db->wal_fd = -1;
	db->path = strdup(path);
	int rv = db->path ? sqlite3_open_v2(path, &db->conn,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
				 NULL) : SQLITE_NOMEM;
	char *err = NULL;
	if (rv == SQLITE_OK) {
		sqlite3_busy_timeout(db->conn, 5000);
		rv = sqlite3_exec(db->conn,
				  "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
				  " PRAGMA foreign_keys=ON; PRAGMA secure_delete=OFF;"
				  " PRAGMA cache_size=-32768; PRAGMA temp_store=MEMORY;",
				  NULL, NULL, &err);
	}
	if (rv == SQLITE_OK && dbq_schema_apply(db, &err) != PP_OK)
		rv = SQLITE_ERROR;
	if (rv != SQLITE_OK) {
		log_error("db_open_failed", "path=%s err=%s", log_q(path),
			  log_q(err ? err : (db->conn ? sqlite3_errmsg(db->conn) : "out of memory")));
		sqlite3_free(err);
		db_close(db);
		return PP_EINVAL;
	}
	*out = db;
	return PP_OK;
}

void db_close(struct db *db)
{
	if (db == NULL)
		return;
	for (size_t i = 0; i < STMT_CACHE_SLOTS; i++) {
		if (db->cache[i].sql != NULL) {
			sqlite3_finalize(db->cache[i].st);
			free(db->cache[i].sql);
		}
	}
	sqlite3_close(db->conn);
	if (db->wal_fd >= 0)
		close(db->wal_fd);
	free(db->path);
	pthread_cond_destroy(&db->synced_cv);
	pthread_mutex_destroy(&db->sync_lock);
	pthread_mutex_destroy(&db->lock);
	free(db);
}

/* ---- uploads ---- */

int db_upload_begin(struct db *db, const char *name, uint32_t replication, uint32_t chunk_size,
		    uint64_t expected_size, int64_t now_ms, int64_t *upload_id)
{
	pthread_mutex_lock(&db->lock);
	int rc = dbq_exec(db,
			  "INSERT INTO uploads(name, replication, chunk_size, expected_size,"
			  " created_ms, last_activity_ms) VALUES (?, ?, ?, ?, ?, ?)",
			  "tiiIii", name, (int64_t)replication, (int64_t)chunk_size, expected_size,
			  now_ms, now_ms);
	if (rc == PP_OK)
		*upload_id = sqlite3_last_insert_rowid(db->conn);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

int db_upload_get(struct db *db, int64_t upload_id, struct upload_rec *out)
{
	sqlite3_stmt *st;
	pthread_mutex_lock(&db->lock);
	int rc = dbq_prep(db, &st, "SELECT name, replication, chunk_size FROM uploads WHERE id = ?",
			  "i", upload_id);
	if (rc == PP_OK) {
		if (sqlite3_step(st) == SQLITE_ROW) {
			out->id = upload_id;
			dbq_copy(out->name, sizeof(out->name), st, 0);
			out->replication = (uint32_t)sqlite3_column_int(st, 1);
			out->chunk_size = (uint32_t)sqlite3_column_int(st, 2);
		} else {
			rc = PP_ENOTFOUND;
		}
		dbq_release(db, st);
	}
	pthread_mutex_unlock(&db->lock);
	return rc;
}

int db_upload_place(struct db *db, int64_t upload_id, uint64_t idx, const char *chunk_id,
		    uint32_t size, int64_t now_ms, int64_t gc_after_ms)
{
	pthread_mutex_lock(&db->lock);
	int rc = dbq_begin(db);
	if (rc != PP_OK)
		goto out;
	rc = dbq_exec(db, "UPDATE uploads SET last_activity_ms = ? WHERE id = ?", "ii", now_ms,
		      upload_id);
	if (rc == PP_OK && sqlite3_changes(db->conn) == 0)
		rc = PP_ENOTFOUND;
	if (rc == PP_OK)
		rc = dbq_exec(db,
			      "INSERT INTO upload_chunks(upload_id, idx, chunk_id, size) VALUES (?, ?, ?, ?)"
			      " ON CONFLICT(upload_id, idx) DO UPDATE SET chunk_id = excluded.chunk_id,"
			      " size = excluded.size",
			      "iIti", upload_id, idx, chunk_id, (int64_t)size);
	if (rc == PP_OK)
		rc = dbq_exec(db,
			      "INSERT INTO chunks(id, size, refcount, replication, gc_after_ms)"
			      " VALUES (?, ?, 0, 0, ?) ON CONFLICT(id) DO UPDATE SET gc_after_ms ="
			      " max(gc_after_ms, excluded.gc_after_ms)",
			      "tii", chunk_id, (int64_t)size, gc_after_ms);
	if (rc == PP_OK)
		rc = dbq_commit(db);
out:
	if (rc != PP_OK)
		dbq_rollback(db);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

int db_upload_touch(struct db *db, int64_t upload_id, int64_t now_ms)
{
	pthread_mutex_lock(&db->lock);
	int rc = dbq_exec(db, "UPDATE uploads SET last_activity_ms = max(last_activity_ms, ?)"
			  " WHERE id = ?", "ii", now_ms, upload_id);
	if (rc == PP_OK && sqlite3_changes(db->conn) == 0)
		rc = PP_ENOTFOUND;
	pthread_mutex_unlock(&db->lock);
	return rc;
}

int db_upload_abort(struct db *db, int64_t upload_id)
{
	pthread_mutex_lock(&db->lock);
	int rc = dbq_exec(db, "DELETE FROM uploads WHERE id = ?", "i", upload_id);
	if (rc == PP_OK && sqlite3_changes(db->conn) == 0)
		rc = PP_ENOTFOUND;
	pthread_mutex_unlock(&db->lock);
	return rc;
}

int db_uploads_expire(struct db *db, int64_t cutoff_ms, int *n)
{
	pthread_mutex_lock(&db->lock);
	int rc = dbq_exec(db, "DELETE FROM uploads WHERE last_activity_ms < ?", "i", cutoff_ms);
	*n = rc == PP_OK ? sqlite3_changes(db->conn) : 0;
	pthread_mutex_unlock(&db->lock);
	return rc;
}

/* Every distinct 1- and 2-character substring of name, ASCII-lowercased
 * (the trigram index is case-insensitive too), inserted for file_id. */
int dbq_grams_insert(struct db *db, int64_t file_id, const char *name, int64_t created_ms)
{
	size_t len = strlen(name);
	char *low = strdup(name);
	if (low == NULL)
		return PP_EINTERNAL;
	for (size_t i = 0; i < len; i++)
		low[i] = (char)tolower((unsigned char)low[i]);
	sqlite3_stmt *st;
	int rc = dbq_prep(db, &st,
			  "INSERT OR IGNORE INTO name_grams(gram, file_id, created_at_ms)"
			  " VALUES (?, ?, ?)",
			  NULL);
	size_t prev = 0;
	for (size_t i = 0; rc == PP_OK && i < len;) {
		size_t clen = 1; /* UTF-8 character length */
		unsigned char c = (unsigned char)low[i];
		if (c >= 0xf0)
			clen = 4;
		else if (c >= 0xe0)
			clen = 3;
		else if (c >= 0xc0)
			clen = 2;
		if (i + clen > len)
			clen = len - i;
		/* this character alone, and the previous one with it */
		for (int k = 0; k < 2 && rc == PP_OK; k++) {
			size_t start = k == 0 ? i : prev;
			if (k == 1 && i == 0)
				break;
			sqlite3_bind_text(st, 1, low + start, (int)(i + clen - start), SQLITE_STATIC);
			sqlite3_bind_int64(st, 2, file_id);
			sqlite3_bind_int64(st, 3, created_ms);
			if (sqlite3_step(st) != SQLITE_DONE)
				rc = PP_EINTERNAL;
			sqlite3_reset(st);
		}
		prev = i;
		i += clen;
	}
	if (st)
		dbq_release(db, st);
	free(low);
	return rc;
}

/* Removes file `id` and releases its chunks; refcount-0 chunks become
 * collectable at gc_after_ms, so downloads already streaming this version
 * finish. Lock held, inside a transaction. */
static int file_remove(struct db *db, int64_t id, int64_t gc_after_ms)
{
	int rc = dbq_exec(db,
			  "UPDATE chunks SET refcount = refcount - (SELECT count(*) FROM file_chunks"
			  " WHERE file_id = ?1 AND chunk_id = chunks.id)"
			  " WHERE id IN (SELECT chunk_id FROM file_chunks WHERE file_id = ?1)",
			  "i", id);
	if (rc == PP_OK)
		rc = dbq_exec(db,
			      "UPDATE chunks SET gc_after_ms = max(gc_after_ms, ?2) WHERE refcount <= 0"
			      " AND id IN (SELECT chunk_id FROM file_chunks WHERE file_id = ?1)",
			      "ii", id, gc_after_ms);
	if (rc == PP_OK)
		rc = dbq_exec(db, "DELETE FROM files WHERE id = ?", "i", id);
	return rc;
}

static int commit_check(struct db *db, int64_t upload_id, const struct upload_rec *u,
			uint64_t size, uint64_t chunk_count, char *err, size_t err_len)
{
	int64_t count = 0, total = 0, maxidx = -1, short_idx = -1;
	sqlite3_stmt *st;
	int rc = dbq_prep(db, &st,
			  "SELECT count(*), coalesce(sum(size), 0), coalesce(max(idx), -1)"
			  " FROM upload_chunks WHERE upload_id = ?",
			  "i", upload_id);
	if (rc != PP_OK)
		return rc;
	if (sqlite3_step(st) == SQLITE_ROW) {
		count = sqlite3_column_int64(st, 0);
		total = sqlite3_column_int64(st, 1);
		maxidx = sqlite3_column_int64(st, 2);
	}
	dbq_release(db, st);
	if ((uint64_t)count != chunk_count || maxidx != count - 1) {
		snprintf(err, err_len, "upload has %lld placed chunks, commit says %llu",
			 (long long)count, (unsigned long long)chunk_count);
		return PP_EINVAL;
	}
	if ((uint64_t)total != size) {
		snprintf(err, err_len, "chunk sizes add up to %lld bytes, commit says %llu",
			 (long long)total, (unsigned long long)size);
		return PP_EINVAL;
	}
	/* Durable copies (policy.h): a worker that confirmed the write but
	 * missed a heartbeat under load counts, so large uploads do not fail. */
	rc = dbq_int(db, &short_idx,
		     "SELECT uc.idx FROM upload_chunks uc WHERE uc.upload_id = ?1 AND"
		     " (SELECT count(*) FROM replicas r JOIN nodes n ON n.id = r.node_id"
		     "  WHERE r.chunk_id = uc.chunk_id AND " POLICY_SQL_DURABLE ") < ?2"
		     " ORDER BY uc.idx LIMIT 1",
		     "ii", upload_id, (int64_t)u->replication);
	if (rc == PP_ENOTFOUND)
		return PP_OK;
	if (rc == PP_OK) {
		snprintf(err, err_len, "chunk %lld is not yet stored on %u live workers",
			 (long long)short_idx, u->replication);
		return PP_EUNAVAIL;
	}
	return rc;
}

int db_upload_commit(struct db *db, int64_t upload_id, uint64_t size, const char *sha256,
		     uint64_t chunk_count, int64_t now_ms, int64_t gc_after_ms,
		     struct file_rec *out, char *err, size_t err_len)
{
	uint64_t ticket = 0;
	int rc = db_upload_commit_visible(db, upload_id, size, sha256, chunk_count, now_ms,
					  gc_after_ms, out, err, err_len, &ticket);
	return rc == PP_OK ? db_wait_durable(db, ticket) : rc;
}

int db_upload_commit_visible(struct db *db, int64_t upload_id, uint64_t size, const char *sha256,
			     uint64_t chunk_count, int64_t now_ms, int64_t gc_after_ms,
			     struct file_rec *out, char *err, size_t err_len, uint64_t *ticket)
{
	struct upload_rec u;
	int rc = db_upload_get(db, upload_id, &u);
	if (rc != PP_OK) {
		snprintf(err, err_len, "no upload %lld (expired, aborted or committed)",
			 (long long)upload_id);
		return rc;
	}
	pthread_mutex_lock(&db->lock);
	int64_t old_id = 0, old_version = 0, file_id;
	rc = dbq_begin(db);
	if (rc != PP_OK)
		goto out;
	rc = commit_check(db, upload_id, &u, size, chunk_count, err, err_len);
	if (rc != PP_OK)
		goto out;
	sqlite3_stmt *st;
	rc = dbq_prep(db, &st, "SELECT id, version FROM files WHERE name = ?", "t", u.name);
	if (rc != PP_OK)
		goto out;
	if (sqlite3_step(st) == SQLITE_ROW) {
		old_id = sqlite3_column_int64(st, 0);
		old_version = sqlite3_column_int64(st, 1);
	}
	dbq_release(db, st);
	/* Take the new references before dropping the old ones, so chunks the
	 * two versions share never touch zero. */
	rc = dbq_exec(db,
		      "UPDATE chunks SET refcount = refcount + (SELECT count(*) FROM upload_chunks"
		      " WHERE upload_id = ?1 AND chunk_id = chunks.id),"
		      " replication = max(replication, ?2)"
		      " WHERE id IN (SELECT chunk_id FROM upload_chunks WHERE upload_id = ?1)",
		      "ii", upload_id, (int64_t)u.replication);
	if (rc == PP_OK && old_id)
		rc = file_remove(db, old_id, gc_after_ms);
	if (rc != PP_OK)
		goto out;
	uint64_t seq = 0;
	rc = dbq_next_seq(db, &seq);
	if (rc == PP_OK)
		rc = dbq_exec(db, "DELETE FROM tombstones WHERE name = ?", "t", u.name);
	if (rc == PP_OK)
		rc = dbq_exec(db,
			      "INSERT INTO files(name, version, size, sha256, replication, chunk_size,"
			      " chunk_count, created_at_ms, seq, record_state)"
			      " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
			      "tiItiiIiI", u.name, old_version + 1, size, sha256,
			      (int64_t)u.replication, (int64_t)u.chunk_size, chunk_count, now_ms, seq);
	if (rc != PP_OK)
		goto out;
	file_id = sqlite3_last_insert_rowid(db->conn);
	rc = dbq_exec(db,
		      "INSERT INTO file_chunks(file_id, idx, chunk_id) SELECT ?, idx, chunk_id"
		      " FROM upload_chunks WHERE upload_id = ?",
		      "ii", file_id, upload_id);
	if (rc == PP_OK)
		rc = dbq_grams_insert(db, file_id, u.name, now_ms);
	if (rc == PP_OK)
		rc = dbq_exec(db, "DELETE FROM uploads WHERE id = ?", "i", upload_id);
	if (rc == PP_OK)
		rc = dbq_commit(db);
	if (rc == PP_OK) {
		*ticket = dbq_durable_ticket(db);
		memset(out, 0, sizeof(*out));
		out->id = file_id;
		snprintf(out->name, sizeof(out->name), "%s", u.name);
		out->version = (uint64_t)old_version + 1;
		out->size = size;
		out->chunk_count = chunk_count;
		snprintf(out->sha256, sizeof(out->sha256), "%s", sha256);
		out->replication = u.replication;
		out->chunk_size = u.chunk_size;
		out->created_at_ms = now_ms;
		out->seq = seq;
	} else if (err[0] == '\0') {
		snprintf(err, err_len, "database error during commit");
	}
out:
	if (rc != PP_OK)
		dbq_rollback(db);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

/* ---- files ---- */

void db_file_row(sqlite3_stmt *st, struct file_rec *f)
{
	memset(f, 0, sizeof(*f));
	f->id = sqlite3_column_int64(st, 0);
	dbq_copy(f->name, sizeof(f->name), st, 1);
	f->version = (uint64_t)sqlite3_column_int64(st, 2);
	f->size = (uint64_t)sqlite3_column_int64(st, 3);
	dbq_copy(f->sha256, sizeof(f->sha256), st, 4);
	f->replication = (uint32_t)sqlite3_column_int(st, 5);
	f->chunk_size = (uint32_t)sqlite3_column_int(st, 6);
	f->chunk_count = (uint64_t)sqlite3_column_int64(st, 7);
	f->created_at_ms = sqlite3_column_int64(st, 8);
	f->seq = (uint64_t)sqlite3_column_int64(st, 9);
}

static int file_get_locked(struct db *db, const char *name, struct file_rec *out)
{
	sqlite3_stmt *st;
	int rc = dbq_prep(db, &st, "SELECT " FILE_COLS " FROM files f WHERE f.name = ?", "t", name);
	if (rc != PP_OK)
		return rc;
	if (sqlite3_step(st) == SQLITE_ROW)
		db_file_row(st, out);
	else
		rc = PP_ENOTFOUND;
	dbq_release(db, st);
	return rc;
}

int db_file_get(struct db *db, const char *name, struct file_rec *out)
{
	pthread_mutex_lock(&db->lock);
	int rc = file_get_locked(db, name, out);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

int db_file_health(struct db *db, struct file_rec *f)
{
	sqlite3_stmt *st;
	pthread_mutex_lock(&db->lock);
	int rc = dbq_prep(db, &st,
			  "SELECT min(live), min(alive) FROM (SELECT"
			  " (SELECT count(*) FROM replicas r JOIN nodes n ON n.id = r.node_id"
			  "  WHERE r.chunk_id = fc.chunk_id AND " POLICY_SQL_HOLDS ") AS live,"
			  " (SELECT count(*) FROM replicas r JOIN nodes n ON n.id = r.node_id"
			  "  WHERE r.chunk_id = fc.chunk_id AND " POLICY_SQL_ALIVE ") AS alive"
			  " FROM file_chunks fc WHERE fc.file_id = ?)",
			  "i", f->id);
	if (rc == PP_OK) {
		f->health = FILE_OK;
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
			if (sqlite3_column_int(st, 1) == 0)
				f->health = FILE_LOST;
			else if ((uint32_t)sqlite3_column_int(st, 0) < f->replication)
				f->health = FILE_UNDER;
		}
		dbq_release(db, st);
	}
	pthread_mutex_unlock(&db->lock);
	return rc;
}

int db_file_delete(struct db *db, const char *name, int64_t now_ms, int64_t gc_after_ms,
		   struct file_rec *out)
{
	pthread_mutex_lock(&db->lock);
	uint64_t seq = 0, ticket = 0;
	int rc = dbq_begin(db);
	if (rc == PP_OK)
		rc = file_get_locked(db, name, out);
	if (rc == PP_OK)
		rc = file_remove(db, out->id, gc_after_ms);
	if (rc == PP_OK)
		rc = dbq_next_seq(db, &seq);
	if (rc == PP_OK)
		rc = dbq_exec(db,
			      "INSERT INTO tombstones(name, seq, deleted_at_ms, record_state)"
			      " VALUES (?, ?, ?, 0) ON CONFLICT(name) DO UPDATE SET seq = excluded.seq,"
			      " deleted_at_ms = excluded.deleted_at_ms, record_state = 0",
			      "tIi", name, seq, now_ms);
	if (rc == PP_OK)
		out->seq = seq;
	if (rc == PP_OK)
		rc = dbq_commit(db);
	if (rc == PP_OK)
		ticket = dbq_durable_ticket(db);
	else
		dbq_rollback(db);
	pthread_mutex_unlock(&db->lock);
	if (rc == PP_OK)
		rc = db_wait_durable(db, ticket);
	return rc;
}

int db_file_chunks(struct db *db, int64_t file_id, uint64_t first, uint32_t max,
		   struct chunk_rec **out, size_t *n)
{
	*out = calloc(max ? max : 1, sizeof(**out));
	*n = 0;
	if (*out == NULL)
		return PP_EINTERNAL;
	sqlite3_stmt *st;
	pthread_mutex_lock(&db->lock);
	int rc = dbq_prep(db, &st,
			  "SELECT fc.idx, fc.chunk_id, c.size, c.replication FROM file_chunks fc"
			  " JOIN chunks c ON c.id = fc.chunk_id WHERE fc.file_id = ? AND fc.idx >= ?"
			  " ORDER BY fc.idx LIMIT ?",
			  "iIi", file_id, first, (int64_t)max);
	if (rc == PP_OK) {
		while (*n < max && sqlite3_step(st) == SQLITE_ROW) {
			struct chunk_rec *c = &(*out)[(*n)++];
			c->index = (uint64_t)sqlite3_column_int64(st, 0);
			dbq_copy(c->id, sizeof(c->id), st, 1);
			c->size = (uint32_t)sqlite3_column_int64(st, 2);
			c->replication = (uint32_t)sqlite3_column_int(st, 3);
		}
		dbq_release(db, st);
	}
	pthread_mutex_unlock(&db->lock);
	return rc;
}

/* ---- search ---- */

static size_t utf8_chars(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* Builds the FROM/WHERE part of a list query and its single text parameter. */
static const char *list_source(const char *query, char **param)
{
	*param = NULL;
	size_t chars = utf8_chars(query);
	if (chars == 0)
		return " FROM files f";
	if (chars >= 3) {
		/* An FTS5 phrase: the query quoted, inner quotes doubled. */
		size_t len = strlen(query);
		char *p = malloc(2 * len + 3), *d = p;
		if (p == NULL)
			return NULL;
		*d++ = '"';
		for (const char *s = query; *s; s++) {
			if (*s == '"')
				*d++ = '"';
			*d++ = *s;
		}
		*d++ = '"';
		*d = '\0';
		*param = p;
		return " FROM files f WHERE f.id IN (SELECT rowid FROM files_fts"
		       " WHERE files_fts MATCH ?1)";
	}
	*param = strdup(query);
	if (*param == NULL)
		return NULL;
	for (char *s = *param; *s; s++)
		*s = (char)tolower((unsigned char)*s);
	return " FROM name_grams g JOIN files f ON f.id = g.file_id WHERE g.gram = ?1";
}

int db_list(struct db *db, const char *query, uint32_t limit, uint32_t offset,
	    struct file_rec **out, size_t *n, uint64_t *total)
{
	char *param = NULL, sql[512];
	const char *src = list_source(query, &param);
	*out = calloc(limit ? limit : 1, sizeof(**out));
	*n = 0;
	*total = 0;
	if (src == NULL || *out == NULL) {
		free(param);
		return PP_EINTERNAL;
	}
	const char *order = strstr(src, "name_grams") ? " ORDER BY g.created_at_ms DESC, f.id DESC"
						      : " ORDER BY f.created_at_ms DESC, f.id DESC";
	pthread_mutex_lock(&db->lock);
	sqlite3_stmt *st;
	snprintf(sql, sizeof(sql), "SELECT count(*)%s", src);
	int64_t count = 0;
	int rc = param ? dbq_int(db, &count, sql, "t", param) : dbq_int(db, &count, sql, NULL);
	if (rc != PP_OK)
		goto out;
	*total = (uint64_t)count;
	snprintf(sql, sizeof(sql), "SELECT " FILE_COLS "%s%s LIMIT ?2 OFFSET ?3", src, order);
	rc = dbq_prep(db, &st, sql, "tii", param ? param : "", (int64_t)limit, (int64_t)offset);
	if (rc != PP_OK)
		goto out;
	while (*n < limit && sqlite3_step(st) == SQLITE_ROW)
		db_file_row(st, &(*out)[(*n)++]);
	dbq_release(db, st);
out:
	pthread_mutex_unlock(&db->lock);
	free(param);
	return rc;
}

int db_list_plan(struct db *db, const char *query, char *buf, size_t len)
{
	char *param = NULL, sql[600];
	const char *src = list_source(query, &param);
	if (src == NULL)
		return PP_EINTERNAL;
	const char *order = strstr(src, "name_grams") ? " ORDER BY g.created_at_ms DESC, f.id DESC"
						      : " ORDER BY f.created_at_ms DESC, f.id DESC";
	snprintf(sql, sizeof(sql), "EXPLAIN QUERY PLAN SELECT " FILE_COLS "%s%s LIMIT ?2 OFFSET ?3",
		 src, order);
	sqlite3_stmt *st;
	size_t used = 0;
	buf[0] = '\0';
	pthread_mutex_lock(&db->lock);
	int rc = dbq_prep(db, &st, sql, "tii", param ? param : "", (int64_t)10, (int64_t)0);
	if (rc == PP_OK) {
		while (sqlite3_step(st) == SQLITE_ROW && used < len) {
			const char *d = (const char *)sqlite3_column_text(st, 3);
			int w = snprintf(buf + used, len - used, "%s\n", d ? d : "");
			if (w > 0)
				used += (size_t)w;
		}
		dbq_release(db, st);
	}
	pthread_mutex_unlock(&db->lock);
	free(param);
	return rc;
}
