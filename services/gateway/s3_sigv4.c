/* SigV4 verification; see s3_sigv4.h. Signatures are compared in constant
 * time (CRYPTO_memcmp). */
#define _GNU_SOURCE
#include "s3_sigv4.h"
#include "errors.h"
#include "hash.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define CANONICAL_MAX (256u * 1024) /* a request's canonical form, bounded */

/* ---- small helpers ----------------------------------------------------- */

static void hmac(const void *key, size_t klen, const char *msg, uint8_t out[32])
{
	unsigned n = 32;
	HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg, strlen(msg), out, &n);
}

void sigv4_signing_key(const char *secret, const char *date, const char *region,
		       const char *service, uint8_t key[32])
{
	char k0[8 + 129];
	snprintf(k0, sizeof(k0), "AWS4%s", secret);
	uint8_t a[32], b[32], c[32];
	hmac(k0, strlen(k0), date, a);
	hmac(a, 32, region, b);
	hmac(b, 32, service, c);
	hmac(c, 32, "aws4_request", key);
	explicit_bzero(k0, sizeof(k0));
}

static void sign_hex(const uint8_t key[32], const char *sts, char sig[65])
{
	uint8_t mac[32];
	hmac(key, 32, sts, mac);
	hex_encode(mac, 32, sig);
}

void sigv4_signature(const uint8_t key[32], const char *amz_date, const char *scope,
		     const char *canonical, char sig[65])
{
	char hash[65], sts[400];
	sha256_hex(canonical, strlen(canonical), hash);
	snprintf(sts, sizeof(sts), "AWS4-HMAC-SHA256\n%s\n%s\n%s", amz_date, scope, hash);
	sign_hex(key, sts, sig);
}

void sigv4_chunk_signature(const struct sigv4_auth *a, const char *prev, const char *chunk_sha_hex,
			   char sig[65])
{
	char sts[600];
	snprintf(sts, sizeof(sts),
		 "AWS4-HMAC-SHA256-PAYLOAD\n%s\n%s\n%s\n"
		 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n%s",
		 a->amz_date, a->scope, prev, chunk_sha_hex);
	sign_hex(a->key, sts, sig);
}

void sigv4_trailer_signature(const struct sigv4_auth *a, const char *prev,
			     const char *trailer_sha_hex, char sig[65])
{
	char sts[600];
	snprintf(sts, sizeof(sts), "AWS4-HMAC-SHA256-TRAILER\n%s\n%s\n%s\n%s", a->amz_date, a->scope,
		 prev, trailer_sha_hex);
	sign_hex(a->key, sts, sig);
}

bool sigv4_uri_encode(const char *s, bool keep_slash, char *out, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t k = strlen(out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		bool plain = isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~' ||
			     (keep_slash && *p == '/');
		if (k + (plain ? 1 : 3) >= len)
			return false;
		if (plain) {
			out[k++] = (char)*p;
		} else {
			out[k++] = '%';
			out[k++] = hex[*p >> 4];
			out[k++] = hex[*p & 15];
		}
	}
	out[k] = '\0';
	return true;
}

bool sigv4_parse_amz_date(const char *s, int64_t *out)
{
	if (s == NULL || strlen(s) != 16 || s[8] != 'T' || s[15] != 'Z')
		return false;
	for (int i = 0; i < 15; i++)
		if (i != 8 && !isdigit((unsigned char)s[i]))
			return false;
	struct tm tm = {0};
	tm.tm_year = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0') - 1900;
	tm.tm_mon = (s[4] - '0') * 10 + (s[5] - '0') - 1;
	tm.tm_mday = (s[6] - '0') * 10 + (s[7] - '0');
	tm.tm_hour = (s[9] - '0') * 10 + (s[10] - '0');
	tm.tm_min = (s[11] - '0') * 10 + (s[12] - '0');
	tm.tm_sec = (s[13] - '0') * 10 + (s[14] - '0');
	if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
	    tm.tm_min > 59 || tm.tm_sec > 60)
		return false;
	*out = (int64_t)timegm(&tm);
	return true;
}

/* ---- canonical request ------------------------------------------------- */

struct enc_pair {
	char *name, *value; /* encoded */
};

static int pair_cmp(const void *a, const void *b)
{
	const struct enc_pair *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c != 0 ? c : strcmp(x->value, y->value);
}

/* Appends to a bounded growing string; false when the bound is hit. */
struct sbuf {
	char *s;
	size_t len, cap;
};

static bool sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > CANONICAL_MAX)
		return false;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 1024;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *g = realloc(b->s, cap);
		if (g == NULL)
			return false;
		b->s = g;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
	return true;
}

static bool sb_str(struct sbuf *b, const char *s) { return sb_add(b, s, strlen(s)); }

static bool canonical_query(const struct sigv4_input *in, bool presigned, struct sbuf *b)
{
	struct enc_pair *p = calloc(in->nquery + 1, sizeof(*p));
	size_t n = 0;
	bool ok = p != NULL;
	for (size_t i = 0; ok && i < in->nquery; i++) {
		if (presigned && strcmp(in->query[i].name, "X-Amz-Signature") == 0)
			continue;
		size_t nl = strlen(in->query[i].name) * 3 + 1, vl = strlen(in->query[i].value) * 3 + 1;
		p[n].name = calloc(1, nl);
		p[n].value = calloc(1, vl);
		ok = p[n].name && p[n].value && sigv4_uri_encode(in->query[i].name, false, p[n].name, nl) &&
		     sigv4_uri_encode(in->query[i].value, false, p[n].value, vl);
		n++;
	}
	if (ok)
		qsort(p, n, sizeof(*p), pair_cmp);
	for (size_t i = 0; ok && i < n; i++)
		ok = (i == 0 || sb_str(b, "&")) && sb_str(b, p[i].name) && sb_str(b, "=") &&
		     sb_str(b, p[i].value);
	for (size_t i = 0; p != NULL && i < n; i++) {
		free(p[i].name);
		free(p[i].value);
	}
	free(p);
	return ok;
}

/* name:value with the value trimmed and inner runs of blanks collapsed. */
static bool canonical_header(struct sbuf *b, const char *name, const char *value)
{
	if (!sb_str(b, name) || !sb_str(b, ":"))
		return false;
	const char *v = value ? value : "";
	while (*v == ' ' || *v == '\t')
		v++;
	bool blank = false;
	for (; *v; v++) {
		if (*v == ' ' || *v == '\t') {
			blank = true;
			continue;
		}
		if (blank && !sb_str(b, " "))
			return false;
		blank = false;
		if (!sb_add(b, v, 1))
			return false;
	}
	return sb_str(b, "\n");
}

int sigv4_canonical_request(const struct sigv4_input *in, const char *signed_headers,
			    const char *payload, bool presigned, char **out)
{
	struct sbuf b = {0};
	bool ok = sb_str(&b, in->method) && sb_str(&b, "\n") &&
		  sb_str(&b, in->path[0] ? in->path : "/") && sb_str(&b, "\n") &&
		  canonical_query(in, presigned, &b) && sb_str(&b, "\n");
	/* Signed headers: lowercase names joined by ';'. */
	const char *h = signed_headers;
	int count = 0;
	while (ok && *h) {
		const char *e = strchr(h, ';');
		size_t n = e ? (size_t)(e - h) : strlen(h);
		char name[128];
		if (n == 0 || n >= sizeof(name) || ++count > SIGV4_SIGNED_HEADERS_MAX) {
			ok = false;
			break;
		}
		memcpy(name, h, n);
		name[n] = '\0';
		for (size_t i = 0; i < n; i++)
			if (isupper((unsigned char)name[i]))
				ok = false;
		ok = ok && canonical_header(&b, name, in->header(in->ctx, name));
		h = e ? e + 1 : h + n;
	}
	ok = ok && count > 0 && sb_str(&b, "\n") && sb_str(&b, signed_headers) && sb_str(&b, "\n") &&
	     sb_str(&b, payload);
	if (!ok) {
		free(b.s);
		return PP_EINVAL;
	}
	*out = b.s;
	return PP_OK;
}

/* ---- parsing the Authorization header and the presigned query ---------- */

struct sig_parts {
	char access_key[S3_ACCESS_KEY_MAX + 1];
	char date[9], region[64], service[16];
	char signed_headers[1024];
	char signature[65];
};

/* "KEY/DATE/REGION/SERVICE/aws4_request" */
static bool parse_credential(const char *c, struct sig_parts *p)
{
	const char *f[5];
	size_t l[5];
	const char *s = c;
	for (int i = 0; i < 5; i++) {
		const char *e = i < 4 ? strchr(s, '/') : s + strlen(s);
		if (e == NULL)
			return false;
		f[i] = s;
		l[i] = (size_t)(e - s);
		s = e + 1;
	}
	if (l[0] == 0 || l[0] > S3_ACCESS_KEY_MAX || l[1] != 8 || l[2] == 0 || l[2] >= sizeof(p->region) ||
	    l[3] >= sizeof(p->service) || l[4] != 12 || strncmp(f[4], "aws4_request", 12) != 0)
		return false;
	snprintf(p->access_key, sizeof(p->access_key), "%.*s", (int)l[0], f[0]);
	snprintf(p->date, sizeof(p->date), "%.*s", (int)l[1], f[1]);
	snprintf(p->region, sizeof(p->region), "%.*s", (int)l[2], f[2]);
	snprintf(p->service, sizeof(p->service), "%.*s", (int)l[3], f[3]);
	return true;
}

static bool hex64(const char *s, size_t n)
{
	if (n != 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
			return false;
	return true;
}

/* "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=..." */
static bool parse_authorization(const char *h, struct sig_parts *p)
{
	const char *alg = "AWS4-HMAC-SHA256";
	if (strncmp(h, alg, strlen(alg)) != 0 || (h[strlen(alg)] != ' '))
		return false;
	const char *s = h + strlen(alg);
	bool have_c = false, have_h = false, have_s = false;
	while (*s) {
		while (*s == ' ' || *s == ',')
			s++;
		if (*s == '\0')
			break;
		const char *eq = strchr(s, '=');
		if (eq == NULL)
			return false;
		const char *end = eq + 1;
		while (*end && *end != ',' && *end != ' ')
			end++;
		size_t kl = (size_t)(eq - s), vl = (size_t)(end - eq - 1);
		char val[1024];
		if (vl >= sizeof(val))
			return false;
		memcpy(val, eq + 1, vl);
		val[vl] = '\0';
		if (kl == 10 && strncmp(s, "Credential", 10) == 0)
			have_c = parse_credential(val, p);
		else if (kl == 13 && strncmp(s, "SignedHeaders", 13) == 0)
			have_h = snprintf(p->signed_headers, sizeof(p->signed_headers), "%s", val) > 0;
		else if (kl == 9 && strncmp(s, "Signature", 9) == 0)
			have_s = hex64(val, vl) && snprintf(p->signature, sizeof(p->signature), "%s", val);
		s = end;
	}
	return have_c && have_h && have_s;
}

static const char *query_get(const struct sigv4_input *in, const char *name)
{
	for (size_t i = 0; i < in->nquery; i++)
		if (strcmp(in->query[i].name, name) == 0)
			return in->query[i].value;
	return NULL;
}

/* ---- authenticate ------------------------------------------------------ */

static bool signs_host(const char *signed_headers)
{
	for (const char *h = signed_headers; h != NULL; h = strchr(h, ';') ? strchr(h, ';') + 1 : NULL)
		if (strncmp(h, "host", 4) == 0 && (h[4] == ';' || h[4] == '\0'))
			return true;
	return false;
}

static int refuse(struct s3_fail *fail, const char *code, const char *msg)
{
	s3_fail_set(fail, code, "%s", msg ? msg : s3_error_message(code));
	return PP_EAUTH;
}

/* Fills p, out->amz_date and out->payload from the header or the query. */
static int gather(const struct sigv4_input *in, struct sig_parts *p, struct sigv4_auth *out,
		  int64_t *expires, struct s3_fail *fail)
{
	const char *authz = in->header(in->ctx, "authorization");
	const char *qalg = query_get(in, "X-Amz-Algorithm");
	*expires = -1;
	if (authz != NULL) {
		if (strncmp(authz, "AWS ", 4) == 0)
			return refuse(fail, "InvalidRequest",
				      "Signature Version 2 is not supported; sign with AWS4-HMAC-SHA256");
		if (!parse_authorization(authz, p))
			return refuse(fail, "AuthorizationHeaderMalformed", NULL);
		const char *d = in->header(in->ctx, "x-amz-date");
		if (d == NULL || strlen(d) != 16)
			return refuse(fail, "AccessDenied", "AWS authentication requires a valid x-amz-date header");
		snprintf(out->amz_date, sizeof(out->amz_date), "%s", d);
		const char *pl = in->header(in->ctx, "x-amz-content-sha256");
		if (pl == NULL)
			return refuse(fail, "MissingSecurityHeader",
				      "Missing required header for this request: x-amz-content-sha256");
		snprintf(out->payload, sizeof(out->payload), "%s", pl);
		return PP_OK;
	}
	if (qalg != NULL) {
		out->presigned = true;
		const char *cred = query_get(in, "X-Amz-Credential"), *d = query_get(in, "X-Amz-Date");
		const char *sh = query_get(in, "X-Amz-SignedHeaders"), *sig = query_get(in, "X-Amz-Signature");
		const char *ex = query_get(in, "X-Amz-Expires");
		char *end = NULL;
		long long e = ex ? strtoll(ex, &end, 10) : -1;
		if (strcmp(qalg, "AWS4-HMAC-SHA256") != 0 || cred == NULL || !parse_credential(cred, p) ||
		    d == NULL || strlen(d) != 16 || sh == NULL || sig == NULL || !hex64(sig, strlen(sig)) ||
		    ex == NULL || *ex == '\0' || *end != '\0' || e < 1 || e > SIGV4_PRESIGN_MAX_S)
			return refuse(fail, "AuthorizationQueryParametersError",
				      "X-Amz-Algorithm, -Credential, -Date, -Expires (1..604800), "
				      "-SignedHeaders and -Signature are all required");
		snprintf(out->amz_date, sizeof(out->amz_date), "%s", d);
		snprintf(p->signed_headers, sizeof(p->signed_headers), "%s", sh);
		snprintf(p->signature, sizeof(p->signature), "%s", sig);
		snprintf(out->payload, sizeof(out->payload), "%s", SIGV4_UNSIGNED);
		*expires = e;
		return PP_OK;
	}
	if (query_get(in, "AWSAccessKeyId") != NULL && query_get(in, "Signature") != NULL)
		return refuse(fail, "InvalidRequest",
			      "Signature Version 2 presigned URLs are not supported; presign with "
			      "AWS4-HMAC-SHA256 (boto3: Config(signature_version=\"s3v4\"))");
	out->anonymous = true;
	const char *pl = in->header(in->ctx, "x-amz-content-sha256");
	snprintf(out->payload, sizeof(out->payload), "%s", pl ? pl : SIGV4_UNSIGNED);
	return PP_OK;
}

int sigv4_authenticate(const struct sigv4_input *in, const struct s3_creds *creds,
		       struct sigv4_auth *out, struct s3_fail *fail)
{
	memset(out, 0, sizeof(*out));
	struct sig_parts p;
	memset(&p, 0, sizeof(p));
	int64_t expires;
	int rc = gather(in, &p, out, &expires, fail);
	if (rc != PP_OK)
		return rc;
	if (out->anonymous) {
		if (creds != NULL)
			return refuse(fail, "AccessDenied", "Anonymous access is not allowed");
		out->access = S3_ACCESS_WRITE;
		return PP_OK;
	}
	snprintf(out->access_key, sizeof(out->access_key), "%s", p.access_key);
	snprintf(out->scope, sizeof(out->scope), "%s/%s/%s/aws4_request", p.date, p.region, p.service);
	snprintf(out->signature, sizeof(out->signature), "%s", p.signature);
	int64_t t;
	if (!sigv4_parse_amz_date(out->amz_date, &t))
		return refuse(fail, "AccessDenied", "X-Amz-Date is not a valid date (YYYYMMDDTHHMMSSZ)");
	if (strncmp(out->amz_date, p.date, 8) != 0)
		return refuse(fail, out->presigned ? "AuthorizationQueryParametersError"
						   : "AuthorizationHeaderMalformed",
			      "The credential's date is not the date of X-Amz-Date");
	if (strcmp(p.service, "s3") != 0)
		return refuse(fail, "AuthorizationHeaderMalformed", "The credential's service must be s3");
	if (creds == NULL) { /* open endpoint: parsed, not checked */
		out->access = S3_ACCESS_WRITE;
		return PP_OK;
	}
	const char *secret = s3_creds_lookup(creds, p.access_key, &out->access);
	if (secret == NULL)
		return refuse(fail, "InvalidAccessKeyId", NULL);
	if (out->presigned) {
		if (in->now_s > t + expires)
			return refuse(fail, "AccessDenied", "Request has expired");
		if (t > in->now_s + SIGV4_SKEW_S)
			return refuse(fail, "AccessDenied", "Request is not valid yet");
	} else if (t > in->now_s + SIGV4_SKEW_S || t < in->now_s - SIGV4_SKEW_S) {
		return refuse(fail, "RequestTimeTooSkewed", NULL);
	}
	char *canonical = NULL;
	if (sigv4_canonical_request(in, p.signed_headers, out->payload, out->presigned, &canonical) != PP_OK)
		return refuse(fail, out->presigned ? "AuthorizationQueryParametersError"
						   : "AuthorizationHeaderMalformed",
			      "SignedHeaders is malformed or the request too large to sign");
	if (!signs_host(p.signed_headers)) {
		free(canonical);
		return refuse(fail, "AccessDenied", "The host header must be signed");
	}
	sigv4_signing_key(secret, p.date, p.region, p.service, out->key);
	char want[65];
	sigv4_signature(out->key, out->amz_date, out->scope, canonical, want);
	free(canonical);
	if (CRYPTO_memcmp(want, p.signature, 64) != 0)
		return refuse(fail, "SignatureDoesNotMatch", NULL);
	out->verified = true;
	return PP_OK;
}
