/* Prometheus registry and text exposition; see prom.h.
 *
 * A family keeps its series in an array searched linearly by label values:
 * families here have tens of series (RPC methods x codes, nodes x states),
 * where a scan beats hashing. Histogram counts are stored per bucket and
 * made cumulative only when rendered. */
#define _GNU_SOURCE
#include "prom.h"
#include "errors.h"
#include "log.h"

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PROM_NAME_MAX 128
#define PROM_COLLECTORS_MAX 16

enum prom_type { PROM_COUNTER, PROM_GAUGE, PROM_HISTOGRAM };

struct prom_series {
	char *values[PROM_LABELS_MAX];
	double value;       /* counter, gauge */
	uint64_t *counts;   /* histogram: n_bounds + 1 (the last is +Inf) */
	double sum;
	uint64_t count;
};

struct prom_family {
	struct prom_registry *reg;
	struct prom_family *next;
	enum prom_type type;
	char name[PROM_NAME_MAX];
	char *help;
	size_t n_labels;
	char label_names[PROM_LABELS_MAX][PROM_NAME_MAX];
	double bounds[PROM_BUCKETS_MAX];
	size_t n_bounds;
	struct prom_series **series; /* owned, with everything they point to */
	size_t n_series, cap_series;
	bool overflow_logged;
	bool cleared; /* prom_clear: no sample at all until the next update */
};

struct prom_collector {
	prom_collect_fn fn;
	void *arg;
};

struct prom_registry {
	pthread_mutex_t lock;        /* guards families, their series, collectors */
	pthread_mutex_t scrape_lock; /* one scrape (collect + render) at a time */
	struct prom_family *first, *last;
	struct prom_collector collectors[PROM_COLLECTORS_MAX];
	size_t n_collectors;
};

const double prom_buckets_rpc[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
				   0.1,    0.25,  0.5,    1,     2.5,  5,     10};
const size_t prom_buckets_rpc_n = sizeof(prom_buckets_rpc) / sizeof(prom_buckets_rpc[0]);
const double prom_buckets_db[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
				  0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5};
const size_t prom_buckets_db_n = sizeof(prom_buckets_db) / sizeof(prom_buckets_db[0]);
const double prom_buckets_transfer[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
					1,     2.5,  5,     10,   30,  60,   120};
const size_t prom_buckets_transfer_n =
	sizeof(prom_buckets_transfer) / sizeof(prom_buckets_transfer[0]);

double prom_mono_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int prom_registry_new(struct prom_registry **out)
{
	struct prom_registry *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return PP_EINTERNAL;
	pthread_mutex_init(&r->lock, NULL);
	pthread_mutex_init(&r->scrape_lock, NULL);
	*out = r;
	return PP_OK;
}

static void series_free(struct prom_series *s)
{
	for (size_t i = 0; i < PROM_LABELS_MAX; i++)
		free(s->values[i]);
	free(s->counts);
	free(s);
}

static void family_clear_locked(struct prom_family *f)
{
	for (size_t i = 0; i < f->n_series; i++)
		series_free(f->series[i]);
	f->n_series = 0;
}

void prom_registry_free(struct prom_registry *r)
{
	if (r == NULL)
		return;
	struct prom_family *f = r->first;
	while (f != NULL) {
		struct prom_family *next = f->next;
		family_clear_locked(f);
		free(f->series);
		free(f->help);
		free(f);
		f = next;
	}
	pthread_mutex_destroy(&r->lock);
	pthread_mutex_destroy(&r->scrape_lock);
	free(r);
}

static bool name_valid(const char *s, bool metric)
{
	size_t n = strlen(s);
	if (n == 0 || n >= PROM_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
			     (metric && c == ':');
		if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
			return false;
	}
	return metric || strncmp(s, "__", 2) != 0;
}

/* Splits "a,b" into f->label_names; false on a bad or reserved name. */
static bool labels_parse(struct prom_family *f, const char *labels)
{
	f->n_labels = 0;
	if (labels == NULL || labels[0] == '\0')
		return true;
	const char *p = labels;
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		if (f->n_labels == PROM_LABELS_MAX || len == 0 || len >= PROM_NAME_MAX)
			return false;
		char *dst = f->label_names[f->n_labels++];
		memcpy(dst, p, len);
		dst[len] = '\0';
		if (!name_valid(dst, false) || (f->type == PROM_HISTOGRAM && strcmp(dst, "le") == 0))
			return false;
		if (comma == NULL)
			return true;
		p = comma + 1;
	}
}

static bool family_same(const struct prom_family *a, const struct prom_family *b)
{
	if (a->type != b->type || a->n_labels != b->n_labels || a->n_bounds != b->n_bounds)
		return false;
	for (size_t i = 0; i < a->n_labels; i++)
		if (strcmp(a->label_names[i], b->label_names[i]) != 0)
			return false;
	for (size_t i = 0; i < a->n_bounds; i++)
		if (a->bounds[i] != b->bounds[i])
			return false;
	return true;
}

static struct prom_family *family_register(struct prom_registry *r, enum prom_type type,
					   const char *name, const char *help, const char *labels,
					   const double *bounds, size_t n_bounds)
{
	struct prom_family *f = calloc(1, sizeof(*f));
	if (f == NULL)
		return NULL;
	f->reg = r;
	f->type = type;
	bool ok = name_valid(name, true) && labels_parse(f, labels) && n_bounds <= PROM_BUCKETS_MAX;
	for (size_t i = 0; ok && i < n_bounds; i++)
		ok = isfinite(bounds[i]) && (i == 0 || bounds[i] > bounds[i - 1]);
	if (ok) {
		snprintf(f->name, sizeof(f->name), "%s", name);
		if (n_bounds > 0)
			memcpy(f->bounds, bounds, n_bounds * sizeof(*bounds));
		f->n_bounds = n_bounds;
		f->help = strdup(help ? help : "");
		ok = f->help != NULL;
	}
	if (!ok) {
		log_error("metric_invalid", "name=%s labels=%s", log_q(name), log_q(labels ? labels : ""));
		free(f->help);
		free(f);
		return NULL;
	}
	pthread_mutex_lock(&r->lock);
	for (struct prom_family *g = r->first; g != NULL; g = g->next) {
		if (strcmp(g->name, name) != 0)
			continue;
		bool same = family_same(f, g);
		pthread_mutex_unlock(&r->lock);
		if (!same)
			log_error("metric_clash", "name=%s", log_q(name));
		free(f->help);
		free(f);
		return same ? g : NULL;
	}
	if (r->last)
		r->last->next = f;
	else
		r->first = f;
	r->last = f;
	pthread_mutex_unlock(&r->lock);
	return f;
}

struct prom_family *prom_counter(struct prom_registry *r, const char *name, const char *help,
				 const char *labels)
{
	return family_register(r, PROM_COUNTER, name, help, labels, NULL, 0);
}

struct prom_family *prom_gauge(struct prom_registry *r, const char *name, const char *help,
			       const char *labels)
{
	return family_register(r, PROM_GAUGE, name, help, labels, NULL, 0);
}

struct prom_family *prom_histogram(struct prom_registry *r, const char *name, const char *help,
				   const char *labels, const double *bounds, size_t n_bounds)
{
	return family_register(r, PROM_HISTOGRAM, name, help, labels, bounds, n_bounds);
}

/* Label value i, "" for a missing one. */
static const char *value_at(const char *const *values, size_t i)
{
	return values != NULL && values[i] != NULL ? values[i] : "";
}

static bool values_match(const struct prom_family *f, const struct prom_series *s,
			 const char *const *values)
{
	for (size_t i = 0; i < f->n_labels; i++)
		if (strncmp(s->values[i], value_at(values, i), PROM_LABEL_VALUE_MAX) != 0)
			return false;
	return true;
}

/* The series for these label values, created when new; NULL when the
 * family is full or memory ran out. Caller holds reg->lock. */
static struct prom_series *series_get(struct prom_family *f, const char *const *values)
{
	for (size_t i = 0; i < f->n_series; i++)
		if (values_match(f, f->series[i], values))
			return f->series[i];
	if (f->n_series == PROM_SERIES_MAX) {
		if (!f->overflow_logged)
			log_error("metric_series_dropped", "name=%s max=%d", log_q(f->name), PROM_SERIES_MAX);
		f->overflow_logged = true;
		return NULL;
	}
	if (f->n_series == f->cap_series) {
		size_t cap = f->cap_series ? f->cap_series * 2 : 8;
		struct prom_series **p = realloc(f->series, cap * sizeof(*p));
		if (p == NULL)
			return NULL;
		f->series = p;
		f->cap_series = cap;
	}
	struct prom_series *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	bool ok = true;
	for (size_t i = 0; i < f->n_labels && ok; i++)
		ok = (s->values[i] = strndup(value_at(values, i), PROM_LABEL_VALUE_MAX)) != NULL;
	if (ok && f->type == PROM_HISTOGRAM)
		ok = (s->counts = calloc(f->n_bounds + 1, sizeof(*s->counts))) != NULL;
	if (!ok) {
		series_free(s);
		return NULL;
	}
	f->series[f->n_series++] = s;
	f->cleared = false;
	return s;
}

static void update(struct prom_family *f, const char *const *values, double v, bool set)
{
	if (f == NULL || f->type == PROM_HISTOGRAM)
		return;
	pthread_mutex_lock(&f->reg->lock);
	struct prom_series *s = series_get(f, values);
	if (s != NULL)
		s->value = set ? v : s->value + v;
	pthread_mutex_unlock(&f->reg->lock);
}

void prom_add(struct prom_family *f, const char *const *values, double v)
{
	update(f, values, v, false);
}

void prom_set(struct prom_family *f, const char *const *values, double v)
{
	update(f, values, v, true);
}

void prom_observe(struct prom_family *f, const char *const *values, double v)
{
	if (f == NULL || f->type != PROM_HISTOGRAM || isnan(v))
		return;
	pthread_mutex_lock(&f->reg->lock);
	struct prom_series *s = series_get(f, values);
	if (s != NULL) {
		size_t i = 0;
		while (i < f->n_bounds && v > f->bounds[i])
			i++;
		s->counts[i]++;
		s->count++;
		s->sum += v;
	}
	pthread_mutex_unlock(&f->reg->lock);
}

void prom_clear(struct prom_family *f)
{
	if (f == NULL)
		return;
	pthread_mutex_lock(&f->reg->lock);
	family_clear_locked(f);
	f->cleared = true;
	pthread_mutex_unlock(&f->reg->lock);
}

int prom_collector_add(struct prom_registry *r, prom_collect_fn fn, void *arg)
{
	int rc = PP_EINTERNAL;
	pthread_mutex_lock(&r->lock);
	if (r->n_collectors < PROM_COLLECTORS_MAX) {
		r->collectors[r->n_collectors++] = (struct prom_collector){fn, arg};
		rc = PP_OK;
	}
	pthread_mutex_unlock(&r->lock);
	return rc;
}

/* ---- text exposition ---------------------------------------------------- */

/* A growing text buffer; `bad` sticks after a failed allocation. */
struct text {
	char *p;
	size_t len, cap;
	bool bad;
};

static void put_n(struct text *t, const char *s, size_t n)
{
	if (t->bad)
		return;
	if (t->len + n + 1 > t->cap) {
		size_t cap = (t->cap + n + 1) * 2;
		char *p = realloc(t->p, cap);
		if (p == NULL) {
			t->bad = true;
			return;
		}
		t->p = p;
		t->cap = cap;
	}
	memcpy(t->p + t->len, s, n);
	t->len += n;
	t->p[t->len] = '\0';
}

static void put(struct text *t, const char *s) { put_n(t, s, strlen(s)); }

/* help: escape \ and newline; label values: also ". */
static void put_escaped(struct text *t, const char *s, bool quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			put(t, "\\\\");
		else if (*s == '\n')
			put(t, "\\n");
		else if (quote && *s == '"')
			put(t, "\\\"");
		else
			put_n(t, s, 1);
	}
}

/* Integers in full, other values in the shortest text that reads back as
 * the same double; NaN and +Inf as Prometheus spells them. */
static void format_value(double v, char *buf, size_t len)
{
	if (isnan(v)) {
		snprintf(buf, len, "NaN");
		return;
	}
	if (isinf(v)) {
		snprintf(buf, len, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	if (v == floor(v) && fabs(v) < 9007199254740992.0) { /* integers below 2^53: exact */
		snprintf(buf, len, "%.0f", v);
		return;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, len, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

/* name{a="x",b="y",extra} value */
static void put_sample(struct text *t, const struct prom_family *f, const char *suffix,
		       const struct prom_series *s, const char *le, double v)
{
	put(t, f->name);
	put(t, suffix);
	if (f->n_labels > 0 || le != NULL) {
		put(t, "{");
		for (size_t i = 0; i < f->n_labels; i++) {
			if (i > 0)
				put(t, ",");
			put(t, f->label_names[i]);
			put(t, "=\"");
			put_escaped(t, s ? s->values[i] : "", true);
			put(t, "\"");
		}
		if (le != NULL) {
			put(t, f->n_labels > 0 ? ",le=\"" : "le=\"");
			put(t, le);
			put(t, "\"");
		}
		put(t, "}");
	}
	char num[40];
	format_value(v, num, sizeof(num));
	put(t, " ");
	put(t, num);
	put(t, "\n");
}

static void put_histogram(struct text *t, const struct prom_family *f, const struct prom_series *s)
{
	static const uint64_t zero[PROM_BUCKETS_MAX + 1];
	const uint64_t *counts = s ? s->counts : zero;
	uint64_t cum = 0;
	char le[40];
	for (size_t i = 0; i <= f->n_bounds; i++) {
		cum += counts[i];
		if (i < f->n_bounds)
			format_value(f->bounds[i], le, sizeof(le));
		else
			snprintf(le, sizeof(le), "+Inf");
		put_sample(t, f, "_bucket", s, le, (double)cum);
	}
	put_sample(t, f, "_sum", s, NULL, s ? s->sum : 0);
	put_sample(t, f, "_count", s, NULL, s ? (double)s->count : 0);
}

static void put_family(struct text *t, const struct prom_family *f)
{
	static const char *const type_names[] = {"counter", "gauge", "histogram"};
	put(t, "# HELP ");
	put(t, f->name);
	put(t, " ");
	put_escaped(t, f->help, false);
	put(t, "\n# TYPE ");
	put(t, f->name);
	put(t, " ");
	put(t, type_names[f->type]);
	put(t, "\n");
	/* A family without labels has its one series, zero until set, unless
	 * it was cleared (the process has no value to give now). */
	if (f->n_series == 0 && f->n_labels == 0 && !f->cleared) {
		if (f->type == PROM_HISTOGRAM)
			put_histogram(t, f, NULL);
		else
			put_sample(t, f, "", NULL, NULL, 0);
		return;
	}
	for (size_t i = 0; i < f->n_series; i++) {
		if (f->type == PROM_HISTOGRAM)
			put_histogram(t, f, f->series[i]);
		else
			put_sample(t, f, "", f->series[i], NULL, f->series[i]->value);
	}
}

int prom_render(struct prom_registry *r, char **text, size_t *len)
{
	pthread_mutex_lock(&r->scrape_lock);
	pthread_mutex_lock(&r->lock);
	size_t n = r->n_collectors;
	struct prom_collector cs[PROM_COLLECTORS_MAX];
	memcpy(cs, r->collectors, n * sizeof(*cs));
	pthread_mutex_unlock(&r->lock);
	for (size_t i = 0; i < n; i++)
		cs[i].fn(cs[i].arg);

	struct text t = {0};
	put(&t, "");
	pthread_mutex_lock(&r->lock);
	for (const struct prom_family *f = r->first; f != NULL; f = f->next)
		put_family(&t, f);
	pthread_mutex_unlock(&r->lock);
	pthread_mutex_unlock(&r->scrape_lock);
	if (t.bad) {
		free(t.p);
		return PP_EINTERNAL;
	}
	*text = t.p;
	*len = t.len;
	return PP_OK;
}
