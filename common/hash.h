/* SHA-256 (OpenSSL) and the checks on chunk ids, file names and node ids:
 * one rule each, used by every service and the client library.
 *
 * A chunk id is the lowercase hex SHA-256 of the chunk's bytes: exactly 64
 * characters [0-9a-f]. It is validated before it is used in any path or
 * query. File names are UTF-8, 1..PP_NAME_MAX bytes, no control characters.
 * Node ids are 1..PP_NODE_ID_MAX of [A-Za-z0-9._-]: they become metric
 * labels, log values and directory names as they are. */
#ifndef PP_COMMON_HASH_H
#define PP_COMMON_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PP_SHA256_BYTES 32
#define PP_SHA256_HEX 65 /* 64 hex digits + NUL */
#define PP_NAME_MAX 1024
#define PP_NODE_ID_MAX 64

struct sha256_stream; /* incremental hash; opaque */

int sha256_stream_new(struct sha256_stream **out);
int sha256_stream_update(struct sha256_stream *s, const void *data, size_t len);
/* Writes the lowercase hex digest; the stream can then be freed or reset. */
int sha256_stream_final_hex(struct sha256_stream *s, char hex[PP_SHA256_HEX]);
void sha256_stream_free(struct sha256_stream *s);

int sha256_hex(const void *data, size_t len, char hex[PP_SHA256_HEX]);
void hex_encode(const uint8_t *bytes, size_t len, char *out /* 2*len+1 */);

bool chunk_id_valid(const char *id);
/* name_check returns NULL when valid, else a reason ("empty name", ...). */
const char *name_check(const char *name, size_t len);
/* NULL when id is a valid node id, else a reason. */
const char *node_id_check(const char *id);

#endif
