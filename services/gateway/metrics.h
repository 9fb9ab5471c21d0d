/* Prometheus metrics of the gateway (DESIGN.md: every name starts pp_),
 * on the shared registry of common/prom.h: HTTP requests by method, route
 * and status code, body bytes, upload and download times, the event relay,
 * whether the tracker answers, and the process_* set.
 *
 * Cluster-wide figures (pp_cluster_*) are the tracker's alone: several
 * gateways must not each export them, or a sum() over gateways multiplies
 * them. Served on --http at /metrics and, with --metrics, on its own port. */
#ifndef PP_GATEWAY_METRICS_H
#define PP_GATEWAY_METRICS_H

#include "gateway.h"
#include "prom.h"

#include <stdint.h>

struct metrics;

/* gw->sse and gw->probe are read at each scrape; they must outlive the
 * metrics servers. */
int metrics_new(struct gateway *gw, struct metrics **out);
void metrics_free(struct metrics *m);
struct prom_registry *metrics_registry(struct metrics *m);

const char *metrics_route_name(enum gw_route r);
void metrics_count_request(struct metrics *m, enum gw_route r, const char *method,
			   unsigned status, double seconds);
void metrics_add_bytes_in(struct metrics *m, uint64_t n);
void metrics_add_bytes_out(struct metrics *m, uint64_t n);
void metrics_observe_upload(struct metrics *m, double seconds);
void metrics_observe_download(struct metrics *m, double seconds);

#endif
