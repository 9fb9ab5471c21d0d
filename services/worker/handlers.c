/* RPC handlers of pp-worker; see handlers.h. The service pointer is the
 * struct worker.
 *
 * Chunk bytes go straight from disk into the reply frame's payload. A whole
 * chunk is sent without hashing it here: every reader verifies it against
 * the id (one hash per byte end to end) and a mismatch comes back as a
 * verify_chunk, which re-hashes the copy before anything is quarantined. A
 * range, which its reader cannot check, is verified before it leaves; on
 * any failure the payload is cut to zero. A put is acknowledged only after
 * the tracker recorded the replica (DESIGN.md, "Flows": Upload). */
#define _GNU_SOURCE
#include "handlers.h"
#include "errors.h"
#include "frame.h"
#include "flags.h"
#include "hash.h"
#include "keeper.h"
#include "put_batch.h"
#include "log.h"
#include "meta_log.h"
#include "meta_record.h"
#include "rpc_client.h"
#include "timeutil.h"
#include "trackers.h"
#include "transfer.h"
#include "worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROXY_TIMEOUT_MS 10000

static void h_ping(void *svc, struct rpc_call *call)
{
	struct worker *w = svc;
	/* A promoted tracker pings every worker with its new term (fencing). */
	if (call->req->term > atomic_load(&w->term) && !trackers_term_ok(w, call))
		return;
	Pp__V1__PingResponse *p = rpc_call_alloc(call, sizeof(*p));
	pp__v1__ping_response__init(p);
	p->node_id = (char *)w->cfg.id;
	p->role = "worker";
	p->version = PP_VERSION;
	p->uptime_ms = time_wall_ms() - w->started_at_ms;
	call->resp.body_case = PP__V1__RESPONSE__BODY_PING;
	call->resp.ping = p;
}

/* Counts a transfer in heartbeats for as long as it runs. */
static void inflight_begin(struct worker *w) { atomic_fetch_add(&w->inflight, 1); }
static void inflight_end(struct worker *w) { atomic_fetch_sub(&w->inflight, 1); }

static void h_put_chunk(void *svc, struct rpc_call *call)
{
	struct worker *w = svc;
	const Pp__V1__PutChunkRequest *r = call->req->put_chunk;
	const char *id = r->chunk_id;
	if (!chunk_id_valid(id)) {
		rpc_call_fail(call, PP_EINVAL, "invalid chunk id");
		return;
	}
	if (call->payload_len > PP_CHUNK_SIZE_MAX) {
		rpc_call_fail(call, PP_ETOOLARGE, "chunk of %zu bytes exceeds %u", call->payload_len,
			      PP_CHUNK_SIZE_MAX);
		return;
	}
	/* Refuse corrupt bytes before they travel further down the pipeline. */
	char hex[PP_SHA256_HEX];
	if (sha256_hex(call->payload, call->payload_len, hex) != PP_OK || strcmp(hex, id) != 0) {
		rpc_call_fail(call, PP_EINTEGRITY, "payload does not hash to %s", id);
		return;
	}
	for (size_t i = 0; i < r->n_forward; i++) {
		if (r->forward[i] == NULL || strncmp(r->forward[i], "tcp://", 6) != 0) {
			rpc_call_fail(call, PP_EINVAL, "bad forward address");
			return;
		}
	}
	/* Only a put that waits on another node takes a slot (see worker.h). */
	bool forwarding = r->n_forward > 0;
	if (forwarding && worker_slot_take(w, WORKER_SLOT_WAIT_MS) != PP_OK) {
		rpc_call_fail(call, PP_EUNAVAIL, "worker busy: too many transfers in flight");
		return;
	}
	inflight_begin(w);
	/* The bytes are written here first, then the request's own frame goes
	 * down the pipeline (no copy: a forwarding put holds one chunk, not
	 * two), while this copy is fsynced and registered. */
	struct store_staged *staged = NULL;
	int rc = store_stage(w->store, id, call->payload, call->payload_len, false, &staged);
	struct transfer_forward fwd = {
		.w = w,
		.chunk_id = id,
		.forward = r->forward,
		.n_forward = r->n_forward,
		.payload = call->payload,
		.payload_len = call->payload_len,
	};
	if (forwarding) {
		fwd.msg = rpc_call_take_request(call); /* call->payload goes with it */
		if (transfer_forward_start(&fwd) != PP_OK)
			fwd.rc = PP_EINTERNAL;
	}
	struct store_copy copy;
	if (rc == PP_OK)
		rc = store_finish(w->store, staged, &copy);
	bool registered = false;
	if (rc == PP_OK)
		registered = transfer_register(w, id, &copy) == PP_OK;
	int down_rc = forwarding ? transfer_forward_join(&fwd) : PP_OK;
	if (forwarding)
		worker_slot_give(w);
	inflight_end(w);

	/* stored_on: this node (when durably stored and recorded) then the
	 * nodes downstream that did store it; the client asks for placement
	 * again when it holds fewer than it needs. */
	size_t n_down = 0;
	char **down = NULL;
	if (forwarding && down_rc == PP_OK &&
	    fwd.reply.resp->body_case == PP__V1__RESPONSE__BODY_PUT_CHUNK) {
		n_down = fwd.reply.resp->put_chunk->n_stored_on;
		down = fwd.reply.resp->put_chunk->stored_on;
	}
	Pp__V1__PutChunkResponse *pr = rpc_call_alloc(call, sizeof(*pr));
	pp__v1__put_chunk_response__init(pr);
	pr->stored_on = rpc_call_alloc(call, (n_down + 1) * sizeof(char *));
	if (registered)
		pr->stored_on[pr->n_stored_on++] = (char *)w->cfg.id;
	for (size_t i = 0; i < n_down; i++)
		pr->stored_on[pr->n_stored_on++] = rpc_call_strdup(call, down[i]);
	if (forwarding)
		rpc_reply_free(&fwd.reply);

	if (pr->n_stored_on == 0) {
		if (rc == PP_OK)
			rpc_call_fail(call, PP_EUNAVAIL, "stored but the tracker did not record it");
		else
			rpc_call_fail(call, rc, "put_chunk %s: %s", id, pp_strerror(rc));
		return;
	}
	if (rc != PP_OK)
		log_warn("put_partial", "chunk=%s local_err=%s stored_on=%zu", id, pp_err_name(rc),
			 pr->n_stored_on);
	call->resp.body_case = PP__V1__RESPONSE__BODY_PUT_CHUNK;
	call->resp.put_chunk = pr;
}

/* A chunk pulled for a direct get: its bytes went to the reader already;
 * the keeper makes the extra copy durable and registers it (DESIGN.md,
 * "Direct node access"). Queued after the reply, since a full queue waits. */
struct kept_copy {
	struct worker *w;
	struct store_staged *staged;
	char id[PP_SHA256_HEX];
	char source[128];
};

static void keep_copy_after_reply(void *arg)
{
	struct kept_copy *k = arg;
	keeper_add(k->w->keeper, k->staged, k->id, k->source);
	free(k);
}

/* Cuts [offset, offset+length) out of a whole chunk already in the reply. */
static int reply_range(struct rpc_call *call, uint8_t *buf, size_t len, uint32_t offset,
		       uint32_t length)
{
	size_t want = len - offset;
	if (length != 0 && length < want)
		want = length;
	if (offset > 0)
		memmove(buf, buf + offset, want);
	return rpc_call_reply_payload_truncate(call, want);
}

static void get_chunk_reply(struct rpc_call *call, size_t size, bool fetched)
{
	Pp__V1__GetChunkResponse *gr = rpc_call_alloc(call, sizeof(*gr));
	pp__v1__get_chunk_response__init(gr);
	gr->size = (uint32_t)size;
	gr->fetched = fetched;
	call->resp.body_case = PP__V1__RESPONSE__BODY_GET_CHUNK;
	call->resp.get_chunk = gr;
}

/* Direct node access, a chunk this worker does not hold: pull it from the
 * least busy source (verified on arrival), write the copy to a temp file,
 * answer with the pulled message itself and leave the fsync and the
 * registration to the keeper, so the reader waits for one transfer and one
 * hash, not for the disk, and the transfer slot is free again at once. */
static void get_missing(struct worker *w, struct rpc_call *call, const Pp__V1__GetChunkRequest *r)
{
	const char *id = r->chunk_id;
	int rc = worker_slot_take(w, WORKER_SLOT_WAIT_MS);
	if (rc != PP_OK) {
		rpc_call_fail(call, rc, "worker busy: too many transfers in flight");
		return;
	}
	inflight_begin(w);
	struct rpc_reply got;
	struct store_staged *staged = NULL;
	char source[128] = "";
	rc = transfer_fetch(w, id, r->sources, r->n_sources, &got, source, sizeof(source));
	if (rc == PP_OK && r->offset > got.payload_len)
		rc = PP_EINVAL;
	if (rc == PP_OK && store_stage(w->store, id, got.payload, got.payload_len, true, &staged) !=
			       PP_OK)
		staged = NULL; /* no room: serve it all the same, keep nothing */
	size_t size = got.payload_len;
	uint8_t *buf = NULL;
	if (rc == PP_OK) {
		rc = rpc_call_reply_relay(call, got.msg, &buf);
		if (rc == PP_OK)
			got.msg = NULL; /* the reply owns it now */
	}
	if (rc == PP_OK)
		rc = reply_range(call, buf, size, r->offset, r->length);
	rpc_reply_free(&got);
	inflight_end(w);
	worker_slot_give(w);
	if (rc != PP_OK) {
		store_stage_abort(w->store, staged);
		rpc_call_reply_payload_drop(call);
		rpc_call_fail(call, rc, "chunk %s: %s", id, pp_strerror(rc));
		return;
	}
	get_chunk_reply(call, size, true);
	struct kept_copy *k = staged ? malloc(sizeof(*k)) : NULL;
	if (k == NULL) {
		store_stage_abort(w->store, staged);
		return;
	}
	*k = (struct kept_copy){.w = w, .staged = staged};
	snprintf(k->id, sizeof(k->id), "%s", id);
	snprintf(k->source, sizeof(k->source), "%s", source);
	rpc_call_after_reply(call, keep_copy_after_reply, k);
}

static void h_get_chunk(void *svc, struct rpc_call *call)
{
	struct worker *w = svc;
	const Pp__V1__GetChunkRequest *r = call->req->get_chunk;
	const char *id = r->chunk_id;
	if (!chunk_id_valid(id)) {
		rpc_call_fail(call, PP_EINVAL, "invalid chunk id");
		return;
	}
	uint32_t size;
	int rc = store_size(w->store, id, &size);
	if (rc == PP_ENOTFOUND && r->fetch_missing) {
		get_missing(w, call, r);
		return;
	}
	if (rc != PP_OK) {
		rpc_call_fail(call, rc, "chunk %s: %s", id, pp_strerror(rc));
		return;
	}
	if (r->offset > size) {
		rpc_call_fail(call, PP_EINVAL, "offset %u beyond chunk size %u", r->offset, size);
		return;
	}
	uint8_t *buf = rpc_call_reply_payload(call, size);
	if (buf == NULL) {
		rpc_call_fail(call, PP_EINTERNAL, "cannot allocate the reply");
		return;
	}
	/* A whole chunk goes out as stored: the reader hashes it anyway. A
	 * range cannot be checked by its reader, so it is verified here. */
	bool whole = r->offset == 0 && (r->length == 0 || r->length >= size);
	size_t len = 0;
	rc = whole ? store_read_unverified(w->store, id, buf, size, &len)
		   : store_read(w->store, id, buf, size, &len, true);
	if ((rc == PP_EINTEGRITY || rc == PP_ENOTFOUND) && r->fetch_missing) {
		/* Our copy was bad (now quarantined and reported) or vanished:
		 * pull a fresh one for the reader instead of failing it. */
		rpc_call_reply_payload_drop(call);
		get_missing(w, call, r);
		return;
	}
	if (rc == PP_OK)
		rc = reply_range(call, buf, len, r->offset, r->length);
	if (rc != PP_OK) {
		rpc_call_reply_payload_truncate(call, 0);
		rpc_call_fail(call, rc, "chunk %s: %s", id, pp_strerror(rc));
		return;
	}
	get_chunk_reply(call, len, false);
}

/* A reader got bytes from us that did not match the id: check our copy
 * ourselves; only a copy that fails here is quarantined (and reported). */
static void h_verify_chunk(void *svc, struct rpc_call *call)
{
	struct worker *w = svc;
	const char *id = call->req->verify_chunk->chunk_id;
	if (!chunk_id_valid(id)) {
		rpc_call_fail(call, PP_EINVAL, "invalid chunk id");
		return;
	}
	int rc = store_verify(w->store, id);
	log_info("chunk_verify_asked", "chunk=%s result=%s", id,
		 rc == PP_OK ? "good" : rc == PP_EINTEGRITY ? "corrupt" : pp_err_name(rc));
	if (rc != PP_OK && rc != PP_EINTEGRITY && rc != PP_ENOTFOUND) {
		rpc_call_fail(call, rc, "cannot verify chunk %s: %s", id, pp_strerror(rc));
		return;
	}
	Pp__V1__VerifyChunkResponse *vr = rpc_call_alloc(call, sizeof(*vr));
	pp__v1__verify_chunk_response__init(vr);
	vr->held = rc != PP_ENOTFOUND;
	vr->corrupt = rc == PP_EINTEGRITY;
	call->resp.body_case = PP__V1__RESPONSE__BODY_VERIFY_CHUNK;
	call->resp.verify_chunk = vr;
}

static void h_has_chunks(void *svc, struct rpc_call *call)
{
	struct worker *w = svc;
	const Pp__V1__HasChunksRequest *r = call->req->has_chunks;
	Pp__V1__HasChunksResponse *hr = rpc_call_alloc(call, sizeof(*hr));
	pp__v1__has_chunks_response__init(hr);
	hr->present = rpc_call_alloc(call, (r->n_chunk_ids + 1) * sizeof(protobuf_c_boolean));
	hr->n_present = r->n_chunk_ids;
	for (size_t i = 0; i < r->n_chunk_ids; i++)
		hr->present[i] = chunk_id_valid(r->chunk_ids[i]) &&
				 store_has(w->store, r->chunk_ids[i]);
	call->resp.body_case = PP__V1__RESPONSE__BODY_HAS_CHUNKS;
	call->resp.has_chunks = hr;
}

static void h_delete_chunks(void *svc, struct rpc_call *call)
{
	struct worker *w = svc;
	const Pp__V1__DeleteChunksRequest *r = call->req->delete_chunks;
	if (!trackers_term_ok(w, call))
		return;
	if (r->n_gens != r->n_chunk_ids) {
		rpc_call_fail(call, PP_EINVAL, "%zu chunk ids but %zu gens: a delete names each copy",
			      r->n_chunk_ids, r->n_gens);
		return;
	}
	for (size_t i = 0; i < r->n_chunk_ids; i++) {
		if (!chunk_id_valid(r->chunk_ids[i])) {
			rpc_call_fail(call, PP_EINVAL, "invalid chunk id at %zu", i);
			return;
		}
	}
	Pp__V1__DeleteChunksResponse *dr = rpc_call_alloc(call, sizeof(*dr));
	pp__v1__delete_chunks_response__init(dr);
	dr->gone = rpc_call_alloc(call, (r->n_chunk_ids + 1) * sizeof(*dr->gone));
	dr->n_gone = r->n_chunk_ids;
	size_t deleted = 0, kept = 0;
	for (size_t i = 0; i < r->n_chunk_ids; i++) {
		int rc = store_delete(w->store, r->chunk_ids[i], r->gens[i]);
		deleted += rc == PP_OK;
		/* Another gen is a copy written after the tracker decided: kept. */
		if (rc == PP_ECONFLICT) {
			kept++;
			log_info("delete_skipped", "chunk=%s gen=%llu reason=\"newer copy held\"",
				 r->chunk_ids[i], (unsigned long long)r->gens[i]);
		}
		dr->gone[i] = rc == PP_OK || rc == PP_ENOTFOUND || rc == PP_ECONFLICT;
	}
	log_info("chunks_deleted", "asked=%zu deleted=%zu kept=%zu", r->n_chunk_ids, deleted, kept);
	call->resp.body_case = PP__V1__RESPONSE__BODY_DELETE_CHUNKS;
	call->resp.delete_chunks = dr;
}

/* Holds a valid copy already? Reading verifies it (a bad one is
 * quarantined and pulled again). */
static bool holds_valid_copy(struct worker *w, const char *id)
{
	uint32_t size;
	if (store_size(w->store, id, &size) != PP_OK)
		return false;
	uint8_t *buf = malloc(size ? size : 1);
	size_t len;
	bool ok = buf != NULL && store_read(w->store, id, buf, size, &len, false) == PP_OK;
	free(buf);
	return ok;
}

static void h_pull_chunk(void *svc, struct rpc_call *call)
{
	struct worker *w = svc;
	const Pp__V1__PullChunkRequest *r = call->req->pull_chunk;
	const char *id = r->chunk_id;
	if (!trackers_term_ok(w, call))
		return;
	if (!chunk_id_valid(id)) {
		rpc_call_fail(call, PP_EINVAL, "invalid chunk id");
		return;
	}
	/* A copy held already (an extra one, say) is claimed rather than
	 * copied again: it becomes a regular copy under a new gen, so a delete
	 * of the old one still in flight cannot remove it. */
	struct store_copy copy;
	if (holds_valid_copy(w, id) && store_claim(w->store, id, &copy) == PP_OK) {
		int rc = transfer_register(w, id, &copy);
		if (rc != PP_OK)
			rpc_call_fail(call, rc, "held, but the tracker did not record it");
		return;
	}
	int rc = worker_slot_take(w, WORKER_SLOT_WAIT_MS);
	if (rc != PP_OK) {
		rpc_call_fail(call, rc, "worker busy: too many transfers in flight");
		return;
	}
	inflight_begin(w);
	rc = transfer_pull(w, id, r->sources, r->n_sources, false);
	inflight_end(w);
	worker_slot_give(w);
	if (rc != PP_OK)
		rpc_call_fail(call, rc, "pull of %s failed: %s", id, pp_strerror(rc));
}

/* ---- metadata records (DESIGN.md, "Metadata recovery") ---- */

#define READ_META_DEFAULT_BYTES (1u << 20)

static bool name_hash_parse(const char *hex, uint8_t out[META_NAME_HASH_BYTES])
{
	if (!chunk_id_valid(hex)) /* same shape: 64 lowercase hex */
		return false;
	for (int i = 0; i < META_NAME_HASH_BYTES; i++) {
		unsigned v;
		sscanf(hex + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
	return true;
}

static void h_put_meta(void *svc, struct rpc_call *call)
{
	struct worker *w = svc;
	if (!trackers_term_ok(w, call))
		return;
	if (call->payload_len == 0 || call->payload_len > META_RECORD_MAX) {
		rpc_call_fail(call, PP_EINVAL, "a metadata record of 1..%u bytes is the payload",
			      META_RECORD_MAX);
		return;
	}
	int rc = meta_log_put(w->meta, call->payload, call->payload_len);
	if (rc != PP_OK)
		rpc_call_fail(call, rc, "metadata record not kept: %s", pp_strerror(rc));
}

static void h_read_meta(void *svc, struct rpc_call *call)
{
	struct worker *w = svc;
	const Pp__V1__ReadMetaRequest *r = call->req->read_meta;
	struct meta_cursor cur = {.seq = r->cursor_seq, .page = r->cursor_page};
	if (r->cursor_seq != 0 && !name_hash_parse(r->cursor_name_hash, cur.name_hash)) {
		rpc_call_fail(call, PP_EINVAL, "cursor_name_hash: want 64 lowercase hex");
		return;
	}
	size_t soft = r->max_bytes ? r->max_bytes : READ_META_DEFAULT_BYTES;
	if (soft > READ_META_DEFAULT_BYTES * 4)
		soft = READ_META_DEFAULT_BYTES * 4;
	size_t cap = soft + 4 + META_RECORD_MAX;
	uint8_t *buf = rpc_call_reply_payload(call, cap);
	if (buf == NULL) {
		rpc_call_fail(call, PP_EINTERNAL, "cannot allocate the reply");
		return;
	}
	size_t used = 0;
	uint32_t count = 0;
	bool done = false;
	int rc = meta_log_read(w->meta, r->after_seq, &cur, buf, soft, cap, &used, &count, &done);
	rpc_call_reply_payload_truncate(call, rc == PP_OK ? used : 0);
	if (rc != PP_OK) {
		rpc_call_fail(call, rc, "cannot read the metadata log");
		return;
	}
	Pp__V1__ReadMetaResponse *rr = rpc_call_alloc(call, sizeof(*rr));
	pp__v1__read_meta_response__init(rr);
	rr->count = count;
	rr->done = done;
	rr->cursor_seq = cur.seq;
	rr->cursor_page = cur.page;
	rr->cursor_name_hash = rpc_call_alloc(call, 2 * META_NAME_HASH_BYTES + 1);
	hex_encode(cur.name_hash, META_NAME_HASH_BYTES, rr->cursor_name_hash);
	call->resp.body_case = PP__V1__RESPONSE__BODY_READ_META;
	call->resp.read_meta = rr;
}

static void h_delete_meta(void *svc, struct rpc_call *call)
{
	struct worker *w = svc;
	const Pp__V1__DeleteMetaRequest *r = call->req->delete_meta;
	uint8_t hash[META_NAME_HASH_BYTES];
	if (!trackers_term_ok(w, call))
		return;
	if (!name_hash_parse(r->name_hash, hash)) {
		rpc_call_fail(call, PP_EINVAL, "name_hash: want 64 lowercase hex");
		return;
	}
	meta_log_forget_below(w->meta, hash, r->below_seq);
}

/* protobuf-c allocator over the call's arena, so a proxied answer lives
 * exactly as long as the reply that carries it. */
static void *arena_alloc(void *data, size_t size) { return rpc_call_alloc(data, size); }
static void arena_free(void *data, void *ptr)
{
	(void)data;
	(void)ptr;
}

/* Direct node access: tracker queries pass through unchanged. */
static void h_proxy(void *svc, struct rpc_call *call)
{
	struct worker *w = svc;
	struct rpc_reply reply;
	int rc = trackers_call(w, call->req, PROXY_TIMEOUT_MS, &reply);
	if (reply.resp == NULL) {
		rpc_call_fail(call, rc, "tracker unreachable from this worker: %s",
			      rpc_reply_error(&reply, rc));
		rpc_reply_free(&reply);
		return;
	}
	size_t n = pp__v1__response__get_packed_size(reply.resp);
	uint8_t *packed = rpc_call_alloc(call, n + 1);
	pp__v1__response__pack(reply.resp, packed);
	rpc_reply_free(&reply);
	ProtobufCAllocator alloc = {.alloc = arena_alloc, .free = arena_free, .allocator_data = call};
	Pp__V1__Response *copy = pp__v1__response__unpack(&alloc, n, packed);
	if (copy == NULL) {
		rpc_call_fail(call, PP_EINTERNAL, "could not relay the tracker's answer");
		return;
	}
	call->resp = *copy;
}

const struct rpc_route worker_routes[] = {
	{PP__V1__REQUEST__BODY_PING, h_ping, "ping"},
	{PP__V1__REQUEST__BODY_PUT_CHUNK, h_put_chunk, "put_chunk"},
	{PP__V1__REQUEST__BODY_PUT_CHUNKS, h_put_chunks, "put_chunks"},
	{PP__V1__REQUEST__BODY_GET_CHUNK, h_get_chunk, "get_chunk"},
	{PP__V1__REQUEST__BODY_HAS_CHUNKS, h_has_chunks, "has_chunks"},
	{PP__V1__REQUEST__BODY_DELETE_CHUNKS, h_delete_chunks, "delete_chunks"},
	{PP__V1__REQUEST__BODY_PULL_CHUNK, h_pull_chunk, "pull_chunk"},
	{PP__V1__REQUEST__BODY_VERIFY_CHUNK, h_verify_chunk, "verify_chunk"},
	{PP__V1__REQUEST__BODY_PUT_META, h_put_meta, "put_meta"},
	{PP__V1__REQUEST__BODY_READ_META, h_read_meta, "read_meta"},
	{PP__V1__REQUEST__BODY_DELETE_META, h_delete_meta, "delete_meta"},
	{PP__V1__REQUEST__BODY_MANIFEST, h_proxy, "manifest"},
	{PP__V1__REQUEST__BODY_LIST, h_proxy, "list"},
	{PP__V1__REQUEST__BODY_NODES, h_proxy, "nodes"},
	{PP__V1__REQUEST__BODY_HEALTH, h_proxy, "health"},
	{PP__V1__REQUEST__BODY_LOCATE, h_proxy, "locate"},
	{PP__V1__REQUEST__BODY_PREFIX_MANIFEST, h_proxy, "prefix_manifest"},
};
const size_t worker_route_count = sizeof(worker_routes) / sizeof(worker_routes[0]);
