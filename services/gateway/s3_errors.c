/* S3 error table; see s3_errors.h. Codes and statuses are S3's
 * (docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html). */
#define _GNU_SOURCE
#include "s3_errors.h"
#include "errors.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
	const char *code;
	unsigned status;
	const char *message;
} errors[] = {
	{"AccessDenied", 403, "Access Denied"},
	{"AuthorizationHeaderMalformed", 400, "The authorization header is malformed."},
	{"AuthorizationQueryParametersError", 400, "The presigned URL's X-Amz-* parameters are malformed."},
	{"BadDigest", 400, "The Content-MD5 or checksum you specified did not match what we received."},
	{"BucketAlreadyExists", 409, "The requested bucket name is not available."},
	{"BucketAlreadyOwnedByYou", 409, "Your previous request to create the named bucket succeeded and you already own it."},
	{"BucketNotEmpty", 409, "The bucket you tried to delete is not empty."},
	{"EntityTooLarge", 400, "Your proposed upload exceeds the maximum allowed object size."},
	{"EntityTooSmall", 400, "Your proposed upload is smaller than the minimum allowed object size."},
	{"IncompleteBody", 400, "You did not provide the number of bytes specified by the Content-Length HTTP header."},
	{"InternalError", 500, "We encountered an internal error. Please try again."},
	{"InvalidAccessKeyId", 403, "The AWS Access Key Id you provided does not exist in our records."},
	{"InvalidArgument", 400, "Invalid Argument"},
	{"InvalidBucketName", 400, "The specified bucket is not valid."},
	{"InvalidDigest", 400, "The Content-MD5 or checksum you specified is not valid."},
	{"InvalidPart", 400, "One or more of the specified parts could not be found."},
	{"InvalidPartOrder", 400, "The list of parts was not in ascending order."},
	{"InvalidRange", 416, "The requested range is not satisfiable"},
	{"InvalidRequest", 400, "Invalid Request"},
	{"KeyTooLongError", 400, "Your key is too long."},
	{"MalformedXML", 400, "The XML you provided was not well-formed or did not validate against our published schema."},
	{"MetadataTooLarge", 400, "Your metadata headers exceed the maximum allowed metadata size."},
	{"MethodNotAllowed", 405, "The specified method is not allowed against this resource."},
	{"MissingContentLength", 411, "You must provide the Content-Length HTTP header."},
	{"MissingSecurityHeader", 400, "Your request is missing a required header."},
	{"NoSuchBucket", 404, "The specified bucket does not exist."},
	{"NoSuchKey", 404, "The specified key does not exist."},
	{"NoSuchUpload", 404, "The specified multipart upload does not exist."},
	{"NoSuchBucketPolicy", 404, "The bucket policy does not exist."},
	{"NoSuchCORSConfiguration", 404, "The CORS configuration does not exist."},
	{"NoSuchLifecycleConfiguration", 404, "The lifecycle configuration does not exist."},
	{"NoSuchTagSet", 404, "The TagSet does not exist."},
	{"NoSuchWebsiteConfiguration", 404, "The specified bucket does not have a website configuration."},
	{"ServerSideEncryptionConfigurationNotFoundError", 404, "The server side encryption configuration was not found."},
	{"ObjectLockConfigurationNotFoundError", 404, "Object Lock configuration does not exist for this bucket."},
	{"OwnershipControlsNotFoundError", 404, "The bucket ownership controls were not found."},
	{"NoSuchPublicAccessBlockConfiguration", 404, "The public access block configuration was not found."},
	{"ReplicationConfigurationNotFoundError", 404, "The replication configuration was not found."},
	{"NotImplemented", 501, "A header or query you provided implies functionality that is not implemented."},
	{"NotModified", 304, "Not Modified"},
	{"PreconditionFailed", 412, "At least one of the preconditions you specified did not hold."},
	{"RequestTimeTooSkewed", 403, "The difference between the request time and the current time is too large."},
	{"ServiceUnavailable", 503, "Reduce your request rate."},
	{"SignatureDoesNotMatch", 403, "The request signature we calculated does not match the signature you provided. Check your key and signing method."},
	{"SlowDown", 503, "Please reduce your request rate."},
	{"XAmzContentSHA256Mismatch", 400, "The provided 'x-amz-content-sha256' header does not match what was computed."},
};

void s3_fail_set(struct s3_fail *f, const char *code, const char *fmt, ...)
{
	if (f->code != NULL)
		return;
	f->code = code;
	if (fmt == NULL) {
		snprintf(f->message, sizeof(f->message), "%s", s3_error_message(code));
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->message, sizeof(f->message), fmt, ap);
	va_end(ap);
}

unsigned s3_error_status(const char *code)
{
	for (size_t i = 0; code && i < sizeof(errors) / sizeof(errors[0]); i++)
		if (strcmp(errors[i].code, code) == 0)
			return errors[i].status;
	return 500;
}

const char *s3_error_message(const char *code)
{
	for (size_t i = 0; code && i < sizeof(errors) / sizeof(errors[0]); i++)
		if (strcmp(errors[i].code, code) == 0)
			return errors[i].message;
	return "We encountered an internal error. Please try again.";
}

/* The tracker names S3's code at the start of its S3 refusals
 * ("commit refused: NoSuchBucket: no bucket named ..."). */
static const char *code_in(const char *msg, const char **rest)
{
	for (size_t i = 0; msg != NULL && i < sizeof(errors) / sizeof(errors[0]); i++) {
		size_t n = strlen(errors[i].code);
		for (const char *p = strstr(msg, errors[i].code); p; p = strstr(p + 1, errors[i].code)) {
			if ((p == msg || p[-1] == ' ') && p[n] == ':') {
				*rest = p[n + 1] == ' ' ? p + n + 2 : p + n + 1;
				return errors[i].code;
			}
		}
	}
	return NULL;
}

void s3_fail_from_pp(struct s3_fail *f, int pp_code, const char *not_found, const char *detail)
{
	const char *rest = NULL, *named = code_in(detail, &rest);
	if (named != NULL) {
		s3_fail_set(f, named, "%s", rest);
		return;
	}
	if (pp_code == PP_ENOTFOUND) {
		s3_fail_set(f, not_found, NULL);
		return;
	}
	const char *code;
	switch (pp_code) {
	case PP_ENOTFOUND:
		code = not_found;
		break;
	case PP_EINVAL:
		code = "InvalidArgument";
		break;
	case PP_EUNAVAIL:
	case PP_ENOSPACE:
		code = "ServiceUnavailable";
		break;
	case PP_ECONFLICT:
		code = "PreconditionFailed";
		break;
	case PP_ETOOLARGE:
		code = "EntityTooLarge";
		break;
	default:
		code = "InternalError";
	}
	if (detail != NULL && detail[0] != '\0')
		s3_fail_set(f, code, "%s", detail);
	else
		s3_fail_set(f, code, NULL);
}
