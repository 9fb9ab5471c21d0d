/* Collection (DESIGN.md, "Delete", "Inventory"): expired uploads, chunks no
 * file references (at once after a delete, after --gc-grace-s for unknown
 * or abandoned ones), surplus replicas above a chunk's factor (keeping the
 * zone spread), replicas left on a drained node, stale pending records.
 * The store is updated first, then workers get delete_chunks, so no reader
 * is sent to a copy that is about to go. */
#ifndef PP_TRACKER_GC_H
#define PP_TRACKER_GC_H

#include "tracker.h"

struct gc;

int gc_start(struct tracker *t, struct gc **out);
void gc_stop(struct gc *g);
/* Run a pass now (after a delete or an inventory). NULL-safe. */
void gc_wake(struct gc *g);

#endif
