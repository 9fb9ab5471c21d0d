/* The gateway's calls to the tracker's S3 RPCs (proto/pp/v1/rpc.proto,
 * "S3"), in nanopb over libppclient's transport (ppclient_ext.h), and the
 * gateway's form of S3 metadata.
 *
 * Ownership: every struct filled through an out-parameter owns its arrays
 * and is released with its *_clear/_free function, also after a failure. */
#ifndef PP_GATEWAY_S3_RPC_H
#define PP_GATEWAY_S3_RPC_H

#include "ppclient.h"
#include "pp/v1/rpc.pb.h"
#include "hash.h"
#include "s3names.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define S3_USER_META_MAX_BYTES 2048 /* names + values, as S3 */
#define S3_USER_META_MAX_COUNT 64

struct s3_pair {
	char *name;  /* lowercase, without x-amz-meta- */
	char *value;
};

/* Metadata of an object: the wire message's fixed fields plus the user
 * pairs, which nanopb reaches through a callback. */
struct s3_meta {
	pp_v1_FileMeta m;
	bool present;    /* the file has S3 metadata (not a ppctl/REST file) */
	struct s3_pair *user;
	size_t n_user, cap_user;
};

void s3_meta_init(struct s3_meta *m);
void s3_meta_clear(struct s3_meta *m);
int s3_meta_add_user(struct s3_meta *m, const char *name, const char *value);
/* Sets m->m.user's encoder to send m's pairs; call before sending. */
void s3_meta_bind_encode(struct s3_meta *m);

struct s3_object {
	struct pp_file file;
	struct s3_meta meta;
};
void s3_object_clear(struct s3_object *o);

struct s3_entry {
	char name[PP_NAME_MAX + 1];
	uint64_t size, version, chunk_count;
	uint32_t replication, chunk_size;
	int health; /* enum pp_file_health, when asked for */
	int64_t created_ms;
	char etag[80];
	char sha256[65];
};
struct s3_listing {
	struct s3_entry *entries;
	size_t n, cap;
	char **prefixes;
	size_t np, pcap;
	bool truncated;
	char next_after[PP_NAME_MAX + 1];
};
void s3_listing_clear(struct s3_listing *l);

struct s3_bucket {
	char name[S3_BUCKET_MAX + 1];
	int64_t created_ms;
};
struct s3_buckets {
	struct s3_bucket *items;
	size_t n, cap;
};

struct s3_part {
	unsigned number;
	uint64_t size;
	char etag[80];
	int64_t created_ms;
	char sha256[65];
};

struct s3_upload {
	char id[S3_UPLOAD_ID_LEN + 1];
	char bucket[S3_BUCKET_MAX + 1];
	char key[S3_KEY_MAX + 1];
	int64_t created_ms;
	uint32_t replication;
	struct s3_meta meta;
};

struct s3_parts {
	struct s3_upload upload;
	struct s3_part *parts;
	size_t n, cap;
	bool truncated;
};
void s3_parts_clear(struct s3_parts *p);

struct s3_uploads {
	struct s3_upload *items;
	size_t n, cap;
	char **prefixes;
	size_t np, pcap;
	bool truncated;
};
void s3_uploads_clear(struct s3_uploads *u);

/* bucket "" or the bucket that must exist (NoSuchBucket otherwise). */
int s3_rpc_head(pp_client *c, const char *name, const char *bucket, struct s3_object *out,
		struct pp_error *err);
/* Metadata-only copy; meta NULL keeps the source's; src_sha256 "" or the
 * content the source must still have (else PP_ECONFLICT). */
int s3_rpc_copy(pp_client *c, const char *source, const char *dest, struct s3_meta *meta,
		const char *bucket, const char *src_sha256, struct s3_object *out,
		struct pp_error *err);
/* op: pp_v1_BucketRequest_Op_*; out may be NULL except for LIST. */
int s3_rpc_bucket(pp_client *c, pp_v1_BucketRequest_Op op, const char *name,
		  struct s3_buckets *out, struct pp_error *err);
/* with_health also fills each entry's health (the web UI's folders). */
int s3_rpc_list(pp_client *c, const char *bucket, const char *prefix, const char *delimiter,
		const char *after, uint32_t max, bool with_health, struct s3_listing *out,
		struct pp_error *err);
int s3_rpc_mpu_create(pp_client *c, const char *bucket, const char *key, struct s3_meta *meta,
		      char upload_id[S3_UPLOAD_ID_LEN + 1], struct pp_error *err);
int s3_rpc_mpu_parts(pp_client *c, const char *upload_id, unsigned after, uint32_t max,
		     struct s3_parts *out, struct pp_error *err);
int s3_rpc_mpu_complete(pp_client *c, const char *upload_id, const struct s3_part *parts, size_t n,
			const char *sha256, uint64_t size, struct s3_object *out,
			struct pp_error *err);
int s3_rpc_mpu_abort(pp_client *c, const char *upload_id, struct pp_error *err);
int s3_rpc_mpu_list(pp_client *c, const char *bucket, const char *prefix, const char *delimiter,
		    const char *key_marker, const char *id_marker, uint32_t max,
		    struct s3_uploads *out, struct pp_error *err);

#endif
