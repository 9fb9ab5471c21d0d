/* Re-replication (DESIGN.md, "Failure"): a planner loop derives the queue
 * from the store — chunks with fewer holding copies (policy.h) than their
 * factor, fewest first — and hands pull_chunk transfers to a bounded
 * dispatch pool, at most --repair-per-node transfers per worker (as source
 * or target). It plans nothing until liveness is settled after a start.
 *
 * Nothing about what needs repair lives only in memory: after a restart the
 * planner finds the same work again. Balance moves use the same pool. */
#ifndef PP_TRACKER_REPAIR_H
#define PP_TRACKER_REPAIR_H

#include "tracker.h"

#include <stdbool.h>
#include <stdint.h>

struct repair;

struct repair_stats {
	uint64_t queued;     /* copies still to make, not in flight */
	uint32_t in_flight;  /* repair and balance transfers */
	uint64_t done;       /* since start */
	uint64_t bytes_done;
	uint64_t bytes_left;
	double rate_bps;
	double eta_s;
	uint32_t moves_in_flight; /* balance */
};

int repair_start(struct tracker *t, struct repair **out);
/* Two-phase stop (see common/bgloop.h): repair_stop joins the planner and
 * the dispatch threads, repair_free frees. */
void repair_stop(struct repair *r);
void repair_free(struct repair *r);
/* Something changed (a node died, a replica went away): plan now. NULL-safe. */
void repair_wake(struct repair *r);
void repair_stats_get(struct repair *r, struct repair_stats *out);
/* True when a transfer of this chunk is in flight. */
bool repair_chunk_busy(struct repair *r, const char *chunk_id);
/* Balance: copy chunk to `to`, then retire it on `from` (if the policy
 * agrees then). PP_ECONFLICT when the chunk is busy or either node is at its
 * transfer limit. */
int repair_submit_move(struct repair *r, const char *chunk_id, uint32_t size,
		       const char *from_id, const char *to_id);

#endif
