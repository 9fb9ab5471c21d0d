/* S3 credentials table; see s3_creds.h. */
#define _GNU_SOURCE
#include "s3_creds.h"
#include "errors.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CREDS_FILE_MAX (1u << 20)

struct s3_cred {
	char key[S3_ACCESS_KEY_MAX + 1];
	char secret[S3_SECRET_MAX + 1];
	enum s3_access access;
};

struct s3_creds {
	size_t count;
	struct s3_cred *entries; /* owned; S3_CREDS_MAX slots */
};

static bool printable(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

/* Splits the next blank-separated word off *p. */
static size_t word(char **p, char **start)
{
	while (**p == ' ' || **p == '\t')
		(*p)++;
	*start = *p;
	while (**p && **p != ' ' && **p != '\t')
		(*p)++;
	return (size_t)(*p - *start);
}

static int parse_line(char *line, int lineno, struct s3_creds *c, char *err, size_t err_len)
{
	char *p = line, *key, *secret, *scope, *rest;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0' || *p == '#')
		return PP_OK;
	size_t kl = word(&p, &key), sl = word(&p, &secret), al = word(&p, &scope);
	size_t rl = word(&p, &rest);
	if (kl == 0 || sl == 0 || al == 0 || (rl > 0 && rest[0] != '#')) {
		snprintf(err, err_len, "line %d: expected `ACCESS_KEY SECRET read|write`", lineno);
		return PP_EINVAL;
	}
	enum s3_access a;
	if (al == 4 && strncmp(scope, "read", 4) == 0)
		a = S3_ACCESS_READ;
	else if (al == 5 && strncmp(scope, "write", 5) == 0)
		a = S3_ACCESS_WRITE;
	else {
		snprintf(err, err_len, "line %d: access must be read or write", lineno);
		return PP_EINVAL;
	}
	if (kl < 3 || kl > S3_ACCESS_KEY_MAX || sl < 8 || sl > S3_SECRET_MAX || !printable(key, kl) ||
	    !printable(secret, sl) || memchr(key, '/', kl) != NULL) {
		snprintf(err, err_len,
			 "line %d: an access key has 3-%d printable characters without '/', a secret 8-%d",
			 lineno, S3_ACCESS_KEY_MAX, S3_SECRET_MAX);
		return PP_EINVAL;
	}
	for (size_t i = 0; i < c->count; i++)
		if (strlen(c->entries[i].key) == kl && strncmp(c->entries[i].key, key, kl) == 0) {
			snprintf(err, err_len, "line %d: access key %.*s appears twice", lineno, (int)kl, key);
			return PP_EINVAL;
		}
	if (c->count >= S3_CREDS_MAX) {
		snprintf(err, err_len, "more than %d credentials", S3_CREDS_MAX);
		return PP_EINVAL;
	}
	struct s3_cred *e = &c->entries[c->count++];
	memcpy(e->key, key, kl);
	memcpy(e->secret, secret, sl);
	e->access = a;
	return PP_OK;
}

int s3_creds_parse(const char *text, struct s3_creds **out, char *err, size_t err_len)
{
	int rc = PP_EINTERNAL;
	char *copy = strdup(text);
	struct s3_creds *c = calloc(1, sizeof(*c));
	if (c != NULL)
		c->entries = calloc(S3_CREDS_MAX, sizeof(*c->entries));
	if (copy == NULL || c == NULL || c->entries == NULL) {
		snprintf(err, err_len, "out of memory");
		goto out;
	}
	int lineno = 0;
	for (char *cur = copy; cur != NULL;) {
		char *nl = strchr(cur, '\n');
		if (nl)
			*nl = '\0';
		lineno++;
		size_t n = strlen(cur);
		if (n > 0 && cur[n - 1] == '\r')
			cur[n - 1] = '\0';
		rc = parse_line(cur, lineno, c, err, err_len);
		if (rc != PP_OK)
			goto out;
		cur = nl ? nl + 1 : NULL;
	}
	if (c->count == 0) {
		snprintf(err, err_len, "no credentials in the file");
		rc = PP_EINVAL;
		goto out;
	}
	*out = c;
	c = NULL;
	rc = PP_OK;
out:
	s3_creds_free(c);
	if (copy != NULL) {
		explicit_bzero(copy, strlen(copy));
		free(copy);
	}
	return rc;
}

int s3_creds_load(const char *path, struct s3_creds **out, char *err, size_t err_len)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		snprintf(err, err_len, "cannot open %s: %m", path);
		return PP_EINVAL;
	}
	struct stat st;
	char *buf = NULL;
	int rc = PP_EINVAL;
	if (fstat(fileno(f), &st) != 0 || (st.st_mode & S_IROTH)) {
		snprintf(err, err_len, "%s is readable by others (chmod 600 it)", path);
		goto out;
	}
	buf = malloc(CREDS_FILE_MAX + 1);
	if (buf == NULL) {
		snprintf(err, err_len, "out of memory");
		goto out;
	}
	size_t n = fread(buf, 1, CREDS_FILE_MAX + 1, f);
	if (ferror(f) || n > CREDS_FILE_MAX) {
		snprintf(err, err_len, "%s: unreadable or larger than %u bytes", path, CREDS_FILE_MAX);
		goto out;
	}
	buf[n] = '\0';
	if (strlen(buf) != n) {
		snprintf(err, err_len, "%s contains a NUL byte", path);
		goto out;
	}
	rc = s3_creds_parse(buf, out, err, err_len);
	explicit_bzero(buf, n);
out:
	free(buf);
	fclose(f);
	return rc;
}

void s3_creds_free(struct s3_creds *c)
{
	if (c == NULL)
		return;
	if (c->entries)
		explicit_bzero(c->entries, S3_CREDS_MAX * sizeof(*c->entries));
	free(c->entries);
	free(c);
}

size_t s3_creds_count(const struct s3_creds *c) { return c ? c->count : 0; }

const char *s3_creds_lookup(const struct s3_creds *c, const char *access_key,
			    enum s3_access *access)
{
	*access = S3_ACCESS_NONE;
	for (size_t i = 0; c != NULL && access_key != NULL && i < c->count; i++)
		if (strcmp(c->entries[i].key, access_key) == 0) {
			*access = c->entries[i].access;
			return c->entries[i].secret;
		}
	return NULL;
}
