/* What the tracker keeps for the S3 API beside the files (DESIGN.md, "S3
 * API"), in tables of its own so the core tables stay as they are:
 *
 *   file_meta(file_id -> files ON DELETE CASCADE, etag, meta)   S3 metadata
 *                                           of one version of a file
 *   upload_meta(upload_id -> uploads ON DELETE CASCADE, ...)    metadata an
 *                                           open upload will commit with
 *   s3_buckets(name, created_ms)
 *   s3_multipart(id, bucket, key, ...)      open multipart uploads (db_multipart.c)
 *
 * `meta` columns hold a packed pp.v1.FileMeta. Every function takes the
 * store's lock itself, except db_s3_on_commit, which runs inside the commit
 * transaction (db.c). */
#ifndef PP_TRACKER_DB_S3_H
#define PP_TRACKER_DB_S3_H

#include "db.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define S3_ETAG_MAX 80
#define S3_LIST_MAX 1000

/* Creates the tables; called by db_open. */
int db_s3_schema(struct db *db);

/* Metadata the upload commits with; bucket "" = no bucket check;
 * completes = the multipart upload this commit completes, or "". */
int db_s3_upload_meta_set(struct db *db, int64_t upload_id, const char *etag,
			  const uint8_t *meta, size_t meta_len, const char *bucket,
			  const char *completes);
/* Commit hook: stores the upload's metadata for file_id and enforces its
 * conditions (bucket exists; a part's upload is open; a completion happens
 * once). Lock held, inside the commit transaction. PP_ENOTFOUND with err. */
int db_s3_on_commit(struct db *db, int64_t upload_id, int64_t file_id, const char *name,
		    int64_t now_ms, char *err, size_t err_len);
/* Metadata read back from a record for the current file of `name`. */
int db_s3_meta_restore(struct db *db, const char *name, const uint8_t *meta, size_t meta_len);
/* A file's metadata (malloc'd packed FileMeta); PP_ENOTFOUND when none. */
int db_s3_meta_get(struct db *db, int64_t file_id, uint8_t **meta, size_t *meta_len);

/* Appends the chunks of file `source` to upload session `session` (a
 * metadata-only copy); want_sha256 "" or the content the source must still
 * have (else PP_ECONFLICT). *src gets the source as it was copied. */
int db_s3_stage_copy(struct db *db, int64_t session, const char *source, const char *want_sha256,
		     struct file_rec *src);

/* --- buckets --- */
struct s3_bucket_rec {
	char name[64];
	int64_t created_ms;
};
int db_s3_bucket_create(struct db *db, const char *name, int64_t now_ms); /* PP_ECONFLICT */
int db_s3_bucket_exists(struct db *db, const char *name);                 /* PP_ENOTFOUND */
/* PP_ECONFLICT while any file is named "name/..." */
int db_s3_bucket_delete(struct db *db, const char *name);
int db_s3_buckets(struct db *db, struct s3_bucket_rec **out, size_t *n);

/* --- listing files by name (ListObjects, the web UI's folders) --- */
struct s3_entry {
	char *name; /* owned by the result */
	int64_t file_id;
	uint64_t size, version, chunk_count;
	uint32_t replication, chunk_size;
	int64_t created_ms;
	char etag[S3_ETAG_MAX];
	char sha256[PP_SHA256_HEX];
};
struct s3_list_result {
	struct s3_entry *entries;
	size_t n;
	char **prefixes; /* common prefixes, owned */
	size_t np;
	bool truncated;
	char *next_after; /* owned; NULL when nothing was returned */
};
/* Names starting with prefix, strictly after `after`, in byte order; names
 * holding `delimiter` after the prefix roll up into common prefixes. At most
 * max entries + prefixes. Hidden names (s3names.h) never appear. */
int db_s3_list(struct db *db, const char *prefix, const char *delimiter, const char *after,
	       uint32_t max, struct s3_list_result *out);
void db_s3_list_free(struct s3_list_result *r);

/* The smallest string greater than every string starting with s (s with its
 * last byte incremented); false when there is none (s empty or all 0xff). */
bool db_s3_prefix_end(const char *s, char *out, size_t len);

#endif
