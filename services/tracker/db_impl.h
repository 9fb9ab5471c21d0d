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

struct commit_req;

/* Statements dbq_exec and dbq_int keep prepared, by SQL text: parsing and
 * planning every statement anew was a third of the tracker's CPU. */
#define DBQ_CACHE_SLOTS 256

struct db {
	sqlite3 *conn;
	pthread_mutex_t lock; /* guards conn, the cache and every statement on them */
	sqlite3_stmt *cache[DBQ_CACHE_SLOTS]; /* open addressing by SQL hash */
	/* Group commit (db_commit.c): commits waiting for the next durable
	 * transaction, and whether one is being written. */
	pthread_mutex_t group_lock; /* guards group_queue, group_busy */
	pthread_cond_t group_cond;
	struct commit_req *group_queue;
	bool group_busy;
	int wal_fd; /* the WAL, for the group's fsync; the leader's only */
};

/* A copy on its way to a node (state 4, pending), unless a row exists. */
#define DB_SQL_REPLICA_PENDING \
	"INSERT INTO replicas(chunk_id, node_id, state, extra, updated_ms, gen)" \
	" VALUES (?, ?, 4, 0, ?, 0) ON CONFLICT(chunk_id, node_id) DO NOTHING"

/* What one upload commit needs (db_upload_commit's arguments). */
struct commit_args {
	int64_t upload_id;
	uint64_t size;
	const char *sha256;
	uint64_t chunk_count;
	int64_t now_ms, gc_after_ms;
};
/* db.c: one commit's statements; lock held, inside a transaction. */
int db_commit_locked(struct db *db, const struct commit_args *a, struct file_rec *out, char *err,
		     size_t err_len);
/* db_commit.c */
void commit_group_init(struct db *db);
void commit_group_destroy(struct db *db);

/* A statement ready to step (from the cache when it can be); give it back
 * with dbq_finish, never sqlite3_finalize. */
int dbq_prep(struct db *db, sqlite3_stmt **st, const char *sql, const char *types, ...);
void dbq_finish(struct db *db, sqlite3_stmt *st);
int dbq_vprep(struct db *db, sqlite3_stmt **st, const char *sql, const char *types, va_list ap);
/* Runs a statement to completion. */
int dbq_exec(struct db *db, const char *sql, const char *types, ...);
/* First column of the first row; PP_ENOTFOUND when no row. */
int dbq_int(struct db *db, int64_t *out, const char *sql, const char *types, ...);
/* Finalizes every cached statement (before closing, or when the schema
 * changed under them). */
void dbq_cache_clear(struct db *db);
int dbq_begin(struct db *db);
int dbq_commit(struct db *db);
int dbq_begin_durable(struct db *db);
void dbq_end_durable(struct db *db);
void dbq_rollback(struct db *db);
void dbq_copy(char *dst, size_t len, sqlite3_stmt *st, int col);
/* A files row (FILE_COLS, in order) into f. */
#define FILE_COLS "f.id, f.name, f.version, f.size, f.sha256, f.replication, f.chunk_size," \
		  " f.chunk_count, f.created_at_ms"
void db_file_row(sqlite3_stmt *st, struct file_rec *f);
/* Runs a query whose columns are (chunk_id, node_id[, size[, gen]]) into a
 * list of at most max. */
int dbq_pairs(struct db *db, struct chunk_node **out, size_t *n, size_t max, const char *sql,
	      const char *types, ...);

#endif
