/* The tracker store's schema and its migrations (DESIGN.md "Data model":
 * tracker store). The CREATE statements are the current version; an older
 * file first gains its new columns (the statements' indexes and triggers
 * use them), then its data is brought up to date once.
 *
 * Counters kept by triggers, so nothing counts all chunks on request:
 * chunks.copies (ok, not extra copies, whatever their node) and
 * chunks.copies_any (ok copies) follow the replica rows; the one-row stats
 * table follows files and chunks (files, referenced chunks, chunks with
 * fewer copies than their factor, chunks with no ok copy, bytes in ok
 * copies). What depends on node roles (policy.h) is then counted only over
 * the copies on nodes lacking a role: proportional to a failure. */
#define _GNU_SOURCE
#include "db_impl.h"
#include "errors.h"
#include "log.h"

#include <stdbool.h>
#include <stdio.h>

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
	"CREATE INDEX IF NOT EXISTS tombstones_record_pending ON tombstones(seq)"
	" WHERE record_state = 0;"
	"CREATE TABLE IF NOT EXISTS kv(key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS node_scans(node_id TEXT PRIMARY KEY) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS chunks("
	" id TEXT PRIMARY KEY, size INTEGER NOT NULL, refcount INTEGER NOT NULL DEFAULT 0,"
	" replication INTEGER NOT NULL DEFAULT 0, gc_after_ms INTEGER NOT NULL DEFAULT 0,"
	" copies INTEGER NOT NULL DEFAULT 0, copies_any INTEGER NOT NULL DEFAULT 0)"
	" WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS chunks_garbage ON chunks(gc_after_ms) WHERE refcount = 0;"
	"CREATE INDEX IF NOT EXISTS chunks_short ON chunks(replication)"
	" WHERE refcount > 0 AND copies < replication;"
	"CREATE INDEX IF NOT EXISTS chunks_surplus ON chunks(replication)"
	" WHERE refcount > 0 AND copies > replication;"
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
	"CREATE INDEX IF NOT EXISTS replicas_pending ON replicas(updated_ms) WHERE state = 4;"
	"CREATE INDEX IF NOT EXISTS replicas_corrupt ON replicas(chunk_id) WHERE state = 3;"
	"CREATE TABLE IF NOT EXISTS stats(k INTEGER PRIMARY KEY CHECK (k = 0),"
	" files INTEGER NOT NULL, chunks INTEGER NOT NULL, short INTEGER NOT NULL,"
	" none INTEGER NOT NULL, bytes INTEGER NOT NULL);"
	"INSERT OR IGNORE INTO stats VALUES (0, 0, 0, 0, 0, 0);"
	"CREATE TRIGGER IF NOT EXISTS replicas_count_ins AFTER INSERT ON replicas"
	" WHEN NEW.state = 0 BEGIN UPDATE chunks SET copies = copies + (NEW.extra = 0),"
	" copies_any = copies_any + 1 WHERE id = NEW.chunk_id; END;"
	"CREATE TRIGGER IF NOT EXISTS replicas_count_del AFTER DELETE ON replicas"
	" WHEN OLD.state = 0 BEGIN UPDATE chunks SET copies = copies - (OLD.extra = 0),"
	" copies_any = copies_any - 1 WHERE id = OLD.chunk_id; END;"
	"CREATE TRIGGER IF NOT EXISTS replicas_count_upd AFTER UPDATE OF state, extra ON replicas"
	" WHEN (OLD.state = 0) != (NEW.state = 0) OR (NEW.state = 0 AND OLD.extra != NEW.extra)"
	" BEGIN UPDATE chunks SET"
	" copies = copies - (OLD.state = 0 AND OLD.extra = 0) + (NEW.state = 0 AND NEW.extra = 0),"
	" copies_any = copies_any - (OLD.state = 0) + (NEW.state = 0) WHERE id = NEW.chunk_id; END;"
	"CREATE TRIGGER IF NOT EXISTS chunks_stats_ins AFTER INSERT ON chunks BEGIN"
	" UPDATE stats SET chunks = chunks + (NEW.refcount > 0),"
	" short = short + (NEW.refcount > 0 AND NEW.copies < NEW.replication),"
	" none = none + (NEW.refcount > 0 AND NEW.copies_any = 0),"
	" bytes = bytes + NEW.size * NEW.copies_any WHERE k = 0; END;"
	"CREATE TRIGGER IF NOT EXISTS chunks_stats_del AFTER DELETE ON chunks BEGIN"
	" UPDATE stats SET chunks = chunks - (OLD.refcount > 0),"
	" short = short - (OLD.refcount > 0 AND OLD.copies < OLD.replication),"
	" none = none - (OLD.refcount > 0 AND OLD.copies_any = 0),"
	" bytes = bytes - OLD.size * OLD.copies_any WHERE k = 0; END;"
	"CREATE TRIGGER IF NOT EXISTS chunks_stats_upd"
	" AFTER UPDATE OF refcount, replication, copies, copies_any, size ON chunks BEGIN"
	" UPDATE stats SET chunks = chunks - (OLD.refcount > 0) + (NEW.refcount > 0),"
	" short = short - (OLD.refcount > 0 AND OLD.copies < OLD.replication)"
	"  + (NEW.refcount > 0 AND NEW.copies < NEW.replication),"
	" none = none - (OLD.refcount > 0 AND OLD.copies_any = 0)"
	"  + (NEW.refcount > 0 AND NEW.copies_any = 0),"
	" bytes = bytes - OLD.size * OLD.copies_any + NEW.size * NEW.copies_any WHERE k = 0; END;"
	"CREATE TRIGGER IF NOT EXISTS files_stats_ins AFTER INSERT ON files BEGIN"
	" UPDATE stats SET files = files + 1 WHERE k = 0; END;"
	"CREATE TRIGGER IF NOT EXISTS files_stats_del AFTER DELETE ON files BEGIN"
	" UPDATE stats SET files = files - 1 WHERE k = 0; END;"
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


/* Schema versions: 1 = the first landing; 2 adds replicas.gen, nodes.roles
 * and inventory_seq (copy generations, DESIGN.md "Durability rules"); 3 adds
 * files.seq and record_state, tombstones, kv (the commit sequence) and
 * node_scans (metadata records, DESIGN.md "Metadata recovery"); 4 adds the
 * copy counters (chunks.copies, copies_any, stats; see the top). An older
 * file gains its columns before the CREATE statements (whose indexes use
 * them) run; then its files get sequence numbers and records to write, and
 * its counters are computed once. */
#define SCHEMA_VERSION 4

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
	if (rc == PP_OK)
		rc = add_column(db, "chunks", "copies", "INTEGER NOT NULL DEFAULT 0");
	if (rc == PP_OK)
		rc = add_column(db, "chunks", "copies_any", "INTEGER NOT NULL DEFAULT 0");
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
	/* Counters once from the rows; the triggers keep them from now on. */
	if (rc == PP_OK)
		rc = dbq_exec(db,
			      "UPDATE chunks SET copies = (SELECT count(*) FROM replicas r"
			      " WHERE r.chunk_id = chunks.id AND r.state = 0 AND r.extra = 0),"
			      " copies_any = (SELECT count(*) FROM replicas r"
			      " WHERE r.chunk_id = chunks.id AND r.state = 0)",
			      NULL);
	if (rc == PP_OK)
		rc = dbq_exec(db,
			      "UPDATE stats SET files = (SELECT count(*) FROM files),"
			      " chunks = (SELECT count(*) FROM chunks WHERE refcount > 0),"
			      " short = (SELECT count(*) FROM chunks WHERE refcount > 0"
			      "  AND copies < replication),"
			      " none = (SELECT count(*) FROM chunks WHERE refcount > 0 AND copies_any = 0),"
			      " bytes = (SELECT coalesce(sum(size * copies_any), 0) FROM chunks)"
			      " WHERE k = 0",
			      NULL);
	if (rc == PP_OK) {
		char sql[64];
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", SCHEMA_VERSION);
		rc = dbq_exec(db, sql, NULL);
	}
	if (rc == PP_OK)
		log_info("db_migrated", "from=%lld to=%d", (long long)from, SCHEMA_VERSION);
	return rc;
}

int dbq_schema_apply(struct db *db, char **err)
{
	int64_t from = 0;
	int rv = migrate_columns(db, &from) == PP_OK ? SQLITE_OK : SQLITE_ERROR;
	if (rv == SQLITE_OK)
		rv = sqlite3_exec(db->conn, SCHEMA, NULL, NULL, err);
	if (rv == SQLITE_OK && migrate_data(db, from) != PP_OK)
		rv = SQLITE_ERROR;
	return rv == SQLITE_OK ? PP_OK : PP_EINTERNAL;
}
