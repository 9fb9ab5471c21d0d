/* Background scrubber: re-reads and verifies every stored chunk at a bounded
 * rate (--scrub-rate bytes/s), so silent disk corruption is found even in
 * chunks nobody reads; a bad copy is quarantined and reported exactly as a
 * failed read is (store.c). */
#ifndef PP_WORKER_SCRUB_H
#define PP_WORKER_SCRUB_H

struct worker;
struct scrub;

/* Does nothing (and *out is NULL) when the rate is 0. */
int scrub_start(struct worker *w, struct scrub **out);
void scrub_stop(struct scrub *sc);

#endif
