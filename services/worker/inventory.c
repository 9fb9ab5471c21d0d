/* The worker's link to the tracker; see inventory.h (DESIGN.md, "Flows":
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

struct inventory {
	struct worker *w;
	struct bgloop *loop;
	pthread_mutex_t lock;
	bool wanted;
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

static int tracker_ping(struct worker *w, struct rpc_reply *reply)
{
	Pp__V1__Request req = PP__V1__REQUEST__INIT;
	Pp__V1__PingRequest ping = PP__V1__PING_REQUEST__INIT;
	req.body_case = PP__V1__REQUEST__BODY_PING;
	req.ping = &ping;
	return rpc_call(w->peers, w->cfg.tracker, &w->auth, &req, NULL, 0,
			TRACKER_PING_TIMEOUT_MS, reply);
}

int inventory_send(struct worker *w)
{
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
		Pp__V1__InventoryRequest inv = PP__V1__INVENTORY_REQUEST__INIT;
		inv.node_id = (char *)w->cfg.id;
		inv.report_id = report_id;
		inv.page = (uint32_t)p;
		inv.last = p + 1 == pages;
		inv.snapshot_seq = snapshot_seq;
		inv.n_chunks = count;
		inv.chunks = ptrs;
		Pp__V1__Request req = PP__V1__REQUEST__INIT;
		req.body_case = PP__V1__REQUEST__BODY_INVENTORY;
		req.inventory = &inv;
		struct rpc_reply reply;
		rc = rpc_call(w->peers, w->cfg.tracker, &w->auth, &req, NULL, 0,
			      INVENTORY_CALL_TIMEOUT_MS, &reply);
		if (rc != PP_OK)
			log_warn("inventory_failed", "page=%zu err=\"%s\"", p,
				 rpc_reply_error(&reply, rc));
		rpc_reply_free(&reply);
		if (rc != PP_OK)
			goto out;
	}
	log_info("inventory_sent", "chunks=%zu pages=%zu", n, pages);
out:
	free(msgs);
	free(ptrs);
	free(refs);
	return rc;
}

static int send_corrupt(struct worker *w, const char *chunk_id, uint64_t gen)
{
	Pp__V1__ChunkCorruptRequest cc = PP__V1__CHUNK_CORRUPT_REQUEST__INIT;
	cc.node_id = (char *)w->cfg.id;
	cc.chunk_id = (char *)chunk_id;
	cc.gen = gen;
	Pp__V1__Request req = PP__V1__REQUEST__INIT;
	req.body_case = PP__V1__REQUEST__BODY_CHUNK_CORRUPT;
	req.chunk_corrupt = &cc;
	struct rpc_reply reply;
	int rc = rpc_call(w->peers, w->cfg.tracker, &w->auth, &req, NULL, 0, RPC_TIMEOUT_SHORT_MS,
			  &reply);
	if (rc == PP_OK)
		log_info("corrupt_reported", "chunk=%s", chunk_id);
	else
		log_warn("corrupt_report_failed", "chunk=%s err=\"%s\"", chunk_id,
			 rpc_reply_error(&reply, rc));
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
		int rc = send_corrupt(inv->w, first.id, first.gen);
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

/* Connects (with backoff), sends queued corrupt reports and, when asked or
 * due, a full inventory; returns the delay until it has something to do. */
static int64_t inventory_step(void *arg, struct bgloop *loop)
{
	(void)loop;
	struct inventory *inv = arg;
	struct worker *w = inv->w;
	if (!inv->connected) {
		struct rpc_reply reply;
		int rc = tracker_ping(w, &reply);
		if (rc != PP_OK) {
			inv->attempts++;
			log_warn("tracker_unreachable", "address=%s attempt=%u retry_ms=%lld err=\"%s\"",
				 w->cfg.tracker, inv->attempts, (long long)inv->backoff_ms,
				 rpc_reply_error(&reply, rc));
			rpc_reply_free(&reply);
			int64_t delay = inv->backoff_ms;
			inv->backoff_ms = delay * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : delay * 2;
			return delay;
		}
		rpc_reply_free(&reply);
		log_info("tracker_connected", "address=%s attempts=%u", w->cfg.tracker, inv->attempts);
		inv->connected = true;
		inv->attempts = 0;
		inv->backoff_ms = BACKOFF_MIN_MS;
		inv->next_report_ms = 0; /* a (re)connected tracker gets a full report */
	}
	if (!flush_corrupt(inv)) {
		inv->connected = false;
		return BACKOFF_MIN_MS;
	}
	pthread_mutex_lock(&inv->lock);
	bool wanted = inv->wanted;
	inv->wanted = false;
	pthread_mutex_unlock(&inv->lock);
	if (wanted || time_mono_ms() >= inv->next_report_ms) {
		if (inventory_send(w) != PP_OK) {
			inv->connected = false;
			return BACKOFF_MIN_MS;
		}
		inv->next_report_ms = time_mono_ms() + (int64_t)w->cfg.inventory_interval_s * 1000;
	}
	return inv->next_report_ms - time_mono_ms();
}

int inventory_start(struct worker *w, struct inventory **out)
{
	struct inventory *inv = calloc(1, sizeof(*inv));
	if (inv == NULL)
		return PP_EINTERNAL;
	inv->w = w;
	inv->backoff_ms = BACKOFF_MIN_MS;
	pthread_mutex_init(&inv->lock, NULL);
	if (bgloop_start("inventory", inventory_step, inv, &inv->loop) != PP_OK) {
		pthread_mutex_destroy(&inv->lock);
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
