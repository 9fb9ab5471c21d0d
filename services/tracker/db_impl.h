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

struct db {
	char *path;    /* owned; other connections (snapshots) open it */
	sqlite3 *conn;
	pthread_mutex_t lock; /* guards conn and every statement on it */
	/* Transaction timing for metrics (db_set_tx_observer); under lock. */
	db_tx_observer_fn tx_observer;
	void *tx_observer_arg;
	double tx_started_s; /* monotonic; 0 when no transaction is open */
};

int dbq_prep(struct db *db, sqlite3_stmt **st, const char *sql, const char *types, ...);
int dbq_vprep(struct db *db, sqlite3_stmt **st, const char *sql, const char *types, va_list ap);
/* Runs a statement to completion. */
int dbq_exec(struct db *db, const char *sql, const char *types, ...);
/* First column of the first row; PP_ENOTFOUND when no row. */
int dbq_int(struct db *db, int64_t *out, const char *sql, const char *types, ...);
int dbq_begin(struct db *db);
int dbq_commit(struct db *db);
int dbq_begin_durable(struct db *db);
void dbq_end_durable(struct db *db);
void dbq_rollback(struct db *db);
/* Every 1- and 2-character substring of the name, for short searches. */
int dbq_grams_insert(struct db *db, int64_t file_id, const char *name, int64_t created_ms);
/* Inside a write transaction: the next commit sequence number. */
int dbq_next_seq(struct db *db, uint64_t *seq);
void dbq_copy(char *dst, size_t len, sqlite3_stmt *st, int col);
/* Runs a query whose columns are (chunk_id, node_id[, size[, gen]]) into a
 * list of at most max. */
int dbq_pairs(struct db *db, struct chunk_node **out, size_t *n, size_t max, const char *sql,
	      const char *types, ...);

#endif
