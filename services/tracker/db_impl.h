/* Private to db*.c: the connection, its lock and small statement helpers.
 *
 * Helpers bind by a type string: 't' text, 'i' int64, 'I' uint64. Callers
 * hold db->lock around every use; the helpers never take it. */
#ifndef PP_TRACKER_DB_IMPL_H
#define PP_TRACKER_DB_IMPL_H

#include "db.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

/* Prepared statements are kept per SQL text and reused (sqlite3_reset)
 * rather than compiled on every call. */
#define STMT_CACHE_SLOTS 256
struct stmt_slot {
	uint64_t hash;       /* of sql */
	char *sql;           /* owned; NULL = free slot */
	sqlite3_stmt *st;    /* owned */
	bool busy;           /* handed out, not yet released */
};

struct db {
	char *path;    /* owned; other connections (snapshots) open it */
	sqlite3 *conn;
	struct stmt_slot cache[STMT_CACHE_SLOTS]; /* under lock */
	uint64_t commits_done;     /* durable-wanted commits so far; under lock */
	pthread_mutex_t sync_lock; /* guards synced, syncing, syncs */
	pthread_cond_t synced_cv;
	uint64_t synced;           /* commits covered by a WAL fsync */
	bool syncing;
	int wal_fd;                /* the WAL file, for group fsyncs; -1 = none yet */
	uint64_t syncs;            /* group syncs run */
	pthread_mutex_t lock; /* guards conn and every statement on it */
	/* Transaction timing for metrics (db_set_tx_observer); under lock. */
	db_tx_observer_fn tx_observer;
	void *tx_observer_arg;
	double tx_started_s; /* monotonic; 0 when no transaction is open */
};

/* A statement ready to bind/step, from the cache when it can be; give it
 * back with dbq_release (never sqlite3_finalize). */
int dbq_prep(struct db *db, sqlite3_stmt **st, const char *sql, const char *types, ...);
void dbq_release(struct db *db, sqlite3_stmt *st);
int dbq_vprep(struct db *db, sqlite3_stmt **st, const char *sql, const char *types, va_list ap);
/* Runs a statement to completion. */
int dbq_exec(struct db *db, const char *sql, const char *types, ...);
/* First column of the first row; PP_ENOTFOUND when no row. */
int dbq_int(struct db *db, int64_t *out, const char *sql, const char *types, ...);
/* Creates or migrates the schema (db_schema.c); *err from SQLite. */
int dbq_schema_apply(struct db *db, char **err);
int dbq_begin(struct db *db);
int dbq_commit(struct db *db);
int dbq_begin_durable(struct db *db);
/* After a COMMIT that must survive power loss (lock held): its ticket for
 * db_wait_durable, which the caller calls once the lock is released. */
uint64_t dbq_durable_ticket(struct db *db);
void dbq_end_durable(struct db *db);
void dbq_rollback(struct db *db);
/* Every 1- and 2-character substring of the name, for short searches. */
int dbq_grams_insert(struct db *db, int64_t file_id, const char *name, int64_t created_ms);
/* Inside a write transaction: the next commit sequence number. */
int dbq_next_seq(struct db *db, uint64_t *seq);
void dbq_copy(char *dst, size_t len, sqlite3_stmt *st, int col);
/* A copy on its way to a node (state 4, pending), unless a row exists. */
#define DB_SQL_REPLICA_PENDING \
	"INSERT INTO replicas(chunk_id, node_id, state, extra, updated_ms, gen)" \
	" VALUES (?, ?, 4, 0, ?, 0) ON CONFLICT(chunk_id, node_id) DO NOTHING"
/* The columns of a files row as db_file_row reads them (db.c). */
#define FILE_COLS "f.id, f.name, f.version, f.size, f.sha256, f.replication, f.chunk_size," \
		  " f.chunk_count, f.created_at_ms, f.seq"
void db_file_row(sqlite3_stmt *st, struct file_rec *f);
/* Queries whose plans the tests check (no full scan of chunks). */
extern const char *const DB_SQL_DEGRADED_SHORT;
extern const char *const DB_SQL_DEGRADED_LOST;
extern const char *const DB_SQL_REPAIR_NEEDS;
extern const char *const DB_SQL_SURPLUS;
extern const char *const DB_SQL_GARBAGE;
/* EXPLAIN QUERY PLAN of sql, one step per line. */
int db_plan(struct db *db, const char *sql, char *buf, size_t len);
/* Runs a query whose columns are (chunk_id, node_id[, size[, gen]]) into a
 * list of at most max. */
int dbq_pairs(struct db *db, struct chunk_node **out, size_t *n, size_t max, const char *sql,
	      const char *types, ...);

#endif
