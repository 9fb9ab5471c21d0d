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

struct db {
	sqlite3 *conn;
	pthread_mutex_t lock; /* guards conn and every statement on it */
	/* Group commit (db_commit.c): commits waiting for the next durable
	 * transaction, and whether one is being written. */
	pthread_mutex_t group_lock; /* guards group_queue, group_busy */
	pthread_cond_t group_cond;
	struct commit_req *group_queue;
	bool group_busy;
	int wal_fd; /* the WAL, for the group's fsync; the leader's only */
};

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
void dbq_copy(char *dst, size_t len, sqlite3_stmt *st, int col);
/* Runs a query whose columns are (chunk_id, node_id[, size[, gen]]) into a
 * list of at most max. */
int dbq_pairs(struct db *db, struct chunk_node **out, size_t *n, size_t max, const char *sql,
	      const char *types, ...);

#endif
