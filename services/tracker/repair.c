/* Repair planner and dispatch pool; see repair.h.
 *
 * r->lock guards the task queue, the in-flight table and the statistics.
 * The planner (a background loop) never holds it across the store or the
 * network. A flight is recorded before its task is queued and removed only
 * when the transfer has finished, so per-node limits count queued and
 * running transfers alike. Which copy counts, may be read or may receive is
 * policy.h's rule. */
#define _GNU_SOURCE
#include "repair.h"
#include "bgloop.h"
#include "db.h"
#include "errors.h"
#include "events.h"
#include "handlers.h"
#include "liveness.h"
#include "log.h"
#include "placement.h"
#include "policy.h"
#include "rpc_client.h"
#include "timeutil.h"
#include "workq.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DISPATCH_THREADS 16
/* Tasks queued beyond the threads; per-node limits keep it far below. */
#define DISPATCH_QUEUE_MAX 4096
#define PLAN_BATCH 2048
#define PLAN_IDLE_MS 1000
#define PLAN_BUSY_MS 100
#define MAX_SOURCES 4
#define RATE_WINDOW_MS 3000
#define PROGRESS_EVERY_MS 500
#define HEALTH_EVERY_MS 2000

struct flight {
	char chunk_id[PP_SHA256_HEX];
	char target[NODE_ID_MAX];
	char source[NODE_ID_MAX];
	bool move;
};

struct task {
	char chunk_id[PP_SHA256_HEX];
	uint32_t size;
	char target[NODE_ID_MAX];
	char target_addr[NODE_ADDR_MAX];
	char sources[MAX_SOURCES][NODE_ADDR_MAX];
	int n_sources;
	char move_from[NODE_ID_MAX]; /* "" = repair; else retire its copy after */
};

struct rate_sample {
	int64_t t_ms;
	uint64_t bytes;
};

struct repair {
	struct tracker *t;
	struct bgloop *planner;
	struct workq *dispatch; /* tasks, run by DISPATCH_THREADS */
	pthread_mutex_t lock;   /* guards everything below */
	struct flight *flights;
	size_t n_flights, cap_flights;
	uint64_t copies_left, bytes_left, done, bytes_done;
	struct rate_sample samples[64];
	size_t n_samples;
	/* the planner's own */
	int64_t last_progress_ms, last_health_ms;
	bool was_active;
};

void repair_wake(struct repair *r)
{
	if (r != NULL)
		bgloop_wake(r->planner);
}

/* Lock held. Transfers touching node (as source or target). */
static uint32_t node_load(struct repair *r, const char *node)
{
	uint32_t k = 0;
	for (size_t i = 0; i < r->n_flights; i++)
		if (strcmp(r->flights[i].target, node) == 0 || strcmp(r->flights[i].source, node) == 0)
			k++;
	return k;
}

static bool chunk_busy_locked(struct repair *r, const char *chunk_id)
{
	for (size_t i = 0; i < r->n_flights; i++)
		if (strcmp(r->flights[i].chunk_id, chunk_id) == 0)
			return true;
	return false;
}

bool repair_chunk_busy(struct repair *r, const char *chunk_id)
{
	pthread_mutex_lock(&r->lock);
	bool busy = chunk_busy_locked(r, chunk_id);
	pthread_mutex_unlock(&r->lock);
	return busy;
}

/* Lock held: record the flight and queue the task (ownership taken when
 * PP_OK; on failure the caller still owns it). */
static int flight_add(struct repair *r, struct task *tk, const char *source)
{
	if (r->n_flights == r->cap_flights) {
		size_t cap = r->cap_flights ? r->cap_flights * 2 : 64;
		struct flight *g = realloc(r->flights, cap * sizeof(*g));
		if (g == NULL)
			return PP_EINTERNAL;
		r->flights = g;
		r->cap_flights = cap;
	}
	struct flight *f = &r->flights[r->n_flights++];
	snprintf(f->chunk_id, sizeof(f->chunk_id), "%s", tk->chunk_id);
	snprintf(f->target, sizeof(f->target), "%s", tk->target);
	snprintf(f->source, sizeof(f->source), "%s", source);
	f->move = tk->move_from[0] != '\0';
	if (workq_push(r->dispatch, tk) != PP_OK) {
		r->n_flights--; /* full or stopping: the planner tries again */
		return PP_EUNAVAIL;
	}
	return PP_OK;
}

static void flight_remove(struct repair *r, const struct task *tk)
{
	for (size_t i = 0; i < r->n_flights; i++) {
		struct flight *f = &r->flights[i];
		if (strcmp(f->chunk_id, tk->chunk_id) == 0 && strcmp(f->target, tk->target) == 0) {
			r->flights[i] = r->flights[--r->n_flights];
			return;
		}
	}
}

static void run_task(struct repair *r, struct task *tk)
{
	struct tracker *t = r->t;
	Pp__V1__Request req = PP__V1__REQUEST__INIT;
	Pp__V1__PullChunkRequest pc = PP__V1__PULL_CHUNK_REQUEST__INIT;
	char *srcs[MAX_SOURCES];
	for (int i = 0; i < tk->n_sources; i++)
		srcs[i] = tk->sources[i];
	pc.chunk_id = tk->chunk_id;
	pc.n_sources = (size_t)tk->n_sources;
	pc.sources = srcs;
	pc.size = tk->size;
	req.body_case = PP__V1__REQUEST__BODY_PULL_CHUNK;
	req.pull_chunk = &pc;
	TRACKER_STAMP(t, &req);
	int64_t t0 = time_mono_ms();
	struct rpc_reply rep;
	int rc = rpc_call(t->peers, tk->target_addr, &t->auth, &req, NULL, 0, RPC_TIMEOUT_DATA_MS,
			  &rep);
	if (rc == PP_OK) {
		/* The target registered its copy before answering. A move then
		 * retires the source copy, if the policy agrees at this moment;
		 * the collector sends the delete. */
		if (tk->move_from[0] && db_replica_retire(t->db, tk->move_from, tk->chunk_id) != PP_OK)
			log_info("move_source_kept", "chunk=%s node=%s reason=\"chunk would fall below"
				 " its factor\"", tk->chunk_id, tk->move_from);
		log_debug("repair_copied", "chunk=%s target=%s bytes=%u ms=%lld move=%d",
			  tk->chunk_id, log_q(tk->target), tk->size, (long long)(time_mono_ms() - t0),
			  tk->move_from[0] != '\0');
	} else {
		log_warn("repair_failed", "chunk=%s target=%s err=%s", tk->chunk_id, log_q(tk->target),
			 log_q(rpc_reply_error(&rep, rc)));
	}
	rpc_reply_free(&rep);
	pthread_mutex_lock(&r->lock);
	flight_remove(r, tk);
	if (rc == PP_OK) {
		r->done++;
		r->bytes_done += tk->size;
		if (r->n_samples == sizeof(r->samples) / sizeof(r->samples[0])) {
			memmove(r->samples, r->samples + 1, (r->n_samples - 1) * sizeof(r->samples[0]));
			r->n_samples--;
		}
		r->samples[r->n_samples++] = (struct rate_sample){time_mono_ms(), tk->size};
	}
	pthread_mutex_unlock(&r->lock);
	bgloop_wake(r->planner);
}

static void dispatch(void *arg, void *item)
{
	run_task(arg, item);
	free(item);
}

static void drop_task(void *arg, void *item)
{
	(void)arg;
	free(item);
}

static const struct node_rec *node_by_id(const struct node_rec *nodes, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(nodes[i].id, id) == 0)
			return &nodes[i];
	return NULL;
}

/* Plans one copy of need->id; true when a transfer was queued. The target
 * is a node holding a readable extra copy when one can receive (it claims
 * that copy: no bytes move), else the placement's choice among the nodes
 * with no row for the chunk. */
static bool plan_one(struct repair *r, const struct repair_need *need,
		     const struct node_rec *nodes, size_t nn, int64_t wall)
{
	struct replica_rec *reps = NULL;
	size_t nr = 0;
	bool queued = false;
	uint32_t limit = (uint32_t)r->t->cfg.repair_per_node;
	if (db_chunk_replicas(r->t->db, need->id, &reps, &nr) != PP_OK)
		return false;
	const char **exclude = calloc(nr + 1, sizeof(*exclude));
	const char **zones = calloc(nr + 1, sizeof(*zones));
	bool *skip = calloc(nn + 1, sizeof(*skip));
	struct task *tk = calloc(1, sizeof(*tk));
	const struct node_rec *src_nodes[MAX_SOURCES];
	const struct node_rec *claim = NULL;
	size_t nz = 0, ns = 0, ne = 0;
	if (!exclude || !zones || !skip || !tk)
		goto out;
	pthread_mutex_lock(&r->lock);
	for (size_t i = 0; i < nr; i++) {
		const struct node_rec *nd = node_by_id(nodes, nn, reps[i].node_id);
		/* A tombstone's node may receive the chunk again (as a new gen). */
		if (reps[i].state != REPLICA_ST_DELETING && reps[i].state != REPLICA_ST_GONE)
			exclude[ne++] = reps[i].node_id;
		if (nd == NULL)
			continue;
		if (policy_copy_holds(reps[i].state, reps[i].extra, nd->roles))
			zones[nz++] = nd->zone;
		if (!policy_copy_readable(reps[i].state, nd->roles) || node_load(r, nd->id) >= limit)
			continue;
		if (reps[i].extra && claim == NULL && (nd->roles & ROLE_TARGET))
			claim = nd;
		if (ns < MAX_SOURCES)
			src_nodes[ns++] = nd;
	}
	for (size_t i = 0; i < nn; i++)
		skip[i] = node_load(r, nodes[i].id) >= limit;
	pthread_mutex_unlock(&r->lock);
	if (ns == 0)
		goto out; /* lost, or every holder is busy: next pass */
	const struct node_rec *target = claim;
	if (target == NULL) {
		size_t pick;
		if (placement_choose(need->id, need->size, nodes, nn, exclude, ne, zones, nz, skip,
				     1, &pick) != PP_OK)
			goto out;
		target = &nodes[pick];
	}
	snprintf(tk->chunk_id, sizeof(tk->chunk_id), "%s", need->id);
	tk->size = need->size;
	snprintf(tk->target, sizeof(tk->target), "%s", target->id);
	snprintf(tk->target_addr, sizeof(tk->target_addr), "%s", target->address);
	/* least busy holder first */
	for (size_t i = 0; i < ns; i++)
		for (size_t k = i + 1; k < ns; k++)
			if (src_nodes[k]->inflight < src_nodes[i]->inflight) {
				const struct node_rec *x = src_nodes[i];
				src_nodes[i] = src_nodes[k];
				src_nodes[k] = x;
			}
	for (size_t i = 0; i < ns; i++)
		if (src_nodes[i] != target)
			snprintf(tk->sources[tk->n_sources++], NODE_ADDR_MAX, "%s",
				 src_nodes[i]->address);
	if (claim == NULL)
		db_replica_pending(r->t->db, tk->target, tk->chunk_id, wall);
	pthread_mutex_lock(&r->lock);
	if (!chunk_busy_locked(r, tk->chunk_id) &&
	    flight_add(r, tk, ns > 0 && src_nodes[0] != target ? src_nodes[0]->id : target->id) ==
		    PP_OK) {
		queued = true;
		tk = NULL;
	}
	pthread_mutex_unlock(&r->lock);
out:
	free(tk);
	free(reps);
	free(exclude);
	free(zones);
	free(skip);
	return queued;
}

int repair_submit_move(struct repair *r, const char *chunk_id, uint32_t size,
		       const char *from_id, const char *to_id)
{
	struct node_rec from, to;
	if (liveness_get(r->t->live, from_id, &from) != PP_OK ||
	    liveness_get(r->t->live, to_id, &to) != PP_OK)
		return PP_ENOTFOUND;
	struct task *tk = calloc(1, sizeof(*tk));
	if (tk == NULL)
		return PP_EINTERNAL;
	snprintf(tk->chunk_id, sizeof(tk->chunk_id), "%s", chunk_id);
	tk->size = size;
	snprintf(tk->target, sizeof(tk->target), "%s", to.id);
	snprintf(tk->target_addr, sizeof(tk->target_addr), "%s", to.address);
	snprintf(tk->sources[0], NODE_ADDR_MAX, "%s", from.address);
	tk->n_sources = 1;
	snprintf(tk->move_from, sizeof(tk->move_from), "%s", from.id);
	uint32_t limit = (uint32_t)r->t->cfg.repair_per_node;
	int rc = PP_ECONFLICT;
	pthread_mutex_lock(&r->lock);
	if (!chunk_busy_locked(r, chunk_id) && node_load(r, from.id) < limit &&
	    node_load(r, to.id) < limit) {
		rc = flight_add(r, tk, from.id);
		if (rc == PP_OK)
			tk = NULL;
	}
	pthread_mutex_unlock(&r->lock);
	free(tk);
	return rc;
}

void repair_stats_get(struct repair *r, struct repair_stats *out)
{
	memset(out, 0, sizeof(*out));
	int64_t now = time_mono_ms();
	pthread_mutex_lock(&r->lock);
	uint32_t moves = 0;
	for (size_t i = 0; i < r->n_flights; i++)
		moves += r->flights[i].move;
	out->moves_in_flight = moves;
	out->in_flight = (uint32_t)r->n_flights;
	uint32_t repairs = out->in_flight - moves;
	out->queued = r->copies_left > repairs ? r->copies_left - repairs : 0;
	out->done = r->done;
	out->bytes_done = r->bytes_done;
	out->bytes_left = r->bytes_left;
	uint64_t win = 0;
	int64_t oldest = now;
	for (size_t i = 0; i < r->n_samples; i++)
		if (now - r->samples[i].t_ms <= RATE_WINDOW_MS) {
			win += r->samples[i].bytes;
			if (r->samples[i].t_ms < oldest)
				oldest = r->samples[i].t_ms;
		}
	pthread_mutex_unlock(&r->lock);
	int64_t span = now - oldest;
	if (win > 0)
		out->rate_bps = (double)win * 1000.0 / (double)(span > 250 ? span : 250);
	if (out->bytes_left > 0 && out->rate_bps > 0)
		out->eta_s = (double)out->bytes_left / out->rate_bps;
}

/* One planning pass: the queue is derived from the store each time. */
static int64_t planner_step(void *arg, struct bgloop *loop)
{
	(void)loop;
	struct repair *r = arg;
	struct repair_need *needs = NULL;
	size_t n = 0;
	uint64_t copies = 0, bytes = 0;
	struct node_rec *nodes = NULL;
	size_t nn = 0;
	/* Until nodes known from before a restart had their chance to come
	 * back, what they hold is neither trusted nor copied again; a standby
	 * repairs nothing. */
	bool settled = liveness_settled(r->t->live) && !atomic_load(&r->t->standby);
	if (db_repair_needs(r->t->db, PLAN_BATCH, &needs, &n, &copies, &bytes) == PP_OK &&
	    liveness_snapshot(r->t->live, &nodes, &nn) == PP_OK) {
		pthread_mutex_lock(&r->lock);
		r->copies_left = copies;
		r->bytes_left = bytes;
		pthread_mutex_unlock(&r->lock);
		int64_t wall = time_wall_ms();
		size_t planned = 0;
		for (size_t i = 0; settled && i < n; i++) {
			if (repair_chunk_busy(r, needs[i].id))
				continue;
			planned += plan_one(r, &needs[i], nodes, nn, wall);
		}
		if (planned > 0)
			log_info("repair_planned", "transfers=%zu copies_left=%llu bytes_left=%llu",
				 planned, (unsigned long long)copies, (unsigned long long)bytes);
	}
	free(needs);
	free(nodes);

	struct repair_stats s;
	repair_stats_get(r, &s);
	bool active = s.queued > 0 || s.in_flight > 0;
	int64_t now = time_mono_ms();
	if ((active || r->was_active) && now - r->last_progress_ms >= PROGRESS_EVERY_MS) {
		Pp__V1__Health h = PP__V1__HEALTH__INIT;
		if (tracker_health(r->t, &h) == PP_OK)
			events_health(r->t->events, "repair_progress", &h);
		r->last_progress_ms = now;
		r->was_active = active;
	}
	if (now - r->last_health_ms >= HEALTH_EVERY_MS) {
		Pp__V1__Health h = PP__V1__HEALTH__INIT;
		if (tracker_health(r->t, &h) == PP_OK)
			events_health(r->t->events, "health", &h);
		r->last_health_ms = now;
	}
	return copies > 0 ? PLAN_BUSY_MS : PLAN_IDLE_MS;
}

int repair_start(struct tracker *t, struct repair **out)
{
	struct repair *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return PP_EINTERNAL;
	r->t = t;
	pthread_mutex_init(&r->lock, NULL);
	if (workq_start("repair_dispatch", DISPATCH_THREADS, DISPATCH_QUEUE_MAX, dispatch, drop_task, r,
			&r->dispatch) != PP_OK) {
		repair_free(r);
		return PP_EINTERNAL;
	}
	/* The planner reads t->repair (through tracker_health): publish first. */
	*out = r;
	if (bgloop_start("repair", planner_step, r, &r->planner) != PP_OK) {
		*out = NULL;
		repair_free(r);
		return PP_EINTERNAL;
	}
	return PP_OK;
}

void repair_stop(struct repair *r)
{
	if (r == NULL)
		return;
	bgloop_stop(r->planner);
	workq_stop(r->dispatch);
}

void repair_free(struct repair *r)
{
	if (r == NULL)
		return;
	repair_stop(r);
	bgloop_free(r->planner);
	workq_free(r->dispatch);
	free(r->flights);
	pthread_mutex_destroy(&r->lock);
	free(r);
}
