/* Checksums of S3 bodies: MD5 (ETag, Content-MD5), SHA-256 (signed
 * payloads) and the flexible checksums clients send as x-amz-checksum-*
 * headers or aws-chunked trailers: CRC32 (zlib), CRC32C (ISA-L), SHA-1 and
 * SHA-256 (OpenSSL). Nothing here is computed by hand. Values travel as
 * base64 of the big-endian CRC or of the digest, as S3 has them. */
#ifndef PP_GATEWAY_S3_CHECKSUM_H
#define PP_GATEWAY_S3_CHECKSUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum s3_cksum_alg { CK_NONE = 0, CK_CRC32, CK_CRC32C, CK_SHA1, CK_SHA256, CK_MD5 };

#define S3_CKSUM_B64_MAX 48 /* base64 of up to 32 bytes, with the NUL */

struct s3_cksum {
	enum s3_cksum_alg alg;
	uint32_t crc;  /* CRC state */
	void *md;      /* EVP_MD_CTX * for digests, owned */
};

/* "CRC32", "crc32c", ... (any case) to an algorithm; CK_NONE if unknown.
 * MD5 is not a flexible checksum and is never returned. */
enum s3_cksum_alg s3_cksum_alg_parse(const char *name);
/* "CRC32" etc., and the header that carries it ("x-amz-checksum-crc32"). */
const char *s3_cksum_alg_name(enum s3_cksum_alg alg);
const char *s3_cksum_header(enum s3_cksum_alg alg);

int s3_cksum_init(struct s3_cksum *c, enum s3_cksum_alg alg);
void s3_cksum_update(struct s3_cksum *c, const void *data, size_t len);
/* Raw digest (4 bytes for CRCs, big-endian); returns its length. */
size_t s3_cksum_final(struct s3_cksum *c, uint8_t out[32]);
void s3_cksum_free(struct s3_cksum *c); /* tolerates an unused one */

/* Base64 (standard alphabet, padded). decode: false on bad input or when
 * the result does not fit cap. */
void s3_base64_encode(const uint8_t *in, size_t n, char *out, size_t out_len);
bool s3_base64_decode(const char *in, uint8_t *out, size_t cap, size_t *n);

/* One-shot helpers for tests and small bodies. */
void s3_sha256_hex(const void *data, size_t len, char hex[65]);

#endif
