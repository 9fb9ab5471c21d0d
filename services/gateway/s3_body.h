/* An S3 request body on its way in: decoded (aws-chunked framing removed),
 * hashed and checked, then handed to a sink (an upload, or a buffer for
 * XML). Never held whole.
 *
 * What is checked, and when: at the end of the body, the SHA-256 a signed
 * payload announced (XAmzContentSHA256Mismatch), Content-MD5 and any
 * x-amz-checksum-* header or trailer (BadDigest), and the length
 * x-amz-decoded-content-length announced (IncompleteBody); chunk signatures
 * as each chunk ends (SignatureDoesNotMatch). The caller commits only after
 * s3_body_finish succeeded, so a body that fails any check stores nothing. */
#ifndef PP_GATEWAY_S3_BODY_H
#define PP_GATEWAY_S3_BODY_H

#include "s3_checksum.h"
#include "s3_chunked.h"
#include "s3_errors.h"
#include "s3_sigv4.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The SHA-256 (hex) of everything a sink received, when the sink hashes
 * anyway (an upload does): the body then does not hash a second time. */
typedef int (*s3_digest_fn)(void *arg, char hex[65]);

struct s3_body_cfg {
	const struct sigv4_auth *auth; /* payload mode: auth->payload */
	const char *content_md5;       /* Content-MD5 header, or NULL */
	const char *content_encoding;  /* Content-Encoding header, or NULL */
	enum s3_cksum_alg cksum;       /* flexible checksum to check, CK_NONE for none */
	const char *cksum_value;       /* its value from a header, NULL if in a trailer */
	const char *trailer;           /* x-amz-trailer header, or NULL */
	const char *decoded_length;    /* x-amz-decoded-content-length, or NULL */
	uint64_t limit;                /* most decoded bytes accepted (EntityTooLarge) */
	bool want_md5;                 /* compute the MD5 (the object's ETag) */
	s3_digest_fn sink_sha256;      /* or NULL: the body hashes itself */
};

struct s3_body;

/* Checks the headers' consistency (InvalidArgument, InvalidDigest,
 * NotImplemented for SigV4a) and prepares the decoder. */
int s3_body_new(const struct s3_body_cfg *cfg, s3_sink_fn sink, void *arg, struct s3_body **out,
		struct s3_fail *fail);
void s3_body_free(struct s3_body *b);
int s3_body_feed(struct s3_body *b, const uint8_t *data, size_t len, struct s3_fail *fail);
int s3_body_finish(struct s3_body *b, struct s3_fail *fail);

/* After a successful finish: */
uint64_t s3_body_length(const struct s3_body *b);  /* decoded bytes */
const char *s3_body_md5_hex(const struct s3_body *b); /* "" unless want_md5 */
/* The flexible checksum that was checked (CK_NONE if none) and its value. */
enum s3_cksum_alg s3_body_checksum(const struct s3_body *b, const char **b64);

#endif
