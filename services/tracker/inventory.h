/* Worker inventories (DESIGN.md, "Inventory"): a report is the pages of one
 * report_id, in order; at the last page the tracker reconciles against the
 * report's snapshot_seq (db_inventory_reconcile) — records what the node
 * holds, forgets what it no longer held at the snapshot (and so repairs
 * it), resolves tombstones, keeps unknown chunks as garbage until the gc
 * grace passes, and wakes the collector. Reports being assembled live in
 * memory; a restart only means the worker's next report is used instead. */
#ifndef PP_TRACKER_INVENTORY_H
#define PP_TRACKER_INVENTORY_H

#include "pp/v1/rpc.pb-c.h"
#include "tracker.h"

#include <stddef.h>

#define INVENTORY_MAX_CHUNKS (16u << 20) /* per report */

/* One page, ids already validated. PP_EINVAL with err for an out-of-order page. */
int inventory_page(struct tracker *t, const Pp__V1__InventoryRequest *q, char *err,
		   size_t err_len);
void inventory_cleanup(void);

#endif
