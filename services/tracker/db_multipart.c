/* Multipart uploads in the store; see db_multipart.h.
 *
 * Parts are found by name range (".s3-uploads/ID/" up to ".s3-uploads/ID0"),
 * which the files table's unique name index serves without a scan. */
#define _GNU_SOURCE
#include "db_multipart.h"
#include "db_impl.h"
#include "errors.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PART_RANGE_MAX (sizeof(S3_UPLOADS_PREFIX) + S3_UPLOAD_ID_LEN + 2)

static void part_range(const char *id, char *lo, char *hi)
{
	snprintf(lo, PART_RANGE_MAX, "%s%s/", S3_UPLOADS_PREFIX, id);
	snprintf(hi, PART_RANGE_MAX, "%s%s0", S3_UPLOADS_PREFIX, id);
}

int db_mpu_create(struct db *db, const char *id, const char *bucket, const char *key,
		  const uint8_t *meta, size_t meta_len, uint32_t replication, int64_t now_ms)
{
	int64_t one;
	sqlite3_stmt *st = NULL;
	pthread_mutex_lock(&db->lock);
	int rc = dbq_begin(db);
	if (rc == PP_OK && dbq_int(db, &one, "SELECT 1 FROM s3_buckets WHERE name = ?", "t", bucket) != PP_OK)
		rc = PP_ENOTFOUND;
	if (rc == PP_OK)
		rc = dbq_prep(db, &st,
			      "INSERT INTO s3_multipart(id, bucket, key, created_ms, active_ms, replication,"
			      " meta) VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6)",
			      "tttii", id, bucket, key, now_ms, (int64_t)replication);
	if (rc == PP_OK) {
		sqlite3_bind_blob(st, 6, meta_len ? (const void *)meta : "", (int)meta_len, SQLITE_TRANSIENT);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = PP_ECONFLICT;
	}
	if (st)
		dbq_release(db, st);
	if (rc == PP_OK)
		rc = dbq_commit(db);
	if (rc != PP_OK)
		dbq_rollback(db);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

#define MPU_COLS "id, bucket, key, created_ms, active_ms, replication, state, meta"

static int mpu_row(sqlite3_stmt *st, struct mpu_rec *r)
{
	memset(r, 0, sizeof(*r));
	dbq_copy(r->id, sizeof(r->id), st, 0);
	dbq_copy(r->bucket, sizeof(r->bucket), st, 1);
	dbq_copy(r->key, sizeof(r->key), st, 2);
	r->created_ms = sqlite3_column_int64(st, 3);
	r->active_ms = sqlite3_column_int64(st, 4);
	r->replication = (uint32_t)sqlite3_column_int(st, 5);
	r->state = sqlite3_column_int(st, 6);
	int n = sqlite3_column_bytes(st, 7);
	r->meta = malloc(n > 0 ? (size_t)n : 1);
	if (r->meta == NULL)
		return PP_EINTERNAL;
	if (n > 0)
		memcpy(r->meta, sqlite3_column_blob(st, 7), (size_t)n);
	r->meta_len = (size_t)n;
	return PP_OK;
}

void mpu_rec_clear(struct mpu_rec *r)
{
	free(r->meta);
	r->meta = NULL;
	r->meta_len = 0;
}

int db_mpu_get(struct db *db, const char *id, struct mpu_rec *out)
{
	sqlite3_stmt *st;
	pthread_mutex_lock(&db->lock);
	int rc = dbq_prep(db, &st, "SELECT " MPU_COLS " FROM s3_multipart WHERE id = ?", "t", id);
	if (rc == PP_OK) {
		rc = sqlite3_step(st) == SQLITE_ROW ? mpu_row(st, out) : PP_ENOTFOUND;
		dbq_release(db, st);
	}
	pthread_mutex_unlock(&db->lock);
	return rc;
}

int db_mpu_parts(struct db *db, const char *id, unsigned after, uint32_t max,
		 struct mpu_part **out, size_t *n, bool *truncated)
{
	char lo[PART_RANGE_MAX], hi[PART_RANGE_MAX], from[S3_PART_NAME_MAX];
	part_range(id, lo, hi);
	if (after > 0 && !s3_part_name(id, after > S3_PART_MAX ? S3_PART_MAX : after, from, sizeof(from)))
		return PP_EINVAL;
	*out = calloc(max ? max : 1, sizeof(**out));
	*n = 0;
	*truncated = false;
	if (*out == NULL)
		return PP_EINTERNAL;
	sqlite3_stmt *st;
	pthread_mutex_lock(&db->lock);
	int rc = dbq_prep(db, &st,
			  "SELECT f.name, f.id, f.size, f.chunk_count, f.created_at_ms, f.sha256,"
			  " coalesce(m.etag, '') FROM files f LEFT JOIN file_meta m ON m.file_id = f.id"
			  " WHERE f.name > ?1 AND f.name < ?2 ORDER BY f.name LIMIT ?3",
			  "tti", after > 0 ? from : lo, hi, (int64_t)max + 1);
	while (rc == PP_OK && sqlite3_step(st) == SQLITE_ROW) {
		char pid[S3_UPLOAD_ID_LEN + 1];
		unsigned part;
		if (!s3_part_name_parse((const char *)sqlite3_column_text(st, 0), pid, &part))
			continue;
		if (*n == max) {
			*truncated = true;
			break;
		}
		struct mpu_part *p = &(*out)[(*n)++];
		p->number = part;
		p->file_id = sqlite3_column_int64(st, 1);
		p->size = (uint64_t)sqlite3_column_int64(st, 2);
		p->chunk_count = (uint64_t)sqlite3_column_int64(st, 3);
		p->created_ms = sqlite3_column_int64(st, 4);
		dbq_copy(p->sha256, sizeof(p->sha256), st, 5);
		dbq_copy(p->etag, sizeof(p->etag), st, 6);
	}
	if (rc == PP_OK)
		dbq_release(db, st);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

/* Appends r (an owned copy) to the growable array. */
static int push_rec(struct mpu_rec **a, size_t *n, size_t *cap, struct mpu_rec *r)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 16;
		struct mpu_rec *g = realloc(*a, c * sizeof(*g));
		if (g == NULL)
			return PP_EINTERNAL;
		*a = g;
		*cap = c;
	}
	(*a)[(*n)++] = *r;
	return PP_OK;
}

static int push_prefix(char ***a, size_t *n, size_t *cap, const char *p, size_t len)
{
	if (*n > 0 && strlen((*a)[*n - 1]) == len && strncmp((*a)[*n - 1], p, len) == 0)
		return PP_OK; /* rows come in key order: a repeat is the last one */
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 16;
		char **g = realloc(*a, c * sizeof(*g));
		if (g == NULL)
			return PP_EINTERNAL;
		*a = g;
		*cap = c;
	}
	(*a)[*n] = strndup(p, len);
	return (*a)[(*n)++] ? PP_OK : PP_EINTERNAL;
}

int db_mpu_list(struct db *db, const char *bucket, const char *prefix, const char *delimiter,
		const char *key_marker, const char *id_marker, uint32_t max, struct mpu_rec **out,
		size_t *n, char ***prefixes, size_t *np, bool *truncated)
{
	size_t cap = 0, pcap = 0, pl = strlen(prefix), dl = strlen(delimiter);
	*out = NULL;
	*prefixes = NULL;
	*n = *np = 0;
	*truncated = false;
	int64_t marker_ms = INT64_MIN;
	sqlite3_stmt *st;
	pthread_mutex_lock(&db->lock);
	if (key_marker[0] && id_marker[0]) {
		/* After the marker upload of the marker key: later creations only. */
		int64_t ms;
		if (dbq_int(db, &ms, "SELECT created_ms FROM s3_multipart WHERE id = ? AND key = ?",
			    "tt", id_marker, key_marker) == PP_OK)
			marker_ms = ms;
	}
	int rc = dbq_prep(db, &st,
			  "SELECT " MPU_COLS " FROM s3_multipart WHERE bucket = ?1 AND state = 0"
			  " AND substr(key, 1, length(?2)) = ?2 AND (key > ?3 OR (key = ?3 AND"
			  " ?4 != '' AND (created_ms > ?5 OR (created_ms = ?5 AND id > ?4))))"
			  " ORDER BY key, created_ms, id",
			  "tttti", bucket, prefix, key_marker, id_marker, marker_ms);
	char last_cp[S3_KEY_MAX + 130] = "";
	while (rc == PP_OK && sqlite3_step(st) == SQLITE_ROW) {
		const char *key = (const char *)sqlite3_column_text(st, 2);
		const char *d = dl && key ? strstr(key + pl, delimiter) : NULL;
		size_t cl = d ? (size_t)(d - key) + dl : 0;
		if (d && strlen(last_cp) == cl && strncmp(last_cp, key, cl) == 0)
			continue; /* already rolled up */
		if (*n + *np >= max) {
			*truncated = true;
			break;
		}
		if (d) {
			snprintf(last_cp, sizeof(last_cp), "%.*s", (int)cl, key);
			rc = push_prefix(prefixes, np, &pcap, key, cl);
			continue;
		}
		struct mpu_rec r;
		rc = mpu_row(st, &r);
		if (rc == PP_OK && (rc = push_rec(out, n, &cap, &r)) != PP_OK)
			mpu_rec_clear(&r);
	}
	if (st)
		dbq_release(db, st);
	pthread_mutex_unlock(&db->lock);
	if (rc != PP_OK) {
		db_mpu_list_free(*out, *n, *prefixes, *np);
		*out = NULL;
		*prefixes = NULL;
		*n = *np = 0;
	}
	return rc;
}

void db_mpu_list_free(struct mpu_rec *r, size_t n, char **prefixes, size_t np)
{
	for (size_t i = 0; i < n; i++)
		mpu_rec_clear(&r[i]);
	free(r);
	db_names_free(prefixes, np);
}

int db_mpu_stage(struct db *db, int64_t session, const char *id, const struct mpu_part *parts,
		 size_t n, uint64_t *chunk_count)
{
	uint64_t base = 0;
	pthread_mutex_lock(&db->lock);
	int rc = dbq_begin(db);
	for (size_t i = 0; rc == PP_OK && i < n; i++) {
		char name[S3_PART_NAME_MAX];
		int64_t fid;
		s3_part_name(id, parts[i].number, name, sizeof(name));
		if (dbq_int(db, &fid, "SELECT id FROM files WHERE name = ? AND sha256 = ?", "tt", name,
			    parts[i].sha256) != PP_OK || fid != parts[i].file_id) {
			rc = PP_ECONFLICT; /* re-uploaded or gone since it was listed */
			break;
		}
		rc = dbq_exec(db,
			      "INSERT INTO upload_chunks(upload_id, idx, chunk_id, size)"
			      " SELECT ?1, ?2 + fc.idx, fc.chunk_id, c.size FROM file_chunks fc"
			      " JOIN chunks c ON c.id = fc.chunk_id WHERE fc.file_id = ?3",
			      "iIi", session, base, fid);
		base += parts[i].chunk_count;
	}
	if (rc == PP_OK)
		rc = dbq_exec(db, "UPDATE uploads SET expected_size = (SELECT coalesce(sum(size), 0)"
				  " FROM upload_chunks WHERE upload_id = ?1) WHERE id = ?1",
			      "i", session);
	if (rc == PP_OK)
		rc = dbq_commit(db);
	if (rc != PP_OK)
		dbq_rollback(db);
	pthread_mutex_unlock(&db->lock);
	*chunk_count = base;
	return rc;
}

static int names_query(struct db *db, size_t max, char ***names, size_t *n, const char *sql,
		       const char *types, ...)
{
	sqlite3_stmt *st;
	size_t cap = 0;
	*names = NULL;
	*n = 0;
	va_list ap;
	va_start(ap, types);
	int rc = dbq_vprep(db, &st, sql, types, ap);
	va_end(ap);
	while (rc == PP_OK && *n < max && sqlite3_step(st) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 32;
			char **g = realloc(*names, cap * sizeof(*g));
			if (g == NULL) {
				rc = PP_EINTERNAL;
				break;
			}
			*names = g;
		}
		const char *s = (const char *)sqlite3_column_text(st, 0);
		if (((*names)[*n] = strdup(s ? s : "")) == NULL)
			rc = PP_EINTERNAL;
		else
			(*n)++;
	}
	if (st)
		dbq_release(db, st);
	if (rc != PP_OK) {
		db_names_free(*names, *n);
		*names = NULL;
		*n = 0;
	}
	return rc;
}

int db_mpu_part_names(struct db *db, const char *id, char ***names, size_t *n)
{
	char lo[PART_RANGE_MAX], hi[PART_RANGE_MAX];
	part_range(id, lo, hi);
	pthread_mutex_lock(&db->lock);
	int rc = names_query(db, SIZE_MAX, names, n,
			     "SELECT name FROM files WHERE name > ? AND name < ? ORDER BY name", "tt", lo, hi);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

int db_mpu_forget(struct db *db, const char *id)
{
	pthread_mutex_lock(&db->lock);
	int rc = dbq_exec(db, "DELETE FROM s3_multipart WHERE id = ?", "t", id);
	if (rc == PP_OK && sqlite3_changes(db->conn) == 0)
		rc = PP_ENOTFOUND;
	pthread_mutex_unlock(&db->lock);
	return rc;
}

int db_mpu_collectable(struct db *db, int64_t open_cutoff_ms, int64_t done_cutoff_ms, size_t max,
		       char (**ids)[S3_UPLOAD_ID_LEN + 1], size_t *n)
{
	char **names = NULL;
	size_t k = 0;
	*ids = NULL;
	*n = 0;
	pthread_mutex_lock(&db->lock);
	int rc = names_query(db, max, &names, &k,
			     "SELECT id FROM s3_multipart WHERE (state = 0 AND active_ms < ?1)"
			     " OR (state = 1 AND active_ms < ?2) LIMIT ?3",
			     "iiI", open_cutoff_ms, done_cutoff_ms, (uint64_t)max);
	pthread_mutex_unlock(&db->lock);
	if (rc == PP_OK && k > 0) {
		*ids = calloc(k, sizeof(**ids));
		if (*ids == NULL)
			rc = PP_EINTERNAL;
		for (size_t i = 0; rc == PP_OK && i < k; i++)
			snprintf((*ids)[i], sizeof((*ids)[i]), "%s", names[i]);
		*n = rc == PP_OK ? k : 0;
	}
	db_names_free(names, k);
	return rc;
}

int db_mpu_orphan_parts(struct db *db, size_t max, char ***names, size_t *n)
{
	char hi[sizeof(S3_UPLOADS_PREFIX) + 1];
	db_s3_prefix_end(S3_UPLOADS_PREFIX, hi, sizeof(hi));
	size_t pl = strlen(S3_UPLOADS_PREFIX);
	pthread_mutex_lock(&db->lock);
	int rc = names_query(db, max, names, n,
			     "SELECT f.name FROM files f WHERE f.name >= ?1 AND f.name < ?2 AND NOT EXISTS"
			     " (SELECT 1 FROM s3_multipart m WHERE m.id = substr(f.name, ?3, ?4) AND m.state = 0)",
			     "ttii", S3_UPLOADS_PREFIX, hi, (int64_t)pl + 1, (int64_t)S3_UPLOAD_ID_LEN);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

void db_names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}
