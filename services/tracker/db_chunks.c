/* Chunks, replicas, nodes and health in the tracker's store.
 *
 * nodes.state holds the node's liveness (0 up, 1 suspect, 2 dead) and
 * nodes.roles what policy.h says the node is good for, so that SQL counts
 * copies by the same rule as C; the liveness module is their only writer. A
 * replica row is one copy (chunk, node, gen): see db.h for its states. */
#define _GNU_SOURCE
#include "db_impl.h"
#include "errors.h"
#include "log.h"
#include "policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int db_chunk_get(struct db *db, const char *chunk_id, struct chunk_rec *out)
{
	sqlite3_stmt *st;
	pthread_mutex_lock(&db->lock);
	int rc = dbq_prep(db, &st, "SELECT size, replication FROM chunks WHERE id = ?", "t",
			  chunk_id);
	if (rc == PP_OK) {
		if (sqlite3_step(st) == SQLITE_ROW) {
			memset(out, 0, sizeof(*out));
			snprintf(out->id, sizeof(out->id), "%s", chunk_id);
			out->size = (uint32_t)sqlite3_column_int64(st, 0);
			out->replication = (uint32_t)sqlite3_column_int(st, 1);
		} else {
			rc = PP_ENOTFOUND;
		}
		dbq_release(db, st);
	}
	pthread_mutex_unlock(&db->lock);
	return rc;
}

int db_chunk_replicas(struct db *db, const char *chunk_id, struct replica_rec **out, size_t *n)
{
	sqlite3_stmt *st;
	size_t cap = 0;
	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&db->lock);
	int rc = dbq_prep(db, &st,
			  "SELECT node_id, state, extra, gen FROM replicas WHERE chunk_id = ?", "t",
			  chunk_id);
	while (rc == PP_OK && sqlite3_step(st) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			struct replica_rec *g = realloc(*out, cap * sizeof(**out));
			if (g == NULL) {
				rc = PP_EINTERNAL;
				break;
			}
			*out = g;
		}
		struct replica_rec *r = &(*out)[(*n)++];
		dbq_copy(r->node_id, sizeof(r->node_id), st, 0);
		r->state = sqlite3_column_int(st, 1);
		r->extra = sqlite3_column_int(st, 2) != 0;
		r->gen = (uint64_t)sqlite3_column_int64(st, 3);
	}
	if (st)
		dbq_release(db, st);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

/* Lock held. A chunk row for an id nobody placed: garbage unless a commit
 * references it before gc_after_ms. */
static int chunk_ensure(struct db *db, const char *chunk_id, uint32_t size, int64_t gc_after_ms)
{
	return dbq_exec(db,
			"INSERT INTO chunks(id, size, refcount, replication, gc_after_ms)"
			" VALUES (?, ?, 0, 0, ?) ON CONFLICT(id) DO NOTHING",
			"tii", chunk_id, (int64_t)size, gc_after_ms);
}

/* Lock held. Records copy ref on node_id unless the row already names a
 * newer copy, or this very copy is corrupt or being deleted. */
static int replica_upsert(struct db *db, const char *node_id, const struct copy_ref *ref,
			  int64_t now_ms)
{
	return dbq_exec(db,
			"INSERT INTO replicas(chunk_id, node_id, state, extra, updated_ms, gen)"
			" VALUES (?1, ?2, 0, ?3, ?4, ?5) ON CONFLICT(chunk_id, node_id) DO UPDATE"
			" SET state = 0, extra = excluded.extra, gen = excluded.gen,"
			" updated_ms = excluded.updated_ms"
			" WHERE excluded.gen > replicas.gen"
			" OR (excluded.gen = replicas.gen AND replicas.state = 0)",
			"ttiiI", ref->id, node_id, (int64_t)ref->extra, now_ms, ref->gen);
}

/* Lock held. Every replica row's node has a nodes row (no roles until it
 * heart-beats), so the counters' queries find its copies by node. */
static int node_ensure(struct db *db, const char *node_id)
{
	return dbq_exec(db,
			"INSERT INTO nodes(id, address, zone, capacity, used, chunks, state,"
			" last_heartbeat, roles) VALUES (?, '', 'default', 0, 0, 0, 2, 0, 0)"
			" ON CONFLICT(id) DO NOTHING",
			"t", node_id);
}

int db_replica_added(struct db *db, const char *node_id, const struct copy_ref *ref,
		     int64_t now_ms, int64_t gc_after_ms)
{
	return db_replicas_added(db, node_id, ref, 1, now_ms, gc_after_ms);
}

int db_replicas_added(struct db *db, const char *node_id, const struct copy_ref *refs, size_t n,
		      int64_t now_ms, int64_t gc_after_ms)
{
	pthread_mutex_lock(&db->lock);
	int rc = dbq_begin(db);
	if (rc == PP_OK)
		rc = node_ensure(db, node_id);
	for (size_t i = 0; i < n && rc == PP_OK; i++) {
		rc = chunk_ensure(db, refs[i].id, refs[i].size, gc_after_ms);
		if (rc == PP_OK)
			rc = replica_upsert(db, node_id, &refs[i], now_ms);
	}
	if (rc == PP_OK)
		rc = dbq_commit(db);
	if (rc != PP_OK)
		dbq_rollback(db);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

int db_replica_pending(struct db *db, const char *node_id, const char *chunk_id, int64_t now_ms)
{
	pthread_mutex_lock(&db->lock);
	int rc = dbq_exec(db, DB_SQL_REPLICA_PENDING, "tti", chunk_id, node_id, now_ms);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

int db_replica_corrupt(struct db *db, const char *node_id, const char *chunk_id, uint64_t gen)
{
	pthread_mutex_lock(&db->lock);
	int rc = dbq_exec(db,
			  "UPDATE replicas SET state = 3 WHERE chunk_id = ? AND node_id = ?"
			  " AND state = 0 AND (? = 0 OR gen = ?)",
			  "ttII", chunk_id, node_id, gen, gen);
	if (rc == PP_OK && sqlite3_changes(db->conn) == 0)
		rc = PP_ENOTFOUND;
	pthread_mutex_unlock(&db->lock);
	return rc;
}

/* Lock held: PP_ECONFLICT when a later snapshot of the node was reconciled. */
static int inventory_seq_check(struct db *db, const char *node_id, uint64_t snapshot_seq)
{
	int64_t seen = 0;
	int rc = dbq_int(db, &seen, "SELECT seq FROM inventory_seq WHERE node_id = ?", "t", node_id);
	if (rc == PP_ENOTFOUND)
		return PP_OK;
	if (rc == PP_OK && snapshot_seq < (uint64_t)seen)
		return PP_ECONFLICT;
	return rc;
}

int db_inventory_reconcile(struct db *db, const char *node_id, const struct copy_ref *refs,
			   size_t n, uint64_t snapshot_seq, int64_t now_ms, int64_t gc_after_ms,
			   int *removed)
{
	sqlite3_stmt *ins = NULL;
	*removed = 0;
	pthread_mutex_lock(&db->lock);
	int rc = dbq_exec(db, "CREATE TEMP TABLE IF NOT EXISTS inv(id TEXT PRIMARY KEY,"
			  " gen INTEGER NOT NULL) WITHOUT ROWID", NULL);
	if (rc == PP_OK)
		rc = dbq_begin(db);
	if (rc == PP_OK)
		rc = inventory_seq_check(db, node_id, snapshot_seq);
	if (rc == PP_OK)
		rc = node_ensure(db, node_id);
	if (rc == PP_OK)
		rc = dbq_exec(db, "DELETE FROM temp.inv", NULL);
	if (rc == PP_OK)
		rc = dbq_prep(db, &ins, "INSERT OR REPLACE INTO temp.inv(id, gen) VALUES (?, ?)", NULL);
	for (size_t i = 0; rc == PP_OK && i < n; i++) {
		sqlite3_bind_text(ins, 1, refs[i].id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(ins, 2, (int64_t)refs[i].gen);
		if (sqlite3_step(ins) != SQLITE_DONE)
			rc = PP_EINTERNAL;
		sqlite3_reset(ins);
		if (rc == PP_OK)
			rc = chunk_ensure(db, refs[i].id, refs[i].size, gc_after_ms);
		if (rc == PP_OK)
			rc = replica_upsert(db, node_id, &refs[i], now_ms);
	}
	/* Copies the node no longer held at the snapshot are forgotten (and so
	 * repaired); rows with a gen above it were stored since and stay. */
	if (rc == PP_OK)
		rc = dbq_exec(db,
			      "DELETE FROM replicas WHERE node_id = ?1 AND state = 0 AND gen <= ?2"
			      " AND chunk_id NOT IN (SELECT id FROM temp.inv)",
			      "tI", node_id, snapshot_seq);
	if (rc == PP_OK)
		*removed = sqlite3_changes(db->conn);
	/* Tombstones and corrupt rows whose copy is gone: resolved. */
	if (rc == PP_OK)
		rc = dbq_exec(db,
			      "DELETE FROM replicas WHERE node_id = ?1 AND state IN (3, 5, 6)"
			      " AND gen <= ?2 AND NOT EXISTS (SELECT 1 FROM temp.inv i"
			      "  WHERE i.id = replicas.chunk_id AND i.gen = replicas.gen)",
			      "tI", node_id, snapshot_seq);
	if (rc == PP_OK)
		rc = dbq_exec(db,
			      "INSERT INTO inventory_seq(node_id, seq) VALUES (?1, ?2)"
			      " ON CONFLICT(node_id) DO UPDATE SET seq = excluded.seq",
			      "tI", node_id, snapshot_seq);
	if (rc == PP_OK)
		rc = dbq_exec(db, "DELETE FROM temp.inv", NULL);
	if (rc == PP_OK)
		rc = dbq_commit(db);
	if (rc != PP_OK)
		dbq_rollback(db);
	if (ins)
		dbq_release(db, ins);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

/* Chunks with enough copies by the counters that still lack holders
 * (policy.h): only chunks with a copy on a node that is not a holder can. */
const char *const DB_SQL_DEGRADED_SHORT =
	"SELECT count(*) FROM chunks c WHERE c.refcount > 0 AND c.copies >= c.replication"
	" AND c.id IN (SELECT r.chunk_id FROM nodes n CROSS JOIN replicas r ON r.node_id = n.id"
	"  WHERE (n.roles & 4) = 0 AND r.state = 0 AND r.extra = 0)"
	" AND (SELECT count(*) FROM replicas r JOIN nodes n ON n.id = r.node_id"
	"  WHERE r.chunk_id = c.id AND " POLICY_SQL_HOLDS ") < c.replication";
/* Chunks with an ok copy by the counters, all on nodes that are not alive. */
const char *const DB_SQL_DEGRADED_LOST =
	"SELECT count(*) FROM chunks c WHERE c.refcount > 0 AND c.copies_any > 0"
	" AND c.id IN (SELECT r.chunk_id FROM nodes n CROSS JOIN replicas r ON r.node_id = n.id"
	"  WHERE (n.roles & 1) = 0 AND r.state = 0)"
	" AND (SELECT count(*) FROM replicas r JOIN nodes n ON n.id = r.node_id"
	"  WHERE r.chunk_id = c.id AND " POLICY_SQL_ALIVE ") = 0";

int db_health(struct db *db, struct health_counts *out)
{
	sqlite3_stmt *st;
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&db->lock);
	int rc = dbq_prep(db, &st, "SELECT files, chunks, short, none, bytes FROM stats WHERE k = 0",
			  NULL);
	if (rc == PP_OK) {
		if (sqlite3_step(st) == SQLITE_ROW) {
			out->files = (uint64_t)sqlite3_column_int64(st, 0);
			out->chunks = (uint64_t)sqlite3_column_int64(st, 1);
			out->under_replicated = (uint64_t)sqlite3_column_int64(st, 2);
			out->lost = (uint64_t)sqlite3_column_int64(st, 3);
			out->bytes_stored = (uint64_t)sqlite3_column_int64(st, 4);
		}
		dbq_release(db, st);
	}
	/* What depends on node roles, counted over the degraded nodes' copies
	 * only (nothing at all when every node is up). */
	int64_t v = 0;
	if (rc == PP_OK)
		rc = dbq_int(db, &v, DB_SQL_DEGRADED_SHORT, NULL);
	out->under_replicated += (uint64_t)v;
	if (rc == PP_OK)
		rc = dbq_int(db, &v, DB_SQL_DEGRADED_LOST, NULL);
	out->lost += (uint64_t)v;
	pthread_mutex_unlock(&db->lock);
	return rc;
}

int db_node_save(struct db *db, const struct node_rec *nodes, size_t n)
{
	sqlite3_stmt *st = NULL;
	pthread_mutex_lock(&db->lock);
	int rc = dbq_begin(db);
	if (rc == PP_OK)
		rc = dbq_prep(db, &st,
			      "INSERT OR REPLACE INTO nodes(id, address, zone, capacity, used, chunks,"
			      " state, last_heartbeat, maintenance_until, draining, disk_full, roles)"
			      " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			      NULL);
	for (size_t i = 0; rc == PP_OK && i < n; i++) {
		const struct node_rec *r = &nodes[i];
		sqlite3_bind_text(st, 1, r->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, r->address, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, r->zone, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, (int64_t)r->capacity);
		sqlite3_bind_int64(st, 5, (int64_t)r->used);
		sqlite3_bind_int64(st, 6, (int64_t)r->chunks);
		sqlite3_bind_int(st, 7, r->liveness);
		sqlite3_bind_int64(st, 8, r->last_heartbeat_ms);
		sqlite3_bind_int64(st, 9, r->maintenance_until_ms);
		sqlite3_bind_int(st, 10, r->draining);
		sqlite3_bind_int(st, 11, r->disk_full);
		sqlite3_bind_int(st, 12, (int)r->roles);
		if (sqlite3_step(st) != SQLITE_DONE) {
			log_error("db_node_save_failed", "node=%s err=%s", r->id,
				  log_q(sqlite3_errmsg(db->conn)));
			rc = PP_EINTERNAL;
		}
		sqlite3_reset(st);
	}
	if (st)
		dbq_release(db, st);
	if (rc == PP_OK)
		rc = dbq_commit(db);
	if (rc != PP_OK)
		dbq_rollback(db);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

int db_nodes_load(struct db *db, struct node_rec **out, size_t *n)
{
	sqlite3_stmt *st;
	size_t cap = 0;
	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&db->lock);
	int rc = dbq_prep(db, &st,
			  "SELECT id, address, zone, capacity, used, chunks, state, last_heartbeat,"
			  " maintenance_until, draining, disk_full, roles FROM nodes ORDER BY id",
			  NULL);
	while (rc == PP_OK && sqlite3_step(st) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			struct node_rec *g = realloc(*out, cap * sizeof(**out));
			if (g == NULL) {
				rc = PP_EINTERNAL;
				break;
			}
			*out = g;
		}
		struct node_rec *r = &(*out)[(*n)++];
		memset(r, 0, sizeof(*r));
		dbq_copy(r->id, sizeof(r->id), st, 0);
		dbq_copy(r->address, sizeof(r->address), st, 1);
		dbq_copy(r->zone, sizeof(r->zone), st, 2);
		r->capacity = (uint64_t)sqlite3_column_int64(st, 3);
		r->used = (uint64_t)sqlite3_column_int64(st, 4);
		r->chunks = (uint64_t)sqlite3_column_int64(st, 5);
		r->liveness = sqlite3_column_int(st, 6);
		r->last_heartbeat_ms = sqlite3_column_int64(st, 7);
		r->maintenance_until_ms = sqlite3_column_int64(st, 8);
		r->draining = sqlite3_column_int(st, 9) != 0;
		r->disk_full = sqlite3_column_int(st, 10) != 0;
		r->roles = (unsigned)sqlite3_column_int(st, 11);
	}
	if (st)
		dbq_release(db, st);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

int db_node_usage(struct db *db, const char *node_id, uint64_t *chunks, uint64_t *bytes)
{
	sqlite3_stmt *st;
	*chunks = *bytes = 0;
	pthread_mutex_lock(&db->lock);
	int rc = dbq_prep(db, &st,
			  "SELECT count(*), coalesce(sum(c.size), 0) FROM replicas r JOIN chunks c"
			  " ON c.id = r.chunk_id WHERE r.node_id = ? AND r.state = 0",
			  "t", node_id);
	if (rc == PP_OK) {
		if (sqlite3_step(st) == SQLITE_ROW) {
			*chunks = (uint64_t)sqlite3_column_int64(st, 0);
			*bytes = (uint64_t)sqlite3_column_int64(st, 1);
		}
		dbq_release(db, st);
	}
	pthread_mutex_unlock(&db->lock);
	return rc;
}
