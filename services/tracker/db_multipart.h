/* S3 multipart uploads in the tracker's store (DESIGN.md, "S3 API").
 *
 * An upload is a row of s3_multipart (state 0 open, 1 completed); its parts
 * are ordinary files named ".s3-uploads/ID/NNNNN" (common/s3names.h) with
 * their MD5 in file_meta, so they are replicated and repaired like any file
 * and survive restarts of gateway and tracker. Completing stages the parts'
 * chunk lists, in order, as the chunk list of a normal upload session, which
 * db_upload_commit then commits: no chunk is copied. */
#ifndef PP_TRACKER_DB_MULTIPART_H
#define PP_TRACKER_DB_MULTIPART_H

#include "db.h"
#include "db_s3.h"
#include "s3names.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum mpu_state { MPU_OPEN = 0, MPU_COMPLETED = 1 };

struct mpu_rec {
	char id[S3_UPLOAD_ID_LEN + 1];
	char bucket[S3_BUCKET_MAX + 1];
	char key[S3_KEY_MAX + 1];
	int64_t created_ms, active_ms;
	uint32_t replication;
	int state; /* enum mpu_state */
	uint8_t *meta; /* packed pp.v1.FileMeta, owned; free with mpu_rec_clear */
	size_t meta_len;
};

struct mpu_part {
	unsigned number;
	int64_t file_id;
	uint64_t size, chunk_count;
	int64_t created_ms;
	char etag[S3_ETAG_MAX];
	char sha256[PP_SHA256_HEX];
};

/* PP_ENOTFOUND when the bucket does not exist. */
int db_mpu_create(struct db *db, const char *id, const char *bucket, const char *key,
		  const uint8_t *meta, size_t meta_len, uint32_t replication, int64_t now_ms);
int db_mpu_get(struct db *db, const char *id, struct mpu_rec *out); /* PP_ENOTFOUND */
void mpu_rec_clear(struct mpu_rec *r);
/* Parts numbered after `after`, in order, at most max; *truncated if more. */
int db_mpu_parts(struct db *db, const char *id, unsigned after, uint32_t max,
		 struct mpu_part **out, size_t *n, bool *truncated);
/* Open uploads of bucket whose key starts with prefix, after (key_marker,
 * id_marker) in (key, creation) order; with a delimiter, keys roll up into
 * common prefixes as in ListObjects. At most max uploads + prefixes. */
int db_mpu_list(struct db *db, const char *bucket, const char *prefix, const char *delimiter,
		const char *key_marker, const char *id_marker, uint32_t max, struct mpu_rec **out,
		size_t *n, char ***prefixes, size_t *np, bool *truncated);
void db_mpu_list_free(struct mpu_rec *r, size_t n, char **prefixes, size_t np);
/* Appends the chunks of the part files (by file id, in the given order) to
 * upload session `session`; each must still be the part it was listed as.
 * PP_ECONFLICT when a part changed. */
int db_mpu_stage(struct db *db, int64_t session, const char *id, const struct mpu_part *parts,
		 size_t n, uint64_t *chunk_count);
/* Names of every part file of the upload (to delete them). */
int db_mpu_part_names(struct db *db, const char *id, char ***names, size_t *n);
int db_mpu_forget(struct db *db, const char *id);
/* Uploads to collect: open ones idle since before open_cutoff_ms, completed
 * ones completed before done_cutoff_ms (kept a while so a client retrying
 * its completion gets its object rather than NoSuchUpload). */
int db_mpu_collectable(struct db *db, int64_t open_cutoff_ms, int64_t done_cutoff_ms, size_t max,
		       char (**ids)[S3_UPLOAD_ID_LEN + 1], size_t *n);
/* Part files whose upload no longer exists or was completed (at most max
 * names): left by a crash between a commit and its clean-up. */
int db_mpu_orphan_parts(struct db *db, size_t max, char ***names, size_t *n);
void db_names_free(char **names, size_t n);

#endif
