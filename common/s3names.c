/* S3 naming rules and the reserved part namespace; see s3names.h. */
#define _GNU_SOURCE
#include "s3names.h"

#include <stdio.h>
#include <string.h>

static bool lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

static bool looks_like_ipv4(const char *s)
{
	int dots = 0, digits = 0;
	for (; *s; s++) {
		if (*s == '.') {
			if (digits == 0)
				return false;
			dots++;
			digits = 0;
		} else if (*s >= '0' && *s <= '9') {
			digits++;
		} else {
			return false;
		}
	}
	return dots == 3 && digits > 0;
}

const char *s3_bucket_check(const char *name)
{
	if (name == NULL)
		return "no bucket name";
	size_t n = strlen(name);
	if (n < S3_BUCKET_MIN || n > S3_BUCKET_MAX)
		return "a bucket name has 3 to 63 characters";
	for (size_t i = 0; i < n; i++)
		if (!lower_alnum(name[i]) && name[i] != '.' && name[i] != '-')
			return "a bucket name has only lowercase letters, digits, '.' and '-'";
	if (!lower_alnum(name[0]) || !lower_alnum(name[n - 1]))
		return "a bucket name starts and ends with a letter or digit";
	if (strstr(name, "..") != NULL)
		return "a bucket name has no two adjacent periods";
	if (looks_like_ipv4(name))
		return "a bucket name is not an IP address";
	return NULL;
}

bool s3_upload_id_valid(const char *id)
{
	if (id == NULL || strlen(id) != S3_UPLOAD_ID_LEN)
		return false;
	return strspn(id, "0123456789abcdef") == S3_UPLOAD_ID_LEN;
}

bool s3_part_name(const char *upload_id, unsigned part, char *out, size_t len)
{
	if (!s3_upload_id_valid(upload_id) || part < S3_PART_MIN || part > S3_PART_MAX)
		return false;
	int w = snprintf(out, len, "%s%s/%05u", S3_UPLOADS_PREFIX, upload_id, part);
	return w > 0 && (size_t)w < len;
}

bool s3_part_name_parse(const char *name, char *upload_id, unsigned *part)
{
	size_t pl = strlen(S3_UPLOADS_PREFIX);
	if (strncmp(name, S3_UPLOADS_PREFIX, pl) != 0 || strlen(name) != pl + S3_UPLOAD_ID_LEN + 6)
		return false;
	const char *id = name + pl, *num = id + S3_UPLOAD_ID_LEN + 1;
	if (id[S3_UPLOAD_ID_LEN] != '/' || strspn(num, "0123456789") != 5)
		return false;
	memcpy(upload_id, id, S3_UPLOAD_ID_LEN);
	upload_id[S3_UPLOAD_ID_LEN] = '\0';
	if (!s3_upload_id_valid(upload_id))
		return false;
	unsigned p = 0;
	for (int i = 0; i < 5; i++)
		p = p * 10 + (unsigned)(num[i] - '0');
	if (p < S3_PART_MIN || p > S3_PART_MAX)
		return false;
	*part = p;
	return true;
}

bool s3_name_hidden(const char *name)
{
	return strncmp(name, S3_UPLOADS_PREFIX, strlen(S3_UPLOADS_PREFIX)) == 0;
}
