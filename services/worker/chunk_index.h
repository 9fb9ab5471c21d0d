/* In-memory index of the chunks a worker holds: id -> size, copy generation,
 * extra-copy flag and last access, with running totals (count, bytes).
 *
 * Open addressing with linear probing keyed by the binary SHA-256 (already
 * uniformly distributed, so its first bytes are the hash). Not thread-safe:
 * the store guards it with its own mutex. */
#ifndef PP_WORKER_CHUNK_INDEX_H
#define PP_WORKER_CHUNK_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHUNK_ID_BYTES 32

struct chunk_entry {
	uint8_t id[CHUNK_ID_BYTES];
	uint32_t size;
	uint64_t gen;         /* names this copy; see store.h */
	bool used;            /* slot occupied */
	bool extra;           /* pulled for direct access: evicted first */
	int64_t last_access_ms; /* monotonic; the least recent extra goes first */
};

struct chunk_index {
	struct chunk_entry *slots; /* owned */
	size_t cap;                /* power of two */
	size_t count;
	uint64_t bytes;            /* sum of sizes */
};

int chunk_index_init(struct chunk_index *ix);
void chunk_index_free(struct chunk_index *ix);
struct chunk_entry *chunk_index_find(struct chunk_index *ix, const uint8_t id[CHUNK_ID_BYTES]);
/* Inserts a new entry; *created is false (and nothing changes) when the id
 * is already there. *out points at the entry until the next insert/remove. */
int chunk_index_insert(struct chunk_index *ix, const uint8_t id[CHUNK_ID_BYTES], uint32_t size,
		       struct chunk_entry **out, bool *created);
/* Removes the id; copies the entry into *removed when not NULL. */
bool chunk_index_remove(struct chunk_index *ix, const uint8_t id[CHUNK_ID_BYTES],
			struct chunk_entry *removed);

/* Hex id (already validated) <-> binary. */
void chunk_id_to_bin(const char *hex, uint8_t out[CHUNK_ID_BYTES]);
void chunk_id_to_hex(const uint8_t id[CHUNK_ID_BYTES], char out[65]);

#endif
