/* The worker's chunk store (DESIGN.md, "Data model": worker store).
 *
 * On disk: DATA/chunks/ab/cd/<id> (one file per chunk), DATA/tmp (writes in
 * progress, emptied at open), DATA/quarantine/<id> (copies that failed their
 * hash), DATA/extra/<id> (empty markers: copies pulled for direct access,
 * evicted first). A chunk file only ever appears by rename of a fully written
 * and fsynced temp file, and every read is verified against the id. */
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
	void (*on_corrupt)(void *arg, const char *chunk_id);
	void (*on_evict)(void *arg, const char *chunk_id);
	void *cb_arg;
};

struct store_stats {
	uint64_t chunks;
	uint64_t used_bytes;
	uint64_t capacity_bytes; /* the configured one, or used + free disk */
	bool disk_full;          /* last write hit ENOSPC or the capacity */
};

struct store_ref {
	char id[65];
	uint32_t size;
};

/* Creates the layout, checks it is writable, empties tmp/ and indexes the
 * chunks found. On failure writes a sentence into err. */
int store_open(const struct store_config *cfg, struct store **out, char *err, size_t err_len);
void store_close(struct store *s);

/* Verifies sha256(data) == id (PP_EINTEGRITY), makes room (evicting extra
 * copies first, else PP_ENOSPACE) and stores durably. Storing a chunk already
 * held rewrites it; a non-extra put of an extra copy makes it a regular one. */
int store_put(struct store *s, const char *chunk_id, const void *data, size_t len, bool extra);
/* PP_ENOTFOUND when not held. */
int store_size(struct store *s, const char *chunk_id, uint32_t *size);
bool store_has(struct store *s, const char *chunk_id);
/* Reads the whole chunk into buf (cap >= its size) and verifies it; on a
 * mismatch the file is quarantined, on_corrupt called and PP_EINTEGRITY
 * returned. touch: counts as an access (false for the scrubber). */
int store_read(struct store *s, const char *chunk_id, uint8_t *buf, size_t cap, size_t *len,
	       bool touch);
/* PP_ENOTFOUND when not held. */
int store_delete(struct store *s, const char *chunk_id);
void store_get_stats(struct store *s, struct store_stats *out);
/* A snapshot of every held chunk; *refs is malloc'd, the caller frees it. */
int store_list(struct store *s, struct store_ref **refs, size_t *n);

#endif
