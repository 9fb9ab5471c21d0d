/* Chunk transfers; see transfer.h (DESIGN.md, "Flows": Upload, Failure,
 * Direct node access).
 *
 * Pulled bytes stay in the reply message they arrived in (no copy) until
 * they are verified and written. Sources send chunks without hashing them
 * (the receiver verifies, one hash per byte): a source answering with bytes
 * that do not hash to the id is skipped like an unreachable one and asked
 * to verify its copy, which it quarantines only if it really is bad. */
#define _GNU_SOURCE
#include "transfer.h"
#include "errors.h"
#include "hash.h"
#include "log.h"
#include "timeutil.h"
#include "trackers.h"
#include "worker.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PULL_RETRY_PAUSE_MS 200
/* A peer that never connects is only noticed by a timeout (nng keeps
 * redialing and no pipe-removed event fires), so a cheap ping with this
 * short timeout goes before every chunk transfer to a peer. */
#define PEER_PROBE_TIMEOUT_MS 1000
/* Per node still ahead in the pipeline: the client's own call to us must
 * not time out first; 8 s moves 16 MiB even at 2 MB/s. */
#define FORWARD_TIMEOUT_PER_HOP_MS 8000

int transfer_register_many(struct worker *w, const char *const *chunk_ids,
			   const struct store_copy *copies, size_t n)
{
	Pp__V1__ChunkRef *refs = calloc(n ? n : 1, sizeof(*refs));
	Pp__V1__ChunkRef **ptrs = calloc(n ? n : 1, sizeof(*ptrs));
	if (refs == NULL || ptrs == NULL) {
		free(refs);
		free(ptrs);
		return PP_EINTERNAL;
	}
	for (size_t i = 0; i < n; i++) {
		pp__v1__chunk_ref__init(&refs[i]);
		refs[i].id = (char *)chunk_ids[i];
		refs[i].size = copies[i].size;
		refs[i].gen = copies[i].gen;
		refs[i].extra = copies[i].extra;
		ptrs[i] = &refs[i];
	}
	Pp__V1__ReplicasAddedRequest ra = PP__V1__REPLICAS_ADDED_REQUEST__INIT;
	ra.node_id = (char *)w->cfg.id;
	ra.n_chunks = n;
	ra.chunks = ptrs;
	Pp__V1__Request req = PP__V1__REQUEST__INIT;
	req.body_case = PP__V1__REQUEST__BODY_REPLICAS_ADDED;
	req.replicas_added = &ra;
	struct rpc_reply reply;
	/* The primary takes it before the put is acknowledged; the other
	 * trackers hear of it soon after. */
	int rc = trackers_call(w, &req, RPC_TIMEOUT_SHORT_MS, &reply);
	if (rc != PP_OK)
		log_warn("replica_register_failed", "chunk=%s chunks=%zu err=%s",
			 n ? chunk_ids[0] : "", n, log_q(rpc_reply_error(&reply, rc)));
	else
		for (size_t i = 0; i < n; i++)
			trackers_queue_added(w, atomic_load(&w->preferred), &refs[i]);
	rpc_reply_free(&reply);
	free(ptrs);
	free(refs);
	return rc;
}

/* Registrations from concurrent puts share one replicas_added: whoever
 * finds none in flight sends every queued one (up to REGISTER_GROUP_MAX)
 * and wakes their owners; the others wait for that answer (w->reg_*). */
#define REGISTER_GROUP_MAX 64

struct reg_waiter {
	const char *id;
	struct store_copy copy;
	int rc;
	bool done;
	struct reg_waiter *next;
};

int transfer_register(struct worker *w, const char *chunk_id, const struct store_copy *copy)
{
	struct reg_waiter me = {.id = chunk_id, .copy = *copy};
	pthread_mutex_lock(&w->reg_lock);
	struct reg_waiter **tail = &w->reg_queue;
	while (*tail != NULL)
		tail = &(*tail)->next;
	*tail = &me;
	while (!me.done) {
		if (w->reg_busy) {
			pthread_cond_wait(&w->reg_cond, &w->reg_lock);
			continue;
		}
		w->reg_busy = true;
		struct reg_waiter *group = w->reg_queue, *last = group;
		size_t n = 1;
		while (n < REGISTER_GROUP_MAX && last->next != NULL) {
			last = last->next;
			n++;
		}
		w->reg_queue = last->next;
		last->next = NULL;
		pthread_mutex_unlock(&w->reg_lock);
		const char *ids[REGISTER_GROUP_MAX];
		struct store_copy copies[REGISTER_GROUP_MAX];
		size_t k = 0;
		for (struct reg_waiter *r = group; r != NULL; r = r->next) {
			ids[k] = r->id;
			copies[k++] = r->copy;
		}
		int rc = transfer_register_many(w, ids, copies, k);
		pthread_mutex_lock(&w->reg_lock);
		for (struct reg_waiter *r = group; r != NULL;) {
			struct reg_waiter *next = r->next;
			r->rc = rc;
			r->done = true; /* its owner may return (and `r` vanish) now */
			r = next;
		}
		w->reg_busy = false;
		pthread_cond_broadcast(&w->reg_cond);
	}
	pthread_mutex_unlock(&w->reg_lock);
	return me.rc;
}

static int peer_probe(struct worker *w, const char *address, struct rpc_reply *reply)
{
	Pp__V1__PingRequest ping = PP__V1__PING_REQUEST__INIT;
	Pp__V1__Request req = PP__V1__REQUEST__INIT;
	req.body_case = PP__V1__REQUEST__BODY_PING;
	req.ping = &ping;
	int rc = rpc_call(w->peers, address, &w->auth, &req, NULL, 0, PEER_PROBE_TIMEOUT_MS, reply);
	if (rc != PP_OK)
		return rc;
	rpc_reply_free(reply);
	return PP_OK;
}

static void *forward_main(void *arg)
{
	struct transfer_forward *f = arg;
	f->rc = peer_probe(f->w, f->forward[0], &f->reply);
	if (f->rc != PP_OK) {
		log_warn("forward_failed", "chunk=%s target=%s err=\"unreachable: %s\"", f->chunk_id,
			 log_q(f->forward[0]), rpc_reply_error(&f->reply, f->rc));
		if (f->msg != NULL)
			nng_msg_free(f->msg);
		f->msg = NULL;
		return NULL;
	}
	Pp__V1__PutChunkRequest put = PP__V1__PUT_CHUNK_REQUEST__INIT;
	Pp__V1__PutChunksRequest puts = PP__V1__PUT_CHUNKS_REQUEST__INIT;
	Pp__V1__Request req = PP__V1__REQUEST__INIT;
	if (f->chunks != NULL) {
		puts.chunks = f->chunks;
		puts.n_chunks = f->n_chunks;
		puts.n_forward = f->n_forward - 1;
		puts.forward = f->n_forward > 1 ? f->forward + 1 : NULL;
		req.body_case = PP__V1__REQUEST__BODY_PUT_CHUNKS;
		req.put_chunks = &puts;
	} else {
		put.chunk_id = (char *)f->chunk_id;
		put.n_forward = f->n_forward - 1;
		put.forward = f->n_forward > 1 ? f->forward + 1 : NULL;
		req.body_case = PP__V1__REQUEST__BODY_PUT_CHUNK;
		req.put_chunk = &put;
	}
	int timeout = FORWARD_TIMEOUT_PER_HOP_MS * (int)f->n_forward;
	if (f->msg != NULL) {
		f->rc = rpc_call_relay(f->w->peers, f->forward[0], &f->w->auth, &req, f->msg, timeout,
				       &f->reply);
		f->msg = NULL; /* consumed */
	} else {
		f->rc = rpc_call(f->w->peers, f->forward[0], &f->w->auth, &req, f->payload,
				 f->payload_len, timeout, &f->reply);
	}
	if (f->rc != PP_OK)
		log_warn("forward_failed", "chunk=%s target=%s err=%s", f->chunk_id,
			 log_q(f->forward[0]), log_q(rpc_reply_error(&f->reply, f->rc)));
	return NULL;
}

int transfer_forward_start(struct transfer_forward *f)
{
	memset(&f->reply, 0, sizeof(f->reply));
	f->rc = PP_EUNAVAIL;
	f->started = pthread_create(&f->thread, NULL, forward_main, f) == 0;
	if (!f->started && f->msg != NULL) {
		nng_msg_free(f->msg);
		f->msg = NULL;
	}
	return f->started ? PP_OK : PP_EINTERNAL;
}

int transfer_forward_join(struct transfer_forward *f)
{
	if (f->started)
		pthread_join(f->thread, NULL);
	f->started = false;
	return f->rc;
}

/* Asks the tracker for the chunk's replicas; addresses of live ones that
 * are not this node, ok before suspect. *addrs is malloc'd (strings too). */
static int locate(struct worker *w, const char *chunk_id, char ***addrs, size_t *n)
{
	char *ids[1] = {(char *)chunk_id};
	Pp__V1__LocateRequest loc = PP__V1__LOCATE_REQUEST__INIT;
	loc.n_chunk_ids = 1;
	loc.chunk_ids = ids;
	Pp__V1__Request req = PP__V1__REQUEST__INIT;
	req.body_case = PP__V1__REQUEST__BODY_LOCATE;
	req.locate = &loc;
	struct rpc_reply reply;
	*addrs = NULL;
	*n = 0;
	int rc = trackers_call(w, &req, RPC_TIMEOUT_SHORT_MS, &reply);
	if (rc != PP_OK || reply.resp->body_case != PP__V1__RESPONSE__BODY_LOCATE) {
		log_warn("locate_failed", "chunk=%s err=%s", chunk_id,
			 log_q(rc != PP_OK ? rpc_reply_error(&reply, rc) : "no locate body"));
		rc = rc != PP_OK ? rc : PP_EINTERNAL;
		goto out;
	}
	const Pp__V1__LocateResponse *lr = reply.resp->locate;
	for (size_t c = 0; c < lr->n_chunks; c++) {
		const Pp__V1__ChunkLocation *cl = lr->chunks[c];
		if (cl->id == NULL || strcmp(cl->id, chunk_id) != 0)
			continue;
		*addrs = calloc(cl->n_replicas + 1, sizeof(char *));
		if (*addrs == NULL) {
			rc = PP_EINTERNAL;
			goto out;
		}
		for (int pass = 0; pass < 2; pass++) {
			Pp__V1__ReplicaState want = pass == 0 ? PP__V1__REPLICA_STATE__REPLICA_OK
							      : PP__V1__REPLICA_STATE__REPLICA_SUSPECT;
			for (size_t r = 0; r < cl->n_replicas; r++) {
				const Pp__V1__Replica *rep = cl->replicas[r];
				if (rep->state != want || rep->address == NULL ||
				    rep->address[0] == '\0' ||
				    (rep->node && strcmp(rep->node, w->cfg.id) == 0))
					continue;
				(*addrs)[(*n)++] = strdup(rep->address);
			}
		}
	}
	rc = *n > 0 ? PP_OK : PP_ENOTFOUND;
out:
	rpc_reply_free(&reply);
	return rc;
}

static void free_addrs(char **addrs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(addrs[i]);
	free(addrs);
}

void transfer_report_bad_source(struct worker *w, const char *address, const char *chunk_id)
{
	Pp__V1__VerifyChunkRequest vr = PP__V1__VERIFY_CHUNK_REQUEST__INIT;
	vr.chunk_id = (char *)chunk_id;
	Pp__V1__Request req = PP__V1__REQUEST__INIT;
	req.body_case = PP__V1__REQUEST__BODY_VERIFY_CHUNK;
	req.verify_chunk = &vr;
	struct rpc_reply reply;
	int rc = rpc_call(w->peers, address, &w->auth, &req, NULL, 0, RPC_TIMEOUT_SHORT_MS, &reply);
	bool corrupt = rc == PP_OK && reply.resp->body_case == PP__V1__RESPONSE__BODY_VERIFY_CHUNK &&
		       reply.resp->verify_chunk->corrupt;
	log_warn("bad_source_reported", "chunk=%s source=%s err=%s quarantined=%d", chunk_id,
		 log_q(address), log_q(rc == PP_OK ? "none" : rpc_reply_error(&reply, rc)),
		 (int)corrupt);
	rpc_reply_free(&reply);
}

void transfer_loads_init(struct transfer_loads *l)
{
	memset(l, 0, sizeof(*l));
	pthread_mutex_init(&l->lock, NULL);
}

void transfer_loads_destroy(struct transfer_loads *l) { pthread_mutex_destroy(&l->lock); }

/* Lock held: the entry of an address (added on first sight; NULL when the
 * table is full, and then that source is simply not counted). */
static struct transfer_load *load_of(struct transfer_loads *l, const char *address)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->table[i].address, address) == 0)
			return &l->table[i];
	if (l->n == TRANSFER_SOURCES_MAX || strlen(address) >= sizeof(l->table[0].address))
		return NULL;
	struct transfer_load *e = &l->table[l->n++];
	snprintf(e->address, sizeof(e->address), "%s", address);
	e->inflight = 0;
	return e;
}

static void load_add(struct transfer_loads *l, const char *address, int delta)
{
	pthread_mutex_lock(&l->lock);
	struct transfer_load *e = load_of(l, address);
	if (e != NULL)
		e->inflight += delta;
	pthread_mutex_unlock(&l->lock);
}

/* One get_chunk from one source, verified against the id. */
static int fetch_from(struct worker *w, const char *chunk_id, const char *source,
		      struct rpc_reply *reply)
{
	Pp__V1__GetChunkRequest get = PP__V1__GET_CHUNK_REQUEST__INIT;
	get.chunk_id = (char *)chunk_id;
	Pp__V1__Request req = PP__V1__REQUEST__INIT;
	req.body_case = PP__V1__REQUEST__BODY_GET_CHUNK;
	req.get_chunk = &get;
	int rc = peer_probe(w, source, reply);
	if (rc == PP_OK) {
		load_add(&w->loads, source, 1);
		rc = rpc_call(w->peers, source, &w->auth, &req, NULL, 0, RPC_TIMEOUT_DATA_MS, reply);
		load_add(&w->loads, source, -1);
	}
	char hex[PP_SHA256_HEX];
	if (rc == PP_OK && (sha256_hex(reply->payload, reply->payload_len, hex) != PP_OK ||
			    strcmp(hex, chunk_id) != 0)) {
		/* The source read without hashing (the receiver verifies): it
		 * re-checks its copy and quarantines it if it really is bad. */
		log_warn("pull_source_failed", "chunk=%s source=%s err=\"bytes do not hash to the id\"",
			 chunk_id, log_q(source));
		rpc_reply_free(reply);
		transfer_report_bad_source(w, source, chunk_id);
		return PP_EINTEGRITY;
	}
	if (rc != PP_OK) {
		log_warn("pull_source_failed", "chunk=%s source=%s err=%s", chunk_id, log_q(source),
			 log_q(rpc_reply_error(reply, rc)));
		rpc_reply_free(reply);
	}
	return rc;
}

/* Orders sources least busy first; among equals the chunk id picks where
 * to start, so the chunks of one file spread over all their holders. */
static void order_sources(struct worker *w, const char *chunk_id, char *const *in, size_t n,
			  const char **out, size_t *nout)
{
	int load[TRANSFER_SOURCES_MAX];
	*nout = 0;
	size_t rot = n ? (size_t)strtoul((char[3]){chunk_id[0], chunk_id[1], 0}, NULL, 16) % n : 0;
	pthread_mutex_lock(&w->loads.lock);
	for (size_t k = 0; k < n && *nout < TRANSFER_SOURCES_MAX; k++) {
		const char *a = in[(k + rot) % n];
		if (a == NULL || a[0] == '\0' || strcmp(a, w->cfg.advertise) == 0 ||
		    strcmp(a, w->cfg.listen) == 0)
			continue;
		struct transfer_load *e = load_of(&w->loads, a);
		int l = e ? e->inflight : 0;
		size_t j = (*nout)++;
		/* insertion sort, stable: equal loads keep the rotated order */
		while (j > 0 && load[j - 1] > l) {
			load[j] = load[j - 1];
			out[j] = out[j - 1];
			j--;
		}
		load[j] = l;
		out[j] = a;
	}
	pthread_mutex_unlock(&w->loads.lock);
}

int transfer_fetch(struct worker *w, const char *chunk_id, char *const *sources, size_t n_sources,
		   struct rpc_reply *out, char *from, size_t from_len)
{
	memset(out, 0, sizeof(*out));
	char **located = NULL;
	size_t n_located = 0;
	if (n_sources == 0) {
		int rc = locate(w, chunk_id, &located, &n_located);
		if (rc != PP_OK)
			return rc;
		sources = located;
		n_sources = n_located;
	}
	const char *order[TRANSFER_SOURCES_MAX];
	size_t n;
	order_sources(w, chunk_id, sources, n_sources, order, &n);
	int rc = n ? PP_EUNAVAIL : PP_ENOTFOUND;
	for (size_t i = 0; i < n; i++) {
		rc = fetch_from(w, chunk_id, order[i], out);
		if (rc == PP_OK) {
			if (from != NULL)
				snprintf(from, from_len, "%s", order[i]);
			break;
		}
	}
	free_addrs(located, n_located);
	return rc;
}

int transfer_pull(struct worker *w, const char *chunk_id, char *const *sources, size_t n_sources,
		  bool extra)
{
	int rc = PP_EUNAVAIL;
	struct store_copy copy = {0};
	int64_t started = time_mono_ms();
	for (int round = 0; round < TRANSFER_PULL_ROUNDS; round++) {
		struct rpc_reply got;
		rc = transfer_fetch(w, chunk_id, sources, n_sources, &got, NULL, 0);
		if (rc == PP_OK)
			rc = store_put_verified(w->store, chunk_id, got.payload, got.payload_len, extra,
						&copy);
		rpc_reply_free(&got);
		if (rc == PP_OK || rc == PP_ENOSPACE || rc == PP_EINVAL)
			break;
		time_sleep_ms(PULL_RETRY_PAUSE_MS * (round + 1));
	}
	if (rc != PP_OK) {
		log_warn("pull_failed", "chunk=%s sources=%zu err=%s", chunk_id, n_sources,
			 log_q(pp_err_name(rc)));
		return rc;
	}
	log_info("chunk_pulled", "chunk=%s size=%u extra=%d gen=%llu ms=%lld", chunk_id, copy.size,
		 (int)copy.extra, (unsigned long long)copy.gen, (long long)(time_mono_ms() - started));
	return transfer_register(w, chunk_id, &copy);
}
