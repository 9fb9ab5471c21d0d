/* Fuzz target: SigV4 verification of the S3 endpoint (services/gateway/
 * s3_sigv4.c). The input is a request: method, path, query pairs and
 * headers, separated by '\n' ('=' splits a pair, ':' a header). It is
 * authenticated three ways, none of which may crash or read out of bounds:
 * as sent (against a credential table and on an open endpoint), and signed
 * here with the right secret through the module's own canonical form —
 * which must then be accepted, so parsing and canonicalisation agree on
 * whatever the fuzzer puts in paths, queries and header values. */
#define _GNU_SOURCE
#include "errors.h"
#include "s3_creds.h"
#include "s3_sigv4.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECRET "fuzzsecret0123456789"
#define NOW 1700000000 /* 20231114T221320Z */
#define FIELDS_MAX 24

struct req {
	char *method, *path;
	struct s3_kv q[FIELDS_MAX];
	size_t nq;
	char *hn[FIELDS_MAX], *hv[FIELDS_MAX];
	size_t nh;
	char auth[1400];
};

static const char *lookup(void *ctx, const char *name)
{
	struct req *r = ctx;
	if (strcmp(name, "authorization") == 0)
		return r->auth[0] ? r->auth : NULL;
	for (size_t i = 0; i < r->nh; i++)
		if (strcmp(r->hn[i], name) == 0)
			return r->hv[i];
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	struct req r = {0};
	char *save = NULL;
	r.method = strtok_r(text, "\n", &save);
	r.path = strtok_r(NULL, "\n", &save);
	if (r.method == NULL || r.path == NULL) {
		free(text);
		return 0;
	}
	for (char *line; (line = strtok_r(NULL, "\n", &save)) != NULL;) {
		char *colon = strchr(line, ':'), *eq = strchr(line, '=');
		if (colon && (!eq || colon < eq) && r.nh < FIELDS_MAX) {
			*colon = '\0';
			for (char *p = line; *p; p++)
				*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
			/* These three are set below when the request is signed here. */
			if (strcmp(line, "authorization") != 0 && strcmp(line, "x-amz-date") != 0 &&
			    strcmp(line, "x-amz-content-sha256") != 0) {
				r.hn[r.nh] = line;
				r.hv[r.nh++] = colon + 1;
			}
		} else if (eq && r.nq < FIELDS_MAX) {
			*eq = '\0';
			r.q[r.nq++] = (struct s3_kv){line, eq + 1};
		}
	}
	static struct s3_creds *creds; /* once: the table is immutable */
	char err[128];
	if (creds == NULL && s3_creds_parse("FUZZKEY " SECRET " write\n", &creds, err, sizeof(err)) != PP_OK)
		abort();
	struct sigv4_input in = {r.method, r.path, r.q, r.nq, lookup, &r, NOW};
	struct sigv4_auth a;
	struct s3_fail f = {0};
	sigv4_authenticate(&in, creds, &a, &f);
	struct s3_fail g = {0};
	sigv4_authenticate(&in, NULL, &a, &g);

	/* Sign it properly: every header it has, plus the date and payload. */
	if (r.nh + 2 <= FIELDS_MAX) {
		r.hn[r.nh] = "x-amz-date";
		r.hv[r.nh++] = "20231114T221320Z";
		r.hn[r.nh] = "x-amz-content-sha256";
		r.hv[r.nh++] = SIGV4_UNSIGNED;
		bool has_host = false;
		char names[FIELDS_MAX * 40] = "";
		/* Signed headers: sorted, distinct, lowercase, as a client sends. */
		for (char c = 0; c >= 0 && c < 127; c++) { /* cheap sort by first byte */
			for (size_t i = 0; i < r.nh; i++) {
				if (r.hn[i][0] != c || strlen(r.hn[i]) == 0 || strlen(r.hn[i]) > 32 ||
				    strpbrk(r.hn[i], ";, \t") != NULL || strstr(names, r.hn[i]) != NULL)
					continue;
				if (strcmp(r.hn[i], "host") == 0)
					has_host = true;
				snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
					 names[0] ? ";" : "", r.hn[i]);
			}
		}
		char *canonical = NULL;
		if (has_host && sigv4_canonical_request(&in, names, SIGV4_UNSIGNED, false, &canonical) == PP_OK) {
			uint8_t key[32];
			char sig[65];
			sigv4_signing_key(SECRET, "20231114", "us-east-1", "s3", key);
			sigv4_signature(key, "20231114T221320Z", "20231114/us-east-1/s3/aws4_request", canonical, sig);
			snprintf(r.auth, sizeof(r.auth),
				 "AWS4-HMAC-SHA256 Credential=FUZZKEY/20231114/us-east-1/s3/aws4_request, "
				 "SignedHeaders=%s, Signature=%s", names, sig);
			struct s3_fail h = {0};
			bool fits = strlen(names) < 1000 && strlen(r.auth) < sizeof(r.auth) - 1;
			/* Sorted by first byte only: equal first bytes may be out of
			 * order, which clients never send; skip those. */
			bool sorted = true;
			for (const char *p = names, *q; (q = strchr(p, ';')) != NULL; p = q + 1)
				sorted &= strncmp(p, q + 1, (size_t)(q - p)) < 0;
			if (fits && sorted && sigv4_authenticate(&in, creds, &a, &h) != PP_OK)
				abort();
			free(canonical);
		}
	}
	free(text);
	return 0;
}
