/* S3 body checksums over zlib, ISA-L and OpenSSL; see s3_checksum.h. */
#define _GNU_SOURCE
#include "s3_checksum.h"
#include "errors.h"
#include "hash.h"

#include <isa-l/crc.h>
#include <openssl/evp.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#define ISAL_CRC_PIECE (1u << 30) /* crc32_iscsi takes an int length */

enum s3_cksum_alg s3_cksum_alg_parse(const char *name)
{
	static const struct { const char *n; enum s3_cksum_alg a; } t[] = {
		{"CRC32", CK_CRC32}, {"CRC32C", CK_CRC32C}, {"SHA1", CK_SHA1}, {"SHA256", CK_SHA256}};
	for (size_t i = 0; name != NULL && i < sizeof(t) / sizeof(t[0]); i++)
		if (strcasecmp(name, t[i].n) == 0)
			return t[i].a;
	return CK_NONE;
}

const char *s3_cksum_alg_name(enum s3_cksum_alg alg)
{
	static const char *const n[] = {"", "CRC32", "CRC32C", "SHA1", "SHA256", "MD5"};
	return alg <= CK_MD5 ? n[alg] : "";
}

const char *s3_cksum_header(enum s3_cksum_alg alg)
{
	static const char *const n[] = {"", "x-amz-checksum-crc32", "x-amz-checksum-crc32c",
					"x-amz-checksum-sha1", "x-amz-checksum-sha256", "content-md5"};
	return alg <= CK_MD5 ? n[alg] : "";
}

int s3_cksum_init(struct s3_cksum *c, enum s3_cksum_alg alg)
{
	memset(c, 0, sizeof(*c));
	c->alg = alg;
	const EVP_MD *md = alg == CK_SHA1 ? EVP_sha1() : alg == CK_SHA256 ? EVP_sha256()
				       : alg == CK_MD5	   ? EVP_md5()
							   : NULL;
	if (alg == CK_CRC32)
		c->crc = (uint32_t)crc32_z(0, Z_NULL, 0);
	else if (alg == CK_CRC32C)
		c->crc = 0xffffffffu;
	if (md != NULL) {
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();
		if (ctx == NULL || EVP_DigestInit_ex(ctx, md, NULL) != 1) {
			EVP_MD_CTX_free(ctx);
			return PP_EINTERNAL;
		}
		c->md = ctx;
	}
	return PP_OK;
}

void s3_cksum_update(struct s3_cksum *c, const void *data, size_t len)
{
	const uint8_t *p = data;
	switch (c->alg) {
	case CK_CRC32:
		c->crc = (uint32_t)crc32_z(c->crc, p, len);
		break;
	case CK_CRC32C:
		while (len > 0) {
			size_t n = len > ISAL_CRC_PIECE ? ISAL_CRC_PIECE : len;
			c->crc = crc32_iscsi((unsigned char *)p, (int)n, c->crc);
			p += n;
			len -= n;
		}
		break;
	case CK_SHA1:
	case CK_SHA256:
	case CK_MD5:
		if (c->md != NULL)
			EVP_DigestUpdate(c->md, data, len);
		break;
	default:
		break;
	}
}

size_t s3_cksum_final(struct s3_cksum *c, uint8_t out[32])
{
	uint32_t v;
	switch (c->alg) {
	case CK_CRC32:
	case CK_CRC32C:
		v = c->alg == CK_CRC32C ? c->crc ^ 0xffffffffu : c->crc;
		out[0] = (uint8_t)(v >> 24);
		out[1] = (uint8_t)(v >> 16);
		out[2] = (uint8_t)(v >> 8);
		out[3] = (uint8_t)v;
		return 4;
	case CK_SHA1:
	case CK_SHA256:
	case CK_MD5: {
		unsigned n = 0;
		if (c->md == NULL || EVP_DigestFinal_ex(c->md, out, &n) != 1)
			return 0;
		return n;
	}
	default:
		return 0;
	}
}

void s3_cksum_free(struct s3_cksum *c)
{
	EVP_MD_CTX_free(c->md);
	c->md = NULL;
}

void s3_base64_encode(const uint8_t *in, size_t n, char *out, size_t out_len)
{
	if (out_len < 4 * ((n + 2) / 3) + 1) {
		if (out_len > 0)
			out[0] = '\0';
		return;
	}
	EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

bool s3_base64_decode(const char *in, uint8_t *out, size_t cap, size_t *n)
{
	size_t len = strlen(in);
	if (len == 0 || len % 4 != 0 || len / 4 * 3 > cap + 2)
		return false;
	uint8_t tmp[96];
	if (len / 4 * 3 > sizeof(tmp))
		return false;
	int got = EVP_DecodeBlock(tmp, (const unsigned char *)in, (int)len);
	if (got < 0)
		return false;
	/* EVP_DecodeBlock counts padding as zero bytes. */
	size_t pad = (in[len - 1] == '=') + (in[len - 2] == '=');
	size_t real = (size_t)got - pad;
	if (real > cap)
		return false;
	memcpy(out, tmp, real);
	*n = real;
	return true;
}

void s3_sha256_hex(const void *data, size_t len, char hex[65])
{
	sha256_hex(data, len, hex);
}
