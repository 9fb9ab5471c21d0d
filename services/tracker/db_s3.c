/* S3 metadata, buckets and name-ordered listings in the tracker's store;
 * see db_s3.h for the tables.
 *
 * Invariant: file_meta rows exist only for files that exist (they cascade
 * with files), and a file gets its metadata in the same transaction that
 * makes it visible (db_s3_on_commit), so a reader never sees an object
 * without the metadata it was stored with. */
#define _GNU_SOURCE
#include "db_s3.h"
#include "db_impl.h"
#include "errors.h"
#include "log.h"
#include "pp/v1/rpc.pb-c.h"
#include "s3names.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const S3_SCHEMA =
	"CREATE TABLE IF NOT EXISTS file_meta("
	" file_id INTEGER PRIMARY KEY REFERENCES files(id) ON DELETE CASCADE,"
	" etag TEXT NOT NULL, meta BLOB NOT NULL);"
	"CREATE TABLE IF NOT EXISTS upload_meta("
	" upload_id INTEGER PRIMARY KEY REFERENCES uploads(id) ON DELETE CASCADE,"
	" etag TEXT NOT NULL, meta BLOB NOT NULL, bucket TEXT NOT NULL,"
	" completes TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS s3_buckets("
	" name TEXT PRIMARY KEY, created_ms INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS s3_multipart("
	" id TEXT PRIMARY KEY, bucket TEXT NOT NULL, key TEXT NOT NULL,"
	" created_ms INTEGER NOT NULL, active_ms INTEGER NOT NULL,"
	" replication INTEGER NOT NULL, meta BLOB NOT NULL,"
	" state INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS s3_multipart_key ON s3_multipart(bucket, key, created_ms, id);";

int db_s3_schema(struct db *db)
{
	char *err = NULL;
	if (sqlite3_exec(db->conn, S3_SCHEMA, NULL, NULL, &err) != SQLITE_OK) {
		log_error("db_s3_schema_failed", "err=%s", log_q(err ? err : "?"));
		sqlite3_free(err);
		return PP_EINTERNAL;
	}
	return PP_OK;
}

int db_s3_upload_meta_set(struct db *db, int64_t upload_id, const char *etag,
			  const uint8_t *meta, size_t meta_len, const char *bucket,
			  const char *completes)
{
	sqlite3_stmt *st;
	pthread_mutex_lock(&db->lock);
	int rc = dbq_prep(db, &st,
			  "INSERT OR REPLACE INTO upload_meta(upload_id, etag, meta, bucket, completes)"
			  " VALUES (?1, ?2, ?3, ?4, ?5)",
			  "it", upload_id, etag);
	if (rc == PP_OK) {
		sqlite3_bind_blob(st, 3, meta_len ? (const void *)meta : "", (int)meta_len, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 4, bucket, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 5, completes, -1, SQLITE_TRANSIENT);
		int rv = sqlite3_step(st);
		if (rv != SQLITE_DONE)
			rc = rv == SQLITE_CONSTRAINT ? PP_ENOTFOUND : PP_EINTERNAL; /* no such upload */
		dbq_release(db, st);
	}
	pthread_mutex_unlock(&db->lock);
	return rc;
}

/* A part may only be committed while its upload is open. Lock held. */
static int part_commit_check(struct db *db, const char *name, int64_t now_ms, char *err,
			     size_t err_len)
{
	char id[S3_UPLOAD_ID_LEN + 1];
	unsigned part;
	if (!s3_part_name_parse(name, id, &part))
		return PP_OK; /* another hidden name: nothing to check */
	int rc = dbq_exec(db, "UPDATE s3_multipart SET active_ms = ?2 WHERE id = ?1 AND state = 0",
			  "ti", id, now_ms);
	if (rc == PP_OK && sqlite3_changes(db->conn) == 0) {
		snprintf(err, err_len, "NoSuchUpload: no multipart upload %s (aborted or completed)", id);
		rc = PP_ENOTFOUND;
	}
	return rc;
}

int db_s3_on_commit(struct db *db, int64_t upload_id, int64_t file_id, const char *name,
		    int64_t now_ms, char *err, size_t err_len)
{
	if (s3_name_hidden(name)) {
		int rc = part_commit_check(db, name, now_ms, err, err_len);
		if (rc != PP_OK)
			return rc;
	}
	sqlite3_stmt *st;
	int rc = dbq_prep(db, &st, "SELECT bucket, completes FROM upload_meta WHERE upload_id = ?",
			  "i", upload_id);
	if (rc != PP_OK)
		return rc;
	char bucket[S3_BUCKET_MAX + 1] = "", completes[S3_UPLOAD_ID_LEN + 1] = "";
	bool has = sqlite3_step(st) == SQLITE_ROW;
	if (has) {
		dbq_copy(bucket, sizeof(bucket), st, 0);
		dbq_copy(completes, sizeof(completes), st, 1);
	}
	dbq_release(db, st);
	if (!has)
		return PP_OK; /* a file without S3 metadata (ppctl, REST) */
	int64_t one;
	if (bucket[0] != '\0' &&
	    dbq_int(db, &one, "SELECT 1 FROM s3_buckets WHERE name = ?", "t", bucket) != PP_OK) {
		snprintf(err, err_len, "NoSuchBucket: no bucket named \"%s\"", bucket);
		return PP_ENOTFOUND;
	}
	if (completes[0] != '\0') {
		rc = dbq_exec(db, "UPDATE s3_multipart SET state = 1, active_ms = ?2 WHERE id = ?1 AND state = 0",
			      "ti", completes, now_ms);
		if (rc == PP_OK && sqlite3_changes(db->conn) == 0) {
			snprintf(err, err_len, "NoSuchUpload: no multipart upload %s (aborted or completed)",
				 completes);
			return PP_ENOTFOUND;
		}
	}
	if (rc == PP_OK)
		rc = dbq_exec(db,
			      "INSERT OR REPLACE INTO file_meta(file_id, etag, meta)"
			      " SELECT ?, etag, meta FROM upload_meta WHERE upload_id = ?",
			      "ii", file_id, upload_id);
	return rc;
}

int db_s3_meta_restore(struct db *db, const char *name, const uint8_t *meta, size_t meta_len)
{
	Pp__V1__FileMeta *m = pp__v1__file_meta__unpack(NULL, meta_len, meta);
	if (m == NULL)
		return PP_EINVAL;
	sqlite3_stmt *st;
	pthread_mutex_lock(&db->lock);
	int rc = dbq_prep(db, &st,
			  "INSERT OR REPLACE INTO file_meta(file_id, etag, meta)"
			  " SELECT id, ?2, ?3 FROM files WHERE name = ?1",
			  "tt", name, m->etag);
	if (rc == PP_OK) {
		sqlite3_bind_blob(st, 3, meta_len ? (const void *)meta : "", (int)meta_len, SQLITE_TRANSIENT);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = PP_EINTERNAL;
		dbq_release(db, st);
	}
	pthread_mutex_unlock(&db->lock);
	pp__v1__file_meta__free_unpacked(m, NULL);
	return rc;
}

int db_s3_meta_get(struct db *db, int64_t file_id, uint8_t **meta, size_t *meta_len)
{
	sqlite3_stmt *st;
	*meta = NULL;
	*meta_len = 0;
	pthread_mutex_lock(&db->lock);
	int rc = dbq_prep(db, &st, "SELECT meta FROM file_meta WHERE file_id = ?", "i", file_id);
	if (rc == PP_OK) {
		if (sqlite3_step(st) == SQLITE_ROW) {
			int n = sqlite3_column_bytes(st, 0);
			const void *b = sqlite3_column_blob(st, 0);
			*meta = malloc(n > 0 ? (size_t)n : 1);
			if (*meta == NULL) {
				rc = PP_EINTERNAL;
			} else {
				if (n > 0)
					memcpy(*meta, b, (size_t)n);
				*meta_len = (size_t)n;
			}
		} else {
			rc = PP_ENOTFOUND;
		}
		dbq_release(db, st);
	}
	pthread_mutex_unlock(&db->lock);
	return rc;
}

int db_s3_stage_copy(struct db *db, int64_t session, const char *source, const char *want_sha256,
		     struct file_rec *src)
{
	sqlite3_stmt *st;
	memset(src, 0, sizeof(*src));
	pthread_mutex_lock(&db->lock);
	int rc = dbq_begin(db);
	if (rc == PP_OK)
		rc = dbq_prep(db, &st,
			      "SELECT id, version, size, sha256, replication, chunk_size, chunk_count,"
			      " created_at_ms FROM files WHERE name = ?",
			      "t", source);
	if (rc == PP_OK) {
		if (sqlite3_step(st) == SQLITE_ROW) {
			src->id = sqlite3_column_int64(st, 0);
			snprintf(src->name, sizeof(src->name), "%s", source);
			src->version = (uint64_t)sqlite3_column_int64(st, 1);
			src->size = (uint64_t)sqlite3_column_int64(st, 2);
			dbq_copy(src->sha256, sizeof(src->sha256), st, 3);
			src->replication = (uint32_t)sqlite3_column_int(st, 4);
			src->chunk_size = (uint32_t)sqlite3_column_int(st, 5);
			src->chunk_count = (uint64_t)sqlite3_column_int64(st, 6);
			src->created_at_ms = sqlite3_column_int64(st, 7);
		} else {
			rc = PP_ENOTFOUND;
		}
		dbq_release(db, st);
	}
	if (rc == PP_OK && want_sha256[0] != '\0' && strcmp(want_sha256, src->sha256) != 0)
		rc = PP_ECONFLICT;
	if (rc == PP_OK)
		rc = dbq_exec(db,
			      "INSERT INTO upload_chunks(upload_id, idx, chunk_id, size)"
			      " SELECT ?1, fc.idx, fc.chunk_id, c.size FROM file_chunks fc"
			      " JOIN chunks c ON c.id = fc.chunk_id WHERE fc.file_id = ?2",
			      "ii", session, src->id);
	if (rc == PP_OK)
		rc = dbq_commit(db);
	if (rc != PP_OK)
		dbq_rollback(db);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

/* ---- buckets ---- */

/* Bucket changes are what users see: durable before they are answered
 * (the store's group commit, as for files). */
int db_s3_bucket_create(struct db *db, const char *name, int64_t now_ms)
{
	uint64_t ticket = 0;
	pthread_mutex_lock(&db->lock);
	int rc = dbq_begin(db);
	int64_t one;
	if (rc == PP_OK && dbq_int(db, &one, "SELECT 1 FROM s3_buckets WHERE name = ?", "t", name) == PP_OK)
		rc = PP_ECONFLICT;
	if (rc == PP_OK)
		rc = dbq_exec(db, "INSERT INTO s3_buckets(name, created_ms) VALUES (?, ?)", "ti", name,
			      now_ms);
	if (rc == PP_OK)
		rc = dbq_commit(db);
	if (rc == PP_OK)
		ticket = dbq_durable_ticket(db);
	else
		dbq_rollback(db);
	pthread_mutex_unlock(&db->lock);
	return rc == PP_OK ? db_wait_durable(db, ticket) : rc;
}

int db_s3_bucket_exists(struct db *db, const char *name)
{
	int64_t one;
	pthread_mutex_lock(&db->lock);
	int rc = dbq_int(db, &one, "SELECT 1 FROM s3_buckets WHERE name = ?", "t", name);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

int db_s3_bucket_delete(struct db *db, const char *name)
{
	char lo[S3_BUCKET_MAX + 2], hi[S3_BUCKET_MAX + 2];
	snprintf(lo, sizeof(lo), "%s/", name);
	snprintf(hi, sizeof(hi), "%s0", name); /* '0' follows '/' */
	int64_t one;
	uint64_t ticket = 0;
	pthread_mutex_lock(&db->lock);
	int rc = dbq_begin(db);
	if (rc == PP_OK && dbq_int(db, &one, "SELECT 1 FROM s3_buckets WHERE name = ?", "t", name) != PP_OK)
		rc = PP_ENOTFOUND;
	if (rc == PP_OK &&
	    dbq_int(db, &one, "SELECT 1 FROM files WHERE name >= ? AND name < ? LIMIT 1", "tt", lo, hi) == PP_OK)
		rc = PP_ECONFLICT;
	if (rc == PP_OK)
		rc = dbq_exec(db, "DELETE FROM s3_buckets WHERE name = ?", "t", name);
	if (rc == PP_OK)
		rc = dbq_commit(db);
	if (rc == PP_OK)
		ticket = dbq_durable_ticket(db);
	else
		dbq_rollback(db);
	pthread_mutex_unlock(&db->lock);
	return rc == PP_OK ? db_wait_durable(db, ticket) : rc;
}

int db_s3_buckets(struct db *db, struct s3_bucket_rec **out, size_t *n)
{
	sqlite3_stmt *st;
	size_t cap = 0;
	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&db->lock);
	int rc = dbq_prep(db, &st, "SELECT name, created_ms FROM s3_buckets ORDER BY name", NULL);
	while (rc == PP_OK && sqlite3_step(st) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			struct s3_bucket_rec *g = realloc(*out, cap * sizeof(**out));
			if (g == NULL) {
				rc = PP_EINTERNAL;
				break;
			}
			*out = g;
		}
		struct s3_bucket_rec *b = &(*out)[(*n)++];
		dbq_copy(b->name, sizeof(b->name), st, 0);
		b->created_ms = sqlite3_column_int64(st, 1);
	}
	if (st)
		dbq_release(db, st);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

/* ---- listing ---- */

bool db_s3_prefix_end(const char *s, char *out, size_t len)
{
	size_t n = strlen(s);
	if (n + 1 > len)
		return false;
	memcpy(out, s, n + 1);
	while (n > 0 && (unsigned char)out[n - 1] == 0xff)
		out[--n] = '\0';
	if (n == 0)
		return false;
	out[n - 1] = (char)((unsigned char)out[n - 1] + 1);
	return true;
}

#define LIST_BATCH 64
#define NAME_BUF (PP_NAME_MAX + 2)

struct list_state {
	struct s3_list_result *r;
	size_t cap_e, cap_p;
	uint32_t max;
};

static int add_entry(struct list_state *ls, sqlite3_stmt *st)
{
	struct s3_list_result *r = ls->r;
	if (r->n == ls->cap_e) {
		size_t cap = ls->cap_e ? ls->cap_e * 2 : 32;
		struct s3_entry *g = realloc(r->entries, cap * sizeof(*g));
		if (g == NULL)
			return PP_EINTERNAL;
		r->entries = g;
		ls->cap_e = cap;
	}
	struct s3_entry *e = &r->entries[r->n];
	memset(e, 0, sizeof(*e));
	e->name = strdup((const char *)sqlite3_column_text(st, 0));
	if (e->name == NULL)
		return PP_EINTERNAL;
	e->size = (uint64_t)sqlite3_column_int64(st, 1);
	e->created_ms = sqlite3_column_int64(st, 2);
	dbq_copy(e->sha256, sizeof(e->sha256), st, 3);
	dbq_copy(e->etag, sizeof(e->etag), st, 4);
	e->file_id = sqlite3_column_int64(st, 5);
	e->version = (uint64_t)sqlite3_column_int64(st, 6);
	e->replication = (uint32_t)sqlite3_column_int(st, 7);
	e->chunk_size = (uint32_t)sqlite3_column_int(st, 8);
	e->chunk_count = (uint64_t)sqlite3_column_int64(st, 9);
	r->n++;
	free(r->next_after);
	r->next_after = strdup(e->name);
	return r->next_after ? PP_OK : PP_EINTERNAL;
}

static int add_prefix(struct list_state *ls, const char *p, size_t len)
{
	struct s3_list_result *r = ls->r;
	if (r->np == ls->cap_p) {
		size_t cap = ls->cap_p ? ls->cap_p * 2 : 16;
		char **g = realloc(r->prefixes, cap * sizeof(*g));
		if (g == NULL)
			return PP_EINTERNAL;
		r->prefixes = g;
		ls->cap_p = cap;
	}
	char *c = strndup(p, len);
	if (c == NULL)
		return PP_EINTERNAL;
	r->prefixes[r->np++] = c;
	free(r->next_after);
	r->next_after = strdup(c);
	return r->next_after ? PP_OK : PP_EINTERNAL;
}

/* Where listing resumes after `after`: strictly past it, or, when it lies
 * under a common prefix already returned, past that whole prefix. */
static void list_start(const char *prefix, const char *delim, const char *after, char *cur,
		       bool *strict)
{
	snprintf(cur, NAME_BUF, "%s", prefix);
	*strict = false;
	if (after[0] == '\0' || strcmp(after, prefix) < 0)
		return;
	snprintf(cur, NAME_BUF, "%s", after);
	*strict = true;
	size_t pl = strlen(prefix);
	const char *d = (delim[0] && strncmp(after, prefix, pl) == 0) ? strstr(after + pl, delim) : NULL;
	if (d != NULL) {
		char cp[NAME_BUF];
		snprintf(cp, sizeof(cp), "%.*s", (int)(d - after + (long)strlen(delim)), after);
		if (db_s3_prefix_end(cp, cur, NAME_BUF))
			*strict = false;
	}
}

int db_s3_list(struct db *db, const char *prefix, const char *delimiter, const char *after,
	       uint32_t max, struct s3_list_result *out)
{
	memset(out, 0, sizeof(*out));
	struct list_state ls = {.r = out, .max = max};
	char cur[NAME_BUF], upper[NAME_BUF], hidden_end[NAME_BUF];
	bool strict, bounded = db_s3_prefix_end(prefix, upper, sizeof(upper));
	db_s3_prefix_end(S3_UPLOADS_PREFIX, hidden_end, sizeof(hidden_end));
	list_start(prefix, delimiter, after, cur, &strict);
	size_t pl = strlen(prefix), dl = strlen(delimiter);
	int rc = PP_OK;
	bool done = max == 0;
	pthread_mutex_lock(&db->lock);
	while (!done && rc == PP_OK) {
		char sql[512];
		snprintf(sql, sizeof(sql),
			 "SELECT f.name, f.size, f.created_at_ms, f.sha256, coalesce(m.etag, ''), f.id,"
			 " f.version, f.replication, f.chunk_size, f.chunk_count"
			 " FROM files f LEFT JOIN file_meta m ON m.file_id = f.id WHERE f.name %s ?1%s"
			 " ORDER BY f.name LIMIT %d",
			 strict ? ">" : ">=", bounded ? " AND f.name < ?2" : "", LIST_BATCH);
		sqlite3_stmt *st;
		rc = bounded ? dbq_prep(db, &st, sql, "tt", cur, upper) : dbq_prep(db, &st, sql, "t", cur);
		if (rc != PP_OK)
			break;
		bool requery = false;
		int rows = 0;
		while (!requery && rc == PP_OK && sqlite3_step(st) == SQLITE_ROW) {
			rows++;
			const char *name = (const char *)sqlite3_column_text(st, 0);
			if (name == NULL)
				continue;
			if (s3_name_hidden(name)) {
				snprintf(cur, sizeof(cur), "%s", hidden_end);
				strict = false;
				requery = true;
				break;
			}
			const char *d = dl ? strstr(name + pl, delimiter) : NULL;
			if (out->n + out->np >= max) {
				out->truncated = true;
				done = true;
				break;
			}
			if (d != NULL) {
				size_t cl = (size_t)(d - name) + dl;
				rc = add_prefix(&ls, name, cl);
				if (rc == PP_OK && !db_s3_prefix_end(out->prefixes[out->np - 1], cur, sizeof(cur)))
					done = true;
				strict = false;
				requery = true;
			} else {
				rc = add_entry(&ls, st);
				snprintf(cur, sizeof(cur), "%s", name);
				strict = true;
			}
		}
		dbq_release(db, st);
		if (!requery && rows < LIST_BATCH)
			done = true;
	}
	pthread_mutex_unlock(&db->lock);
	if (rc != PP_OK)
		db_s3_list_free(out);
	return rc;
}

void db_s3_list_free(struct s3_list_result *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->entries[i].name);
	for (size_t i = 0; i < r->np; i++)
		free(r->prefixes[i]);
	free(r->entries);
	free(r->prefixes);
	free(r->next_after);
	memset(r, 0, sizeof(*r));
}
