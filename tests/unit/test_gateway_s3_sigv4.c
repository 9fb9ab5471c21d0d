#define _GNU_SOURCE
/* SigV4 (services/gateway/s3_sigv4.c) against the worked examples of the
 * AWS documentation (S3 API reference, "Signature Calculations for the
 * Authorization Header" and "... Query String Parameters" and "...
 * Transferring Payload in Multiple Chunks"), and its refusals: wrong
 * secret, unknown key, clock skew, expired presigned URL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "errors.h"
#include "hash.h"
#include "s3_chunked.h"
#include "s3_creds.h"
#include "s3_sigv4.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EX_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define EX_TIME 1369353600 /* 20130524T000000Z */

struct hdr {
	const char *name, *value;
};

struct fake {
	const struct hdr *h;
	size_t n;
};

static const char *lookup(void *ctx, const char *name)
{
	const struct fake *f = ctx;
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->h[i].name, name) == 0)
			return f->h[i].value;
	return NULL;
}

static struct s3_creds *creds(void)
{
	struct s3_creds *c = NULL;
	char err[200];
	assert_int_equal(s3_creds_parse("# test\nAKIAIOSFODNN7EXAMPLE " EX_SECRET " write\n"
					"READER readersecret read\n",
					&c, err, sizeof(err)),
			 PP_OK);
	return c;
}

static int auth(const char *method, const char *path, const struct s3_kv *q, size_t nq,
		const struct hdr *h, size_t nh, int64_t now, struct sigv4_auth *out, struct s3_fail *f)
{
	struct fake fk = {h, nh};
	struct sigv4_input in = {method, path, q, nq, lookup, &fk, now};
	struct s3_creds *c = creds();
	int rc = sigv4_authenticate(&in, c, out, f);
	s3_creds_free(c);
	return rc;
}

static void test_get_object_example(void **state)
{
	(void)state;
	const struct hdr h[] = {
		{"host", "examplebucket.s3.amazonaws.com"},
		{"range", "bytes=0-9"},
		{"x-amz-content-sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"x-amz-date", "20130524T000000Z"},
		{"authorization",
		 "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
		 "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
		 "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"},
	};
	struct sigv4_auth a;
	struct s3_fail f = {0};
	assert_int_equal(auth("GET", "/test.txt", NULL, 0, h, 5, EX_TIME, &a, &f), PP_OK);
	assert_true(a.verified);
	assert_int_equal(a.access, S3_ACCESS_WRITE);
	/* Any other secret, path or header fails. */
	assert_int_equal(auth("GET", "/test2.txt", NULL, 0, h, 5, EX_TIME, &a, &f), PP_EAUTH);
	assert_string_equal(f.code, "SignatureDoesNotMatch");
}

static void test_put_object_example(void **state)
{
	(void)state;
	const struct hdr h[] = {
		{"host", "examplebucket.s3.amazonaws.com"},
		{"date", "Fri, 24 May 2013 00:00:00 GMT"},
		{"x-amz-date", "20130524T000000Z"},
		{"x-amz-storage-class", "REDUCED_REDUNDANCY"},
		{"x-amz-content-sha256", "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"},
		{"authorization",
		 "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
		 "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,"
		 "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"},
	};
	struct sigv4_auth a;
	struct s3_fail f = {0};
	assert_int_equal(auth("PUT", "/test%24file.text", NULL, 0, h, 6, EX_TIME, &a, &f), PP_OK);
	assert_string_equal(a.payload, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
}

static void test_list_objects_example_sorts_the_query(void **state)
{
	(void)state;
	const struct hdr h[] = {
		{"host", "examplebucket.s3.amazonaws.com"},
		{"x-amz-content-sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"x-amz-date", "20130524T000000Z"},
		{"authorization",
		 "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
		 "SignedHeaders=host;x-amz-content-sha256;x-amz-date,"
		 "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"},
	};
	struct s3_kv q[] = {{"prefix", "J"}, {"max-keys", "2"}};
	struct sigv4_auth a;
	struct s3_fail f = {0};
	assert_int_equal(auth("GET", "/", q, 2, h, 4, EX_TIME, &a, &f), PP_OK);
	struct s3_kv lc[] = {{"lifecycle", ""}};
	const struct hdr h2[] = {
		h[0], h[1], h[2],
		{"authorization",
		 "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
		 "SignedHeaders=host;x-amz-content-sha256;x-amz-date,"
		 "Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"},
	};
	assert_int_equal(auth("GET", "/", lc, 1, h2, 4, EX_TIME, &a, &f), PP_OK);
}

static void test_presigned_example_and_expiry(void **state)
{
	(void)state;
	const struct hdr h[] = {{"host", "examplebucket.s3.amazonaws.com"}};
	struct s3_kv q[] = {
		{"X-Amz-Algorithm", "AWS4-HMAC-SHA256"},
		{"X-Amz-Credential", "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request"},
		{"X-Amz-Date", "20130524T000000Z"},
		{"X-Amz-Expires", "86400"},
		{"X-Amz-SignedHeaders", "host"},
		{"X-Amz-Signature", "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"},
	};
	struct sigv4_auth a;
	struct s3_fail f = {0};
	assert_int_equal(auth("GET", "/test.txt", q, 6, h, 1, EX_TIME + 3600, &a, &f), PP_OK);
	assert_true(a.presigned);
	assert_int_equal(auth("GET", "/test.txt", q, 6, h, 1, EX_TIME + 86401, &a, &f), PP_EAUTH);
	assert_string_equal(f.code, "AccessDenied");
	assert_non_null(strstr(f.message, "expired"));
	struct s3_fail g = {0};
	q[3].value = "604801";
	assert_int_equal(auth("GET", "/test.txt", q, 6, h, 1, EX_TIME, &a, &g), PP_EAUTH);
	assert_string_equal(g.code, "AuthorizationQueryParametersError");
}

static void test_refusals(void **state)
{
	(void)state;
	const char *auth_h = "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
			     "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
			     "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41";
	struct hdr h[] = {
		{"host", "examplebucket.s3.amazonaws.com"},
		{"range", "bytes=0-9"},
		{"x-amz-content-sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"x-amz-date", "20130524T000000Z"},
		{"authorization", auth_h},
	};
	struct sigv4_auth a;
	struct s3_fail f = {0};
	/* 16 minutes late: skew. */
	assert_int_equal(auth("GET", "/test.txt", NULL, 0, h, 5, EX_TIME + 16 * 60, &a, &f), PP_EAUTH);
	assert_string_equal(f.code, "RequestTimeTooSkewed");
	struct s3_fail g = {0};
	h[4].value = "AWS4-HMAC-SHA256 Credential=NOBODY/20130524/us-east-1/s3/aws4_request,"
		     "SignedHeaders=host,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41";
	assert_int_equal(auth("GET", "/test.txt", NULL, 0, h, 5, EX_TIME, &a, &g), PP_EAUTH);
	assert_string_equal(g.code, "InvalidAccessKeyId");
	struct s3_fail k = {0};
	h[4].value = "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request";
	assert_int_equal(auth("GET", "/test.txt", NULL, 0, h, 5, EX_TIME, &a, &k), PP_EAUTH);
	assert_string_equal(k.code, "AuthorizationHeaderMalformed");
	struct s3_fail m = {0};
	assert_int_equal(auth("GET", "/test.txt", NULL, 0, h, 4, EX_TIME, &a, &m), PP_EAUTH);
	assert_string_equal(m.code, "AccessDenied"); /* anonymous, with credentials configured */
	/* Open endpoint: anything goes, fields are parsed. */
	struct fake fk = {h, 4};
	struct sigv4_input in = {"GET", "/x", NULL, 0, lookup, &fk, EX_TIME};
	struct s3_fail n = {0};
	assert_int_equal(sigv4_authenticate(&in, NULL, &a, &n), PP_OK);
	assert_true(a.anonymous);
}

static uint8_t collected[70000];
static size_t ncollected;

static int collect(void *arg, const uint8_t *data, size_t len, struct s3_fail *fail)
{
	(void)arg;
	(void)fail;
	memcpy(collected + ncollected, data, len);
	ncollected += len;
	return PP_OK;
}

static void test_chunked_example_signatures_chain(void **state)
{
	(void)state;
	const struct hdr h[] = {
		{"content-encoding", "aws-chunked"},
		{"content-length", "66824"},
		{"host", "s3.amazonaws.com"},
		{"x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"},
		{"x-amz-date", "20130524T000000Z"},
		{"x-amz-decoded-content-length", "66560"},
		{"x-amz-storage-class", "REDUCED_REDUNDANCY"},
		{"authorization",
		 "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
		 "SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
		 "x-amz-decoded-content-length;x-amz-storage-class,"
		 "Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"},
	};
	struct sigv4_auth a;
	struct s3_fail f = {0};
	assert_int_equal(auth("PUT", "/examplebucket/chunkObject.txt", NULL, 0, h, 8, EX_TIME, &a, &f), PP_OK);
	/* The body: 65536 and 1024 bytes of 'a', then the final chunk. */
	static uint8_t body[66825]; /* + the NUL sprintf writes */
	size_t n = 0;
	n += (size_t)sprintf((char *)body + n, "10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n");
	memset(body + n, 'a', 65536);
	n += 65536;
	n += (size_t)sprintf((char *)body + n, "\r\n400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n");
	memset(body + n, 'a', 1024);
	n += 1024;
	n += (size_t)sprintf((char *)body + n, "\r\n0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n");
	assert_int_equal(n, 66824);
	struct s3_chunked_cfg cfg = {.signed_chunks = true, .auth = &a};
	/* Fed in awkward slices; every slicing gives the same result. */
	const size_t slices[] = {1, 7, 100, 4096, 66824};
	for (size_t s = 0; s < sizeof(slices) / sizeof(slices[0]); s++) {
		struct s3_chunked *d;
		ncollected = 0;
		assert_int_equal(s3_chunked_new(&cfg, collect, NULL, &d), PP_OK);
		struct s3_fail e = {0};
		for (size_t off = 0; off < n; off += slices[s]) {
			size_t k = n - off < slices[s] ? n - off : slices[s];
			assert_int_equal(s3_chunked_feed(d, body + off, k, &e), PP_OK);
		}
		assert_int_equal(s3_chunked_finish(d, &e), PP_OK);
		assert_int_equal(ncollected, 66560);
		assert_int_equal(s3_chunked_decoded(d), 66560);
		s3_chunked_free(d);
	}
	/* One flipped byte of data: the chunk's signature no longer matches. */
	body[100] = 'b';
	struct s3_chunked *d;
	struct s3_fail e = {0};
	ncollected = 0;
	assert_int_equal(s3_chunked_new(&cfg, collect, NULL, &d), PP_OK);
	assert_int_equal(s3_chunked_feed(d, body, n, &e), PP_EAUTH);
	assert_string_equal(e.code, "SignatureDoesNotMatch");
	s3_chunked_free(d);
}

static void test_chunked_unsigned_trailer(void **state)
{
	(void)state;
	const char *body = "5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n";
	struct s3_chunked_cfg cfg = {0};
	struct s3_chunked *d;
	struct s3_fail e = {0};
	ncollected = 0;
	assert_int_equal(s3_chunked_new(&cfg, collect, NULL, &d), PP_OK);
	assert_int_equal(s3_chunked_feed(d, (const uint8_t *)body, strlen(body), &e), PP_OK);
	assert_int_equal(s3_chunked_finish(d, &e), PP_OK);
	assert_int_equal(ncollected, 11);
	assert_memory_equal(collected, "hello world", 11);
	assert_string_equal(s3_chunked_trailer(d, "x-amz-checksum-crc32"), "DUoRhQ==");
	s3_chunked_free(d);
	/* Truncated, junk after the size, a bare LF: refused. */
	const char *bad[] = {"5\r\nhel", "5x\r\nhello\r\n0\r\n\r\n", "5\nhello\r\n0\r\n\r\n",
			     "5\r\nhelloXX0\r\n\r\n"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct s3_fail g = {0};
		assert_int_equal(s3_chunked_new(&cfg, collect, NULL, &d), PP_OK);
		int rc = s3_chunked_feed(d, (const uint8_t *)bad[i], strlen(bad[i]), &g);
		if (rc == PP_OK)
			rc = s3_chunked_finish(d, &g);
		assert_int_not_equal(rc, PP_OK);
		assert_non_null(g.code);
		s3_chunked_free(d);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_object_example),
		cmocka_unit_test(test_put_object_example),
		cmocka_unit_test(test_list_objects_example_sorts_the_query),
		cmocka_unit_test(test_presigned_example_and_expiry),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_chunked_example_signatures_chain),
		cmocka_unit_test(test_chunked_unsigned_trailer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
