/* Calling another service from a service (protobuf-c codec): tracker to
 * workers, worker to tracker and to peers. Also frames any protobuf-c
 * message, for heartbeats and events on pub/sub sockets. */
#ifndef PP_COMMON_RPC_CLIENT_H
#define PP_COMMON_RPC_CLIENT_H

#include "auth.h"
#include "pp/v1/rpc.pb-c.h"
#include "rpc_peer.h"

#include <nng/nng.h>
#include <stddef.h>
#include <stdint.h>

/* A reply; owns the unpacked response and the message its payload points into. */
struct rpc_reply {
	Pp__V1__Response *resp;
	const uint8_t *payload;
	size_t payload_len;
	nng_msg *msg;
};

/* Sends req (+ payload bytes) and waits. Returns PP_OK when the reply's
 * status is OK; the mapped PP_E* code when the peer answered with an error
 * (out->resp->error says why); PP_EUNAVAIL when nothing came back in time;
 * PP_EAUTH/PP_EINVAL when the reply frame was refused. `out` must be freed
 * with rpc_reply_free whatever the result. */
int rpc_call(struct rpc_peers *peers, const char *address, struct auth *a,
	     const Pp__V1__Request *req, const void *payload, size_t payload_len, int timeout_ms,
	     struct rpc_reply *out);
/* rpc_call whose payload is already in the frame m (a received frame being
 * sent on: its old protobuf part and mac are replaced). m is consumed. */
int rpc_call_relay(struct rpc_peers *peers, const char *address, struct auth *a,
		   const Pp__V1__Request *req, nng_msg *m, int timeout_ms, struct rpc_reply *out);
int rpc_call_peer(struct rpc_peer *peer, struct auth *a, const Pp__V1__Request *req,
		  const void *payload, size_t payload_len, int timeout_ms, struct rpc_reply *out);
void rpc_reply_free(struct rpc_reply *r);
/* The error text of a failed call, for logs: the peer's message or the code's. */
const char *rpc_reply_error(const struct rpc_reply *r, int rc);

/* Frames any protobuf-c message (with an optional payload) and signs it. */
int pbc_frame(struct auth *a, const ProtobufCMessage *msg, const void *payload,
	      size_t payload_len, nng_msg **out);

#endif
