/* S3 RPCs from the gateway to the tracker; see s3_rpc.h.
 *
 * Requests and responses are heap-allocated (the nanopb structs hold every
 * body of the oneof). Repeated fields decode through callbacks into growable
 * arrays, each bounded so a bad reply cannot make the gateway allocate
 * without limit. */
#define _GNU_SOURCE
#include "s3_rpc.h"
#include "errors.h"
#include "ppclient_ext.h"

#include <pb_decode.h>
#include <pb_encode.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_ITEMS_MAX 20000
#define PARTS_MAX S3_PART_MAX

static void copy(char *dst, size_t cap, const char *src) { snprintf(dst, cap, "%s", src ? src : ""); }

/* Room for one more element of a growable array. */
static void *grow(void **items, size_t *n, size_t *cap, size_t elem, size_t limit)
{
	if (*n >= limit)
		return NULL;
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 16;
		void *g = realloc(*items, c * elem);
		if (g == NULL)
			return NULL;
		*items = g;
		*cap = c;
	}
	void *slot = (char *)*items + (*n)++ * elem;
	memset(slot, 0, elem);
	return slot;
}

/* ---- metadata ---- */

void s3_meta_init(struct s3_meta *m)
{
	memset(m, 0, sizeof(*m));
	m->m = (pp_v1_FileMeta)pp_v1_FileMeta_init_zero;
}

void s3_meta_clear(struct s3_meta *m)
{
	for (size_t i = 0; i < m->n_user; i++) {
		free(m->user[i].name);
		free(m->user[i].value);
	}
	free(m->user);
	s3_meta_init(m);
}

int s3_meta_add_user(struct s3_meta *m, const char *name, const char *value)
{
	struct s3_pair *p = grow((void **)&m->user, &m->n_user, &m->cap_user, sizeof(*p),
				 S3_USER_META_MAX_COUNT);
	if (p == NULL)
		return PP_ETOOLARGE;
	p->name = strdup(name);
	p->value = strdup(value);
	return p->name && p->value ? PP_OK : PP_EINTERNAL;
}

static bool encode_user(pb_ostream_t *s, const pb_field_t *f, void *const *arg)
{
	const struct s3_meta *m = *arg;
	for (size_t i = 0; i < m->n_user; i++) {
		pp_v1_MetaPair p = pp_v1_MetaPair_init_zero;
		copy(p.name, sizeof(p.name), m->user[i].name);
		copy(p.value, sizeof(p.value), m->user[i].value);
		if (!pb_encode_tag_for_field(s, f) || !pb_encode_submessage(s, pp_v1_MetaPair_fields, &p))
			return false;
	}
	return true;
}

void s3_meta_bind_encode(struct s3_meta *m)
{
	m->m.user.funcs.encode = encode_user;
	m->m.user.arg = m;
}

static bool decode_user(pb_istream_t *s, const pb_field_t *f, void **arg)
{
	(void)f;
	struct s3_meta *m = *arg;
	pp_v1_MetaPair p = pp_v1_MetaPair_init_zero;
	if (!pb_decode(s, pp_v1_MetaPair_fields, &p))
		return false;
	if (s3_meta_add_user(m, p.name, p.value) != PP_OK)
		PB_RETURN_ERROR(s, "too much user metadata");
	return true;
}

/* Prepares pb (inside a response) to decode into dst. */
static void bind_decode(pp_v1_FileMeta *pb, struct s3_meta *dst)
{
	pb->user.funcs.decode = decode_user;
	pb->user.arg = dst;
}

/* After decoding: copies the fixed fields next to the pairs. */
static void take_meta(struct s3_meta *dst, const pp_v1_FileMeta *pb, bool present)
{
	pb_callback_t keep = dst->m.user;
	dst->m = *pb;
	dst->m.user = keep;
	dst->present = present;
}

void s3_object_clear(struct s3_object *o) { s3_meta_clear(&o->meta); }

/* ---- call plumbing ---- */

struct call {
	pp_v1_Request *req;
	pp_v1_Response *resp;
};

static int call_new(struct call *c, struct pp_error *err)
{
	c->req = calloc(1, sizeof(*c->req));
	c->resp = calloc(1, sizeof(*c->resp));
	if (c->req == NULL || c->resp == NULL) {
		free(c->req);
		free(c->resp);
		err->code = PP_EINTERNAL;
		snprintf(err->message, sizeof(err->message), "out of memory");
		return PP_EINTERNAL;
	}
	return PP_OK;
}

static void call_free(struct call *c)
{
	free(c->req);
	free(c->resp);
}

static int object_reply(const pp_v1_Response *resp, struct s3_object *out, struct pp_error *err)
{
	if (!resp->has_object || !resp->object.has_file) {
		err->code = PP_EINTERNAL;
		snprintf(err->message, sizeof(err->message), "tracker reply without an object");
		return PP_EINTERNAL;
	}
	pp_file_from_wire(&resp->object.file, &out->file);
	take_meta(&out->meta, &resp->object.meta, resp->object.has_meta);
	return PP_OK;
}

int s3_rpc_head(pp_client *c, const char *name, const char *bucket, struct s3_object *out,
		struct pp_error *err)
{
	struct call k;
	s3_meta_init(&out->meta);
	int rc = call_new(&k, err);
	if (rc != PP_OK)
		return rc;
	k.req->has_object_head = true;
	copy(k.req->object_head.name, sizeof(k.req->object_head.name), name);
	copy(k.req->object_head.bucket, sizeof(k.req->object_head.bucket), bucket);
	bind_decode(&k.resp->object.meta, &out->meta);
	rc = pp_meta_call(c, k.req, k.resp, err);
	if (rc == PP_OK)
		rc = object_reply(k.resp, out, err);
	call_free(&k);
	return rc;
}

int s3_rpc_copy(pp_client *c, const char *source, const char *dest, struct s3_meta *meta,
		const char *bucket, const char *src_sha256, struct s3_object *out,
		struct pp_error *err)
{
	struct call k;
	s3_meta_init(&out->meta);
	int rc = call_new(&k, err);
	if (rc != PP_OK)
		return rc;
	pp_v1_ObjectCopyRequest *q = &k.req->object_copy;
	k.req->has_object_copy = true;
	copy(q->source, sizeof(q->source), source);
	copy(q->dest, sizeof(q->dest), dest);
	copy(q->bucket, sizeof(q->bucket), bucket);
	copy(q->source_sha256, sizeof(q->source_sha256), src_sha256);
	if (meta != NULL) {
		s3_meta_bind_encode(meta);
		q->has_meta = true;
		q->meta = meta->m;
	}
	bind_decode(&k.resp->object.meta, &out->meta);
	rc = pp_meta_call(c, k.req, k.resp, err);
	if (rc == PP_OK)
		rc = object_reply(k.resp, out, err);
	call_free(&k);
	return rc;
}

/* ---- buckets ---- */

static bool decode_bucket(pb_istream_t *s, const pb_field_t *f, void **arg)
{
	(void)f;
	struct s3_buckets *b = *arg;
	pp_v1_Bucket x = pp_v1_Bucket_init_zero;
	if (!pb_decode(s, pp_v1_Bucket_fields, &x))
		return false;
	struct s3_bucket *o = grow((void **)&b->items, &b->n, &b->cap, sizeof(*o), LIST_ITEMS_MAX);
	if (o == NULL)
		PB_RETURN_ERROR(s, "too many buckets");
	copy(o->name, sizeof(o->name), x.name);
	o->created_ms = x.created_at_ms;
	return true;
}

int s3_rpc_bucket(pp_client *c, pp_v1_BucketRequest_Op op, const char *name,
		  struct s3_buckets *out, struct pp_error *err)
{
	struct call k;
	int rc = call_new(&k, err);
	if (rc != PP_OK)
		return rc;
	k.req->has_bucket = true;
	k.req->bucket.op = op;
	copy(k.req->bucket.name, sizeof(k.req->bucket.name), name);
	struct s3_buckets ignored = {0};
	k.resp->buckets.buckets.funcs.decode = decode_bucket;
	k.resp->buckets.buckets.arg = out ? out : &ignored;
	rc = pp_meta_call(c, k.req, k.resp, err);
	free(ignored.items);
	call_free(&k);
	return rc;
}

/* ---- listing ---- */

static bool decode_entry(pb_istream_t *s, const pb_field_t *f, void **arg)
{
	(void)f;
	struct s3_listing *l = *arg;
	pp_v1_ObjectEntry *x = calloc(1, sizeof(*x));
	if (x == NULL || !pb_decode(s, pp_v1_ObjectEntry_fields, x)) {
		free(x);
		return false;
	}
	struct s3_entry *e = grow((void **)&l->entries, &l->n, &l->cap, sizeof(*e), LIST_ITEMS_MAX);
	if (e != NULL) {
		copy(e->name, sizeof(e->name), x->name);
		e->size = x->size;
		e->created_ms = x->created_at_ms;
		copy(e->etag, sizeof(e->etag), x->etag);
		copy(e->sha256, sizeof(e->sha256), x->sha256);
		e->replication = x->replication;
		e->version = x->version;
		e->chunk_count = x->chunk_count;
		e->chunk_size = x->chunk_size;
		e->health = (int)x->health;
	}
	free(x);
	if (e == NULL)
		PB_RETURN_ERROR(s, "too many entries");
	return true;
}

struct str_list {
	char ***items;
	size_t *n, *cap;
};

static bool decode_string(pb_istream_t *s, const pb_field_t *f, void **arg)
{
	(void)f;
	struct str_list *sl = *arg;
	size_t len = s->bytes_left;
	if (len > PP_NAME_MAX)
		PB_RETURN_ERROR(s, "string too long");
	char **slot = grow((void **)sl->items, sl->n, sl->cap, sizeof(char *), LIST_ITEMS_MAX);
	char *str = slot ? malloc(len + 1) : NULL;
	if (str == NULL) {
		if (slot)
			(*sl->n)--;
		PB_RETURN_ERROR(s, "too many strings");
	}
	if (!pb_read(s, (pb_byte_t *)str, len)) {
		free(str);
		(*sl->n)--;
		return false;
	}
	str[len] = '\0';
	*slot = str;
	return true;
}

void s3_listing_clear(struct s3_listing *l)
{
	for (size_t i = 0; i < l->np; i++)
		free(l->prefixes[i]);
	free(l->prefixes);
	free(l->entries);
	memset(l, 0, sizeof(*l));
}

int s3_rpc_list(pp_client *c, const char *bucket, const char *prefix, const char *delimiter,
		const char *after, uint32_t max, bool with_health, struct s3_listing *out,
		struct pp_error *err)
{
	struct call k;
	memset(out, 0, sizeof(*out));
	int rc = call_new(&k, err);
	if (rc != PP_OK)
		return rc;
	pp_v1_ObjectListRequest *q = &k.req->object_list;
	k.req->has_object_list = true;
	copy(q->bucket, sizeof(q->bucket), bucket);
	copy(q->prefix, sizeof(q->prefix), prefix);
	copy(q->delimiter, sizeof(q->delimiter), delimiter);
	copy(q->after, sizeof(q->after), after);
	q->max_keys = max;
	q->with_health = with_health;
	struct str_list sl = {&out->prefixes, &out->np, &out->pcap};
	k.resp->object_list.objects.funcs.decode = decode_entry;
	k.resp->object_list.objects.arg = out;
	k.resp->object_list.common_prefixes.funcs.decode = decode_string;
	k.resp->object_list.common_prefixes.arg = &sl;
	rc = pp_meta_call(c, k.req, k.resp, err);
	if (rc == PP_OK) {
		out->truncated = k.resp->object_list.truncated;
		copy(out->next_after, sizeof(out->next_after), k.resp->object_list.next_after);
	}
	call_free(&k);
	return rc;
}

/* ---- multipart ---- */

static void upload_from(struct s3_upload *u, const pp_v1_MultipartUpload *x)
{
	copy(u->id, sizeof(u->id), x->upload_id);
	copy(u->bucket, sizeof(u->bucket), x->bucket);
	copy(u->key, sizeof(u->key), x->key);
	u->created_ms = x->created_at_ms;
	u->replication = x->replication;
	take_meta(&u->meta, &x->meta, x->has_meta);
}

int s3_rpc_mpu_create(pp_client *c, const char *bucket, const char *key, struct s3_meta *meta,
		      char upload_id[S3_UPLOAD_ID_LEN + 1], struct pp_error *err)
{
	struct call k;
	int rc = call_new(&k, err);
	if (rc != PP_OK)
		return rc;
	pp_v1_MultipartCreateRequest *q = &k.req->multipart_create;
	k.req->has_multipart_create = true;
	copy(q->bucket, sizeof(q->bucket), bucket);
	copy(q->key, sizeof(q->key), key);
	s3_meta_bind_encode(meta);
	q->has_meta = true;
	q->meta = meta->m;
	struct s3_meta ignored;
	s3_meta_init(&ignored);
	bind_decode(&k.resp->multipart.meta, &ignored);
	rc = pp_meta_call(c, k.req, k.resp, err);
	if (rc == PP_OK && !s3_upload_id_valid(k.resp->multipart.upload_id)) {
		err->code = rc = PP_EINTERNAL;
		snprintf(err->message, sizeof(err->message), "tracker gave no upload id");
	}
	if (rc == PP_OK)
		copy(upload_id, S3_UPLOAD_ID_LEN + 1, k.resp->multipart.upload_id);
	s3_meta_clear(&ignored);
	call_free(&k);
	return rc;
}

static bool decode_part(pb_istream_t *s, const pb_field_t *f, void **arg)
{
	(void)f;
	struct s3_parts *p = *arg;
	pp_v1_PartInfo x = pp_v1_PartInfo_init_zero;
	if (!pb_decode(s, pp_v1_PartInfo_fields, &x))
		return false;
	struct s3_part *o = grow((void **)&p->parts, &p->n, &p->cap, sizeof(*o), PARTS_MAX);
	if (o == NULL)
		PB_RETURN_ERROR(s, "too many parts");
	o->number = x.number;
	o->size = x.size;
	copy(o->etag, sizeof(o->etag), x.etag);
	o->created_ms = x.created_at_ms;
	copy(o->sha256, sizeof(o->sha256), x.sha256);
	return true;
}

void s3_parts_clear(struct s3_parts *p)
{
	s3_meta_clear(&p->upload.meta);
	free(p->parts);
	memset(p, 0, sizeof(*p));
}

int s3_rpc_mpu_parts(pp_client *c, const char *upload_id, unsigned after, uint32_t max,
		     struct s3_parts *out, struct pp_error *err)
{
	struct call k;
	memset(out, 0, sizeof(*out));
	s3_meta_init(&out->upload.meta);
	int rc = call_new(&k, err);
	if (rc != PP_OK)
		return rc;
	k.req->has_multipart_parts = true;
	copy(k.req->multipart_parts.upload_id, sizeof(k.req->multipart_parts.upload_id), upload_id);
	k.req->multipart_parts.after_part = after;
	k.req->multipart_parts.max_parts = max;
	k.resp->multipart_parts.parts.funcs.decode = decode_part;
	k.resp->multipart_parts.parts.arg = out;
	bind_decode(&k.resp->multipart_parts.upload.meta, &out->upload.meta);
	rc = pp_meta_call(c, k.req, k.resp, err);
	if (rc == PP_OK) {
		upload_from(&out->upload, &k.resp->multipart_parts.upload);
		out->truncated = k.resp->multipart_parts.truncated;
	}
	call_free(&k);
	return rc;
}

struct part_array {
	const struct s3_part *parts;
	size_t n;
};

static bool encode_parts(pb_ostream_t *s, const pb_field_t *f, void *const *arg)
{
	const struct part_array *a = *arg;
	for (size_t i = 0; i < a->n; i++) {
		pp_v1_PartInfo x = pp_v1_PartInfo_init_zero;
		x.number = a->parts[i].number;
		x.size = a->parts[i].size;
		copy(x.etag, sizeof(x.etag), a->parts[i].etag);
		copy(x.sha256, sizeof(x.sha256), a->parts[i].sha256);
		if (!pb_encode_tag_for_field(s, f) || !pb_encode_submessage(s, pp_v1_PartInfo_fields, &x))
			return false;
	}
	return true;
}

int s3_rpc_mpu_complete(pp_client *c, const char *upload_id, const struct s3_part *parts, size_t n,
			const char *sha256, uint64_t size, struct s3_object *out,
			struct pp_error *err)
{
	struct call k;
	s3_meta_init(&out->meta);
	int rc = call_new(&k, err);
	if (rc != PP_OK)
		return rc;
	pp_v1_MultipartCompleteRequest *q = &k.req->multipart_complete;
	k.req->has_multipart_complete = true;
	copy(q->upload_id, sizeof(q->upload_id), upload_id);
	copy(q->sha256, sizeof(q->sha256), sha256);
	q->size = size;
	struct part_array a = {parts, n};
	q->parts.funcs.encode = encode_parts;
	q->parts.arg = &a;
	bind_decode(&k.resp->object.meta, &out->meta);
	rc = pp_meta_call(c, k.req, k.resp, err);
	if (rc == PP_OK)
		rc = object_reply(k.resp, out, err);
	call_free(&k);
	return rc;
}

int s3_rpc_mpu_abort(pp_client *c, const char *upload_id, struct pp_error *err)
{
	struct call k;
	int rc = call_new(&k, err);
	if (rc != PP_OK)
		return rc;
	k.req->has_multipart_abort = true;
	copy(k.req->multipart_abort.upload_id, sizeof(k.req->multipart_abort.upload_id), upload_id);
	rc = pp_meta_call(c, k.req, k.resp, err);
	call_free(&k);
	return rc;
}

static bool decode_upload(pb_istream_t *s, const pb_field_t *f, void **arg)
{
	(void)f;
	struct s3_uploads *u = *arg;
	struct s3_upload *o = grow((void **)&u->items, &u->n, &u->cap, sizeof(*o), LIST_ITEMS_MAX);
	if (o == NULL)
		PB_RETURN_ERROR(s, "too many uploads");
	s3_meta_init(&o->meta);
	pp_v1_MultipartUpload *x = calloc(1, sizeof(*x));
	bool ok = x != NULL;
	if (ok) {
		bind_decode(&x->meta, &o->meta);
		ok = pb_decode(s, pp_v1_MultipartUpload_fields, x);
	}
	if (ok)
		upload_from(o, x);
	free(x);
	return ok;
}

void s3_uploads_clear(struct s3_uploads *u)
{
	for (size_t i = 0; i < u->n; i++)
		s3_meta_clear(&u->items[i].meta);
	free(u->items);
	for (size_t i = 0; i < u->np; i++)
		free(u->prefixes[i]);
	free(u->prefixes);
	memset(u, 0, sizeof(*u));
}

int s3_rpc_mpu_list(pp_client *c, const char *bucket, const char *prefix, const char *delimiter,
		    const char *key_marker, const char *id_marker, uint32_t max,
		    struct s3_uploads *out, struct pp_error *err)
{
	struct call k;
	memset(out, 0, sizeof(*out));
	int rc = call_new(&k, err);
	if (rc != PP_OK)
		return rc;
	pp_v1_MultipartListRequest *q = &k.req->multipart_list;
	k.req->has_multipart_list = true;
	copy(q->bucket, sizeof(q->bucket), bucket);
	copy(q->prefix, sizeof(q->prefix), prefix);
	copy(q->delimiter, sizeof(q->delimiter), delimiter);
	copy(q->key_marker, sizeof(q->key_marker), key_marker);
	copy(q->upload_id_marker, sizeof(q->upload_id_marker), id_marker);
	q->max_uploads = max;
	struct str_list sl = {&out->prefixes, &out->np, &out->pcap};
	k.resp->multipart_list.uploads.funcs.decode = decode_upload;
	k.resp->multipart_list.uploads.arg = out;
	k.resp->multipart_list.common_prefixes.funcs.decode = decode_string;
	k.resp->multipart_list.common_prefixes.arg = &sl;
	rc = pp_meta_call(c, k.req, k.resp, err);
	if (rc == PP_OK)
		out->truncated = k.resp->multipart_list.truncated;
	call_free(&k);
	return rc;
}
