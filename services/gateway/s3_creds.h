/* S3 credentials (--s3-credentials): one `ACCESS_KEY SECRET read|write` per
 * line, `#` comments and blank lines ignored. A write key may also read.
 * Secrets never leave this module except to derive SigV4 signing keys; the
 * file must not be readable by others (like the cluster key file). The
 * table is immutable after load: lookups need no lock. */
#ifndef PP_GATEWAY_S3_CREDS_H
#define PP_GATEWAY_S3_CREDS_H

#include <stddef.h>

#define S3_ACCESS_KEY_MAX 128
#define S3_SECRET_MAX 128
#define S3_CREDS_MAX 1024

enum s3_access { S3_ACCESS_NONE = 0, S3_ACCESS_READ = 1, S3_ACCESS_WRITE = 2 };

struct s3_creds;

/* PP_EINVAL with a sentence in err for an unusable file. */
int s3_creds_load(const char *path, struct s3_creds **out, char *err, size_t err_len);
int s3_creds_parse(const char *text, struct s3_creds **out, char *err, size_t err_len);
void s3_creds_free(struct s3_creds *c);
size_t s3_creds_count(const struct s3_creds *c);
/* The secret of an access key and what it may do; NULL when unknown. */
const char *s3_creds_lookup(const struct s3_creds *c, const char *access_key,
			    enum s3_access *access);

#endif
