/* S3 routes of the tracker: metadata on commit, object head, metadata-only
 * copies, buckets and listings (DESIGN.md, "S3 API"); see handlers_s3.h.
 *
 * A copy is an upload session whose chunk list is the source's, committed
 * like any upload (db_upload_commit), so it replaces an older version of
 * its name atomically and no chunk moves. */
#define _GNU_SOURCE
#include "handlers_s3.h"
#include "db.h"
#include "db_multipart.h"
#include "db_s3.h"
#include "errors.h"
#include "events.h"
#include "gc.h"
#include "handlers.h"
#include "log.h"
#include "records.h"
#include "timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DELIMITER_MAX 128

static void *arena_alloc(void *data, size_t size) { return rpc_call_alloc(data, size); }
static void arena_free(void *data, void *ptr)
{
	(void)data;
	(void)ptr;
}

Pp__V1__FileMeta *s3_meta_unpack(struct rpc_call *call, const uint8_t *data, size_t len)
{
	if (len == 0)
		return NULL;
	ProtobufCAllocator alloc = {.alloc = arena_alloc, .free = arena_free, .allocator_data = call};
	return pp__v1__file_meta__unpack(&alloc, len, data);
}

/* Packs meta onto the call's memory. */
static uint8_t *meta_pack(struct rpc_call *call, const Pp__V1__FileMeta *meta, size_t *len)
{
	*len = meta ? pp__v1__file_meta__get_packed_size(meta) : 0;
	uint8_t *b = rpc_call_alloc(call, *len + 1);
	if (meta)
		pp__v1__file_meta__pack(meta, b);
	return b;
}

void s3_delete_file(struct tracker *t, const char *name, const char *why)
{
	struct file_rec f;
	int64_t now = time_wall_ms();
	if (db_file_delete(t->db, name, now, now + (int64_t)t->cfg.gc_grace_s * 1000, &f) != PP_OK)
		return;
	records_write(t, name, f.seq); /* pending records are retried by records.c */
	log_debug("s3_file_deleted", "name=%s why=%s", log_q(name), why);
}

bool s3_record_commit(struct tracker *t, struct rpc_call *call, const struct file_rec *f)
{
	if (records_write(t, f->name, f->seq) == PP_OK)
		return true;
	rpc_call_fail(call, PP_EUNAVAIL,
		      "committed, but its metadata record is not yet on enough workers (retried in the"
		      " background)");
	return false;
}

/* Sizes include the NUL, as in rpc.options. */
static bool fits(const char *s, size_t max) { return s == NULL || strlen(s) < max; }

const char *s3_meta_check(const Pp__V1__FileMeta *m)
{
	if (m == NULL)
		return NULL;
	if (!fits(m->etag, 80) || !fits(m->content_type, 257) || !fits(m->content_disposition, 1025) ||
	    !fits(m->cache_control, 257) || !fits(m->content_encoding, 129) ||
	    !fits(m->content_language, 129) || !fits(m->expires, 129) ||
	    !fits(m->checksum_algorithm, 16) || !fits(m->checksum, 96))
		return "a metadata field is too long";
	size_t total = 0;
	for (size_t i = 0; i < m->n_user; i++) {
		if (!fits(m->user[i]->name, 129) || !fits(m->user[i]->value, 2049))
			return "a user metadata entry is too long";
		total += strlen(m->user[i]->name) + strlen(m->user[i]->value);
	}
	if (total > 2048 || m->n_user > 64)
		return "user metadata is larger than 2 KB";
	return NULL;
}

/* The bucket is real and the name lies in it; fails the call otherwise. */
static bool bucket_of_name_ok(struct rpc_call *call, const char *bucket, const char *name)
{
	const char *why = s3_bucket_check(bucket);
	size_t bl = strlen(bucket);
	if (why == NULL && (strncmp(name, bucket, bl) != 0 || name[bl] != '/'))
		why = "the name does not lie in the bucket";
	if (why != NULL) {
		rpc_call_fail(call, PP_EINVAL, "bucket \"%.64s\": %s", bucket, why);
		return false;
	}
	return true;
}

bool s3_commit_meta(struct tracker *t, struct rpc_call *call, const Pp__V1__CommitRequest *q)
{
	const char *why = s3_meta_check(q->meta);
	if (why != NULL) {
		rpc_call_fail(call, PP_EINVAL, "%s", why);
		return false;
	}
	struct upload_rec u;
	if (db_upload_get(t->db, (int64_t)q->upload_id, &u) != PP_OK) {
		rpc_call_fail(call, PP_ENOTFOUND, "no upload %llu (expired, aborted or committed)",
			      (unsigned long long)q->upload_id);
		return false;
	}
	if (q->bucket[0] != '\0' && !bucket_of_name_ok(call, q->bucket, u.name))
		return false;
	size_t len;
	uint8_t *b = meta_pack(call, q->meta, &len);
	int rc = db_s3_upload_meta_set(t->db, (int64_t)q->upload_id, q->meta ? q->meta->etag : "", b,
				       len, q->bucket, "");
	if (rc != PP_OK) {
		rpc_call_fail(call, rc, "could not store the upload's metadata");
		return false;
	}
	return true;
}

static Pp__V1__ObjectInfo *object_info(struct tracker *t, struct rpc_call *call,
				       const struct file_rec *f)
{
	Pp__V1__ObjectInfo *o = rpc_call_alloc(call, sizeof(*o));
	pp__v1__object_info__init(o);
	o->file = handlers_file_info(call, f);
	uint8_t *blob = NULL;
	size_t len = 0;
	if (db_s3_meta_get(t->db, f->id, &blob, &len) == PP_OK) {
		o->meta = s3_meta_unpack(call, blob, len);
		if (o->meta == NULL) { /* stored without any field set */
			o->meta = rpc_call_alloc(call, sizeof(*o->meta));
			pp__v1__file_meta__init(o->meta);
		}
	}
	free(blob);
	return o;
}

void h_s3_object_head(void *svc, struct rpc_call *call)
{
	struct tracker *t = svc;
	const char *name = call->req->object_head->name, *bucket = call->req->object_head->bucket;
	const char *why = name_check(name, strlen(name));
	if (why != NULL) {
		rpc_call_fail(call, PP_EINVAL, "invalid name: %s", why);
		return;
	}
	if (bucket[0] != '\0' && !bucket_of_name_ok(call, bucket, name))
		return;
	if (bucket[0] != '\0' && db_s3_bucket_exists(t->db, bucket) != PP_OK) {
		rpc_call_fail(call, PP_ENOTFOUND, "NoSuchBucket: no bucket named \"%s\"", bucket);
		return;
	}
	struct file_rec f;
	if (db_file_get(t->db, name, &f) != PP_OK) {
		rpc_call_fail(call, PP_ENOTFOUND, "NoSuchKey: no file named \"%s\"", name);
		return;
	}
	call->resp.body_case = PP__V1__RESPONSE__BODY_OBJECT;
	call->resp.object = object_info(t, call, &f);
}

/* Stages and commits a copy of q->source as q->dest; see the file header. */
static int copy_commit(struct tracker *t, struct rpc_call *call, const Pp__V1__ObjectCopyRequest *q,
		       struct file_rec *out, char *err, size_t err_len)
{
	struct file_rec src;
	int64_t session = 0;
	int rc = db_file_get(t->db, q->source, &src);
	if (rc == PP_OK) {
		uint32_t repl = q->replication ? q->replication : src.replication;
		rc = db_upload_begin(t->db, q->dest, repl, src.chunk_size, src.size, time_wall_ms(),
				     &session);
	}
	if (rc == PP_OK)
		rc = db_s3_stage_copy(t->db, session, q->source, q->source_sha256, &src);
	if (rc != PP_OK) {
		snprintf(err, err_len, rc == PP_ECONFLICT ? "PreconditionFailed: the source changed"
							  : "NoSuchKey: no source \"%s\"",
			 q->source);
		goto out;
	}
	size_t len;
	const uint8_t *blob;
	uint8_t *stored = NULL;
	const char *etag = "";
	if (q->meta != NULL) {
		blob = meta_pack(call, q->meta, &len);
		etag = q->meta->etag;
	} else if (db_s3_meta_get(t->db, src.id, &stored, &len) == PP_OK) {
		blob = stored;
		Pp__V1__FileMeta *m = s3_meta_unpack(call, stored, len);
		etag = m ? m->etag : "";
	} else {
		blob = (const uint8_t *)"";
		len = 0;
	}
	rc = db_s3_upload_meta_set(t->db, session, etag, blob, len, q->bucket, "");
	free(stored);
	if (rc == PP_OK)
		rc = handlers_commit(t, session, src.size, src.sha256, src.chunk_count, out, err,
				     err_len);
	if (rc == PP_OK)
		session = 0;
out:
	if (session != 0)
		db_upload_abort(t->db, session);
	return rc;
}

void h_s3_object_copy(void *svc, struct rpc_call *call)
{
	struct tracker *t = svc;
	const Pp__V1__ObjectCopyRequest *q = call->req->object_copy;
	if (!handlers_primary_only(t, call))
		return;
	const char *why = name_check(q->source, strlen(q->source));
	if (why == NULL)
		why = name_check(q->dest, strlen(q->dest));
	if (why == NULL)
		why = s3_meta_check(q->meta);
	if (why == NULL && q->source_sha256[0] != '\0' && !chunk_id_valid(q->source_sha256))
		why = "source_sha256 is not 64 lowercase hex";
	if (why == NULL && q->replication != 0 &&
	    (q->replication < TRACKER_REPLICATION_MIN || q->replication > TRACKER_REPLICATION_MAX))
		why = "replication out of range";
	if (why != NULL) {
		rpc_call_fail(call, PP_EINVAL, "%s", why);
		return;
	}
	if (q->bucket[0] != '\0' && !bucket_of_name_ok(call, q->bucket, q->dest))
		return;
	struct file_rec f;
	char err[DB_ERR_MAX] = "";
	int rc = copy_commit(t, call, q, &f, err, sizeof(err));
	if (rc != PP_OK) {
		rpc_call_fail(call, rc, "copy refused: %s", err[0] ? err : pp_strerror(rc));
		return;
	}
	if (!s3_record_commit(t, call, &f))
		return;
	log_info("file_copied", "source=%s name=%s version=%llu size=%llu", log_q(q->source), log_q(f.name),
		 (unsigned long long)f.version, (unsigned long long)f.size);
	if (!s3_name_hidden(f.name))
		events_file(t->events, "file_committed", f.name, f.size);
	call->resp.body_case = PP__V1__RESPONSE__BODY_OBJECT;
	call->resp.object = object_info(t, call, &f);
}

/* ---- buckets ---- */

static void buckets_reply(struct rpc_call *call, const struct s3_bucket_rec *b, size_t n)
{
	Pp__V1__BucketsResponse *r = rpc_call_alloc(call, sizeof(*r));
	pp__v1__buckets_response__init(r);
	r->buckets = rpc_call_alloc(call, (n + 1) * sizeof(*r->buckets));
	for (size_t i = 0; i < n; i++) {
		Pp__V1__Bucket *x = rpc_call_alloc(call, sizeof(*x));
		pp__v1__bucket__init(x);
		x->name = rpc_call_strdup(call, b[i].name);
		x->created_at_ms = b[i].created_ms;
		r->buckets[r->n_buckets++] = x;
	}
	call->resp.body_case = PP__V1__RESPONSE__BODY_BUCKETS;
	call->resp.buckets = r;
}

/* Aborts the open multipart uploads of a deleted bucket. */
static void drop_bucket_uploads(struct tracker *t, const char *bucket)
{
	struct mpu_rec *ups = NULL;
	char **prefixes = NULL;
	size_t n = 0, np = 0;
	bool more = false;
	if (db_mpu_list(t->db, bucket, "", "", "", "", UINT32_MAX, &ups, &n, &prefixes, &np, &more) != PP_OK)
		return;
	for (size_t i = 0; i < n; i++)
		s3_multipart_drop(t, ups[i].id, false, "bucket_deleted");
	db_mpu_list_free(ups, n, prefixes, np);
}

void h_s3_bucket(void *svc, struct rpc_call *call)
{
	struct tracker *t = svc;
	const Pp__V1__BucketRequest *q = call->req->bucket;
	if (q->op == PP__V1__BUCKET_REQUEST__OP__LIST) {
		struct s3_bucket_rec *b = NULL;
		size_t n = 0;
		if (db_s3_buckets(t->db, &b, &n) != PP_OK)
			rpc_call_fail(call, PP_EINTERNAL, "store error listing buckets");
		else
			buckets_reply(call, b, n);
		free(b);
		return;
	}
	const char *why = s3_bucket_check(q->name);
	if (why != NULL) {
		rpc_call_fail(call, PP_EINVAL, "invalid bucket name \"%.64s\": %s", q->name, why);
		return;
	}
	if (q->op != PP__V1__BUCKET_REQUEST__OP__HEAD && !handlers_primary_only(t, call))
		return;
	int rc;
	switch (q->op) {
	case PP__V1__BUCKET_REQUEST__OP__CREATE:
		rc = db_s3_bucket_create(t->db, q->name, time_wall_ms());
		if (rc == PP_OK)
			log_info("bucket_created", "bucket=%s", log_q(q->name));
		break;
	case PP__V1__BUCKET_REQUEST__OP__DELETE:
		rc = db_s3_bucket_delete(t->db, q->name);
		if (rc == PP_OK) {
			log_info("bucket_deleted", "bucket=%s", log_q(q->name));
			drop_bucket_uploads(t, q->name);
		}
		break;
	case PP__V1__BUCKET_REQUEST__OP__HEAD:
		rc = db_s3_bucket_exists(t->db, q->name);
		break;
	default:
		rc = PP_EINVAL;
	}
	if (rc == PP_ECONFLICT)
		rpc_call_fail(call, rc, q->op == PP__V1__BUCKET_REQUEST__OP__CREATE
						? "bucket \"%s\" already exists"
						: "bucket \"%s\" is not empty",
			      q->name);
	else if (rc == PP_ENOTFOUND)
		rpc_call_fail(call, rc, "NoSuchBucket: no bucket named \"%s\"", q->name);
	else if (rc != PP_OK)
		rpc_call_fail(call, rc, "bucket operation failed");
	else
		buckets_reply(call, NULL, 0);
}

/* ---- listing ---- */

void h_s3_object_list(void *svc, struct rpc_call *call)
{
	struct tracker *t = svc;
	const Pp__V1__ObjectListRequest *q = call->req->object_list;
	const char *why = NULL;
	if (q->prefix[0] != '\0')
		why = name_check(q->prefix, strlen(q->prefix));
	if (why == NULL && q->after[0] != '\0')
		why = name_check(q->after, strlen(q->after));
	if (why == NULL && strlen(q->delimiter) > DELIMITER_MAX)
		why = "delimiter longer than 128 bytes";
	if (why == NULL && q->bucket[0] != '\0')
		why = s3_bucket_check(q->bucket);
	if (why != NULL) {
		rpc_call_fail(call, PP_EINVAL, "invalid listing: %s", why);
		return;
	}
	if (q->bucket[0] != '\0' && db_s3_bucket_exists(t->db, q->bucket) != PP_OK) {
		rpc_call_fail(call, PP_ENOTFOUND, "NoSuchBucket: no bucket named \"%s\"", q->bucket);
		return;
	}
	uint32_t max = q->max_keys == 0 || q->max_keys > S3_LIST_MAX ? S3_LIST_MAX : q->max_keys;
	struct s3_list_result res;
	if (db_s3_list(t->db, q->prefix, q->delimiter, q->after, max, &res) != PP_OK) {
		rpc_call_fail(call, PP_EINTERNAL, "store error listing");
		return;
	}
	Pp__V1__ObjectListResponse *r = rpc_call_alloc(call, sizeof(*r));
	pp__v1__object_list_response__init(r);
	r->objects = rpc_call_alloc(call, (res.n + 1) * sizeof(*r->objects));
	for (size_t i = 0; i < res.n; i++) {
		Pp__V1__ObjectEntry *e = rpc_call_alloc(call, sizeof(*e));
		pp__v1__object_entry__init(e);
		e->name = rpc_call_strdup(call, res.entries[i].name);
		e->size = res.entries[i].size;
		e->created_at_ms = res.entries[i].created_ms;
		e->etag = rpc_call_strdup(call, res.entries[i].etag);
		e->sha256 = rpc_call_strdup(call, res.entries[i].sha256);
		e->replication = res.entries[i].replication;
		e->version = res.entries[i].version;
		e->chunk_count = res.entries[i].chunk_count;
		e->chunk_size = res.entries[i].chunk_size;
		if (q->with_health) {
			struct file_rec f = {.id = res.entries[i].file_id,
					     .replication = res.entries[i].replication};
			if (db_file_health(t->db, &f) == PP_OK)
				e->health = (Pp__V1__FileHealth)f.health;
		}
		r->objects[r->n_objects++] = e;
	}
	r->common_prefixes = rpc_call_alloc(call, (res.np + 1) * sizeof(char *));
	for (size_t i = 0; i < res.np; i++)
		r->common_prefixes[r->n_common_prefixes++] = rpc_call_strdup(call, res.prefixes[i]);
	r->truncated = res.truncated;
	r->next_after = rpc_call_strdup(call, res.next_after ? res.next_after : "");
	call->resp.body_case = PP__V1__RESPONSE__BODY_OBJECT_LIST;
	call->resp.object_list = r;
	db_s3_list_free(&res);
}
