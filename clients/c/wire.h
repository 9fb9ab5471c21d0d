/* The client library's codec and call layer: nanopb messages in common/frame.h
 * frames over common/rpc_peer.h transport.
 *
 * wire_call() encodes a pp.v1.Request, sends it with an optional bulk payload
 * (chunk bytes travel as the frame payload, never inside protobuf), opens and
 * checks the reply frame and decodes the pp.v1.Response into the caller's
 * struct, whose repeated-field callbacks the caller sets beforehand. Any
 * failure (transport, frame, auth, decode, non-OK status) comes back as a
 * PP_E* code with a sentence in err; the server's error text when it sent one. */
#ifndef PP_CLIENT_WIRE_H
#define PP_CLIENT_WIRE_H

#include "client_internal.h"

#include <pb_decode.h>
#include <pb_encode.h>
#include "pp/v1/rpc.pb.h"

/* A reply kept alive so its payload can be read without a copy. */
struct wire_reply {
	nng_msg *msg; /* owned; free with wire_reply_free */
	const uint8_t *payload;
	size_t payload_len;
};

/* Sends req to address. payload may be NULL. resp is decoded in place;
 * keep (may be NULL) receives the raw reply for its payload. */
int wire_call(pp_client *c, const char *address, const pp_v1_Request *req, const void *payload,
	      size_t payload_len, pp_v1_Response *resp, struct wire_reply *keep, int timeout_ms,
	      struct pp_error *err);
void wire_reply_free(struct wire_reply *r);

/* Encoder callback for `repeated string`: arg is a NULL-terminated char *[]. */
bool wire_encode_strings(pb_ostream_t *s, const pb_field_t *f, void *const *arg);

/* Growable arrays filled by the decode callbacks below. */
struct wire_vec {
	void *items;
	size_t n, cap;
	size_t limit; /* refuse more than this many items (bounds a reply) */
	bool oom;
};
void wire_vec_free(struct wire_vec *v);

/* Decoders for repeated fields: arg points at a struct wire_vec. */
bool wire_decode_files(pb_istream_t *s, const pb_field_t *f, void **arg);     /* struct pp_file */
bool wire_decode_nodes(pb_istream_t *s, const pb_field_t *f, void **arg);     /* struct pp_node */
bool wire_decode_replicas(pb_istream_t *s, const pb_field_t *f, void **arg);  /* struct pp_replica */
bool wire_decode_chunks(pb_istream_t *s, const pb_field_t *f, void **arg);    /* struct pp_chunk */
bool wire_decode_count(pb_istream_t *s, const pb_field_t *f, void **arg);     /* size_t counter */

void wire_file_from_pb(const pp_v1_FileInfo *in, struct pp_file *out);
void wire_node_from_pb(const pp_v1_NodeInfo *in, struct pp_node *out);
void wire_health_from_pb(const pp_v1_Health *in, struct pp_health *out);
void wire_chunks_free(struct pp_chunk *chunks, size_t n);

#endif
