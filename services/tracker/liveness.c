/* Liveness: heartbeat receiver, pipe-event hook and the state machine; see
 * liveness.h. Two threads: `rx` receives heartbeats, `tick` evaluates every
 * node (woken at once by a pipe drop or a new node, else every 50 ms).
 * l->lock guards the node table; it is never held across the store or
 * network, so pipe callbacks (on nng's threads) stay short. */
#define _GNU_SOURCE
#include "liveness.h"
#include "errors.h"
#include "events.h"
#include "frame.h"
#include "log.h"
#include "pp/v1/bus.pb-c.h"
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
	int shown; /* last reported NodeState */
};

struct liveness {
	struct tracker *t;
	nng_socket sub;
	pthread_t rx, tick;
	pthread_mutex_t lock; /* guards nodes, n, cap, stopping */
	pthread_cond_t wake;
	struct lnode *nodes;
	size_t n, cap;
	bool stopping;
	int64_t last_refused_log;
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

bool node_placeable(const struct node_rec *r, int64_t now_wall_ms)
{
	return r->liveness == LIVE_UP && !r->draining && !r->disk_full &&
	       r->maintenance_until_ms <= now_wall_ms;
}

static struct lnode *find(struct liveness *l, const char *id)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->nodes[i].rec.id, id) == 0)
			return &l->nodes[i];
	return NULL;
}

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
	x->rec.liveness = LIVE_DEAD; /* until the tick sees its heartbeat */
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
			log_warn("heartbeat_refused", "reason=\"%s\" code=%s", why ? why : "?",
				 pp_err_name(rc));
		}
		return;
	}
	Pp__V1__Heartbeat *hb = pp__v1__heartbeat__unpack(NULL, v.pb_len, v.pb);
	if (hb == NULL) {
		log_warn("heartbeat_malformed", "bytes=%zu", v.pb_len);
		return;
	}
	if (!text_ok(hb->node_id, NODE_ID_MAX, false) || !text_ok(hb->address, NODE_ADDR_MAX, false) ||
	    !text_ok(hb->zone, NODE_ZONE_MAX, true)) {
		log_warn("heartbeat_refused", "reason=\"bad node id, address or zone\"");
		goto out;
	}
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
		x->rec.disk_full = hb->disk_full;
		x->rec.last_heartbeat_ms = time_wall_ms();
		x->last_hb_mono = time_mono_ms();
		x->pipe_id = pipe;
		x->dropped_mono = 0;
		wake = wake || x->rec.liveness != LIVE_UP;
	}
	if (wake)
		pthread_cond_signal(&l->wake);
	pthread_mutex_unlock(&l->lock);
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
 * likely). Mark it; the tick thread decides. */
static void on_pipe_removed(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	(void)ev;
	struct liveness *l = arg;
	uint32_t id = nng_pipe_id(p);
	pthread_mutex_lock(&l->lock);
	for (size_t i = 0; i < l->n; i++) {
		if (l->nodes[i].pipe_id == id) {
			l->nodes[i].dropped_mono = time_mono_ms();
			l->nodes[i].pipe_id = 0;
			pthread_cond_signal(&l->wake);
		}
	}
	pthread_mutex_unlock(&l->lock);
}

/* Lock held. The liveness the node should have now. */
static int evaluate(struct liveness *l, struct lnode *x, int64_t now, int64_t wall)
{
	const struct tracker_config *c = &l->t->cfg;
	bool maint = x->rec.maintenance_until_ms > wall;
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

static void *tick_main(void *arg)
{
	struct liveness *l = arg;
	int64_t last_save = time_mono_ms();
	for (;;) {
		pthread_mutex_lock(&l->lock);
		if (!l->stopping) {
			time_cond_wait_ms(&l->wake, &l->lock, TICK_MS);
		}
		if (l->stopping) {
			pthread_mutex_unlock(&l->lock);
			return NULL;
		}
		int64_t now = time_mono_ms(), wall = time_wall_ms();
		bool save_all = now - last_save >= SAVE_EVERY_MS;
		struct node_rec *changed = calloc(l->n ? l->n : 1, sizeof(*changed));
		int *was = calloc(l->n ? l->n : 1, sizeof(*was));
		size_t nc = 0;
		bool lost_holder = false;
		for (size_t i = 0; changed && was && i < l->n; i++) {
			struct lnode *x = &l->nodes[i];
			if (x->rec.maintenance_until_ms != 0 && x->rec.maintenance_until_ms <= wall) {
				log_info("maintenance_expired", "node=%s", x->rec.id);
				x->rec.maintenance_until_ms = 0;
			}
			int live = evaluate(l, x, now, wall);
			if (live == LIVE_DEAD && x->rec.liveness != LIVE_DEAD)
				lost_holder = true;
			x->rec.liveness = live;
			int shown = node_state_of(&x->rec, wall);
			if (shown != x->shown || save_all) {
				was[nc] = shown != x->shown ? x->shown : -2;
				changed[nc++] = x->rec;
				x->shown = shown;
			}
		}
		pthread_mutex_unlock(&l->lock);
		if (nc > 0)
			db_node_save(l->t->db, changed, nc);
		bool any = false;
		for (size_t i = 0; i < nc; i++) {
			if (was[i] == -2)
				continue;
			any = true;
			const char *state = node_state_name(node_state_of(&changed[i], wall));
			log_info("node_state", "node=%s state=%s was=%s address=%s", changed[i].id,
				 state, was[i] < 0 ? "new" : node_state_name(was[i]),
				 changed[i].address);
			events_node_state(l->t->events, changed[i].id, state);
		}
		if (any || lost_holder)
			repair_wake(l->t->repair);
		if (save_all)
			last_save = now;
		free(changed);
		free(was);
	}
}

int liveness_start(struct tracker *t, struct liveness **out)
{
	struct liveness *l = calloc(1, sizeof(*l));
	if (l == NULL)
		return PP_EINTERNAL;
	l->t = t;
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->wake, NULL);
	/* Nodes known from before a restart: give them a full suspect/dead
	 * window to heartbeat again before anything is repaired. */
	struct node_rec *recs = NULL;
	size_t n = 0;
	int64_t now = time_mono_ms();
	if (db_nodes_load(t->db, &recs, &n) == PP_OK) {
		for (size_t i = 0; i < n; i++) {
			struct lnode *x = add(l, recs[i].id);
			if (x == NULL)
				break;
			x->rec = recs[i];
			x->shown = node_state_of(&x->rec, time_wall_ms());
			x->last_hb_mono = x->rec.liveness == LIVE_DEAD ? now - (int64_t)t->cfg.dead_ms
								       : now;
			/* Nothing is known of a node until it heart-beats to this
			 * tracker: its copies must not count, or surplus trimming
			 * could delete live copies and keep one on a node that died
			 * while the tracker was down. */
			if (x->rec.liveness == LIVE_UP) {
				x->rec.liveness = LIVE_SUSPECT;
				db_node_save(t->db, &x->rec, 1);
			}
		}
	}
	free(recs);
	int rv = nng_sub0_open(&l->sub);
	if (rv == 0) {
		nng_socket_set_size(l->sub, NNG_OPT_RECVMAXSZ, HEARTBEAT_MAX_BYTES);
		nng_socket_set(l->sub, NNG_OPT_SUB_SUBSCRIBE, "", 0);
		nng_socket_set_int(l->sub, NNG_OPT_RECVBUF, 1024);
		nng_pipe_notify(l->sub, NNG_PIPE_EV_REM_POST, on_pipe_removed, l);
		rv = nng_listen(l->sub, t->cfg.bus_url, NULL, 0);
		if (rv != 0) {
			log_error("listen_failed", "address=%s what=bus err=\"%s\"", t->cfg.bus_url,
				  nng_strerror(rv));
			nng_close(l->sub);
		}
	}
	if (rv != 0) {
		free(l->nodes);
		free(l);
		return PP_EINVAL;
	}
	pthread_create(&l->rx, NULL, rx_main, l);
	pthread_create(&l->tick, NULL, tick_main, l);
	*out = l;
	return PP_OK;
}

void liveness_stop(struct liveness *l)
{
	if (l == NULL)
		return;
	pthread_mutex_lock(&l->lock);
	l->stopping = true;
	pthread_cond_signal(&l->wake);
	pthread_mutex_unlock(&l->lock);
	pthread_join(l->tick, NULL);
	nng_close(l->sub);
	pthread_join(l->rx, NULL);
	pthread_mutex_destroy(&l->lock);
	pthread_cond_destroy(&l->wake);
	free(l->nodes);
	free(l);
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

/* Applies an operator change to memory and the store at once, so repair and
 * placement see it before the reply goes out. */
static int admin_change(struct liveness *l, const char *id, int what, int64_t value)
{
	pthread_mutex_lock(&l->lock);
	struct lnode *x = find(l, id);
	struct node_rec copy;
	if (x) {
		if (what == 0)
			x->rec.draining = value != 0;
		else
			x->rec.maintenance_until_ms = value;
		copy = x->rec;
		pthread_cond_signal(&l->wake);
	}
	pthread_mutex_unlock(&l->lock);
	if (x == NULL)
		return PP_ENOTFOUND;
	int rc = db_node_save(l->t->db, &copy, 1);
	repair_wake(l->t->repair);
	return rc;
}

int liveness_set_draining(struct liveness *l, const char *id, bool on)
{
	return admin_change(l, id, 0, on);
}

int liveness_set_maintenance(struct liveness *l, const char *id, int64_t until_ms)
{
	return admin_change(l, id, 1, until_ms);
}
