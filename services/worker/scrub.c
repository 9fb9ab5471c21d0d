/* The scrubber thread; see scrub.h.
 *
 * Pacing: after verifying a chunk the thread sleeps until the bytes read so
 * far in this pass, divided by the rate, have elapsed, so the average never
 * exceeds rate_bps; full passes start at most every scrub_pass_interval_s.
 * `lock` guards stop and stats; the read buffer is owned by the thread. */
#define _GNU_SOURCE
#include "scrub.h"
#include "errors.h"
#include "frame.h"
#include "log.h"
#include "timeutil.h"
#include "worker.h"
#include "worker_util.h"

#include <stdbool.h>
#include <stdlib.h>

struct scrub {
	struct worker *w;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	struct scrub_stats stats;
};

/* Sleeps until the monotonic deadline; true when asked to stop. */
static bool sleep_until(struct scrub *sc, int64_t deadline)
{
	pthread_mutex_lock(&sc->lock);
	while (!sc->stop) {
		int64_t left = deadline - time_mono_ms();
		if (left <= 0)
			break;
		worker_cond_wait_ms(&sc->cond, &sc->lock, left);
	}
	bool stop = sc->stop;
	pthread_mutex_unlock(&sc->lock);
	return stop;
}

/* One pass over a snapshot of the store; false when stopping. */
static bool scrub_pass(struct scrub *sc, uint8_t *buf)
{
	struct worker *w = sc->w;
	struct store_ref *refs = NULL;
	size_t n = 0;
	if (store_list(w->store, &refs, &n) != PP_OK)
		return true;
	int64_t started = time_mono_ms();
	uint64_t bytes = 0, bad = 0, checked = 0;
	bool stopping = false;
	pthread_mutex_lock(&sc->lock);
	sc->stats.pass_chunks = n;
	sc->stats.pass_done = 0;
	pthread_mutex_unlock(&sc->lock);
	for (size_t i = 0; i < n; i++) {
		size_t len;
		int rc = store_read(w->store, refs[i].id, buf, PP_CHUNK_SIZE_MAX, &len, false);
		if (rc == PP_EINTEGRITY)
			bad++;
		if (rc == PP_OK || rc == PP_EINTEGRITY) {
			checked++;
			bytes += refs[i].size;
		}
		pthread_mutex_lock(&sc->lock);
		sc->stats.pass_done++;
		sc->stats.corrupt += rc == PP_EINTEGRITY;
		if (rc == PP_OK || rc == PP_EINTEGRITY) {
			sc->stats.chunks_checked++;
			sc->stats.bytes_checked += refs[i].size;
		}
		pthread_mutex_unlock(&sc->lock);
		int64_t due = started + (int64_t)(bytes * 1000 / w->cfg.scrub_rate_bps);
		if (sleep_until(sc, due)) {
			stopping = true;
			break;
		}
	}
	free(refs);
	if (!stopping) {
		pthread_mutex_lock(&sc->lock);
		sc->stats.passes++;
		sc->stats.last_pass_end_wall_ms = time_wall_ms();
		pthread_mutex_unlock(&sc->lock);
	}
	log_info("scrub_pass", "chunks=%llu bytes=%llu corrupt=%llu ms=%lld",
		 (unsigned long long)checked, (unsigned long long)bytes, (unsigned long long)bad,
		 (long long)(time_mono_ms() - started));
	return !stopping;
}

static void *scrub_main(void *arg)
{
	struct scrub *sc = arg;
	uint8_t *buf = malloc(PP_CHUNK_SIZE_MAX);
	if (buf == NULL) {
		log_error("scrub_disabled", "err=\"out of memory\"");
		return NULL;
	}
	int64_t pause_ms = (int64_t)sc->w->cfg.scrub_pass_interval_s * 1000;
	/* Let start-up traffic (inventory, first repairs) go first. */
	for (int64_t next = time_mono_ms() + pause_ms;; next = time_mono_ms() + pause_ms) {
		if (sleep_until(sc, next) || !scrub_pass(sc, buf))
			break;
	}
	free(buf);
	return NULL;
}

int scrub_start(struct worker *w, struct scrub **out)
{
	*out = NULL;
	if (w->cfg.scrub_rate_bps == 0) {
		log_info("scrub_off", "reason=\"--scrub-rate 0\"");
		return PP_OK;
	}
	struct scrub *sc = calloc(1, sizeof(*sc));
	if (sc == NULL)
		return PP_EINTERNAL;
	sc->w = w;
	pthread_mutex_init(&sc->lock, NULL);
	worker_cond_init(&sc->cond);
	if (pthread_create(&sc->thread, NULL, scrub_main, sc) != 0) {
		pthread_cond_destroy(&sc->cond);
		pthread_mutex_destroy(&sc->lock);
		free(sc);
		return PP_EINTERNAL;
	}
	*out = sc;
	return PP_OK;
}

void scrub_stop(struct scrub *sc)
{
	if (sc == NULL)
		return;
	pthread_mutex_lock(&sc->lock);
	sc->stop = true;
	pthread_cond_broadcast(&sc->cond);
	pthread_mutex_unlock(&sc->lock);
	pthread_join(sc->thread, NULL);
	pthread_cond_destroy(&sc->cond);
	pthread_mutex_destroy(&sc->lock);
	free(sc);
}

void scrub_stats_get(struct scrub *sc, struct scrub_stats *out)
{
	*out = (struct scrub_stats){0};
	if (sc == NULL)
		return;
	pthread_mutex_lock(&sc->lock);
	*out = sc->stats;
	pthread_mutex_unlock(&sc->lock);
}
