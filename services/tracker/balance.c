/* The balancer loop; see balance.h. Once a second it compares the fullest
 * keeping worker and the emptiest one that may receive (policy.h) and, when
 * they differ by more than the spread, queues moves through the repair
 * pool. It waits for the previous moves to finish (and heartbeats to show
 * their effect) before planning more, so it cannot overshoot. */
#define _GNU_SOURCE
#include "balance.h"
#include "bgloop.h"
#include "db.h"
#include "errors.h"
#include "liveness.h"
#include "log.h"
#include "policy.h"
#include "repair.h"
#include "timeutil.h"

#include <stdlib.h>
#include <string.h>

#define BALANCE_EVERY_MS 1000

struct balance {
	struct tracker *t;
	struct bgloop *loop;
};

static double fill(const struct node_rec *n)
{
	return (double)n->used / (double)n->capacity;
}

/* Moving from `from` to `to` must not shrink the chunk's zone spread. */
static bool keeps_spread(struct tracker *t, const char *chunk_id, const struct node_rec *from,
			 const struct node_rec *to, const struct node_rec *nodes, size_t nn)
{
	if (strcmp(from->zone, to->zone) == 0)
		return true;
	struct replica_rec *reps = NULL;
	size_t nr = 0;
	bool ok = true;
	if (db_chunk_replicas(t->db, chunk_id, &reps, &nr) != PP_OK)
		return false;
	for (size_t i = 0; i < nr && ok; i++)
		for (size_t k = 0; k < nn; k++)
			if (strcmp(nodes[k].id, reps[i].node_id) == 0 &&
			    strcmp(nodes[k].zone, to->zone) == 0)
				ok = false;
	free(reps);
	return ok;
}

static int64_t balance_step(void *arg, struct bgloop *loop)
{
	(void)loop;
	struct balance *b = arg;
	struct tracker *t = b->t;
	struct repair_stats s;
	repair_stats_get(t->repair, &s);
	if (s.queued > 0 || s.in_flight > 0 || !liveness_settled(t->live) ||
	    atomic_load(&t->standby))
		return BALANCE_EVERY_MS;
	struct node_rec *nodes = NULL;
	size_t nn = 0;
	if (liveness_snapshot(t->live, &nodes, &nn) != PP_OK)
		return BALANCE_EVERY_MS;
	const struct node_rec *full = NULL, *empty = NULL;
	for (size_t i = 0; i < nn; i++) {
		const struct node_rec *n = &nodes[i];
		if (n->capacity == 0 || !(n->roles & ROLE_KEEPER))
			continue;
		if (full == NULL || fill(n) > fill(full))
			full = n;
		if ((n->roles & ROLE_TARGET) && (empty == NULL || fill(n) < fill(empty)))
			empty = n;
	}
	if (full == NULL || empty == NULL || full == empty ||
	    fill(full) - fill(empty) <= t->cfg.balance_spread)
		goto out;
	/* Bytes that would bring the two halfway together, in chunks. */
	double gap = (fill(full) - fill(empty)) / 2.0;
	uint64_t want_bytes = (uint64_t)(gap * (double)(full->capacity < empty->capacity
								 ? full->capacity
								 : empty->capacity));
	struct chunk_node *cands = NULL;
	size_t nc = 0, moved = 0;
	uint64_t bytes = 0;
	if (db_balance_candidates(t->db, full->id, empty->id, t->cfg.repair_per_node * 4, &cands,
				  &nc) != PP_OK)
		goto out;
	for (size_t i = 0; i < nc && bytes < want_bytes && moved < t->cfg.repair_per_node; i++) {
		if (empty->capacity - empty->used < (uint64_t)cands[i].size + bytes ||
		    !keeps_spread(t, cands[i].chunk_id, full, empty, nodes, nn))
			continue;
		if (repair_submit_move(t->repair, cands[i].chunk_id, cands[i].size, full->id,
				       empty->id) == PP_OK) {
			moved++;
			bytes += cands[i].size;
		}
	}
	if (moved)
		log_info("balance_moves", "from=%s to=%s chunks=%zu bytes=%llu fill_from=%.3f"
			 " fill_to=%.3f", log_q(full->id), log_q(empty->id), moved, (unsigned long long)bytes,
			 fill(full), fill(empty));
	free(cands);
out:
	free(nodes);
	return BALANCE_EVERY_MS;
}

int balance_start(struct tracker *t, struct balance **out)
{
	struct balance *b = calloc(1, sizeof(*b));
	if (b == NULL)
		return PP_EINTERNAL;
	b->t = t;
	if (bgloop_start("balance", balance_step, b, &b->loop) != PP_OK) {
		free(b);
		return PP_EINTERNAL;
	}
	*out = b;
	return PP_OK;
}

void balance_stop(struct balance *b)
{
	if (b != NULL)
		bgloop_stop(b->loop);
}

void balance_free(struct balance *b)
{
	if (b == NULL)
		return;
	bgloop_free(b->loop);
	free(b);
}
