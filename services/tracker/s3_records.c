/* S3 metadata in metadata records; see s3_records.h. */
#define _GNU_SOURCE
#include "s3_records.h"
#include "db_s3.h"
#include "errors.h"
#include "log.h"
#include "s3names.h"
#include "timeutil.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#define META_BLOB_MAX (64u * 1024)

Pp__V1__MetaEntry *s3_record_entry(struct db *db, int64_t file_id)
{
	uint8_t *blob = NULL;
	size_t len = 0;
	if (db_s3_meta_get(db, file_id, &blob, &len) != PP_OK)
		return NULL;
	Pp__V1__MetaEntry *e = calloc(1, sizeof(*e));
	char *b64 = malloc(4 * ((len + 2) / 3) + 1);
	if (e == NULL || b64 == NULL) {
		free(e);
		free(b64);
		free(blob);
		return NULL;
	}
	EVP_EncodeBlock((unsigned char *)b64, blob, (int)len);
	free(blob);
	pp__v1__meta_entry__init(e);
	e->key = S3_RECORD_KEY;
	e->value = b64;
	return e;
}

void s3_record_entry_free(Pp__V1__MetaEntry *e)
{
	if (e == NULL)
		return;
	free(e->value);
	free(e);
}

int s3_record_restore(struct db *db, const char *name, const char *b64)
{
	size_t n = strlen(b64);
	if (n % 4 != 0 || n / 4 * 3 > META_BLOB_MAX)
		return PP_EINVAL;
	uint8_t *blob = malloc(n / 4 * 3 + 1);
	if (blob == NULL)
		return PP_EINTERNAL;
	int got = n ? EVP_DecodeBlock(blob, (const unsigned char *)b64, (int)n) : 0;
	if (got < 0) {
		free(blob);
		return PP_EINVAL;
	}
	size_t len = (size_t)got - (n && b64[n - 1] == '=') - (n > 1 && b64[n - 2] == '=');
	int rc = db_s3_meta_restore(db, name, blob, len);
	free(blob);
	char bucket[S3_BUCKET_MAX + 1];
	size_t bl = strcspn(name, "/");
	if (rc == PP_OK && !s3_name_hidden(name) && name[bl] == '/' && bl <= S3_BUCKET_MAX) {
		memcpy(bucket, name, bl);
		bucket[bl] = '\0';
		if (s3_bucket_check(bucket) == NULL && db_s3_bucket_create(db, bucket, time_wall_ms()) == PP_OK)
			log_info("bucket_restored", "bucket=%s", log_q(bucket));
	}
	return rc;
}
