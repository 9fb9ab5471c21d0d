/* Statement helpers of the tracker's store (db_impl.h): a per-connection
 * cache of prepared statements keyed by SQL text, typed binding, single-
 * value queries, transactions (timed for metrics) and the group commit that
 * makes commits durable with shared fsyncs. Callers hold db->lock around
 * every helper except db_wait_durable. */
#define _GNU_SOURCE
#include "db_impl.h"
#include "errors.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>


static uint64_t sql_hash(const char *sql)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
	for (const char *c = sql; *c; c++)
		h = (h ^ (unsigned char)*c) * 0x100000001b3ULL;
	return h;
}

/* Lock held: the cached statement for sql, or a new one (cached when a slot
 * is free; a statement already handed out gets an uncached twin). */
static int stmt_get(struct db *db, const char *sql, sqlite3_stmt **st)
{
	uint64_t h = sql_hash(sql);
	struct stmt_slot *free_slot = NULL;
	for (size_t i = 0; i < STMT_CACHE_SLOTS; i++) {
		struct stmt_slot *x = &db->cache[i];
		if (x->sql == NULL) {
			if (free_slot == NULL)
				free_slot = x;
			continue;
		}
		if (x->hash == h && !x->busy && strcmp(x->sql, sql) == 0) {
			x->busy = true;
			*st = x->st;
			return PP_OK;
		}
	}
	int rv = sqlite3_prepare_v3(db->conn, sql, -1, free_slot ? SQLITE_PREPARE_PERSISTENT : 0, st,
				    NULL);
	if (rv != SQLITE_OK) {
		log_error("db_prepare_failed", "err=%s sql=%s", log_q(sqlite3_errmsg(db->conn)), log_q(sql));
		return PP_EINTERNAL;
	}
	if (free_slot != NULL && (free_slot->sql = strdup(sql)) != NULL) {
		free_slot->hash = h;
		free_slot->st = *st;
		free_slot->busy = true;
	}
	return PP_OK;
}

void dbq_release(struct db *db, sqlite3_stmt *st)
{
	if (st == NULL)
		return;
	for (size_t i = 0; i < STMT_CACHE_SLOTS; i++) {
		struct stmt_slot *x = &db->cache[i];
		if (x->st == st && x->sql != NULL) {
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			x->busy = false;
			return;
		}
	}
	sqlite3_finalize(st);
}

int dbq_vprep(struct db *db, sqlite3_stmt **st, const char *sql, const char *types, va_list ap)
{
	if (stmt_get(db, sql, st) != PP_OK)
		return PP_EINTERNAL;
	for (int i = 0; types && types[i]; i++) {
		switch (types[i]) {
		case 't':
			sqlite3_bind_text(*st, i + 1, va_arg(ap, const char *), -1, SQLITE_TRANSIENT);
			break;
		case 'i':
			sqlite3_bind_int64(*st, i + 1, va_arg(ap, int64_t));
			break;
		case 'I':
			sqlite3_bind_int64(*st, i + 1, (int64_t)va_arg(ap, uint64_t));
			break;
		}
	}
	return PP_OK;
}

int dbq_prep(struct db *db, sqlite3_stmt **st, const char *sql, const char *types, ...)
{
	va_list ap;
	va_start(ap, types);
	int rc = dbq_vprep(db, st, sql, types, ap);
	va_end(ap);
	return rc;
}

int dbq_exec(struct db *db, const char *sql, const char *types, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	va_start(ap, types);
	int rc = dbq_vprep(db, &st, sql, types, ap);
	va_end(ap);
	if (rc != PP_OK)
		return rc;
	int rv;
	while ((rv = sqlite3_step(st)) == SQLITE_ROW)
		;
	if (rv != SQLITE_DONE) {
		log_error("db_step_failed", "err=%s sql=%s", log_q(sqlite3_errmsg(db->conn)), log_q(sql));
		rc = rv == SQLITE_CONSTRAINT ? PP_ECONFLICT : PP_EINTERNAL;
	}
	dbq_release(db, st);
	return rc;
}

int dbq_int(struct db *db, int64_t *out, const char *sql, const char *types, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	va_start(ap, types);
	int rc = dbq_vprep(db, &st, sql, types, ap);
	va_end(ap);
	if (rc != PP_OK)
		return rc;
	int rv = sqlite3_step(st);
	if (rv == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	else if (rv == SQLITE_DONE)
		rc = PP_ENOTFOUND;
	else {
		log_error("db_step_failed", "err=%s sql=%s", log_q(sqlite3_errmsg(db->conn)), log_q(sql));
		rc = PP_EINTERNAL;
	}
	dbq_release(db, st);
	return rc;
}

static double tx_clock_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void tx_ended(struct db *db, bool committed)
{
	if (db->tx_started_s > 0 && db->tx_observer != NULL)
		db->tx_observer(db->tx_observer_arg, tx_clock_s() - db->tx_started_s, committed);
	db->tx_started_s = 0;
}

void db_set_tx_observer(struct db *db, db_tx_observer_fn fn, void *arg)
{
	pthread_mutex_lock(&db->lock);
	db->tx_observer = fn;
	db->tx_observer_arg = arg;
	pthread_mutex_unlock(&db->lock);
}

int dbq_begin(struct db *db)
{
	int rc = dbq_exec(db, "BEGIN IMMEDIATE", NULL);
	if (rc == PP_OK)
		db->tx_started_s = tx_clock_s();
	return rc;
}

int dbq_commit(struct db *db)
{
	int rc = dbq_exec(db, "COMMIT", NULL);
	if (rc == PP_OK)
		tx_ended(db, true);
	return rc;
}

/* Every transaction runs at synchronous=NORMAL, which in WAL mode survives
 * any process crash (an fsync per chunk placement, queued behind the
 * workers' 4 MiB writes on the same disk, made placement ~40 ms). Commits
 * and deletes of files are what users see and must also survive power loss
 * before they are acknowledged: they take a ticket after COMMIT and wait for
 * a group sync to cover it (db_wait_durable). One waiter at a time fsyncs
 * the WAL file through its own descriptor, without the connection lock, so
 * reads and placements go on meanwhile and any number of commits share one
 * fsync. That is what synchronous=FULL would do at COMMIT: the frames of
 * every transaction committed before the fsync are in the file (a
 * checkpoint that restarted the WAL first synced them into the database),
 * and SQLite syncs a restarted WAL's header itself. A store with no WAL
 * file (in memory) runs a one-row synchronous=FULL transaction instead. */
uint64_t dbq_durable_ticket(struct db *db) { return ++db->commits_done; }

/* Lock held: the WAL's descriptor, opened on first use; -1 when the store
 * has no WAL file. */
static int wal_fd_locked(struct db *db)
{
	if (db->wal_fd >= 0)
		return db->wal_fd;
	sqlite3_filename main_db = sqlite3_db_filename(db->conn, "main");
	const char *wal = main_db && main_db[0] ? sqlite3_filename_wal(main_db) : NULL;
	if (wal != NULL && wal[0])
		db->wal_fd = open(wal, O_RDWR | O_CLOEXEC);
	return db->wal_fd;
}

static int sync_full_txn_locked(struct db *db)
{
	int rc = dbq_begin_durable(db);
	if (rc == PP_OK)
		rc = dbq_exec(db,
			      "INSERT INTO kv(key, value) VALUES ('sync_tick', 1)"
			      " ON CONFLICT(key) DO UPDATE SET value = value + 1",
			      NULL);
	if (rc == PP_OK)
		rc = dbq_commit(db);
	if (rc != PP_OK)
		dbq_rollback(db);
	dbq_end_durable(db);
	return rc;
}

int db_wait_durable(struct db *db, uint64_t ticket)
{
	int rc = PP_OK;
	pthread_mutex_lock(&db->sync_lock);
	while (db->synced < ticket && rc == PP_OK) {
		if (db->syncing) {
			pthread_cond_wait(&db->synced_cv, &db->sync_lock);
			continue;
		}
		db->syncing = true;
		pthread_mutex_unlock(&db->sync_lock);
		pthread_mutex_lock(&db->lock);
		uint64_t target = db->commits_done;
		int fd = wal_fd_locked(db);
		if (fd >= 0) {
			pthread_mutex_unlock(&db->lock);
			if (fdatasync(fd) != 0) {
				log_error("db_sync_failed", "errno=%d", errno);
				rc = PP_EINTERNAL;
			}
		} else {
			rc = sync_full_txn_locked(db);
			pthread_mutex_unlock(&db->lock);
		}
		pthread_mutex_lock(&db->sync_lock);
		db->syncing = false;
		if (rc == PP_OK && target > db->synced)
			db->synced = target;
		if (rc == PP_OK)
			db->syncs++;
		pthread_cond_broadcast(&db->synced_cv);
	}
	pthread_mutex_unlock(&db->sync_lock);
	return rc;
}

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
	tx_ended(db, false);
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
	dbq_release(db, st);
	return rc;
}

