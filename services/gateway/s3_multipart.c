/* Multipart uploads (DESIGN.md, "S3 API"): CreateMultipartUpload,
 * UploadPart, UploadPartCopy, CompleteMultipartUpload, AbortMultipartUpload,
 * ListParts. Their state lives in the tracker (db_multipart.c), so a gateway
 * restart loses nothing; a part is a hidden file committed like any upload.
 *
 * CompleteMultipartUpload is s3_complete.c. */
#define _GNU_SOURCE
#include "s3_body.h"
#include "s3_request.h"
#include "s3_xml.h"

#include "errors.h"
#include "hash.h"
#include "log.h"
#include "ppclient_ext.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COPY_READ_BYTES (1u << 20)
#define PARTS_PAGE 1000

enum MHD_Result s3_create_upload(struct s3_req *r)
{
	struct s3_fail f = {0};
	if (s3_meta_from_headers(r, &r->meta, &f) != PP_OK)
		return s3_reply_error(r, &f);
	char id[S3_UPLOAD_ID_LEN + 1];
	struct pp_error err = {0};
	if (s3_rpc_mpu_create(r->srv->gw->client, r->bucket, r->key, &r->meta, id, &err) != PP_OK)
		return s3_reply_pp(r, &err, "NoSuchBucket");
	struct s3x *x = s3x_begin("InitiateMultipartUploadResult", true);
	if (x != NULL) {
		s3x_text(x, "Bucket", r->bucket);
		s3x_text(x, "Key", r->key);
		s3x_text(x, "UploadId", id);
	}
	return s3_reply_xml(r, MHD_HTTP_OK, x);
}

/* The upload of ?uploadId=, which must be open and belong to this key;
 * replies NoSuchUpload itself otherwise. */
static bool upload_of(struct s3_req *r, struct s3_parts *p, unsigned after, uint32_t max,
		      enum MHD_Result *res)
{
	const char *id = s3_query(r, "uploadId");
	struct pp_error err = {0};
	memset(p, 0, sizeof(*p));
	if (id == NULL || !s3_upload_id_valid(id)) {
		*res = s3_reply_fail(r, "NoSuchUpload", NULL);
		return false;
	}
	if (s3_rpc_mpu_parts(r->srv->gw->client, id, after, max, p, &err) != PP_OK) {
		*res = s3_reply_pp(r, &err, "NoSuchUpload");
		return false;
	}
	if (strcmp(p->upload.bucket, r->bucket) != 0 || strcmp(p->upload.key, r->key) != 0) {
		*res = s3_reply_fail(r, "NoSuchUpload", "The upload belongs to another key");
		return false;
	}
	return true;
}

static bool part_number(struct s3_req *r, unsigned *n, enum MHD_Result *res)
{
	const char *v = s3_query(r, "partNumber");
	char *end = NULL;
	long k = v ? strtol(v, &end, 10) : 0;
	if (v == NULL || *v == '\0' || *end != '\0' || k < S3_PART_MIN || k > S3_PART_MAX) {
		*res = s3_reply_fail(r, "InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive");
		return false;
	}
	*n = (unsigned)k;
	return true;
}

enum MHD_Result s3_upload_part_start(struct s3_req *r)
{
	enum MHD_Result res;
	struct s3_parts p;
	if (!part_number(r, &r->part_number, &res))
		return res;
	bool ok = upload_of(r, &p, 0, 1, &res);
	char name[S3_PART_NAME_MAX];
	if (ok && !s3_part_name(p.upload.id, r->part_number, name, sizeof(name)))
		ok = false, res = s3_reply_fail(r, "InternalError", NULL);
	s3_parts_clear(&p);
	if (!ok)
		return res;
	if ((r->part_name = strdup(name)) == NULL)
		return MHD_NO;
	return s3_stream_start(r, r->part_name, &res) ? MHD_YES : res;
}

enum MHD_Result s3_upload_part_finish(struct s3_req *r)
{
	struct pp_error err = {0};
	struct pp_file f;
	pp_v1_FileMeta *m = &r->meta.m;
	snprintf(m->etag, sizeof(m->etag), "%s", s3_body_md5_hex(r->body));
	const char *b64 = NULL;
	enum s3_cksum_alg alg = s3_body_checksum(r->body, &b64);
	if (alg != CK_NONE) {
		snprintf(m->checksum_algorithm, sizeof(m->checksum_algorithm), "%s", s3_cksum_alg_name(alg));
		snprintf(m->checksum, sizeof(m->checksum), "%s", b64);
	}
	r->meta.present = true;
	s3_meta_bind_encode(&r->meta);
	pp_upload *u = r->up;
	r->up = NULL;
	if (pp_upload_commit_meta(u, m, "", &f, &err) != PP_OK)
		return s3_reply_pp(r, &err, "NoSuchUpload");
	log_info("s3_part_stored", "name=%s part=%u size=%" PRIu64, log_q(r->name), r->part_number, f.size);
	struct MHD_Response *resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
	if (resp == NULL)
		return MHD_NO;
	char etag[96];
	s3_etag(m->etag, f.sha256, etag, sizeof(etag));
	MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
	if (alg != CK_NONE)
		MHD_add_response_header(resp, s3_cksum_header(alg), b64);
	return s3_reply(r, MHD_HTTP_OK, resp);
}

/* ---- UploadPartCopy ---- */

/* "bytes=FIRST-LAST" within size. */
static bool copy_range(const char *h, uint64_t size, uint64_t *first, uint64_t *len)
{
	unsigned long long a, b;
	char tail;
	if (sscanf(h, "bytes=%llu-%llu%c", &a, &b, &tail) != 2 || a > b || b >= size)
		return false;
	*first = a;
	*len = b - a + 1;
	return true;
}

/* Reads [first, first+len) of source into a new upload of part; md5 out. */
static int stream_copy(struct s3_req *r, const char *source, const char *src_sha, uint64_t first,
		       uint64_t len, const char *part, struct pp_file *out, char md5[33],
		       struct pp_error *err)
{
	pp_client *c = r->srv->gw->client;
	pp_download *d = NULL;
	pp_upload *u = NULL;
	struct pp_file g;
	struct s3_cksum h;
	uint8_t *buf = malloc(COPY_READ_BYTES);
	int rc = buf ? s3_cksum_init(&h, CK_MD5) : PP_EINTERNAL;
	if (rc == PP_OK)
		rc = pp_download_open(c, source, first, len, &d, &g, err);
	if (rc == PP_OK && strcmp(g.sha256, src_sha) != 0) {
		err->code = rc = PP_ECONFLICT;
		snprintf(err->message, sizeof(err->message), "PreconditionFailed: the source changed");
	}
	struct pp_put_options opt = {.name = part};
	if (rc == PP_OK)
		rc = pp_upload_begin(c, &opt, len, &u, err);
	while (rc == PP_OK) {
		size_t got = 0;
		rc = pp_download_read(d, buf, COPY_READ_BYTES, &got, err);
		if (rc != PP_OK || got == 0)
			break;
		s3_cksum_update(&h, buf, got);
		rc = pp_upload_write(u, buf, got, err);
	}
	if (rc == PP_OK) {
		uint8_t dig[32];
		hex_encode(dig, s3_cksum_final(&h, dig), md5);
		struct s3_meta m;
		s3_meta_init(&m);
		m.present = true;
		snprintf(m.m.etag, sizeof(m.m.etag), "%s", md5);
		rc = pp_upload_commit_meta(u, &m.m, "", out, err);
		u = NULL;
	}
	if (u != NULL)
		pp_upload_abort(u);
	pp_download_close(d);
	if (buf != NULL)
		s3_cksum_free(&h);
	free(buf);
	return rc;
}

enum MHD_Result s3_upload_part_copy(struct s3_req *r)
{
	enum MHD_Result res;
	struct s3_parts p;
	struct s3_object src;
	struct s3_fail f = {0};
	struct pp_error err = {0};
	char *source = NULL;
	unsigned n;
	s3_meta_init(&src.meta);
	memset(&p, 0, sizeof(p));
	if (!part_number(r, &n, &res) || !upload_of(r, &p, 0, 1, &res))
		goto out;
	if (s3_copy_source(r, &source, &f) != PP_OK) {
		res = s3_reply_error(r, &f);
		goto out;
	}
	char sbucket[S3_BUCKET_MAX + 1];
	snprintf(sbucket, sizeof(sbucket), "%.*s", (int)strcspn(source, "/"), source);
	if (s3_rpc_head(r->srv->gw->client, source, sbucket, &src, &err) != PP_OK) {
		res = s3_reply_pp(r, &err, "NoSuchKey");
		goto out;
	}
	if (!s3_copy_preconditions(r, &src, &f)) {
		res = s3_reply_error(r, &f);
		goto out;
	}
	uint64_t first = 0, len = src.file.size;
	const char *range = s3_header(r, "x-amz-copy-source-range");
	if (range != NULL && !copy_range(range, src.file.size, &first, &len)) {
		res = s3_reply_fail(r, "InvalidArgument", "Range specified is not valid for source object of size: %" PRIu64,
				    src.file.size);
		goto out;
	}
	char part[S3_PART_NAME_MAX], md5[33] = "";
	s3_part_name(p.upload.id, n, part, sizeof(part));
	struct pp_file out;
	const char *etag = src.meta.m.etag;
	bool whole = first == 0 && len == src.file.size;
	int rc;
	if (whole && strlen(etag) == 32) {
		/* The whole object with a plain MD5: the part is its chunks. */
		struct s3_meta m;
		struct s3_object made;
		s3_meta_init(&m);
		m.present = true;
		snprintf(m.m.etag, sizeof(m.m.etag), "%s", etag);
		rc = s3_rpc_copy(r->srv->gw->client, source, part, &m, "", src.file.sha256, &made, &err);
		out = made.file;
		memcpy(md5, etag, 33); /* 32 hex digits, checked above */
		s3_object_clear(&made);
	} else {
		rc = stream_copy(r, source, src.file.sha256, first, len, part, &out, md5, &err);
	}
	if (rc != PP_OK) {
		res = s3_reply_pp(r, &err, "NoSuchUpload");
		goto out;
	}
	log_info("s3_part_copied", "source=%s part=%s bytes=%" PRIu64 " moved=%s", log_q(source), log_q(part), len,
		 whole && strlen(etag) == 32 ? "no" : "yes");
	char date[40], quoted[96];
	s3_iso_date(out.created_at_ms, date, sizeof(date));
	s3_etag(md5, out.sha256, quoted, sizeof(quoted));
	struct s3x *x = s3x_begin("CopyPartResult", true);
	if (x != NULL) {
		s3x_text(x, "LastModified", date);
		s3x_text(x, "ETag", quoted);
	}
	res = s3_reply_xml(r, MHD_HTTP_OK, x);
out:
	s3_parts_clear(&p);
	s3_object_clear(&src);
	free(source);
	return res;
}

enum MHD_Result s3_abort_upload(struct s3_req *r)
{
	enum MHD_Result res;
	struct s3_parts p;
	bool ok = upload_of(r, &p, 0, 1, &res);
	s3_parts_clear(&p);
	if (!ok)
		return res;
	struct pp_error err = {0};
	if (s3_rpc_mpu_abort(r->srv->gw->client, s3_query(r, "uploadId"), &err) != PP_OK)
		return s3_reply_pp(r, &err, "NoSuchUpload");
	log_info("s3_upload_aborted", "name=%s upload=%s", log_q(r->name), log_q(s3_query(r, "uploadId")));
	return s3_reply_empty(r, MHD_HTTP_NO_CONTENT);
}

enum MHD_Result s3_list_parts(struct s3_req *r)
{
	enum MHD_Result res;
	const char *mp = s3_query(r, "max-parts"), *pm = s3_query(r, "part-number-marker");
	char *end = NULL;
	long max = mp ? strtol(mp, &end, 10) : PARTS_PAGE;
	if ((mp && (*mp == '\0' || *end != '\0' || max < 0)))
		return s3_reply_fail(r, "InvalidArgument", "max-parts must be a non-negative number");
	long after = pm ? strtol(pm, &end, 10) : 0;
	if ((pm && (*pm == '\0' || *end != '\0' || after < 0 || after > S3_PART_MAX)))
		return s3_reply_fail(r, "InvalidArgument", "part-number-marker must be 0..10000");
	if (max > PARTS_PAGE)
		max = PARTS_PAGE;
	struct s3_parts p;
	if (!upload_of(r, &p, (unsigned)after, max ? (uint32_t)max : 1, &res))
		goto out;
	if (max == 0)
		p.n = 0;
	struct s3x *x = s3x_begin("ListPartsResult", true);
	if (x != NULL) {
		s3x_text(x, "Bucket", r->bucket);
		s3x_text(x, "Key", r->key);
		s3x_text(x, "UploadId", p.upload.id);
		s3_owner(x, "Initiator");
		s3_owner(x, "Owner");
		s3x_text(x, "StorageClass", "STANDARD");
		s3x_textf(x, "PartNumberMarker", "%ld", after);
		if (p.n > 0)
			s3x_textf(x, "NextPartNumberMarker", "%u", p.parts[p.n - 1].number);
		s3x_textf(x, "MaxParts", "%ld", max);
		s3x_text(x, "IsTruncated", p.truncated && max > 0 ? "true" : "false");
		for (size_t i = 0; i < p.n; i++) {
			char date[40], etag[96];
			s3_iso_date(p.parts[i].created_ms, date, sizeof(date));
			s3_etag(p.parts[i].etag, p.parts[i].sha256, etag, sizeof(etag));
			s3x_open(x, "Part");
			s3x_textf(x, "PartNumber", "%u", p.parts[i].number);
			s3x_text(x, "LastModified", date);
			s3x_text(x, "ETag", etag);
			s3x_textf(x, "Size", "%" PRIu64, p.parts[i].size);
			s3x_close(x);
		}
	}
	res = s3_reply_xml(r, MHD_HTTP_OK, x);
out:
	s3_parts_clear(&p);
	return res;
}
