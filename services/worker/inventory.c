/* The worker's link to one tracker; see inventory.h (DESIGN.md, "Flows":
 * Inventory; "Services start in any order").
 *
 * One background loop owns every unsolicited call to the tracker, so the
 * data path (reads failing over on a corrupt copy) never waits on a slow or
 * absent tracker. `lock` guards wanted and the corrupt-report queue; the
 * connection state belongs to the loop. */
#define _GNU_SOURCE
#include "inventory.h"
#include "errors.h"
#include "log.h"
#include "rpc_client.h"
#include "timeutil.h"
#include "worker.h"
#include "bgloop.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CORRUPT_QUEUE_MAX 256
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define TRACKER_PING_TIMEOUT_MS 2000
#define INVENTORY_CALL_TIMEOUT_MS 15000
/* Copies stored here that this tracker learns of asynchronously (it did
 * not take the registration itself); past this a full report replaces them. */
#define ADDED_QUEUE_MAX 4096

struct inventory {
	struct worker *w;
	const char *addr; /* the tracker's (borrowed from w->trackers) */
	struct bgloop *loop;
	pthread_mutex_t lock;
	bool wanted;
	struct store_ref *added; /* queued replicas_added, ADDED_QUEUE_MAX */
	size_t n_added;
	struct corrupt_report {
		char id[65];
		uint64_t gen;
	} corrupt[CORRUPT_QUEUE_MAX];
	size_t ncorrupt;
	/* the loop's own state */
	bool connected;
	int64_t backoff_ms, next_report_ms;
	unsigned attempts;
};

static int tracker_ping(struct inventory *inv, struct rpc_reply *reply)
{
	Pp__V1__Request req = PP__V1__REQUEST__INIT;
	Pp__V1__PingRequest ping = PP__V1__PING_REQUEST__INIT;
	req.body_case = PP__V1__REQUEST__BODY_PING;
	req.ping = &ping;
	return rpc_call(inv->w->peers, inv->addr, &inv->w->auth, &req, NULL, 0,
			TRACKER_PING_TIMEOUT_MS, reply);
}

int inventory_send(struct inventory *inv)
{
	struct worker *w = inv->w;
	struct store_ref *refs = NULL;
	size_t n = 0;
	uint64_t snapshot_seq = 0;
	int rc = store_list(w->store, &refs, &n, &snapshot_seq);
	if (rc != PP_OK)
		return rc;
	Pp__V1__ChunkRef *msgs = calloc(INVENTORY_PAGE_MAX, sizeof(*msgs));
	Pp__V1__ChunkRef **ptrs = calloc(INVENTORY_PAGE_MAX, sizeof(*ptrs));
	if (msgs == NULL || ptrs == NULL) {
		rc = PP_EINTERNAL;
		goto out;
	}
	uint64_t report_id;
	auth_random(&report_id, sizeof(report_id));
	size_t pages = n == 0 ? 1 : (n + INVENTORY_PAGE_MAX - 1) / INVENTORY_PAGE_MAX;
	for (size_t p = 0; p < pages; p++) {
		size_t first = p * INVENTORY_PAGE_MAX;
		size_t count = n - first < INVENTORY_PAGE_MAX ? n - first : INVENTORY_PAGE_MAX;
		for (size_t i = 0; i < count; i++) {
			pp__v1__chunk_ref__init(&msgs[i]);
			msgs[i].id = refs[first + i].id;
			msgs[i].size = refs[first + i].size;
			msgs[i].gen = refs[first + i].gen;
			msgs[i].extra = refs[first + i].extra;
			ptrs[i] = &msgs[i];
		}
		Pp__V1__InventoryRequest page = PP__V1__INVENTORY_REQUEST__INIT;
		page.node_id = (char *)w->cfg.id;
		page.report_id = report_id;
		page.page = (uint32_t)p;
		page.last = p + 1 == pages;
		page.snapshot_seq = snapshot_seq;
		page.n_chunks = count;
		page.chunks = ptrs;
		Pp__V1__Request req = PP__V1__REQUEST__INIT;
		req.body_case = PP__V1__REQUEST__BODY_INVENTORY;
		req.inventory = &page;
		struct rpc_reply reply;
		rc = rpc_call(w->peers, inv->addr, &w->auth, &req, NULL, 0, INVENTORY_CALL_TIMEOUT_MS,
			      &reply);
		if (rc != PP_OK)
			log_warn("inventory_failed", "tracker=%s page=%zu err=%s", log_q(inv->addr), p,
				 log_q(rpc_reply_error(&reply, rc)));
		rpc_reply_free(&reply);
		if (rc != PP_OK)
			goto out;
	}
	log_info("inventory_sent", "tracker=%s chunks=%zu pages=%zu", log_q(inv->addr), n, pages);
out:
	free(msgs);
	free(ptrs);
	free(refs);
	return rc;
}

static int send_corrupt(struct inventory *inv, const char *chunk_id, uint64_t gen)
{
	struct worker *w = inv->w;
	Pp__V1__ChunkCorruptRequest cc = PP__V1__CHUNK_CORRUPT_REQUEST__INIT;
	cc.node_id = (char *)w->cfg.id;
	cc.chunk_id = (char *)chunk_id;
	cc.gen = gen;
	Pp__V1__Request req = PP__V1__REQUEST__INIT;
	req.body_case = PP__V1__REQUEST__BODY_CHUNK_CORRUPT;
	req.chunk_corrupt = &cc;
	struct rpc_reply reply;
	int rc = rpc_call(w->peers, inv->addr, &w->auth, &req, NULL, 0, RPC_TIMEOUT_SHORT_MS, &reply);
	if (rc == PP_OK)
		log_info("corrupt_reported", "chunk=%s", chunk_id);
	else
		log_warn("corrupt_report_failed", "chunk=%s err=%s", chunk_id,
			 log_q(rpc_reply_error(&reply, rc)));
	rpc_reply_free(&reply);
	return rc;
}

/* Sends queued corrupt reports; false when the tracker stopped answering. */
static bool flush_corrupt(struct inventory *inv)
{
	for (;;) {
		struct corrupt_report first;
		pthread_mutex_lock(&inv->lock);
		if (inv->ncorrupt == 0) {
			pthread_mutex_unlock(&inv->lock);
			return true;
		}
		first = inv->corrupt[0];
		pthread_mutex_unlock(&inv->lock);
		int rc = send_corrupt(inv, first.id, first.gen);
		if (rc == PP_EUNAVAIL)
			return false;
		/* Sent, or refused for good: either way it leaves the queue. */
		pthread_mutex_lock(&inv->lock);
		if (inv->ncorrupt > 0) {
			memmove(&inv->corrupt[0], &inv->corrupt[1],
				(inv->ncorrupt - 1) * sizeof(inv->corrupt[0]));
			inv->ncorrupt--;
		}
		pthread_mutex_unlock(&inv->lock);
	}
}

/* Sends the queued registrations in one replicas_added; false when the
 * tracker stopped answering (they are then covered by the next full report). */
static bool flush_added(struct inventory *inv)
{
	pthread_mutex_lock(&inv->lock);
	size_t n = inv->n_added;
	struct store_ref *batch = n ? malloc(n * sizeof(*batch)) : NULL;
	if (batch != NULL)
		memcpy(batch, inv->added, n * sizeof(*batch));
	inv->n_added = 0;
	pthread_mutex_unlock(&inv->lock);
	if (batch == NULL)
		return true;
	Pp__V1__ChunkRef *msgs = calloc(n, sizeof(*msgs));
	Pp__V1__ChunkRef **ptrs = calloc(n, sizeof(*ptrs));
	int rc = msgs && ptrs ? PP_OK : PP_EINTERNAL;
	for (size_t i = 0; rc == PP_OK && i < n; i++) {
		pp__v1__chunk_ref__init(&msgs[i]);
		msgs[i].id = batch[i].id;
		msgs[i].size = batch[i].size;
		msgs[i].gen = batch[i].gen;
		msgs[i].extra = batch[i].extra;
		ptrs[i] = &msgs[i];
	}
	if (rc == PP_OK) {
		Pp__V1__ReplicasAddedRequest ra = PP__V1__REPLICAS_ADDED_REQUEST__INIT;
		ra.node_id = (char *)inv->w->cfg.id;
		ra.n_chunks = n;
		ra.chunks = ptrs;
		Pp__V1__Request req = PP__V1__REQUEST__INIT;
		req.body_case = PP__V1__REQUEST__BODY_REPLICAS_ADDED;
		req.replicas_added = &ra;
		struct rpc_reply reply;
		rc = rpc_call(inv->w->peers, inv->addr, &inv->w->auth, &req, NULL, 0,
			      RPC_TIMEOUT_SHORT_MS, &reply);
		rpc_reply_free(&reply);
	}
	free(msgs);
	free(ptrs);
	free(batch);
	if (rc != PP_OK) {
		pthread_mutex_lock(&inv->lock);
		inv->wanted = true;
		pthread_mutex_unlock(&inv->lock);
	}
	return rc != PP_EUNAVAIL;
}

/* Connects (with backoff), sends queued corrupt reports and registrations
 * and, when asked or due, a full inventory; returns the delay until it has
 * something to do. */
static int64_t inventory_step(void *arg, struct bgloop *loop)
{
	(void)loop;
	struct inventory *inv = arg;
	struct worker *w = inv->w;
	if (!inv->connected) {
		struct rpc_reply reply;
		int rc = tracker_ping(inv, &reply);
		if (rc != PP_OK) {
			inv->attempts++;
			log_warn("tracker_unreachable", "address=%s attempt=%u retry_ms=%lld err=%s",
				 log_q(inv->addr), inv->attempts, (long long)inv->backoff_ms,
				 log_q(rpc_reply_error(&reply, rc)));
			rpc_reply_free(&reply);
			int64_t delay = inv->backoff_ms;
			inv->backoff_ms = delay * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : delay * 2;
			return delay;
		}
		rpc_reply_free(&reply);
		log_info("tracker_connected", "address=%s attempts=%u", log_q(inv->addr), inv->attempts);
		inv->connected = true;
		inv->attempts = 0;
		inv->backoff_ms = BACKOFF_MIN_MS;
		inv->next_report_ms = 0; /* a (re)connected tracker gets a full report */
	}
	if (!flush_corrupt(inv) || !flush_added(inv)) {
		inv->connected = false;
		return BACKOFF_MIN_MS;
	}
	pthread_mutex_lock(&inv->lock);
	bool wanted = inv->wanted;
	inv->wanted = false;
	pthread_mutex_unlock(&inv->lock);
	if (wanted || time_mono_ms() >= inv->next_report_ms) {
		if (inventory_send(inv) != PP_OK) {
			inv->connected = false;
			return BACKOFF_MIN_MS;
		}
		inv->next_report_ms = time_mono_ms() + (int64_t)w->cfg.inventory_interval_s * 1000;
	}
	return inv->next_report_ms - time_mono_ms();
}

int inventory_start(struct worker *w, const char *tracker, struct inventory **out)
{
	struct inventory *inv = calloc(1, sizeof(*inv));
	if (inv == NULL)
		return PP_EINTERNAL;
	inv->w = w;
	inv->addr = tracker;
	inv->added = calloc(ADDED_QUEUE_MAX, sizeof(*inv->added));
	if (inv->added == NULL) {
		free(inv);
		return PP_EINTERNAL;
	}
	inv->backoff_ms = BACKOFF_MIN_MS;
	pthread_mutex_init(&inv->lock, NULL);
	if (bgloop_start("inventory", inventory_step, inv, &inv->loop) != PP_OK) {
		pthread_mutex_destroy(&inv->lock);
		free(inv->added);
		free(inv);
		return PP_EINTERNAL;
	}
	*out = inv;
	return PP_OK;
}

void inventory_stop(struct inventory *inv)
{
	if (inv == NULL)
		return;
	bgloop_free(inv->loop);
	pthread_mutex_destroy(&inv->lock);
	free(inv->added);
	free(inv);
}

void inventory_request(struct inventory *inv)
{
	if (inv == NULL)
		return;
	pthread_mutex_lock(&inv->lock);
	inv->wanted = true;
	pthread_mutex_unlock(&inv->lock);
	bgloop_wake(inv->loop);
}

void inventory_report_corrupt(struct inventory *inv, const char *chunk_id, uint64_t gen)
{
	if (inv == NULL)
		return;
	pthread_mutex_lock(&inv->lock);
	if (inv->ncorrupt < CORRUPT_QUEUE_MAX) {
		struct corrupt_report *c = &inv->corrupt[inv->ncorrupt++];
		snprintf(c->id, sizeof(c->id), "%s", chunk_id);
		c->gen = gen;
	} else { /* the next inventory tells the tracker the chunk is gone anyway */
		inv->wanted = true;
	}
	pthread_mutex_unlock(&inv->lock);
	bgloop_wake(inv->loop);
}

void inventory_queue_added(struct inventory *inv, const Pp__V1__ChunkRef *ref)
{
	if (inv == NULL)
		return;
	pthread_mutex_lock(&inv->lock);
	if (inv->n_added < ADDED_QUEUE_MAX) {
		struct store_ref *r = &inv->added[inv->n_added++];
		snprintf(r->id, sizeof(r->id), "%s", ref->id);
		r->size = ref->size;
		r->gen = ref->gen;
		r->extra = ref->extra;
	} else {
		inv->wanted = true;
	}
	pthread_mutex_unlock(&inv->lock);
	bgloop_wake(inv->loop);
}
