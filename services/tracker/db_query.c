/* The statement helpers of the tracker's store (see db_impl.h): binding by
 * a type string, running to completion, and the cache of prepared
 * statements behind dbq_exec and dbq_int (keyed by SQL text, so SQL built
 * at run time is fine). Callers hold db->lock around every use. */
#define _GNU_SOURCE
#include "db_impl.h"
#include "errors.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Binds by the type string (see db_impl.h). */
static void dbq_vbind(sqlite3_stmt *st, const char *types, va_list ap)
{
	for (int i = 0; types && types[i]; i++) {
		switch (types[i]) {
		case 't':
			sqlite3_bind_text(st, i + 1, va_arg(ap, const char *), -1, SQLITE_TRANSIENT);
			break;
		case 'i':
			sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
			break;
		case 'I':
			sqlite3_bind_int64(st, i + 1, (int64_t)va_arg(ap, uint64_t));
			break;
		}
	}
}

static int dbq_get(struct db *db, const char *sql, sqlite3_stmt **st, bool *cached);

int dbq_vprep(struct db *db, sqlite3_stmt **st, const char *sql, const char *types, va_list ap)
{
	bool cached;
	int rc = dbq_get(db, sql, st, &cached);
	if (rc == PP_OK)
		dbq_vbind(*st, types, ap);
	return rc;
}

int dbq_prep(struct db *db, sqlite3_stmt **st, const char *sql, const char *types, ...)
{
	va_list ap;
	va_start(ap, types);
	int rc = dbq_vprep(db, st, sql, types, ap);
	va_end(ap);
	return rc;
}

static uint32_t sql_hash(const char *sql)
{
	uint32_t h = 2166136261u;
	for (const unsigned char *p = (const unsigned char *)sql; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h;
}

/* A prepared statement for sql, from the cache (reset, unbound) or new.
 * *cached says whether dbq_done must give it back rather than finalize. */
static int dbq_get(struct db *db, const char *sql, sqlite3_stmt **st, bool *cached)
{
	uint32_t h = sql_hash(sql);
	size_t free_slot = DBQ_CACHE_SLOTS;
	for (size_t k = 0; k < DBQ_CACHE_SLOTS; k++) {
		size_t i = (h + k) % DBQ_CACHE_SLOTS;
		sqlite3_stmt *c = db->cache[i];
		if (c == NULL) {
			free_slot = i;
			break;
		}
		if (strcmp(sqlite3_sql(c), sql) == 0) {
			if (sqlite3_stmt_busy(c)) {
				/* In use further up the stack (a nested query of the
				 * same SQL): a private one this time. */
				break;
			}
			*st = c;
			*cached = true;
			return PP_OK;
		}
	}
	int rv = sqlite3_prepare_v3(db->conn, sql, -1,
				    free_slot < DBQ_CACHE_SLOTS ? SQLITE_PREPARE_PERSISTENT : 0, st,
				    NULL);
	if (rv != SQLITE_OK) {
		log_error("db_prepare_failed", "err=\"%s\" sql=\"%.80s\"", sqlite3_errmsg(db->conn), sql);
		return PP_EINTERNAL;
	}
	*cached = free_slot < DBQ_CACHE_SLOTS;
	if (*cached)
		db->cache[free_slot] = *st;
	return PP_OK;
}

static void dbq_done(sqlite3_stmt *st, bool cached)
{
	if (cached) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	} else {
		sqlite3_finalize(st);
	}
}

void dbq_finish(struct db *db, sqlite3_stmt *st)
{
	if (st == NULL)
		return;
	uint32_t h = sql_hash(sqlite3_sql(st));
	for (size_t k = 0; k < DBQ_CACHE_SLOTS; k++) {
		sqlite3_stmt *c = db->cache[(h + k) % DBQ_CACHE_SLOTS];
		if (c == NULL)
			break;
		if (c == st) {
			dbq_done(st, true);
			return;
		}
	}
	sqlite3_finalize(st);
}

void dbq_cache_clear(struct db *db)
{
	for (size_t i = 0; i < DBQ_CACHE_SLOTS; i++) {
		sqlite3_finalize(db->cache[i]);
		db->cache[i] = NULL;
	}
}

int dbq_exec(struct db *db, const char *sql, const char *types, ...)
{
	sqlite3_stmt *st;
	bool cached;
	int rc = dbq_get(db, sql, &st, &cached);
	if (rc != PP_OK)
		return rc;
	va_list ap;
	va_start(ap, types);
	dbq_vbind(st, types, ap);
	va_end(ap);
	int rv;
	while ((rv = sqlite3_step(st)) == SQLITE_ROW)
		;
	if (rv != SQLITE_DONE) {
		log_error("db_step_failed", "err=\"%s\" sql=\"%.80s\"", sqlite3_errmsg(db->conn), sql);
		rc = rv == SQLITE_CONSTRAINT ? PP_ECONFLICT : PP_EINTERNAL;
	}
	dbq_done(st, cached);
	return rc;
}

int dbq_int(struct db *db, int64_t *out, const char *sql, const char *types, ...)
{
	sqlite3_stmt *st;
	bool cached;
	int rc = dbq_get(db, sql, &st, &cached);
	if (rc != PP_OK)
		return rc;
	va_list ap;
	va_start(ap, types);
	dbq_vbind(st, types, ap);
	va_end(ap);
	int rv = sqlite3_step(st);
	if (rv == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	else if (rv == SQLITE_DONE)
		rc = PP_ENOTFOUND;
	else {
		log_error("db_step_failed", "err=\"%s\" sql=\"%.80s\"", sqlite3_errmsg(db->conn), sql);
		rc = PP_EINTERNAL;
	}
	dbq_done(st, cached);
	return rc;
}

int dbq_begin(struct db *db) { return dbq_exec(db, "BEGIN IMMEDIATE", NULL); }
int dbq_commit(struct db *db) { return dbq_exec(db, "COMMIT", NULL); }

/* Commits and deletes of files are what users see: their transactions fsync
 * the WAL (synchronous=FULL) so they survive power loss, not only kill -9.
 * Everything else (upload sessions, replica records, node state) runs at
 * synchronous=NORMAL, which in WAL mode still survives any process crash;
 * an fsync per chunk placement queued behind the workers' 4 MiB writes on
 * the same disk made placement ~40 ms. */
int dbq_begin_durable(struct db *db)
{
	int rc = dbq_exec(db, "PRAGMA synchronous=FULL", NULL);
	return rc == PP_OK ? dbq_begin(db) : rc;
}

void dbq_end_durable(struct db *db) { dbq_exec(db, "PRAGMA synchronous=NORMAL", NULL); }
void dbq_rollback(struct db *db)
{
	if (!sqlite3_get_autocommit(db->conn))
		sqlite3_exec(db->conn, "ROLLBACK", NULL, NULL, NULL);
}

void dbq_copy(char *dst, size_t len, sqlite3_stmt *st, int col)
{
	const unsigned char *s = sqlite3_column_text(st, col);
	snprintf(dst, len, "%s", s ? (const char *)s : "");
}

int dbq_pairs(struct db *db, struct chunk_node **out, size_t *n, size_t max, const char *sql,
	      const char *types, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	va_start(ap, types);
	int rc = dbq_vprep(db, &st, sql, types, ap);
	va_end(ap);
	*out = NULL;
	*n = 0;
	if (rc != PP_OK)
		return rc;
	size_t cap = 0;
	int rv;
	while (*n < max && (rv = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			struct chunk_node *g = realloc(*out, cap * sizeof(**out));
			if (g == NULL) {
				rc = PP_EINTERNAL;
				break;
			}
			*out = g;
		}
		struct chunk_node *p = &(*out)[(*n)++];
		dbq_copy(p->chunk_id, sizeof(p->chunk_id), st, 0);
		dbq_copy(p->node_id, sizeof(p->node_id), st, 1);
		int cols = sqlite3_column_count(st);
		p->size = cols > 2 ? (uint32_t)sqlite3_column_int64(st, 2) : 0;
		p->gen = cols > 3 ? (uint64_t)sqlite3_column_int64(st, 3) : 0;
	}
	dbq_finish(db, st);
	return rc;
}

