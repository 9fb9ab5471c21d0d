/* S3 error codes and the HTTP statuses S3 answers them with (DESIGN.md,
 * "S3 API"). A failure travels as a struct s3_fail (code + sentence) from
 * wherever it is found to the one place that writes the XML (s3_reply.c). */
#ifndef PP_GATEWAY_S3_ERRORS_H
#define PP_GATEWAY_S3_ERRORS_H

#include <stdbool.h>
#include <stddef.h>

struct s3_fail {
	const char *code;  /* "NoSuchKey"; NULL while nothing failed */
	char message[300];
};

void s3_fail_set(struct s3_fail *f, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Only the first failure sticks. */
static inline bool s3_failed(const struct s3_fail *f) { return f->code != NULL; }
/* 404 for NoSuchKey, 500 for anything unknown. */
unsigned s3_error_status(const char *code);
/* S3's own sentence for a code ("The specified key does not exist."). */
const char *s3_error_message(const char *code);
/* A PP_E* code from the cluster, as S3 would say it for this kind of
 * request; not_found names the S3 code for PP_ENOTFOUND ("NoSuchKey"). */
void s3_fail_from_pp(struct s3_fail *f, int pp_code, const char *not_found, const char *detail);

#endif
