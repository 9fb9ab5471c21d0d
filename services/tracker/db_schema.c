/* The tracker store's schema and its migrations (DESIGN.md "Data model":
 * tracker store). The CREATE statements are the current version; an older
 * file first gains its new columns (the statements' indexes and triggers
 * use them), then its data is brought up to date once. */
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
