/* The collector loop; see gc.h. One pass every 500 ms or when woken. */
#define _GNU_SOURCE
#include "gc.h"
#include "bgloop.h"
#include "db.h"
#include "errors.h"
#include "liveness.h"
#include "log.h"
#include "policy.h"
#include "records.h"
#include "repair.h"
#include "rpc_client.h"
#include "timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GC_EVERY_MS 500
#define GC_BATCH 1000
#define DELETE_BATCH 512
/* A delete not acknowledged (node slow, restarting) goes again after this. */
#define DELETE_RESEND_MS 10000

struct gc {
	struct tracker *t;
	struct bgloop *loop;
};

void gc_wake(struct gc *g)
{
	if (g != NULL)
		bgloop_wake(g->loop);
}

static const struct node_rec *node_by_id(const struct node_rec *nodes, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(nodes[i].id, id) == 0)
			return &nodes[i];
	return NULL;
}

/* One delete_chunks to node nd for copies p[0..k) (all on nd); records the
 * acknowledged ones. */
static void send_deletes(struct gc *g, const struct node_rec *nd, const struct chunk_node *p,
			 size_t k)
{
	char *ids[DELETE_BATCH];
	uint64_t gens[DELETE_BATCH];
	for (size_t i = 0; i < k; i++) {
		ids[i] = (char *)p[i].chunk_id;
		gens[i] = p[i].gen;
	}
	Pp__V1__Request req = PP__V1__REQUEST__INIT;
	Pp__V1__DeleteChunksRequest dc = PP__V1__DELETE_CHUNKS_REQUEST__INIT;
	dc.n_chunk_ids = k;
	dc.chunk_ids = ids;
	dc.n_gens = k;
	dc.gens = gens;
	req.body_case = PP__V1__REQUEST__BODY_DELETE_CHUNKS;
	req.delete_chunks = &dc;
	TRACKER_STAMP(g->t, &req);
	struct rpc_reply rep;
	int rc = rpc_call(g->t->peers, nd->address, &g->t->auth, &req, NULL, 0, RPC_TIMEOUT_SHORT_MS,
			  &rep);
	size_t acked = 0;
	if (rc == PP_OK && rep.resp->body_case == PP__V1__RESPONSE__BODY_DELETE_CHUNKS &&
	    rep.resp->delete_chunks->n_gone == k) {
		for (size_t i = 0; i < k; i++) {
			if (!rep.resp->delete_chunks->gone[i])
				continue;
			db_delete_acked(g->t->db, nd->id, p[i].chunk_id, p[i].gen);
			acked++;
		}
		log_info("chunks_deleted", "node=%s chunks=%zu acknowledged=%zu", nd->id, k, acked);
	} else {
		log_warn("delete_chunks_failed", "node=%s chunks=%zu err=%s", nd->id, k,
			 log_q(rpc_reply_error(&rep, rc != PP_OK ? rc : PP_EINTERNAL)));
	}
	rpc_reply_free(&rep);
}

/* Sends every delete that is due, batched per node (the list is ordered by
 * node). */
static void deletes_send_due(struct gc *g, const struct node_rec *nodes, size_t nn)
{
	struct chunk_node *p = NULL;
	size_t n = 0;
	int64_t now = time_wall_ms();
	if (db_deletes_due(g->t->db, now, now - DELETE_RESEND_MS, GC_BATCH, &p, &n) != PP_OK)
		return;
	for (size_t i = 0; i < n;) {
		size_t k = 1;
		while (i + k < n && k < DELETE_BATCH && strcmp(p[i + k].node_id, p[i].node_id) == 0)
			k++;
		const struct node_rec *nd = node_by_id(nodes, nn, p[i].node_id);
		if (nd != NULL)
			send_deletes(g, nd, p + i, k);
		i += k;
	}
	free(p);
}

/* For one surplus chunk: retire keeping copies until it holds exactly its
 * factor, taking them from the zone with the most copies, then the fullest
 * node. The store re-checks the policy for each one (db_replica_retire). */
static int trim_chunk(struct gc *g, const char *chunk_id, const struct node_rec *nodes, size_t nn)
{
	struct chunk_rec c;
	struct replica_rec *reps = NULL;
	size_t nr = 0;
	int retired = 0;
	if (repair_chunk_busy(g->t->repair, chunk_id) || db_chunk_get(g->t->db, chunk_id, &c) != PP_OK ||
	    db_chunk_replicas(g->t->db, chunk_id, &reps, &nr) != PP_OK)
		return 0;
	const struct node_rec **keep = calloc(nr + 1, sizeof(*keep));
	size_t nk = 0;
	if (keep == NULL)
		goto out;
	for (size_t i = 0; i < nr; i++) {
		const struct node_rec *n = node_by_id(nodes, nn, reps[i].node_id);
		if (n && policy_copy_keeps(reps[i].state, reps[i].extra, n->roles))
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
		if (db_replica_retire(g->t->db, keep[victim]->id, chunk_id) == PP_OK) {
			log_info("surplus_retired", "chunk=%s node=%s", chunk_id, keep[victim]->id);
			retired++;
		}
		keep[victim] = keep[--nk];
	}
out:
	free(keep);
	free(reps);
	return retired;
}

static int64_t gc_step(void *arg, struct bgloop *loop)
{
	(void)loop;
	struct gc *g = arg;
	struct tracker *t = g->t;
	if (atomic_load(&t->standby))
		return GC_EVERY_MS; /* the primary collects */
	int64_t now = time_wall_ms(), grace_ms = (int64_t)t->cfg.gc_grace_s * 1000;
	int expired = 0, retired = 0, dropped = 0;
	if (db_uploads_expire(t->db, now - grace_ms, &expired) == PP_OK && expired > 0)
		log_info("uploads_expired", "count=%d", expired);
	/* Unreferenced chunks wait while some live node's metadata records are
	 * unread: one of them may be what references them. */
	if (!records_reading(t->records) &&
	    db_gc_collect(t->db, now, GC_BATCH, &retired, &dropped) == PP_OK &&
	    (retired > 0 || dropped > 0))
		log_info("garbage_collected", "copies=%d chunks=%d", retired, dropped);
	struct node_rec *nodes = NULL;
	size_t nn = 0;
	if (liveness_snapshot(t->live, &nodes, &nn) != PP_OK)
		return GC_EVERY_MS;
	struct chunk_node *p = NULL;
	size_t n = 0;
	if (db_surplus_chunks(t->db, GC_BATCH, &p, &n) == PP_OK)
		for (size_t i = 0; i < n; i++)
			trim_chunk(g, p[i].chunk_id, nodes, nn);
	free(p);
	p = NULL;
	if (db_drained_replicas(t->db, GC_BATCH, &p, &n) == PP_OK)
		for (size_t i = 0; i < n; i++)
			if (db_replica_retire(t->db, p[i].node_id, p[i].chunk_id) == PP_OK)
				log_debug("drained_retired", "chunk=%s node=%s", p[i].chunk_id,
					  p[i].node_id);
	free(p);
	deletes_send_due(g, nodes, nn);
	db_replicas_tidy(t->db, now - grace_ms);
	free(nodes);
	return GC_EVERY_MS;
}

int gc_start(struct tracker *t, struct gc **out)
{
	struct gc *g = calloc(1, sizeof(*g));
	if (g == NULL)
		return PP_EINTERNAL;
	g->t = t;
	if (bgloop_start("gc", gc_step, g, &g->loop) != PP_OK) {
		free(g);
		return PP_EINTERNAL;
	}
	*out = g;
	return PP_OK;
}

void gc_stop(struct gc *g)
{
	if (g != NULL)
		bgloop_stop(g->loop);
}

void gc_free(struct gc *g)
{
	if (g == NULL)
		return;
	bgloop_free(g->loop);
	free(g);
}
