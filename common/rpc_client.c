/* protobuf-c request/response calls over rpc_peer; see rpc_client.h. */
#include "rpc_client.h"
#include "errors.h"
#include "frame.h"
#include "log.h"

#include <string.h>

int pbc_frame(struct auth *a, const ProtobufCMessage *msg, const void *payload,
	      size_t payload_len, nng_msg **out)
{
	uint8_t *dst;
	nng_msg *m;
	int rc = frame_start(&m, payload_len, &dst);
	if (rc != PP_OK)
		return rc;
	if (payload_len)
		memcpy(dst, payload, payload_len);
	size_t n = protobuf_c_message_get_packed_size(msg);
	rc = frame_reserve_pb(m, n, &dst);
	if (rc == PP_OK) {
		protobuf_c_message_pack(msg, dst);
		rc = frame_seal(m, a);
	}
	if (rc != PP_OK) {
		nng_msg_free(m);
		return rc;
	}
	*out = m;
	return PP_OK;
}

static int reply_decode(struct auth *a, nng_msg *msg, struct rpc_reply *out)
{
	struct frame_view v = {0};
	const char *why = NULL;
	out->msg = msg;
	int rc = frame_open(msg, a, false, &v, &why);
	if (rc != PP_OK) {
		/* A refusal from the peer comes back unsigned: decode it anyway so
		 * the caller sees AUTH_REFUSED rather than a signature error. */
		if (rc == PP_EAUTH && !v.is_signed) {
			Pp__V1__Response *r = pp__v1__response__unpack(NULL, v.pb_len, v.pb);
			if (r != NULL && r->status == PP__V1__STATUS__STATUS_AUTH_REFUSED) {
				out->resp = r;
				return PP_EAUTH;
			}
			if (r != NULL)
				pp__v1__response__free_unpacked(r, NULL);
		}
		log_warn("reply_refused", "reason=%s", log_q(why ? why : "?"));
		return rc;
	}
	out->resp = pp__v1__response__unpack(NULL, v.pb_len, v.pb);
	if (out->resp == NULL) {
		log_warn("reply_malformed", "bytes=%zu", v.pb_len);
		return PP_EINVAL;
	}
	out->payload = v.payload;
	out->payload_len = v.payload_len;
	return pp_err_from_status((int)out->resp->status);
}

static int call_common(struct rpc_peers *peers, struct rpc_peer *peer, const char *address,
		       struct auth *a, const Pp__V1__Request *req, const void *payload,
		       size_t payload_len, int timeout_ms, struct rpc_reply *out)
{
	memset(out, 0, sizeof(*out));
	nng_msg *m, *reply = NULL;
	int rc = pbc_frame(a, &req->base, payload, payload_len, &m);
	if (rc != PP_OK)
		return rc;
	rc = peer ? rpc_peer_call(peer, m, &reply, timeout_ms)
		  : rpc_peers_call(peers, address, m, &reply, timeout_ms);
	if (rc != PP_OK)
		return rc;
	return reply_decode(a, reply, out);
}

int rpc_call(struct rpc_peers *peers, const char *address, struct auth *a,
	     const Pp__V1__Request *req, const void *payload, size_t payload_len, int timeout_ms,
	     struct rpc_reply *out)
{
	return call_common(peers, NULL, address, a, req, payload, payload_len, timeout_ms, out);
}

int rpc_call_relay(struct rpc_peers *peers, const char *address, struct auth *a,
		   const Pp__V1__Request *req, nng_msg *m, int timeout_ms, struct rpc_reply *out)
{
	memset(out, 0, sizeof(*out));
	uint8_t *dst;
	size_t n = protobuf_c_message_get_packed_size(&req->base);
	int rc = frame_keep_payload(m);
	if (rc == PP_OK)
		rc = frame_reserve_pb(m, n, &dst);
	if (rc == PP_OK) {
		protobuf_c_message_pack(&req->base, dst);
		rc = frame_seal(m, a);
	}
	if (rc != PP_OK) {
		nng_msg_free(m);
		return rc;
	}
	nng_msg *reply = NULL;
	rc = rpc_peers_call(peers, address, m, &reply, timeout_ms);
	if (rc != PP_OK)
		return rc;
	return reply_decode(a, reply, out);
}

int rpc_call_peer(struct rpc_peer *peer, struct auth *a, const Pp__V1__Request *req,
		  const void *payload, size_t payload_len, int timeout_ms, struct rpc_reply *out)
{
	return call_common(NULL, peer, NULL, a, req, payload, payload_len, timeout_ms, out);
}

void rpc_reply_free(struct rpc_reply *r)
{
	if (r->resp)
		pp__v1__response__free_unpacked(r->resp, NULL);
	if (r->msg)
		nng_msg_free(r->msg);
	memset(r, 0, sizeof(*r));
}

const char *rpc_reply_error(const struct rpc_reply *r, int rc)
{
	if (r->resp != NULL && r->resp->error != NULL && r->resp->error[0] != '\0')
		return r->resp->error;
	return pp_strerror(rc);
}
