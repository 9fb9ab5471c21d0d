/* The scrubber loop; see scrub.h.
 *
 * Pacing: after verifying a chunk the loop pauses until the bytes read so
 * far in this pass, divided by the rate, have elapsed, so the average never
 * exceeds rate_bps; full passes start at most every scrub_pass_interval_s.
 * `lock` guards stats (read by the metrics scrape); the read buffer is the
 * loop's own. */
#define _GNU_SOURCE
#include "scrub.h"
#include "errors.h"
#include "frame.h"
#include "log.h"
#include "timeutil.h"
#include "worker.h"
#include "bgloop.h"

#include <stdbool.h>
#include <stdlib.h>

struct scrub {
	struct worker *w;
	struct bgloop *loop;
	uint8_t *buf; /* PP_CHUNK_SIZE_MAX bytes, used by the loop only */
	bool started; /* the first step only waits: start-up traffic goes first */
	pthread_mutex_t lock; /* guards stats */
	struct scrub_stats stats;
};

/* One pass over a snapshot of the store; false when stopping. */
static bool scrub_pass(struct scrub *sc, struct bgloop *loop)
{
	uint8_t *buf = sc->buf;
	struct worker *w = sc->w;
	struct store_ref *refs = NULL;
	size_t n = 0;
	if (store_list(w->store, &refs, &n, NULL) != PP_OK)
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
		if (bgloop_pause(loop, due - time_mono_ms())) {
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

static int64_t scrub_step(void *arg, struct bgloop *loop)
{
	struct scrub *sc = arg;
	if (sc->started)
		scrub_pass(sc, loop);
	sc->started = true;
	return (int64_t)sc->w->cfg.scrub_pass_interval_s * 1000;
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
	sc->buf = malloc(PP_CHUNK_SIZE_MAX);
	if (sc->buf == NULL || bgloop_start("scrub", scrub_step, sc, &sc->loop) != PP_OK) {
		pthread_mutex_destroy(&sc->lock);
		free(sc->buf);
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
	bgloop_free(sc->loop);
	pthread_mutex_destroy(&sc->lock);
	free(sc->buf);
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
