/* S3 body pipeline; see s3_body.h.
 *
 * raw bytes -> [aws-chunked decoder] -> hashers (MD5, payload SHA-256,
 * flexible checksum) -> sink. Hashers see exactly the decoded bytes. */
#define _GNU_SOURCE
#include "s3_body.h"
#include "errors.h"
#include "hash.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum payload_mode {
	PAYLOAD_UNSIGNED,       /* UNSIGNED-PAYLOAD */
	PAYLOAD_SHA256,         /* hex SHA-256 of the body */
	PAYLOAD_CHUNKED,        /* STREAMING-* */
};

struct s3_body {
	struct s3_body_cfg cfg;
	enum payload_mode mode;
	char want_sha256[65];
	struct s3_chunked *chunked; /* owned, PAYLOAD_CHUNKED */
	s3_sink_fn sink;
	void *arg;
	uint64_t total;
	uint64_t decoded_length; /* UINT64_MAX when not announced */
	struct s3_cksum md5, sha256, flex;
	char md5_hex[33];
	char flex_b64[S3_CKSUM_B64_MAX];
};

/* Hashes decoded bytes and passes them on. */
static int decoded(void *arg, const uint8_t *data, size_t len, struct s3_fail *fail)
{
	struct s3_body *b = arg;
	if (b->total + len > b->cfg.limit) {
		s3_fail_set(fail, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size of %llu bytes",
			    (unsigned long long)b->cfg.limit);
		return PP_ETOOLARGE;
	}
	b->total += len;
	if (b->cfg.want_md5 || b->cfg.content_md5)
		s3_cksum_update(&b->md5, data, len);
	if (b->mode == PAYLOAD_SHA256 && b->cfg.sink_sha256 == NULL)
		s3_cksum_update(&b->sha256, data, len);
	if (b->cfg.cksum != CK_NONE)
		s3_cksum_update(&b->flex, data, len);
	return b->sink(b->arg, data, len, fail);
}

static bool hex64(const char *s)
{
	if (strlen(s) != 64)
		return false;
	for (int i = 0; i < 64; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

static int mode_of(struct s3_body *b, struct s3_chunked_cfg *cc, struct s3_fail *fail)
{
	const char *p = b->cfg.auth->payload;
	memset(cc, 0, sizeof(*cc));
	cc->auth = b->cfg.auth;
	if (strcmp(p, SIGV4_UNSIGNED) == 0) {
		b->mode = PAYLOAD_UNSIGNED;
	} else if (hex64(p)) {
		b->mode = PAYLOAD_SHA256;
		for (int i = 0; i < 65; i++)
			b->want_sha256[i] = (char)tolower((unsigned char)p[i]);
	} else if (strcmp(p, "STREAMING-UNSIGNED-PAYLOAD-TRAILER") == 0) {
		b->mode = PAYLOAD_CHUNKED;
	} else if (strcmp(p, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD") == 0) {
		b->mode = PAYLOAD_CHUNKED;
		cc->signed_chunks = true;
	} else if (strcmp(p, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER") == 0) {
		b->mode = PAYLOAD_CHUNKED;
		cc->signed_chunks = true;
		cc->signed_trailer = true;
	} else if (strncmp(p, "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD", 39) == 0) {
		s3_fail_set(fail, "NotImplemented", "Signature Version 4A (ECDSA) is not supported");
		return PP_EINVAL;
	} else {
		s3_fail_set(fail, "InvalidArgument",
			    "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-* or a SHA-256 in hex");
		return PP_EINVAL;
	}
	if (b->mode == PAYLOAD_CHUNKED && b->cfg.auth->anonymous) {
		s3_fail_set(fail, "InvalidRequest", "An aws-chunked body needs a signed request");
		return PP_EINVAL;
	}
	return PP_OK;
}

int s3_body_new(const struct s3_body_cfg *cfg, s3_sink_fn sink, void *arg, struct s3_body **out,
		struct s3_fail *fail)
{
	struct s3_body *b = calloc(1, sizeof(*b));
	if (b == NULL) {
		s3_fail_set(fail, "InternalError", NULL);
		return PP_EINTERNAL;
	}
	b->cfg = *cfg;
	b->sink = sink;
	b->arg = arg;
	b->decoded_length = UINT64_MAX;
	struct s3_chunked_cfg cc;
	int rc = mode_of(b, &cc, fail);
	if (rc == PP_OK && cfg->decoded_length != NULL) {
		char *end = NULL;
		unsigned long long v = strtoull(cfg->decoded_length, &end, 10);
		if (*cfg->decoded_length == '\0' || *end != '\0' || cfg->decoded_length[0] == '-') {
			s3_fail_set(fail, "InvalidArgument", "x-amz-decoded-content-length is not a number");
			rc = PP_EINVAL;
		} else if (v > cfg->limit) {
			s3_fail_set(fail, "EntityTooLarge", NULL);
			rc = PP_ETOOLARGE;
		}
		b->decoded_length = v;
	}
	if (rc == PP_OK && b->mode != PAYLOAD_CHUNKED && cfg->trailer != NULL) {
		s3_fail_set(fail, "InvalidRequest", "x-amz-trailer needs an aws-chunked body");
		rc = PP_EINVAL;
	}
	if (rc == PP_OK && cfg->content_md5 != NULL) {
		uint8_t raw[16];
		size_t n = 0;
		if (!s3_base64_decode(cfg->content_md5, raw, sizeof(raw), &n) || n != 16) {
			s3_fail_set(fail, "InvalidDigest", NULL);
			rc = PP_EINVAL;
		}
	}
	if (rc == PP_OK && cfg->cksum_value != NULL) {
		uint8_t raw[32];
		size_t n = 0, want = cfg->cksum == CK_SHA256 ? 32 : cfg->cksum == CK_SHA1 ? 20 : 4;
		if (!s3_base64_decode(cfg->cksum_value, raw, sizeof(raw), &n) || n != want) {
			s3_fail_set(fail, "InvalidRequest", "Value for %s header is invalid.",
				    s3_cksum_header(cfg->cksum));
			rc = PP_EINVAL;
		}
	}
	if (rc == PP_OK && cfg->cksum != CK_NONE && cfg->cksum_value == NULL && cfg->trailer == NULL) {
		s3_fail_set(fail, "InvalidRequest", "x-amz-sdk-checksum-algorithm without a checksum");
		rc = PP_EINVAL;
	}
	if (rc == PP_OK && (s3_cksum_init(&b->md5, CK_MD5) != PP_OK ||
			    s3_cksum_init(&b->sha256, b->mode == PAYLOAD_SHA256 ? CK_SHA256 : CK_NONE) != PP_OK ||
			    s3_cksum_init(&b->flex, cfg->cksum) != PP_OK)) {
		s3_fail_set(fail, "InternalError", NULL);
		rc = PP_EINTERNAL;
	}
	if (rc == PP_OK && b->mode == PAYLOAD_CHUNKED && s3_chunked_new(&cc, decoded, b, &b->chunked) != PP_OK) {
		s3_fail_set(fail, "InternalError", NULL);
		rc = PP_EINTERNAL;
	}
	if (rc != PP_OK) {
		s3_body_free(b);
		return rc;
	}
	*out = b;
	return PP_OK;
}

void s3_body_free(struct s3_body *b)
{
	if (b == NULL)
		return;
	s3_chunked_free(b->chunked);
	s3_cksum_free(&b->md5);
	s3_cksum_free(&b->sha256);
	s3_cksum_free(&b->flex);
	free(b);
}

int s3_body_feed(struct s3_body *b, const uint8_t *data, size_t len, struct s3_fail *fail)
{
	if (b->chunked != NULL)
		return s3_chunked_feed(b->chunked, data, len, fail);
	return decoded(b, data, len, fail);
}

static bool same_b64(const char *a, const char *b) { return strcmp(a, b) == 0; }

int s3_body_finish(struct s3_body *b, struct s3_fail *fail)
{
	if (b->chunked != NULL && s3_chunked_finish(b->chunked, fail) != PP_OK)
		return PP_EINVAL;
	if (b->decoded_length != UINT64_MAX && b->decoded_length != b->total) {
		s3_fail_set(fail, "IncompleteBody", "The body has %llu bytes, x-amz-decoded-content-length says %llu",
			    (unsigned long long)b->total, (unsigned long long)b->decoded_length);
		return PP_EINVAL;
	}
	uint8_t d[32];
	if (b->mode == PAYLOAD_SHA256) {
		char hex[65];
		if (b->cfg.sink_sha256 != NULL) {
			if (b->cfg.sink_sha256(b->arg, hex) != PP_OK) {
				s3_fail_set(fail, "InternalError", NULL);
				return PP_EINTERNAL;
			}
		} else {
			hex_encode(d, s3_cksum_final(&b->sha256, d), hex);
		}
		if (strcmp(hex, b->want_sha256) != 0) {
			s3_fail_set(fail, "XAmzContentSHA256Mismatch", NULL);
			return PP_EINTEGRITY;
		}
	}
	if (b->cfg.want_md5 || b->cfg.content_md5) {
		size_t n = s3_cksum_final(&b->md5, d);
		hex_encode(d, n, b->md5_hex);
		char b64[S3_CKSUM_B64_MAX];
		s3_base64_encode(d, n, b64, sizeof(b64));
		if (b->cfg.content_md5 != NULL && !same_b64(b64, b->cfg.content_md5)) {
			s3_fail_set(fail, "BadDigest", "The Content-MD5 you specified did not match what we received.");
			return PP_EINTEGRITY;
		}
	}
	if (b->cfg.cksum != CK_NONE) {
		const char *want = b->cfg.cksum_value;
		if (want == NULL)
			want = b->chunked ? s3_chunked_trailer(b->chunked, s3_cksum_header(b->cfg.cksum)) : NULL;
		if (want == NULL) {
			s3_fail_set(fail, "InvalidRequest", "The trailer %s was announced but not sent",
				    s3_cksum_header(b->cfg.cksum));
			return PP_EINVAL;
		}
		size_t n = s3_cksum_final(&b->flex, d);
		s3_base64_encode(d, n, b->flex_b64, sizeof(b->flex_b64));
		if (!same_b64(b->flex_b64, want)) {
			s3_fail_set(fail, "BadDigest", "The %s you specified did not match the calculated checksum.",
				    s3_cksum_alg_name(b->cfg.cksum));
			return PP_EINTEGRITY;
		}
	}
	return PP_OK;
}

uint64_t s3_body_length(const struct s3_body *b) { return b->total; }
const char *s3_body_md5_hex(const struct s3_body *b) { return b->md5_hex; }

enum s3_cksum_alg s3_body_checksum(const struct s3_body *b, const char **b64)
{
	*b64 = b->flex_b64;
	return b->cfg.cksum;
}
