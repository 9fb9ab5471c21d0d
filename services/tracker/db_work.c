/* Queries behind the tracker's background work: repair needs, garbage,
 * surplus, drained replicas and balance candidates.
 *
 * Everything here is derived from the store on each pass (nothing is kept
 * only in memory), so repair and collection resume after a tracker restart.
 * For repair, a copy counts only on a node that is up (or in planned
 * maintenance): a suspect node's copies are re-made at once rather than
 * after the dead grace, as MooseFS does on a lost connection; should the
 * node come back, its surplus copies are trimmed. */
#define _GNU_SOURCE
#include "db_impl.h"
#include "errors.h"
#include "log.h"
#include "timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	int rc = dbq_prep(db, &st,
			  "SELECT id, size, replication, live FROM (SELECT c.id, c.size, c.replication,"
			  " (SELECT count(*) FROM replicas r JOIN nodes n ON n.id = r.node_id"
			  "  WHERE r.chunk_id = c.id AND r.state = 0"
			  "  AND (n.state = 0 OR n.maintenance_until > ?1)"
			  "  AND n.draining = 0) AS live"
			  " FROM chunks c WHERE c.refcount > 0) WHERE live < replication"
			  " ORDER BY live, id",
			  "i", time_wall_ms());
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
		sqlite3_finalize(st);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

int db_gc_collect(struct db *db, int64_t now_ms, size_t max, struct chunk_node **out, size_t *n)
{
	pthread_mutex_lock(&db->lock);
	int rc = dbq_begin(db);
	if (rc == PP_OK)
		rc = dbq_exec(db, "CREATE TEMP TABLE IF NOT EXISTS garbage(id TEXT PRIMARY KEY)"
				  " WITHOUT ROWID", NULL);
	if (rc == PP_OK)
		rc = dbq_exec(db, "DELETE FROM temp.garbage", NULL);
	if (rc == PP_OK)
		rc = dbq_exec(db,
			      "INSERT INTO temp.garbage SELECT c.id FROM chunks c WHERE c.refcount <= 0"
			      " AND c.gc_after_ms <= ? AND NOT EXISTS (SELECT 1 FROM upload_chunks uc"
			      " WHERE uc.chunk_id = c.id) LIMIT ?",
			      "iI", now_ms, (uint64_t)max);
	if (rc == PP_OK)
		rc = dbq_pairs(db, out, n, SIZE_MAX,
			       "SELECT r.chunk_id, r.node_id FROM replicas r WHERE r.chunk_id IN"
			       " (SELECT id FROM temp.garbage)",
			       NULL);
	if (rc == PP_OK)
		rc = dbq_exec(db, "DELETE FROM chunks WHERE id IN (SELECT id FROM temp.garbage)",
			      NULL);
	if (rc == PP_OK)
		rc = dbq_exec(db, "DELETE FROM temp.garbage", NULL);
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

int db_surplus_chunks(struct db *db, size_t max, struct chunk_node **out, size_t *n)
{
	pthread_mutex_lock(&db->lock);
	int rc = dbq_pairs(db, out, n, max,
			   "SELECT r.chunk_id, '', c.size FROM replicas r"
			   " JOIN nodes n ON n.id = r.node_id JOIN chunks c ON c.id = r.chunk_id"
			   " WHERE r.state = 0 AND r.extra = 0 AND n.state = 0 AND n.draining = 0"
			   " AND c.refcount > 0 GROUP BY r.chunk_id HAVING count(*) > c.replication",
			   NULL);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

int db_drained_replicas(struct db *db, size_t max, struct chunk_node **out, size_t *n)
{
	pthread_mutex_lock(&db->lock);
	int rc = dbq_pairs(db, out, n, max,
			   "SELECT r.chunk_id, r.node_id, c.size FROM nodes n"
			   " JOIN replicas r ON r.node_id = n.id JOIN chunks c ON c.id = r.chunk_id"
			   " WHERE n.draining = 1 AND (SELECT count(*) FROM replicas r2"
			   "  JOIN nodes n2 ON n2.id = r2.node_id WHERE r2.chunk_id = r.chunk_id"
			   "  AND r2.state = 0 AND n2.state = 0 AND n2.draining = 0) >= c.replication",
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
			      " FROM chunks c WHERE (SELECT count(*) FROM replicas r2 JOIN nodes n2"
			      " ON n2.id = r2.node_id WHERE r2.chunk_id = c.id AND r2.state = 0"
			      " AND n2.state = 0) >= c.replication) ",
			      NULL);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

int db_balance_candidates(struct db *db, const char *from, const char *to, size_t max,
			  struct chunk_node **out, size_t *n)
{
	pthread_mutex_lock(&db->lock);
	int rc = dbq_pairs(db, out, n, max,
			   "SELECT r.chunk_id, r.node_id, c.size FROM replicas r"
			   " JOIN chunks c ON c.id = r.chunk_id WHERE r.node_id = ?1 AND r.state = 0"
			   " AND c.refcount > 0 AND NOT EXISTS (SELECT 1 FROM replicas r2"
			   " WHERE r2.chunk_id = r.chunk_id AND r2.node_id = ?2)",
			   "tt", from, to);
	pthread_mutex_unlock(&db->lock);
	return rc;
}
