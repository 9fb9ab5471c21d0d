/* Prometheus text exposition for the gateway; see metrics.h.
 *
 * Request counts are a dense [route][status] table (statuses 100..599) so
 * counting never allocates; rendering walks it and prints non-zero cells.
 * Histograms use fixed buckets in seconds, cumulative as Prometheus wants. */
#define _GNU_SOURCE
#include "metrics.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATUS_MIN 100
#define STATUS_SPAN 500

static const double buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120};
#define NBUCKETS (sizeof(buckets) / sizeof(buckets[0]))

struct histogram {
	uint64_t counts[NBUCKETS]; /* per bucket, not cumulative */
	uint64_t inf;
	uint64_t n;
	double sum;
};

struct metrics {
	pthread_mutex_t lock; /* guards everything below */
	uint64_t requests[ROUTE_COUNT][STATUS_SPAN];
	uint64_t bytes_in, bytes_out;
	struct histogram upload, download;
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

int metrics_new(struct metrics **out)
{
	struct metrics *m = calloc(1, sizeof(*m));
	if (m == NULL)
		return PP_EINTERNAL;
	pthread_mutex_init(&m->lock, NULL);
	*out = m;
	return PP_OK;
}

void metrics_free(struct metrics *m)
{
	if (m == NULL)
		return;
	pthread_mutex_destroy(&m->lock);
	free(m);
}

void metrics_count_request(struct metrics *m, enum gw_route r, unsigned status)
{
	if (r >= ROUTE_COUNT || status < STATUS_MIN || status >= STATUS_MIN + STATUS_SPAN)
		return;
	pthread_mutex_lock(&m->lock);
	m->requests[r][status - STATUS_MIN]++;
	pthread_mutex_unlock(&m->lock);
}

void metrics_add_bytes_in(struct metrics *m, uint64_t n)
{
	pthread_mutex_lock(&m->lock);
	m->bytes_in += n;
	pthread_mutex_unlock(&m->lock);
}

void metrics_add_bytes_out(struct metrics *m, uint64_t n)
{
	pthread_mutex_lock(&m->lock);
	m->bytes_out += n;
	pthread_mutex_unlock(&m->lock);
}

static void observe(struct metrics *m, struct histogram *h, double s)
{
	pthread_mutex_lock(&m->lock);
	size_t i = 0;
	while (i < NBUCKETS && s > buckets[i])
		i++;
	if (i < NBUCKETS)
		h->counts[i]++;
	else
		h->inf++;
	h->n++;
	h->sum += s;
	pthread_mutex_unlock(&m->lock);
}

void metrics_observe_upload(struct metrics *m, double seconds) { observe(m, &m->upload, seconds); }
void metrics_observe_download(struct metrics *m, double seconds) { observe(m, &m->download, seconds); }

/* A growing text buffer; `bad` sticks after a failed allocation. */
struct text {
	char *p;
	size_t len, cap;
	bool bad;
};

__attribute__((format(printf, 2, 3))) static void out(struct text *t, const char *fmt, ...)
{
	if (t->bad)
		return;
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			t->bad = true;
			return;
		}
		if ((size_t)n < t->cap - t->len) {
			t->len += (size_t)n;
			return;
		}
		size_t cap = (t->cap + (size_t)n + 1) * 2;
		char *p = realloc(t->p, cap);
		if (p == NULL) {
			t->bad = true;
			return;
		}
		t->p = p;
		t->cap = cap;
	}
}

static void histogram_out(struct text *t, const char *name, const char *help, const struct histogram *h)
{
	out(t, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	uint64_t cum = 0;
	for (size_t i = 0; i < NBUCKETS; i++) {
		cum += h->counts[i];
		out(t, "%s_bucket{le=\"%g\"} %" PRIu64 "\n", name, buckets[i], cum);
	}
	out(t, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", name, cum + h->inf);
	out(t, "%s_sum %.6f\n%s_count %" PRIu64 "\n", name, h->sum, name, h->n);
}

static void gauge(struct text *t, const char *name, const char *help, double v)
{
	out(t, "# HELP %s %s\n# TYPE %s gauge\n%s %.17g\n", name, help, name, name, v);
}

char *metrics_render(struct metrics *m, const struct metrics_extra *x, size_t *len)
{
	struct text t = {.cap = 8192};
	t.p = malloc(t.cap);
	if (t.p == NULL)
		return NULL;
	pthread_mutex_lock(&m->lock);
	out(&t, "# HELP pp_http_requests_total HTTP requests by route and status.\n"
		"# TYPE pp_http_requests_total counter\n");
	for (int r = 0; r < ROUTE_COUNT; r++)
		for (int s = 0; s < STATUS_SPAN; s++)
			if (m->requests[r][s] > 0)
				out(&t, "pp_http_requests_total{route=\"%s\",status=\"%d\"} %" PRIu64 "\n",
				    route_names[r], s + STATUS_MIN, m->requests[r][s]);
	out(&t, "# HELP pp_http_bytes_in_total Request body bytes received.\n"
		"# TYPE pp_http_bytes_in_total counter\npp_http_bytes_in_total %" PRIu64 "\n",
	    m->bytes_in);
	out(&t, "# HELP pp_http_bytes_out_total File bytes sent.\n"
		"# TYPE pp_http_bytes_out_total counter\npp_http_bytes_out_total %" PRIu64 "\n",
	    m->bytes_out);
	histogram_out(&t, "pp_upload_duration_seconds", "Time to receive and commit an upload.",
		      &m->upload);
	histogram_out(&t, "pp_download_duration_seconds", "Time to send a whole download or range.",
		      &m->download);
	pthread_mutex_unlock(&m->lock);

	gauge(&t, "pp_sse_clients", "Browsers connected to the event stream.", (double)x->sse_clients);
	out(&t, "# HELP pp_events_relayed_total Cluster events relayed to browsers.\n"
		"# TYPE pp_events_relayed_total counter\npp_events_relayed_total %" PRIu64 "\n",
	    x->events_relayed);
	out(&t, "# HELP pp_events_dropped_total Events dropped from full per-client queues.\n"
		"# TYPE pp_events_dropped_total counter\npp_events_dropped_total %" PRIu64 "\n",
	    x->events_dropped);
	gauge(&t, "pp_cluster_reachable", "1 when the tracker answered the health query.",
	      x->cluster_ok ? 1 : 0);
	if (x->cluster_ok) {
		const struct pp_health *h = &x->health;
		gauge(&t, "pp_cluster_nodes_up", "Workers in state up.", h->nodes_up);
		gauge(&t, "pp_cluster_nodes_down", "Workers not up.", h->nodes_down);
		gauge(&t, "pp_cluster_files", "Committed files.", (double)h->files);
		gauge(&t, "pp_cluster_chunks", "Distinct chunks.", (double)h->chunks);
		gauge(&t, "pp_cluster_under_replicated_chunks",
		      "Chunks with fewer ok replicas than their factor.", (double)h->under_replicated);
		gauge(&t, "pp_cluster_lost_chunks", "Chunks with no ok or suspect replica.",
		      (double)h->lost);
		gauge(&t, "pp_cluster_repairs_in_flight", "Chunk repairs in progress.",
		      h->repairs_in_flight);
		gauge(&t, "pp_cluster_repairs_queued", "Chunk repairs waiting.", (double)h->repairs_queued);
		gauge(&t, "pp_cluster_bytes_stored", "Bytes held in ok replicas.", (double)h->bytes_stored);
	}
	if (t.bad) {
		free(t.p);
		return NULL;
	}
	*len = t.len;
	return t.p;
}
