/* Upload, download and delete of one file (DESIGN.md, "REST API").
 *
 * Invariant: nothing becomes visible unless pp_upload_commit ran after the
 * whole body arrived; a body that fails, exceeds --max-upload or is cut off
 * by the client is aborted (files_request_done), so the old version, if any,
 * stays. Download state belongs to its MHD response and is freed with it.
 *
 * A download's memory is taken from the gateway's budget (--max-memory)
 * before its headers go out: MHD's send buffer here, its chunks in
 * libppclient; without budget in time the answer is a 503, never a cut
 * stream. */
#define _GNU_SOURCE
#include "files_api.h"

#include "errors.h"
#include "log.h"
#include "mem_budget.h"
#include "metrics.h"
#include "ppclient_ext.h"
#include "shapes.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DOWNLOAD_BLOCK_BYTES (256u * 1024)
#define DRAIN_CHUNKED_MAX (16u << 20) /* body bytes read past a failure without a length */

/* ---- Range and ETag ---------------------------------------------------- */

static bool parse_u64(const char *s, const char *end, uint64_t *out)
{
	if (s == end)
		return false;
	uint64_t v = 0;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9')
			return false;
		if (v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return true;
}

enum range_result range_parse(const char *h, uint64_t size, uint64_t *first, uint64_t *last)
{
	if (h == NULL)
		return RANGE_NONE;
	while (*h == ' ' || *h == '\t')
		h++;
	if (strncasecmp(h, "bytes=", 6) != 0)
		return RANGE_NONE;
	h += 6;
	const char *end = h + strlen(h);
	while (end > h && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	while (h < end && (*h == ' ' || *h == '\t'))
		h++;
	if (memchr(h, ',', (size_t)(end - h)) != NULL)
		return RANGE_NONE; /* several ranges: allowed to ignore (RFC 9110 14.2) */
	const char *dash = memchr(h, '-', (size_t)(end - h));
	if (dash == NULL)
		return RANGE_NONE;
	uint64_t a, b;
	if (dash == h) { /* suffix: last N bytes */
		if (!parse_u64(dash + 1, end, &b))
			return RANGE_NONE;
		if (b == 0 || size == 0)
			return RANGE_UNSATISFIABLE;
		*first = b >= size ? 0 : size - b;
		*last = size - 1;
		return RANGE_OK;
	}
	if (!parse_u64(h, dash, &a))
		return RANGE_NONE;
	if (dash + 1 == end) {
		b = UINT64_MAX;
	} else if (!parse_u64(dash + 1, end, &b) || b < a) {
		return RANGE_NONE;
	}
	if (a >= size)
		return RANGE_UNSATISFIABLE;
	*first = a;
	*last = b >= size ? size - 1 : b;
	return RANGE_OK;
}

bool etag_matches(const char *inm, const char *etag)
{
	if (inm == NULL)
		return false;
	size_t el = strlen(etag);
	const char *p = inm;
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '*')
			return true;
		if (strncmp(p, "W/", 2) == 0)
			p += 2; /* weak comparison, as If-None-Match asks */
		const char *e = p;
		while (*e && *e != ',')
			e++;
		const char *t = e;
		while (t > p && (t[-1] == ' ' || t[-1] == '\t'))
			t--;
		if ((size_t)(t - p) == el && memcmp(p, etag, el) == 0)
			return true;
		p = e;
	}
	return false;
}

/* ---- Upload ------------------------------------------------------------ */

static void upload_fail(struct request *r, unsigned status, int code, const char *msg)
{
	if (r->up != NULL) {
		pp_upload_abort(r->up);
		r->up = NULL;
	}
	if (!r->up_failed) {
		log_warn("upload_failed", "name=%s status=%u bytes=%" PRIu64 " err=%s",
			 log_q(r->name ? r->name : ""), status, r->bytes_in, log_q(msg));
		r->up_failed = true;
		r->up_fail_at = r->bytes_in;
		r->up_fail_status = status;
		r->up_err.code = code;
		snprintf(r->up_err.message, sizeof(r->up_err.message), "%s", msg);
	}
}

static int parse_replication(struct MHD_Connection *c, uint32_t *out, char *why, size_t why_len)
{
	const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "replication");
	*out = 0;
	if (v == NULL || *v == '\0')
		return PP_OK;
	uint64_t n;
	if (!parse_u64(v, v + strlen(v), &n) || n < 2 || n > 16) {
		snprintf(why, why_len, "replication must be a number from 2 to 16");
		return PP_EINVAL;
	}
	*out = (uint32_t)n;
	return PP_OK;
}

static enum MHD_Result put_first(struct request *r, struct MHD_Connection *c)
{
	char why[128];
	if (parse_replication(c, &r->replication, why, sizeof(why)) != PP_OK)
		return reply_error(r, c, MHD_HTTP_BAD_REQUEST, "invalid", "%s", why);
	const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	uint64_t declared = 0;
	if (cl != NULL && !parse_u64(cl, cl + strlen(cl), &declared))
		return reply_error(r, c, MHD_HTTP_BAD_REQUEST, "invalid", "malformed Content-Length");
	if (cl != NULL && r->gw->max_upload > 0 && declared > r->gw->max_upload)
		return reply_error(r, c, MHD_HTTP_CONTENT_TOO_LARGE, "too_large",
				   "upload of %" PRIu64 " bytes exceeds the limit of %" PRIu64 " bytes",
				   declared, r->gw->max_upload);
	struct pp_put_options opt = {.name = r->name, .replication = r->replication};
	struct pp_error err = {0};
	int rc = pp_upload_begin(r->gw->client, &opt, declared, &r->up, &err);
	if (rc != PP_OK)
		return reply_pp_error(r, c, &err);
	return MHD_YES;
}

static enum MHD_Result put_body(struct request *r, struct MHD_Connection *c, const char *data,
				size_t *size)
{
	size_t n = *size;
	*size = 0;
	r->bytes_in += n;
	metrics_add_bytes_in(r->gw->metrics, n);
	if (r->up_failed) {
		/* Drain so the client can read the error; without a length, only so far. */
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_LENGTH);
		return (cl == NULL && r->bytes_in > r->up_fail_at + DRAIN_CHUNKED_MAX) ? MHD_NO
										       : MHD_YES;
	}
	if (r->gw->max_upload > 0 && r->bytes_in > r->gw->max_upload) {
		char msg[160];
		snprintf(msg, sizeof(msg), "upload exceeds the limit of %" PRIu64 " bytes",
			 r->gw->max_upload);
		upload_fail(r, MHD_HTTP_CONTENT_TOO_LARGE, PP_ETOOLARGE, msg);
		return MHD_YES;
	}
	int64_t elapsed_ms = (gw_mono_us() - r->start_us) / 1000;
	if (elapsed_ms > GW_UPLOAD_RATE_GRACE_MS &&
	    r->bytes_in * 1000 / (uint64_t)elapsed_ms < GW_UPLOAD_MIN_RATE_BPS) {
		log_warn("upload_too_slow", "name=%s bytes=%" PRIu64 " ms=%" PRId64, log_q(r->name),
			 r->bytes_in, elapsed_ms);
		return MHD_NO; /* completion aborts the upload */
	}
	struct pp_error err = {0};
	if (pp_upload_write(r->up, data, n, &err) != PP_OK)
		upload_fail(r, (unsigned)pp_http_status(err.code), err.code, err.message);
	return MHD_YES;
}

static enum MHD_Result put_finish(struct request *r, struct MHD_Connection *c)
{
	if (r->up_failed) {
		struct pp_error e = r->up_err;
		json_t *j = shape_error(&e);
		return reply_json(r, c, r->up_fail_status, j);
	}
	struct pp_file f;
	struct pp_error err = {0};
	pp_upload *u = r->up;
	r->up = NULL; /* commit frees it whatever happens */
	int rc = pp_upload_commit(u, &f, &err);
	if (rc != PP_OK)
		return reply_pp_error(r, c, &err);
	metrics_observe_upload(r->gw->metrics, (double)(gw_mono_us() - r->start_us) / 1e6);
	log_info("file_uploaded", "name=%s size=%" PRIu64 " version=%" PRIu64, log_q(f.name),
		 f.size, f.version);
	return reply_json(r, c, MHD_HTTP_CREATED, shape_file(&f));
}

enum MHD_Result files_put(struct request *r, struct MHD_Connection *c, bool first,
			  const char *data, size_t *data_size)
{
	if (first)
		return put_first(r, c);
	if (r->status != 0)
		return MHD_YES; /* an early error is queued; MHD discards the body */
	if (*data_size > 0)
		return put_body(r, c, data, data_size);
	return put_finish(r, c);
}

void files_request_done(struct request *r, enum MHD_RequestTerminationCode toe)
{
	if (r->up != NULL) {
		log_warn("upload_aborted", "name=%s bytes=%" PRIu64 " reason=%d", log_q(r->name),
			 r->bytes_in, (int)toe);
		pp_upload_abort(r->up);
		r->up = NULL;
	}
}

/* ---- Download ---------------------------------------------------------- */

struct dl_state {
	pp_download *d;       /* owned */
	struct mem_budget *budget; /* borrowed; block_bytes of it are held */
	uint64_t block_bytes;
	struct request *r;    /* valid while MHD calls the reader */
	struct metrics *m;
	int64_t start_us;
	uint64_t want, sent;
	char name[64];
};

static ssize_t dl_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)pos;
	struct dl_state *s = cls;
	if (s->d == NULL)
		return MHD_CONTENT_READER_END_OF_STREAM;
	size_t got = 0;
	struct pp_error err = {0};
	if (pp_download_read(s->d, buf, max, &got, &err) != PP_OK) {
		log_error("download_failed", "name=%s sent=%" PRIu64 " err=%s", log_q(s->name),
			  s->sent, log_q(err.message));
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

static void dl_free(void *cls)
{
	struct dl_state *s = cls;
	pp_download_close(s->d);
	if (s->block_bytes > 0)
		mem_budget_give(s->budget, s->block_bytes);
	free(s);
}

/* Content-Disposition with the base name: an ASCII fallback plus RFC 5987. */
static void content_disposition(const char *name, char *out, size_t len)
{
	const char *base = strrchr(name, '/');
	base = base ? base + 1 : name;
	if (*base == '\0')
		base = "download";
	char ascii[256], enc[768];
	size_t a = 0, e = 0;
	for (const unsigned char *p = (const unsigned char *)base; *p; p++) {
		if (a + 1 < sizeof(ascii))
			ascii[a++] = (*p < 0x20 || *p >= 0x7f || *p == '"' || *p == '\\') ? '_' : (char)*p;
		if (e + 4 < sizeof(enc)) {
			if (isalnum(*p) || strchr("-._~", *p))
				enc[e++] = (char)*p;
			else
				e += (size_t)snprintf(enc + e, 4, "%%%02X", *p);
		}
	}
	ascii[a] = enc[e] = '\0';
	snprintf(out, len, "attachment; filename=\"%s\"; filename*=UTF-8''%s", ascii, enc);
}

static void add_file_headers(struct MHD_Response *resp, const struct pp_file *f, const char *etag)
{
	char cd[1200];
	content_disposition(f->name, cd, sizeof(cd));
	MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/octet-stream");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_DISPOSITION, cd);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
}

enum MHD_Result files_get(struct request *r, struct MHD_Connection *c, bool head)
{
	struct gateway *gw = r->gw;
	const char *range = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_RANGE);
	const char *inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
	const char *if_range = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_RANGE);
	struct pp_file f;
	struct pp_error err = {0};
	char etag[72];
	uint64_t first = 0, last = 0;
	enum range_result rr = RANGE_NONE;
	bool known = false;

	if (head || range != NULL || inm != NULL) {
		/* One manifest call of at most one chunk: never the whole map. */
		if (pp_file_info(gw->client, r->name, &f, &err) != PP_OK)
			return reply_pp_error(r, c, &err);
		known = true;
		snprintf(etag, sizeof(etag), "\"%s\"", f.sha256);
		if (etag_matches(inm, etag)) {
			struct MHD_Response *resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
			MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
			MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
			return reply_response(r, c, MHD_HTTP_NOT_MODIFIED, resp);
		}
		/* If-Range with another validator: send the whole (new) file. */
		if (!(if_range != NULL && strcmp(if_range, etag) != 0))
			rr = range_parse(range, f.size, &first, &last);
		if (rr == RANGE_UNSATISFIABLE) {
			json_t *j = json_pack("{s:s,s:s}", "error", "range not satisfiable", "code",
					      "range_not_satisfiable");
			char cr[64];
			snprintf(cr, sizeof(cr), "bytes */%" PRIu64, f.size);
			struct MHD_Response *resp;
			char *txt = j ? json_dumps(j, JSON_COMPACT) : NULL;
			json_decref(j);
			resp = MHD_create_response_from_buffer(txt ? strlen(txt) : 0, txt ? txt : (char *)"",
							       txt ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
			MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
			MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
			return reply_response(r, c, MHD_HTTP_RANGE_NOT_SATISFIABLE, resp);
		}
	}
	uint64_t offset = rr == RANGE_OK ? first : 0;
	uint64_t length = rr == RANGE_OK ? last - first + 1 : 0;

	struct dl_state *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return reply_error(r, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "out of memory");
	s->r = r;
	s->m = gw->metrics;
	s->start_us = r->start_us;
	snprintf(s->name, sizeof(s->name), "%s", r->name);
	if (!head) {
		s->budget = gw->budget;
		if (mem_budget_take(gw->budget, DOWNLOAD_BLOCK_BYTES) != PP_OK) {
			free(s);
			log_warn("download_refused", "name=%s why=%s", log_q(r->name), log_q("memory budget"));
			return reply_error(r, c, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable",
					   "memory budget for downloads is in use; retry later");
		}
		s->block_bytes = DOWNLOAD_BLOCK_BYTES; /* MHD's send buffer, below */
		struct pp_file g;
		if (pp_download_open(gw->client, r->name, offset, length, &s->d, &g, &err) != PP_OK) {
			dl_free(s);
			return reply_pp_error(r, c, &err);
		}
		/* The first chunk (and its budget) before the headers: a refusal
		 * or a failed fetch is still a proper status. */
		if (pp_download_wait_first(s->d, &err) != PP_OK) {
			log_warn("download_not_started", "name=%s err=%s", log_q(r->name), log_q(err.message));
			dl_free(s);
			return reply_pp_error(r, c, &err);
		}
		if (known && strcmp(g.sha256, f.sha256) != 0) {
			dl_free(s);
			return reply_error(r, c, MHD_HTTP_CONFLICT, "conflict",
					   "the file was replaced during the request; retry");
		}
		f = g;
		snprintf(etag, sizeof(etag), "\"%s\"", f.sha256);
	}
	uint64_t body = rr == RANGE_OK ? length : f.size;
	s->want = body;
	struct MHD_Response *resp = MHD_create_response_from_callback(body, DOWNLOAD_BLOCK_BYTES,
								      dl_read, s, dl_free);
	if (resp == NULL) {
		dl_free(s);
		return reply_error(r, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "out of memory");
	}
	add_file_headers(resp, &f, etag);
	unsigned status = MHD_HTTP_OK;
	if (rr == RANGE_OK) {
		char cr[96];
		snprintf(cr, sizeof(cr), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, first, last, f.size);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
		status = MHD_HTTP_PARTIAL_CONTENT;
	}
	return reply_response(r, c, status, resp);
}

enum MHD_Result files_delete(struct request *r, struct MHD_Connection *c)
{
	struct pp_error err = {0};
	if (pp_delete(r->gw->client, r->name, &err) != PP_OK)
		return reply_pp_error(r, c, &err);
	log_info("file_deleted", "name=%s", log_q(r->name));
	struct MHD_Response *resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
	return reply_response(r, c, MHD_HTTP_NO_CONTENT, resp);
}
