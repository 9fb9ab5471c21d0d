/* The worker's link to the tracker; see inventory.h (DESIGN.md, "Flows":
 * Inventory; "Services start in any order").
 *
 * One thread owns every unsolicited call to the tracker, so the data path
 * (reads failing over on a corrupt copy) never waits on a slow or absent
 * tracker. `lock` guards stop, wanted and the corrupt-report queue. */
#define _GNU_SOURCE
#include "inventory.h"
#include "errors.h"
#include "log.h"
#include "rpc_client.h"
#include "timeutil.h"
#include "worker.h"
#include "worker_util.h"

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
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	bool wanted;
	char corrupt[CORRUPT_QUEUE_MAX][65];
	size_t ncorrupt;
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
	int rc = store_list(w->store, &refs, &n);
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
			ptrs[i] = &msgs[i];
		}
		Pp__V1__InventoryRequest inv = PP__V1__INVENTORY_REQUEST__INIT;
		inv.node_id = (char *)w->cfg.id;
		inv.report_id = report_id;
		inv.page = (uint32_t)p;
		inv.last = p + 1 == pages;
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

static int send_corrupt(struct worker *w, const char *chunk_id)
{
	Pp__V1__ChunkCorruptRequest cc = PP__V1__CHUNK_CORRUPT_REQUEST__INIT;
	cc.node_id = (char *)w->cfg.id;
	cc.chunk_id = (char *)chunk_id;
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
		char id[65];
		pthread_mutex_lock(&inv->lock);
		if (inv->ncorrupt == 0) {
			pthread_mutex_unlock(&inv->lock);
			return true;
		}
		memcpy(id, inv->corrupt[0], sizeof(id));
		pthread_mutex_unlock(&inv->lock);
		int rc = send_corrupt(inv->w, id);
		if (rc == PP_EUNAVAIL)
			return false;
		/* Sent, or refused for good: either way it leaves the queue. */
		pthread_mutex_lock(&inv->lock);
		if (inv->ncorrupt > 0) {
			memmove(inv->corrupt[0], inv->corrupt[1], (inv->ncorrupt - 1) * 65);
			inv->ncorrupt--;
		}
		pthread_mutex_unlock(&inv->lock);
	}
}

/* Sleeps up to ms unless stopped or woken; returns true when stopping. */
static bool pause_ms(struct inventory *inv, int64_t ms, bool wake_on_work)
{
	pthread_mutex_lock(&inv->lock);
	int64_t deadline = time_mono_ms() + ms;
	while (!inv->stop && !(wake_on_work && (inv->wanted || inv->ncorrupt > 0))) {
		int64_t left = deadline - time_mono_ms();
		if (left <= 0)
			break;
		worker_cond_wait_ms(&inv->cond, &inv->lock, left);
	}
	bool stop = inv->stop;
	pthread_mutex_unlock(&inv->lock);
	return stop;
}

static void *inventory_main(void *arg)
{
	struct inventory *inv = arg;
	struct worker *w = inv->w;
	bool connected = false;
	int64_t backoff = BACKOFF_MIN_MS, next_report = 0;
	unsigned attempts = 0;
	int64_t interval_ms = (int64_t)w->cfg.inventory_interval_s * 1000;
	for (;;) {
		if (!connected) {
			struct rpc_reply reply;
			int rc = tracker_ping(w, &reply);
			if (rc != PP_OK) {
				attempts++;
				log_warn("tracker_unreachable",
					 "address=%s attempt=%u retry_ms=%lld err=\"%s\"",
					 w->cfg.tracker, attempts, (long long)backoff,
					 rpc_reply_error(&reply, rc));
				rpc_reply_free(&reply);
				if (pause_ms(inv, backoff, false))
					break;
				backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
				continue;
			}
			rpc_reply_free(&reply);
			log_info("tracker_connected", "address=%s attempts=%u", w->cfg.tracker,
				 attempts);
			connected = true;
			attempts = 0;
			backoff = BACKOFF_MIN_MS;
			next_report = 0; /* a (re)connected tracker gets a full report */
		}
		if (!flush_corrupt(inv)) {
			connected = false;
			continue;
		}
		pthread_mutex_lock(&inv->lock);
		bool wanted = inv->wanted;
		inv->wanted = false;
		pthread_mutex_unlock(&inv->lock);
		if (wanted || time_mono_ms() >= next_report) {
			if (inventory_send(w) != PP_OK) {
				connected = false;
				continue;
			}
			next_report = time_mono_ms() + interval_ms;
		}
		if (pause_ms(inv, next_report - time_mono_ms(), true))
			break;
	}
	return NULL;
}

int inventory_start(struct worker *w, struct inventory **out)
{
	struct inventory *inv = calloc(1, sizeof(*inv));
	if (inv == NULL)
		return PP_EINTERNAL;
	inv->w = w;
	pthread_mutex_init(&inv->lock, NULL);
	worker_cond_init(&inv->cond);
	if (pthread_create(&inv->thread, NULL, inventory_main, inv) != 0) {
		pthread_cond_destroy(&inv->cond);
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
	pthread_mutex_lock(&inv->lock);
	inv->stop = true;
	pthread_cond_broadcast(&inv->cond);
	pthread_mutex_unlock(&inv->lock);
	pthread_join(inv->thread, NULL);
	pthread_cond_destroy(&inv->cond);
	pthread_mutex_destroy(&inv->lock);
	free(inv);
}

void inventory_request(struct inventory *inv)
{
	if (inv == NULL)
		return;
	pthread_mutex_lock(&inv->lock);
	inv->wanted = true;
	pthread_cond_broadcast(&inv->cond);
	pthread_mutex_unlock(&inv->lock);
}

void inventory_report_corrupt(struct inventory *inv, const char *chunk_id)
{
	if (inv == NULL)
		return;
	pthread_mutex_lock(&inv->lock);
	if (inv->ncorrupt < CORRUPT_QUEUE_MAX)
		snprintf(inv->corrupt[inv->ncorrupt++], 65, "%s", chunk_id);
	else /* the next inventory tells the tracker the chunk is gone anyway */
		inv->wanted = true;
	pthread_cond_broadcast(&inv->cond);
	pthread_mutex_unlock(&inv->lock);
}
