#define _GNU_SOURCE
/* The S3 endpoint's body pipeline and small parsers (services/gateway/
 * s3_body.c, s3_checksum.c, s3_xml.c, s3_creds.c): checksums match their
 * published vectors, a wrong trailer or digest is BadDigest only at the end,
 * XML bodies parse with S3's bounds and refuse DTDs, credential files are
 * strict. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "errors.h"
#include "s3_body.h"
#include "s3_checksum.h"
#include "s3_creds.h"
#include "s3_xml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void b64_of(enum s3_cksum_alg alg, const char *data, char *out)
{
	struct s3_cksum c;
	uint8_t d[32];
	assert_int_equal(s3_cksum_init(&c, alg), PP_OK);
	/* In two pieces: the state carries over. */
	s3_cksum_update(&c, data, 3);
	s3_cksum_update(&c, data + 3, strlen(data) - 3);
	size_t n = s3_cksum_final(&c, d);
	s3_cksum_free(&c);
	s3_base64_encode(d, n, out, S3_CKSUM_B64_MAX);
}

static void test_checksum_vectors(void **state)
{
	(void)state;
	char b64[S3_CKSUM_B64_MAX];
	b64_of(CK_CRC32, "123456789", b64); /* 0xcbf43926 */
	assert_string_equal(b64, "y/Q5Jg==");
	b64_of(CK_CRC32C, "123456789", b64); /* 0xe3069283 */
	assert_string_equal(b64, "4waSgw==");
	b64_of(CK_SHA256, "abc", b64);
	assert_string_equal(b64, "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=");
	b64_of(CK_SHA1, "abc", b64);
	assert_string_equal(b64, "qZk+NkcGgWq6PiVxeFDCbJzQ2J0=");
	assert_int_equal(s3_cksum_alg_parse("crc32c"), CK_CRC32C);
	assert_int_equal(s3_cksum_alg_parse("CRC64NVME"), CK_NONE);
	uint8_t raw[16];
	size_t n;
	assert_true(s3_base64_decode("1B2M2Y8AsgTpgAmY7PhCfg==", raw, sizeof(raw), &n));
	assert_int_equal(n, 16);
	assert_false(s3_base64_decode("not base64!", raw, sizeof(raw), &n));
}

static char sunk[4096];
static size_t nsunk;

static int sink(void *arg, const uint8_t *data, size_t len, struct s3_fail *fail)
{
	(void)arg;
	(void)fail;
	memcpy(sunk + nsunk, data, len);
	nsunk += len;
	return PP_OK;
}

static int pipe_through(const char *payload, const char *trailer, const char *body,
			const char *content_md5, const char *decoded_len, struct s3_fail *f)
{
	struct sigv4_auth a;
	memset(&a, 0, sizeof(a));
	a.verified = false;
	snprintf(a.payload, sizeof(a.payload), "%s", payload);
	struct s3_body_cfg cfg = {.auth = &a, .content_md5 = content_md5, .trailer = trailer,
				  .decoded_length = decoded_len, .limit = 1 << 20, .want_md5 = true};
	if (trailer != NULL)
		cfg.cksum = s3_cksum_alg_parse(trailer + strlen("x-amz-checksum-"));
	struct s3_body *b;
	nsunk = 0;
	int rc = s3_body_new(&cfg, sink, NULL, &b, f);
	if (rc != PP_OK)
		return rc;
	rc = s3_body_feed(b, (const uint8_t *)body, strlen(body), f);
	if (rc == PP_OK)
		rc = s3_body_finish(b, f);
	if (rc == PP_OK)
		assert_string_equal(s3_body_md5_hex(b), "5eb63bbbe01eeed093cb22bb8f5acdc3"); /* "hello world" */
	s3_body_free(b);
	return rc;
}

static void test_body_pipeline_checks_at_the_end(void **state)
{
	(void)state;
	const char *tr = "x-amz-checksum-crc32";
	const char *good = "5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n";
	const char *bad = "5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n";
	struct s3_fail f = {0};
	assert_int_equal(pipe_through("STREAMING-UNSIGNED-PAYLOAD-TRAILER", tr, good, NULL, "11", &f), PP_OK);
	assert_int_equal(nsunk, 11);
	struct s3_fail g = {0};
	assert_int_not_equal(pipe_through("STREAMING-UNSIGNED-PAYLOAD-TRAILER", tr, bad, NULL, "11", &g), PP_OK);
	assert_string_equal(g.code, "BadDigest");
	assert_int_equal(nsunk, 11); /* the bytes went by; the caller's commit is what never happens */
	struct s3_fail h = {0};
	assert_int_not_equal(pipe_through("STREAMING-UNSIGNED-PAYLOAD-TRAILER", tr, good, NULL, "12", &h), PP_OK);
	assert_string_equal(h.code, "IncompleteBody");
	struct s3_fail k = {0};
	assert_int_equal(pipe_through(SIGV4_UNSIGNED, NULL, "hello world", "XrY7u+Ae7tCTyyK7j1rNww==", NULL, &k), PP_OK);
	struct s3_fail m = {0};
	assert_int_not_equal(pipe_through(SIGV4_UNSIGNED, NULL, "hello world", "1B2M2Y8AsgTpgAmY7PhCfg==", NULL, &m), PP_OK);
	assert_string_equal(m.code, "BadDigest");
	struct s3_fail p = {0};
	assert_int_equal(pipe_through("b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9", NULL,
				      "hello world", NULL, NULL, &p),
			 PP_OK);
	struct s3_fail q = {0};
	assert_int_not_equal(pipe_through("a94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9", NULL,
					  "hello world", NULL, NULL, &q),
			     PP_OK);
	assert_string_equal(q.code, "XAmzContentSHA256Mismatch");
	struct s3_fail r = {0};
	assert_int_not_equal(pipe_through("STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD", NULL, "", NULL, NULL, &r), PP_OK);
	assert_string_equal(r.code, "NotImplemented");
}

static void test_xml_bodies(void **state)
{
	(void)state;
	const char *del = "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true</Quiet>"
			  "<Object><Key>a &amp; b</Key></Object><Object><Key>c</Key></Object></Delete>";
	struct s3_delete_req d;
	assert_true(s3_xml_parse_delete(del, strlen(del), &d));
	assert_int_equal(d.n, 2);
	assert_true(d.quiet);
	assert_string_equal(d.keys[0], "a & b");
	s3_delete_req_free(&d);
	const char *dtd = "<?xml version=\"1.0\"?><!DOCTYPE Delete [<!ENTITY x \"y\">]>"
			  "<Delete><Object><Key>&x;</Key></Object></Delete>";
	assert_false(s3_xml_parse_delete(dtd, strlen(dtd), &d));
	assert_false(s3_xml_parse_delete("<Delete/>", 9, &d));
	assert_false(s3_xml_parse_delete("<Delete><Object>", 16, &d));
	const char *cmp = "<CompleteMultipartUpload><Part><PartNumber>2</PartNumber><ETag>\"abc\"</ETag></Part>"
			  "<Part><ETag>def</ETag><PartNumber>10000</PartNumber></Part></CompleteMultipartUpload>";
	struct s3_complete_req c;
	assert_true(s3_xml_parse_complete(cmp, strlen(cmp), &c));
	assert_int_equal(c.n, 2);
	assert_int_equal(c.parts[0].number, 2);
	assert_string_equal(c.parts[0].etag, "abc");
	assert_string_equal(c.parts[1].etag, "def");
	s3_complete_req_free(&c);
	const char *zero = "<CompleteMultipartUpload><Part><PartNumber>0</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>";
	assert_false(s3_xml_parse_complete(zero, strlen(zero), &c));
	char loc[64];
	assert_true(s3_xml_parse_create_bucket("", 0, loc, sizeof(loc)));
	const char *cb = "<CreateBucketConfiguration><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>";
	assert_true(s3_xml_parse_create_bucket(cb, strlen(cb), loc, sizeof(loc)));
	assert_string_equal(loc, "eu-west-1");
	struct s3x *x = s3x_begin("ListBucketResult", true);
	s3x_text(x, "Key", "a<b>&\"c\"");
	size_t len = 0;
	char *doc = s3x_finish(x, &len);
	assert_non_null(strstr(doc, "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"));
	assert_non_null(strstr(doc, "<Key>a&lt;b&gt;&amp;&quot;c&quot;</Key>"));
	free(doc);
}

static void test_credentials_file_is_strict(void **state)
{
	(void)state;
	struct s3_creds *c = NULL;
	char err[200];
	assert_int_equal(s3_creds_parse("# c\n\nAKID1 secretsecret write\nAKID2 othersecret read # ro\n", &c, err,
					sizeof(err)),
			 PP_OK);
	enum s3_access a;
	assert_string_equal(s3_creds_lookup(c, "AKID2", &a), "othersecret");
	assert_int_equal(a, S3_ACCESS_READ);
	assert_null(s3_creds_lookup(c, "AKID3", &a));
	s3_creds_free(c);
	const char *bad[] = {"AKID1 secretsecret admin\n", "AKID1 short write\n", "AKID1 secretsecret\n",
			     "AKID1 secretsecret write extra\n", "A/B secretsecret write\n",
			     "AKID1 secretsecret write\nAKID1 secretsecret read\n", "# nothing\n"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = NULL;
		assert_int_equal(s3_creds_parse(bad[i], &c, err, sizeof(err)), PP_EINVAL);
		assert_null(c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_checksum_vectors),
		cmocka_unit_test(test_body_pipeline_checks_at_the_end),
		cmocka_unit_test(test_xml_bodies),
		cmocka_unit_test(test_credentials_file_is_strict),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
