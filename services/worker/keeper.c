/* The keeper's queue and thread; see keeper.h.
 *
 * `lock` guards the queue and `stopping`; the loop takes up to
 * KEEPER_BATCH_MAX entries at a time, finishes them outside the lock and
 * registers the ones that became durable in one call. */
#define _GNU_SOURCE
#include "keeper.h"
#include "bgloop.h"
#include "errors.h"
#include "hash.h"
#include "log.h"
#include "timeutil.h"
#include "transfer.h"
#include "worker.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

struct kept {
	struct store_staged *staged;
	char id[PP_SHA256_HEX];
	char source[128];
	int64_t queued_ms;
};

struct keeper {
	struct worker *w;
	struct bgloop *loop;
	pthread_mutex_t lock;
	pthread_cond_t room; /* signalled when the queue shrinks */
	struct kept queue[KEEPER_QUEUE_MAX]; /* a ring */
	size_t head, count;
	bool stopping;
};

static int64_t keeper_step(void *arg, struct bgloop *loop)
{
	(void)loop;
	struct keeper *k = arg;
	struct kept batch[KEEPER_BATCH_MAX];
	size_t n = 0;
	pthread_mutex_lock(&k->lock);
	while (n < KEEPER_BATCH_MAX && k->count > 0) {
		batch[n++] = k->queue[k->head];
		k->head = (k->head + 1) % KEEPER_QUEUE_MAX;
		k->count--;
	}
	bool more = k->count > 0;
	pthread_cond_broadcast(&k->room);
	pthread_mutex_unlock(&k->lock);

	const char *ids[KEEPER_BATCH_MAX];
	struct store_copy copies[KEEPER_BATCH_MAX];
	size_t kept = 0;
	for (size_t i = 0; i < n; i++) {
		struct store_copy c;
		if (store_finish(k->w->store, batch[i].staged, &c) != PP_OK)
			continue; /* logged by the store; the temp file is gone */
		log_info("chunk_pulled", "chunk=%s size=%u extra=%d gen=%llu source=%s ms=%lld why=direct",
			 batch[i].id, c.size, (int)c.extra, (unsigned long long)c.gen, log_q(batch[i].source),
			 (long long)(time_mono_ms() - batch[i].queued_ms));
		ids[kept] = batch[i].id;
		copies[kept++] = c;
	}
	if (kept > 0)
		transfer_register_many(k->w, ids, copies, kept);
	return more ? 0 : 60000;
}

int keeper_start(struct worker *w, struct keeper **out)
{
	struct keeper *k = calloc(1, sizeof(*k));
	if (k == NULL)
		return PP_EINTERNAL;
	k->w = w;
	pthread_mutex_init(&k->lock, NULL);
	time_cond_init(&k->room);
	if (bgloop_start("keeper", keeper_step, k, &k->loop) != PP_OK) {
		pthread_cond_destroy(&k->room);
		pthread_mutex_destroy(&k->lock);
		free(k);
		return PP_EINTERNAL;
	}
	*out = k;
	return PP_OK;
}

void keeper_add(struct keeper *k, struct store_staged *staged, const char *chunk_id,
		const char *source)
{
	pthread_mutex_lock(&k->lock);
	while (k->count == KEEPER_QUEUE_MAX && !k->stopping)
		pthread_cond_wait(&k->room, &k->lock);
	if (k->stopping) {
		pthread_mutex_unlock(&k->lock);
		store_stage_abort(k->w->store, staged);
		return;
	}
	struct kept *e = &k->queue[(k->head + k->count) % KEEPER_QUEUE_MAX];
	e->staged = staged;
	snprintf(e->id, sizeof(e->id), "%s", chunk_id);
	snprintf(e->source, sizeof(e->source), "%s", source);
	e->queued_ms = time_mono_ms();
	k->count++;
	pthread_mutex_unlock(&k->lock);
	bgloop_wake(k->loop);
}

void keeper_stop(struct keeper *k)
{
	if (k == NULL)
		return;
	pthread_mutex_lock(&k->lock);
	k->stopping = true;
	pthread_cond_broadcast(&k->room);
	pthread_mutex_unlock(&k->lock);
	bgloop_stop(k->loop);
	/* What is still queued is finished here, in order: a copy a reader
	 * already got stays as durable as if the loop had done it. */
	while (k->count > 0)
		keeper_step(k, k->loop);
	bgloop_free(k->loop);
	pthread_cond_destroy(&k->room);
	pthread_mutex_destroy(&k->lock);
	free(k);
}
