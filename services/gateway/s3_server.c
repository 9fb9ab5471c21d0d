/* The S3 endpoint's daemon and request cycle (DESIGN.md, "S3 API"); see
 * s3.h and s3_request.h.
 *
 * First callback: headers and query are collected, the bucket and key found
 * (path-style, or virtual-hosted with --s3-domain), the signature checked,
 * the operation chosen. Body callbacks feed the body pipeline (s3_body.c);
 * the last one finishes it and runs the operation. A failure in the middle
 * of a body is remembered and the rest drained, so the client reads the S3
 * error instead of a reset connection. */
#define _GNU_SOURCE
#include "s3.h"
#include "s3_body.h"
#include "s3_creds.h"
#include "s3_request.h"
#include "s3_xml.h"

#include "auth.h"
#include "errors.h"
#include "header_guard.h"
#include "log.h"
#include "metrics.h"
#include "ppclient_ext.h"
#include "routes.h"

#include <ctype.h>
#include <inttypes.h>
#include <libxml/parser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#define S3_CONNECTION_LIMIT 256
#define S3_CONNECTION_TIMEOUT_S 120
#define S3_HEADER_DEADLINE_S 10
#define S3_CONNECTION_MEMORY (1u << 20) /* MHD hands uploads in ~half of this */
#define S3_QUERY_MAX 64
#define S3_HEADERS_MAX 128

/* ---- operations ------------------------------------------------------- */

enum op_id {
	OP_LIST_BUCKETS, OP_CREATE_BUCKET, OP_HEAD_BUCKET, OP_DELETE_BUCKET, OP_BUCKET_LOCATION,
	OP_BUCKET_VERSIONING, OP_BUCKET_ACL, OP_BUCKET_UNSET, OP_LIST_OBJECTS, OP_LIST_OBJECTS_V2,
	OP_LIST_UPLOADS, OP_DELETE_OBJECTS, OP_PUT_OBJECT, OP_COPY_OBJECT, OP_GET_OBJECT,
	OP_HEAD_OBJECT, OP_DELETE_OBJECT, OP_OBJECT_ACL, OP_OBJECT_TAGGING, OP_CREATE_UPLOAD,
	OP_UPLOAD_PART, OP_UPLOAD_PART_COPY, OP_COMPLETE_UPLOAD, OP_ABORT_UPLOAD, OP_LIST_PARTS,
	OP_NOT_IMPLEMENTED, OP_NOT_ALLOWED, OP_COUNT
};

static enum MHD_Result not_implemented(struct s3_req *r)
{
	return s3_reply_fail(r, "NotImplemented", "%s %s is not implemented by this endpoint", r->method,
			     r->path);
}

static enum MHD_Result not_allowed(struct s3_req *r)
{
	return s3_reply_fail(r, "MethodNotAllowed", NULL);
}

#define OP(id, name, write, bucket, key, body, start, finish) \
	[id] = {name, write, bucket, key, body, start, finish}
static const struct s3_op OPS[OP_COUNT] = {
	OP(OP_LIST_BUCKETS, "ListBuckets", false, false, false, S3_BODY_NONE, s3_list_buckets, NULL),
	OP(OP_CREATE_BUCKET, "CreateBucket", true, true, false, S3_BODY_XML, NULL, s3_create_bucket),
	OP(OP_HEAD_BUCKET, "HeadBucket", false, true, false, S3_BODY_NONE, s3_head_bucket, NULL),
	OP(OP_DELETE_BUCKET, "DeleteBucket", true, true, false, S3_BODY_NONE, s3_delete_bucket, NULL),
	OP(OP_BUCKET_LOCATION, "GetBucketLocation", false, true, false, S3_BODY_NONE, s3_bucket_location, NULL),
	OP(OP_BUCKET_VERSIONING, "GetBucketVersioning", false, true, false, S3_BODY_NONE, s3_bucket_versioning, NULL),
	OP(OP_BUCKET_ACL, "GetBucketAcl", false, true, false, S3_BODY_NONE, s3_bucket_acl, NULL),
	OP(OP_BUCKET_UNSET, "GetBucketConfiguration", false, true, false, S3_BODY_NONE, s3_bucket_unset_config, NULL),
	OP(OP_LIST_OBJECTS, "ListObjects", false, true, false, S3_BODY_NONE, s3_list_objects, NULL),
	OP(OP_LIST_OBJECTS_V2, "ListObjectsV2", false, true, false, S3_BODY_NONE, s3_list_objects, NULL),
	OP(OP_LIST_UPLOADS, "ListMultipartUploads", false, true, false, S3_BODY_NONE, s3_list_uploads, NULL),
	OP(OP_DELETE_OBJECTS, "DeleteObjects", true, true, false, S3_BODY_XML, NULL, s3_delete_objects),
	OP(OP_PUT_OBJECT, "PutObject", true, true, true, S3_BODY_STREAM, s3_put_object_start, s3_put_object_finish),
	OP(OP_COPY_OBJECT, "CopyObject", true, true, true, S3_BODY_NONE, s3_copy_object, NULL),
	OP(OP_GET_OBJECT, "GetObject", false, true, true, S3_BODY_NONE, s3_get_object, NULL),
	OP(OP_HEAD_OBJECT, "HeadObject", false, true, true, S3_BODY_NONE, s3_get_object, NULL),
	OP(OP_DELETE_OBJECT, "DeleteObject", true, true, true, S3_BODY_NONE, s3_delete_object, NULL),
	OP(OP_OBJECT_ACL, "GetObjectAcl", false, true, true, S3_BODY_NONE, s3_object_acl, NULL),
	OP(OP_OBJECT_TAGGING, "GetObjectTagging", false, true, true, S3_BODY_NONE, s3_object_tagging, NULL),
	OP(OP_CREATE_UPLOAD, "CreateMultipartUpload", true, true, true, S3_BODY_NONE, s3_create_upload, NULL),
	OP(OP_UPLOAD_PART, "UploadPart", true, true, true, S3_BODY_STREAM, s3_upload_part_start, s3_upload_part_finish),
	OP(OP_UPLOAD_PART_COPY, "UploadPartCopy", true, true, true, S3_BODY_NONE, s3_upload_part_copy, NULL),
	OP(OP_COMPLETE_UPLOAD, "CompleteMultipartUpload", true, true, true, S3_BODY_XML, NULL, s3_complete_upload),
	OP(OP_ABORT_UPLOAD, "AbortMultipartUpload", true, true, true, S3_BODY_NONE, s3_abort_upload, NULL),
	OP(OP_LIST_PARTS, "ListParts", false, true, true, S3_BODY_NONE, s3_list_parts, NULL),
	OP(OP_NOT_IMPLEMENTED, "NotImplemented", false, false, false, S3_BODY_NONE, not_implemented, NULL),
	OP(OP_NOT_ALLOWED, "MethodNotAllowed", false, false, false, S3_BODY_NONE, not_allowed, NULL),
};

/* Bucket subresources S3 answers "no such configuration" for when unset. */
static const char *const UNSET_CONFIGS[] = {"policy",	  "cors",	"lifecycle",	"tagging",
					    "website",	  "encryption", "object-lock",	"replication",
					    "logging",	  "notification", "ownershipControls",
					    "publicAccessBlock", "accelerate", "requestPayment", "policyStatus"};

static bool is(const char *m, const char *want) { return strcmp(m, want) == 0; }

static enum op_id bucket_op(struct s3_req *r)
{
	const char *m = r->method;
	if (is(m, "GET") || is(m, "HEAD")) {
		if (is(m, "HEAD"))
			return OP_HEAD_BUCKET;
		if (s3_query_has(r, "location"))
			return OP_BUCKET_LOCATION;
		if (s3_query_has(r, "versioning"))
			return OP_BUCKET_VERSIONING;
		if (s3_query_has(r, "acl"))
			return OP_BUCKET_ACL;
		if (s3_query_has(r, "uploads"))
			return OP_LIST_UPLOADS;
		for (size_t i = 0; i < sizeof(UNSET_CONFIGS) / sizeof(UNSET_CONFIGS[0]); i++)
			if (s3_query_has(r, UNSET_CONFIGS[i]))
				return OP_BUCKET_UNSET;
		if (s3_query_has(r, "analytics") || s3_query_has(r, "inventory") ||
		    s3_query_has(r, "metrics") || s3_query_has(r, "intelligent-tiering") ||
		    s3_query_has(r, "versions"))
			return OP_NOT_IMPLEMENTED;
		const char *lt = s3_query(r, "list-type");
		return lt && is(lt, "2") ? OP_LIST_OBJECTS_V2 : OP_LIST_OBJECTS;
	}
	bool sub = r->nquery > 0;
	if (is(m, "PUT"))
		return sub ? OP_NOT_IMPLEMENTED : OP_CREATE_BUCKET;
	if (is(m, "DELETE"))
		return sub ? OP_NOT_IMPLEMENTED : OP_DELETE_BUCKET;
	if (is(m, "POST"))
		return s3_query_has(r, "delete") ? OP_DELETE_OBJECTS : OP_NOT_IMPLEMENTED;
	return OP_NOT_ALLOWED;
}

static enum op_id object_op(struct s3_req *r)
{
	const char *m = r->method;
	bool upload = s3_query_has(r, "uploadId");
	if (is(m, "GET")) {
		if (upload)
			return OP_LIST_PARTS;
		if (s3_query_has(r, "acl"))
			return OP_OBJECT_ACL;
		if (s3_query_has(r, "tagging"))
			return OP_OBJECT_TAGGING;
		if (s3_query_has(r, "attributes") || s3_query_has(r, "torrent") ||
		    s3_query_has(r, "retention") || s3_query_has(r, "legal-hold"))
			return OP_NOT_IMPLEMENTED;
		return OP_GET_OBJECT;
	}
	if (is(m, "HEAD"))
		return OP_HEAD_OBJECT;
	if (is(m, "PUT")) {
		bool copy = s3_header(r, "x-amz-copy-source") != NULL;
		if (upload || s3_query_has(r, "partNumber"))
			return copy ? OP_UPLOAD_PART_COPY : OP_UPLOAD_PART;
		if (s3_query_has(r, "acl") || s3_query_has(r, "tagging") || s3_query_has(r, "retention") ||
		    s3_query_has(r, "legal-hold"))
			return OP_NOT_IMPLEMENTED;
		return copy ? OP_COPY_OBJECT : OP_PUT_OBJECT;
	}
	if (is(m, "DELETE")) {
		if (upload)
			return OP_ABORT_UPLOAD;
		return s3_query_has(r, "tagging") ? OP_NOT_IMPLEMENTED : OP_DELETE_OBJECT;
	}
	if (is(m, "POST")) {
		if (s3_query_has(r, "uploads"))
			return OP_CREATE_UPLOAD;
		return upload ? OP_COMPLETE_UPLOAD : OP_NOT_IMPLEMENTED;
	}
	return OP_NOT_ALLOWED;
}

static enum op_id classify(struct s3_req *r)
{
	if (r->bucket[0] == '\0')
		return is(r->method, "GET") || is(r->method, "HEAD") ? OP_LIST_BUCKETS : OP_NOT_ALLOWED;
	return r->key ? object_op(r) : bucket_op(r);
}

/* ---- request lookups -------------------------------------------------- */

const char *s3_header(struct s3_req *r, const char *name)
{
	const char *first = NULL;
	size_t count = 0, len = 0;
	for (size_t i = 0; i < r->nheaders; i++) {
		if (strcmp(r->headers[i].name, name) != 0)
			continue;
		if (count++ == 0)
			first = r->headers[i].value;
		len += strlen(r->headers[i].value) + 1;
	}
	if (count <= 1)
		return first;
	char *joined = malloc(len);
	char **s = joined ? realloc(r->scratch, (r->nscratch + 1) * sizeof(*s)) : NULL;
	if (s == NULL) {
		free(joined);
		return first;
	}
	r->scratch = s;
	r->scratch[r->nscratch++] = joined;
	joined[0] = '\0';
	for (size_t i = 0; i < r->nheaders; i++) {
		if (strcmp(r->headers[i].name, name) != 0)
			continue;
		if (joined[0])
			strcat(joined, ",");
		strcat(joined, r->headers[i].value);
	}
	return joined;
}

const char *s3_query(const struct s3_req *r, const char *name)
{
	for (size_t i = 0; i < r->nquery; i++)
		if (strcmp(r->query[i].name, name) == 0)
			return r->query[i].value;
	return NULL;
}

bool s3_query_has(const struct s3_req *r, const char *name) { return s3_query(r, name) != NULL; }

static const char *header_cb(void *ctx, const char *name) { return s3_header(ctx, name); }

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
				      const char *value)
{
	(void)kind;
	struct s3_req *r = cls;
	if (r->nheaders == S3_HEADERS_MAX)
		return MHD_NO;
	char *n = strdup(key), *v = strdup(value ? value : "");
	if (n == NULL || v == NULL) {
		free(n);
		free(v);
		return MHD_NO;
	}
	for (char *p = n; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	r->headers[r->nheaders++] = (struct s3_header){n, v};
	return MHD_YES;
}

struct query_ctx {
	struct s3_req *r;
	bool bad;
};

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	(void)kind;
	struct query_ctx *q = cls;
	struct s3_req *r = q->r;
	char *n = NULL, *v = NULL;
	size_t nl, vl;
	if (r->nquery == S3_QUERY_MAX || pct_decode(key, strlen(key), false, &n, &nl) != PP_OK ||
	    pct_decode(value ? value : "", value ? strlen(value) : 0, false, &v, &vl) != PP_OK ||
	    nl != strlen(n) || vl != strlen(v)) {
		free(n);
		free(v);
		q->bad = true;
		return MHD_NO;
	}
	r->query[r->nquery++] = (struct s3_kv){n, v};
	return MHD_YES;
}

/* ---- bucket and key --------------------------------------------------- */

/* Virtual-hosted: "BUCKET.DOMAIN[:port]" names the bucket. */
static bool host_bucket(struct s3_req *r, char *bucket, size_t len)
{
	const char *host = s3_header(r, "host"), *dom = r->srv->domain;
	if (dom == NULL || host == NULL)
		return false;
	size_t hl = strcspn(host, ":"), dl = strlen(dom);
	if (hl <= dl + 1 || host[hl - dl - 1] != '.' || strncasecmp(host + hl - dl, dom, dl) != 0)
		return false;
	size_t bl = hl - dl - 1;
	if (bl >= len)
		bl = len - 1;
	memcpy(bucket, host, bl);
	bucket[bl] = '\0';
	for (char *p = bucket; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return true;
}

/* Splits r->path into bucket and key; replies itself on a bad one. */
static bool locate(struct s3_req *r, enum MHD_Result *res)
{
	const char *p = r->path[0] == '/' ? r->path + 1 : r->path;
	const char *key_raw = NULL;
	char bucket[256];
	if (host_bucket(r, bucket, sizeof(bucket))) {
		key_raw = *p ? p : NULL;
	} else {
		size_t bl = strcspn(p, "/");
		if (bl >= sizeof(bucket)) {
			*res = s3_reply_fail(r, "InvalidBucketName", NULL);
			return false;
		}
		memcpy(bucket, p, bl);
		bucket[bl] = '\0';
		if (p[bl] == '/' && p[bl + 1] != '\0')
			key_raw = p + bl + 1;
	}
	if (bucket[0] != '\0' && s3_bucket_check(bucket) != NULL) {
		snprintf(r->bucket, sizeof(r->bucket), "%.63s", bucket);
		*res = s3_reply_fail(r, "InvalidBucketName", "The specified bucket is not valid: %s",
				     s3_bucket_check(bucket));
		return false;
	}
	snprintf(r->bucket, sizeof(r->bucket), "%.63s", bucket);
	if (key_raw == NULL)
		return true;
	size_t n = 0;
	const char *why = NULL;
	if (pct_decode(key_raw, strlen(key_raw), false, &r->key, &n) != PP_OK)
		why = "malformed percent-encoding";
	else if (n != strlen(r->key))
		why = "the key contains a NUL byte";
	if (why == NULL && n > S3_KEY_MAX) {
		*res = s3_reply_fail(r, "KeyTooLongError", NULL);
		return false;
	}
	if (why == NULL && asprintf(&r->name, "%s/%s", r->bucket, r->key) < 0) {
		r->name = NULL;
		why = "out of memory";
	}
	if (why == NULL)
		why = name_check(r->name, strlen(r->name));
	if (why != NULL) {
		*res = s3_reply_fail(r, "InvalidArgument", "Object key is not supported: %s", why);
		return false;
	}
	return true;
}

/* ---- body ------------------------------------------------------------- */

/* XML bodies are small: collected whole, bounded. */
static int xml_sink(void *arg, const uint8_t *data, size_t len, struct s3_fail *fail)
{
	struct s3_req *r = arg;
	if (r->xml_len + len > S3_XML_BODY_MAX) {
		s3_fail_set(fail, "MalformedXML", "The XML body is larger than %u bytes", S3_XML_BODY_MAX);
		return PP_ETOOLARGE;
	}
	char *g = realloc(r->xml, r->xml_len + len + 1);
	if (g == NULL) {
		s3_fail_set(fail, "InternalError", NULL);
		return PP_EINTERNAL;
	}
	memcpy(g + r->xml_len, data, len);
	r->xml = g;
	r->xml_len += len;
	r->xml[r->xml_len] = '\0';
	return PP_OK;
}

/* The checksum the request announces, from a header or the trailer list. */
static int checksum_of(struct s3_req *r, struct s3_body_cfg *cfg, struct s3_fail *fail)
{
	static const enum s3_cksum_alg algs[] = {CK_CRC32, CK_CRC32C, CK_SHA1, CK_SHA256};
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		const char *v = s3_header(r, s3_cksum_header(algs[i]));
		if (v != NULL) {
			cfg->cksum = algs[i];
			cfg->cksum_value = v;
			return PP_OK;
		}
	}
	if (s3_header(r, "x-amz-checksum-crc64nvme") != NULL ||
	    (cfg->trailer && strcasecmp(cfg->trailer, "x-amz-checksum-crc64nvme") == 0)) {
		s3_fail_set(fail, "InvalidRequest", "The CRC64NVME checksum is not supported; use CRC32, CRC32C, SHA1 or SHA256");
		return PP_EINVAL;
	}
	if (cfg->trailer != NULL) {
		const char *t = cfg->trailer;
		if (strncasecmp(t, "x-amz-checksum-", 15) != 0 || (cfg->cksum = s3_cksum_alg_parse(t + 15)) == CK_NONE) {
			s3_fail_set(fail, "InvalidRequest", "Unsupported trailer %s", t);
			return PP_EINVAL;
		}
	}
	return PP_OK;
}

/* Objects stream into an upload, which hashes them with SHA-256 anyway. */
static int upload_sha256(void *arg, char hex[65])
{
	struct s3_req *r = arg;
	return r->up != NULL ? pp_upload_sha256(r->up, hex) : PP_EINTERNAL;
}

int s3_body_for(struct s3_req *r, s3_sink_fn sink, void *arg, bool object, struct s3_fail *fail)
{
	struct s3_body_cfg cfg = {
		.auth = &r->auth,
		.content_md5 = s3_header(r, "content-md5"),
		.content_encoding = s3_header(r, "content-encoding"),
		.trailer = s3_header(r, "x-amz-trailer"),
		.decoded_length = s3_header(r, "x-amz-decoded-content-length"),
		.limit = object ? S3_OBJECT_MAX : S3_XML_BODY_MAX,
		.want_md5 = object,
		.sink_sha256 = object && arg == r ? upload_sha256 : NULL,
	};
	uint64_t max = r->srv->gw->max_upload;
	if (object && max > 0 && max < cfg.limit)
		cfg.limit = max;
	int rc = checksum_of(r, &cfg, fail);
	if (rc == PP_OK)
		rc = s3_body_new(&cfg, sink, arg, &r->body, fail);
	return rc;
}

/* ---- the request cycle ------------------------------------------------ */

static void request_id(struct s3_server *s, char *out, size_t len)
{
	uint64_t n = __atomic_add_fetch(&s->next_request, 1, __ATOMIC_RELAXED);
	snprintf(out, len, "%s%08" PRIX64, s->instance, n & 0xffffffffu);
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

static enum MHD_Result first_call(struct s3_req *r, const char *url)
{
	enum MHD_Result res = MHD_YES;
	struct s3_server *s = r->srv;
	r->headers = calloc(S3_HEADERS_MAX, sizeof(*r->headers));
	r->query = calloc(S3_QUERY_MAX, sizeof(*r->query));
	r->path = strdup(url);
	if (r->headers == NULL || r->query == NULL || r->path == NULL)
		return MHD_NO;
	MHD_get_connection_values(r->c, MHD_HEADER_KIND, collect_header, r);
	struct query_ctx q = {r, false};
	MHD_get_connection_values(r->c, MHD_GET_ARGUMENT_KIND, collect_arg, &q);
	if (q.bad)
		return s3_reply_fail(r, "InvalidArgument", "The query string is malformed");
	if (!locate(r, &res))
		return res;
	r->op = &OPS[classify(r)];
	struct sigv4_input in = {r->method, r->path, r->query, r->nquery, header_cb, r,
				 (int64_t)time(NULL)};
	struct s3_fail f = {0};
	if (sigv4_authenticate(&in, s->creds, &r->auth, &f) != PP_OK)
		return s3_reply_error(r, &f);
	if (r->op->write && r->auth.access < S3_ACCESS_WRITE)
		return s3_reply_fail(r, "AccessDenied", "This access key may only read");
	if (r->op->body == S3_BODY_XML &&
	    s3_body_for(r, xml_sink, r, false, &f) != PP_OK)
		return s3_reply_error(r, &f);
	return r->op->start ? r->op->start(r) : MHD_YES;
}

static enum MHD_Result body_call(struct s3_req *r, const char *data, size_t *size)
{
	size_t n = *size;
	*size = 0;
	r->bytes_in += n;
	metrics_add_bytes_in(r->srv->gw->metrics, n);
	if (s3_failed(&r->fail)) {
		bool sized = s3_header(r, "content-length") != NULL;
		return (!sized && r->bytes_in > r->fail_at + S3_DRAIN_UNSIZED_MAX) ? MHD_NO : MHD_YES;
	}
	if (r->body == NULL)
		return MHD_YES; /* an operation without a body: ignore it */
	if (s3_body_feed(r->body, (const uint8_t *)data, n, &r->fail) != PP_OK) {
		r->fail_at = r->bytes_in;
		if (r->up != NULL) { /* nothing of it may commit */
			pp_upload_abort(r->up);
			r->up = NULL;
		}
	}
	return MHD_YES;
}

static enum MHD_Result last_call(struct s3_req *r)
{
	if (s3_failed(&r->fail))
		return s3_reply_error(r, &r->fail);
	if (r->body != NULL && s3_body_finish(r->body, &r->fail) != PP_OK)
		return s3_reply_error(r, &r->fail);
	return r->op->finish ? r->op->finish(r) : s3_reply_fail(r, "InternalError", NULL);
}

static enum MHD_Result s3_handle(void *cls, struct MHD_Connection *c, const char *url,
				 const char *method, const char *version, const char *upload_data,
				 size_t *upload_data_size, void **con_cls)
{
	(void)version;
	struct s3_req *r = *con_cls;
	if (r == NULL) {
		struct s3_server *s = cls;
		r = calloc(1, sizeof(*r));
		if (r == NULL)
			return MHD_NO;
		*con_cls = r;
		r->srv = s;
		r->c = c;
		r->start_us = gw_mono_us();
		s3_meta_init(&r->meta);
		header_guard_headers_done(s->guard, c);
		snprintf(r->method, sizeof(r->method), "%s", method);
		request_id(s, r->id, sizeof(r->id));
		return first_call(r, url);
	}
	if (r->handled) { /* answered already: discard any body */
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size > 0)
		return body_call(r, upload_data, upload_data_size);
	if (r->op == NULL || r->op->body == S3_BODY_NONE)
		return MHD_NO; /* cannot happen: answered on the first call */
	return last_call(r);
}

static void s3_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct s3_server *s = cls;
	struct s3_req *r = *con_cls;
	header_guard_request_done(s->guard, c);
	if (r == NULL)
		return;
	*con_cls = NULL;
	if (r->up != NULL) {
		log_warn("s3_upload_aborted", "request_id=%s name=%s bytes=%" PRIu64 " reason=%d", r->id,
			 log_q(r->name ? r->name : ""), r->bytes_in, (int)toe);
		pp_upload_abort(r->up);
	}
	unsigned status = r->status ? r->status : 499;
	metrics_count_request(s->gw->metrics, ROUTE_S3, r->method, status,
			      (double)(gw_mono_us() - r->start_us) / 1e6);
	char path[GW_PATH_LOG_MAX];
	copy_for_log(path, sizeof(path), r->path ? r->path : "");
	log_info("s3_request", "method=%s path=%s op=%s status=%u key=%s bytes_in=%" PRIu64
		 " bytes_out=%" PRIu64 " ms=%.1f request_id=%s complete=%s",
		 log_q(r->method), log_q(path), r->op ? r->op->name : "-", status,
		 log_q(r->auth.anonymous ? "-" : (r->auth.access_key[0] ? r->auth.access_key : "-")),
		 r->bytes_in, r->bytes_out, (double)(gw_mono_us() - r->start_us) / 1000.0, r->id,
		 toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "yes" : "no");
	s3_body_free(r->body);
	free(r->xml);
	s3_meta_clear(&r->meta);
	for (size_t i = 0; i < r->nheaders; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	for (size_t i = 0; i < r->nquery; i++) {
		free(r->query[i].name);
		free(r->query[i].value);
	}
	for (size_t i = 0; i < r->nscratch; i++)
		free(r->scratch[i]);
	free(r->scratch);
	free(r->headers);
	free(r->query);
	free(r->path);
	free(r->key);
	free(r->name);
	free(r->part_name);
	free(r);
}

/* ---- start and stop --------------------------------------------------- */

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	size_t n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	log_warn("s3_mhd", "detail=%s", log_q(msg));
}

int s3_server_start(struct gateway *gw, const struct s3_config *cfg, struct s3_server **out)
{
	struct s3_server *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return PP_EINTERNAL;
	s->gw = gw;
	xmlInitParser();
	uint8_t rnd[4];
	auth_random(rnd, sizeof(rnd));
	snprintf(s->instance, sizeof(s->instance), "%02X%02X%02X%02X", rnd[0], rnd[1], rnd[2], rnd[3]);
	if (cfg->credentials != NULL) {
		char why[300];
		if (s3_creds_load(cfg->credentials, &s->creds, why, sizeof(why)) != PP_OK) {
			fprintf(stderr, "pp-gateway: --s3-credentials: %s\n", why);
			goto fail;
		}
	}
	if (cfg->domain != NULL && cfg->domain[0] != '\0' && (s->domain = strdup(cfg->domain)) == NULL)
		goto fail;
	if (header_guard_start(S3_CONNECTION_LIMIT, S3_HEADER_DEADLINE_S, &s->guard) != PP_OK)
		goto fail;
	/* A thread per connection: operations block on the cluster (and on
	 * hashing a multipart upload's parts) without stalling anyone else. */
	s->d = MHD_start_daemon(
		MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0,
		NULL, NULL, s3_handle, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)cfg->addr, MHD_OPTION_CONNECTION_LIMIT,
		(unsigned)S3_CONNECTION_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned)S3_CONNECTION_TIMEOUT_S, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		(size_t)S3_CONNECTION_MEMORY, MHD_OPTION_NOTIFY_COMPLETED, s3_completed, s,
		MHD_OPTION_NOTIFY_CONNECTION, header_guard_notify, s->guard,
		MHD_OPTION_UNESCAPE_CALLBACK, routes_no_unescape, NULL, MHD_OPTION_END);
	if (s->d == NULL) {
		fprintf(stderr, "pp-gateway: cannot listen on --s3 %s\n", cfg->listen);
		log_error("listen_failed", "s3=%s", log_q(cfg->listen));
		goto fail;
	}
	if (s->creds == NULL)
		log_warn("s3_open", "s3=%s detail=%s", log_q(cfg->listen),
			 log_q("no --s3-credentials: the S3 endpoint accepts any request, signed or not"));
	else
		log_info("s3_credentials_loaded", "count=%zu", s3_creds_count(s->creds));
	log_info("s3_started", "s3=%s domain=%s auth=%s", log_q(cfg->listen), log_q(s->domain ? s->domain : "-"),
		 s->creds ? "sigv4" : "open");
	*out = s;
	return PP_OK;
fail:
	s3_server_stop(s);
	return PP_EINVAL;
}

void s3_server_stop(struct s3_server *s)
{
	if (s == NULL)
		return;
	if (s->d != NULL)
		MHD_stop_daemon(s->d);
	header_guard_stop(s->guard);
	s3_creds_free(s->creds);
	free(s->domain);
	free(s);
}
