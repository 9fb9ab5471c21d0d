/* The tracker's SQLite store: schema, uploads, commits, files and search.
 *
 * Invariant: a file becomes visible (and an older version of its name goes
 * away) only inside the commit transaction, and chunks.refcount always
 * equals the number of file_chunks rows naming the chunk. Search uses the
 * FTS5 trigram table for queries of >= 3 characters and name_grams (every
 * 1- and 2-character substring of each name, lowercased) for shorter ones,
 * so no query scans the files table. */
#define _GNU_SOURCE
#include "db_impl.h"
#include "db_s3.h"
#include "errors.h"
#include "log.h"
#include "policy.h"
#include "s3names.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const SCHEMA =
	"CREATE TABLE IF NOT EXISTS files("
	" id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, version INTEGER NOT NULL,"
	" size INTEGER NOT NULL, sha256 TEXT NOT NULL, replication INTEGER NOT NULL,"
	" chunk_size INTEGER NOT NULL, chunk_count INTEGER NOT NULL, created_at_ms INTEGER NOT NULL,"
	" seq INTEGER NOT NULL DEFAULT 0, record_state INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX IF NOT EXISTS files_newest ON files(created_at_ms DESC, id DESC);"
	"CREATE INDEX IF NOT EXISTS files_record_pending ON files(seq) WHERE record_state = 0;"
	"CREATE INDEX IF NOT EXISTS files_seq ON files(seq);"
	"CREATE TABLE IF NOT EXISTS tombstones("
	" name TEXT PRIMARY KEY, seq INTEGER NOT NULL, deleted_at_ms INTEGER NOT NULL,"
	" record_state INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS tombstones_seq ON tombstones(seq);"
	"CREATE TABLE IF NOT EXISTS kv(key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS node_scans(node_id TEXT PRIMARY KEY) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS chunks("
	" id TEXT PRIMARY KEY, size INTEGER NOT NULL, refcount INTEGER NOT NULL DEFAULT 0,"
	" replication INTEGER NOT NULL DEFAULT 0, gc_after_ms INTEGER NOT NULL DEFAULT 0)"
	" WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS chunks_garbage ON chunks(gc_after_ms) WHERE refcount = 0;"
	"CREATE TABLE IF NOT EXISTS file_chunks("
	" file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE, idx INTEGER NOT NULL,"
	" chunk_id TEXT NOT NULL REFERENCES chunks(id), PRIMARY KEY(file_id, idx)) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS file_chunks_chunk ON file_chunks(chunk_id);"
	"CREATE TABLE IF NOT EXISTS replicas("
	" chunk_id TEXT NOT NULL REFERENCES chunks(id) ON DELETE CASCADE, node_id TEXT NOT NULL,"
	" state INTEGER NOT NULL, extra INTEGER NOT NULL DEFAULT 0, updated_ms INTEGER NOT NULL,"
	" gen INTEGER NOT NULL DEFAULT 0, PRIMARY KEY(chunk_id, node_id)) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS replicas_node ON replicas(node_id);"
	"CREATE INDEX IF NOT EXISTS replicas_deleting ON replicas(updated_ms) WHERE state = 5;"
	"CREATE TABLE IF NOT EXISTS nodes("
	" id TEXT PRIMARY KEY, address TEXT NOT NULL, zone TEXT NOT NULL,"
	" capacity INTEGER NOT NULL, used INTEGER NOT NULL, chunks INTEGER NOT NULL,"
	" state INTEGER NOT NULL, last_heartbeat INTEGER NOT NULL,"
	" maintenance_until INTEGER NOT NULL DEFAULT 0, draining INTEGER NOT NULL DEFAULT 0,"
	" disk_full INTEGER NOT NULL DEFAULT 0, roles INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS inventory_seq("
	" node_id TEXT PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS uploads("
	" id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, replication INTEGER NOT NULL,"
	" chunk_size INTEGER NOT NULL, expected_size INTEGER NOT NULL,"
	" created_ms INTEGER NOT NULL, last_activity_ms INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS upload_chunks("
	" upload_id INTEGER NOT NULL REFERENCES uploads(id) ON DELETE CASCADE,"
	" idx INTEGER NOT NULL, chunk_id TEXT NOT NULL, size INTEGER NOT NULL,"
	" PRIMARY KEY(upload_id, idx)) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS upload_chunks_chunk ON upload_chunks(chunk_id);"
	"CREATE VIRTUAL TABLE IF NOT EXISTS files_fts USING fts5("
	" name, content='files', content_rowid='id', tokenize='trigram');"
	"CREATE TRIGGER IF NOT EXISTS files_fts_ins AFTER INSERT ON files BEGIN"
	" INSERT INTO files_fts(rowid, name) VALUES (new.id, new.name); END;"
	"CREATE TRIGGER IF NOT EXISTS files_fts_del AFTER DELETE ON files BEGIN"
	" INSERT INTO files_fts(files_fts, rowid, name) VALUES ('delete', old.id, old.name); END;"
	"CREATE TABLE IF NOT EXISTS name_grams("
	" gram TEXT NOT NULL, file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,"
	" created_at_ms INTEGER NOT NULL, PRIMARY KEY(gram, created_at_ms, file_id)) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS name_grams_file ON name_grams(file_id);";

/* ---- helpers (shared with db_chunks.c and db_work.c through db_impl.h) ---- */

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
		log_error("db_prepare_failed", "err=\"%s\" sql=\"%.80s\"", sqlite3_errmsg(db->conn), sql);
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
		log_error("db_step_failed", "err=\"%s\" sql=\"%.80s\"", sqlite3_errmsg(db->conn), sql);
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
		log_error("db_step_failed", "err=\"%s\" sql=\"%.80s\"", sqlite3_errmsg(db->conn), sql);
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
 * a group sync to cover it (db_wait_durable). One waiter at a time runs a
 * one-row synchronous=FULL transaction, whose WAL fsync makes every frame
 * written before it durable, so any number of commits share one fsync. */
uint64_t dbq_durable_ticket(struct db *db) { return ++db->commits_done; }

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
		rc = dbq_begin_durable(db);
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
		pthread_mutex_unlock(&db->lock);
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

/* ---- open ---- */

/* Schema versions: 1 = the first landing; 2 adds replicas.gen, nodes.roles
 * and inventory_seq (copy generations, DESIGN.md "Durability rules"); 3 adds
 * files.seq and record_state, tombstones, kv (the commit sequence) and
 * node_scans (metadata records, DESIGN.md "Metadata recovery"). An older
 * file gains its columns before the CREATE statements (whose indexes use
 * them) run; its files get sequence numbers and records to write. */
#define SCHEMA_VERSION 3

static bool table_exists(struct db *db, const char *table)
{
	int64_t n = 0;
	return dbq_int(db, &n, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?",
		       "t", table) == PP_OK && n > 0;
}

static bool column_exists(struct db *db, const char *table, const char *column)
{
	int64_t n = 0;
	return dbq_int(db, &n, "SELECT count(*) FROM pragma_table_info(?) WHERE name = ?", "tt",
		       table, column) == PP_OK && n > 0;
}

static int add_column(struct db *db, const char *table, const char *column, const char *def)
{
	if (!table_exists(db, table) || column_exists(db, table, column))
		return PP_OK;
	char sql[256];
	snprintf(sql, sizeof(sql), "ALTER TABLE %s ADD COLUMN %s %s", table, column, def);
	return dbq_exec(db, sql, NULL);
}

static int migrate_columns(struct db *db, int64_t *from)
{
	int rc = dbq_int(db, from, "PRAGMA user_version", NULL);
	if (rc != PP_OK || *from >= SCHEMA_VERSION)
		return rc;
	rc = add_column(db, "replicas", "gen", "INTEGER NOT NULL DEFAULT 0");
	if (rc == PP_OK)
		rc = add_column(db, "nodes", "roles", "INTEGER NOT NULL DEFAULT 0");
	if (rc == PP_OK)
		rc = add_column(db, "files", "seq", "INTEGER NOT NULL DEFAULT 0");
	if (rc == PP_OK)
		rc = add_column(db, "files", "record_state", "INTEGER NOT NULL DEFAULT 0");
	return rc;
}

/* After the schema exists: files from before version 3 get sequence numbers
 * above any seen (their records are then written by the record loop). */
static int migrate_data(struct db *db, int64_t from)
{
	if (from >= SCHEMA_VERSION)
		return PP_OK;
	int rc = dbq_exec(db,
			  "INSERT INTO kv(key, value) SELECT 'commit_seq', coalesce(max(id), 0)"
			  " FROM files WHERE true ON CONFLICT(key) DO UPDATE SET value ="
			  " max(value, excluded.value)",
			  NULL);
	if (rc == PP_OK)
		rc = dbq_exec(db, "UPDATE files SET seq = id, record_state = 0 WHERE seq = 0", NULL);
	if (rc == PP_OK) {
		char sql[64];
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", SCHEMA_VERSION);
		rc = dbq_exec(db, sql, NULL);
	}
	if (rc == PP_OK)
		log_info("db_migrated", "from=%lld to=%d", (long long)from, SCHEMA_VERSION);
	return rc;
}

int db_open(const char *path, struct db **out)
{
	struct db *db = calloc(1, sizeof(*db));
	if (db == NULL)
		return PP_EINTERNAL;
	pthread_mutex_init(&db->lock, NULL);
	pthread_mutex_init(&db->sync_lock, NULL);
	pthread_cond_init(&db->synced_cv, NULL);
	db->path = strdup(path);
	int rv = db->path ? sqlite3_open_v2(path, &db->conn,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
				 NULL) : SQLITE_NOMEM;
	char *err = NULL;
	if (rv == SQLITE_OK) {
		sqlite3_busy_timeout(db->conn, 5000);
		rv = sqlite3_exec(db->conn,
				  "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
				  " PRAGMA foreign_keys=ON; PRAGMA secure_delete=OFF;",
				  NULL, NULL, &err);
	}
	int64_t from = 0;
	if (rv == SQLITE_OK && migrate_columns(db, &from) != PP_OK)
		rv = SQLITE_ERROR;
	if (rv == SQLITE_OK)
		rv = sqlite3_exec(db->conn, SCHEMA, NULL, NULL, &err);
	if (rv == SQLITE_OK && migrate_data(db, from) != PP_OK)
		rv = SQLITE_ERROR;
	if (rv == SQLITE_OK && db_s3_schema(db) != PP_OK) /* S3 tables (db_s3.c) */
		rv = SQLITE_ERROR;
	if (rv != SQLITE_OK) {
		log_error("db_open_failed", "path=%s err=\"%s\"", path,
			  err ? err : (db->conn ? sqlite3_errmsg(db->conn) : "out of memory"));
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
	struct upload_rec u;
	int rc = db_upload_get(db, upload_id, &u);
	if (rc != PP_OK) {
		snprintf(err, err_len, "no upload %lld (expired, aborted or committed)",
			 (long long)upload_id);
		return rc;
	}
	pthread_mutex_lock(&db->lock);
	int64_t old_id = 0, old_version = 0, file_id;
	uint64_t ticket = 0;
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
	/* S3 metadata and its conditions, in this transaction (db_s3.c). */
	if (rc == PP_OK)
		rc = db_s3_on_commit(db, upload_id, file_id, u.name, now_ms, err, err_len);
	if (rc == PP_OK)
		rc = dbq_exec(db, "DELETE FROM uploads WHERE id = ?", "i", upload_id);
	if (rc == PP_OK)
		rc = dbq_commit(db);
	if (rc == PP_OK) {
		ticket = dbq_durable_ticket(db);
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
	if (rc == PP_OK)
		rc = db_wait_durable(db, ticket);
	return rc;
}

/* ---- files ---- */

#define FILE_COLS "f.id, f.name, f.version, f.size, f.sha256, f.replication, f.chunk_size," \
		  " f.chunk_count, f.created_at_ms, f.seq"

static void file_row(sqlite3_stmt *st, struct file_rec *f)
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
		file_row(st, out);
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

/* Multipart parts (common/s3names.h) are files no listing shows. */
#define NOT_HIDDEN " f.name NOT GLOB '" S3_UPLOADS_GLOB "'"

/* Builds the FROM/WHERE part of a list query and its single text parameter. */
static const char *list_source(const char *query, char **param)
{
	*param = NULL;
	size_t chars = utf8_chars(query);
	if (chars == 0)
		return " FROM files f WHERE" NOT_HIDDEN;
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
		       " WHERE files_fts MATCH ?1) AND" NOT_HIDDEN;
	}
	*param = strdup(query);
	if (*param == NULL)
		return NULL;
	for (char *s = *param; *s; s++)
		*s = (char)tolower((unsigned char)*s);
	return " FROM name_grams g JOIN files f ON f.id = g.file_id WHERE g.gram = ?1 AND" NOT_HIDDEN;
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
		file_row(st, &(*out)[(*n)++]);
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
