/* The worker's link to the tracker: waits for it (retrying with backoff and
 * logging tracker_unreachable, never giving up), then sends the full chunk
 * inventory at start-up and every interval, and relays queued reports
 * (corrupt chunks) from the store. */
#ifndef PP_WORKER_INVENTORY_H
#define PP_WORKER_INVENTORY_H

#include <stdint.h>

#define INVENTORY_PAGE_MAX 2048 /* ChunkRefs per inventory page */

struct worker;
struct inventory;

int inventory_start(struct worker *w, struct inventory **out);
void inventory_stop(struct inventory *inv);
/* Asks for a new inventory report soon (e.g. after evictions). */
void inventory_request(struct inventory *inv);
/* Queues a chunk_corrupt report; never blocks on the network. */
void inventory_report_corrupt(struct inventory *inv, const char *chunk_id, uint64_t gen);
/* One full report now (pages of INVENTORY_PAGE_MAX); for the thread and tests. */
int inventory_send(struct worker *w);

#endif
