/* pp_client handle and the metadata calls (stat, list, delete, nodes, health,
 * ping, drain, maintenance); uploads are upload.c, downloads download.c.
 *
 * Every public call validates its arguments first, then makes one or more
 * wire_call()s to the tracker, or in direct mode to the named worker, which
 * proxies them. Results are copied into caller-owned structures. */
#define _GNU_SOURCE
#include "client_internal.h"
#include "flags.h"
#include "hash.h"
#include "ppclient_ext.h"
#include "timeutil.h"
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int pp_fail(struct pp_error *err, int code, const char *fmt, ...)
{
	if (err != NULL) {
		err->code = code;
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->message, sizeof(err->message), fmt, ap);
		va_end(ap);
	}
	return code;
}

void pp_error_clear(struct pp_error *err)
{
	if (err != NULL) {
		err->code = PP_OK;
		err->message[0] = '\0';
	}
}

const char *pp_name_check(const char *name)
{
	if (name == NULL)
		return "no name given";
	return name_check(name, strnlen(name, PP_NAME_MAX + 1));
}

int pp_name_valid(const char *name, struct pp_error *err)
{
	const char *why = pp_name_check(name);
	if (why != NULL)
		return pp_fail(err, PP_EINVAL, "invalid name: %s", why);
	return PP_OK;
}

const char *pp_node_state_name(int state)
{
	static const char *const names[] = {"up", "suspect", "dead", "draining", "maintenance"};
	return state >= 0 && state < 5 ? names[state] : "unknown";
}

const char *pp_replica_state_name(int state)
{
	static const char *const names[] = {"ok", "suspect", "dead", "corrupt", "pending"};
	return state >= 0 && state < 5 ? names[state] : "unknown";
}

const char *pp_file_health_name(int health)
{
	static const char *const names[] = {"ok", "under_replicated", "lost"};
	return health >= 0 && health < 3 ? names[health] : "unknown";
}

static bool address_plausible(const char *a)
{
	return strncmp(a, "tcp://", 6) == 0 || strncmp(a, "ipc://", 6) == 0 ||
	       strncmp(a, "inproc://", 9) == 0 || strncmp(a, "tls+tcp://", 10) == 0;
}

int pp_client_open(const struct pp_client_options *opt, pp_client **out, struct pp_error *err)
{
	pp_error_clear(err);
	if (out == NULL)
		return pp_fail(err, PP_EINVAL, "no place for the client handle (out is NULL)");
	*out = NULL;
	if (opt == NULL)
		return pp_fail(err, PP_EINVAL, "no options given");
	bool has_t = opt->tracker != NULL && opt->tracker[0] != '\0';
	bool has_n = opt->node != NULL && opt->node[0] != '\0';
	if (has_t == has_n)
		return pp_fail(err, PP_EINVAL, has_t ? "give either a tracker or a node address, not both"
						      : "no tracker or node address given");
	if (opt->parallel < 0 || opt->parallel > PP_PARALLEL_MAX)
		return pp_fail(err, PP_EINVAL, "parallel must be 0..%d", PP_PARALLEL_MAX);
	if (opt->timeout_ms < 0)
		return pp_fail(err, PP_EINVAL, "timeout_ms must not be negative");
	const char *addr = has_t ? opt->tracker : opt->node;
	char **metas = NULL;
	size_t n_metas = 0;
	if (flags_split_list(addr, has_t ? PP_TRACKERS_MAX : 1, &metas, &n_metas) != PP_OK)
		return pp_fail(err, PP_EINVAL, "invalid address list '%s' (expected tcp://HOST:PORT%s)",
			       addr, has_t ? "[,tcp://HOST:PORT...]" : "");
	for (size_t i = 0; i < n_metas; i++) {
		if (!address_plausible(metas[i]) || strlen(metas[i]) > 256) {
			int rc = pp_fail(err, PP_EINVAL, "invalid address '%s' (expected tcp://HOST:PORT)",
					 metas[i]);
			flags_list_free(metas, n_metas);
			return rc;
		}
	}

	pp_client *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		flags_list_free(metas, n_metas);
		return pp_fail(err, PP_EINTERNAL, "out of memory");
	}
	c->metas = metas;
	c->n_metas = n_metas;
	int rc;
	if (opt->key_file != NULL && opt->key_file[0] != '\0') {
		char why[256];
		rc = auth_init_key_file(&c->auth, opt->key_file, why, sizeof(why));
		if (rc != PP_OK) {
			flags_list_free(c->metas, c->n_metas);
			free(c);
			return pp_fail(err, PP_EINVAL, "key file %s: %s", opt->key_file, why);
		}
	} else {
		auth_init_open(&c->auth);
	}
	c->direct = has_n;
	c->tracker = has_t ? strdup(opt->tracker) : NULL;
	c->node = has_n ? strdup(opt->node) : NULL;
	/* Through one node, each chunk it lacks costs it a pull from a peer
	 * first: twice the chunks in flight keep the same bytes moving. */
	c->parallel = opt->parallel ? opt->parallel
				    : has_n ? 2 * PP_PARALLEL_DEFAULT : PP_PARALLEL_DEFAULT;
	c->timeout_ms = opt->timeout_ms ? opt->timeout_ms : PP_TIMEOUT_DEFAULT_MS;
	if ((has_t ? c->tracker : c->node) == NULL || rpc_peers_new(&c->peers) != PP_OK) {
		pp_client_close(c);
		return pp_fail(err, PP_EINTERNAL, "out of memory");
	}
	*out = c;
	return PP_OK;
}

void pp_client_set_budget(pp_client *c, struct mem_budget *budget)
{
	if (c != NULL)
		c->budget = budget;
}

void pp_client_close(pp_client *c)
{
	if (c == NULL)
		return;
	rpc_peers_free(c->peers);
	auth_free(&c->auth);
	free(c->tracker);
	free(c->node);
	flags_list_free(c->metas, c->n_metas);
	free(c);
}

/* The longest a client waits for any of its trackers to connect. */
#define TRACKER_PICK_WAIT_MS 1000

int client_meta_call(pp_client *c, const pp_v1_Request *req, pp_v1_Response *resp,
		     struct wire_reply *keep, int timeout_ms, struct pp_error *err)
{
	/* Several trackers: start with one that connects, so a dead first
	 * address costs nothing when another answers. */
	if (c->n_metas > 1 && !atomic_exchange(&c->picked, true)) {
		int up = rpc_peers_pick(c->peers, c->metas, c->n_metas, TRACKER_PICK_WAIT_MS);
		if (up >= 0)
			atomic_store(&c->cur, (size_t)up);
	}
	size_t first = atomic_load(&c->cur);
	struct pp_error e;
	int rc = PP_EUNAVAIL, kept_rc = PP_OK;
	for (size_t k = 0; k < c->n_metas; k++) {
		size_t i = (first + k) % c->n_metas;
		if (k > 0)
			memset(resp, 0, sizeof(*resp));
		rc = wire_call(c, c->metas[i], req, NULL, 0, resp, keep, timeout_ms, &e);
		if (rc != PP_EUNAVAIL && rc != PP_ENOTPRIMARY) {
			atomic_store(&c->cur, i);
			break;
		}
		/* Report the most telling failure: "unreachable" or the cluster's
		 * own answer rather than a standby's "not primary". */
		if (kept_rc == PP_OK || kept_rc == PP_ENOTPRIMARY) {
			kept_rc = rc;
			if (err != NULL)
				*err = e;
		}
		if (keep != NULL && k + 1 < c->n_metas)
			wire_reply_free(keep);
	}
	if (rc == PP_OK || (rc != PP_EUNAVAIL && rc != PP_ENOTPRIMARY)) {
		if (err != NULL)
			*err = e;
		return rc;
	}
	return kept_rc;
}

/* Checks the handle; every public call starts with it. */
static int check_client(pp_client *c, struct pp_error *err)
{
	pp_error_clear(err);
	if (c == NULL)
		return pp_fail(err, PP_EINVAL, "no client (NULL handle)");
	return PP_OK;
}

static int meta_call(pp_client *c, const pp_v1_Request *req, pp_v1_Response *resp,
		     struct pp_error *err)
{
	return client_meta_call(c, req, resp, NULL, c->timeout_ms, err);
}

void pp_file_from_wire(const pp_v1_FileInfo *in, struct pp_file *out)
{
	wire_file_from_pb(in, out);
}

int pp_meta_call(pp_client *c, const pp_v1_Request *req, pp_v1_Response *resp,
		 struct pp_error *err)
{
	int rc = check_client(c, err);
	return rc != PP_OK ? rc : meta_call(c, req, resp, err);
}

int pp_stat(pp_client *c, const char *name, struct pp_chunk_map **out, struct pp_error *err)
{
	int rc;
	if ((rc = check_client(c, err)) || (rc = pp_name_valid(name, err)))
		return rc;
	if (out == NULL)
		return pp_fail(err, PP_EINVAL, "out is NULL");
	*out = NULL;
	struct pp_chunk_map *m = calloc(1, sizeof(*m));
	pp_v1_Request *req = calloc(1, sizeof(*req));
	pp_v1_Response *resp = calloc(1, sizeof(*resp));
	struct wire_vec all = {0};
	if (m == NULL || req == NULL || resp == NULL) {
		rc = pp_fail(err, PP_EINTERNAL, "out of memory");
		goto out;
	}
	uint64_t first = 0;
	for (;;) {
		struct wire_vec page = {.limit = 4096};
		memset(req, 0, sizeof(*req));
		memset(resp, 0, sizeof(*resp));
		req->has_manifest = true;
		snprintf(req->manifest.name, sizeof(req->manifest.name), "%s", name);
		req->manifest.first_chunk = first;
		req->manifest.max_chunks = PP_MANIFEST_PAGE * 4;
		resp->manifest.chunks.funcs.decode = wire_decode_chunks;
		resp->manifest.chunks.arg = &page;
		rc = meta_call(c, req, resp, err);
		if (rc != PP_OK || !resp->has_manifest || !resp->manifest.has_file) {
			wire_chunks_free(page.items, page.n);
			if (rc == PP_OK)
				rc = pp_fail(err, PP_EINTERNAL, "manifest reply without a file");
			goto out;
		}
		if (first == 0) {
			wire_file_from_pb(&resp->manifest.file, &m->file);
		} else if (resp->manifest.file.version != m->file.version) {
			wire_chunks_free(page.items, page.n);
			rc = pp_fail(err, PP_ECONFLICT, "%s was replaced while it was being read", name);
			goto out;
		}
		/* Append the page's chunks. */
		if (page.n > 0) {
			size_t need = all.n + page.n;
			void *p = realloc(all.items, need * sizeof(struct pp_chunk));
			if (p == NULL) {
				wire_chunks_free(page.items, page.n);
				rc = pp_fail(err, PP_EINTERNAL, "out of memory");
				goto out;
			}
			all.items = p;
			memcpy((struct pp_chunk *)all.items + all.n, page.items, page.n * sizeof(struct pp_chunk));
			all.n = need;
			free(page.items);
		}
		first = all.n;
		if (page.n == 0 || first >= m->file.chunk_count)
			break;
	}
	if (all.n != m->file.chunk_count) {
		rc = pp_fail(err, PP_EINTERNAL, "manifest of %s lists %zu of %llu chunks", name, all.n,
			     (unsigned long long)m->file.chunk_count);
		goto out;
	}
	m->chunks = all.items;
	m->chunk_count = all.n;
	all.items = NULL;
	*out = m;
	m = NULL;
	rc = PP_OK;
out:
	if (all.items)
		wire_chunks_free(all.items, all.n);
	pp_chunk_map_free(m);
	free(req);
	free(resp);
	return rc;
}

void pp_chunk_map_free(struct pp_chunk_map *m)
{
	if (m == NULL)
		return;
	wire_chunks_free(m->chunks, m->chunk_count);
	free(m);
}

#define PREFIX_PAGE_MAX 1024

/* Decodes one ManifestResponse of a prefix listing into a pp_chunk_map. */
static bool decode_prefix_file(pb_istream_t *s, const pb_field_t *f, void **arg)
{
	(void)f;
	struct wire_vec *maps = *arg;
	struct wire_vec chunks = {.limit = 64};
	pp_v1_ManifestResponse m = pp_v1_ManifestResponse_init_zero;
	m.chunks.funcs.decode = wire_decode_chunks;
	m.chunks.arg = &chunks;
	if (!pb_decode(s, pp_v1_ManifestResponse_fields, &m) || !m.has_file) {
		wire_chunks_free(chunks.items, chunks.n);
		return false;
	}
	if (maps->limit && maps->n >= maps->limit) {
		wire_chunks_free(chunks.items, chunks.n);
		PB_RETURN_ERROR(s, "too many files in reply");
	}
	if (maps->n == maps->cap) {
		size_t cap = maps->cap ? maps->cap * 2 : 64;
		void *p = realloc(maps->items, cap * sizeof(struct pp_chunk_map));
		if (p == NULL) {
			wire_chunks_free(chunks.items, chunks.n);
			PB_RETURN_ERROR(s, "out of memory");
		}
		maps->items = p;
		maps->cap = cap;
	}
	struct pp_chunk_map *out = (struct pp_chunk_map *)maps->items + maps->n++;
	memset(out, 0, sizeof(*out));
	wire_file_from_pb(&m.file, &out->file);
	out->chunks = chunks.items;
	out->chunk_count = chunks.n;
	return true;
}

void pp_chunk_maps_free(struct pp_chunk_map *maps, size_t n)
{
	for (size_t i = 0; maps != NULL && i < n; i++)
		wire_chunks_free(maps[i].chunks, maps[i].chunk_count);
	free(maps);
}

int pp_list_prefix(pp_client *c, const char *prefix, const char *after, uint32_t limit,
		   struct pp_chunk_map **maps, size_t *n, bool *more, struct pp_error *err)
{
	int rc;
	if ((rc = check_client(c, err)))
		return rc;
	if (maps == NULL || n == NULL || more == NULL)
		return pp_fail(err, PP_EINVAL, "maps, n and more are required");
	*maps = NULL;
	*n = 0;
	*more = false;
	if (prefix == NULL)
		prefix = "";
	if (after == NULL)
		after = "";
	if (strlen(prefix) > PP_NAME_MAX || strlen(after) > PP_NAME_MAX)
		return pp_fail(err, PP_EINVAL, "prefix or page start longer than %d bytes", PP_NAME_MAX);
	if (limit > PREFIX_PAGE_MAX)
		limit = PREFIX_PAGE_MAX;
	struct wire_vec v = {.limit = limit ? limit : PREFIX_PAGE_MAX};
	pp_v1_Request *req = calloc(1, sizeof(*req));
	pp_v1_Response *resp = calloc(1, sizeof(*resp));
	if (req == NULL || resp == NULL) {
		rc = pp_fail(err, PP_EINTERNAL, "out of memory");
		goto out;
	}
	req->has_prefix_manifest = true;
	snprintf(req->prefix_manifest.prefix, sizeof(req->prefix_manifest.prefix), "%s", prefix);
	snprintf(req->prefix_manifest.after, sizeof(req->prefix_manifest.after), "%s", after);
	req->prefix_manifest.limit = limit;
	req->prefix_manifest.max_chunks = 1;
	resp->prefix_manifest.files.funcs.decode = decode_prefix_file;
	resp->prefix_manifest.files.arg = &v;
	rc = meta_call(c, req, resp, err);
	if (rc == PP_OK) {
		*maps = v.items;
		*n = v.n;
		*more = resp->prefix_manifest.more;
		v.items = NULL;
	}
out:
	pp_chunk_maps_free(v.items, v.n);
	free(req);
	free(resp);
	return rc;
}

int pp_list(pp_client *c, const char *query, uint32_t limit, uint32_t offset,
	    struct pp_file_list **out, struct pp_error *err)
{
	int rc;
	if ((rc = check_client(c, err)))
		return rc;
	if (out == NULL)
		return pp_fail(err, PP_EINVAL, "out is NULL");
	*out = NULL;
	if (query != NULL && strlen(query) > PP_NAME_MAX)
		return pp_fail(err, PP_EINVAL, "search text longer than %d bytes", PP_NAME_MAX);
	if (limit > PP_LIST_MAX)
		return pp_fail(err, PP_EINVAL, "limit must be at most %d", PP_LIST_MAX);
	struct wire_vec files = {.limit = PP_LIST_MAX};
	pp_v1_Request *req = calloc(1, sizeof(*req));
	pp_v1_Response *resp = calloc(1, sizeof(*resp));
	struct pp_file_list *l = calloc(1, sizeof(*l));
	if (req == NULL || resp == NULL || l == NULL) {
		rc = pp_fail(err, PP_EINTERNAL, "out of memory");
		goto out;
	}
	req->has_list = true;
	snprintf(req->list.query, sizeof(req->list.query), "%s", query ? query : "");
	req->list.limit = limit ? limit : 100;
	req->list.offset = offset;
	resp->list.files.funcs.decode = wire_decode_files;
	resp->list.files.arg = &files;
	rc = meta_call(c, req, resp, err);
	if (rc != PP_OK)
		goto out;
	l->total = resp->list.total;
	l->count = files.n;
	l->files = files.items;
	files.items = NULL;
	*out = l;
	l = NULL;
out:
	wire_vec_free(&files);
	free(l);
	free(req);
	free(resp);
	return rc;
}

void pp_file_list_free(struct pp_file_list *l)
{
	if (l == NULL)
		return;
	free(l->files);
	free(l);
}

int pp_delete(pp_client *c, const char *name, struct pp_error *err)
{
	int rc;
	if ((rc = check_client(c, err)) || (rc = pp_name_valid(name, err)))
		return rc;
	if (c->direct)
		return pp_fail(err, PP_EINVAL, "delete needs the tracker (not available through a node)");
	pp_v1_Request *req = calloc(1, sizeof(*req));
	pp_v1_Response *resp = calloc(1, sizeof(*resp));
	if (req == NULL || resp == NULL) {
		rc = pp_fail(err, PP_EINTERNAL, "out of memory");
		goto out;
	}
	req->has_delete_file = true;
	snprintf(req->delete_file.name, sizeof(req->delete_file.name), "%s", name);
	rc = meta_call(c, req, resp, err);
out:
	free(req);
	free(resp);
	return rc;
}

int pp_nodes(pp_client *c, struct pp_node_list **out, struct pp_error *err)
{
	int rc;
	if ((rc = check_client(c, err)))
		return rc;
	if (out == NULL)
		return pp_fail(err, PP_EINVAL, "out is NULL");
	*out = NULL;
	struct wire_vec nodes = {.limit = PP_NODES_MAX};
	pp_v1_Request req = pp_v1_Request_init_zero;
	pp_v1_Response *resp = calloc(1, sizeof(*resp));
	struct pp_node_list *l = calloc(1, sizeof(*l));
	if (resp == NULL || l == NULL) {
		rc = pp_fail(err, PP_EINTERNAL, "out of memory");
		goto out;
	}
	req.has_nodes = true;
	resp->nodes.nodes.funcs.decode = wire_decode_nodes;
	resp->nodes.nodes.arg = &nodes;
	rc = meta_call(c, &req, resp, err);
	if (rc != PP_OK)
		goto out;
	l->count = nodes.n;
	l->nodes = nodes.items;
	nodes.items = NULL;
	*out = l;
	l = NULL;
out:
	wire_vec_free(&nodes);
	free(l);
	free(resp);
	return rc;
}

void pp_node_list_free(struct pp_node_list *l)
{
	if (l == NULL)
		return;
	free(l->nodes);
	free(l);
}

int pp_health(pp_client *c, struct pp_health *out, struct pp_error *err)
{
	int rc;
	if ((rc = check_client(c, err)))
		return rc;
	if (out == NULL)
		return pp_fail(err, PP_EINVAL, "out is NULL");
	pp_v1_Request req = pp_v1_Request_init_zero;
	pp_v1_Response *resp = calloc(1, sizeof(*resp));
	if (resp == NULL)
		return pp_fail(err, PP_EINTERNAL, "out of memory");
	req.has_health = true;
	rc = meta_call(c, &req, resp, err);
	if (rc == PP_OK && !resp->has_health)
		rc = pp_fail(err, PP_EINTERNAL, "health reply without health");
	if (rc == PP_OK)
		wire_health_from_pb(&resp->health, out);
	free(resp);
	return rc;
}

int pp_ping(pp_client *c, struct pp_ping *out, struct pp_error *err)
{
	int rc;
	if ((rc = check_client(c, err)))
		return rc;
	if (out == NULL)
		return pp_fail(err, PP_EINVAL, "out is NULL");
	pp_v1_Request req = pp_v1_Request_init_zero;
	pp_v1_Response *resp = calloc(1, sizeof(*resp));
	if (resp == NULL)
		return pp_fail(err, PP_EINTERNAL, "out of memory");
	req.has_ping = true;
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	rc = meta_call(c, &req, resp, err);
	clock_gettime(CLOCK_MONOTONIC, &b);
	if (rc == PP_OK) {
		memset(out, 0, sizeof(*out));
		snprintf(out->node_id, sizeof(out->node_id), "%s", resp->ping.node_id);
		snprintf(out->role, sizeof(out->role), "%s", resp->ping.role);
		snprintf(out->version, sizeof(out->version), "%s", resp->ping.version);
		out->uptime_ms = resp->ping.uptime_ms;
		out->standby = resp->ping.standby;
		out->term = resp->ping.term;
		out->rtt_us = (int64_t)(b.tv_sec - a.tv_sec) * 1000000 + (b.tv_nsec - a.tv_nsec) / 1000;
	}
	free(resp);
	return rc;
}

static int node_id_valid(const char *id, struct pp_error *err)
{
	const char *why = node_id_check(id);
	return why ? pp_fail(err, PP_EINVAL, "invalid node id: %s", why) : PP_OK;
}

int pp_drain(pp_client *c, const char *node_id, struct pp_drain_status *out, struct pp_error *err)
{
	int rc;
	if ((rc = check_client(c, err)) || (rc = node_id_valid(node_id, err)))
		return rc;
	pp_v1_Request *req = calloc(1, sizeof(*req));
	pp_v1_Response *resp = calloc(1, sizeof(*resp));
	if (req == NULL || resp == NULL) {
		rc = pp_fail(err, PP_EINTERNAL, "out of memory");
		goto out;
	}
	req->has_drain = true;
	snprintf(req->drain.node_id, sizeof(req->drain.node_id), "%s", node_id);
	rc = meta_call(c, req, resp, err);
	if (rc == PP_OK && out != NULL) {
		memset(out, 0, sizeof(*out));
		wire_node_from_pb(&resp->drain.node, &out->node);
		out->chunks_left = resp->drain.chunks_left;
		out->bytes_left = resp->drain.bytes_left;
		out->eta_s = resp->drain.eta_s;
	}
out:
	free(req);
	free(resp);
	return rc;
}

int pp_maintenance(pp_client *c, const char *node_id, bool on, struct pp_node *out,
		   struct pp_error *err)
{
	int rc;
	if ((rc = check_client(c, err)) || (rc = node_id_valid(node_id, err)))
		return rc;
	pp_v1_Request *req = calloc(1, sizeof(*req));
	pp_v1_Response *resp = calloc(1, sizeof(*resp));
	if (req == NULL || resp == NULL) {
		rc = pp_fail(err, PP_EINTERNAL, "out of memory");
		goto out;
	}
	req->has_maintenance = true;
	snprintf(req->maintenance.node_id, sizeof(req->maintenance.node_id), "%s", node_id);
	req->maintenance.on = on;
	rc = meta_call(c, req, resp, err);
	if (rc == PP_OK && out != NULL)
		wire_node_from_pb(&resp->node, out);
out:
	free(req);
	free(resp);
	return rc;
}

int pp_promote(pp_client *c, struct pp_promote_result *out, struct pp_error *err)
{
	int rc;
	if ((rc = check_client(c, err)))
		return rc;
	if (c->direct)
		return pp_fail(err, PP_EINVAL, "promote needs a tracker (not a node)");
	pp_v1_Request req = pp_v1_Request_init_zero;
	pp_v1_Response *resp = calloc(1, sizeof(*resp));
	if (resp == NULL)
		return pp_fail(err, PP_EINTERNAL, "out of memory");
	req.has_promote = true;
	/* The catch-up reads every worker's newer records: allow for it. */
	rc = client_meta_call(c, &req, resp, NULL, RPC_TIMEOUT_DATA_MS, err);
	if (rc == PP_OK && !resp->has_promote)
		rc = pp_fail(err, PP_EINTERNAL, "promote reply without a term");
	if (rc == PP_OK && out != NULL) {
		out->term = resp->promote.term;
		out->commit_seq = resp->promote.commit_seq;
		out->merged = resp->promote.merged;
	}
	free(resp);
	return rc;
}
