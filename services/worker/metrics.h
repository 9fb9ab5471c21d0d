/* The worker's Prometheus metrics (served by --metrics; names in README.md,
 * "Operating"): its store (chunks, bytes, capacity, the filesystem's free
 * space, quarantined copies), transfers, scrub progress and failures.
 * Values are read at scrape time through the modules' public functions. */
#ifndef PP_WORKER_METRICS_H
#define PP_WORKER_METRICS_H

#include "prom.h"

struct worker;
struct scrub;

/* Before store_open: chunks failing verification are counted from then on.
 * *scrub is read at each scrape (NULL while the scrubber is off). w and
 * *scrub must outlive every scrape (stop the metrics server first). */
int worker_metrics_register(struct worker *w, struct scrub *const *scrub,
			    struct prom_registry *r);
/* A stored copy failed its hash and was quarantined (store on_corrupt). */
void worker_metrics_chunk_corrupt(void);

#endif
