/* Private to store*.c: the store's state and the helpers its files share
 * (store.c: layout, index, reads, deletes; store_write.c: the write path).
 * The locking rules are those of store.c's header. */
#ifndef PP_WORKER_STORE_IMPL_H
#define PP_WORKER_STORE_IMPL_H

#include "chunk_index.h"
#include "store.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define STORE_PATH_MAX 4096
/* O_DIRECT writes: buffer, length and offset aligned to this (the largest
 * logical block size in use), through a bounce buffer of this size. */
#define STORE_DIRECT_ALIGN 4096
#define STORE_BOUNCE_BYTES (1u << 20)

/* A write in progress: its gen is given out but not yet in the index. */
struct pending_write {
	uint64_t gen;
	struct pending_write *next;
};

struct store {
	struct store_config cfg;
	char *dir;                /* owned copy of cfg.data_dir */
	pthread_mutex_t lock;     /* guards everything below */
	struct chunk_index index;
	uint64_t reserved_bytes;  /* space promised to writes in progress */
	bool disk_full;
	uint64_t last_gen;        /* the highest gen given out */
	struct pending_write *pending; /* on the writers' stacks */
	atomic_ulong tmp_seq;     /* unique temp names */
	bool direct_io;           /* chunk files are written with O_DIRECT (set at open) */
};

int store_path_fmt(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Only ever called with a validated id. */
int store_chunk_path(const struct store *s, const char *id, char *buf);
/* Lock held: the extra-copy marker file of the chunk, made or removed. */
void store_set_extra_marker(struct store *s, const char *id, bool extra);
/* Lock held: evicts extra copies until `need` more bytes fit under
 * `limit` (or, with limit 0, until `need` bytes were freed). */
bool store_evict_for(struct store *s, const uint8_t *keep, uint64_t need, uint64_t limit,
		     char (**victims)[65], size_t *nvictims);
/* Outside the lock: logs and reports what store_evict_for removed. */
void store_finish_evictions(struct store *s, char (*victims)[65], size_t n);
/* store_write.c: whether the data dir takes O_DIRECT writes. */
bool store_probe_direct_io(struct store *s);

#endif
