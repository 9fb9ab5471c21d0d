/* Replies of the S3 endpoint: S3 XML errors with a RequestId, XML documents,
 * dates and ETags as S3 writes them; see s3_request.h. */
#define _GNU_SOURCE
#include "s3_request.h"
#include "log.h"
#include "s3_xml.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void s3_http_date(int64_t unix_ms, char *buf, size_t len)
{
	time_t t = (time_t)(unix_ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, len, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

void s3_iso_date(int64_t unix_ms, char *buf, size_t len)
{
	time_t t = (time_t)(unix_ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	char base[32];
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03dZ", base, (int)(unix_ms % 1000));
}

int64_t s3_http_date_parse(const char *s)
{
	static const char *const formats[] = {"%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT",
					      "%a %b %e %H:%M:%S %Y"};
	for (size_t i = 0; s != NULL && i < sizeof(formats) / sizeof(formats[0]); i++) {
		struct tm tm;
		memset(&tm, 0, sizeof(tm));
		const char *end = strptime(s, formats[i], &tm);
		if (end != NULL && *end == '\0')
			return (int64_t)timegm(&tm);
	}
	return -1;
}

void s3_etag(const char *md5_etag, const char *sha256, char *out, size_t len)
{
	if (md5_etag != NULL && md5_etag[0] != '\0')
		snprintf(out, len, "\"%s\"", md5_etag);
	else
		snprintf(out, len, "\"%.32s-1\"", sha256);
}

void s3_common_headers(struct s3_req *r, struct MHD_Response *resp)
{
	MHD_add_response_header(resp, "x-amz-request-id", r->id);
	MHD_add_response_header(resp, "x-amz-id-2", r->id);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_SERVER, "PeerPressure");
}

enum MHD_Result s3_reply(struct s3_req *r, unsigned status, struct MHD_Response *resp)
{
	if (resp == NULL)
		return MHD_NO;
	s3_common_headers(r, resp);
	enum MHD_Result ok = MHD_queue_response(r->c, status, resp);
	MHD_destroy_response(resp);
	if (ok == MHD_YES) {
		r->status = status;
		r->handled = true;
	}
	return ok;
}

static enum MHD_Result reply_body(struct s3_req *r, unsigned status, char *body, size_t len)
{
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/xml");
	r->bytes_out += len;
	return s3_reply(r, status, resp);
}

enum MHD_Result s3_reply_xml(struct s3_req *r, unsigned status, struct s3x *x)
{
	size_t len = 0;
	char *body = x ? s3x_finish(x, &len) : NULL;
	if (body == NULL)
		return s3_reply_fail(r, "InternalError", NULL);
	return reply_body(r, status, body, len);
}

enum MHD_Result s3_reply_error(struct s3_req *r, const struct s3_fail *f)
{
	const char *code = f->code ? f->code : "InternalError";
	unsigned status = s3_error_status(code);
	if (status >= 500)
		log_warn("s3_error", "request_id=%s op=%s code=%s detail=%s", r->id,
			 r->op ? r->op->name : "-", code, log_q(f->message));
	if (status == MHD_HTTP_NOT_MODIFIED)
		return s3_reply_empty(r, status);
	struct s3x *x = s3x_begin("Error", false);
	if (x == NULL)
		return MHD_NO;
	s3x_text(x, "Code", code);
	s3x_text(x, "Message", f->message[0] ? f->message : s3_error_message(code));
	if (r->bucket[0])
		s3x_text(x, "BucketName", r->bucket);
	if (r->key)
		s3x_text(x, "Key", r->key);
	s3x_text(x, "Resource", r->path ? r->path : "/");
	s3x_text(x, "RequestId", r->id);
	s3x_text(x, "HostId", r->id);
	size_t len = 0;
	char *body = s3x_finish(x, &len);
	if (body == NULL)
		return MHD_NO;
	return reply_body(r, status, body, len);
}

enum MHD_Result s3_reply_fail(struct s3_req *r, const char *code, const char *fmt, ...)
{
	struct s3_fail f = {0};
	if (fmt == NULL) {
		s3_fail_set(&f, code, NULL);
	} else {
		char msg[sizeof(f.message)];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		s3_fail_set(&f, code, "%s", msg);
	}
	return s3_reply_error(r, &f);
}

enum MHD_Result s3_reply_pp(struct s3_req *r, const struct pp_error *e, const char *not_found)
{
	struct s3_fail f = {0};
	s3_fail_from_pp(&f, e->code, not_found, e->message);
	return s3_reply_error(r, &f);
}

enum MHD_Result s3_reply_empty(struct s3_req *r, unsigned status)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
	return s3_reply(r, status, resp);
}
