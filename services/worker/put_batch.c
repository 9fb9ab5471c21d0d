/* put_chunks (see put_batch.h): the chunks are checked against their ids
 * before anything travels on, the batch goes down the pipeline whole while
 * the chunks are written here, and every copy stored is registered with the
 * tracker in one call before the answer says, per chunk, how many nodes
 * hold it durably. As put_chunk, one chunk at a time: a chunk that fails
 * here still counts on the nodes downstream that stored it. */
#define _GNU_SOURCE
#include "put_batch.h"
#include "errors.h"
#include "frame.h"
#include "hash.h"
#include "log.h"
#include "store.h"
#include "transfer.h"
#include "worker.h"

#include <stdlib.h>
#include <string.h>

/* The request's chunks and their offsets in the payload; NULL (and the
 * call failed) when they do not describe the payload exactly. */
static size_t *chunk_offsets(struct rpc_call *call, const Pp__V1__PutChunksRequest *r)
{
	size_t n = r->n_chunks;
	if (n == 0 || n > PUT_BATCH_MAX) {
		rpc_call_fail(call, PP_EINVAL, "a batch has 1..%d chunks", PUT_BATCH_MAX);
		return NULL;
	}
	size_t *off = rpc_call_alloc(call, (n + 1) * sizeof(*off));
	size_t at = 0;
	for (size_t i = 0; i < n; i++) {
		const Pp__V1__ChunkRef *c = r->chunks[i];
		if (!chunk_id_valid(c->id) || c->size == 0 || c->size > PP_CHUNK_SIZE_MAX ||
		    c->size > call->payload_len - at) {
			rpc_call_fail(call, PP_EINVAL, "chunk %zu: bad id or size", i);
			return NULL;
		}
		off[i] = at;
		at += c->size;
	}
	if (at != call->payload_len) {
		rpc_call_fail(call, PP_EINVAL, "chunks add up to %zu bytes, the payload has %zu", at,
			      call->payload_len);
		return NULL;
	}
	for (size_t i = 0; i < r->n_forward; i++) {
		if (r->forward[i] == NULL || strncmp(r->forward[i], "tcp://", 6) != 0) {
			rpc_call_fail(call, PP_EINVAL, "bad forward address");
			return NULL;
		}
	}
	/* Refuse corrupt bytes before they travel further down the pipeline. */
	for (size_t i = 0; i < n; i++) {
		char hex[PP_SHA256_HEX];
		if (sha256_hex(call->payload + off[i], r->chunks[i]->size, hex) != PP_OK ||
		    strcmp(hex, r->chunks[i]->id) != 0) {
			rpc_call_fail(call, PP_EINTEGRITY, "chunk %zu does not hash to %s", i,
				      r->chunks[i]->id);
			return NULL;
		}
	}
	return off;
}

void h_put_chunks(void *svc, struct rpc_call *call)
{
	struct worker *w = svc;
	const Pp__V1__PutChunksRequest *r = call->req->put_chunks;
	size_t *off = chunk_offsets(call, r);
	if (off == NULL)
		return;
	size_t n = r->n_chunks;
	bool forwarding = r->n_forward > 0;
	if (forwarding && worker_slot_take(w, WORKER_SLOT_WAIT_MS) != PP_OK) {
		rpc_call_fail(call, PP_EUNAVAIL, "worker busy: too many transfers in flight");
		return;
	}
	atomic_fetch_add(&w->inflight, 1);
	struct transfer_forward fwd = {
		.w = w,
		.chunk_id = r->chunks[0]->id,
		.forward = r->forward,
		.n_forward = r->n_forward,
		.payload = call->payload,
		.payload_len = call->payload_len,
		.chunks = r->chunks,
		.n_chunks = n,
	};
	if (forwarding && transfer_forward_start(&fwd) != PP_OK)
		fwd.rc = PP_EINTERNAL;

	/* Every chunk is written first, then all are made durable together
	 * (store_finish_batch: two syncfs for the batch). */
	struct store_staged **staged = rpc_call_alloc(call, n * sizeof(*staged));
	struct store_copy *copies = rpc_call_alloc(call, n * sizeof(*copies));
	const char **ids = rpc_call_alloc(call, n * sizeof(*ids));
	bool *here = rpc_call_alloc(call, n * sizeof(*here));
	size_t nstored = 0;
	struct store_copy *made = rpc_call_alloc(call, n * sizeof(*made));
	int *rcs = rpc_call_alloc(call, n * sizeof(*rcs));
	for (size_t i = 0; i < n; i++)
		if (store_stage(w->store, r->chunks[i]->id, call->payload + off[i],
				r->chunks[i]->size, false, &staged[i]) != PP_OK)
			staged[i] = NULL;
	store_finish_batch(w->store, staged, n, made, rcs);
	for (size_t i = 0; i < n; i++) {
		if (rcs[i] != PP_OK)
			continue;
		copies[nstored] = made[i];
		ids[nstored++] = r->chunks[i]->id;
		here[i] = true;
	}
	bool registered = nstored > 0 && transfer_register_many(w, ids, copies, nstored) == PP_OK;
	int down_rc = forwarding ? transfer_forward_join(&fwd) : PP_OK;
	if (forwarding)
		worker_slot_give(w);
	atomic_fetch_sub(&w->inflight, 1);

	const Pp__V1__PutChunksResponse *down = NULL;
	if (forwarding && down_rc == PP_OK &&
	    fwd.reply.resp->body_case == PP__V1__RESPONSE__BODY_PUT_CHUNKS &&
	    fwd.reply.resp->put_chunks->n_stored == n)
		down = fwd.reply.resp->put_chunks;
	Pp__V1__PutChunksResponse *pr = rpc_call_alloc(call, sizeof(*pr));
	pp__v1__put_chunks_response__init(pr);
	pr->stored = rpc_call_alloc(call, n * sizeof(*pr->stored));
	pr->n_stored = n;
	size_t total = 0;
	for (size_t i = 0; i < n; i++) {
		pr->stored[i] = (here[i] && registered ? 1 : 0) + (down ? down->stored[i] : 0);
		total += pr->stored[i];
	}
	if (forwarding)
		rpc_reply_free(&fwd.reply);
	if (total == 0) {
		rpc_call_fail(call, PP_EUNAVAIL, "no chunk of the batch was stored and recorded");
		return;
	}
	if (nstored < n || !registered)
		log_warn("put_batch_partial", "chunks=%zu stored=%zu registered=%d", n, nstored,
			 (int)registered);
	call->resp.body_case = PP__V1__RESPONSE__BODY_PUT_CHUNKS;
	call->resp.put_chunks = pr;
}
