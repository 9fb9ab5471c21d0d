/* REST routing, auth, JSON replies and the small endpoints; see routes.h.
 *
 * Every request gets a struct request on its first callback; the response
 * status is recorded when queued so the completion callback can log one line
 * and count it. Errors are always {"error","code"} JSON with the status of
 * common/errors.c's table (or the specific one for 401/403/405/416). */
#define _GNU_SOURCE
#include "routes.h"
#include "header_guard.h"

#include "auth_tokens.h"
#include "errors.h"
#include "files_api.h"
#include "log.h"
#include "metrics.h"
#include "shapes.h"
#include "sse.h"
#include "webui.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define API_FILES "/api/v1/files"
#define API_CHUNKMAP "/api/v1/chunkmap/"
#define LIST_LIMIT_MAX 1000
#define QUERY_MAX_BYTES 1024

int64_t gw_mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- replies ----------------------------------------------------------- */

enum MHD_Result reply_response(struct request *r, struct MHD_Connection *c, unsigned status,
			       struct MHD_Response *resp)
{
	if (resp == NULL)
		return MHD_NO;
	enum MHD_Result ok = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	if (ok == MHD_YES) {
		r->status = status;
		r->handled = true;
	}
	return ok;
}

enum MHD_Result reply_json(struct request *r, struct MHD_Connection *c, unsigned status, void *json)
{
	json_t *j = json;
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (text == NULL)
		return MHD_NO;
	size_t n = strlen(text);
	/* A trailing newline makes curl output readable; JSON parsers ignore it. */
	char *body = realloc(text, n + 2);
	if (body == NULL) {
		free(text);
		return MHD_NO;
	}
	body[n] = '\n';
	body[n + 1] = '\0';
	struct MHD_Response *resp = MHD_create_response_from_buffer(n + 1, body, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	r->bytes_out += n + 1;
	return reply_response(r, c, status, resp);
}

enum MHD_Result reply_error(struct request *r, struct MHD_Connection *c, unsigned status,
			    const char *code, const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_t *j = json_object();
	if (j) {
		/* The message may quote invalid UTF-8 input; fall back to a plain one. */
		json_t *s = json_string(msg);
		json_object_set_new(j, "error", s ? s : json_string(code));
		json_object_set_new(j, "code", json_string(code));
	}
	return reply_json(r, c, status, j);
}

enum MHD_Result reply_pp_error(struct request *r, struct MHD_Connection *c, const struct pp_error *e)
{
	unsigned status = (unsigned)pp_http_status(e->code);
	if (e->code != PP_ENOTFOUND && e->code != PP_EINVAL)
		log_warn("request_failed", "path=%s status=%u err=%s detail=%s", log_q(r->path), status,
			 log_q(pp_err_name(e->code)), log_q(e->message));
	return reply_json(r, c, status, shape_error(e));
}

static enum MHD_Result reply_text(struct request *r, struct MHD_Connection *c, unsigned status,
				  const char *type, char *text, size_t len, bool owned)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(
		len, text, owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (resp == NULL) {
		if (owned)
			free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	r->bytes_out += len;
	return reply_response(r, c, status, resp);
}

static enum MHD_Result reply_method(struct request *r, struct MHD_Connection *c, const char *allow)
{
	json_t *j = json_pack("{s:s,s:s}", "error", "method not allowed", "code", "method_not_allowed");
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (text == NULL)
		return MHD_NO;
	struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
	return reply_response(r, c, MHD_HTTP_METHOD_NOT_ALLOWED, resp);
}

/* ---- decoding ---------------------------------------------------------- */

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

int pct_decode(const char *in, size_t len, bool plus_space, char **out, size_t *out_len)
{
	char *o = malloc(len + 1);
	if (o == NULL)
		return PP_EINTERNAL;
	size_t k = 0;
	for (size_t i = 0; i < len; i++) {
		if (in[i] == '%') {
			int hi = i + 2 < len ? hexval(in[i + 1]) : -1;
			int lo = i + 2 < len ? hexval(in[i + 2]) : -1;
			if (hi < 0 || lo < 0) {
				free(o);
				return PP_EINVAL;
			}
			o[k++] = (char)(hi * 16 + lo);
			i += 2;
		} else if (plus_space && in[i] == '+') {
			o[k++] = ' ';
		} else {
			o[k++] = in[i];
		}
	}
	o[k] = '\0';
	*out = o;
	*out_len = k;
	return PP_OK;
}

size_t routes_no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	return strlen(s);
}

/* A query argument, decoded; NULL when absent. *bad on a malformed one. */
static char *query_arg(struct MHD_Connection *c, const char *key, bool *bad)
{
	const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
	if (v == NULL)
		return NULL;
	char *out = NULL;
	size_t n;
	if (strlen(v) > QUERY_MAX_BYTES * 3 || pct_decode(v, strlen(v), true, &out, &n) != PP_OK ||
	    n != strlen(out)) {
		free(out);
		*bad = true;
		return NULL;
	}
	return out;
}

/* Decodes and checks the name in the path remainder; replies 400 itself. */
static bool take_name(struct request *r, struct MHD_Connection *c, const char *raw, enum MHD_Result *res)
{
	char *name = NULL;
	size_t n = 0;
	const char *why = NULL;
	if (pct_decode(raw, strlen(raw), false, &name, &n) != PP_OK)
		why = "malformed percent-encoding";
	else if (n != strlen(name))
		why = "name contains a NUL byte";
	else
		why = pp_name_check(name);
	if (why != NULL) {
		free(name);
		*res = reply_error(r, c, MHD_HTTP_BAD_REQUEST, "invalid", "invalid name: %s", why);
		return false;
	}
	r->name = name;
	return true;
}

/* ---- auth -------------------------------------------------------------- */

static bool route_is_write(const char *method)
{
	return strcmp(method, "PUT") == 0 || strcmp(method, "DELETE") == 0 ||
	       strcmp(method, "POST") == 0 || strcmp(method, "PATCH") == 0;
}

/* True when the request may go on; otherwise a 401/403 was queued. */
static bool authorize(struct request *r, struct MHD_Connection *c, enum MHD_Result *res)
{
	const struct token_table *t = r->gw->tokens;
	if (t == NULL)
		return true;
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	enum token_scope s = token_from_header(t, h);
	if (s == TOKEN_NONE && r->route == ROUTE_EVENTS) {
		/* EventSource cannot send headers: the token may come in the query. */
		bool bad = false;
		char *q = query_arg(c, "access_token", &bad);
		s = token_lookup(t, q);
		free(q);
	}
	if (s == TOKEN_NONE) {
		json_t *j = json_pack("{s:s,s:s}", "error",
				      h ? "invalid bearer token" : "a bearer token is required",
				      "code", "unauthorized");
		char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
		json_decref(j);
		struct MHD_Response *resp = text ? MHD_create_response_from_buffer(
							   strlen(text), text, MHD_RESPMEM_MUST_FREE)
						 : NULL;
		if (resp == NULL) {
			free(text);
			*res = MHD_NO;
			return false;
		}
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					"Bearer realm=\"peer-pressure\"");
		*res = reply_response(r, c, MHD_HTTP_UNAUTHORIZED, resp);
		return false;
	}
	if (s == TOKEN_READ && route_is_write(r->method)) {
		*res = reply_error(r, c, MHD_HTTP_FORBIDDEN, "forbidden",
				   "this token may only read; %s needs a write token", r->method);
		return false;
	}
	return true;
}

/* ---- small endpoints --------------------------------------------------- */

static bool parse_uint_arg(struct MHD_Connection *c, const char *key, uint32_t max, uint32_t *out,
			   bool *bad)
{
	const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
	if (v == NULL || *v == '\0')
		return false;
	char *end = NULL;
	unsigned long long n = strtoull(v, &end, 10);
	if (*v == '-' || *end != '\0' || n > max) {
		*bad = true;
		return false;
	}
	*out = (uint32_t)n;
	return true;
}

static enum MHD_Result do_list(struct request *r, struct MHD_Connection *c)
{
	bool bad = false;
	uint32_t limit = 100, offset = 0;
	char *q = query_arg(c, "q", &bad);
	parse_uint_arg(c, "limit", LIST_LIMIT_MAX, &limit, &bad);
	parse_uint_arg(c, "offset", UINT32_MAX, &offset, &bad);
	if (bad || (q && strlen(q) > QUERY_MAX_BYTES)) {
		free(q);
		return reply_error(r, c, MHD_HTTP_BAD_REQUEST, "invalid",
				   "q must be at most %d bytes, limit 1..%d, offset a number",
				   QUERY_MAX_BYTES, LIST_LIMIT_MAX);
	}
	if (limit == 0)
		limit = 100;
	struct pp_file_list *l = NULL;
	struct pp_error err = {0};
	int rc = pp_list(r->gw->client, q ? q : "", limit, offset, &l, &err);
	free(q);
	if (rc != PP_OK)
		return reply_pp_error(r, c, &err);
	json_t *j = shape_list(l);
	pp_file_list_free(l);
	return reply_json(r, c, MHD_HTTP_OK, j);
}

static enum MHD_Result do_chunkmap(struct request *r, struct MHD_Connection *c)
{
	struct pp_chunk_map *m = NULL;
	struct pp_error err = {0};
	if (pp_stat(r->gw->client, r->name, &m, &err) != PP_OK)
		return reply_pp_error(r, c, &err);
	json_t *j = shape_chunk_map(m);
	pp_chunk_map_free(m);
	return reply_json(r, c, MHD_HTTP_OK, j);
}

static enum MHD_Result do_nodes(struct request *r, struct MHD_Connection *c)
{
	struct pp_node_list *l = NULL;
	struct pp_error err = {0};
	if (pp_nodes(r->gw->client, &l, &err) != PP_OK)
		return reply_pp_error(r, c, &err);
	json_t *j = shape_nodes(l);
	pp_node_list_free(l);
	return reply_json(r, c, MHD_HTTP_OK, j);
}

static enum MHD_Result do_health(struct request *r, struct MHD_Connection *c)
{
	struct pp_health h;
	struct pp_error err = {0};
	if (pp_health(r->gw->client, &h, &err) != PP_OK)
		return reply_pp_error(r, c, &err);
	return reply_json(r, c, MHD_HTTP_OK, shape_health(&h));
}

static enum MHD_Result do_readyz(struct request *r, struct MHD_Connection *c)
{
	struct pp_ping p;
	struct pp_error err = {0};
	if (pp_ping(r->gw->probe, &p, &err) != PP_OK)
		return reply_json(r, c, MHD_HTTP_SERVICE_UNAVAILABLE, shape_error(&err));
	return reply_text(r, c, MHD_HTTP_OK, "text/plain; charset=utf-8", "ready\n", 6, false);
}

static enum MHD_Result do_metrics(struct request *r, struct MHD_Connection *c)
{
	size_t len = 0;
	char *text = NULL;
	if (prom_render(metrics_registry(r->gw->metrics), &text, &len) != PP_OK)
		return reply_error(r, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "out of memory");
	return reply_text(r, c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", text, len, true);
}

/* ---- dispatch ---------------------------------------------------------- */

static bool is(const char *m, const char *want) { return strcmp(m, want) == 0; }

static enum gw_route classify(const char *url, const char *method)
{
	if (strcmp(url, API_FILES) == 0)
		return ROUTE_FILES_LIST;
	if (strncmp(url, API_FILES "/", sizeof(API_FILES)) == 0) {
		if (is(method, "PUT"))
			return ROUTE_FILE_PUT;
		if (is(method, "HEAD"))
			return ROUTE_FILE_HEAD;
		if (is(method, "DELETE"))
			return ROUTE_FILE_DELETE;
		return ROUTE_FILE_GET;
	}
	if (strncmp(url, API_CHUNKMAP, strlen(API_CHUNKMAP)) == 0)
		return ROUTE_CHUNKMAP;
	if (strcmp(url, "/api/v1/nodes") == 0)
		return ROUTE_NODES;
	if (strcmp(url, "/api/v1/health") == 0)
		return ROUTE_HEALTH;
	if (strcmp(url, "/api/v1/events") == 0)
		return ROUTE_EVENTS;
	if (strcmp(url, "/metrics") == 0)
		return ROUTE_METRICS;
	if (strcmp(url, "/healthz") == 0)
		return ROUTE_HEALTHZ;
	if (strcmp(url, "/readyz") == 0)
		return ROUTE_READYZ;
	if (strncmp(url, "/api/", 5) == 0)
		return ROUTE_OTHER;
	return ROUTE_UI;
}

static bool needs_auth(enum gw_route r)
{
	return r != ROUTE_HEALTHZ && r != ROUTE_READYZ && r != ROUTE_UI;
}

static enum MHD_Result dispatch(struct request *r, struct MHD_Connection *c, const char *url)
{
	const char *m = r->method;
	bool get = is(m, "GET") || is(m, "HEAD");
	enum MHD_Result res = MHD_YES;
	switch (r->route) {
	case ROUTE_FILE_PUT:
	case ROUTE_FILE_GET:
	case ROUTE_FILE_HEAD:
	case ROUTE_FILE_DELETE:
		if (!get && !is(m, "PUT") && !is(m, "DELETE"))
			return reply_method(r, c, "GET, HEAD, PUT, DELETE");
		if (!take_name(r, c, url + sizeof(API_FILES), &res))
			return res;
		if (is(m, "PUT"))
			return files_put(r, c, true, NULL, NULL);
		if (is(m, "DELETE"))
			return files_delete(r, c);
		return files_get(r, c, is(m, "HEAD"));
	case ROUTE_CHUNKMAP:
		if (!get)
			return reply_method(r, c, "GET, HEAD");
		if (!take_name(r, c, url + strlen(API_CHUNKMAP), &res))
			return res;
		return do_chunkmap(r, c);
	case ROUTE_FILES_LIST:
		return get ? do_list(r, c) : reply_method(r, c, "GET, HEAD");
	case ROUTE_NODES:
		return get ? do_nodes(r, c) : reply_method(r, c, "GET, HEAD");
	case ROUTE_HEALTH:
		return get ? do_health(r, c) : reply_method(r, c, "GET, HEAD");
	case ROUTE_EVENTS:
		return is(m, "GET") ? sse_handle(r, c) : reply_method(r, c, "GET");
	case ROUTE_METRICS:
		return get ? do_metrics(r, c) : reply_method(r, c, "GET, HEAD");
	case ROUTE_HEALTHZ:
		return get ? reply_text(r, c, MHD_HTTP_OK, "text/plain; charset=utf-8", "ok\n", 3, false)
			   : reply_method(r, c, "GET, HEAD");
	case ROUTE_READYZ:
		return get ? do_readyz(r, c) : reply_method(r, c, "GET, HEAD");
	case ROUTE_UI:
		return get ? webui_serve(r->gw->ui, r, c) : reply_method(r, c, "GET, HEAD");
	default:
		return reply_error(r, c, MHD_HTTP_NOT_FOUND, "not_found", "no such endpoint");
	}
}

static void copy_for_log(char *dst, size_t cap, const char *src)
{
	size_t i = 0;
	for (; src[i] && i + 1 < cap; i++) {
		unsigned char ch = (unsigned char)src[i];
		dst[i] = (ch <= 0x20 || ch == 0x7f || ch == '"') ? '?' : (char)ch;
	}
	dst[i] = '\0';
}

enum MHD_Result routes_handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **con_cls)
{
	(void)version;
	struct request *r = *con_cls;
	if (r == NULL) {
		r = calloc(1, sizeof(*r));
		if (r == NULL)
			return MHD_NO;
		r->gw = cls;
		r->start_us = gw_mono_us();
		header_guard_headers_done(r->gw->guard, c);
		snprintf(r->method, sizeof(r->method), "%s", method);
		copy_for_log(r->path, sizeof(r->path), url);
		r->route = classify(url, method);
		*con_cls = r;
		enum MHD_Result res = MHD_YES;
		if (needs_auth(r->route) && !authorize(r, c, &res))
			return res;
		return dispatch(r, c, url);
	}
	if (r->route == ROUTE_FILE_PUT && r->name != NULL)
		return files_put(r, c, false, upload_data, upload_data_size);
	/* Any other body is not read: the response was queued on the first call. */
	*upload_data_size = 0;
	return r->handled ? MHD_YES : MHD_NO;
}

void routes_completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct gateway *gw = cls;
	struct request *r = *con_cls;
	header_guard_request_done(gw->guard, c);
	if (r == NULL)
		return;
	*con_cls = NULL;
	files_request_done(r, toe);
	bool ok = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK;
	/* A request cut off before any response counts as 499 (client closed). */
	unsigned status = r->status ? r->status : 499;
	metrics_count_request(gw->metrics, r->route, r->method, status,
			      (double)(gw_mono_us() - r->start_us) / 1e6);
	log_info("http_request", "method=%s path=%s status=%u bytes_in=%" PRIu64 " bytes_out=%" PRIu64
		 " ms=%.1f complete=%s",
		 log_q(r->method), log_q(r->path), status, r->bytes_in, r->bytes_out,
		 (double)(gw_mono_us() - r->start_us) / 1000.0, ok ? "yes" : "no");
	free(r->name);
	free(r);
}
