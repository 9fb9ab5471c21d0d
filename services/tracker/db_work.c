/* Queries behind the tracker's background work: repair needs, collection
 * (tombstones and their deletes), surplus, drained copies, balance.
 *
 * Everything here is derived from the store on each pass (nothing is kept
 * only in memory), so repair and collection resume after a tracker restart.
 * Which copy counts is policy.h's rule (POLICY_SQL_*), and every decision to
 * delete a copy is one transaction that checks the rule at that moment and
 * turns the copy into a tombstone; the delete itself is sent afterwards and
 * names the copy's gen. */
#define _GNU_SOURCE
#include "db_impl.h"
#include "errors.h"
#include "log.h"
#include "policy.h"
#include "timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Holding copies of chunk `c.id` (a correlated subquery over chunks c). */
#define HOLDERS_OF_C                                                                        \
	"(SELECT count(*) FROM replicas r JOIN nodes n ON n.id = r.node_id"                 \
	" WHERE r.chunk_id = c.id AND " POLICY_SQL_HOLDS ")"
#define KEEPERS_OF_C                                                                        \
	"(SELECT count(*) FROM replicas r JOIN nodes n ON n.id = r.node_id"                 \
	" WHERE r.chunk_id = c.id AND " POLICY_SQL_KEEPS ")"

/* Chunks short by the counters, and chunks with enough copies one of which
 * is on a node that is not a holder: the only ones that can need repair, so
 * planning costs what a failure touched, not every chunk. */
const char *const DB_SQL_REPAIR_NEEDS =
	"SELECT id, size, replication, live FROM ("
	" SELECT c.id, c.size, c.replication, " HOLDERS_OF_C " AS live FROM chunks c"
	"  WHERE c.refcount > 0 AND c.copies < c.replication"
	" UNION ALL"
	" SELECT c.id, c.size, c.replication, " HOLDERS_OF_C " AS live FROM chunks c"
	"  WHERE c.refcount > 0 AND c.copies >= c.replication AND c.id IN ("
	"   SELECT r.chunk_id FROM nodes n CROSS JOIN replicas r ON r.node_id = n.id"
	"   WHERE (n.roles & 4) = 0 AND r.state = 0 AND r.extra = 0))"
	" WHERE live < replication ORDER BY live, id";

int db_repair_needs(struct db *db, size_t max, struct repair_need **out, size_t *n,
		    uint64_t *copies, uint64_t *bytes)
{
	sqlite3_stmt *st;
	*out = calloc(max ? max : 1, sizeof(**out));
	*n = 0;
	*copies = *bytes = 0;
	if (*out == NULL)
		return PP_EINTERNAL;
	pthread_mutex_lock(&db->lock);
	int rc = dbq_prep(db, &st, DB_SQL_REPAIR_NEEDS, NULL);
	while (rc == PP_OK && sqlite3_step(st) == SQLITE_ROW) {
		uint32_t size = (uint32_t)sqlite3_column_int64(st, 1);
		int repl = sqlite3_column_int(st, 2), live = sqlite3_column_int(st, 3);
		*copies += (uint64_t)(repl - live);
		*bytes += (uint64_t)(repl - live) * size;
		if (*n < max) {
			struct repair_need *r = &(*out)[(*n)++];
			dbq_copy(r->id, sizeof(r->id), st, 0);
			r->size = size;
			r->replication = (uint32_t)repl;
			r->live = live;
		}
	}
	if (st)
		dbq_release(db, st);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

/* Unreferenced chunks past their grace that no open upload names and no
 * node whose metadata records were not read yet holds (one of its records
 * may reference them). */
const char *const DB_SQL_GARBAGE =
	"INSERT INTO temp.garbage SELECT c.id FROM chunks c WHERE c.refcount = 0"
	" AND c.gc_after_ms <= ? AND NOT EXISTS (SELECT 1 FROM upload_chunks uc"
	" WHERE uc.chunk_id = c.id)"
	" AND NOT EXISTS (SELECT 1 FROM replicas r WHERE r.chunk_id = c.id"
	"  AND r.node_id NOT IN (SELECT node_id FROM node_scans)) LIMIT ?";

int db_gc_collect(struct db *db, int64_t now_ms, size_t max, int *retired, int *dropped)
{
	*retired = *dropped = 0;
	pthread_mutex_lock(&db->lock);
	int rc = dbq_begin(db);
	if (rc == PP_OK)
		rc = dbq_exec(db, "CREATE TEMP TABLE IF NOT EXISTS garbage(id TEXT PRIMARY KEY)"
				  " WITHOUT ROWID", NULL);
	if (rc == PP_OK)
		rc = dbq_exec(db, "DELETE FROM temp.garbage", NULL);
	if (rc == PP_OK)
		rc = dbq_exec(db,
			      DB_SQL_GARBAGE, "iI", now_ms, (uint64_t)max);
	/* Every copy of garbage becomes a tombstone; pending and corrupt rows
	 * have nothing to delete and simply go. */
	if (rc == PP_OK)
		rc = dbq_exec(db,
			      "UPDATE replicas SET state = 5, updated_ms = 0 WHERE state = 0"
			      " AND chunk_id IN (SELECT id FROM temp.garbage)",
			      NULL);
	if (rc == PP_OK) {
		*retired = sqlite3_changes(db->conn);
		rc = dbq_exec(db,
			      "DELETE FROM replicas WHERE state IN (3, 4)"
			      " AND chunk_id IN (SELECT id FROM temp.garbage)",
			      NULL);
	}
	/* The chunk row goes with its last tombstone (resolved by inventory). */
	if (rc == PP_OK)
		rc = dbq_exec(db,
			      "DELETE FROM chunks WHERE id IN (SELECT id FROM temp.garbage)"
			      " AND NOT EXISTS (SELECT 1 FROM replicas r WHERE r.chunk_id = chunks.id)",
			      NULL);
	if (rc == PP_OK) {
		*dropped = sqlite3_changes(db->conn);
		rc = dbq_exec(db, "DELETE FROM temp.garbage", NULL);
	}
	if (rc == PP_OK)
		rc = dbq_commit(db);
	if (rc != PP_OK)
		dbq_rollback(db);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

int db_deletes_due(struct db *db, int64_t now_ms, int64_t resend_before_ms, size_t max,
		   struct chunk_node **out, size_t *n)
{
	pthread_mutex_lock(&db->lock);
	int rc = dbq_begin(db);
	/* Only to nodes that may answer now (ALIVE); the rest get theirs when
	 * they are back (their inventory keeps the tombstone until then). */
	if (rc == PP_OK)
		rc = dbq_pairs(db, out, n, max,
			       "SELECT r.chunk_id, r.node_id, c.size, r.gen FROM replicas r"
			       " JOIN nodes n ON n.id = r.node_id JOIN chunks c ON c.id = r.chunk_id"
			       " WHERE r.state = 5 AND r.updated_ms < ?1 AND (n.roles & 1) != 0"
			       " ORDER BY r.node_id LIMIT ?2",
			       "iI", resend_before_ms, (uint64_t)max);
	for (size_t i = 0; rc == PP_OK && i < *n; i++)
		rc = dbq_exec(db,
			      "UPDATE replicas SET updated_ms = ? WHERE chunk_id = ? AND node_id = ?"
			      " AND state = 5",
			      "itt", now_ms, (*out)[i].chunk_id, (*out)[i].node_id);
	if (rc == PP_OK)
		rc = dbq_commit(db);
	if (rc != PP_OK) {
		dbq_rollback(db);
		free(*out);
		*out = NULL;
		*n = 0;
	}
	pthread_mutex_unlock(&db->lock);
	return rc;
}

int db_delete_acked(struct db *db, const char *node_id, const char *chunk_id, uint64_t gen)
{
	pthread_mutex_lock(&db->lock);
	int rc = dbq_exec(db,
			  "UPDATE replicas SET state = 6 WHERE chunk_id = ? AND node_id = ?"
			  " AND state = 5 AND gen = ?",
			  "ttI", chunk_id, node_id, gen);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

int db_replica_retire(struct db *db, const char *node_id, const char *chunk_id)
{
	int64_t ok = 0;
	pthread_mutex_lock(&db->lock);
	int rc = dbq_begin(db);
	if (rc == PP_OK)
		rc = dbq_int(db, &ok,
			     "SELECT c.refcount <= 0 OR (SELECT count(*) FROM replicas r"
			     "  JOIN nodes n ON n.id = r.node_id WHERE r.chunk_id = c.id"
			     "  AND r.node_id != ?2 AND " POLICY_SQL_KEEPS ") >= c.replication"
			     " FROM chunks c WHERE c.id = ?1",
			     "tt", chunk_id, node_id);
	if (rc == PP_OK && !ok)
		rc = PP_ECONFLICT;
	if (rc == PP_OK)
		rc = dbq_exec(db,
			      "UPDATE replicas SET state = 5, updated_ms = 0 WHERE chunk_id = ?"
			      " AND node_id = ? AND state = 0",
			      "tt", chunk_id, node_id);
	if (rc == PP_OK && sqlite3_changes(db->conn) == 0)
		rc = PP_ENOTFOUND;
	if (rc == PP_OK)
		rc = dbq_commit(db);
	if (rc != PP_OK)
		dbq_rollback(db);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

/* Only chunks with more copies than their factor by the counters can have
 * more keeping copies. */
const char *const DB_SQL_SURPLUS =
	"SELECT c.id, '', c.size FROM chunks c WHERE c.refcount > 0 AND c.copies > c.replication"
	" AND " KEEPERS_OF_C " > c.replication LIMIT ?";

int db_surplus_chunks(struct db *db, size_t max, struct chunk_node **out, size_t *n)
{
	pthread_mutex_lock(&db->lock);
	int rc = dbq_pairs(db, out, n, max, DB_SQL_SURPLUS, "I", (uint64_t)max);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

int db_drained_replicas(struct db *db, size_t max, struct chunk_node **out, size_t *n)
{
	pthread_mutex_lock(&db->lock);
	int rc = dbq_pairs(db, out, n, max,
			   "SELECT d.chunk_id, d.node_id, c.size, d.gen FROM nodes dn CROSS"
			   " JOIN replicas d ON d.node_id = dn.id JOIN chunks c ON c.id = d.chunk_id"
			   " WHERE dn.draining = 1 AND d.state = 0 AND " KEEPERS_OF_C " >= c.replication",
			   NULL);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

int db_replicas_tidy(struct db *db, int64_t pending_cutoff_ms)
{
	pthread_mutex_lock(&db->lock);
	int rc = dbq_exec(db, "DELETE FROM replicas WHERE state = 4 AND updated_ms < ?", "i",
			  pending_cutoff_ms);
	if (rc == PP_OK)
		rc = dbq_exec(db,
			      "DELETE FROM replicas WHERE state = 3 AND chunk_id IN (SELECT c.id"
			      " FROM replicas q JOIN chunks c ON c.id = q.chunk_id WHERE q.state = 3"
			      " AND " HOLDERS_OF_C " >= c.replication)",
			      NULL);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

int db_balance_candidates(struct db *db, const char *from, const char *to, size_t max,
			  struct chunk_node **out, size_t *n)
{
	pthread_mutex_lock(&db->lock);
	int rc = dbq_pairs(db, out, n, max,
			   "SELECT r.chunk_id, r.node_id, c.size, r.gen FROM replicas r"
			   " JOIN chunks c ON c.id = r.chunk_id WHERE r.node_id = ?1 AND r.state = 0"
			   " AND r.extra = 0 AND c.refcount > 0 AND NOT EXISTS (SELECT 1 FROM replicas r2"
			   " WHERE r2.chunk_id = r.chunk_id AND r2.node_id = ?2)",
			   "tt", from, to);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

int db_plan(struct db *db, const char *sql, char *buf, size_t len)
{
	char plan_sql[2048];
	if (snprintf(plan_sql, sizeof(plan_sql), "EXPLAIN QUERY PLAN %s", sql) >= (int)sizeof(plan_sql))
		return PP_EINVAL;
	sqlite3_stmt *st;
	size_t used = 0;
	buf[0] = '\0';
	pthread_mutex_lock(&db->lock);
	int rc = dbq_exec(db, "CREATE TEMP TABLE IF NOT EXISTS garbage(id TEXT PRIMARY KEY)"
			  " WITHOUT ROWID", NULL);
	if (rc == PP_OK)
		rc = dbq_prep(db, &st, plan_sql, NULL);
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
	return rc;
}
