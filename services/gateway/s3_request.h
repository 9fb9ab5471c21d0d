/* What the S3 endpoint's files share: the server, one request's state and
 * the replies (s3_reply.c). Not for the REST side.
 *
 * The S3 daemon runs a thread per connection, so a request's callbacks all
 * run on one thread and may block (tracker calls, streaming to workers,
 * hashing the parts of a multipart upload) without holding up any other
 * connection. A struct s3_req is allocated on the first callback and freed
 * in the completion callback, which also aborts an upload that never
 * committed: nothing becomes visible unless an operation committed it. */
#ifndef PP_GATEWAY_S3_REQUEST_H
#define PP_GATEWAY_S3_REQUEST_H

#include "gateway.h"
#include "s3_chunked.h"
#include "s3_errors.h"
#include "s3_rpc.h"
#include "s3_sigv4.h"

#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>

struct header_guard;
struct s3_body;
struct s3_creds;
struct s3x;

#define S3_OWNER_ID "7065657270726573737572650000000000000000000000000000000000000000"
#define S3_OWNER_NAME "peerpressure" /* one owner: every credential acts for the cluster */
#define S3_OBJECT_MAX (5ull << 30)         /* single PutObject / UploadPart, as S3 */
#define S3_DRAIN_UNSIZED_MAX (16u << 20)   /* body read past a failure without a length */

struct s3_server {
	struct gateway *gw;          /* not owned */
	struct MHD_Daemon *d;        /* owned */
	struct header_guard *guard;  /* owned */
	struct s3_creds *creds;      /* owned; NULL = open endpoint */
	char *domain;                /* owned; NULL = path-style only */
	uint64_t next_request;       /* request ids (atomic) */
	char instance[9];            /* random, so ids differ across restarts */
};

enum s3_body_kind { S3_BODY_NONE, S3_BODY_XML, S3_BODY_STREAM };

struct s3_req;
typedef enum MHD_Result (*s3_handler)(struct s3_req *r);

struct s3_op {
	const char *name;    /* S3's operation name, for logs */
	bool write;          /* needs a write credential */
	bool needs_bucket;
	bool needs_key;
	enum s3_body_kind body;
	s3_handler start;    /* headers arrived (every op) */
	s3_handler finish;   /* body arrived (S3_BODY_XML, S3_BODY_STREAM) */
};

struct s3_header {
	char *name; /* lowercase, owned */
	char *value; /* owned */
};

struct s3_req {
	struct s3_server *srv;
	struct MHD_Connection *c;
	const struct s3_op *op;
	char method[12];
	char *path;            /* as sent, owned */
	char id[24];           /* x-amz-request-id */
	int64_t start_us;
	unsigned status;       /* 0 until a response is queued */
	bool handled;
	uint64_t bytes_in, bytes_out;
	char bucket[S3_BUCKET_MAX + 1]; /* "" when the request names none */
	char *key;             /* decoded, owned; NULL when none */
	char *name;            /* "bucket/key", owned */
	struct s3_kv *query;   /* decoded, owned */
	size_t nquery;
	struct s3_header *headers; /* owned */
	size_t nheaders;
	char **scratch;        /* joined header values, owned */
	size_t nscratch;
	struct sigv4_auth auth;
	struct s3_fail fail;   /* the first failure of a body */
	uint64_t fail_at;      /* bytes_in when it happened */
	/* body */
	struct s3_body *body;  /* owned */
	char *xml;             /* S3_BODY_XML: the body, owned */
	size_t xml_len;
	/* object uploads (PutObject, UploadPart) */
	pp_upload *up;         /* open until committed or aborted */
	struct s3_meta meta;   /* what the upload commits with */
	char *part_name;       /* UploadPart: the part's file name, owned */
	unsigned part_number;
};

/* Request lookups (s3_server.c). */
const char *s3_header(struct s3_req *r, const char *name); /* lowercase name; NULL if absent */
const char *s3_query(const struct s3_req *r, const char *name); /* NULL if absent */
bool s3_query_has(const struct s3_req *r, const char *name);

/* Replies (s3_reply.c): each queues a response, records the status and
 * returns the result to hand back to MHD. */
enum MHD_Result s3_reply(struct s3_req *r, unsigned status, struct MHD_Response *resp);
enum MHD_Result s3_reply_error(struct s3_req *r, const struct s3_fail *f);
enum MHD_Result s3_reply_fail(struct s3_req *r, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
enum MHD_Result s3_reply_pp(struct s3_req *r, const struct pp_error *e, const char *not_found);
enum MHD_Result s3_reply_xml(struct s3_req *r, unsigned status, struct s3x *x);
enum MHD_Result s3_reply_empty(struct s3_req *r, unsigned status);
/* Adds x-amz-request-id and the other headers every S3 response has. */
void s3_common_headers(struct s3_req *r, struct MHD_Response *resp);
/* "Wed, 12 Oct 2009 17:50:00 GMT" and "2009-10-12T17:50:00.000Z". */
void s3_http_date(int64_t unix_ms, char *buf, size_t len);
void s3_iso_date(int64_t unix_ms, char *buf, size_t len);
/* An HTTP date (RFC 1123, RFC 850 or asctime) in unix seconds; -1 if not one. */
int64_t s3_http_date_parse(const char *s);
/* The quoted ETag of a file: its MD5 (or "MD5-N"), or for a file stored
 * without S3 metadata the first half of its SHA-256 with "-1", which no
 * client mistakes for an MD5. */
void s3_etag(const char *md5_etag, const char *sha256, char *out, size_t len);

/* <element><ID/><DisplayName/></element> of the one owner, and the fixed
 * ACL (owner, FULL_CONTROL) answered for buckets and objects (s3_get.c). */
void s3_owner(struct s3x *x, const char *element);
enum MHD_Result s3_acl_reply(struct s3_req *r);

/* Operations (one file per family). */
enum MHD_Result s3_list_buckets(struct s3_req *r);
enum MHD_Result s3_create_bucket(struct s3_req *r);
enum MHD_Result s3_head_bucket(struct s3_req *r);
enum MHD_Result s3_delete_bucket(struct s3_req *r);
enum MHD_Result s3_bucket_location(struct s3_req *r);
enum MHD_Result s3_bucket_versioning(struct s3_req *r);
enum MHD_Result s3_bucket_acl(struct s3_req *r);
enum MHD_Result s3_bucket_unset_config(struct s3_req *r);
enum MHD_Result s3_list_objects(struct s3_req *r);
enum MHD_Result s3_delete_objects(struct s3_req *r);
enum MHD_Result s3_list_uploads(struct s3_req *r);
enum MHD_Result s3_get_object(struct s3_req *r);
enum MHD_Result s3_object_acl(struct s3_req *r);
enum MHD_Result s3_object_tagging(struct s3_req *r);
enum MHD_Result s3_put_object_start(struct s3_req *r);
enum MHD_Result s3_put_object_finish(struct s3_req *r);
enum MHD_Result s3_copy_object(struct s3_req *r);
enum MHD_Result s3_delete_object(struct s3_req *r);
enum MHD_Result s3_create_upload(struct s3_req *r);
enum MHD_Result s3_upload_part_start(struct s3_req *r);
enum MHD_Result s3_upload_part_finish(struct s3_req *r);
enum MHD_Result s3_upload_part_copy(struct s3_req *r);
enum MHD_Result s3_complete_upload(struct s3_req *r);
enum MHD_Result s3_abort_upload(struct s3_req *r);
enum MHD_Result s3_list_parts(struct s3_req *r);

/* Shared by PutObject, CopyObject and CreateMultipartUpload (s3_put.c):
 * Content-Type, Content-Disposition, Cache-Control, Content-Encoding,
 * Content-Language, Expires and x-amz-meta-* into m; fills f on refusal. */
int s3_meta_from_headers(struct s3_req *r, struct s3_meta *m, struct s3_fail *f);
/* x-amz-copy-source ("[/]bucket/key[?versionId=...]", percent-encoded) as a
 * file name (s3_put.c). */
int s3_copy_source(struct s3_req *r, char **name, struct s3_fail *f);
/* x-amz-copy-source-if-* against the source; false with f set if one fails. */
bool s3_copy_preconditions(struct s3_req *r, const struct s3_object *src, struct s3_fail *f);
/* Sets up r->body from r's headers (s3_server.c): decoded bytes go to sink;
 * object bodies are MD5-hashed and bounded by S3's 5 GiB (and --max-upload). */
int s3_body_for(struct s3_req *r, s3_sink_fn sink, void *arg, bool object, struct s3_fail *fail);
/* Opens an upload of `name` (size hint from the headers) and a body that
 * streams into it; replies itself and returns false on failure (s3_put.c). */
bool s3_stream_start(struct s3_req *r, const char *name, enum MHD_Result *res);

#endif
