/* The collector thread; see gc.h. One pass every 500 ms or when woken. */
#define _GNU_SOURCE
#include "gc.h"
#include "db.h"
#include "errors.h"
#include "liveness.h"
#include "log.h"
#include "repair.h"
#include "rpc_client.h"
#include "timeutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GC_EVERY_MS 500
#define GC_BATCH 1000
#define DELETE_BATCH 512

struct gc {
	struct tracker *t;
	pthread_t thread;
	pthread_mutex_t lock; /* guards woken, stopping */
	pthread_cond_t cv;
	bool woken, stopping;
};

void gc_wake(struct gc *g)
{
	if (g == NULL)
		return;
	pthread_mutex_lock(&g->lock);
	g->woken = true;
	pthread_cond_signal(&g->cv);
	pthread_mutex_unlock(&g->lock);
}

static const struct node_rec *node_by_id(const struct node_rec *nodes, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(nodes[i].id, id) == 0)
			return &nodes[i];
	return NULL;
}

/* Sends delete_chunks for every (chunk, node) pair to live nodes, batched
 * per node. Dead nodes keep their copies; their next inventory reports them
 * as unknown and they are collected then. */
static void delete_pairs(struct gc *g, const struct chunk_node *p, size_t n,
			 const struct node_rec *nodes, size_t nn, const char *why)
{
	char **ids = calloc(DELETE_BATCH, sizeof(*ids));
	bool *sent = calloc(n ? n : 1, sizeof(*sent));
	if (ids == NULL || sent == NULL)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (sent[i])
			continue;
		const struct node_rec *nd = node_by_id(nodes, nn, p[i].node_id);
		size_t k = 0;
		for (size_t j = i; j < n && k < DELETE_BATCH; j++) {
			if (!sent[j] && strcmp(p[j].node_id, p[i].node_id) == 0) {
				sent[j] = true;
				ids[k++] = (char *)p[j].chunk_id;
			}
		}
		if (nd == NULL || nd->liveness == LIVE_DEAD)
			continue;
		Pp__V1__Request req = PP__V1__REQUEST__INIT;
		Pp__V1__DeleteChunksRequest dc = PP__V1__DELETE_CHUNKS_REQUEST__INIT;
		dc.n_chunk_ids = k;
		dc.chunk_ids = ids;
		req.body_case = PP__V1__REQUEST__BODY_DELETE_CHUNKS;
		req.delete_chunks = &dc;
		struct rpc_reply rep;
		int rc = rpc_call(g->t->peers, nd->address, &g->t->auth, &req, NULL, 0,
				  RPC_TIMEOUT_SHORT_MS, &rep);
		if (rc == PP_OK)
			log_info("chunks_deleted", "node=%s chunks=%zu why=%s", nd->id, k, why);
		else
			log_warn("delete_chunks_failed", "node=%s chunks=%zu err=\"%s\"", nd->id, k,
				 rpc_reply_error(&rep, rc));
		rpc_reply_free(&rep);
		/* pairs past DELETE_BATCH for this node go out from their own index */
	}
out:
	free(ids);
	free(sent);
}

/* For one surplus chunk: drop replicas until it holds exactly its factor,
 * taking them from the zone with the most copies, then the fullest node. */
static void trim_chunk(struct gc *g, const char *chunk_id, const struct node_rec *nodes,
		       size_t nn)
{
	struct chunk_rec c;
	struct replica_rec *reps = NULL;
	size_t nr = 0;
	if (repair_chunk_busy(g->t->repair, chunk_id) || db_chunk_get(g->t->db, chunk_id, &c) != PP_OK ||
	    db_chunk_replicas(g->t->db, chunk_id, &reps, &nr) != PP_OK)
		return;
	const struct node_rec **keep = calloc(nr + 1, sizeof(*keep));
	struct chunk_node *drop = calloc(nr + 1, sizeof(*drop));
	size_t nk = 0, nd = 0;
	if (keep == NULL || drop == NULL)
		goto out;
	for (size_t i = 0; i < nr; i++) {
		const struct node_rec *n = node_by_id(nodes, nn, reps[i].node_id);
		if (n && reps[i].state == REPLICA_ST_OK && !reps[i].extra && n->liveness == LIVE_UP &&
		    !n->draining)
			keep[nk++] = n;
	}
	while (nk > c.replication) {
		size_t victim = 0;
		int best_zone = -1;
		double best_fill = -1;
		for (size_t i = 0; i < nk; i++) {
			int same = 0;
			for (size_t j = 0; j < nk; j++)
				same += strcmp(keep[i]->zone, keep[j]->zone) == 0;
			double fill = keep[i]->capacity ? (double)keep[i]->used / (double)keep[i]->capacity
							: 0;
			if (same > best_zone || (same == best_zone && fill > best_fill)) {
				best_zone = same;
				best_fill = fill;
				victim = i;
			}
		}
		snprintf(drop[nd].chunk_id, sizeof(drop[nd].chunk_id), "%s", chunk_id);
		snprintf(drop[nd].node_id, sizeof(drop[nd].node_id), "%s", keep[victim]->id);
		nd++;
		keep[victim] = keep[--nk];
	}
	for (size_t i = 0; i < nd; i++)
		db_replica_remove(g->t->db, drop[i].node_id, chunk_id);
	delete_pairs(g, drop, nd, nodes, nn, "surplus");
out:
	free(keep);
	free(drop);
	free(reps);
}

static void gc_pass(struct gc *g)
{
	struct tracker *t = g->t;
	int64_t now = time_wall_ms(), grace_ms = (int64_t)t->cfg.gc_grace_s * 1000;
	int expired = 0;
	if (db_uploads_expire(t->db, now - grace_ms, &expired) == PP_OK && expired > 0)
		log_info("uploads_expired", "count=%d", expired);
	struct node_rec *nodes = NULL;
	size_t nn = 0;
	if (liveness_snapshot(t->live, &nodes, &nn) != PP_OK)
		return;
	struct chunk_node *p = NULL;
	size_t n = 0;
	if (db_gc_collect(t->db, now, GC_BATCH, &p, &n) == PP_OK && n > 0)
		delete_pairs(g, p, n, nodes, nn, "unreferenced");
	free(p);
	p = NULL;
	if (db_surplus_chunks(t->db, GC_BATCH, &p, &n) == PP_OK)
		for (size_t i = 0; i < n; i++)
			trim_chunk(g, p[i].chunk_id, nodes, nn);
	free(p);
	p = NULL;
	if (db_drained_replicas(t->db, GC_BATCH, &p, &n) == PP_OK && n > 0) {
		for (size_t i = 0; i < n; i++)
			db_replica_remove(t->db, p[i].node_id, p[i].chunk_id);
		delete_pairs(g, p, n, nodes, nn, "drained");
	}
	free(p);
	db_replicas_tidy(t->db, now - grace_ms);
	free(nodes);
}

static void *gc_main(void *arg)
{
	struct gc *g = arg;
	for (;;) {
		pthread_mutex_lock(&g->lock);
		if (!g->woken && !g->stopping) {
			time_cond_wait_ms(&g->cv, &g->lock, GC_EVERY_MS);
		}
		bool stop = g->stopping;
		g->woken = false;
		pthread_mutex_unlock(&g->lock);
		if (stop)
			return NULL;
		gc_pass(g);
	}
}

int gc_start(struct tracker *t, struct gc **out)
{
	struct gc *g = calloc(1, sizeof(*g));
	if (g == NULL)
		return PP_EINTERNAL;
	g->t = t;
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->cv, NULL);
	pthread_create(&g->thread, NULL, gc_main, g);
	*out = g;
	return PP_OK;
}

void gc_stop(struct gc *g)
{
	if (g == NULL)
		return;
	pthread_mutex_lock(&g->lock);
	g->stopping = true;
	pthread_cond_signal(&g->cv);
	pthread_mutex_unlock(&g->lock);
	pthread_join(g->thread, NULL);
	pthread_mutex_destroy(&g->lock);
	pthread_cond_destroy(&g->cv);
	free(g);
}
