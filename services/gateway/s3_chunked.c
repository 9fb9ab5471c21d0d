/* aws-chunked decoder; see s3_chunked.h. A state machine fed arbitrary
 * slices of the body (as MHD hands them over). */
#define _GNU_SOURCE
#include "s3_chunked.h"
#include "errors.h"
#include "hash.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum chunked_state { ST_HEADER, ST_DATA, ST_DATA_CR, ST_DATA_LF, ST_TRAILER, ST_DONE };

struct trailer {
	char name[64];
	char value[256];
};

struct s3_chunked {
	struct s3_chunked_cfg cfg;
	bool verify; /* signatures checked (cfg.auth verified) */
	s3_sink_fn sink;
	void *arg;
	enum chunked_state st;
	char line[CHUNKED_LINE_MAX + 1];
	size_t line_len;
	uint64_t left;          /* bytes of the current chunk still to come */
	bool last;              /* the current chunk is the 0-size one */
	char chunk_sig[65];     /* the signature its header announced */
	char prev_sig[65];      /* the chain so far */
	struct sha256_stream *sha; /* current chunk's bytes, when verifying */
	struct trailer trailers[CHUNKED_TRAILERS_MAX];
	size_t ntrailers, trailer_bytes;
	char trailer_sig[65];
	uint64_t decoded;
};

int s3_chunked_new(const struct s3_chunked_cfg *cfg, s3_sink_fn sink, void *arg,
		   struct s3_chunked **out)
{
	struct s3_chunked *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return PP_EINTERNAL;
	d->cfg = *cfg;
	d->verify = cfg->auth != NULL && cfg->auth->verified;
	d->sink = sink;
	d->arg = arg;
	if (d->verify) {
		snprintf(d->prev_sig, sizeof(d->prev_sig), "%s", cfg->auth->signature);
		if (sha256_stream_new(&d->sha) != PP_OK) {
			free(d);
			return PP_EINTERNAL;
		}
	}
	*out = d;
	return PP_OK;
}

void s3_chunked_free(struct s3_chunked *d)
{
	if (d == NULL)
		return;
	sha256_stream_free(d->sha);
	free(d);
}

static int malformed(struct s3_fail *fail, const char *why)
{
	s3_fail_set(fail, "IncompleteBody", "aws-chunked body: %s", why);
	return PP_EINVAL;
}

/* Checks the signature of the chunk that just ended. */
static int chunk_done(struct s3_chunked *d, struct s3_fail *fail)
{
	if (!d->verify)
		return PP_OK;
	char hex[65], want[65];
	sha256_stream_final_hex(d->sha, hex);
	sha256_stream_free(d->sha);
	d->sha = NULL;
	if (sha256_stream_new(&d->sha) != PP_OK) {
		s3_fail_set(fail, "InternalError", NULL);
		return PP_EINTERNAL;
	}
	sigv4_chunk_signature(d->cfg.auth, d->prev_sig, hex, want);
	if (CRYPTO_memcmp(want, d->chunk_sig, 64) != 0) {
		s3_fail_set(fail, "SignatureDoesNotMatch", "The signature of a chunk of the body does not match");
		return PP_EAUTH;
	}
	memcpy(d->prev_sig, want, 65);
	return PP_OK;
}

/* "HEX[;chunk-signature=SIG]" */
static int parse_header(struct s3_chunked *d, struct s3_fail *fail)
{
	const char *s = d->line;
	uint64_t n = 0;
	int digits = 0;
	for (; isxdigit((unsigned char)*s); s++) {
		if (++digits > 15)
			return malformed(fail, "chunk size too large");
		n = n * 16 + (uint64_t)(isdigit((unsigned char)*s) ? *s - '0' : (tolower((unsigned char)*s) - 'a' + 10));
	}
	if (digits == 0)
		return malformed(fail, "no chunk size");
	d->chunk_sig[0] = '\0';
	if (*s == ';') {
		const char *k = "chunk-signature=";
		if (strncmp(s + 1, k, strlen(k)) != 0)
			return malformed(fail, "unknown chunk extension");
		const char *sig = s + 1 + strlen(k);
		if (strlen(sig) != 64 || strspn(sig, "0123456789abcdef") != 64)
			return malformed(fail, "chunk signature is not 64 hex digits");
		memcpy(d->chunk_sig, sig, 65);
	} else if (*s != '\0') {
		return malformed(fail, "junk after the chunk size");
	}
	if (d->cfg.signed_chunks && d->chunk_sig[0] == '\0')
		return malformed(fail, "a chunk has no signature");
	d->left = n;
	d->last = n == 0;
	if (d->last) {
		int rc = d->cfg.signed_chunks ? chunk_done(d, fail) : PP_OK;
		d->st = ST_TRAILER;
		return rc;
	}
	d->st = ST_DATA;
	return PP_OK;
}

static int verify_trailers(struct s3_chunked *d, struct s3_fail *fail)
{
	if (!d->cfg.signed_trailer)
		return PP_OK;
	if (d->trailer_sig[0] == '\0')
		return malformed(fail, "x-amz-trailer-signature is missing");
	if (!d->verify)
		return PP_OK;
	char canon[CHUNKED_TRAILER_BYTES_MAX + 16] = "", hex[65], want[65];
	for (size_t i = 0; i < d->ntrailers; i++) {
		size_t k = strlen(canon);
		snprintf(canon + k, sizeof(canon) - k, "%s:%s\n", d->trailers[i].name, d->trailers[i].value);
	}
	sha256_hex(canon, strlen(canon), hex);
	sigv4_trailer_signature(d->cfg.auth, d->prev_sig, hex, want);
	if (CRYPTO_memcmp(want, d->trailer_sig, 64) != 0) {
		s3_fail_set(fail, "SignatureDoesNotMatch", "The signature of the body's trailers does not match");
		return PP_EAUTH;
	}
	return PP_OK;
}

/* One trailer line "name:value", or the empty line that ends the body. */
static int trailer_line(struct s3_chunked *d, struct s3_fail *fail)
{
	if (d->line_len == 0) {
		d->st = ST_DONE;
		return verify_trailers(d, fail);
	}
	char *colon = strchr(d->line, ':');
	if (colon == NULL || colon == d->line)
		return malformed(fail, "a trailer is not name:value");
	*colon = '\0';
	char *v = colon + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	size_t vl = strlen(v);
	while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
		v[--vl] = '\0';
	for (char *p = d->line; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if (strcmp(d->line, "x-amz-trailer-signature") == 0) {
		if (vl != 64 || strspn(v, "0123456789abcdef") != 64)
			return malformed(fail, "x-amz-trailer-signature is not 64 hex digits");
		memcpy(d->trailer_sig, v, 65);
		return PP_OK;
	}
	d->trailer_bytes += d->line_len;
	if (d->ntrailers == CHUNKED_TRAILERS_MAX || d->trailer_bytes > CHUNKED_TRAILER_BYTES_MAX ||
	    strlen(d->line) >= sizeof(d->trailers[0].name) || vl >= sizeof(d->trailers[0].value))
		return malformed(fail, "too many or too long trailers");
	struct trailer *t = &d->trailers[d->ntrailers++];
	memcpy(t->name, d->line, strlen(d->line) + 1);
	memcpy(t->value, v, vl + 1);
	return PP_OK;
}

/* Collects a CRLF-terminated line; *complete when it ended. */
static int take_line(struct s3_chunked *d, const uint8_t **p, const uint8_t *end, bool *complete,
		     struct s3_fail *fail)
{
	*complete = false;
	while (*p < end) {
		uint8_t c = *(*p)++;
		if (c == '\n') {
			if (d->line_len == 0 || d->line[d->line_len - 1] != '\r')
				return malformed(fail, "a line does not end with CRLF");
			d->line[--d->line_len] = '\0';
			*complete = true;
			return PP_OK;
		}
		if (d->line_len == CHUNKED_LINE_MAX)
			return malformed(fail, "a header line is too long");
		d->line[d->line_len++] = (char)c;
		d->line[d->line_len] = '\0';
	}
	return PP_OK;
}

int s3_chunked_feed(struct s3_chunked *d, const uint8_t *data, size_t len, struct s3_fail *fail)
{
	const uint8_t *p = data, *end = data + len;
	int rc = PP_OK;
	while (rc == PP_OK && p < end) {
		bool complete;
		switch (d->st) {
		case ST_HEADER:
		case ST_TRAILER:
			rc = take_line(d, &p, end, &complete, fail);
			if (rc == PP_OK && complete) {
				rc = d->st == ST_HEADER ? parse_header(d, fail) : trailer_line(d, fail);
				d->line_len = 0;
				d->line[0] = '\0';
			}
			break;
		case ST_DATA: {
			size_t n = (size_t)((uint64_t)(end - p) < d->left ? (uint64_t)(end - p) : d->left);
			if (d->verify)
				sha256_stream_update(d->sha, p, n);
			rc = d->sink(d->arg, p, n, fail);
			d->decoded += n;
			d->left -= n;
			p += n;
			if (rc == PP_OK && d->left == 0)
				d->st = ST_DATA_CR;
			break;
		}
		case ST_DATA_CR:
		case ST_DATA_LF: {
			uint8_t want = d->st == ST_DATA_CR ? '\r' : '\n';
			if (*p++ != want)
				return malformed(fail, "chunk data is not followed by CRLF");
			if (d->st == ST_DATA_CR) {
				d->st = ST_DATA_LF;
			} else {
				d->st = ST_HEADER;
				if (d->cfg.signed_chunks)
					rc = chunk_done(d, fail);
			}
			break;
		}
		case ST_DONE:
			return malformed(fail, "bytes after the last chunk");
		}
	}
	return rc;
}

int s3_chunked_finish(struct s3_chunked *d, struct s3_fail *fail)
{
	/* Lenient about a missing final CRLF when nothing else was due. */
	if (d->st == ST_TRAILER && d->line_len == 0 && !d->cfg.signed_trailer) {
		d->st = ST_DONE;
		return PP_OK;
	}
	if (d->st != ST_DONE)
		return malformed(fail, "the body ended before its last chunk");
	return PP_OK;
}

const char *s3_chunked_trailer(const struct s3_chunked *d, const char *name)
{
	for (size_t i = 0; i < d->ntrailers; i++)
		if (strcasecmp(d->trailers[i].name, name) == 0)
			return d->trailers[i].value;
	return NULL;
}

uint64_t s3_chunked_decoded(const struct s3_chunked *d) { return d->decoded; }
