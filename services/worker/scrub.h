/* Background scrubber: re-reads and verifies every stored chunk at a bounded
 * rate (--scrub-rate bytes/s), so silent disk corruption is found even in
 * chunks nobody reads; a bad copy is quarantined and reported exactly as a
 * failed read is (store.c). */
#ifndef PP_WORKER_SCRUB_H
#define PP_WORKER_SCRUB_H

#include <stdint.h>

struct worker;
struct scrub;

/* Totals since start, and the pass in progress (for metrics). */
struct scrub_stats {
	uint64_t passes;         /* completed passes */
	uint64_t chunks_checked; /* chunks read and verified */
	uint64_t bytes_checked;
	uint64_t corrupt;        /* chunks that failed verification */
	uint64_t pass_chunks;    /* chunks in the current (or last) pass */
	uint64_t pass_done;      /* of those, handled so far */
	int64_t last_pass_end_wall_ms; /* 0 before the first pass ends */
};

/* Does nothing (and *out is NULL) when the rate is 0. */
int scrub_start(struct worker *w, struct scrub **out);
void scrub_stop(struct scrub *sc);
/* Zeros when the scrubber is off (sc NULL). */
void scrub_stats_get(struct scrub *sc, struct scrub_stats *out);

#endif
