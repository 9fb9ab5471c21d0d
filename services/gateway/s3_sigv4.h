/* AWS Signature Version 4 for the S3 endpoint (DESIGN.md, "S3 API"):
 * requests signed in the Authorization header or presigned with X-Amz-*
 * query parameters, and the chained signatures of aws-chunked bodies.
 *
 * S3's flavour of SigV4: the canonical URI is the path exactly as the client
 * sent it (S3 does not normalise or re-encode it), the canonical query is
 * every parameter decoded and re-encoded (RFC 3986 unreserved characters
 * kept), sorted. HMAC-SHA256 and SHA-256 are OpenSSL's. Everything here is
 * pure over struct sigv4_input, so the unit tests and the fuzzer drive it
 * without a server. */
#ifndef PP_GATEWAY_S3_SIGV4_H
#define PP_GATEWAY_S3_SIGV4_H

#include "s3_creds.h"
#include "s3_errors.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIGV4_SKEW_S 900             /* 15 minutes, as S3 */
#define SIGV4_PRESIGN_MAX_S 604800   /* 7 days, as S3 */
#define SIGV4_SIGNED_HEADERS_MAX 64
#define SIGV4_UNSIGNED "UNSIGNED-PAYLOAD"

struct s3_kv {
	char *name;  /* decoded */
	char *value; /* decoded; "" for a parameter without '=' */
};

struct sigv4_input {
	const char *method;
	const char *path; /* as sent, undecoded, without the query */
	const struct s3_kv *query;
	size_t nquery;
	/* Every value of a header (lowercase name), joined by ","; NULL if absent. */
	const char *(*header)(void *ctx, const char *name);
	void *ctx;
	int64_t now_s; /* unix seconds */
};

/* Who signed a request and what the body's signatures chain from. */
struct sigv4_auth {
	bool anonymous;    /* no signature at all */
	bool presigned;
	bool verified;     /* checked against a secret (false in open mode) */
	enum s3_access access;
	char access_key[S3_ACCESS_KEY_MAX + 1];
	char amz_date[17]; /* 20130524T000000Z */
	char scope[160];   /* 20130524/us-east-1/s3/aws4_request */
	uint8_t key[32];   /* signing key, when verified */
	char signature[65]; /* the request's: the seed of chunk signatures */
	char payload[72];  /* x-amz-content-sha256 as sent, or UNSIGNED-PAYLOAD */
};

/* Authenticates a request. With creds NULL (open endpoint) any request is
 * let through, but the signature fields are still parsed so aws-chunked
 * bodies can be decoded. On refusal fills fail with S3's code:
 * SignatureDoesNotMatch, AccessDenied (expired presign, anonymous),
 * RequestTimeTooSkewed, InvalidAccessKeyId, AuthorizationHeaderMalformed,
 * AuthorizationQueryParametersError, MissingSecurityHeader. */
int sigv4_authenticate(const struct sigv4_input *in, const struct s3_creds *creds,
		       struct sigv4_auth *out, struct s3_fail *fail);

/* The pieces, exposed for tests and the fuzzer. */
/* Canonical request; *out is malloc'd. PP_EINVAL if a part is malformed. */
int sigv4_canonical_request(const struct sigv4_input *in, const char *signed_headers,
			    const char *payload, bool presigned, char **out);
void sigv4_signing_key(const char *secret, const char *date, const char *region,
		       const char *service, uint8_t key[32]);
/* Hex HMAC-SHA256 of "AWS4-HMAC-SHA256\n" date "\n" scope "\n" hex(sha256(canonical)). */
void sigv4_signature(const uint8_t key[32], const char *amz_date, const char *scope,
		     const char *canonical, char sig[65]);
/* Chunk and trailer signatures of aws-chunked bodies (chained from prev). */
void sigv4_chunk_signature(const struct sigv4_auth *a, const char *prev, const char *chunk_sha_hex,
			   char sig[65]);
void sigv4_trailer_signature(const struct sigv4_auth *a, const char *prev,
			     const char *trailer_sha_hex, char sig[65]);
/* Appends s, percent-encoding all but unreserved characters (and '/' when
 * keep_slash); false when out has no room. */
bool sigv4_uri_encode(const char *s, bool keep_slash, char *out, size_t len);
/* "20130524T000000Z" to unix seconds; false when malformed. */
bool sigv4_parse_amz_date(const char *s, int64_t *out);

#endif
