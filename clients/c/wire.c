/* nanopb codec over frames and REQ peers; see wire.h.
 *
 * Replies are trusted only after frame_open (structure, and the signature
 * when the client is keyed). Decoded strings are bounded by the .options
 * sizes; repeated fields are bounded by each wire_vec's limit, so a hostile
 * or buggy server cannot make the client allocate without bound. */
#define _GNU_SOURCE
#include "wire.h"
#include "frame.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void copy_str(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src);
}

int wire_call(pp_client *c, const char *address, const pp_v1_Request *req, const void *payload,
	      size_t payload_len, pp_v1_Response *resp, struct wire_reply *keep, int timeout_ms,
	      struct pp_error *err)
{
	nng_msg *m = NULL, *reply = NULL;
	int rc;
	size_t pb_len = 0;
	if (!pb_get_encoded_size(&pb_len, pp_v1_Request_fields, req))
		return pp_fail(err, PP_EINTERNAL, "cannot encode request");
	uint8_t *dst;
	rc = frame_start(&m, payload_len, &dst);
	if (rc != PP_OK)
		return pp_fail(err, rc, "cannot build a frame of %zu bytes", payload_len);
	if (payload_len)
		memcpy(dst, payload, payload_len);
	rc = frame_reserve_pb(m, pb_len, &dst);
	if (rc != PP_OK) {
		nng_msg_free(m);
		return pp_fail(err, rc, "request too large");
	}
	pb_ostream_t os = pb_ostream_from_buffer(dst, pb_len);
	if (!pb_encode(&os, pp_v1_Request_fields, req)) {
		nng_msg_free(m);
		return pp_fail(err, PP_EINTERNAL, "cannot encode request: %s", PB_GET_ERROR(&os));
	}
	rc = frame_seal(m, &c->auth);
	if (rc != PP_OK) {
		nng_msg_free(m);
		return pp_fail(err, rc, "cannot sign request");
	}
	rc = rpc_peers_call(c->peers, address, m, &reply, timeout_ms);
	if (rc == PP_EINVAL)
		return pp_fail(err, PP_EINVAL, "invalid address %s", address);
	if (rc != PP_OK)
		return pp_fail(err, PP_EUNAVAIL, "%s is unreachable or did not answer within %d ms",
			       address, timeout_ms);
	struct frame_view v;
	const char *why = NULL;
	rc = frame_open(reply, &c->auth, false, &v, &why);
	if (rc == PP_EAUTH) {
		/* A refused request gets an unsigned AUTH_REFUSED reply. */
		rc = pp_fail(err, PP_EAUTH, "%s refused: %s (check --key-file)", address,
			     why ? why : "authentication");
		goto out;
	}
	if (rc != PP_OK) {
		rc = pp_fail(err, PP_EINTERNAL, "bad reply from %s: %s", address, why ? why : "?");
		goto out;
	}
	pb_istream_t is = pb_istream_from_buffer(v.pb, v.pb_len);
	if (!pb_decode(&is, pp_v1_Response_fields, resp)) {
		rc = pp_fail(err, PP_EINTERNAL, "cannot decode reply from %s: %s", address,
			     PB_GET_ERROR(&is));
		goto out;
	}
	if (resp->status != pp_v1_Status_STATUS_OK) {
		int code = pp_err_from_status((int)resp->status);
		if (resp->error[0] != '\0')
			rc = pp_fail(err, code, "%s", resp->error);
		else
			rc = pp_fail(err, code, "%s: %s", address, pp_strerror(code));
		goto out;
	}
	rc = PP_OK;
	if (keep != NULL) {
		keep->msg = reply;
		keep->payload = v.payload;
		keep->payload_len = v.payload_len;
		reply = NULL;
	}
out:
	if (reply != NULL)
		nng_msg_free(reply);
	return rc;
}

void wire_reply_free(struct wire_reply *r)
{
	if (r->msg != NULL)
		nng_msg_free(r->msg);
	r->msg = NULL;
	r->payload = NULL;
	r->payload_len = 0;
}

bool wire_encode_strings(pb_ostream_t *s, const pb_field_t *f, void *const *arg)
{
	char *const *list = *arg;
	for (size_t i = 0; list != NULL && list[i] != NULL; i++) {
		if (!pb_encode_tag_for_field(s, f) || !pb_encode_string(s, (const pb_byte_t *)list[i], strlen(list[i])))
			return false;
	}
	return true;
}

void wire_vec_free(struct wire_vec *v)
{
	free(v->items);
	v->items = NULL;
	v->n = v->cap = 0;
}

/* Room for one more item of elem bytes; NULL when full or out of memory. */
static void *vec_push(struct wire_vec *v, size_t elem)
{
	if (v->limit && v->n >= v->limit)
		return NULL;
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 8;
		void *p = realloc(v->items, cap * elem);
		if (p == NULL) {
			v->oom = true;
			return NULL;
		}
		v->items = p;
		v->cap = cap;
	}
	void *slot = (char *)v->items + v->n * elem;
	memset(slot, 0, elem);
	v->n++;
	return slot;
}

void wire_file_from_pb(const pp_v1_FileInfo *in, struct pp_file *out)
{
	memset(out, 0, sizeof(*out));
	copy_str(out->name, sizeof(out->name), in->name);
	copy_str(out->sha256, sizeof(out->sha256), in->sha256);
	out->size = in->size;
	out->replication = in->replication;
	out->chunk_size = in->chunk_size;
	out->chunk_count = in->chunk_count;
	out->created_at_ms = in->created_at_ms;
	out->version = in->version;
	out->health = (int)in->health;
}

void wire_node_from_pb(const pp_v1_NodeInfo *in, struct pp_node *out)
{
	memset(out, 0, sizeof(*out));
	copy_str(out->id, sizeof(out->id), in->id);
	copy_str(out->address, sizeof(out->address), in->address);
	copy_str(out->zone, sizeof(out->zone), in->zone);
	out->state = (int)in->state;
	out->capacity = in->capacity;
	out->used = in->used;
	out->chunks = in->chunks;
	out->last_heartbeat_ms = in->last_heartbeat_ms;
	out->inflight = in->inflight;
	out->started_at_ms = in->started_at_ms;
	out->disk_full = in->disk_full;
	out->drain_chunks_left = in->drain_chunks_left;
	out->drain_bytes_left = in->drain_bytes_left;
}

void wire_health_from_pb(const pp_v1_Health *in, struct pp_health *out)
{
	memset(out, 0, sizeof(*out));
	out->nodes_up = in->nodes_up;
	out->nodes_down = in->nodes_down;
	out->chunks = in->chunks;
	out->under_replicated = in->under_replicated;
	out->lost = in->lost;
	out->repairs_in_flight = in->repairs_in_flight;
	out->bytes_stored = in->bytes_stored;
	out->files = in->files;
	out->repairs_queued = in->repairs_queued;
	out->repairs_done = in->repairs_done;
	out->repair_bytes_done = in->repair_bytes_done;
	out->repair_bytes_left = in->repair_bytes_left;
	out->repair_eta_s = in->repair_eta_s;
	out->repair_rate_bps = in->repair_rate_bps;
}

bool wire_decode_files(pb_istream_t *s, const pb_field_t *f, void **arg)
{
	(void)f;
	pp_v1_FileInfo fi = pp_v1_FileInfo_init_zero;
	if (!pb_decode(s, pp_v1_FileInfo_fields, &fi))
		return false;
	struct pp_file *out = vec_push(*arg, sizeof(*out));
	if (out == NULL)
		PB_RETURN_ERROR(s, "too many files in reply");
	wire_file_from_pb(&fi, out);
	return true;
}

bool wire_decode_nodes(pb_istream_t *s, const pb_field_t *f, void **arg)
{
	(void)f;
	pp_v1_NodeInfo ni = pp_v1_NodeInfo_init_zero;
	if (!pb_decode(s, pp_v1_NodeInfo_fields, &ni))
		return false;
	struct pp_node *out = vec_push(*arg, sizeof(*out));
	if (out == NULL)
		PB_RETURN_ERROR(s, "too many nodes in reply");
	wire_node_from_pb(&ni, out);
	return true;
}

bool wire_decode_replicas(pb_istream_t *s, const pb_field_t *f, void **arg)
{
	(void)f;
	pp_v1_Replica r = pp_v1_Replica_init_zero;
	if (!pb_decode(s, pp_v1_Replica_fields, &r))
		return false;
	struct pp_replica *out = vec_push(*arg, sizeof(*out));
	if (out == NULL)
		PB_RETURN_ERROR(s, "too many replicas in reply");
	copy_str(out->node, sizeof(out->node), r.node);
	copy_str(out->address, sizeof(out->address), r.address);
	out->state = (int)r.state;
	out->load = r.load;
	return true;
}

void wire_chunks_free(struct pp_chunk *chunks, size_t n)
{
	for (size_t i = 0; chunks != NULL && i < n; i++)
		free(chunks[i].replicas);
	free(chunks);
}

bool wire_decode_chunks(pb_istream_t *s, const pb_field_t *f, void **arg)
{
	(void)f;
	struct wire_vec reps = {.limit = PP_REPLICAS_MAX};
	pp_v1_ChunkLocation cl = pp_v1_ChunkLocation_init_zero;
	cl.replicas.funcs.decode = wire_decode_replicas;
	cl.replicas.arg = &reps;
	if (!pb_decode(s, pp_v1_ChunkLocation_fields, &cl)) {
		wire_vec_free(&reps);
		return false;
	}
	struct pp_chunk *out = vec_push(*arg, sizeof(*out));
	if (out == NULL) {
		wire_vec_free(&reps);
		PB_RETURN_ERROR(s, "too many chunks in reply");
	}
	out->index = cl.index;
	copy_str(out->id, sizeof(out->id), cl.id);
	out->size = cl.size;
	out->offset = cl.offset;
	out->replicas = reps.items;
	out->replica_count = reps.n;
	return true;
}

bool wire_decode_count(pb_istream_t *s, const pb_field_t *f, void **arg)
{
	(void)f;
	size_t *n = *arg;
	(*n)++;
	/* Skip the string's bytes: only the count matters to the caller. */
	return pb_read(s, NULL, s->bytes_left);
}
