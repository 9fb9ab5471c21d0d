/* The worker's link to one tracker (one per address in --tracker): waits
 * for it (retrying with backoff and logging tracker_unreachable, never
 * giving up), then sends the full chunk inventory at start-up, whenever
 * asked and every interval, and relays queued reports (corrupt chunks, and
 * copies registered with another tracker) from the store. */
#ifndef PP_WORKER_INVENTORY_H
#define PP_WORKER_INVENTORY_H

#include "pp/v1/types.pb-c.h"

#include <stdint.h>

#define INVENTORY_PAGE_MAX 2048 /* ChunkRefs per inventory page */

struct worker;
struct inventory;

int inventory_start(struct worker *w, const char *tracker, struct inventory **out);
void inventory_stop(struct inventory *inv);
/* Asks for a new inventory report soon (e.g. after evictions). */
void inventory_request(struct inventory *inv);
/* Queues a chunk_corrupt report; never blocks on the network. */
void inventory_report_corrupt(struct inventory *inv, const char *chunk_id, uint64_t gen);
/* Queues a replicas_added for this tracker; never blocks on the network. */
void inventory_queue_added(struct inventory *inv, const Pp__V1__ChunkRef *ref);
/* One full report now (pages of INVENTORY_PAGE_MAX). */
int inventory_send(struct inventory *inv);

#endif
