/* Names the S3 API shares between the gateway and the tracker (DESIGN.md,
 * "S3 API"): bucket naming rules, and where multipart parts live.
 *
 * An object `key` in `bucket` is the file `bucket/key`. Parts of multipart
 * uploads are files named ".s3-uploads/UPLOADID/NNNNN" (32 lowercase hex,
 * part number zero-padded to 5 digits so name order is number order). No
 * bucket can start with ".", and every listing hides that prefix. */
#ifndef PP_COMMON_S3NAMES_H
#define PP_COMMON_S3NAMES_H

#include <stdbool.h>
#include <stddef.h>

#define S3_UPLOADS_PREFIX ".s3-uploads/"
#define S3_UPLOADS_GLOB ".s3-uploads/*" /* the same, as an SQL GLOB pattern */
#define S3_UPLOAD_ID_LEN 32
#define S3_PART_MIN 1
#define S3_PART_MAX 10000
#define S3_BUCKET_MIN 3
#define S3_BUCKET_MAX 63
#define S3_KEY_MAX 1024
#define S3_PART_NAME_MAX (sizeof(S3_UPLOADS_PREFIX) + S3_UPLOAD_ID_LEN + 1 + 5)

/* NULL when `name` follows S3's bucket rules (3-63 characters: lowercase
 * letters, digits, '.' and '-', starting and ending with a letter or digit,
 * no "..", not an IPv4 address), else the reason. */
const char *s3_bucket_check(const char *name);
bool s3_upload_id_valid(const char *id);
/* Writes ".s3-uploads/ID/NNNNN"; false when id or part is out of range. */
bool s3_part_name(const char *upload_id, unsigned part, char *out, size_t len);
/* Splits a part name; false if `name` is not one. id has room for 33. */
bool s3_part_name_parse(const char *name, char *upload_id, unsigned *part);
/* Whether a file name lies in the reserved namespace no listing shows. */
bool s3_name_hidden(const char *name);

#endif
