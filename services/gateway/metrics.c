/* The gateway's metrics; see metrics.h.
 *
 * Label values are bounded: routes come from enum gw_route, methods from a
 * fixed list (anything else is "other"), codes are HTTP statuses 100..599. */
#define _GNU_SOURCE
#include "metrics.h"
#include "errors.h"
#include "mem_budget.h"
#include "prom_process.h"
#include "sse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct metrics {
	struct gateway *gw;          /* borrowed */
	struct prom_registry *reg;   /* owned */
	struct prom_family *requests, *duration, *bytes_in, *bytes_out, *upload, *download;
	struct prom_family *sse_clients, *events_relayed, *events_dropped, *tracker_reachable;
	struct prom_family *mem_budget, *mem_used, *mem_peak, *mem_waiting, *mem_refused;
};

static const char *const route_names[ROUTE_COUNT] = {
	[ROUTE_FILE_PUT] = "file_put",     [ROUTE_FILE_GET] = "file_get",
	[ROUTE_FILE_HEAD] = "file_head",   [ROUTE_FILE_DELETE] = "file_delete",
	[ROUTE_FILES_LIST] = "files_list", [ROUTE_CHUNKMAP] = "chunkmap",
	[ROUTE_NODES] = "nodes",           [ROUTE_HEALTH] = "health",
	[ROUTE_EVENTS] = "events",         [ROUTE_METRICS] = "metrics",
	[ROUTE_HEALTHZ] = "healthz",       [ROUTE_READYZ] = "readyz",
	[ROUTE_UI] = "ui",                 [ROUTE_OTHER] = "other",
	[ROUTE_S3] = "s3",
};

const char *metrics_route_name(enum gw_route r)
{
	return r < ROUTE_COUNT ? route_names[r] : "other";
}

static const char *method_label(const char *m)
{
	static const char *const known[] = {"GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS", "PATCH"};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(m, known[i]) == 0)
			return known[i];
	return "other";
}

static void collect(void *arg)
{
	struct metrics *m = arg;
	uint64_t clients = 0, relayed = 0, dropped = 0;
	if (m->gw->sse != NULL)
		sse_hub_stats(m->gw->sse, &clients, &relayed, &dropped);
	prom_set(m->sse_clients, NULL, (double)clients);
	prom_set(m->events_relayed, NULL, (double)relayed);
	prom_set(m->events_dropped, NULL, (double)dropped);
	if (m->gw->budget != NULL) {
		struct mem_budget_stats b;
		mem_budget_stats(m->gw->budget, &b);
		prom_set(m->mem_budget, NULL, (double)b.capacity_bytes);
		prom_set(m->mem_used, NULL, (double)b.used_bytes);
		prom_set(m->mem_peak, NULL, (double)b.peak_bytes);
		prom_set(m->mem_waiting, NULL, (double)b.waiting);
		prom_set(m->mem_refused, NULL, (double)b.refused);
	}
	struct pp_ping p;
	struct pp_error err = {0};
	bool up = m->gw->probe != NULL && pp_ping(m->gw->probe, &p, &err) == PP_OK;
	prom_set(m->tracker_reachable, NULL, up);
}

int metrics_new(struct gateway *gw, struct metrics **out)
{
	struct metrics *m = calloc(1, sizeof(*m));
	if (m == NULL || prom_registry_new(&m->reg) != PP_OK) {
		free(m);
		return PP_EINTERNAL;
	}
	m->gw = gw;
	struct prom_registry *r = m->reg;
	m->requests = prom_counter(r, "pp_http_requests_total", "HTTP requests by method, route and status code.", "method,route,code");
	m->duration = prom_histogram(r, "pp_http_request_duration_seconds", "HTTP requests from the first byte to the end of the response, by route.", "route", prom_buckets_transfer, prom_buckets_transfer_n);
	m->bytes_in = prom_counter(r, "pp_http_request_body_bytes_total", "Request body bytes received.", NULL);
	m->bytes_out = prom_counter(r, "pp_http_response_body_bytes_total", "File bytes sent in response bodies.", NULL);
	m->upload = prom_histogram(r, "pp_upload_duration_seconds", "Time to receive and commit an upload.", NULL, prom_buckets_transfer, prom_buckets_transfer_n);
	m->download = prom_histogram(r, "pp_download_duration_seconds", "Time to send a whole download or range.", NULL, prom_buckets_transfer, prom_buckets_transfer_n);
	m->sse_clients = prom_gauge(r, "pp_sse_clients", "Browsers connected to the event stream.", NULL);
	m->events_relayed = prom_counter(r, "pp_events_relayed_total", "Cluster events relayed to browsers.", NULL);
	m->events_dropped = prom_counter(r, "pp_events_dropped_total", "Events dropped from full per-client queues.", NULL);
	m->tracker_reachable = prom_gauge(r, "pp_tracker_reachable", "1 when the tracker answered this gateway's ping during the scrape.", NULL);
	m->mem_budget = prom_gauge(r, "pp_gateway_memory_budget_bytes", "Bytes downloads may hold in buffers at once (--max-memory).", NULL);
	m->mem_used = prom_gauge(r, "pp_gateway_memory_used_bytes", "Bytes of the memory budget held by downloads now.", NULL);
	m->mem_peak = prom_gauge(r, "pp_gateway_memory_peak_bytes", "Most bytes of the memory budget held at once since start.", NULL);
	m->mem_waiting = prom_gauge(r, "pp_gateway_memory_waiting", "Downloads waiting for memory budget now.", NULL);
	m->mem_refused = prom_counter(r, "pp_gateway_memory_refused_total", "Downloads refused (503) for want of memory budget.", NULL);
	if (!m->mem_budget || !m->mem_used || !m->mem_peak || !m->mem_waiting || !m->mem_refused) {
		metrics_free(m);
		return PP_EINTERNAL;
	}
	if (!m->requests || !m->duration || !m->bytes_in || !m->bytes_out || !m->upload ||
	    !m->download || !m->sse_clients || !m->events_relayed || !m->events_dropped ||
	    !m->tracker_reachable || prom_process_register(r, "gateway") != PP_OK ||
	    prom_collector_add(r, collect, m) != PP_OK) {
		metrics_free(m);
		return PP_EINTERNAL;
	}
	*out = m;
	return PP_OK;
}

void metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	prom_registry_free(m->reg);
	free(m);
}

struct prom_registry *metrics_registry(struct metrics *m) { return m->reg; }

void metrics_count_request(struct metrics *m, enum gw_route r, const char *method,
			   unsigned status, double seconds)
{
	if (status < 100 || status > 599)
		return;
	char code[4];
	snprintf(code, sizeof(code), "%u", status);
	prom_add(m->requests, PROM_L(method_label(method), metrics_route_name(r), code), 1);
	prom_observe(m->duration, PROM_L(metrics_route_name(r)), seconds);
}

void metrics_add_bytes_in(struct metrics *m, uint64_t n) { prom_add(m->bytes_in, NULL, (double)n); }
void metrics_add_bytes_out(struct metrics *m, uint64_t n) { prom_add(m->bytes_out, NULL, (double)n); }
void metrics_observe_upload(struct metrics *m, double s) { prom_observe(m->upload, NULL, s); }
void metrics_observe_download(struct metrics *m, double s) { prom_observe(m->download, NULL, s); }
