/* Sealed metadata records (DESIGN.md, "Metadata recovery"): the bytes a
 * tracker hands a worker to keep, and the worker hands back to a rebuilding
 * tracker.
 *
 *   "PPMR" | version 1 | flags (bit 0: signed) | 2 reserved | pb | mac
 *
 * pb is one serialized pp.v1.FileRecord; mac (32 bytes, when the cluster
 * has a key) is HMAC-SHA256(key, every byte before it). The seal binds the
 * record to the cluster key, not to a moment: a record is a statement of
 * what the tracker committed, valid for as long as its seq is the newest. */
#ifndef PP_COMMON_META_RECORD_H
#define PP_COMMON_META_RECORD_H

#include "auth.h"

#include <stddef.h>
#include <stdint.h>

#define META_RECORD_HEADER_BYTES 8
/* A record page must fit one frame payload. */
#define META_RECORD_MAX (8u << 20)

/* Seals pb into a malloc'd blob (*out, *out_len). */
int meta_record_seal(const struct auth *a, const void *pb, size_t pb_len, uint8_t **out,
		     size_t *out_len);
/* Checks structure and, with a key, the MAC; *pb points into blob. PP_EINVAL
 * (malformed) or PP_EAUTH (unsigned or wrongly signed under a key), with a
 * short reason in *why. */
int meta_record_open(const struct auth *a, const uint8_t *blob, size_t len, const uint8_t **pb,
		     size_t *pb_len, const char **why);

#endif
