/* Decoder of aws-chunked request bodies (SigV4 streaming uploads):
 *
 *   HEXSIZE[;chunk-signature=SIG]\r\n DATA\r\n ... 0[;chunk-signature=SIG]\r\n
 *   [trailer-name:value\r\n ...] [x-amz-trailer-signature:SIG\r\n] \r\n
 *
 * It streams: decoded bytes go to the sink as they arrive, never buffered
 * whole; only a header line (<= 256 bytes) and the trailers (<= 4 KiB) are
 * held. With signed chunks each chunk's signature is checked (chained from
 * the request's seed signature) when the chunk ends; a bad one fails the
 * body, and the caller aborts whatever the sink wrote. Framing never reaches
 * the sink. */
#ifndef PP_GATEWAY_S3_CHUNKED_H
#define PP_GATEWAY_S3_CHUNKED_H

#include "s3_errors.h"
#include "s3_sigv4.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHUNKED_LINE_MAX 256
#define CHUNKED_TRAILERS_MAX 8
#define CHUNKED_TRAILER_BYTES_MAX 4096

struct s3_chunked_cfg {
	bool signed_chunks;  /* chunk-signature on every chunk header */
	bool signed_trailer; /* x-amz-trailer-signature after the trailers */
	/* Signatures are checked only with an auth verified against a secret
	 * (an open endpoint cannot); NULL = never. */
	const struct sigv4_auth *auth;
};

/* Receives decoded bytes; returns PP_OK or fills fail. */
typedef int (*s3_sink_fn)(void *arg, const uint8_t *data, size_t len, struct s3_fail *fail);

struct s3_chunked;

int s3_chunked_new(const struct s3_chunked_cfg *cfg, s3_sink_fn sink, void *arg,
		   struct s3_chunked **out);
void s3_chunked_free(struct s3_chunked *d);
/* Feeds raw body bytes. Malformed framing is IncompleteBody/InvalidRequest,
 * a bad signature SignatureDoesNotMatch. */
int s3_chunked_feed(struct s3_chunked *d, const uint8_t *data, size_t len, struct s3_fail *fail);
/* The body ended: the last chunk (and trailers) must have arrived. */
int s3_chunked_finish(struct s3_chunked *d, struct s3_fail *fail);
/* A trailer's value (name lowercase), once finished; NULL if not sent. */
const char *s3_chunked_trailer(const struct s3_chunked *d, const char *name);
uint64_t s3_chunked_decoded(const struct s3_chunked *d);

#endif
