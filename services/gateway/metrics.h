/* Prometheus metrics of the gateway (DESIGN.md: every name starts pp_).
 *
 * Counters and histograms are updated from MHD's threads under one mutex;
 * cluster gauges are not stored but read from the tracker (pp_health) when
 * /metrics is scraped, so they are never stale. */
#ifndef PP_GATEWAY_METRICS_H
#define PP_GATEWAY_METRICS_H

#include "gateway.h"

#include <stddef.h>
#include <stdint.h>

struct metrics;

int metrics_new(struct metrics **out);
void metrics_free(struct metrics *m);

const char *metrics_route_name(enum gw_route r);
void metrics_count_request(struct metrics *m, enum gw_route r, unsigned status);
void metrics_add_bytes_in(struct metrics *m, uint64_t n);
void metrics_add_bytes_out(struct metrics *m, uint64_t n);
void metrics_observe_upload(struct metrics *m, double seconds);
void metrics_observe_download(struct metrics *m, double seconds);

/* Extra gauges supplied by other modules at scrape time. */
struct metrics_extra {
	uint64_t sse_clients;
	uint64_t events_relayed;
	uint64_t events_dropped;
	bool cluster_ok;              /* health below is valid */
	struct pp_health health;
};

/* The whole exposition text (malloc'd, *len bytes) or NULL when out of memory. */
char *metrics_render(struct metrics *m, const struct metrics_extra *x, size_t *len);

#endif
