/* The frame every nng message travels in: RPCs, heartbeats and events.
 *
 *   header (36 bytes) | payload (bulk chunk bytes) | pb | mac (32, if signed)
 *
 * header = "PP" | version 1 | flags (bit 0: signed) | u32 pb_len |
 *          u32 payload_len | u64 ts_ms | 16-byte nonce   (big-endian)
 *
 * pb is one protobuf message (pp.v1.Request, Response, Heartbeat or Event) in
 * whichever codec the sender uses. The payload sits before pb so a server can
 * read a chunk from disk straight into the reply before it knows the size of
 * the protobuf part; it is never copied by a codec. The mac covers every byte
 * before it, so the signature is over exact bytes, independent of codec. */
#ifndef PP_COMMON_FRAME_H
#define PP_COMMON_FRAME_H

#include "auth.h"

#include <nng/nng.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FRAME_HEADER_BYTES 36
#define FRAME_VERSION 1
#define FRAME_FLAG_SIGNED 0x01
/* Largest chunk any cluster may configure, and room for the protobuf part. */
#define PP_CHUNK_SIZE_MAX (16u << 20)
#define PP_CHUNK_SIZE_DEFAULT (4u << 20)
#define FRAME_PB_MAX (4u << 20)
#define FRAME_MAX_BYTES ((size_t)PP_CHUNK_SIZE_MAX + FRAME_PB_MAX + FRAME_HEADER_BYTES + AUTH_MAC_BYTES)

/* Allocates a message holding the header and payload_len payload bytes for
 * the caller to fill through *payload (NULL when payload_len is 0). */
int frame_start(nng_msg **out, size_t payload_len, uint8_t **payload);
/* Shrinks the payload to new_len (<= current); only before frame_finish. */
int frame_truncate_payload(nng_msg *m, size_t new_len);
/* Turns a received frame into the start of a new one carrying the same
 * payload (its protobuf part and mac are dropped): a relay sends bytes it
 * received without copying them. Then frame_reserve_pb/frame_seal. */
int frame_keep_payload(nng_msg *m);
/* Appends the protobuf part, fills the header, signs when keyed. */
int frame_finish(nng_msg *m, struct auth *a, const void *pb, size_t pb_len);
/* The protobuf part is packed by the caller into *pb_dst (pb_len bytes);
 * then frame_seal signs. For codecs that pack into a buffer themselves. */
int frame_reserve_pb(nng_msg *m, size_t pb_len, uint8_t **pb_dst);
int frame_seal(nng_msg *m, struct auth *a);
/* start + copy + finish in one call. */
int frame_build(nng_msg **out, struct auth *a, const void *pb, size_t pb_len,
		const void *payload, size_t payload_len);

struct frame_view {
	const uint8_t *pb;
	size_t pb_len;
	const uint8_t *payload;
	size_t payload_len;
	int64_t ts_ms;
	bool is_signed;
};

/* Checks structure and, when keyed, the signature, timestamp window and (if
 * check_replay) the nonce. Returns PP_EINVAL for a malformed frame and
 * PP_EAUTH for a refused one; `why` gets a short reason. The view points
 * into m. */
int frame_open(nng_msg *m, struct auth *a, bool check_replay, struct frame_view *v,
	       const char **why);

#endif
