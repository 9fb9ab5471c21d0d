/* Multipart uploads (DESIGN.md, "S3 API"; storage in db_multipart.h).
 *
 * Completion never moves data: the parts' chunk lists, in the client's
 * order, become the chunk list of an upload session that commits like any
 * other, with the S3 ETag (MD5 of the part MD5s, "-N") in its metadata; the
 * commit also marks the upload completed in the same transaction, so two
 * completions cannot both succeed. The part files are deleted afterwards; a
 * crash in between leaves a completed upload that the collector finishes. */
#define _GNU_SOURCE
#include "handlers_s3.h"
#include "db.h"
#include "db_multipart.h"
#include "db_s3.h"
#include "errors.h"
#include "events.h"
#include "gc.h"
#include "handlers.h"
#include "hash.h"
#include "log.h"
#include "timeutil.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PART_MIN_BYTES (5u << 20) /* S3's minimum size of every part but the last */
#define PARTS_PAGE_DEFAULT 1000

static bool upload_id_ok(struct rpc_call *call, const char *id)
{
	if (!s3_upload_id_valid(id)) {
		rpc_call_fail(call, PP_EINVAL, "invalid upload id: want 32 lowercase hex");
		return false;
	}
	return true;
}

static Pp__V1__MultipartUpload *upload_msg(struct rpc_call *call, const struct mpu_rec *r)
{
	Pp__V1__MultipartUpload *u = rpc_call_alloc(call, sizeof(*u));
	pp__v1__multipart_upload__init(u);
	u->upload_id = rpc_call_strdup(call, r->id);
	u->bucket = rpc_call_strdup(call, r->bucket);
	u->key = rpc_call_strdup(call, r->key);
	u->created_at_ms = r->created_ms;
	u->replication = r->replication;
	u->meta = s3_meta_unpack(call, r->meta, r->meta_len);
	return u;
}

int s3_multipart_drop(struct tracker *t, const char *id, bool keep_row, const char *why)
{
	/* The row goes (or is completed) first: from then on no part of it can
	 * commit. */
	int rc = keep_row ? PP_OK : db_mpu_forget(t->db, id);
	char **names = NULL;
	size_t n = 0;
	if (db_mpu_part_names(t->db, id, &names, &n) == PP_OK)
		for (size_t i = 0; i < n; i++)
			s3_delete_file(t, names[i], why);
	db_names_free(names, n);
	if ((rc == PP_OK && !keep_row) || n > 0)
		log_info("multipart_dropped", "upload=%s parts=%zu why=%s", log_q(id), n, why);
	return rc == PP_OK || n > 0 ? PP_OK : PP_ENOTFOUND;
}

void h_s3_multipart_create(void *svc, struct rpc_call *call)
{
	struct tracker *t = svc;
	const Pp__V1__MultipartCreateRequest *q = call->req->multipart_create;
	if (!handlers_primary_only(t, call))
		return;
	const char *why = s3_bucket_check(q->bucket);
	char name[PP_NAME_MAX + 2];
	snprintf(name, sizeof(name), "%s/%s", q->bucket, q->key);
	if (why == NULL && (q->key[0] == '\0' || strlen(q->key) > S3_KEY_MAX))
		why = "a key has 1 to 1024 bytes";
	if (why == NULL)
		why = name_check(name, strlen(name));
	if (why == NULL)
		why = s3_meta_check(q->meta);
	uint32_t repl = q->replication ? q->replication : (uint32_t)t->cfg.replication;
	if (why == NULL && (repl < TRACKER_REPLICATION_MIN || repl > TRACKER_REPLICATION_MAX))
		why = "replication out of range";
	if (why != NULL) {
		rpc_call_fail(call, PP_EINVAL, "%s", why);
		return;
	}
	uint8_t raw[S3_UPLOAD_ID_LEN / 2];
	struct mpu_rec r;
	memset(&r, 0, sizeof(r));
	auth_random(raw, sizeof(raw));
	hex_encode(raw, sizeof(raw), r.id);
	snprintf(r.bucket, sizeof(r.bucket), "%s", q->bucket);
	snprintf(r.key, sizeof(r.key), "%s", q->key);
	r.created_ms = time_wall_ms();
	r.replication = repl;
	size_t len = q->meta ? pp__v1__file_meta__get_packed_size(q->meta) : 0;
	r.meta = rpc_call_alloc(call, len + 1);
	r.meta_len = len;
	if (q->meta)
		pp__v1__file_meta__pack(q->meta, r.meta);
	int rc = db_mpu_create(t->db, r.id, r.bucket, r.key, r.meta, len, repl, r.created_ms);
	if (rc != PP_OK) {
		rpc_call_fail(call, rc, rc == PP_ENOTFOUND ? "NoSuchBucket: no bucket named \"%s\""
						       : "could not create the upload in \"%s\"",
			      q->bucket);
		return;
	}
	log_info("multipart_created", "upload=%s bucket=%s key=%s", r.id, log_q(r.bucket), log_q(r.key));
	call->resp.body_case = PP__V1__RESPONSE__BODY_MULTIPART;
	call->resp.multipart = upload_msg(call, &r);
}

/* The open upload; fails the call when there is none. */
static bool open_upload(struct tracker *t, struct rpc_call *call, const char *id, struct mpu_rec *r)
{
	if (!upload_id_ok(call, id))
		return false;
	if (db_mpu_get(t->db, id, r) != PP_OK || r->state != MPU_OPEN) {
		if (r->meta)
			mpu_rec_clear(r);
		rpc_call_fail(call, PP_ENOTFOUND, "NoSuchUpload: no multipart upload %s (aborted or completed)", id);
		return false;
	}
	return true;
}

static Pp__V1__PartInfo *part_msg(struct rpc_call *call, const struct mpu_part *p)
{
	Pp__V1__PartInfo *x = rpc_call_alloc(call, sizeof(*x));
	pp__v1__part_info__init(x);
	x->number = p->number;
	x->size = p->size;
	x->etag = rpc_call_strdup(call, p->etag);
	x->created_at_ms = p->created_ms;
	x->sha256 = rpc_call_strdup(call, p->sha256);
	return x;
}

void h_s3_multipart_parts(void *svc, struct rpc_call *call)
{
	struct tracker *t = svc;
	const Pp__V1__MultipartPartsRequest *q = call->req->multipart_parts;
	struct mpu_rec r = {0};
	if (!open_upload(t, call, q->upload_id, &r))
		return;
	uint32_t max = q->max_parts == 0 ? PARTS_PAGE_DEFAULT
					 : (q->max_parts > S3_PART_MAX ? S3_PART_MAX : q->max_parts);
	struct mpu_part *parts = NULL;
	size_t n = 0;
	bool truncated = false;
	if (db_mpu_parts(t->db, r.id, q->after_part, max, &parts, &n, &truncated) != PP_OK) {
		rpc_call_fail(call, PP_EINTERNAL, "store error listing parts");
		goto out;
	}
	Pp__V1__MultipartPartsResponse *resp = rpc_call_alloc(call, sizeof(*resp));
	pp__v1__multipart_parts_response__init(resp);
	resp->upload = upload_msg(call, &r);
	resp->parts = rpc_call_alloc(call, (n + 1) * sizeof(*resp->parts));
	for (size_t i = 0; i < n; i++)
		resp->parts[resp->n_parts++] = part_msg(call, &parts[i]);
	resp->truncated = truncated;
	call->resp.body_case = PP__V1__RESPONSE__BODY_MULTIPART_PARTS;
	call->resp.multipart_parts = resp;
out:
	free(parts);
	mpu_rec_clear(&r);
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : (c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1);
}

/* Checks the client's part list against the stored parts and fills `use`
 * (the stored parts in the client's order) and the multipart ETag. */
static int match_parts(const Pp__V1__MultipartCompleteRequest *q, const struct mpu_part *stored,
		       size_t ns, struct mpu_part *use, char *etag, size_t etag_len, uint64_t *size,
		       char *err, size_t err_len)
{
	EVP_MD_CTX *md5 = EVP_MD_CTX_new();
	int rc = PP_OK;
	*size = 0;
	if (md5 == NULL || EVP_DigestInit_ex(md5, EVP_md5(), NULL) != 1) {
		EVP_MD_CTX_free(md5);
		return PP_EINTERNAL;
	}
	size_t j = 0;
	for (size_t i = 0; rc == PP_OK && i < q->n_parts; i++) {
		const Pp__V1__PartInfo *p = q->parts[i];
		if (i > 0 && p->number <= q->parts[i - 1]->number) {
			snprintf(err, err_len, "InvalidPartOrder: part %u after part %u", p->number,
				 q->parts[i - 1]->number);
			rc = PP_EINVAL;
			break;
		}
		while (j < ns && stored[j].number < p->number)
			j++;
		if (j == ns || stored[j].number != p->number || strcmp(stored[j].etag, p->etag) != 0 ||
		    strlen(p->etag) != 32 || (p->sha256[0] && strcmp(stored[j].sha256, p->sha256) != 0)) {
			snprintf(err, err_len, "InvalidPart: part %u is not stored with that ETag", p->number);
			rc = PP_EINVAL;
			break;
		}
		if (i + 1 < q->n_parts && stored[j].size < PART_MIN_BYTES) {
			snprintf(err, err_len, "EntityTooSmall: part %u has %llu bytes (minimum 5 MiB)",
				 p->number, (unsigned long long)stored[j].size);
			rc = PP_EINVAL;
			break;
		}
		uint8_t bin[16];
		for (int k = 0; k < 16; k++)
			bin[k] = (uint8_t)(hexval(p->etag[2 * k]) * 16 + hexval(p->etag[2 * k + 1]));
		EVP_DigestUpdate(md5, bin, sizeof(bin));
		use[i] = stored[j];
		*size += stored[j].size;
	}
	uint8_t d[16];
	unsigned dl = 0;
	if (EVP_DigestFinal_ex(md5, d, &dl) == 1 && rc == PP_OK) {
		char hex[33];
		hex_encode(d, 16, hex);
		snprintf(etag, etag_len, "%s-%zu", hex, q->n_parts);
	}
	EVP_MD_CTX_free(md5);
	return rc;
}

/* The object's metadata: what CreateMultipartUpload gave, plus the ETag. */
static uint8_t *object_meta(struct rpc_call *call, const struct mpu_rec *r, const char *etag,
			    size_t parts, size_t *len)
{
	Pp__V1__FileMeta *m = s3_meta_unpack(call, r->meta, r->meta_len);
	if (m == NULL) {
		m = rpc_call_alloc(call, sizeof(*m));
		pp__v1__file_meta__init(m);
	}
	m->etag = rpc_call_strdup(call, etag);
	m->parts = (uint32_t)parts;
	m->checksum_algorithm = (char *)"";
	m->checksum = (char *)"";
	*len = pp__v1__file_meta__get_packed_size(m);
	uint8_t *b = rpc_call_alloc(call, *len + 1);
	pp__v1__file_meta__pack(m, b);
	return b;
}

static int complete(struct tracker *t, struct rpc_call *call, const struct mpu_rec *r,
		    const Pp__V1__MultipartCompleteRequest *q, struct file_rec *f, char *err,
		    size_t err_len)
{
	struct mpu_part *stored = NULL, *use = calloc(q->n_parts + 1, sizeof(*use));
	size_t ns = 0;
	bool more = false;
	int64_t session = 0;
	int rc = use ? db_mpu_parts(t->db, r->id, 0, S3_PART_MAX, &stored, &ns, &more) : PP_EINTERNAL;
	char etag[S3_ETAG_MAX], name[PP_NAME_MAX + 2];
	uint64_t size = 0, chunks = 0;
	if (rc == PP_OK)
		rc = match_parts(q, stored, ns, use, etag, sizeof(etag), &size, err, err_len);
	if (rc == PP_OK && size != q->size) {
		snprintf(err, err_len, "InvalidPart: the parts hold %llu bytes, not %llu",
			 (unsigned long long)size, (unsigned long long)q->size);
		rc = PP_EINVAL;
	}
	snprintf(name, sizeof(name), "%s/%s", r->bucket, r->key);
	if (rc == PP_OK)
		rc = db_upload_begin(t->db, name, r->replication, (uint32_t)t->cfg.chunk_size, size,
				     time_wall_ms(), &session);
	if (rc == PP_OK) {
		rc = db_mpu_stage(t->db, session, r->id, use, q->n_parts, &chunks);
		if (rc == PP_ECONFLICT)
			snprintf(err, err_len, "InvalidPart: a part changed while completing");
	}
	if (rc == PP_OK) {
		size_t len;
		uint8_t *meta = object_meta(call, r, etag, q->n_parts, &len);
		rc = db_s3_upload_meta_set(t->db, session, etag, meta, len, r->bucket, r->id);
	}
	if (rc == PP_OK)
		rc = handlers_commit(t, session, size, q->sha256, chunks, f, err, err_len);
	if (rc == PP_OK)
		session = 0;
	if (session != 0)
		db_upload_abort(t->db, session);
	free(stored);
	free(use);
	return rc;
}

static void object_reply(struct tracker *t, struct rpc_call *call, const struct file_rec *f)
{
	Pp__V1__ObjectInfo *o = rpc_call_alloc(call, sizeof(*o));
	pp__v1__object_info__init(o);
	o->file = handlers_file_info(call, f);
	uint8_t *blob = NULL;
	size_t len = 0;
	if (db_s3_meta_get(t->db, f->id, &blob, &len) == PP_OK)
		o->meta = s3_meta_unpack(call, blob, len);
	free(blob);
	call->resp.body_case = PP__V1__RESPONSE__BODY_OBJECT;
	call->resp.object = o;
}

/* A completion retried after it succeeded (the client missed the answer):
 * the object it made, if it is still that object. */
static bool already_completed(struct tracker *t, struct rpc_call *call, const struct mpu_rec *r,
			      const Pp__V1__MultipartCompleteRequest *q)
{
	char name[PP_NAME_MAX + 2], etag[S3_ETAG_MAX] = "", err[DB_ERR_MAX];
	snprintf(name, sizeof(name), "%s/%s", r->bucket, r->key);
	struct mpu_part *use = calloc(q->n_parts + 1, sizeof(*use)), *stored = NULL;
	uint64_t size = 0;
	struct file_rec f;
	bool same = false;
	/* The ETag the request implies, from its own part list. */
	stored = calloc(q->n_parts + 1, sizeof(*stored));
	for (size_t i = 0; stored && i < q->n_parts; i++) {
		stored[i].number = q->parts[i]->number;
		snprintf(stored[i].etag, sizeof(stored[i].etag), "%s", q->parts[i]->etag);
		stored[i].size = PART_MIN_BYTES; /* sizes were checked the first time */
	}
	if (use && stored && match_parts(q, stored, q->n_parts, use, etag, sizeof(etag), &size, err, sizeof(err)) == PP_OK &&
	    db_file_get(t->db, name, &f) == PP_OK) {
		uint8_t *blob = NULL;
		size_t len = 0;
		Pp__V1__FileMeta *m = db_s3_meta_get(t->db, f.id, &blob, &len) == PP_OK
					      ? s3_meta_unpack(call, blob, len) : NULL;
		same = m != NULL && strcmp(m->etag, etag) == 0;
		free(blob);
		if (same)
			object_reply(t, call, &f);
	}
	free(use);
	free(stored);
	return same;
}

void h_s3_multipart_complete(void *svc, struct rpc_call *call)
{
	struct tracker *t = svc;
	const Pp__V1__MultipartCompleteRequest *q = call->req->multipart_complete;
	if (!handlers_primary_only(t, call))
		return;
	if (q->n_parts == 0 || q->n_parts > S3_PART_MAX) {
		rpc_call_fail(call, PP_EINVAL, "MalformedXML: 1 to 10000 parts");
		return;
	}
	struct mpu_rec r = {0};
	if (upload_id_ok(call, q->upload_id) && db_mpu_get(t->db, q->upload_id, &r) == PP_OK &&
	    r.state == MPU_COMPLETED) {
		bool done = already_completed(t, call, &r, q);
		mpu_rec_clear(&r);
		if (!done)
			rpc_call_fail(call, PP_ENOTFOUND, "NoSuchUpload: upload %s was completed", q->upload_id);
		return;
	}
	mpu_rec_clear(&r);
	if (call->resp.status != PP__V1__STATUS__STATUS_OK)
		return;
	if (!chunk_id_valid(q->sha256)) {
		rpc_call_fail(call, PP_EINVAL, "invalid sha256: want 64 lowercase hex");
		return;
	}
	if (!open_upload(t, call, q->upload_id, &r))
		return;
	struct file_rec f;
	char err[DB_ERR_MAX] = "";
	int rc = complete(t, call, &r, q, &f, err, sizeof(err));
	if (rc != PP_OK) {
		rpc_call_fail(call, rc, "%s", err[0] ? err : pp_strerror(rc));
		mpu_rec_clear(&r);
		return;
	}
	log_info("multipart_completed", "upload=%s name=%s parts=%zu size=%llu version=%llu", log_q(r.id),
		 log_q(f.name), q->n_parts, (unsigned long long)f.size, (unsigned long long)f.version);
	/* The parts go whatever happens to the record: a retried completion
	 * finds the upload completed and answers with the object. */
	s3_multipart_drop(t, r.id, true, "completed");
	if (!s3_record_commit(t, call, &f)) {
		mpu_rec_clear(&r);
		return;
	}
	events_file(t->events, "file_committed", f.name, f.size);
	mpu_rec_clear(&r);
	object_reply(t, call, &f);
}

void h_s3_multipart_abort(void *svc, struct rpc_call *call)
{
	struct tracker *t = svc;
	const char *id = call->req->multipart_abort->upload_id;
	if (!handlers_primary_only(t, call))
		return;
	if (!upload_id_ok(call, id))
		return;
	struct mpu_rec r = {0};
	if (db_mpu_get(t->db, id, &r) != PP_OK || r.state != MPU_OPEN) {
		mpu_rec_clear(&r);
		rpc_call_fail(call, PP_ENOTFOUND, "NoSuchUpload: no multipart upload %s", id);
		return;
	}
	mpu_rec_clear(&r);
	if (s3_multipart_drop(t, id, false, "aborted") != PP_OK)
		rpc_call_fail(call, PP_ENOTFOUND, "NoSuchUpload: no multipart upload %s", id);
}

void h_s3_multipart_list(void *svc, struct rpc_call *call)
{
	struct tracker *t = svc;
	const Pp__V1__MultipartListRequest *q = call->req->multipart_list;
	const char *why = s3_bucket_check(q->bucket);
	if (why != NULL) {
		rpc_call_fail(call, PP_EINVAL, "invalid bucket name: %s", why);
		return;
	}
	if (db_s3_bucket_exists(t->db, q->bucket) != PP_OK) {
		rpc_call_fail(call, PP_ENOTFOUND, "NoSuchBucket: no bucket named \"%s\"", q->bucket);
		return;
	}
	uint32_t max = q->max_uploads == 0 || q->max_uploads > S3_LIST_MAX ? S3_LIST_MAX : q->max_uploads;
	struct mpu_rec *ups = NULL;
	char **prefixes = NULL;
	size_t n = 0, np = 0;
	bool truncated = false;
	if (db_mpu_list(t->db, q->bucket, q->prefix, q->delimiter, q->key_marker, q->upload_id_marker,
			max, &ups, &n, &prefixes, &np, &truncated) != PP_OK) {
		rpc_call_fail(call, PP_EINTERNAL, "store error listing uploads");
		return;
	}
	Pp__V1__MultipartListResponse *r = rpc_call_alloc(call, sizeof(*r));
	pp__v1__multipart_list_response__init(r);
	r->uploads = rpc_call_alloc(call, (n + 1) * sizeof(*r->uploads));
	for (size_t i = 0; i < n; i++)
		r->uploads[r->n_uploads++] = upload_msg(call, &ups[i]);
	r->common_prefixes = rpc_call_alloc(call, (np + 1) * sizeof(char *));
	for (size_t i = 0; i < np; i++)
		r->common_prefixes[r->n_common_prefixes++] = rpc_call_strdup(call, prefixes[i]);
	r->truncated = truncated;
	call->resp.body_case = PP__V1__RESPONSE__BODY_MULTIPART_LIST;
	call->resp.multipart_list = r;
	db_mpu_list_free(ups, n, prefixes, np);
}
