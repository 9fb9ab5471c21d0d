/* Prometheus metrics: a registry of counter, gauge and histogram families
 * and the text exposition format (version 0.0.4) every service serves at
 * /metrics (DESIGN.md, "Binaries": --metrics).
 *
 * Concurrency: `lock` in the registry guards every series and is always the
 * innermost lock, so updates are safe from any thread, including with a
 * module's own lock held. Collectors (values read at scrape time from other
 * modules) run one scrape at a time under `scrape_lock`, outside `lock`.
 * Bounds: PROM_LABELS_MAX labels per family, PROM_SERIES_MAX series per
 * family (more are dropped and logged once). */
#ifndef PP_COMMON_PROM_H
#define PP_COMMON_PROM_H

#include <stddef.h>

#define PROM_LABELS_MAX 4
#define PROM_SERIES_MAX 4096
#define PROM_BUCKETS_MAX 24
#define PROM_LABEL_VALUE_MAX 256 /* longer values are cut */

struct prom_registry;
struct prom_family;

/* Label values in the order the family's label names were given. */
#define PROM_L(...) ((const char *const[]){__VA_ARGS__})

int prom_registry_new(struct prom_registry **out);
void prom_registry_free(struct prom_registry *r);

/* Registers a family; `labels` is a comma-separated list of label names
 * ("method,code") or NULL. Registering a name again with the same type and
 * labels returns the family already there. NULL (logged) on a bad name,
 * a clash or no memory; every update below accepts a NULL family. */
struct prom_family *prom_counter(struct prom_registry *r, const char *name, const char *help,
				 const char *labels);
struct prom_family *prom_gauge(struct prom_registry *r, const char *name, const char *help,
			       const char *labels);
/* bounds: ascending upper bounds, without +Inf; at most PROM_BUCKETS_MAX. */
struct prom_family *prom_histogram(struct prom_registry *r, const char *name, const char *help,
				   const char *labels, const double *bounds, size_t n_bounds);

/* values: one per label (PROM_L("put_chunk", "ok")), NULL for none. */
void prom_add(struct prom_family *f, const char *const *values, double v);
/* Gauges; also counters mirrored from a module that keeps its own total. */
void prom_set(struct prom_family *f, const char *const *values, double v);
void prom_observe(struct prom_family *f, const char *const *values, double v);
/* Forgets every series (a collector about to set the current ones); a family
 * without labels then shows no sample until it is set again. */
void prom_clear(struct prom_family *f);

/* Called at each scrape before rendering, in registration order. */
typedef void (*prom_collect_fn)(void *arg);
int prom_collector_add(struct prom_registry *r, prom_collect_fn fn, void *arg);

/* Runs the collectors and renders every family: *text is malloc'd (the
 * caller frees it), *len its length. PP_EINTERNAL when out of memory. */
int prom_render(struct prom_registry *r, char **text, size_t *len);

/* Monotonic seconds, for durations observed into histograms. */
double prom_mono_seconds(void);

/* Bucket sets: RPC and HTTP latencies, SQLite transactions, long transfers. */
extern const double prom_buckets_rpc[];
extern const size_t prom_buckets_rpc_n;
extern const double prom_buckets_db[];
extern const size_t prom_buckets_db_n;
extern const double prom_buckets_transfer[];
extern const size_t prom_buckets_transfer_n;

#endif
