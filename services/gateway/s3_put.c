/* PutObject, CopyObject and DeleteObject (DESIGN.md, "S3 API").
 *
 * A PutObject streams its decoded body into an upload of "bucket/key" and
 * commits only after the whole body passed every check (s3_body.c), with
 * the ETag (MD5) and headers as metadata; the commit replaces an older
 * version atomically. CopyObject is metadata-only: the tracker makes the
 * destination of the source's chunks (no byte is read or written). */
#define _GNU_SOURCE
#include "s3_body.h"
#include "s3_request.h"
#include "s3_xml.h"

#include "errors.h"
#include "files_api.h"
#include "log.h"
#include "metrics.h"
#include "ppclient_ext.h"
#include "routes.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- metadata from headers ---- */

static bool set_field(char *dst, size_t cap, const char *value, const char *what, struct s3_fail *f)
{
	if (value == NULL)
		return true;
	if (strlen(value) >= cap) {
		s3_fail_set(f, "InvalidArgument", "%s is longer than %zu bytes", what, cap - 1);
		return false;
	}
	snprintf(dst, cap, "%s", value);
	return true;
}

/* Content-Encoding without the aws-chunked token (transport, not content). */
static void strip_aws_chunked(char *enc)
{
	char out[sizeof(((pp_v1_FileMeta *)0)->content_encoding)] = "";
	char *save = NULL;
	for (char *t = strtok_r(enc, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		while (*t == ' ')
			t++;
		size_t n = strlen(t);
		while (n > 0 && t[n - 1] == ' ')
			t[--n] = '\0';
		if (n == 0 || strcasecmp(t, "aws-chunked") == 0)
			continue;
		size_t k = strlen(out);
		snprintf(out + k, sizeof(out) - k, "%s%s", k ? "," : "", t);
	}
	snprintf(enc, sizeof(out), "%s", out);
}

int s3_meta_from_headers(struct s3_req *r, struct s3_meta *m, struct s3_fail *f)
{
	pp_v1_FileMeta *x = &m->m;
	if (!set_field(x->content_type, sizeof(x->content_type), s3_header(r, "content-type"), "Content-Type", f) ||
	    !set_field(x->content_disposition, sizeof(x->content_disposition),
		       s3_header(r, "content-disposition"), "Content-Disposition", f) ||
	    !set_field(x->cache_control, sizeof(x->cache_control), s3_header(r, "cache-control"),
		       "Cache-Control", f) ||
	    !set_field(x->content_encoding, sizeof(x->content_encoding), s3_header(r, "content-encoding"),
		       "Content-Encoding", f) ||
	    !set_field(x->content_language, sizeof(x->content_language),
		       s3_header(r, "content-language"), "Content-Language", f) ||
	    !set_field(x->expires, sizeof(x->expires), s3_header(r, "expires"), "Expires", f))
		return PP_EINVAL;
	strip_aws_chunked(x->content_encoding);
	size_t total = 0;
	for (size_t i = 0; i < r->nheaders; i++) {
		const char *n = r->headers[i].name;
		if (strncmp(n, "x-amz-meta-", 11) != 0 || n[11] == '\0')
			continue;
		bool seen = false;
		for (size_t k = 0; k < m->n_user; k++)
			seen |= strcmp(m->user[k].name, n + 11) == 0;
		if (seen)
			continue;
		const char *v = s3_header(r, n); /* repeated headers joined */
		total += strlen(n + 11) + strlen(v);
		if (total > S3_USER_META_MAX_BYTES || strlen(n + 11) > 128 ||
		    s3_meta_add_user(m, n + 11, v) != PP_OK) {
			s3_fail_set(f, "MetadataTooLarge", NULL);
			return PP_ETOOLARGE;
		}
	}
	m->present = true;
	return PP_OK;
}

/* ---- streaming into an upload ---- */

static int upload_sink(void *arg, const uint8_t *data, size_t len, struct s3_fail *fail)
{
	struct s3_req *r = arg;
	struct pp_error err = {0};
	if (r->up == NULL) {
		s3_fail_set(fail, "InternalError", NULL);
		return PP_EINTERNAL;
	}
	if (pp_upload_write(r->up, data, len, &err) != PP_OK) {
		log_warn("s3_upload_failed", "request_id=%s name=%s err=%s", r->id,
			 log_q(r->part_name ? r->part_name : r->name), log_q(err.message));
		s3_fail_from_pp(fail, err.code, "InternalError", err.message);
		return err.code;
	}
	return PP_OK;
}

static uint64_t size_hint(struct s3_req *r)
{
	const char *h = s3_header(r, "x-amz-decoded-content-length");
	if (h == NULL && s3_header(r, "x-amz-trailer") == NULL &&
	    strncmp(r->auth.payload, "STREAMING-", 10) != 0)
		h = s3_header(r, "content-length");
	return h ? strtoull(h, NULL, 10) : 0;
}

bool s3_stream_start(struct s3_req *r, const char *name, enum MHD_Result *res)
{
	struct pp_put_options opt = {.name = name};
	struct pp_error err = {0};
	struct s3_fail f = {0};
	uint64_t hint = size_hint(r);
	if (hint > S3_OBJECT_MAX) {
		*res = s3_reply_fail(r, "EntityTooLarge", NULL);
		return false;
	}
	if (s3_body_for(r, upload_sink, r, true, &f) != PP_OK) {
		*res = s3_reply_error(r, &f);
		return false;
	}
	if (pp_upload_begin(r->srv->gw->client, &opt, hint, &r->up, &err) != PP_OK) {
		*res = s3_reply_pp(r, &err, "NoSuchBucket");
		return false;
	}
	return true;
}

static bool bucket_exists(struct s3_req *r, enum MHD_Result *res)
{
	struct pp_error err = {0};
	if (s3_rpc_bucket(r->srv->gw->client, pp_v1_BucketRequest_Op_HEAD, r->bucket, NULL, &err) == PP_OK)
		return true;
	*res = s3_reply_pp(r, &err, "NoSuchBucket");
	return false;
}

/* If-Match / If-None-Match on writes (conditional PutObject). */
static bool write_preconditions(struct s3_req *r, enum MHD_Result *res)
{
	const char *im = s3_header(r, "if-match"), *inm = s3_header(r, "if-none-match");
	if (im == NULL && inm == NULL)
		return true;
	struct s3_object o;
	struct pp_error err = {0};
	int rc = s3_rpc_head(r->srv->gw->client, r->name, "", &o, &err);
	char etag[96] = "";
	if (rc == PP_OK)
		s3_etag(o.meta.m.etag, o.file.sha256, etag, sizeof(etag));
	s3_object_clear(&o);
	if (rc != PP_OK && rc != PP_ENOTFOUND) {
		*res = s3_reply_pp(r, &err, "NoSuchKey");
		return false;
	}
	bool exists = rc == PP_OK;
	if ((inm != NULL && exists && (strcmp(inm, "*") == 0 || etag_matches(inm, etag))) ||
	    (im != NULL && (!exists || !(strcmp(im, "*") == 0 || etag_matches(im, etag))))) {
		*res = im != NULL && !exists ? s3_reply_fail(r, "NoSuchKey", NULL)
					     : s3_reply_fail(r, "PreconditionFailed", NULL);
		return false;
	}
	return true;
}

enum MHD_Result s3_put_object_start(struct s3_req *r)
{
	struct s3_fail f = {0};
	enum MHD_Result res;
	if (s3_meta_from_headers(r, &r->meta, &f) != PP_OK)
		return s3_reply_error(r, &f);
	if (!bucket_exists(r, &res) || !write_preconditions(r, &res))
		return res;
	if (!s3_stream_start(r, r->name, &res))
		return res;
	return MHD_YES;
}

/* The checksum a body was checked against goes back in the reply. */
static void add_checksum(struct s3_req *r, struct MHD_Response *resp, pp_v1_FileMeta *m)
{
	const char *b64 = NULL;
	enum s3_cksum_alg alg = s3_body_checksum(r->body, &b64);
	if (alg == CK_NONE)
		return;
	if (m != NULL) {
		snprintf(m->checksum_algorithm, sizeof(m->checksum_algorithm), "%s", s3_cksum_alg_name(alg));
		snprintf(m->checksum, sizeof(m->checksum), "%s", b64);
	}
	if (resp != NULL)
		MHD_add_response_header(resp, s3_cksum_header(alg), b64);
}

enum MHD_Result s3_put_object_finish(struct s3_req *r)
{
	struct pp_error err = {0};
	struct pp_file f;
	pp_v1_FileMeta *m = &r->meta.m;
	snprintf(m->etag, sizeof(m->etag), "%s", s3_body_md5_hex(r->body));
	add_checksum(r, NULL, m);
	s3_meta_bind_encode(&r->meta);
	pp_upload *u = r->up;
	r->up = NULL; /* commit frees it whatever happens */
	if (pp_upload_commit_meta(u, m, r->bucket, &f, &err) != PP_OK)
		return s3_reply_pp(r, &err, "NoSuchBucket");
	metrics_observe_upload(r->srv->gw->metrics, (double)(gw_mono_us() - r->start_us) / 1e6);
	log_info("s3_object_stored", "name=%s size=%" PRIu64 " version=%" PRIu64 " etag=%s", log_q(f.name),
		 f.size, f.version, m->etag);
	struct MHD_Response *resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
	if (resp == NULL)
		return MHD_NO;
	char etag[96];
	s3_etag(m->etag, f.sha256, etag, sizeof(etag));
	MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
	add_checksum(r, resp, NULL);
	return s3_reply(r, MHD_HTTP_OK, resp);
}

/* ---- CopyObject ---- */

int s3_copy_source(struct s3_req *r, char **name, struct s3_fail *f)
{
	const char *src = s3_header(r, "x-amz-copy-source");
	char *dec = NULL;
	size_t n = 0;
	*name = NULL;
	if (src == NULL || pct_decode(src, strcspn(src, "?"), false, &dec, &n) != PP_OK ||
	    n != strlen(dec)) {
		free(dec);
		s3_fail_set(f, "InvalidArgument", "x-amz-copy-source is malformed");
		return PP_EINVAL;
	}
	const char *s = dec[0] == '/' ? dec + 1 : dec;
	const char *slash = strchr(s, '/');
	char bucket[S3_BUCKET_MAX + 2];
	size_t bl = slash ? (size_t)(slash - s) : 0;
	const char *why = NULL;
	if (slash == NULL || slash[1] == '\0' || bl > S3_BUCKET_MAX)
		why = "x-amz-copy-source must be bucket/key";
	else {
		memcpy(bucket, s, bl);
		bucket[bl] = '\0';
		why = s3_bucket_check(bucket);
	}
	if (why == NULL && strlen(slash + 1) > S3_KEY_MAX)
		why = "the source key is too long";
	if (why == NULL)
		why = name_check(s, strlen(s));
	if (why != NULL) {
		s3_fail_set(f, "InvalidArgument", "x-amz-copy-source: %s", why);
		free(dec);
		return PP_EINVAL;
	}
	*name = strdup(s);
	free(dec);
	return *name ? PP_OK : PP_EINTERNAL;
}

bool s3_copy_preconditions(struct s3_req *r, const struct s3_object *src, struct s3_fail *f)
{
	char etag[96];
	s3_etag(src->meta.m.etag, src->file.sha256, etag, sizeof(etag));
	const char *im = s3_header(r, "x-amz-copy-source-if-match");
	const char *inm = s3_header(r, "x-amz-copy-source-if-none-match");
	const char *ims = s3_header(r, "x-amz-copy-source-if-modified-since");
	const char *ius = s3_header(r, "x-amz-copy-source-if-unmodified-since");
	int64_t mod_s = src->file.created_at_ms / 1000;
	bool ok = true;
	if (im != NULL)
		ok = etag_matches(im, etag);
	else if (ius != NULL) {
		int64_t t = s3_http_date_parse(ius);
		ok = t < 0 || mod_s <= t;
	}
	if (ok && inm != NULL)
		ok = !etag_matches(inm, etag);
	else if (ok && ims != NULL) {
		int64_t t = s3_http_date_parse(ims);
		ok = t < 0 || mod_s > t;
	}
	if (!ok)
		s3_fail_set(f, "PreconditionFailed", NULL);
	return ok;
}

enum MHD_Result s3_copy_object(struct s3_req *r)
{
	struct s3_fail f = {0};
	struct pp_error err = {0};
	struct s3_object src, dst;
	char *source = NULL;
	enum MHD_Result res;
	s3_meta_init(&src.meta);
	s3_meta_init(&dst.meta);
	if (s3_copy_source(r, &source, &f) != PP_OK) {
		res = s3_reply_error(r, &f);
		goto out;
	}
	const char *dir = s3_header(r, "x-amz-metadata-directive");
	bool replace = dir != NULL && strcasecmp(dir, "REPLACE") == 0;
	if (dir != NULL && !replace && strcasecmp(dir, "COPY") != 0) {
		res = s3_reply_fail(r, "InvalidArgument", "x-amz-metadata-directive is COPY or REPLACE");
		goto out;
	}
	char sbucket[S3_BUCKET_MAX + 1];
	snprintf(sbucket, sizeof(sbucket), "%.*s", (int)strcspn(source, "/"), source);
	if (s3_rpc_head(r->srv->gw->client, source, sbucket, &src, &err) != PP_OK) {
		res = s3_reply_pp(r, &err, "NoSuchKey");
		goto out;
	}
	if (!s3_copy_preconditions(r, &src, &f)) {
		res = s3_reply_error(r, &f);
		goto out;
	}
	if (strcmp(source, r->name) == 0 && !replace) {
		res = s3_reply_fail(r, "InvalidRequest",
				    "This copy request is illegal because it is trying to copy an object to itself "
				    "without changing the object's metadata, storage class, website redirect "
				    "location or encryption attributes.");
		goto out;
	}
	if (replace) {
		if (s3_meta_from_headers(r, &r->meta, &f) != PP_OK) {
			res = s3_reply_error(r, &f);
			goto out;
		}
		pp_v1_FileMeta *m = &r->meta.m;
		snprintf(m->etag, sizeof(m->etag), "%s", src.meta.m.etag);
		snprintf(m->checksum_algorithm, sizeof(m->checksum_algorithm), "%s", src.meta.m.checksum_algorithm);
		snprintf(m->checksum, sizeof(m->checksum), "%s", src.meta.m.checksum);
		m->parts = src.meta.m.parts;
	}
	if (s3_rpc_copy(r->srv->gw->client, source, r->name, replace ? &r->meta : NULL, r->bucket,
			src.file.sha256, &dst, &err) != PP_OK) {
		res = s3_reply_pp(r, &err, "NoSuchBucket");
		goto out;
	}
	log_info("s3_object_copied", "source=%s name=%s version=%" PRIu64, log_q(source), log_q(dst.file.name),
		 dst.file.version);
	char etag[96], date[40];
	s3_etag(dst.meta.m.etag, dst.file.sha256, etag, sizeof(etag));
	s3_iso_date(dst.file.created_at_ms, date, sizeof(date));
	struct s3x *x = s3x_begin("CopyObjectResult", true);
	if (x != NULL) {
		s3x_text(x, "LastModified", date);
		s3x_text(x, "ETag", etag);
	}
	res = s3_reply_xml(r, MHD_HTTP_OK, x);
out:
	s3_object_clear(&src);
	s3_object_clear(&dst);
	free(source);
	return res;
}

/* ---- DeleteObject ---- */

enum MHD_Result s3_delete_object(struct s3_req *r)
{
	struct pp_error err = {0};
	enum MHD_Result res;
	int rc = pp_delete(r->srv->gw->client, r->name, &err);
	if (rc == PP_ENOTFOUND && !bucket_exists(r, &res))
		return res;
	if (rc != PP_OK && rc != PP_ENOTFOUND)
		return s3_reply_pp(r, &err, "NoSuchKey");
	if (rc == PP_OK)
		log_info("s3_object_deleted", "name=%s", log_q(r->name));
	return s3_reply_empty(r, MHD_HTTP_NO_CONTENT);
}
