/* Bucket operations: ListBuckets, CreateBucket, HeadBucket, DeleteBucket,
 * GetBucketLocation, and the answers for configurations this store does
 * not have (versioning off, one owner, no policy/CORS/lifecycle...).
 * Buckets live in the tracker (db_s3.c); a bucket is the first segment of
 * the names of its objects' files. */
#define _GNU_SOURCE
#include "s3_request.h"
#include "s3_xml.h"

#include "errors.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S3_REGION "us-east-1" /* what GetBucketLocation's empty answer means */

enum MHD_Result s3_list_buckets(struct s3_req *r)
{
	struct s3_buckets b = {0};
	struct pp_error err = {0};
	if (s3_rpc_bucket(r->srv->gw->client, pp_v1_BucketRequest_Op_LIST, "", &b, &err) != PP_OK) {
		free(b.items);
		return s3_reply_pp(r, &err, "NoSuchBucket");
	}
	struct s3x *x = s3x_begin("ListAllMyBucketsResult", true);
	if (x != NULL) {
		s3_owner(x, "Owner");
		s3x_open(x, "Buckets");
		for (size_t i = 0; i < b.n; i++) {
			char date[40];
			s3_iso_date(b.items[i].created_ms, date, sizeof(date));
			s3x_open(x, "Bucket");
			s3x_text(x, "Name", b.items[i].name);
			s3x_text(x, "CreationDate", date);
			s3x_close(x);
		}
		s3x_close(x);
	}
	free(b.items);
	return s3_reply_xml(r, MHD_HTTP_OK, x);
}

enum MHD_Result s3_create_bucket(struct s3_req *r)
{
	char location[64];
	if (!s3_xml_parse_create_bucket(r->xml ? r->xml : "", r->xml_len, location, sizeof(location)))
		return s3_reply_fail(r, "MalformedXML", NULL);
	struct pp_error err = {0};
	int rc = s3_rpc_bucket(r->srv->gw->client, pp_v1_BucketRequest_Op_CREATE, r->bucket, NULL, &err);
	if (rc == PP_ECONFLICT)
		return s3_reply_fail(r, "BucketAlreadyOwnedByYou", NULL);
	if (rc == PP_EINVAL)
		return s3_reply_fail(r, "InvalidBucketName", "%s", err.message);
	if (rc != PP_OK)
		return s3_reply_pp(r, &err, "NoSuchBucket");
	log_info("s3_bucket_created", "bucket=%s location=%s", log_q(r->bucket),
		 log_q(location[0] ? location : "-"));
	struct MHD_Response *resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
	char loc[80];
	snprintf(loc, sizeof(loc), "/%s", r->bucket);
	if (resp != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, loc);
	return s3_reply(r, MHD_HTTP_OK, resp);
}

/* Replies NoSuchBucket itself when the bucket is missing. */
static bool bucket_ok(struct s3_req *r, enum MHD_Result *res)
{
	struct pp_error err = {0};
	if (s3_rpc_bucket(r->srv->gw->client, pp_v1_BucketRequest_Op_HEAD, r->bucket, NULL, &err) == PP_OK)
		return true;
	*res = s3_reply_pp(r, &err, "NoSuchBucket");
	return false;
}

enum MHD_Result s3_head_bucket(struct s3_req *r)
{
	enum MHD_Result res;
	if (!bucket_ok(r, &res))
		return res;
	struct MHD_Response *resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
	if (resp != NULL)
		MHD_add_response_header(resp, "x-amz-bucket-region", S3_REGION);
	return s3_reply(r, MHD_HTTP_OK, resp);
}

enum MHD_Result s3_delete_bucket(struct s3_req *r)
{
	struct pp_error err = {0};
	int rc = s3_rpc_bucket(r->srv->gw->client, pp_v1_BucketRequest_Op_DELETE, r->bucket, NULL, &err);
	if (rc == PP_ECONFLICT)
		return s3_reply_fail(r, "BucketNotEmpty", NULL);
	if (rc != PP_OK)
		return s3_reply_pp(r, &err, "NoSuchBucket");
	log_info("s3_bucket_deleted", "bucket=%s", log_q(r->bucket));
	return s3_reply_empty(r, MHD_HTTP_NO_CONTENT);
}

enum MHD_Result s3_bucket_location(struct s3_req *r)
{
	enum MHD_Result res;
	if (!bucket_ok(r, &res))
		return res;
	/* Empty means us-east-1, as S3 answers for it. */
	struct s3x *x = s3x_begin("LocationConstraint", true);
	return s3_reply_xml(r, MHD_HTTP_OK, x);
}

enum MHD_Result s3_bucket_versioning(struct s3_req *r)
{
	enum MHD_Result res;
	if (!bucket_ok(r, &res))
		return res;
	return s3_reply_xml(r, MHD_HTTP_OK, s3x_begin("VersioningConfiguration", true));
}

enum MHD_Result s3_bucket_acl(struct s3_req *r)
{
	enum MHD_Result res;
	return bucket_ok(r, &res) ? s3_acl_reply(r) : res;
}

/* A bucket configuration that is never set: S3's "not found" code for it,
 * or its empty document. */
enum MHD_Result s3_bucket_unset_config(struct s3_req *r)
{
	static const struct {
		const char *sub, *code, *empty_root;
	} answers[] = {
		{"policy", "NoSuchBucketPolicy", NULL},
		{"policyStatus", "NoSuchBucketPolicy", NULL},
		{"cors", "NoSuchCORSConfiguration", NULL},
		{"lifecycle", "NoSuchLifecycleConfiguration", NULL},
		{"tagging", "NoSuchTagSet", NULL},
		{"website", "NoSuchWebsiteConfiguration", NULL},
		{"encryption", "ServerSideEncryptionConfigurationNotFoundError", NULL},
		{"object-lock", "ObjectLockConfigurationNotFoundError", NULL},
		{"replication", "ReplicationConfigurationNotFoundError", NULL},
		{"ownershipControls", "OwnershipControlsNotFoundError", NULL},
		{"publicAccessBlock", "NoSuchPublicAccessBlockConfiguration", NULL},
		{"logging", NULL, "BucketLoggingStatus"},
		{"notification", NULL, "NotificationConfiguration"},
		{"accelerate", NULL, "AccelerateConfiguration"},
		{"requestPayment", NULL, "RequestPaymentConfiguration"},
	};
	enum MHD_Result res;
	if (!bucket_ok(r, &res))
		return res;
	for (size_t i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
		if (!s3_query_has(r, answers[i].sub))
			continue;
		if (answers[i].code != NULL)
			return s3_reply_fail(r, answers[i].code, NULL);
		struct s3x *x = s3x_begin(answers[i].empty_root, true);
		if (x != NULL && strcmp(answers[i].sub, "requestPayment") == 0)
			s3x_text(x, "Payer", "BucketOwner");
		return s3_reply_xml(r, MHD_HTTP_OK, x);
	}
	return s3_reply_fail(r, "NotImplemented", NULL);
}
