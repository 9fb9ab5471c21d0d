/* Metadata records this worker keeps for the tracker (DESIGN.md, "Metadata
 * recovery"): an append-only log of sealed pp.v1.FileRecord pages in
 * DATA/meta/, segments 00000001.log, 00000002.log, ... Each entry is
 *
 *   "PPML" | u32 record length | first 8 bytes of SHA-256(record) | record
 *
 * (big-endian). A put returns once its entry is durable; concurrent puts
 * share one fdatasync (group commit). Per name (keyed by the SHA-256 of the
 * name) the index keeps the pages of the newest complete record and of any
 * newer one still arriving; older records are dead and go at the next
 * compaction, which rewrites the live entries into a fresh segment once dead
 * bytes outweigh live ones. A torn entry at the end of the last segment (a
 * crash mid-append) is cut off at open. */
#ifndef PP_WORKER_META_LOG_H
#define PP_WORKER_META_LOG_H

#include "auth.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define META_NAME_HASH_BYTES 32

struct meta_log;

/* A position in (seq, name hash, page) order; all zero = the start. */
struct meta_cursor {
	uint64_t seq;
	uint8_t name_hash[META_NAME_HASH_BYTES];
	uint32_t page;
};

struct meta_stats {
	uint64_t records; /* live entries */
	uint64_t live_bytes, dead_bytes;
	uint32_t segments;
};

/* Sizes; 0 = the default (64 MiB segments, compaction past 4 MiB dead). */
struct meta_log_limits {
	uint64_t segment_max_bytes;
	uint64_t compact_min_dead_bytes;
};

/* Opens (creating DATA/meta) and indexes every valid entry; records whose
 * seal does not verify under auth are skipped and logged. limits may be
 * NULL. */
int meta_log_open(const char *data_dir, const struct auth *auth,
		  const struct meta_log_limits *limits, struct meta_log **out, char *err,
		  size_t err_len);
void meta_log_close(struct meta_log *m);

/* Verifies the sealed record (structure, MAC, a FileRecord with a name, a
 * seq and a valid page) and keeps it durably. A record older than the
 * name's newest complete one, or one already held, is accepted and not
 * written. PP_EINVAL / PP_EAUTH for a bad record, PP_ENOSPACE, PP_EINTERNAL. */
int meta_log_put(struct meta_log *m, const uint8_t *record, size_t len);

/* Copies live records with seq > after_seq that come after *cursor in
 * (seq, name hash, page) order into buf, each as a 4-byte big-endian length
 * and the record: up to `soft` bytes, except that the first record is
 * copied whatever its size (buf holds cap >= 4 + META_RECORD_MAX bytes).
 * *used = bytes written, *count = records, *cursor moves to the last one,
 * *done = nothing follows. */
int meta_log_read(struct meta_log *m, uint64_t after_seq, struct meta_cursor *cursor,
		  uint8_t *buf, size_t soft, size_t cap, size_t *used, uint32_t *count, bool *done);

/* Forgets the name's records with seq < below_seq. */
int meta_log_forget_below(struct meta_log *m, const uint8_t name_hash[META_NAME_HASH_BYTES],
			  uint64_t below_seq);

void meta_log_stats(struct meta_log *m, struct meta_stats *out);

#endif
