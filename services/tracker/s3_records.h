/* S3 metadata in the metadata records (DESIGN.md, "Metadata recovery"):
 * a file's S3 metadata travels in its FileRecord as the entry "s3" (base64
 * of the packed pp.v1.FileMeta of db_s3.h), so a tracker rebuilt from the
 * workers' records gets back each object's ETag, content headers and user
 * metadata, and the buckets its objects lie in. Multipart uploads in flight
 * are not recorded: after a rebuild their parts are collected as orphans. */
#ifndef PP_TRACKER_S3_RECORDS_H
#define PP_TRACKER_S3_RECORDS_H

#include "db.h"
#include "pp/v1/meta.pb-c.h"

#define S3_RECORD_KEY "s3"

/* The entry for file_id's S3 metadata; NULL when it has none. Free with
 * s3_record_entry_free. */
Pp__V1__MetaEntry *s3_record_entry(struct db *db, int64_t file_id);
void s3_record_entry_free(Pp__V1__MetaEntry *e);
/* A restored file's S3 metadata (value of its "s3" entry), and its bucket
 * when the name lies in one. */
int s3_record_restore(struct db *db, const char *name, const char *b64);

#endif
