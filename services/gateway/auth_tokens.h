/* Bearer tokens for the REST API (--token-file): one `TOKEN read|write` per
 * line, `#` comments and blank lines ignored. A write token may also read.
 * The table is immutable after load, so lookups need no lock. */
#ifndef PP_GATEWAY_AUTH_TOKENS_H
#define PP_GATEWAY_AUTH_TOKENS_H

#include <stddef.h>

#define TOKEN_MAX_BYTES 256
#define TOKEN_MAX_COUNT 4096

enum token_scope { TOKEN_NONE = 0, TOKEN_READ = 1, TOKEN_WRITE = 2 };

struct token_table;

/* PP_EINVAL with a sentence in err for an unreadable or malformed file. */
int token_table_load(const char *path, struct token_table **out, char *err, size_t err_len);
/* Parses text (for tests and for load). */
int token_table_parse(const char *text, struct token_table **out, char *err, size_t err_len);
void token_table_free(struct token_table *t);
size_t token_table_count(const struct token_table *t);
/* The scope of a presented token (constant-time per entry). */
enum token_scope token_lookup(const struct token_table *t, const char *token);
/* From an Authorization header value: "Bearer TOKEN"; TOKEN_NONE otherwise. */
enum token_scope token_from_header(const struct token_table *t, const char *authorization);

#endif
