/* Chunk transfers; see transfer.h (DESIGN.md, "Flows": Upload, Failure,
 * Direct node access).
 *
 * Pulled bytes stay in the reply message they arrived in (no copy) until
 * store_put has verified and written them. A source answering with bytes
 * that do not hash to the id is skipped like an unreachable one. */
#define _GNU_SOURCE
#include "transfer.h"
#include "errors.h"
#include "log.h"
#include "timeutil.h"
#include "trackers.h"
#include "worker.h"

#include <pthread.h>
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

int transfer_register(struct worker *w, const char *chunk_id, const struct store_copy *copy)
{
	Pp__V1__ChunkRef ref = PP__V1__CHUNK_REF__INIT;
	ref.id = (char *)chunk_id;
	ref.size = copy->size;
	ref.gen = copy->gen;
	ref.extra = copy->extra;
	Pp__V1__ChunkRef *refs[1] = {&ref};
	Pp__V1__ReplicasAddedRequest ra = PP__V1__REPLICAS_ADDED_REQUEST__INIT;
	ra.node_id = (char *)w->cfg.id;
	ra.n_chunks = 1;
	ra.chunks = refs;
	Pp__V1__Request req = PP__V1__REQUEST__INIT;
	req.body_case = PP__V1__REQUEST__BODY_REPLICAS_ADDED;
	req.replicas_added = &ra;
	struct rpc_reply reply;
	/* The primary takes it before the put is acknowledged; the other
	 * trackers hear of it soon after. */
	int rc = trackers_call(w, &req, RPC_TIMEOUT_SHORT_MS, &reply);
	if (rc != PP_OK)
		log_warn("replica_register_failed", "chunk=%s err=%s", chunk_id,
			 log_q(rpc_reply_error(&reply, rc)));
	else
		trackers_queue_added(w, atomic_load(&w->preferred), &ref);
	rpc_reply_free(&reply);
	return rc;
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
		return NULL;
	}
	Pp__V1__PutChunkRequest put = PP__V1__PUT_CHUNK_REQUEST__INIT;
	put.chunk_id = (char *)f->chunk_id;
	put.n_forward = f->n_forward - 1;
	put.forward = f->n_forward > 1 ? f->forward + 1 : NULL;
	Pp__V1__Request req = PP__V1__REQUEST__INIT;
	req.body_case = PP__V1__REQUEST__BODY_PUT_CHUNK;
	req.put_chunk = &put;
	f->rc = rpc_call(f->w->peers, f->forward[0], &f->w->auth, &req, f->payload, f->payload_len,
			 FORWARD_TIMEOUT_PER_HOP_MS * (int)f->n_forward, &f->reply);
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
	return f->started ? PP_OK : PP_EINTERNAL;
}

int transfer_forward_join(struct transfer_forward *f)
{
	if (f->started)
		pthread_join(f->thread, NULL);
	f->started = false;
	return f->rc;
}

/* One get_chunk from one source, verified and stored. */
static int pull_from(struct worker *w, const char *chunk_id, const char *source, bool extra,
		     struct store_copy *copy)
{
	Pp__V1__GetChunkRequest get = PP__V1__GET_CHUNK_REQUEST__INIT;
	get.chunk_id = (char *)chunk_id;
	Pp__V1__Request req = PP__V1__REQUEST__INIT;
	req.body_case = PP__V1__REQUEST__BODY_GET_CHUNK;
	req.get_chunk = &get;
	struct rpc_reply reply;
	int rc = peer_probe(w, source, &reply);
	if (rc == PP_OK)
		rc = rpc_call(w->peers, source, &w->auth, &req, NULL, 0, RPC_TIMEOUT_DATA_MS, &reply);
	if (rc == PP_OK) {
		/* store_put verifies the hash: a bad source gives PP_EINTEGRITY. */
		rc = store_put(w->store, chunk_id, reply.payload, reply.payload_len, extra, copy);
	}
	if (rc != PP_OK)
		log_warn("pull_source_failed", "chunk=%s source=%s err=%s", chunk_id, log_q(source),
			 log_q(rpc_reply_error(&reply, rc)));
	rpc_reply_free(&reply);
	return rc;
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

int transfer_pull(struct worker *w, const char *chunk_id, char *const *sources, size_t n_sources,
		  bool extra)
{
	int rc = PP_EUNAVAIL;
	struct store_copy copy = {0};
	int64_t started = time_mono_ms();
	for (int round = 0; round < TRANSFER_PULL_ROUNDS; round++) {
		char **located = NULL;
		size_t n_located = 0;
		char *const *from = sources;
		size_t n_from = n_sources;
		if (n_sources == 0) {
			rc = locate(w, chunk_id, &located, &n_located);
			from = located;
			n_from = n_located;
		}
		for (size_t i = 0; i < n_from; i++) {
			rc = pull_from(w, chunk_id, from[i], extra, &copy);
			if (rc == PP_OK || rc == PP_ENOSPACE)
				break;
		}
		free_addrs(located, n_located);
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
