/* GetObject and HeadObject (Range, If-Match, If-None-Match,
 * If-Modified-Since, If-Unmodified-Since, response-* overrides), and the
 * fixed answers for an object's ACL and tags (DESIGN.md, "S3 API").
 *
 * The body streams from the workers through pp_download into MHD's buffer;
 * its state belongs to the MHD response and is freed with it. */
#define _GNU_SOURCE
#include "s3_checksum.h"
#include "s3_request.h"
#include "s3_xml.h"

#include "errors.h"
#include "files_api.h"
#include "log.h"
#include "metrics.h"
#include "ppclient_ext.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define GET_BLOCK_BYTES (256u * 1024)

struct get_stream {
	pp_download *d;      /* owned */
	struct s3_req *r;    /* valid while MHD calls the reader */
	struct metrics *m;
	char id[24];
	uint64_t want, sent;
	int64_t start_us;
};

static ssize_t get_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)pos;
	struct get_stream *s = cls;
	size_t got = 0;
	struct pp_error err = {0};
	if (s->d == NULL) /* HEAD: MHD sends no body */
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (pp_download_read(s->d, buf, max, &got, &err) != PP_OK) {
		log_error("s3_download_failed", "request_id=%s sent=%" PRIu64 " err=%s", s->id, s->sent,
			  log_q(err.message));
		return MHD_CONTENT_READER_END_WITH_ERROR;
	}
	if (got == 0)
		return MHD_CONTENT_READER_END_OF_STREAM;
	s->sent += got;
	s->r->bytes_out += got;
	metrics_add_bytes_out(s->m, got);
	if (s->sent == s->want)
		metrics_observe_download(s->m, (double)(gw_mono_us() - s->start_us) / 1e6);
	return (ssize_t)got;
}

static void get_free(void *cls)
{
	struct get_stream *s = cls;
	pp_download_close(s->d);
	free(s);
}

/* RFC 9110 / S3 evaluation order; NULL when the request may go on. */
static const char *preconditions(struct s3_req *r, const char *etag, int64_t modified_s)
{
	const char *im = s3_header(r, "if-match"), *inm = s3_header(r, "if-none-match");
	const char *ius = s3_header(r, "if-unmodified-since"), *ims = s3_header(r, "if-modified-since");
	if (im != NULL) {
		if (!etag_matches(im, etag))
			return "PreconditionFailed";
	} else if (ius != NULL) {
		int64_t t = s3_http_date_parse(ius);
		if (t >= 0 && modified_s > t)
			return "PreconditionFailed";
	}
	if (inm != NULL) {
		if (etag_matches(inm, etag))
			return "NotModified";
	} else if (ims != NULL) {
		int64_t t = s3_http_date_parse(ims);
		if (t >= 0 && modified_s <= t)
			return "NotModified";
	}
	return NULL;
}

/* Stored header, unless the request overrides it (response-*). */
static void add_header(struct s3_req *r, struct MHD_Response *resp, const char *name,
		       const char *override, const char *stored)
{
	const char *v = s3_query(r, override);
	if (v == NULL || v[0] == '\0')
		v = stored;
	if (v != NULL && v[0] != '\0')
		MHD_add_response_header(resp, name, v);
}

static void object_headers(struct s3_req *r, struct MHD_Response *resp, const struct s3_object *o,
			   const char *etag)
{
	const pp_v1_FileMeta *m = &o->meta.m;
	char date[64];
	s3_http_date(o->file.created_at_ms, date, sizeof(date));
	MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_LAST_MODIFIED, date);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
	add_header(r, resp, MHD_HTTP_HEADER_CONTENT_TYPE, "response-content-type",
		   m->content_type[0] ? m->content_type : "binary/octet-stream");
	add_header(r, resp, MHD_HTTP_HEADER_CONTENT_DISPOSITION, "response-content-disposition",
		   m->content_disposition);
	add_header(r, resp, MHD_HTTP_HEADER_CACHE_CONTROL, "response-cache-control", m->cache_control);
	add_header(r, resp, MHD_HTTP_HEADER_CONTENT_ENCODING, "response-content-encoding",
		   m->content_encoding);
	add_header(r, resp, MHD_HTTP_HEADER_CONTENT_LANGUAGE, "response-content-language",
		   m->content_language);
	add_header(r, resp, MHD_HTTP_HEADER_EXPIRES, "response-expires", m->expires);
	for (size_t i = 0; i < o->meta.n_user; i++) {
		char name[160];
		snprintf(name, sizeof(name), "x-amz-meta-%s", o->meta.user[i].name);
		MHD_add_response_header(resp, name, o->meta.user[i].value);
	}
	if (m->parts > 0 && s3_query_has(r, "partNumber")) {
		char n[16];
		snprintf(n, sizeof(n), "%u", m->parts);
		MHD_add_response_header(resp, "x-amz-mp-parts-count", n);
	}
}

static enum MHD_Result unsatisfiable(struct s3_req *r, uint64_t size)
{
	struct s3_fail f = {0};
	s3_fail_set(&f, "InvalidRange", NULL);
	/* Content-Range tells the client the size; s3_reply_error cannot add it,
	 * so build the reply here. */
	char cr[64];
	snprintf(cr, sizeof(cr), "bytes */%" PRIu64, size);
	struct s3x *x = s3x_begin("Error", false);
	if (x == NULL)
		return MHD_NO;
	s3x_text(x, "Code", f.code);
	s3x_text(x, "Message", f.message);
	char rng[64];
	snprintf(rng, sizeof(rng), "%s", s3_header(r, "range") ? s3_header(r, "range") : "");
	s3x_text(x, "RangeRequested", rng);
	s3x_textf(x, "ActualObjectSize", "%" PRIu64, size);
	s3x_text(x, "RequestId", r->id);
	size_t len = 0;
	char *body = s3x_finish(x, &len);
	struct MHD_Response *resp =
		body ? MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE) : NULL;
	if (resp == NULL) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/xml");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
	return s3_reply(r, MHD_HTTP_RANGE_NOT_SATISFIABLE, resp);
}

enum MHD_Result s3_get_object(struct s3_req *r)
{
	bool head = strcmp(r->method, "HEAD") == 0;
	struct s3_object o;
	struct pp_error err = {0};
	enum MHD_Result res;
	struct get_stream *s = NULL;
	if (s3_rpc_head(r->srv->gw->client, r->name, r->bucket, &o, &err) != PP_OK) {
		res = s3_reply_pp(r, &err, "NoSuchKey");
		goto out;
	}
	const char *pn = s3_query(r, "partNumber");
	if (pn != NULL && !(strcmp(pn, "1") == 0 && o.meta.m.parts == 0)) {
		res = o.meta.m.parts == 0 ? s3_reply_fail(r, "InvalidPart", "The object has one part")
					  : s3_reply_fail(r, "NotImplemented", "partNumber of a multipart object");
		goto out;
	}
	char etag[96];
	s3_etag(o.meta.m.etag, o.file.sha256, etag, sizeof(etag));
	const char *cond = preconditions(r, etag, o.file.created_at_ms / 1000);
	if (cond != NULL) {
		if (strcmp(cond, "NotModified") == 0) {
			struct MHD_Response *resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
			if (resp != NULL)
				object_headers(r, resp, &o, etag);
			res = s3_reply(r, MHD_HTTP_NOT_MODIFIED, resp);
		} else {
			res = s3_reply_fail(r, cond, NULL);
		}
		goto out;
	}
	uint64_t first = 0, last = 0, size = o.file.size;
	enum range_result rr = range_parse(s3_header(r, "range"), size, &first, &last);
	if (rr == RANGE_UNSATISFIABLE) {
		res = unsatisfiable(r, size);
		goto out;
	}
	uint64_t offset = rr == RANGE_OK ? first : 0, length = rr == RANGE_OK ? last - first + 1 : size;
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		res = s3_reply_fail(r, "InternalError", NULL);
		goto out;
	}
	s->r = r;
	s->m = r->srv->gw->metrics;
	s->want = length;
	s->start_us = r->start_us;
	snprintf(s->id, sizeof(s->id), "%s", r->id);
	if (!head && length > 0) {
		struct pp_file g;
		if (pp_download_open(r->srv->gw->client, r->name, offset, length, &s->d, &g, &err) != PP_OK) {
			res = s3_reply_pp(r, &err, "NoSuchKey");
			goto out;
		}
		if (strcmp(g.sha256, o.file.sha256) != 0 || g.version != o.file.version) {
			res = s3_reply_fail(r, "SlowDown", "The object was replaced during the request; retry");
			goto out;
		}
		/* The first chunk (and its share of --max-memory) before the
		 * headers, so a refusal is an error reply, not a cut body. */
		if (pp_download_wait_first(s->d, &err) != PP_OK) {
			res = s3_reply_pp(r, &err, "NoSuchKey");
			goto out;
		}
	}
	/* HEAD too: the response has the length a GET's body would have. */
	struct MHD_Response *resp =
		length > 0 ? MHD_create_response_from_callback(length, GET_BLOCK_BYTES, get_read, s, get_free)
			   : MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
	if (resp == NULL) {
		res = MHD_NO;
		goto out;
	}
	if (length > 0)
		s = NULL; /* the response owns it now */
	object_headers(r, resp, &o, etag);
	const char *mode = s3_header(r, "x-amz-checksum-mode");
	if (mode != NULL && strcasecmp(mode, "ENABLED") == 0 && rr != RANGE_OK &&
	    o.meta.m.checksum_algorithm[0] != '\0') {
		enum s3_cksum_alg a = s3_cksum_alg_parse(o.meta.m.checksum_algorithm);
		if (a != CK_NONE)
			MHD_add_response_header(resp, s3_cksum_header(a), o.meta.m.checksum);
	}
	unsigned status = MHD_HTTP_OK;
	if (rr == RANGE_OK) {
		char cr[96];
		snprintf(cr, sizeof(cr), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, first, last, size);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
		status = MHD_HTTP_PARTIAL_CONTENT;
	}
	res = s3_reply(r, status, resp);
out:
	if (s != NULL)
		get_free(s);
	s3_object_clear(&o);
	return res;
}

/* ---- ACL and tags: one owner with full control, no tags ---- */

void s3_owner(struct s3x *x, const char *element)
{
	s3x_open(x, element);
	s3x_text(x, "ID", S3_OWNER_ID);
	s3x_text(x, "DisplayName", S3_OWNER_NAME);
	s3x_close(x);
}

enum MHD_Result s3_acl_reply(struct s3_req *r)
{
	struct s3x *x = s3x_begin("AccessControlPolicy", true);
	if (x == NULL)
		return MHD_NO;
	s3_owner(x, "Owner");
	s3x_open(x, "AccessControlList");
	s3x_open(x, "Grant");
	s3x_open(x, "Grantee");
	s3x_attr(x, "xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance");
	s3x_attr(x, "xsi:type", "CanonicalUser");
	s3x_text(x, "ID", S3_OWNER_ID);
	s3x_text(x, "DisplayName", S3_OWNER_NAME);
	s3x_close(x);
	s3x_text(x, "Permission", "FULL_CONTROL");
	s3x_close(x);
	s3x_close(x);
	return s3_reply_xml(r, MHD_HTTP_OK, x);
}

static bool object_exists(struct s3_req *r, enum MHD_Result *res)
{
	struct s3_object o;
	struct pp_error err = {0};
	int rc = s3_rpc_head(r->srv->gw->client, r->name, r->bucket, &o, &err);
	s3_object_clear(&o);
	if (rc != PP_OK)
		*res = s3_reply_pp(r, &err, "NoSuchKey");
	return rc == PP_OK;
}

enum MHD_Result s3_object_acl(struct s3_req *r)
{
	enum MHD_Result res;
	return object_exists(r, &res) ? s3_acl_reply(r) : res;
}

enum MHD_Result s3_object_tagging(struct s3_req *r)
{
	enum MHD_Result res;
	if (!object_exists(r, &res))
		return res;
	struct s3x *x = s3x_begin("Tagging", true);
	if (x == NULL)
		return MHD_NO;
	s3x_open(x, "TagSet");
	s3x_close(x);
	return s3_reply_xml(r, MHD_HTTP_OK, x);
}
