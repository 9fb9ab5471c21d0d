/* pp-bench-client: many small files from concurrent clients through the
 * public client library (libppclient), the workload where metadata round
 * trips, not bandwidth, set the pace.
 *   small TRACKER COUNT SIZE THREADS — THREADS threads share one pp_client
 *   (it is thread-safe), put COUNT distinct files of SIZE bytes, then get
 *   them all back and check every byte; then delete them.
 * Output: one JSON object (jansson): files/s and p50/p99 latency per phase. */
#define _GNU_SOURCE
#include "ppclient.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define THREADS_MAX 64
#define NAME_BYTES 96

struct run {
	pp_client *client;
	size_t count, size;
	atomic_size_t next;
	atomic_int failed;
	double *lat_ms; /* one per file, written by whichever thread did it */
	char prefix[64];
	int phase; /* 0 put, 1 get, 2 delete */
	char first_error[600];
	pthread_mutex_t err_lock; /* guards first_error */
};

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Content of file i: distinct per file (no dedup shortcut), reproducible. */
static void fill(unsigned char *buf, size_t size, size_t i, const char *prefix)
{
	uint64_t x = 0x9e3779b97f4a7c15ull ^ (uint64_t)i;
	for (const char *p = prefix; *p; p++)
		x = (x ^ (unsigned char)*p) * 0x100000001b3ull;
	for (size_t k = 0; k < size; k++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[k] = (unsigned char)x;
	}
}

static void record_error(struct run *r, const char *what, size_t i, const struct pp_error *e)
{
	pthread_mutex_lock(&r->err_lock);
	if (r->first_error[0] == '\0')
		snprintf(r->first_error, sizeof r->first_error, "%s file %zu: %s", what, i,
			 e ? e->message : "content differs");
	pthread_mutex_unlock(&r->err_lock);
	atomic_fetch_add(&r->failed, 1);
}

/* pp_put_fd / pp_get_fd need an fd: one in-memory file per thread, reused. */
static void *worker(void *arg)
{
	struct run *r = arg;
	unsigned char *want = malloc(r->size ? r->size : 1), *got = malloc(r->size + 1);
	int memfd = memfd_create("pp-bench-get", MFD_CLOEXEC);
	char name[NAME_BYTES];
	if (!want || !got || memfd < 0) {
		record_error(r, "setup", 0, NULL);
		goto out;
	}
	for (;;) {
		size_t i = atomic_fetch_add(&r->next, 1);
		if (i >= r->count || atomic_load(&r->failed))
			break;
		snprintf(name, sizeof name, "%s/%zu", r->prefix, i);
		struct pp_error e = {0};
		double t0 = now_ms();
		if (r->phase == 0) {
			fill(want, r->size, i, r->prefix);
			if (ftruncate(memfd, 0) != 0 || pwrite(memfd, want, r->size, 0) != (ssize_t)r->size ||
			    lseek(memfd, 0, SEEK_SET) != 0) {
				record_error(r, "put staging", i, NULL);
				break;
			}
			t0 = now_ms();
			struct pp_put_options po = {.name = name};
			if (pp_put_fd(r->client, memfd, &po, NULL, &e) != 0) {
				record_error(r, "put", i, &e);
				break;
			}
		} else if (r->phase == 1) {
			if (ftruncate(memfd, 0) != 0 || lseek(memfd, 0, SEEK_SET) != 0) {
				record_error(r, "get staging", i, NULL);
				break;
			}
			struct pp_get_options go = {0};
			if (pp_get_fd(r->client, name, memfd, &go, NULL, &e) != 0) {
				record_error(r, "get", i, &e);
				break;
			}
			r->lat_ms[i] = now_ms() - t0;
			fill(want, r->size, i, r->prefix);
			ssize_t n = pread(memfd, got, r->size + 1, 0);
			if (n != (ssize_t)r->size || memcmp(want, got, r->size) != 0) {
				record_error(r, "get", i, NULL);
				break;
			}
			continue;
		} else if (pp_delete(r->client, name, &e) != 0) {
			record_error(r, "delete", i, &e);
			break;
		}
		r->lat_ms[i] = now_ms() - t0;
	}
out:
	if (memfd >= 0)
		close(memfd);
	free(want);
	free(got);
	return NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(const double *s, size_t n, double p)
{
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);
	return n ? s[i < n ? i : n - 1] : 0.0;
}

static int phase(struct run *r, int which, int threads, json_t **out)
{
	pthread_t th[THREADS_MAX];
	int started = 0;
	r->phase = which;
	atomic_store(&r->next, 0);
	memset(r->lat_ms, 0, r->count * sizeof *r->lat_ms);
	double t0 = now_ms();
	for (int t = 0; t < threads; t++) {
		if (pthread_create(&th[t], NULL, worker, r) != 0)
			break;
		started++;
	}
	for (int t = 0; t < started; t++)
		pthread_join(th[t], NULL);
	double wall = now_ms() - t0;
	if (started != threads || atomic_load(&r->failed))
		return -1;
	qsort(r->lat_ms, r->count, sizeof *r->lat_ms, cmp_double);
	*out = json_pack("{s:f, s:f, s:f, s:f}", "files_per_s", (double)r->count * 1e3 / wall,
			 "p50_ms", pct(r->lat_ms, r->count, 0.5), "p99_ms",
			 pct(r->lat_ms, r->count, 0.99), "seconds", wall / 1e3);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 6 || strcmp(argv[1], "small") != 0) {
		fprintf(stderr, "usage: pp-bench-client small TRACKER COUNT SIZE THREADS\n");
		return argc > 1 && !strcmp(argv[1], "--help") ? 0 : 1;
	}
	long count = strtol(argv[3], NULL, 10), size = strtol(argv[4], NULL, 10),
	     threads = strtol(argv[5], NULL, 10);
	if (count <= 0 || count > 10000000 || size <= 0 || size > (64l << 20) || threads <= 0 ||
	    threads > THREADS_MAX) {
		fprintf(stderr, "pp-bench-client: COUNT 1..1e7, SIZE 1..64 MiB, THREADS 1..%d\n",
			THREADS_MAX);
		return 1;
	}
	struct run r = {.count = (size_t)count, .size = (size_t)size};
	pthread_mutex_init(&r.err_lock, NULL);
	snprintf(r.prefix, sizeof r.prefix, "bench/small-%d-%ld", (int)getpid(), (long)time(NULL));
	r.lat_ms = calloc(r.count, sizeof *r.lat_ms);
	struct pp_client_options opt = {.tracker = argv[2], .timeout_ms = 10000};
	struct pp_error e = {0};
	int rc = 1;
	json_t *put = NULL, *get = NULL, *del = NULL;
	if (!r.lat_ms || pp_client_open(&opt, &r.client, &e) != 0) {
		fprintf(stderr, "pp-bench-client: %s\n", e.message);
		goto out;
	}
	if (phase(&r, 0, (int)threads, &put) != 0 || phase(&r, 1, (int)threads, &get) != 0 ||
	    phase(&r, 2, (int)threads, &del) != 0) {
		fprintf(stderr, "pp-bench-client: %s\n", r.first_error);
		goto out;
	}
	json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:O, s:O, s:O}", "test", "small-files", "files",
			      (json_int_t)count, "file_bytes", (json_int_t)size, "threads",
			      (json_int_t)threads, "put", put, "get", get, "delete", del);
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	if (s) {
		puts(s);
		rc = 0;
	}
	free(s);
	json_decref(o);
out:
	json_decref(put);
	json_decref(get);
	json_decref(del);
	if (r.client)
		pp_client_close(r.client);
	free(r.lat_ms);
	pthread_mutex_destroy(&r.err_lock);
	return rc;
}
