/* Open-addressing index of held chunks; see chunk_index.h.
 *
 * Load stays under 1/2 (grows by doubling), and removal shifts later
 * entries of the same probe run back, so there are no tombstones and a
 * lookup stops at the first empty slot. */
#include "chunk_index.h"
#include "errors.h"
#include "hash.h"

#include <stdlib.h>
#include <string.h>

#define CHUNK_INDEX_INITIAL 1024

static size_t home_slot(const struct chunk_index *ix, const uint8_t id[CHUNK_ID_BYTES])
{
	uint64_t h;
	memcpy(&h, id, sizeof(h));
	return (size_t)h & (ix->cap - 1);
}

int chunk_index_init(struct chunk_index *ix)
{
	memset(ix, 0, sizeof(*ix));
	ix->slots = calloc(CHUNK_INDEX_INITIAL, sizeof(*ix->slots));
	if (ix->slots == NULL)
		return PP_EINTERNAL;
	ix->cap = CHUNK_INDEX_INITIAL;
	return PP_OK;
}

void chunk_index_free(struct chunk_index *ix)
{
	free(ix->slots);
	memset(ix, 0, sizeof(*ix));
}

static size_t probe(const struct chunk_index *ix, const uint8_t id[CHUNK_ID_BYTES])
{
	size_t i = home_slot(ix, id);
	while (ix->slots[i].used && memcmp(ix->slots[i].id, id, CHUNK_ID_BYTES) != 0)
		i = (i + 1) & (ix->cap - 1);
	return i;
}

struct chunk_entry *chunk_index_find(struct chunk_index *ix, const uint8_t id[CHUNK_ID_BYTES])
{
	size_t i = probe(ix, id);
	return ix->slots[i].used ? &ix->slots[i] : NULL;
}

static int grow(struct chunk_index *ix)
{
	struct chunk_index bigger = {.cap = ix->cap * 2};
	bigger.slots = calloc(bigger.cap, sizeof(*bigger.slots));
	if (bigger.slots == NULL)
		return PP_EINTERNAL;
	for (size_t i = 0; i < ix->cap; i++) {
		if (!ix->slots[i].used)
			continue;
		bigger.slots[probe(&bigger, ix->slots[i].id)] = ix->slots[i];
	}
	bigger.count = ix->count;
	bigger.bytes = ix->bytes;
	free(ix->slots);
	*ix = bigger;
	return PP_OK;
}

int chunk_index_insert(struct chunk_index *ix, const uint8_t id[CHUNK_ID_BYTES], uint32_t size,
		       struct chunk_entry **out, bool *created)
{
	if ((ix->count + 1) * 2 > ix->cap) {
		int rc = grow(ix);
		if (rc != PP_OK)
			return rc;
	}
	size_t i = probe(ix, id);
	struct chunk_entry *e = &ix->slots[i];
	*created = !e->used;
	if (!e->used) {
		memset(e, 0, sizeof(*e));
		memcpy(e->id, id, CHUNK_ID_BYTES);
		e->size = size;
		e->used = true;
		ix->count++;
		ix->bytes += size;
	}
	if (out)
		*out = e;
	return PP_OK;
}

bool chunk_index_remove(struct chunk_index *ix, const uint8_t id[CHUNK_ID_BYTES],
			struct chunk_entry *removed)
{
	size_t mask = ix->cap - 1;
	size_t i = probe(ix, id);
	if (!ix->slots[i].used)
		return false;
	if (removed)
		*removed = ix->slots[i];
	ix->count--;
	ix->bytes -= ix->slots[i].size;
	ix->slots[i].used = false;
	/* Backward shift: move later members of the run into the hole when
	 * their home slot does not lie cyclically in (hole, j]. */
	for (size_t j = (i + 1) & mask; ix->slots[j].used; j = (j + 1) & mask) {
		size_t k = home_slot(ix, ix->slots[j].id);
		bool stays = (i <= j) ? (i < k && k <= j) : (i < k || k <= j);
		if (stays)
			continue;
		ix->slots[i] = ix->slots[j];
		ix->slots[j].used = false;
		i = j;
	}
	return true;
}

static int hex_val(char c) { return c <= '9' ? c - '0' : c - 'a' + 10; }

void chunk_id_to_bin(const char *hex, uint8_t out[CHUNK_ID_BYTES])
{
	for (size_t i = 0; i < CHUNK_ID_BYTES; i++)
		out[i] = (uint8_t)(hex_val(hex[2 * i]) << 4 | hex_val(hex[2 * i + 1]));
}

void chunk_id_to_hex(const uint8_t id[CHUNK_ID_BYTES], char out[65])
{
	hex_encode(id, CHUNK_ID_BYTES, out);
}
