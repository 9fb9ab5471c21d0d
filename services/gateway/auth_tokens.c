/* Bearer token table; see auth_tokens.h. Tokens are compared in constant
 * time over the whole table so a response's timing does not reveal how much
 * of a guessed token matched, nor which entry. */
#define _GNU_SOURCE
#include "auth_tokens.h"

#include "ppclient.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN_FILE_MAX (1u << 20)

struct token_entry {
	char token[TOKEN_MAX_BYTES + 1];
	size_t len;
	enum token_scope scope;
};

struct token_table {
	size_t count;
	struct token_entry *entries; /* owned */
};

static bool token_char_ok(char c) { return c > 0x20 && c < 0x7f; }

static int parse_line(char *line, int lineno, struct token_table *t, char *err, size_t err_len)
{
	char *p = line;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0' || *p == '#')
		return PP_OK;
	char *tok = p;
	while (*p && *p != ' ' && *p != '\t')
		p++;
	size_t tlen = (size_t)(p - tok);
	while (*p == ' ' || *p == '\t')
		p++;
	char *scope = p;
	while (*p && *p != ' ' && *p != '\t' && *p != '#')
		p++;
	size_t slen = (size_t)(p - scope);
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != '\0' && *p != '#') {
		snprintf(err, err_len, "line %d: expected `TOKEN read|write`", lineno);
		return PP_EINVAL;
	}
	enum token_scope s;
	if (slen == 4 && strncmp(scope, "read", 4) == 0)
		s = TOKEN_READ;
	else if (slen == 5 && strncmp(scope, "write", 5) == 0)
		s = TOKEN_WRITE;
	else {
		snprintf(err, err_len, "line %d: scope must be read or write", lineno);
		return PP_EINVAL;
	}
	if (tlen < 8 || tlen > TOKEN_MAX_BYTES) {
		snprintf(err, err_len, "line %d: a token must be 8 to %d characters", lineno,
			 TOKEN_MAX_BYTES);
		return PP_EINVAL;
	}
	for (size_t i = 0; i < tlen; i++)
		if (!token_char_ok(tok[i])) {
			snprintf(err, err_len, "line %d: a token must be printable ASCII", lineno);
			return PP_EINVAL;
		}
	if (t->count >= TOKEN_MAX_COUNT) {
		snprintf(err, err_len, "more than %d tokens", TOKEN_MAX_COUNT);
		return PP_EINVAL;
	}
	struct token_entry *e = &t->entries[t->count++];
	memcpy(e->token, tok, tlen);
	e->token[tlen] = '\0';
	e->len = tlen;
	e->scope = s;
	return PP_OK;
}

int token_table_parse(const char *text, struct token_table **out, char *err, size_t err_len)
{
	int rc = PP_EINTERNAL;
	char *copy = strdup(text);
	struct token_table *t = calloc(1, sizeof(*t));
	if (t != NULL)
		t->entries = calloc(TOKEN_MAX_COUNT, sizeof(*t->entries));
	if (copy == NULL || t == NULL || t->entries == NULL) {
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
		rc = parse_line(cur, lineno, t, err, err_len);
		if (rc != PP_OK)
			goto out;
		cur = nl ? nl + 1 : NULL;
	}
	if (t->count == 0) {
		snprintf(err, err_len, "no tokens in the file");
		rc = PP_EINVAL;
		goto out;
	}
	*out = t;
	t = NULL;
	rc = PP_OK;
out:
	token_table_free(t);
	free(copy);
	return rc;
}

int token_table_load(const char *path, struct token_table **out, char *err, size_t err_len)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		snprintf(err, err_len, "cannot open %s: %m", path);
		return PP_EINVAL;
	}
	char *buf = malloc(TOKEN_FILE_MAX + 1);
	int rc = PP_EINVAL;
	if (buf == NULL) {
		snprintf(err, err_len, "out of memory");
		goto out;
	}
	size_t n = fread(buf, 1, TOKEN_FILE_MAX + 1, f);
	if (ferror(f) || n > TOKEN_FILE_MAX) {
		snprintf(err, err_len, "%s: unreadable or larger than %u bytes", path, TOKEN_FILE_MAX);
		goto out;
	}
	buf[n] = '\0';
	if (strlen(buf) != n) {
		snprintf(err, err_len, "%s contains a NUL byte", path);
		goto out;
	}
	rc = token_table_parse(buf, out, err, err_len);
out:
	free(buf);
	fclose(f);
	return rc;
}

void token_table_free(struct token_table *t)
{
	if (t == NULL)
		return;
	if (t->entries)
		explicit_bzero(t->entries, TOKEN_MAX_COUNT * sizeof(*t->entries));
	free(t->entries);
	free(t);
}

size_t token_table_count(const struct token_table *t) { return t ? t->count : 0; }

enum token_scope token_lookup(const struct token_table *t, const char *token)
{
	if (t == NULL || token == NULL)
		return TOKEN_NONE;
	size_t len = strnlen(token, TOKEN_MAX_BYTES + 1);
	if (len == 0 || len > TOKEN_MAX_BYTES)
		return TOKEN_NONE;
	enum token_scope best = TOKEN_NONE;
	for (size_t i = 0; i < t->count; i++) {
		const struct token_entry *e = &t->entries[i];
		unsigned diff = (unsigned)(e->len ^ len);
		for (size_t k = 0; k < TOKEN_MAX_BYTES; k++)
			diff |= (unsigned char)(e->token[k] ^ (k < len ? token[k] : 0));
		if (diff == 0 && e->scope > best)
			best = e->scope;
	}
	return best;
}

enum token_scope token_from_header(const struct token_table *t, const char *authorization)
{
	if (authorization == NULL || strncasecmp(authorization, "Bearer ", 7) != 0)
		return TOKEN_NONE;
	const char *p = authorization + 7;
	while (*p == ' ')
		p++;
	char tok[TOKEN_MAX_BYTES + 1];
	size_t n = 0;
	while (p[n] && p[n] != ' ' && n < TOKEN_MAX_BYTES)
		n++;
	if (p[n] != '\0' && p[n] != ' ')
		return TOKEN_NONE;
	memcpy(tok, p, n);
	tok[n] = '\0';
	return token_lookup(t, tok);
}
