/* pp-bench-rpc: latency of single tracker RPCs, measured from outside the
 * tracker through the services' own codec (ppwire), one call at a time so a
 * figure is the cost of one request and not of a queue.
 *   place    — upload_begin, then COUNT place calls of distinct synthetic
 *              chunk ids (the placement path a real upload takes), then abort:
 *              nothing becomes visible and the session's records are collected.
 *   manifest — COUNT manifest lookups of names picked at random from a list.
 *   ingest   — COUNT files of CHUNKS synthetic chunks each committed by
 *              THREADS concurrent clients (files that fail are counted in
 *              `failed`, not in files_per_s): upload_begin, place per chunk,
 *              replicas_added as the workers named would send it (no bytes
 *              move: this measures the tracker's metadata path, including
 *              the metadata records it writes to real workers), commit.
 *   ls       — COUNT name searches for words from a list (with the mean and
 *              largest number of matches the tracker reported).
 *   health   — COUNT health calls.
 * Output: one JSON object (jansson) with p50/p99/mean in milliseconds. */
#define _GNU_SOURCE
#include "auth.h"
#include "errors.h"
#include "hash.h"
#include "rpc_client.h"
#include "timeutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CALL_TIMEOUT_MS_DEFAULT 10000
#define CALL_TIMEOUT_MS_MAX 3600000

/* Per call; --timeout-ms sets it (one call to a tracker busy for minutes). */
static int call_timeout_ms = CALL_TIMEOUT_MS_DEFAULT;
#define NAMES_MAX 100000

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(const double *sorted, size_t n, double p)
{
	if (n == 0)
		return 0.0;
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);
	return sorted[i < n ? i : n - 1];
}

static json_t *latency_json(const char *test, double *lat, size_t n, double wall_ms)
{
	double sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += lat[i];
	qsort(lat, n, sizeof *lat, cmp_double);
	return json_pack("{s:s, s:I, s:f, s:f, s:f, s:f, s:f}", "test", test, "count",
			 (json_int_t)n, "p50_ms", pct(lat, n, 0.50), "p99_ms", pct(lat, n, 0.99),
			 "mean_ms", n ? sum / (double)n : 0.0, "max_ms", n ? lat[n - 1] : 0.0,
			 "calls_per_s", wall_ms > 0 ? (double)n * 1e3 / wall_ms : 0.0);
}

static int emit(json_t *o)
{
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!s)
		return 1;
	puts(s);
	free(s);
	return 0;
}

static int cmd_place(struct rpc_peers *peers, struct auth *a, const char *tracker, size_t count)
{
	int rc = 1, r;
	struct rpc_reply rep = {0};
	double *lat = calloc(count, sizeof *lat);
	char name[128];
	uint64_t upload_id = 0;
	bool begun = false;
	if (!lat)
		return 1;
	snprintf(name, sizeof name, "pp-bench/place-%d-%lld", (int)getpid(),
		 (long long)time_wall_ms());

	Pp__V1__Request req = PP__V1__REQUEST__INIT;
	Pp__V1__UploadBeginRequest begin = PP__V1__UPLOAD_BEGIN_REQUEST__INIT;
	begin.name = name;
	req.body_case = PP__V1__REQUEST__BODY_UPLOAD_BEGIN;
	req.upload_begin = &begin;
	r = rpc_call(peers, tracker, a, &req, NULL, 0, call_timeout_ms, &rep);
	if (r != PP_OK || rep.resp->body_case != PP__V1__RESPONSE__BODY_UPLOAD_BEGIN) {
		fprintf(stderr, "place: upload_begin: %s\n", rpc_reply_error(&rep, r));
		goto out;
	}
	upload_id = rep.resp->upload_begin->upload_id;
	uint32_t chunk_size = rep.resp->upload_begin->chunk_size;
	begun = true;
	rpc_reply_free(&rep);

	double t_start = now_ms();
	for (size_t i = 0; i < count; i++) {
		char seed[192], id[PP_SHA256_HEX];
		snprintf(seed, sizeof seed, "%s/%zu", name, i);
		sha256_hex(seed, strlen(seed), id);
		Pp__V1__PlaceRequest place = PP__V1__PLACE_REQUEST__INIT;
		place.upload_id = upload_id;
		place.index = i;
		place.chunk_id = id;
		place.size = chunk_size ? chunk_size : 4096;
		req.body_case = PP__V1__REQUEST__BODY_PLACE;
		req.place = &place;
		double t0 = now_ms();
		r = rpc_call(peers, tracker, a, &req, NULL, 0, call_timeout_ms, &rep);
		lat[i] = now_ms() - t0;
		if (r != PP_OK || rep.resp->body_case != PP__V1__RESPONSE__BODY_PLACE ||
		    rep.resp->place->n_targets == 0) {
			fprintf(stderr, "place: chunk %zu: %s\n", i,
				r != PP_OK ? rpc_reply_error(&rep, r) : "no targets returned");
			goto out;
		}
		rpc_reply_free(&rep);
	}
	rc = emit(latency_json("place", lat, count, now_ms() - t_start));
out:
	rpc_reply_free(&rep);
	if (begun) {
		/* Leave nothing behind: the upload never becomes a file. */
		Pp__V1__UploadAbortRequest ab = PP__V1__UPLOAD_ABORT_REQUEST__INIT;
		ab.upload_id = upload_id;
		req.body_case = PP__V1__REQUEST__BODY_UPLOAD_ABORT;
		req.upload_abort = &ab;
		r = rpc_call(peers, tracker, a, &req, NULL, 0, call_timeout_ms, &rep);
		if (r != PP_OK)
			fprintf(stderr, "place: upload_abort: %s\n", rpc_reply_error(&rep, r));
		rpc_reply_free(&rep);
	}
	free(lat);
	return rc;
}

/* Names, one a line. */
static int read_names(const char *path, char ***out, size_t *n_out)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "manifest: %s: %s\n", path, strerror(errno));
		return -1;
	}
	char **names = NULL, *line = NULL;
	size_t n = 0, cap = 0, lcap = 0;
	ssize_t len;
	while ((len = getline(&line, &lcap, f)) > 0 && n < NAMES_MAX) {
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			char **nn = realloc(names, cap * sizeof *names);
			if (!nn)
				break;
			names = nn;
		}
		names[n++] = strdup(line);
	}
	free(line);
	fclose(f);
	*out = names;
	*n_out = n;
	return n ? 0 : -1;
}

static int cmd_manifest(struct rpc_peers *peers, struct auth *a, const char *tracker,
			size_t count, const char *names_path, uint32_t max_chunks)
{
	char **names = NULL;
	size_t n_names = 0;
	int rc = 1, r;
	double *lat = calloc(count, sizeof *lat);
	uint64_t chunks_seen = 0;
	if (!lat || read_names(names_path, &names, &n_names) != 0) {
		fprintf(stderr, "manifest: no names to look up\n");
		goto out;
	}
	srand((unsigned)getpid());
	double t_start = now_ms();
	for (size_t i = 0; i < count; i++) {
		Pp__V1__Request req = PP__V1__REQUEST__INIT;
		Pp__V1__ManifestRequest m = PP__V1__MANIFEST_REQUEST__INIT;
		struct rpc_reply rep;
		m.name = names[(size_t)rand() % n_names];
		m.max_chunks = max_chunks;
		req.body_case = PP__V1__REQUEST__BODY_MANIFEST;
		req.manifest = &m;
		double t0 = now_ms();
		r = rpc_call(peers, tracker, a, &req, NULL, 0, call_timeout_ms, &rep);
		lat[i] = now_ms() - t0;
		if (r != PP_OK || rep.resp->body_case != PP__V1__RESPONSE__BODY_MANIFEST) {
			fprintf(stderr, "manifest: %s: %s\n", m.name, rpc_reply_error(&rep, r));
			rpc_reply_free(&rep);
			goto out;
		}
		chunks_seen += rep.resp->manifest->n_chunks;
		rpc_reply_free(&rep);
	}
	json_t *o = latency_json("manifest", lat, count, now_ms() - t_start);
	json_object_set_new(o, "chunks_per_lookup",
			    json_real(count ? (double)chunks_seen / (double)count : 0.0));
	json_object_set_new(o, "max_chunks", json_integer(max_chunks));
	rc = emit(o);
out:
	for (size_t i = 0; i < n_names; i++)
		free(names[i]);
	free(names);
	free(lat);
	return rc;
}

struct ingest {
	struct rpc_peers *peers;
	struct auth *a;
	const char *tracker;
	char **nodes;
	size_t n_nodes;
	size_t count, chunks;
	char prefix[96];
	atomic_size_t next, failed;
	double *lat; /* per file, whole sequence */
};

static int call_ok(struct ingest *g, Pp__V1__Request *req, Pp__V1__Response__BodyCase want,
		   struct rpc_reply *rep)
{
	int r = rpc_call(g->peers, g->tracker, g->a, req, NULL, 0, call_timeout_ms, rep);
	if (r == PP_OK && want != PP__V1__RESPONSE__BODY__NOT_SET && rep->resp->body_case != want)
		r = PP_EINTERNAL;
	return r;
}

/* One file: begin, place and register every chunk, commit. */
static int ingest_one(struct ingest *g, size_t i)
{
	char name[160];
	snprintf(name, sizeof name, "%s/%07zu", g->prefix, i);
	struct rpc_reply rep = {0};
	Pp__V1__Request req = PP__V1__REQUEST__INIT;
	Pp__V1__UploadBeginRequest begin = PP__V1__UPLOAD_BEGIN_REQUEST__INIT;
	begin.name = name;
	req.body_case = PP__V1__REQUEST__BODY_UPLOAD_BEGIN;
	req.upload_begin = &begin;
	int r = call_ok(g, &req, PP__V1__RESPONSE__BODY_UPLOAD_BEGIN, &rep);
	if (r != PP_OK) {
		fprintf(stderr, "ingest: %s: upload_begin: %s\n", name, rpc_reply_error(&rep, r));
		rpc_reply_free(&rep);
		return r;
	}
	uint64_t upload = rep.resp->upload_begin->upload_id;
	uint32_t repl = rep.resp->upload_begin->replication;
	rpc_reply_free(&rep);
	for (size_t k = 0; r == PP_OK && k < g->chunks; k++) {
		char seed[192], id[PP_SHA256_HEX];
		snprintf(seed, sizeof seed, "%s#%zu", name, k);
		sha256_hex(seed, strlen(seed), id);
		Pp__V1__PlaceRequest place = PP__V1__PLACE_REQUEST__INIT;
		place.upload_id = upload;
		place.index = k;
		place.chunk_id = id;
		place.size = 4096;
		req.body_case = PP__V1__REQUEST__BODY_PLACE;
		req.place = &place;
		r = call_ok(g, &req, PP__V1__RESPONSE__BODY_PLACE, &rep);
		if (r != PP_OK)
			fprintf(stderr, "ingest: %s: place: %s\n", name, rpc_reply_error(&rep, r));
		rpc_reply_free(&rep);
		for (uint32_t c = 0; r == PP_OK && c < repl; c++) {
			Pp__V1__ChunkRef ref = PP__V1__CHUNK_REF__INIT;
			ref.id = id;
			ref.size = 4096;
			ref.gen = ((uint64_t)(i + 1) << 8) | k; /* generation 0 means "none" */
			Pp__V1__ChunkRef *refs[1] = {&ref};
			Pp__V1__ReplicasAddedRequest ra = PP__V1__REPLICAS_ADDED_REQUEST__INIT;
			ra.node_id = g->nodes[(i + k + c) % g->n_nodes];
			ra.n_chunks = 1;
			ra.chunks = refs;
			req.body_case = PP__V1__REQUEST__BODY_REPLICAS_ADDED;
			req.replicas_added = &ra;
			r = call_ok(g, &req, PP__V1__RESPONSE__BODY__NOT_SET, &rep);
			if (r != PP_OK)
				fprintf(stderr, "ingest: %s: replicas_added: %s\n", name,
					rpc_reply_error(&rep, r));
			rpc_reply_free(&rep);
		}
	}
	if (r != PP_OK)
		return r;
	Pp__V1__CommitRequest commit = PP__V1__COMMIT_REQUEST__INIT;
	char sha[PP_SHA256_HEX];
	sha256_hex(name, strlen(name), sha);
	commit.upload_id = upload;
	commit.size = 4096 * g->chunks;
	commit.sha256 = sha;
	commit.chunk_count = g->chunks;
	req.body_case = PP__V1__REQUEST__BODY_COMMIT;
	req.commit = &commit;
	r = call_ok(g, &req, PP__V1__RESPONSE__BODY_FILE, &rep);
	if (r != PP_OK)
		fprintf(stderr, "ingest: %s: commit: %s\n", name, rpc_reply_error(&rep, r));
	rpc_reply_free(&rep);
	return r;
}

static void *ingest_main(void *arg)
{
	struct ingest *g = arg;
	for (size_t i; (i = atomic_fetch_add(&g->next, 1)) < g->count;) {
		double t0 = now_ms();
		if (ingest_one(g, i) != PP_OK)
			atomic_fetch_add(&g->failed, 1);
		g->lat[i] = now_ms() - t0;
	}
	return NULL;
}

static int cmd_ingest(struct rpc_peers *peers, struct auth *a, const char *tracker, size_t count,
		      size_t threads, const char *nodes, size_t chunks, const char *prefix)
{
	struct ingest g = {.peers = peers, .a = a, .tracker = tracker, .count = count,
			   .chunks = chunks ? chunks : 1};
	snprintf(g.prefix, sizeof g.prefix, "%s", prefix);
	char *list = strdup(nodes), *save = NULL;
	g.nodes = calloc(64, sizeof(char *));
	g.lat = calloc(count, sizeof(double));
	if (!list || !g.nodes || !g.lat)
		return 1;
	for (char *t = strtok_r(list, ",", &save); t && g.n_nodes < 64; t = strtok_r(NULL, ",", &save))
		g.nodes[g.n_nodes++] = t;
	pthread_t *tids = calloc(threads, sizeof(pthread_t));
	double t_start = now_ms();
	size_t started = 0;
	for (; tids && started < threads; started++)
		if (pthread_create(&tids[started], NULL, ingest_main, &g) != 0)
			break;
	for (size_t k = 0; k < started; k++)
		pthread_join(tids[k], NULL);
	double wall = now_ms() - t_start;
	json_t *o = latency_json("ingest", g.lat, count, wall);
	json_object_set_new(o, "threads", json_integer((json_int_t)started));
	json_object_set_new(o, "chunks_per_file", json_integer((json_int_t)g.chunks));
	json_object_set_new(o, "failed", json_integer((json_int_t)atomic_load(&g.failed)));
	/* A file that failed (each one is on stderr) does not count; the run
	 * fails only when none got through, so a figure says how many did. */
	size_t failed = atomic_load(&g.failed);
	json_object_set_new(o, "files_per_s",
			    json_real(wall > 0 ? (double)(count - failed) * 1e3 / wall : 0));
	int rc = failed == count ? 1 : emit(o);
	if (rc)
		json_decref(o);
	free(tids);
	free(g.lat);
	free(g.nodes);
	free(list);
	return rc;
}

static int cmd_simple(struct rpc_peers *peers, struct auth *a, const char *tracker, size_t count,
		      const char *what, const char *words_path)
{
	char **words = NULL;
	size_t n_words = 0;
	if (words_path && read_names(words_path, &words, &n_words) != 0)
		return 1;
	double *lat = calloc(count, sizeof *lat);
	if (!lat)
		return 1;
	int rc = 0;
	uint64_t matches = 0, matches_max = 0; /* ls: the total each search reported */
	double t_start = now_ms();
	for (size_t i = 0; rc == 0 && i < count; i++) {
		Pp__V1__Request req = PP__V1__REQUEST__INIT;
		Pp__V1__ListRequest l = PP__V1__LIST_REQUEST__INIT;
		Pp__V1__HealthRequest h = PP__V1__HEALTH_REQUEST__INIT;
		if (words) {
			l.query = words[i % n_words];
			l.limit = 100;
			req.body_case = PP__V1__REQUEST__BODY_LIST;
			req.list = &l;
		} else {
			req.body_case = PP__V1__REQUEST__BODY_HEALTH;
			req.health = &h;
		}
		struct rpc_reply rep;
		double t0 = now_ms();
		int r = rpc_call(peers, tracker, a, &req, NULL, 0, call_timeout_ms, &rep);
		lat[i] = now_ms() - t0;
		if (r != PP_OK) {
			fprintf(stderr, "%s: %s\n", what, rpc_reply_error(&rep, r));
			rc = 1;
		} else if (words && rep.resp->body_case == PP__V1__RESPONSE__BODY_LIST) {
			uint64_t total = rep.resp->list->total;
			matches += total;
			matches_max = total > matches_max ? total : matches_max;
		}
		rpc_reply_free(&rep);
	}
	if (rc == 0) {
		json_t *o = latency_json(what, lat, count, now_ms() - t_start);
		if (words) {
			json_object_set_new(o, "matches_mean",
					    json_real(count ? (double)matches / (double)count : 0.0));
			json_object_set_new(o, "matches_max", json_integer((json_int_t)matches_max));
		}
		rc = emit(o);
	}
	for (size_t i = 0; i < n_words; i++)
		free(words[i]);
	free(words);
	free(lat);
	return rc;
}

static int usage(void)
{
	fprintf(stderr, "usage: pp-bench-rpc [--key-file PATH] [--timeout-ms MS] place TRACKER COUNT\n"
			"       pp-bench-rpc [--key-file PATH] manifest TRACKER COUNT NAMES_FILE "
			"[MAX_CHUNKS]\n"
			"       pp-bench-rpc [--key-file PATH] ingest TRACKER COUNT THREADS NODE,NODE... "
			"CHUNKS PREFIX\n"
			"       pp-bench-rpc [--key-file PATH] ls TRACKER COUNT WORDS_FILE\n"
			"       pp-bench-rpc [--key-file PATH] health TRACKER COUNT\n");
	return 1;
}

int main(int argc, char **argv)
{
	const char *key_file = NULL;
	int i = 1;
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage();
		return 0;
	}
	for (; argc - i >= 2 && !strncmp(argv[i], "--", 2); i += 2) {
		if (!strcmp(argv[i], "--key-file")) {
			key_file = argv[i + 1];
		} else if (!strcmp(argv[i], "--timeout-ms")) {
			long ms = strtol(argv[i + 1], NULL, 10);
			if (ms <= 0 || ms > CALL_TIMEOUT_MS_MAX)
				return usage();
			call_timeout_ms = (int)ms;
		} else {
			return usage();
		}
	}
	if (argc - i < 3)
		return usage();
	const char *cmd = argv[i], *tracker = argv[i + 1];
	long count = strtol(argv[i + 2], NULL, 10);
	if (count <= 0 || count > 10000000)
		return usage();

	struct auth a;
	char why[256] = "";
	if (key_file ? auth_init_key_file(&a, key_file, why, sizeof why) : (auth_init_open(&a), 0)) {
		fprintf(stderr, "pp-bench-rpc: key file: %s\n", why);
		return 1;
	}
	struct rpc_peers *peers = NULL;
	if (rpc_peers_new(&peers) != PP_OK) {
		auth_free(&a);
		return 1;
	}
	int rc;
	if (!strcmp(cmd, "place") && argc - i == 3)
		rc = cmd_place(peers, &a, tracker, (size_t)count);
	else if (!strcmp(cmd, "manifest") && (argc - i == 4 || argc - i == 5))
		rc = cmd_manifest(peers, &a, tracker, (size_t)count, argv[i + 3],
				  argc - i == 5 ? (uint32_t)strtoul(argv[i + 4], NULL, 10) : 256);
	else if (!strcmp(cmd, "ingest") && argc - i == 7)
		rc = cmd_ingest(peers, &a, tracker, (size_t)count, strtoul(argv[i + 3], NULL, 10),
				argv[i + 4], strtoul(argv[i + 5], NULL, 10), argv[i + 6]);
	else if (!strcmp(cmd, "ls") && argc - i == 4)
		rc = cmd_simple(peers, &a, tracker, (size_t)count, "ls", argv[i + 3]);
	else if (!strcmp(cmd, "health") && argc - i == 3)
		rc = cmd_simple(peers, &a, tracker, (size_t)count, "health", NULL);
	else
		rc = usage();
	rpc_peers_free(peers);
	auth_free(&a);
	return rc;
}
