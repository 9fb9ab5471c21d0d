/* Fuzz target: the aws-chunked decoder (services/gateway/s3_chunked.c).
 * The first byte picks the mode (unsigned with trailers, or signed chunks
 * checked against a fixed key) and a slice size; the rest is the body. The
 * decoder must never crash, never emit more bytes than it was fed, and
 * emit the same bytes with the same verdict however the body is sliced. */
#include "errors.h"
#include "s3_chunked.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct out {
	uint8_t *buf;
	size_t len, cap;
};

static int sink(void *arg, const uint8_t *data, size_t len, struct s3_fail *fail)
{
	(void)fail;
	struct out *o = arg;
	if (o->len + len > o->cap)
		abort(); /* more out than in */
	memcpy(o->buf + o->len, data, len);
	o->len += len;
	return PP_OK;
}

static int run(const struct s3_chunked_cfg *cfg, const uint8_t *body, size_t size, size_t slice,
	       struct out *o)
{
	struct s3_chunked *d;
	if (s3_chunked_new(cfg, sink, o, &d) != PP_OK)
		return PP_EINTERNAL;
	struct s3_fail f = {0};
	int rc = PP_OK;
	for (size_t off = 0; rc == PP_OK && off < size; off += slice)
		rc = s3_chunked_feed(d, body + off, size - off < slice ? size - off : slice, &f);
	if (rc == PP_OK)
		rc = s3_chunked_finish(d, &f);
	if (rc != PP_OK && f.code == NULL)
		abort(); /* a refusal always says why */
	if (s3_chunked_decoded(d) != o->len)
		abort();
	s3_chunked_free(d);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	const uint8_t *body = data + 1;
	size -= 1;
	struct sigv4_auth a;
	memset(&a, 0, sizeof(a));
	a.verified = true;
	memcpy(a.amz_date, "20130524T000000Z", 17);
	strcpy(a.scope, "20130524/us-east-1/s3/aws4_request");
	memset(a.key, 7, sizeof(a.key));
	memset(a.signature, 'a', 64);
	struct s3_chunked_cfg cfg = {.signed_chunks = mode & 1, .signed_trailer = (mode & 3) == 3,
				     .auth = (mode & 1) ? &a : NULL};
	struct out whole = {malloc(size + 1), 0, size}, sliced = {malloc(size + 1), 0, size};
	if (whole.buf == NULL || sliced.buf == NULL)
		goto out;
	int r1 = run(&cfg, body, size, size ? size : 1, &whole);
	int r2 = run(&cfg, body, size, 1 + (mode >> 2), &sliced);
	if ((r1 == PP_OK) != (r2 == PP_OK))
		abort();
	if (r1 == PP_OK && (whole.len != sliced.len || memcmp(whole.buf, sliced.buf, whole.len) != 0))
		abort();
out:
	free(whole.buf);
	free(sliced.buf);
	return 0;
}
