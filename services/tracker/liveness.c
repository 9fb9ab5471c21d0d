/* Liveness: heartbeat receiver, pipe-event hook and the state machine; see
 * liveness.h. The `rx` thread receives heartbeats; the evaluation loop runs
 * every 50 ms or at once when woken (a pipe drop, a new or returning node,
 * an operator change). l->lock guards the node table; it is never held
 * across the store or the network, so pipe callbacks (on nng's threads)
 * stay short. l->save_lock orders the loop's and operators' writes of
 * node rows, so the store never ends with an older record than memory. */
#define _GNU_SOURCE
#include "liveness.h"
#include "bgloop.h"
#include "errors.h"
#include "events.h"
#include "frame.h"
#include "gc.h"
#include "hash.h"
#include "log.h"
#include "policy.h"
#include "pp/v1/bus.pb-c.h"
#include "records.h"
#include "repair.h"
#include "timeutil.h"

#include <nng/protocol/pubsub0/sub.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TICK_MS 50
#define SAVE_EVERY_MS 2000
#define HEARTBEAT_MAX_BYTES 8192

struct lnode {
	struct node_rec rec;
	int64_t last_hb_mono;
	int64_t dropped_mono; /* bus pipe removed at; 0 = connected */
	uint32_t pipe_id;
	int shown;            /* last reported NodeState */
	unsigned saved_roles; /* roles last written to the store */
};

struct liveness {
	struct tracker *t;
	nng_socket sub;
	pthread_t rx;
	bool rx_running, closed; /* main thread's own */
	struct bgloop *tick;
	pthread_mutex_t lock; /* guards nodes, n, cap */
	pthread_mutex_t save_lock; /* held from evaluating to saving */
	struct lnode *nodes;
	size_t n, cap;
	int64_t started_mono;
	int64_t last_save_mono;   /* the loop's own */
	int64_t last_refused_log; /* rx thread's own */
};

int node_state_of(const struct node_rec *r, int64_t now_wall_ms)
{
	if (r->maintenance_until_ms > now_wall_ms)
		return PP__V1__NODE_STATE__NODE_MAINTENANCE;
	if (r->liveness == LIVE_DEAD)
		return PP__V1__NODE_STATE__NODE_DEAD;
	if (r->liveness == LIVE_SUSPECT)
		return PP__V1__NODE_STATE__NODE_SUSPECT;
	if (r->draining)
		return PP__V1__NODE_STATE__NODE_DRAINING;
	return PP__V1__NODE_STATE__NODE_UP;
}

const char *node_state_name(int s)
{
	static const char *const names[] = {"up", "suspect", "dead", "draining", "maintenance"};
	return s >= 0 && s < 5 ? names[s] : "unknown";
}

static struct lnode *find(struct liveness *l, const char *id)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->nodes[i].rec.id, id) == 0)
			return &l->nodes[i];
	return NULL;
}

/* Lock held. A node is never credited before the loop has evaluated it. */
static struct lnode *add(struct liveness *l, const char *id)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct lnode *g = realloc(l->nodes, cap * sizeof(*g));
		if (g == NULL)
			return NULL;
		l->nodes = g;
		l->cap = cap;
	}
	struct lnode *x = &l->nodes[l->n++];
	memset(x, 0, sizeof(*x));
	snprintf(x->rec.id, sizeof(x->rec.id), "%s", id);
	x->rec.liveness = LIVE_DEAD;
	x->shown = -1;
	return x;
}

static bool text_ok(const char *s, size_t max, bool allow_empty)
{
	size_t len = strlen(s);
	if ((!allow_empty && len == 0) || len >= max)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return false;
	return true;
}

static void on_heartbeat(struct liveness *l, nng_msg *m)
{
	struct frame_view v;
	const char *why = NULL;
	int rc = frame_open(m, &l->t->auth, true, &v, &why);
	if (rc != PP_OK) {
		int64_t now = time_mono_ms();
		if (now - l->last_refused_log >= 1000) {
			l->last_refused_log = now;
			log_warn("heartbeat_refused", "reason=%s code=%s", log_q(why ? why : "?"),
				 pp_err_name(rc));
		}
		return;
	}
	Pp__V1__Heartbeat *hb = pp__v1__heartbeat__unpack(NULL, v.pb_len, v.pb);
	if (hb == NULL) {
		log_warn("heartbeat_malformed", "bytes=%zu", v.pb_len);
		return;
	}
	if (node_id_check(hb->node_id) != NULL || !text_ok(hb->address, NODE_ADDR_MAX, false) ||
	    !text_ok(hb->zone, NODE_ZONE_MAX, true)) {
		log_warn("heartbeat_refused", "reason=\"bad node id, address or zone\"");
		goto out;
	}
	/* A worker that has seen a higher term has met a promoted tracker:
	 * this one was replaced and steps down before it changes anything. */
	struct tracker *t = l->t;
	for (uint64_t seen = atomic_load(&t->term_seen); hb->term > seen;)
		if (atomic_compare_exchange_weak(&t->term_seen, &seen, hb->term))
			break;
	if (hb->term > atomic_load(&t->term) && !atomic_exchange(&t->standby, true))
		log_error("tracker_demoted", "term=%llu worker=%s worker_term=%llu reason=\"another"
			  " tracker was promoted\"", (unsigned long long)atomic_load(&t->term),
			  log_q(hb->node_id), (unsigned long long)hb->term);
	uint32_t pipe = nng_pipe_id(nng_msg_get_pipe(m));
	pthread_mutex_lock(&l->lock);
	struct lnode *x = find(l, hb->node_id);
	bool wake = false;
	if (x == NULL) {
		x = add(l, hb->node_id);
		wake = true;
	}
	if (x != NULL) {
		snprintf(x->rec.address, sizeof(x->rec.address), "%s", hb->address);
		snprintf(x->rec.zone, sizeof(x->rec.zone), "%s", hb->zone[0] ? hb->zone : "default");
		x->rec.capacity = hb->capacity;
		x->rec.used = hb->used;
		x->rec.chunks = hb->chunks;
		x->rec.inflight = hb->inflight;
		x->rec.started_at_ms = hb->started_at_ms;
		wake = wake || x->rec.disk_full != hb->disk_full || !x->rec.heard ||
		       x->rec.liveness != LIVE_UP;
		x->rec.disk_full = hb->disk_full;
		x->rec.last_heartbeat_ms = time_wall_ms();
		x->rec.heard = true;
		x->last_hb_mono = time_mono_ms();
		x->pipe_id = pipe;
		x->dropped_mono = 0;
	}
	pthread_mutex_unlock(&l->lock);
	if (wake)
		bgloop_wake(l->tick);
out:
	pp__v1__heartbeat__free_unpacked(hb, NULL);
}

static void *rx_main(void *arg)
{
	struct liveness *l = arg;
	for (;;) {
		nng_msg *m;
		int rv = nng_recvmsg(l->sub, &m, 0);
		if (rv == NNG_ECLOSED)
			return NULL;
		if (rv != 0)
			continue;
		on_heartbeat(l, m);
		nng_msg_free(m);
	}
}

/* nng thread: a worker's bus connection went away (its process died, most
 * likely). Mark it; the loop decides. */
static void on_pipe_removed(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	(void)ev;
	struct liveness *l = arg;
	uint32_t id = nng_pipe_id(p);
	bool wake = false;
	pthread_mutex_lock(&l->lock);
	for (size_t i = 0; i < l->n; i++) {
		if (l->nodes[i].pipe_id == id) {
			l->nodes[i].dropped_mono = time_mono_ms();
			l->nodes[i].pipe_id = 0;
			wake = true;
		}
	}
	pthread_mutex_unlock(&l->lock);
	if (wake)
		bgloop_wake(l->tick);
}

/* Lock held. The liveness the node should have now. */
static int evaluate(struct liveness *l, struct lnode *x, int64_t now, int64_t wall)
{
	const struct tracker_config *c = &l->t->cfg;
	bool maint = x->rec.maintenance_until_ms > wall;
	if (!x->rec.heard) {
		/* Known only from the store: nothing it held is vouched for. */
		bool gone = x->rec.liveness == LIVE_DEAD ||
			    now - l->started_mono >= (int64_t)c->dead_ms;
		return gone && !maint ? LIVE_DEAD : LIVE_SUSPECT;
	}
	int64_t age = now - x->last_hb_mono;
	if (x->dropped_mono != 0 && x->last_hb_mono <= x->dropped_mono) {
		if (!maint && now - x->dropped_mono >= (int64_t)c->dead_grace_ms)
			return LIVE_DEAD;
		return x->rec.liveness == LIVE_DEAD && !maint ? LIVE_DEAD : LIVE_SUSPECT;
	}
	if (age >= (int64_t)c->dead_ms && !maint)
		return LIVE_DEAD;
	if (age >= (int64_t)c->suspect_ms)
		return x->rec.liveness == LIVE_DEAD && !maint ? LIVE_DEAD : LIVE_SUSPECT;
	return LIVE_UP;
}

/* Lock held. Re-evaluates node x; true when the store must hear of it. */
static bool reevaluate(struct liveness *l, struct lnode *x, int64_t now, int64_t wall)
{
	if (x->rec.maintenance_until_ms != 0 && x->rec.maintenance_until_ms <= wall) {
		log_info("maintenance_expired", "node=%s", x->rec.id);
		x->rec.maintenance_until_ms = 0;
	}
	x->rec.liveness = evaluate(l, x, now, wall);
	x->rec.roles = policy_node_roles(&x->rec, wall);
	return x->rec.roles != x->saved_roles || node_state_of(&x->rec, wall) != x->shown;
}

struct change {
	struct node_rec rec;
	int was;      /* NodeState before; -1 new; -2 unchanged (periodic save) */
	bool lost;    /* roles were taken away: repair and collection re-plan */
};

static int64_t tick_step(void *arg, struct bgloop *loop)
{
	(void)loop;
	struct liveness *l = arg;
	int64_t now = time_mono_ms(), wall = time_wall_ms();
	bool save_all = now - l->last_save_mono >= SAVE_EVERY_MS;
	pthread_mutex_lock(&l->save_lock);
	pthread_mutex_lock(&l->lock);
	struct change *ch = calloc(l->n ? l->n : 1, sizeof(*ch));
	size_t nc = 0;
	for (size_t i = 0; ch != NULL && i < l->n; i++) {
		struct lnode *x = &l->nodes[i];
		unsigned before = x->saved_roles;
		if (!reevaluate(l, x, now, wall) && !save_all)
			continue;
		int shown = node_state_of(&x->rec, wall);
		ch[nc].rec = x->rec;
		ch[nc].was = shown != x->shown ? x->shown : -2;
		ch[nc].lost = (before & ~x->rec.roles) != 0;
		nc++;
		x->shown = shown;
		x->saved_roles = x->rec.roles;
	}
	pthread_mutex_unlock(&l->lock);
	if (ch == NULL) {
		pthread_mutex_unlock(&l->save_lock);
		return TICK_MS;
	}
	if (save_all)
		l->last_save_mono = now;
	struct node_rec *recs = calloc(nc ? nc : 1, sizeof(*recs));
	for (size_t i = 0; recs != NULL && i < nc; i++)
		recs[i] = ch[i].rec;
	/* Saved before anyone is told, so no query credits the old roles. */
	if (recs != NULL && nc > 0)
		db_node_save(l->t->db, recs, nc);
	pthread_mutex_unlock(&l->save_lock);
	free(recs);
	bool changed = false;
	for (size_t i = 0; i < nc; i++) {
		changed = changed || ch[i].was != -2 || ch[i].lost;
		if (ch[i].was == -2)
			continue;
		const char *state = node_state_name(node_state_of(&ch[i].rec, wall));
		log_info("node_state", "node=%s state=%s was=%s heard=%d roles=%u address=%s",
			 ch[i].rec.id, state, ch[i].was < 0 ? "new" : node_state_name(ch[i].was),
			 (int)ch[i].rec.heard, ch[i].rec.roles, log_q(ch[i].rec.address));
		events_node_state(l->t->events, ch[i].rec.id, state);
	}
	free(ch);
	if (changed) {
		repair_wake(l->t->repair);
		gc_wake(l->t->gc);
		records_wake(l->t->records);
	}
	return TICK_MS;
}

int liveness_open(struct tracker *t, struct liveness **out)
{
	struct liveness *l = calloc(1, sizeof(*l));
	if (l == NULL)
		return PP_EINTERNAL;
	l->t = t;
	l->started_mono = l->last_save_mono = time_mono_ms();
	pthread_mutex_init(&l->lock, NULL);
	pthread_mutex_init(&l->save_lock, NULL);
	/* Nodes known from before a restart are suspect (or dead) until they
	 * heart-beat to this process, and their roles say so in the store
	 * before any other module reads it. */
	struct node_rec *recs = NULL;
	size_t n = 0;
	int64_t wall = time_wall_ms();
	if (db_nodes_load(t->db, &recs, &n) == PP_OK) {
		for (size_t i = 0; i < n; i++) {
			struct lnode *x = add(l, recs[i].id);
			if (x == NULL)
				break;
			x->rec = recs[i];
			x->rec.heard = false;
			x->rec.inflight = 0;
			x->rec.liveness = recs[i].liveness == LIVE_DEAD ? LIVE_DEAD : LIVE_SUSPECT;
			x->rec.roles = policy_node_roles(&x->rec, wall);
			x->saved_roles = x->rec.roles;
			x->shown = node_state_of(&x->rec, wall);
			recs[i] = x->rec;
		}
		if (n > 0 && db_node_save(t->db, recs, n) != PP_OK)
			log_error("nodes_reset_failed", "nodes=%zu", n);
	}
	free(recs);
	int rv = nng_sub0_open(&l->sub);
	if (rv == 0) {
		nng_socket_set_size(l->sub, NNG_OPT_RECVMAXSZ, HEARTBEAT_MAX_BYTES);
		nng_socket_set(l->sub, NNG_OPT_SUB_SUBSCRIBE, "", 0);
		nng_socket_set_int(l->sub, NNG_OPT_RECVBUF, 1024);
		rv = nng_listen(l->sub, t->cfg.bus_url, NULL, 0);
		if (rv != 0) {
			log_error("listen_failed", "address=%s what=bus err=%s", log_q(t->cfg.bus_url),
				  log_q(nng_strerror(rv)));
			nng_close(l->sub);
		}
	}
	if (rv != 0) {
		pthread_mutex_destroy(&l->save_lock);
		pthread_mutex_destroy(&l->lock);
		free(l->nodes);
		free(l);
		return PP_EINVAL;
	}
	*out = l;
	return PP_OK;
}

int liveness_run(struct liveness *l)
{
	if (bgloop_start("liveness", tick_step, l, &l->tick) != PP_OK)
		return PP_EINTERNAL;
	/* A drop before this is noticed by heartbeat age instead. */
	nng_pipe_notify(l->sub, NNG_PIPE_EV_REM_POST, on_pipe_removed, l);
	if (pthread_create(&l->rx, NULL, rx_main, l) != 0) {
		log_error("thread_start_failed", "thread=liveness_rx");
		return PP_EINTERNAL;
	}
	l->rx_running = true;
	return PP_OK;
}

void liveness_stop(struct liveness *l)
{
	if (l == NULL || l->closed)
		return;
	nng_close(l->sub); /* no more pipe callbacks once it returns */
	l->closed = true;
	if (l->rx_running)
		pthread_join(l->rx, NULL);
	l->rx_running = false;
	bgloop_stop(l->tick);
}

void liveness_free(struct liveness *l)
{
	if (l == NULL)
		return;
	liveness_stop(l);
	bgloop_free(l->tick);
	pthread_mutex_destroy(&l->save_lock);
	pthread_mutex_destroy(&l->lock);
	free(l->nodes);
	free(l);
}

bool liveness_settled(struct liveness *l)
{
	if (time_mono_ms() - l->started_mono >= (int64_t)l->t->cfg.dead_ms)
		return true;
	pthread_mutex_lock(&l->lock);
	bool settled = true;
	for (size_t i = 0; settled && i < l->n; i++)
		settled = l->nodes[i].rec.heard || l->nodes[i].rec.liveness == LIVE_DEAD;
	pthread_mutex_unlock(&l->lock);
	return settled;
}

int liveness_snapshot(struct liveness *l, struct node_rec **out, size_t *n)
{
	pthread_mutex_lock(&l->lock);
	*n = l->n;
	*out = calloc(l->n ? l->n : 1, sizeof(**out));
	if (*out != NULL)
		for (size_t i = 0; i < l->n; i++)
			(*out)[i] = l->nodes[i].rec;
	pthread_mutex_unlock(&l->lock);
	return *out ? PP_OK : PP_EINTERNAL;
}

int liveness_get(struct liveness *l, const char *id, struct node_rec *out)
{
	pthread_mutex_lock(&l->lock);
	struct lnode *x = find(l, id);
	if (x)
		*out = x->rec;
	pthread_mutex_unlock(&l->lock);
	return x ? PP_OK : PP_ENOTFOUND;
}

/* Applies an operator change to memory and the store at once (roles
 * included), so repair, collection and placement see it before the reply
 * goes out. */
static int admin_change(struct liveness *l, const char *id, bool draining_change, int64_t value)
{
	int64_t wall = time_wall_ms();
	pthread_mutex_lock(&l->save_lock);
	pthread_mutex_lock(&l->lock);
	struct lnode *x = find(l, id);
	struct node_rec copy;
	if (x) {
		if (draining_change)
			x->rec.draining = value != 0;
		else
			x->rec.maintenance_until_ms = value;
		x->rec.roles = policy_node_roles(&x->rec, wall);
		x->saved_roles = x->rec.roles;
		copy = x->rec;
	}
	pthread_mutex_unlock(&l->lock);
	int rc = x ? db_node_save(l->t->db, &copy, 1) : PP_ENOTFOUND;
	pthread_mutex_unlock(&l->save_lock);
	if (x == NULL)
		return PP_ENOTFOUND;
	bgloop_wake(l->tick);
	repair_wake(l->t->repair);
	gc_wake(l->t->gc);
	return rc;
}

int liveness_set_draining(struct liveness *l, const char *id, bool on)
{
	return admin_change(l, id, true, on);
}

int liveness_set_maintenance(struct liveness *l, const char *id, int64_t until_ms)
{
	return admin_change(l, id, false, until_ms);
}
