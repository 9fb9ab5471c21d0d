/* The worker's chunk store (DESIGN.md, "Data model": worker store).
 *
 * On disk: DATA/chunks/ab/cd/<id> (one file per chunk), DATA/tmp (writes in
 * progress, emptied at open), DATA/quarantine/<id> (copies that failed their
 * hash), DATA/extra/<id> (empty markers: copies pulled for direct access,
 * evicted first), DATA/epoch (see below). A chunk file only ever appears by
 * rename of a fully written and fsynced temp file, and every read is
 * verified against the id.
 *
 * Copy generations: every copy the store holds has a `gen`, unique and
 * increasing within the store across restarts (the high 32 bits are an
 * epoch bumped and fsynced at every open, the low ones count writes). A new
 * write, a rewrite and a claim each give the copy a higher gen, so a delete
 * that names the gen it means never removes a copy written after the
 * tracker decided (DESIGN.md, "Durability rules"). A listing carries a
 * snapshot_seq: every copy written or claimed after the listing has a
 * higher gen. */
#ifndef PP_WORKER_STORE_H
#define PP_WORKER_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;

struct store_config {
	const char *data_dir;
	uint64_t capacity_bytes; /* 0: limited by the disk only */
	/* Called (outside the store lock) once per chunk quarantined after a
	 * failed hash, and per extra copy evicted to make room. */
	void (*on_corrupt)(void *arg, const char *chunk_id, uint64_t gen);
	void (*on_evict)(void *arg, const char *chunk_id);
	void *cb_arg;
};

struct store_stats {
	uint64_t chunks;
	uint64_t used_bytes;
	uint64_t capacity_bytes; /* the configured one, or used + free disk */
	bool disk_full;          /* last write hit ENOSPC or the capacity */
};

/* One held copy. */
struct store_copy {
	uint32_t size;
	uint64_t gen;
	bool extra;
};

struct store_ref {
	char id[65];
	uint32_t size;
	uint64_t gen;
	bool extra;
};

/* Creates the layout, checks it is writable, empties tmp/, bumps the epoch
 * and indexes the chunks found. On failure writes a sentence into err. */
int store_open(const struct store_config *cfg, struct store **out, char *err, size_t err_len);
void store_close(struct store *s);

/* Verifies sha256(data) == id (PP_EINTEGRITY), makes room (evicting extra
 * copies first, else PP_ENOSPACE) and stores durably; *out (may be NULL)
 * describes the copy now held. Storing a chunk already held rewrites it
 * under a new gen; a non-extra put of an extra copy makes it a regular one. */
int store_put(struct store *s, const char *chunk_id, const void *data, size_t len, bool extra,
	      struct store_copy *out);
/* store_put for bytes the caller has just hashed to chunk_id itself (a put
 * handler verifies before it forwards): the same, without a second hash. */
int store_put_verified(struct store *s, const char *chunk_id, const void *data, size_t len,
		       bool extra, struct store_copy *out);
/* store_put_verified in two steps, so the fsync can wait until after a
 * reader was answered (a direct get keeps its pulled copy): store_stage
 * reserves room and writes the bytes to a temp file; store_finish fsyncs it
 * and publishes it as store_put does (the copy exists only then), and
 * store_stage_abort drops it. Both free the staged write. */
struct store_staged;
int store_stage(struct store *s, const char *chunk_id, const void *data, size_t len, bool extra,
		struct store_staged **out);
int store_finish(struct store *s, struct store_staged *st, struct store_copy *out);
void store_stage_abort(struct store *s, struct store_staged *st);
/* store_finish for n staged writes (NULL entries fail) with two syncfs
 * calls for all of them instead of two fsyncs each (from
 * STORE_BATCH_SYNCFS_MIN writes on); rcs[i] per write, the first failure
 * returned. Frees every staged write. */
#define STORE_BATCH_SYNCFS_MIN 4
int store_finish_batch(struct store *s, struct store_staged **st, size_t n,
		       struct store_copy *out, int *rcs);
/* A held copy becomes a regular (non-extra) one under a new gen, as if it
 * had just been written. PP_ENOTFOUND when not held. */
int store_claim(struct store *s, const char *chunk_id, struct store_copy *out);
/* PP_ENOTFOUND when not held. */
int store_stat(struct store *s, const char *chunk_id, struct store_copy *out);
int store_size(struct store *s, const char *chunk_id, uint32_t *size);
bool store_has(struct store *s, const char *chunk_id);
/* Reads the whole chunk into buf (cap >= its size) and verifies it; on a
 * mismatch the file is quarantined, on_corrupt called and PP_EINTEGRITY
 * returned. touch: counts as an access (false for the scrubber). */
int store_read(struct store *s, const char *chunk_id, uint8_t *buf, size_t cap, size_t *len,
	       bool touch);
/* store_read without the hash, for a reader that verifies what it receives
 * against the id and reports a mismatch (store_verify): one hash per byte
 * end to end. A file whose size changed is still caught here (quarantined,
 * PP_EINTEGRITY). Counts as an access. */
int store_read_unverified(struct store *s, const char *chunk_id, uint8_t *buf, size_t cap,
			  size_t *len);
/* Re-reads and re-hashes the copy held: PP_OK when good, PP_EINTEGRITY when
 * it was bad (quarantined, on_corrupt called), PP_ENOTFOUND when none. */
int store_verify(struct store *s, const char *chunk_id);
/* Deletes the copy of generation gen: PP_OK when deleted, PP_ENOTFOUND when
 * no copy is held, PP_ECONFLICT when the copy held has another gen (it was
 * written or claimed after whoever asked decided; it stays). */
int store_delete(struct store *s, const char *chunk_id, uint64_t gen);
void store_get_stats(struct store *s, struct store_stats *out);
/* A snapshot of every held copy (*refs is malloc'd, the caller frees it) and
 * its snapshot_seq (see the top of this file). */
int store_list(struct store *s, struct store_ref **refs, size_t *n, uint64_t *snapshot_seq);

#endif
