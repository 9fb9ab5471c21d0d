/* CompleteMultipartUpload (DESIGN.md, "S3 API").
 *
 * Completing moves no data: the tracker joins the parts' chunk lists. The
 * one thing it cannot know is the object's SHA-256 (a file's checksum, which
 * every whole download verifies), and SHA-256 does not compose, so the
 * gateway reads the parts once, in order, to hash them; a single part has
 * its SHA-256 already. For large objects that takes long enough for a
 * client to time out, so, as S3 does, the answer starts at once (200, the
 * XML declaration) and whitespace keeps the connection alive while the
 * parts are hashed; the result, or an <Error>, ends the body. */
#define _GNU_SOURCE
#include "s3_request.h"
#include "s3_xml.h"

#include "errors.h"
#include "hash.h"
#include "log.h"
#include "metrics.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HASH_READ_BYTES (1u << 20)
#define PART_MIN_BYTES (5ull << 20)
#define PARTS_PAGE 1000
#define KEEPALIVE_MIN_BYTES (64ull << 20) /* smaller objects are answered when done */
#define KEEPALIVE_EVERY_MS 1000
#define XML_DECLARATION "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"

/* Every stored part, in number order. */
static int all_parts(struct s3_req *r, const char *id, struct s3_parts *all, struct pp_error *err)
{
	memset(all, 0, sizeof(*all));
	unsigned after = 0;
	for (;;) {
		struct s3_parts page;
		int rc = s3_rpc_mpu_parts(r->srv->gw->client, id, after, PARTS_PAGE, &page, err);
		if (rc == PP_OK && all->n + page.n > S3_PART_MAX)
			rc = PP_EINTERNAL;
		struct s3_part *g = rc == PP_OK ? realloc(all->parts, (all->n + page.n + 1) * sizeof(*g)) : NULL;
		if (g == NULL) {
			s3_parts_clear(&page);
			return rc == PP_OK ? PP_EINTERNAL : rc;
		}
		all->parts = g;
		memcpy(all->parts + all->n, page.parts, page.n * sizeof(*g));
		all->n += page.n;
		bool more = page.truncated && page.n > 0;
		if (page.n > 0)
			after = page.parts[page.n - 1].number;
		if (all->upload.id[0] == '\0') {
			all->upload = page.upload;
			s3_meta_init(&page.upload.meta); /* moved */
		}
		s3_parts_clear(&page);
		if (!more)
			return PP_OK;
	}
}

/* The client's list against the stored parts; fills use[] in order. */
static bool match(struct s3_req *r, const struct s3_complete_req *c, const struct s3_parts *all,
		  struct s3_part *use, uint64_t *size, enum MHD_Result *res)
{
	size_t j = 0;
	*size = 0;
	for (size_t i = 0; i < c->n; i++) {
		if (i > 0 && c->parts[i].number <= c->parts[i - 1].number) {
			*res = s3_reply_fail(r, "InvalidPartOrder", NULL);
			return false;
		}
		while (j < all->n && all->parts[j].number < c->parts[i].number)
			j++;
		if (j == all->n || all->parts[j].number != c->parts[i].number ||
		    strcmp(all->parts[j].etag, c->parts[i].etag) != 0) {
			*res = s3_reply_fail(r, "InvalidPart", "Part %u was not uploaded with ETag \"%s\"",
					     c->parts[i].number, c->parts[i].etag);
			return false;
		}
		if (i + 1 < c->n && all->parts[j].size < PART_MIN_BYTES) {
			*res = s3_reply_fail(r, "EntityTooSmall", "Part %u has %" PRIu64 " bytes; every part but the last needs 5 MiB",
					     c->parts[i].number, all->parts[j].size);
			return false;
		}
		use[i] = all->parts[j];
		*size += all->parts[j].size;
	}
	return true;
}

/* ---- hashing the parts, a slice at a time ---- */

struct hasher {
	pp_client *c;
	char id[S3_UPLOAD_ID_LEN + 1];
	struct s3_part *use; /* owned */
	size_t n, next;      /* parts, and the next to open */
	pp_download *d;      /* the part being read, owned */
	struct sha256_stream *h;
	uint8_t *buf;
	bool done;
};

static void hasher_free(struct hasher *x)
{
	pp_download_close(x->d);
	sha256_stream_free(x->h);
	free(x->buf);
	free(x->use);
}

/* Hashes for about budget_ms (forever if < 0); x->done at the end. */
static int hasher_step(struct hasher *x, int64_t budget_ms, struct pp_error *err)
{
	int64_t until = gw_mono_us() + budget_ms * 1000;
	if (x->n == 1) { /* a single part has its SHA-256 already */
		x->done = true;
		return PP_OK;
	}
	if (x->buf == NULL && ((x->buf = malloc(HASH_READ_BYTES)) == NULL || sha256_stream_new(&x->h) != PP_OK)) {
		err->code = PP_EINTERNAL;
		snprintf(err->message, sizeof(err->message), "out of memory");
		return PP_EINTERNAL;
	}
	while (!x->done && (budget_ms < 0 || gw_mono_us() < until)) {
		if (x->d == NULL) {
			if (x->next == x->n) {
				x->done = true;
				break;
			}
			char name[S3_PART_NAME_MAX];
			struct pp_file f;
			const struct s3_part *p = &x->use[x->next++];
			s3_part_name(x->id, p->number, name, sizeof(name));
			int rc = pp_download_open(x->c, name, 0, 0, &x->d, &f, err);
			if (rc == PP_OK && strcmp(f.sha256, p->sha256) != 0) {
				err->code = rc = PP_EINVAL;
				snprintf(err->message, sizeof(err->message), "InvalidPart: part %u changed", p->number);
			}
			if (rc != PP_OK)
				return rc;
		}
		size_t got = 0;
		int rc = pp_download_read(x->d, x->buf, HASH_READ_BYTES, &got, err);
		if (rc != PP_OK)
			return rc;
		if (got == 0) {
			pp_download_close(x->d);
			x->d = NULL;
			continue;
		}
		sha256_stream_update(x->h, x->buf, got);
	}
	return PP_OK;
}

static void hasher_result(struct hasher *x, char sha[65])
{
	if (x->n == 1)
		snprintf(sha, 65, "%s", x->use[0].sha256);
	else
		sha256_stream_final_hex(x->h, sha);
}

/* ---- the answer ---- */

/* <CompleteMultipartUploadResult> (decl: with the XML declaration). */
static char *result_xml(struct s3_req *r, const struct s3_object *o, bool decl, size_t *len)
{
	const char *host = s3_header(r, "host");
	char etag[96];
	s3_etag(o->meta.m.etag, o->file.sha256, etag, sizeof(etag));
	struct s3x *x = s3x_begin("CompleteMultipartUploadResult", true);
	if (x == NULL)
		return NULL;
	s3x_textf(x, "Location", "http://%s%s", host ? host : "localhost", r->path);
	s3x_text(x, "Bucket", r->bucket);
	s3x_text(x, "Key", r->key);
	s3x_text(x, "ETag", etag);
	char *doc = s3x_finish(x, len);
	if (doc != NULL && !decl && strncmp(doc, "<?xml", 5) == 0) {
		char *root = strchr(doc, '>') + 1;
		while (*root == '\n')
			root++;
		*len -= (size_t)(root - doc);
		memmove(doc, root, *len + 1);
	}
	return doc;
}

static int finish(struct s3_req *r, struct hasher *x, uint64_t size, struct s3_object *o,
		  struct pp_error *err)
{
	char sha[65];
	hasher_result(x, sha);
	int rc = s3_rpc_mpu_complete(r->srv->gw->client, x->id, x->use, x->n, sha, size, o, err);
	if (rc == PP_OK)
		log_info("s3_upload_completed", "name=%s parts=%zu size=%" PRIu64 " etag=%s", log_q(r->name), x->n,
			 size, o->meta.m.etag);
	return rc;
}

/* The streamed answer: declaration, whitespace while hashing, result. */
struct keepalive {
	struct s3_req *r; /* valid while MHD calls the reader */
	struct hasher x;
	uint64_t size;
	int stage;  /* 0 declaration, 1 hashing, 2 sending out */
	char *out;  /* the final element, owned */
	size_t out_len, out_sent;
};

static ssize_t keepalive_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)pos;
	struct keepalive *k = cls;
	if (k->stage == 0) {
		size_t n = strlen(XML_DECLARATION);
		if (max < n)
			return 0;
		memcpy(buf, XML_DECLARATION, n);
		k->stage = 1;
		return (ssize_t)n;
	}
	if (k->stage == 1) {
		struct pp_error err = {0};
		int rc = hasher_step(&k->x, KEEPALIVE_EVERY_MS, &err);
		if (rc == PP_OK && !k->x.done)
			return max > 0 ? (buf[0] = ' ', 1) : 0;
		struct s3_object o;
		s3_meta_init(&o.meta);
		if (rc == PP_OK)
			rc = finish(k->r, &k->x, k->size, &o, &err);
		if (rc == PP_OK) {
			k->out = result_xml(k->r, &o, false, &k->out_len);
		} else { /* an error in a 200 answer, as S3 sends it */
			struct s3_fail f = {0};
			s3_fail_from_pp(&f, rc, "NoSuchUpload", err.message);
			struct s3x *e = s3x_begin("Error", false);
			if (e != NULL) {
				s3x_text(e, "Code", f.code);
				s3x_text(e, "Message", f.message);
				s3x_text(e, "RequestId", k->r->id);
			}
			k->out = e ? s3x_finish(e, &k->out_len) : NULL;
			if (k->out != NULL && strncmp(k->out, "<?xml", 5) == 0) {
				char *root = strchr(k->out, '>') + 1;
				k->out_len -= (size_t)(root - k->out);
				memmove(k->out, root, k->out_len + 1);
			}
			log_warn("s3_complete_failed", "request_id=%s name=%s code=%s detail=%s", k->r->id,
				 log_q(k->r->name), f.code, log_q(f.message));
		}
		s3_object_clear(&o);
		k->stage = 2;
		if (k->out == NULL)
			return MHD_CONTENT_READER_END_WITH_ERROR;
	}
	if (k->out_sent == k->out_len)
		return MHD_CONTENT_READER_END_OF_STREAM;
	size_t n = k->out_len - k->out_sent < max ? k->out_len - k->out_sent : max;
	memcpy(buf, k->out + k->out_sent, n);
	k->out_sent += n;
	k->r->bytes_out += n;
	return (ssize_t)n;
}

static void keepalive_free(void *cls)
{
	struct keepalive *k = cls;
	hasher_free(&k->x);
	free(k->out);
	free(k);
}

/* A completion the client retries after it succeeded: the tracker answers
 * with the object if it is still the one those parts made. */
static enum MHD_Result retried(struct s3_req *r, const char *id, const struct s3_complete_req *c,
			       const struct pp_error *first)
{
	struct s3_part *p = calloc(c->n, sizeof(*p));
	struct s3_object o;
	struct pp_error err = {0};
	s3_meta_init(&o.meta);
	enum MHD_Result res;
	for (size_t i = 0; p && i < c->n; i++) {
		p[i].number = c->parts[i].number;
		snprintf(p[i].etag, sizeof(p[i].etag), "%s", c->parts[i].etag);
	}
	if (p != NULL && s3_rpc_mpu_complete(r->srv->gw->client, id, p, c->n, "", 0, &o, &err) == PP_OK) {
		size_t len = 0;
		char *doc = result_xml(r, &o, true, &len);
		struct MHD_Response *resp =
			doc ? MHD_create_response_from_buffer(len, doc, MHD_RESPMEM_MUST_FREE) : NULL;
		if (resp != NULL)
			MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/xml");
		else
			free(doc);
		res = resp ? s3_reply(r, MHD_HTTP_OK, resp) : MHD_NO;
	} else {
		res = s3_reply_pp(r, first, "NoSuchUpload");
	}
	free(p);
	s3_object_clear(&o);
	return res;
}

enum MHD_Result s3_complete_upload(struct s3_req *r)
{
	enum MHD_Result res;
	struct s3_complete_req c;
	struct s3_parts all;
	struct pp_error err = {0};
	struct hasher x = {.c = r->srv->gw->client};
	memset(&all, 0, sizeof(all));
	if (!s3_xml_parse_complete(r->xml ? r->xml : "", r->xml_len, &c))
		return s3_reply_fail(r, "MalformedXML", NULL);
	for (size_t i = 0; i < c.n; i++)
		for (char *e = c.parts[i].etag; *e; e++)
			*e = (char)tolower((unsigned char)*e);
	const char *id = s3_query(r, "uploadId");
	if (id == NULL || !s3_upload_id_valid(id)) {
		res = s3_reply_fail(r, "NoSuchUpload", NULL);
		goto out;
	}
	snprintf(x.id, sizeof(x.id), "%s", id);
	int rc = all_parts(r, id, &all, &err);
	if (rc == PP_ENOTFOUND) {
		res = retried(r, id, &c, &err);
		goto out;
	}
	if (rc != PP_OK) {
		res = s3_reply_pp(r, &err, "NoSuchUpload");
		goto out;
	}
	if (strcmp(all.upload.bucket, r->bucket) != 0 || strcmp(all.upload.key, r->key) != 0) {
		res = s3_reply_fail(r, "NoSuchUpload", "The upload belongs to another key");
		goto out;
	}
	uint64_t size = 0;
	x.n = c.n;
	if ((x.use = calloc(c.n, sizeof(*x.use))) == NULL) {
		res = s3_reply_fail(r, "InternalError", NULL);
		goto out;
	}
	if (!match(r, &c, &all, x.use, &size, &res))
		goto out;
	if (c.n > 1 && size >= KEEPALIVE_MIN_BYTES) {
		struct keepalive *k = calloc(1, sizeof(*k));
		struct MHD_Response *resp = k ? MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096,
										  keepalive_read, k, keepalive_free)
					      : NULL;
		if (resp == NULL) {
			free(k);
			res = s3_reply_fail(r, "InternalError", NULL);
			goto out;
		}
		k->r = r;
		k->x = x;
		k->size = size;
		memset(&x, 0, sizeof(x)); /* the response owns it now */
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/xml");
		res = s3_reply(r, MHD_HTTP_OK, resp);
		goto out;
	}
	struct s3_object o;
	s3_meta_init(&o.meta);
	if (hasher_step(&x, -1, &err) != PP_OK || finish(r, &x, size, &o, &err) != PP_OK) {
		res = s3_reply_pp(r, &err, "NoSuchUpload");
	} else {
		size_t len = 0;
		char *doc = result_xml(r, &o, true, &len);
		struct MHD_Response *resp =
			doc ? MHD_create_response_from_buffer(len, doc, MHD_RESPMEM_MUST_FREE) : NULL;
		if (resp != NULL)
			MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/xml");
		else
			free(doc);
		res = resp ? s3_reply(r, MHD_HTTP_OK, resp) : MHD_NO;
	}
	s3_object_clear(&o);
out:
	hasher_free(&x);
	s3_parts_clear(&all);
	s3_complete_req_free(&c);
	return res;
}
