/* Fuzz target: the S3 request-body parsers over libxml2 (services/gateway/
 * s3_xml.c): DeleteObjects, CompleteMultipartUpload and
 * CreateBucketConfiguration. No crash, no leak; what is accepted respects
 * S3's bounds (1..1000 keys, part numbers 1..10000, ETags that fit). */
#define _GNU_SOURCE
#include "s3_xml.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	struct s3_delete_req d;
	if (s3_xml_parse_delete(body, size, &d)) {
		if (d.n == 0 || d.n > S3_DELETE_MAX)
			abort();
		for (size_t i = 0; i < d.n; i++)
			if (d.keys[i] == NULL || d.keys[i][0] == '\0')
				abort();
		s3_delete_req_free(&d);
	}
	struct s3_complete_req c;
	if (s3_xml_parse_complete(body, size, &c)) {
		if (c.n == 0)
			abort();
		for (size_t i = 0; i < c.n; i++)
			if (c.parts[i].number < 1 || c.parts[i].number > 10000 ||
			    strlen(c.parts[i].etag) == 0 || strlen(c.parts[i].etag) >= sizeof(c.parts[i].etag))
				abort();
		s3_complete_req_free(&c);
	}
	char loc[64];
	if (s3_xml_parse_create_bucket(body, size, loc, sizeof(loc)) && strlen(loc) >= sizeof(loc))
		abort();
	/* The writer takes any text without crashing. */
	struct s3x *x = s3x_begin("Root", true);
	if (x != NULL) {
		char *t = strndup(body, size > 256 ? 256 : size);
		s3x_text(x, "Key", t);
		free(t);
		size_t len = 0;
		free(s3x_finish(x, &len));
	}
	return 0;
}
