/* ListObjects (v1, marker), ListObjectsV2 (continuation-token, start-after),
 * ListMultipartUploads and DeleteObjects (DESIGN.md, "S3 API").
 *
 * Listings run in the tracker in name order with prefix/delimiter roll-up
 * (db_s3.c); a page resumes strictly after the last name or common prefix
 * it returned. The V2 continuation token is that name in hex (opaque to
 * clients, as S3's is). */
#define _GNU_SOURCE
#include "s3_request.h"
#include "s3_xml.h"

#include "errors.h"
#include "hash.h"
#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_DEFAULT 1000

/* max-keys / max-uploads: 0..1000 (more is capped, as S3 does). */
static bool max_param(struct s3_req *r, const char *name, uint32_t *out)
{
	const char *v = s3_query(r, name);
	*out = LIST_DEFAULT;
	if (v == NULL)
		return true;
	char *end = NULL;
	long long n = strtoll(v, &end, 10);
	if (*v == '\0' || *end != '\0' || n < 0)
		return false;
	*out = n > LIST_DEFAULT ? LIST_DEFAULT : (uint32_t)n;
	return true;
}

/* Writes a key as the response wants it: URL-encoded with encoding-type=url. */
static void text_key(struct s3x *x, const char *element, const char *key, bool url)
{
	if (!url) {
		s3x_text(x, element, key);
		return;
	}
	size_t cap = strlen(key) * 3 + 1;
	char *enc = calloc(1, cap);
	if (enc != NULL && sigv4_uri_encode(key, true, enc, cap))
		s3x_text(x, element, enc);
	free(enc);
}

static bool encoding_param(struct s3_req *r, bool *url)
{
	const char *e = s3_query(r, "encoding-type");
	*url = e != NULL && strcmp(e, "url") == 0;
	return e == NULL || *url;
}

static bool token_decode(const char *tok, char *out, size_t len)
{
	size_t n = strlen(tok);
	if (n == 0 || n % 2 != 0 || n / 2 >= len)
		return false;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;
		if (sscanf(tok + 2 * i, "%2x", &v) != 1)
			return false;
		out[i] = (char)v;
	}
	out[n / 2] = '\0';
	return strlen(out) == n / 2;
}

static void token_encode(const char *key, char *out, size_t len)
{
	size_t n = strlen(key);
	if (2 * n + 1 > len)
		n = (len - 1) / 2;
	hex_encode((const uint8_t *)key, n, out);
}

enum MHD_Result s3_list_objects(struct s3_req *r)
{
	bool v2 = s3_query(r, "list-type") != NULL, url;
	uint32_t max;
	if (!max_param(r, "max-keys", &max))
		return s3_reply_fail(r, "InvalidArgument", "max-keys must be a non-negative number");
	if (!encoding_param(r, &url))
		return s3_reply_fail(r, "InvalidArgument", "Invalid Encoding Method specified in Request");
	const char *prefix = s3_query(r, "prefix"), *delim = s3_query(r, "delimiter");
	const char *token = v2 ? s3_query(r, "continuation-token") : NULL;
	const char *after = v2 ? s3_query(r, "start-after") : s3_query(r, "marker");
	prefix = prefix ? prefix : "";
	delim = delim ? delim : "";
	char resume[S3_KEY_MAX + 1] = "";
	if (token != NULL && !token_decode(token, resume, sizeof(resume)))
		return s3_reply_fail(r, "InvalidArgument", "The continuation token provided is incorrect");
	if (token == NULL && after != NULL)
		snprintf(resume, sizeof(resume), "%s", after);
	if (strlen(prefix) > S3_KEY_MAX || strlen(delim) > 128)
		return s3_reply_fail(r, "InvalidArgument", "prefix or delimiter too long");
	char full_prefix[PP_NAME_MAX + 2], full_after[PP_NAME_MAX + 2] = "";
	snprintf(full_prefix, sizeof(full_prefix), "%s/%s", r->bucket, prefix);
	if (resume[0])
		snprintf(full_after, sizeof(full_after), "%s/%s", r->bucket, resume);
	struct s3_listing l;
	struct pp_error err = {0};
	/* max-keys=0 still answers NoSuchBucket for a missing bucket. */
	if (s3_rpc_list(r->srv->gw->client, r->bucket, full_prefix, delim, full_after, max ? max : 1,
			false, &l, &err) != PP_OK) {
		s3_listing_clear(&l);
		return s3_reply_pp(r, &err, "NoSuchBucket");
	}
	if (max == 0) {
		s3_listing_clear(&l);
		memset(&l, 0, sizeof(l));
	}
	size_t bl = strlen(r->bucket) + 1;
	struct s3x *x = s3x_begin("ListBucketResult", true);
	if (x == NULL) {
		s3_listing_clear(&l);
		return MHD_NO;
	}
	s3x_text(x, "Name", r->bucket);
	text_key(x, "Prefix", prefix, url);
	if (!v2)
		text_key(x, "Marker", after ? after : "", url);
	s3x_textf(x, "MaxKeys", "%u", max);
	if (delim[0])
		text_key(x, "Delimiter", delim, url);
	s3x_text(x, "IsTruncated", l.truncated ? "true" : "false");
	const char *next = strlen(l.next_after) > bl ? l.next_after + bl : "";
	if (v2) {
		s3x_textf(x, "KeyCount", "%zu", l.n + l.np);
		if (token)
			s3x_text(x, "ContinuationToken", token);
		if (l.truncated && next[0]) {
			char tok[2 * S3_KEY_MAX + 1];
			token_encode(next, tok, sizeof(tok));
			s3x_text(x, "NextContinuationToken", tok);
		}
		if (after && !token)
			text_key(x, "StartAfter", after, url);
	} else if (l.truncated && next[0]) {
		text_key(x, "NextMarker", next, url);
	}
	if (url)
		s3x_text(x, "EncodingType", "url");
	bool owner = !v2 || (s3_query(r, "fetch-owner") && strcmp(s3_query(r, "fetch-owner"), "true") == 0);
	for (size_t i = 0; i < l.n; i++) {
		const struct s3_entry *e = &l.entries[i];
		char date[40], etag[96];
		s3_iso_date(e->created_ms, date, sizeof(date));
		s3_etag(e->etag, e->sha256, etag, sizeof(etag));
		s3x_open(x, "Contents");
		text_key(x, "Key", e->name + bl, url);
		s3x_text(x, "LastModified", date);
		s3x_text(x, "ETag", etag);
		s3x_textf(x, "Size", "%" PRIu64, e->size);
		if (owner)
			s3_owner(x, "Owner");
		s3x_text(x, "StorageClass", "STANDARD");
		s3x_close(x);
	}
	for (size_t i = 0; i < l.np; i++) {
		s3x_open(x, "CommonPrefixes");
		text_key(x, "Prefix", l.prefixes[i] + bl, url);
		s3x_close(x);
	}
	s3_listing_clear(&l);
	return s3_reply_xml(r, MHD_HTTP_OK, x);
}

enum MHD_Result s3_list_uploads(struct s3_req *r)
{
	uint32_t max;
	bool url;
	if (!max_param(r, "max-uploads", &max) || !encoding_param(r, &url))
		return s3_reply_fail(r, "InvalidArgument", "max-uploads or encoding-type is invalid");
	const char *prefix = s3_query(r, "prefix"), *delim = s3_query(r, "delimiter");
	const char *km = s3_query(r, "key-marker"), *im = s3_query(r, "upload-id-marker");
	struct s3_uploads u;
	struct pp_error err = {0};
	if (s3_rpc_mpu_list(r->srv->gw->client, r->bucket, prefix ? prefix : "", delim ? delim : "",
			    km ? km : "", im ? im : "", max ? max : 1, &u, &err) != PP_OK) {
		s3_uploads_clear(&u);
		return s3_reply_pp(r, &err, "NoSuchBucket");
	}
	if (max == 0) {
		s3_uploads_clear(&u);
		memset(&u, 0, sizeof(u));
	}
	struct s3x *x = s3x_begin("ListMultipartUploadsResult", true);
	if (x == NULL) {
		s3_uploads_clear(&u);
		return MHD_NO;
	}
	s3x_text(x, "Bucket", r->bucket);
	text_key(x, "KeyMarker", km ? km : "", url);
	s3x_text(x, "UploadIdMarker", im ? im : "");
	if (u.truncated && u.n > 0) {
		text_key(x, "NextKeyMarker", u.items[u.n - 1].key, url);
		s3x_text(x, "NextUploadIdMarker", u.items[u.n - 1].id);
	}
	if (delim)
		text_key(x, "Delimiter", delim, url);
	text_key(x, "Prefix", prefix ? prefix : "", url);
	s3x_textf(x, "MaxUploads", "%u", max);
	s3x_text(x, "IsTruncated", u.truncated ? "true" : "false");
	if (url)
		s3x_text(x, "EncodingType", "url");
	for (size_t i = 0; i < u.n; i++) {
		char date[40];
		s3_iso_date(u.items[i].created_ms, date, sizeof(date));
		s3x_open(x, "Upload");
		text_key(x, "Key", u.items[i].key, url);
		s3x_text(x, "UploadId", u.items[i].id);
		s3_owner(x, "Initiator");
		s3_owner(x, "Owner");
		s3x_text(x, "StorageClass", "STANDARD");
		s3x_text(x, "Initiated", date);
		s3x_close(x);
	}
	for (size_t i = 0; i < u.np; i++) {
		s3x_open(x, "CommonPrefixes");
		text_key(x, "Prefix", u.prefixes[i], url);
		s3x_close(x);
	}
	s3_uploads_clear(&u);
	return s3_reply_xml(r, MHD_HTTP_OK, x);
}

enum MHD_Result s3_delete_objects(struct s3_req *r)
{
	struct s3_delete_req d;
	if (!s3_xml_parse_delete(r->xml ? r->xml : "", r->xml_len, &d))
		return s3_reply_fail(r, "MalformedXML", NULL);
	struct pp_error err = {0};
	if (s3_rpc_bucket(r->srv->gw->client, pp_v1_BucketRequest_Op_HEAD, r->bucket, NULL, &err) != PP_OK) {
		s3_delete_req_free(&d);
		return s3_reply_pp(r, &err, "NoSuchBucket");
	}
	struct s3x *x = s3x_begin("DeleteResult", true);
	size_t deleted = 0;
	for (size_t i = 0; x != NULL && i < d.n; i++) {
		const char *key = d.keys[i];
		char name[PP_NAME_MAX + 2];
		snprintf(name, sizeof(name), "%s/%s", r->bucket, key);
		const char *why = strlen(key) > S3_KEY_MAX ? "key too long" : name_check(name, strlen(name));
		int rc = why ? PP_EINVAL : pp_delete(r->srv->gw->client, name, &err);
		if (rc == PP_OK || rc == PP_ENOTFOUND) {
			deleted += rc == PP_OK;
			if (!d.quiet) {
				s3x_open(x, "Deleted");
				s3x_text(x, "Key", key);
				s3x_close(x);
			}
			continue;
		}
		s3x_open(x, "Error");
		s3x_text(x, "Key", key);
		s3x_text(x, "Code", why ? "InvalidArgument" : "InternalError");
		s3x_text(x, "Message", why ? why : err.message);
		s3x_close(x);
	}
	log_info("s3_objects_deleted", "bucket=%s requested=%zu deleted=%zu", log_q(r->bucket), d.n, deleted);
	s3_delete_req_free(&d);
	return s3_reply_xml(r, MHD_HTTP_OK, x);
}
