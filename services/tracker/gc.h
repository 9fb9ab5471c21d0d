/* Collection (DESIGN.md, "Delete", "Inventory", "Durability rules"):
 * expired uploads, chunks no file references (after --gc-grace-s: deleted
 * and replaced versions, abandoned uploads, unknown copies), surplus copies
 * above a chunk's factor (keeping the zone spread), copies left on a drained
 * node, stale pending and corrupt records.
 *
 * A copy is deleted in two steps: a store transaction that checks the
 * replica policy at that moment turns it into a tombstone, then a
 * delete_chunks naming its gen goes to the worker (resent until
 * acknowledged); an inventory that no longer lists it removes the
 * tombstone. So no reader is sent to a copy about to go, and a copy written
 * again meanwhile survives. */
#ifndef PP_TRACKER_GC_H
#define PP_TRACKER_GC_H

#include "tracker.h"

struct gc;

int gc_start(struct tracker *t, struct gc **out);
/* Two-phase stop (see common/bgloop.h): gc_stop, then gc_free. */
void gc_stop(struct gc *g);
void gc_free(struct gc *g);
/* Run a pass now (after a delete, an inventory, a node change). NULL-safe. */
void gc_wake(struct gc *g);

#endif
