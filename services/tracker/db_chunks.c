/* Chunks, replicas and nodes in the tracker's store.
 *
 * nodes.state holds the node's liveness (0 up, 1 suspect, 2 dead) so that
 * SQL can count "ok replicas on live nodes" in one statement; the liveness
 * module is the only writer of it. A replica row is (chunk, node) with state
 * ok/corrupt/pending; `extra` marks direct-access copies nobody placed. */
#define _GNU_SOURCE
#include "db_impl.h"
#include "errors.h"
#include "log.h"

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
		sqlite3_finalize(st);
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
	int rc = dbq_prep(db, &st, "SELECT node_id, state, extra FROM replicas WHERE chunk_id = ?",
			  "t", chunk_id);
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
	}
	if (st)
		sqlite3_finalize(st);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

int db_chunk_ok_up(struct db *db, const char *chunk_id, int *count)
{
	int64_t v = 0;
	pthread_mutex_lock(&db->lock);
	int rc = dbq_int(db, &v,
			 "SELECT count(*) FROM replicas r JOIN nodes n ON n.id = r.node_id"
			 " WHERE r.chunk_id = ? AND r.state = 0 AND n.state = 0",
			 "t", chunk_id);
	pthread_mutex_unlock(&db->lock);
	*count = (int)v;
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

int db_replica_added(struct db *db, const char *node_id, const char *chunk_id, uint32_t size,
		     int64_t now_ms, int64_t gc_after_ms)
{
	pthread_mutex_lock(&db->lock);
	int rc = dbq_begin(db);
	if (rc == PP_OK)
		rc = chunk_ensure(db, chunk_id, size, gc_after_ms);
	/* A copy counts as extra (a direct-access copy, never trimmed as
	 * surplus) when nobody asked for it (no pending row) and the chunk
	 * already had its full factor of ok replicas. */
	if (rc == PP_OK)
		rc = dbq_exec(db,
			      "INSERT INTO replicas(chunk_id, node_id, state, extra, updated_ms)"
			      " SELECT ?1, ?2, 0, (SELECT count(*) FROM replicas r JOIN nodes n"
			      "  ON n.id = r.node_id WHERE r.chunk_id = ?1 AND r.state = 0"
			      "  AND n.state = 0) >= c.replication AND c.refcount > 0, ?3"
			      " FROM chunks c WHERE c.id = ?1"
			      " ON CONFLICT(chunk_id, node_id) DO UPDATE SET state = 0,"
			      " updated_ms = excluded.updated_ms",
			      "tti", chunk_id, node_id, now_ms);
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
	int rc = dbq_exec(db,
			  "INSERT INTO replicas(chunk_id, node_id, state, extra, updated_ms)"
			  " VALUES (?, ?, 4, 0, ?) ON CONFLICT(chunk_id, node_id) DO NOTHING",
			  "tti", chunk_id, node_id, now_ms);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

int db_replica_set_state(struct db *db, const char *node_id, const char *chunk_id, int state)
{
	pthread_mutex_lock(&db->lock);
	int rc = dbq_exec(db, "UPDATE replicas SET state = ? WHERE chunk_id = ? AND node_id = ?",
			  "itt", (int64_t)state, chunk_id, node_id);
	if (rc == PP_OK && sqlite3_changes(db->conn) == 0)
		rc = PP_ENOTFOUND;
	pthread_mutex_unlock(&db->lock);
	return rc;
}

int db_replica_remove(struct db *db, const char *node_id, const char *chunk_id)
{
	pthread_mutex_lock(&db->lock);
	int rc = dbq_exec(db, "DELETE FROM replicas WHERE chunk_id = ? AND node_id = ?", "tt",
			  chunk_id, node_id);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

int db_inventory_reconcile(struct db *db, const char *node_id, char (*ids)[PP_SHA256_HEX],
			   const uint32_t *sizes, size_t n, int64_t since_ms, int64_t now_ms,
			   int64_t gc_after_ms, int *removed)
{
	sqlite3_stmt *ins = NULL, *rep = NULL;
	*removed = 0;
	pthread_mutex_lock(&db->lock);
	int rc = dbq_exec(db, "CREATE TEMP TABLE IF NOT EXISTS inv(id TEXT PRIMARY KEY) WITHOUT ROWID",
			  NULL);
	if (rc == PP_OK)
		rc = dbq_begin(db);
	if (rc == PP_OK)
		rc = dbq_exec(db, "DELETE FROM temp.inv", NULL);
	if (rc == PP_OK)
		rc = dbq_prep(db, &ins, "INSERT OR IGNORE INTO temp.inv(id) VALUES (?)", NULL);
	if (rc == PP_OK)
		rc = dbq_prep(db, &rep,
			      "INSERT INTO replicas(chunk_id, node_id, state, extra, updated_ms)"
			      " VALUES (?, ?, 0, 0, ?) ON CONFLICT(chunk_id, node_id) DO UPDATE"
			      " SET state = 0",
			      NULL);
	for (size_t i = 0; rc == PP_OK && i < n; i++) {
		sqlite3_bind_text(ins, 1, ids[i], -1, SQLITE_STATIC);
		if (sqlite3_step(ins) != SQLITE_DONE)
			rc = PP_EINTERNAL;
		sqlite3_reset(ins);
		if (rc == PP_OK)
			rc = chunk_ensure(db, ids[i], sizes[i], gc_after_ms);
		sqlite3_bind_text(rep, 1, ids[i], -1, SQLITE_STATIC);
		sqlite3_bind_text(rep, 2, node_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(rep, 3, now_ms);
		if (rc == PP_OK && sqlite3_step(rep) != SQLITE_DONE)
			rc = PP_EINTERNAL;
		sqlite3_reset(rep);
	}
	/* What the node no longer holds is forgotten (and so repaired), except
	 * rows recorded after the report began: the worker stored those since. */
	if (rc == PP_OK)
		rc = dbq_exec(db,
			      "DELETE FROM replicas WHERE node_id = ? AND updated_ms < ? AND state != 4"
			      " AND chunk_id NOT IN (SELECT id FROM temp.inv)",
			      "ti", node_id, since_ms);
	if (rc == PP_OK)
		*removed = sqlite3_changes(db->conn);
	if (rc == PP_OK)
		rc = dbq_exec(db, "DELETE FROM temp.inv", NULL);
	if (rc == PP_OK)
		rc = dbq_commit(db);
	if (rc != PP_OK)
		dbq_rollback(db);
	if (ins)
		sqlite3_finalize(ins);
	if (rep)
		sqlite3_finalize(rep);
	pthread_mutex_unlock(&db->lock);
	return rc;
}

int db_health(struct db *db, struct health_counts *out)
{
	sqlite3_stmt *st;
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&db->lock);
	int64_t v = 0;
	int rc = dbq_int(db, &v, "SELECT count(*) FROM files", NULL);
	out->files = (uint64_t)v;
	if (rc == PP_OK)
		rc = dbq_prep(db, &st,
			      "SELECT count(*), coalesce(sum(live < replication), 0),"
			      " coalesce(sum(alive = 0), 0) FROM (SELECT c.replication,"
			      " (SELECT count(*) FROM replicas r JOIN nodes n ON n.id = r.node_id"
			      "  WHERE r.chunk_id = c.id AND r.state = 0 AND n.state = 0) AS live,"
			      " (SELECT count(*) FROM replicas r JOIN nodes n ON n.id = r.node_id"
			      "  WHERE r.chunk_id = c.id AND r.state = 0 AND n.state < 2) AS alive"
			      " FROM chunks c WHERE c.refcount > 0)",
			      NULL);
	if (rc == PP_OK) {
		if (sqlite3_step(st) == SQLITE_ROW) {
			out->chunks = (uint64_t)sqlite3_column_int64(st, 0);
			out->under_replicated = (uint64_t)sqlite3_column_int64(st, 1);
			out->lost = (uint64_t)sqlite3_column_int64(st, 2);
		}
		sqlite3_finalize(st);
		rc = dbq_int(db, &v,
			     "SELECT coalesce(sum(c.size), 0) FROM replicas r JOIN chunks c"
			     " ON c.id = r.chunk_id JOIN nodes n ON n.id = r.node_id"
			     " WHERE r.state = 0 AND n.state = 0",
			     NULL);
		out->bytes_stored = (uint64_t)v;
	}
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
			      " state, last_heartbeat, maintenance_until, draining, disk_full)"
			      " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
		if (sqlite3_step(st) != SQLITE_DONE) {
			log_error("db_node_save_failed", "node=%s err=\"%s\"", r->id,
				  sqlite3_errmsg(db->conn));
			rc = PP_EINTERNAL;
		}
		sqlite3_reset(st);
	}
	if (st)
		sqlite3_finalize(st);
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
			  " maintenance_until, draining, disk_full FROM nodes ORDER BY id",
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
	}
	if (st)
		sqlite3_finalize(st);
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
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&db->lock);
	return rc;
}
