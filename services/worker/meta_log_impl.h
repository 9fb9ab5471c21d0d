/* Internals of the worker's record log shared by meta_log.c (open, scan,
 * append, compaction) and meta_log_read.c (ordered reads); see meta_log.h. */
#ifndef PP_WORKER_META_LOG_IMPL_H
#define PP_WORKER_META_LOG_IMPL_H

#include "meta_log.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ENTRY_HEADER_BYTES 16
#define POS(seg, off) (((uint64_t)(seg) << 40) | (uint64_t)(off))
#define META_PATH_MAX 4096

struct mentry {
	uint8_t name_hash[META_NAME_HASH_BYTES];
	uint64_t seq;
	uint32_t page, pages;
	uint32_t seg;
	uint64_t off; /* of the entry header in its segment */
	uint32_t len; /* of the record */
	bool live;
};

/* Per name: the newest complete seq and the entries (indices) still live. */
struct mname {
	uint8_t hash[META_NAME_HASH_BYTES];
	bool used;
	uint64_t complete_seq;
	uint32_t *idx;
	uint32_t n, cap;
};

struct meta_log {
	char dir[META_PATH_MAX - 32]; /* room for "/NNNNNNNN.log" after it */
	const struct auth *auth;
	uint64_t segment_max, compact_min; /* bytes */
	pthread_mutex_t lock;
	pthread_cond_t synced_cv;
	struct mentry *e;
	size_t n, cap;
	struct mname *names; /* open addressing, power-of-two size */
	size_t names_cap, names_used;
	uint32_t *sorted;    /* live entry indices in read order, when !unsorted */
	size_t n_sorted, cap_sorted;
	bool unsorted;
	int fd;              /* current segment, O_APPEND */
	uint32_t seg;
	uint64_t seg_bytes;
	uint32_t first_seg;
	uint64_t written, synced; /* positions */
	bool syncing;
	uint64_t live_bytes, dead_bytes;
};

void meta_put_be32(uint8_t *p, uint32_t v);
/* The path of segment seg in the log's directory (META_PATH_MAX bytes). */
void meta_seg_path(const struct meta_log *m, uint32_t seg, char *out);
/* Read order: by seq, then name hash, then page. */
int meta_cmp_key(const struct mentry *a, const struct mentry *b);
/* 0 when all len bytes at off were read. */
int meta_read_full(int fd, uint8_t *buf, size_t len, uint64_t off);

#endif
