/* SHA-256, chunk-id and file-name validation; see hash.h.
 *
 * SHA-256 uses OpenSSL's SHA256_* functions rather than EVP: the same
 * assembly (SHA-NI where the CPU has it, same throughput), but without the
 * provider fetch that EVP's first use costs (~6 M instructions, a few ms of
 * CPU in every short-lived ppctl). They are deprecated in OpenSSL 3.0 but
 * kept; this file is the only user. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "hash.h"
#include "errors.h"

#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>

struct sha256_stream {
	SHA256_CTX ctx;
};

int sha256_stream_new(struct sha256_stream **out)
{
	struct sha256_stream *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return PP_EINTERNAL;
	if (SHA256_Init(&s->ctx) != 1) {
		free(s);
		return PP_EINTERNAL;
	}
	*out = s;
	return PP_OK;
}

int sha256_stream_update(struct sha256_stream *s, const void *data, size_t len)
{
	return SHA256_Update(&s->ctx, data, len) == 1 ? PP_OK : PP_EINTERNAL;
}

int sha256_stream_final_hex(struct sha256_stream *s, char hex[PP_SHA256_HEX])
{
	uint8_t md[PP_SHA256_BYTES];
	if (SHA256_Final(md, &s->ctx) != 1)
		return PP_EINTERNAL;
	hex_encode(md, sizeof(md), hex);
	return SHA256_Init(&s->ctx) == 1 ? PP_OK : PP_EINTERNAL;
}

void sha256_stream_free(struct sha256_stream *s)
{
	free(s);
}

int sha256_hex(const void *data, size_t len, char hex[PP_SHA256_HEX])
{
	uint8_t md[PP_SHA256_BYTES];
	SHA256_CTX ctx;
	if (SHA256_Init(&ctx) != 1 || SHA256_Update(&ctx, data, len) != 1 ||
	    SHA256_Final(md, &ctx) != 1)
		return PP_EINTERNAL;
	hex_encode(md, sizeof(md), hex);
	return PP_OK;
}

void hex_encode(const uint8_t *bytes, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[bytes[i] >> 4];
		out[2 * i + 1] = digits[bytes[i] & 0xf];
	}
	out[2 * len] = '\0';
}

bool chunk_id_valid(const char *id)
{
	if (id == NULL)
		return false;
	size_t i = 0;
	for (; id[i] != '\0'; i++) {
		char c = id[i];
		if (i >= 64 || !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
	}
	return i == 64;
}

/* Length of the UTF-8 sequence at s (RFC 3629: no overlongs, no surrogates,
 * nothing above U+10FFFF), or 0 when invalid. */
static size_t utf8_seq_len(const unsigned char *s, size_t avail)
{
	unsigned char c = s[0];
	size_t n;
	uint32_t cp;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (avail < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	/* C1 control characters U+0080..U+009F are control characters too. */
	if (cp >= 0x80 && cp <= 0x9f)
		return 0;
	return n;
}

const char *name_check(const char *name, size_t len)
{
	if (name == NULL || len == 0)
		return "empty name";
	if (len > PP_NAME_MAX)
		return "name longer than 1024 bytes";
	const unsigned char *s = (const unsigned char *)name;
	for (size_t i = 0; i < len;) {
		if (s[i] == 0)
			return "name contains a NUL byte";
		if (s[i] < 0x20 || s[i] == 0x7f)
			return "name contains a control character";
		size_t n = utf8_seq_len(s + i, len - i);
		if (n == 0)
			return "name is not valid UTF-8 or contains a control character";
		i += n;
	}
	return NULL;
}

const char *node_id_check(const char *id)
{
	if (id == NULL || id[0] == '\0')
		return "empty node id";
	size_t n = strlen(id);
	if (n > PP_NODE_ID_MAX)
		return "node id longer than 64 bytes";
	for (size_t i = 0; i < n; i++) {
		char c = id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return "node id has a character other than A-Z a-z 0-9 . _ -";
	}
	return NULL;
}
