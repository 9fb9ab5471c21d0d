/* The tracker's S3 routes (rpc.proto, "S3"): object metadata, metadata-only
 * copies, buckets and name-ordered listings (handlers_s3.c), multipart
 * uploads (handlers_multipart.c). Inputs are checked here, at the edge:
 * bucket names, keys, metadata sizes (the bounds of rpc.options, so the
 * gateway's fixed-size decoder can always read what the tracker sends). */
#ifndef PP_TRACKER_HANDLERS_S3_H
#define PP_TRACKER_HANDLERS_S3_H

#include "pp/v1/rpc.pb-c.h"
#include "rpc_server.h"
#include "s3names.h"
#include "tracker.h"

#include <stdbool.h>

struct file_rec;

/* Commit hook: checks and stores the S3 metadata a CommitRequest carries;
 * false when it failed the call. */
bool s3_commit_meta(struct tracker *t, struct rpc_call *call, const Pp__V1__CommitRequest *q);
/* NULL when meta fits the bounds, else why not. */
const char *s3_meta_check(const Pp__V1__FileMeta *meta);
/* A packed FileMeta unpacked onto the call's memory; NULL when len is 0. */
Pp__V1__FileMeta *s3_meta_unpack(struct rpc_call *call, const uint8_t *data, size_t len);
/* Deletes a file the S3 layer owns (a multipart part) and writes its
 * tombstone record (retried in the background when workers are short). */
void s3_delete_file(struct tracker *t, const char *name, const char *why);
/* After an S3 commit: its metadata record durable on workers (DESIGN.md,
 * "Metadata recovery"); false, with the call failed, when not yet. */
bool s3_record_commit(struct tracker *t, struct rpc_call *call, const struct file_rec *f);
/* Removes a multipart upload's parts, and unless keep_row its record
 * (abort, expiry, bucket delete); PP_ENOTFOUND when there is no such
 * upload. A completed upload keeps its record a while (keep_row). */
int s3_multipart_drop(struct tracker *t, const char *upload_id, bool keep_row, const char *why);

void h_s3_object_head(void *svc, struct rpc_call *call);
void h_s3_object_copy(void *svc, struct rpc_call *call);
void h_s3_bucket(void *svc, struct rpc_call *call);
void h_s3_object_list(void *svc, struct rpc_call *call);
void h_s3_multipart_create(void *svc, struct rpc_call *call);
void h_s3_multipart_parts(void *svc, struct rpc_call *call);
void h_s3_multipart_complete(void *svc, struct rpc_call *call);
void h_s3_multipart_abort(void *svc, struct rpc_call *call);
void h_s3_multipart_list(void *svc, struct rpc_call *call);

/* Entries for tracker_routes (handlers.c). */
#define S3_ROUTES                                                                                 \
	{PP__V1__REQUEST__BODY_OBJECT_HEAD, h_s3_object_head, "object_head"},                     \
	{PP__V1__REQUEST__BODY_OBJECT_COPY, h_s3_object_copy, "object_copy"},                     \
	{PP__V1__REQUEST__BODY_BUCKET, h_s3_bucket, "bucket"},                                    \
	{PP__V1__REQUEST__BODY_OBJECT_LIST, h_s3_object_list, "object_list"},                     \
	{PP__V1__REQUEST__BODY_MULTIPART_CREATE, h_s3_multipart_create, "multipart_create"},      \
	{PP__V1__REQUEST__BODY_MULTIPART_PARTS, h_s3_multipart_parts, "multipart_parts"},         \
	{PP__V1__REQUEST__BODY_MULTIPART_COMPLETE, h_s3_multipart_complete, "multipart_complete"}, \
	{PP__V1__REQUEST__BODY_MULTIPART_ABORT, h_s3_multipart_abort, "multipart_abort"},         \
	{PP__V1__REQUEST__BODY_MULTIPART_LIST, h_s3_multipart_list, "multipart_list"},

#endif
