/* The tracker's Prometheus metrics (served by --metrics; names in
 * README.md, "Operating"). Cluster-wide gauges (pp_cluster_*) come from
 * here and nowhere else, so a sum() over several gateways never doubles
 * them. Values are read at scrape time from the store, liveness and repair
 * through their public functions; SQLite transactions are timed as they end. */
#ifndef PP_TRACKER_METRICS_H
#define PP_TRACKER_METRICS_H

#include "prom.h"
#include "tracker.h"

/* Call once t->db, t->live and t->repair exist; they must outlive every
 * scrape (stop the metrics server first). */
int tracker_metrics_register(struct tracker *t, struct prom_registry *r);

#endif
