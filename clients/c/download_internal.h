/* What download.c (the reader, fetchers and budget) and download_pages.c
 * (manifest pages) share: struct pp_download and the page functions.
 *
 * Locks: d->lock guards slots, next_*, stop, addrs and the budget fields;
 * d->pages_lock guards pages and is held while a page loads. Neither is
 * held while the other is taken. */
#ifndef PP_CLIENT_DOWNLOAD_INTERNAL_H
#define PP_CLIENT_DOWNLOAD_INTERNAL_H

#include "client_internal.h"
#include "hash.h"
#include "wire.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define DL_PAGES 4              /* manifest pages kept */
#define DL_SLOW_MS 4000         /* a chunk slower than this marks its replica slow */
#define DL_ADDR_MAX 128         /* distinct replica addresses tracked */

enum dl_state { DL_EMPTY, DL_FETCHING, DL_READY };

struct dl_slot {
	enum dl_state state;
	uint64_t chunk;
	uint64_t offset; /* the chunk's offset in the file, from the manifest */
	struct wire_reply reply; /* owned while READY */
	int err_code;
	struct pp_error err;
	uint64_t budget_bytes; /* taken from the budget for this chunk alone */
	bool budget_own;       /* or: holds the download's own_bytes */
};

struct dl_page {
	uint64_t first;
	size_t count;
	struct pp_chunk *chunks; /* owned */
};

struct dl_addr {
	char address[257];
	int inflight;  /* this download's requests there now */
	bool skipped;  /* failed or slow: last resort only */
};

struct pp_download {
	pp_client *c;
	char name[PP_NAME_MAX + 1];
	struct pp_file file;
	uint64_t end;       /* absolute end of the range (exclusive) */
	uint64_t pos;       /* absolute position of the next byte to return */
	uint64_t last_chunk; /* exclusive */
	uint64_t cur_chunk; /* reader: the chunk holding pos ... */
	uint64_t cur_start; /* ... and its offset (chunks may differ in size) */

	pthread_mutex_t lock; /* guards slots, next_*, stop, addrs, own_* */
	pthread_cond_t cond;
	struct dl_slot *slots;
	int nslots;
	uint64_t next_fetch, next_read;
	bool stop;
	struct dl_addr addrs[DL_ADDR_MAX];
	int naddrs;
	struct mem_budget *budget; /* the client's, or NULL */
	uint64_t own_bytes;        /* held from the budget until close */
	bool own_busy;             /* a slot holds own_bytes */

	pthread_mutex_t pages_lock; /* guards pages; held while a page loads */
	struct dl_page pages[DL_PAGES];

	pthread_t *threads;
	int nthreads;
	bool fetchers_started; /* reader's thread only */
	int err_code; /* sticky, reader's thread only */
	struct pp_error err;
};

/* Where a manifest page starts: at chunk `first`, or (by_offset) at the
 * chunk holding byte at_offset. */
struct page_start {
	uint64_t first;
	bool by_offset;
	uint64_t at_offset;
};

/* One manifest request of at most max chunk locations; page may be NULL to
 * read the file info only. */
int dl_load_manifest(pp_client *c, const char *name, struct page_start at, uint32_t max,
		     struct pp_file *file, struct dl_page *page, struct pp_error *err);
/* A manifest page made of a caller's chunk map (chunks and replicas copied). */
int dl_copy_page(const struct pp_chunk_map *m, struct dl_page *page, struct pp_error *err);
/* The chunk holding byte offset: its index and start (page of at most max
 * chunks loaded by offset when it is not cached). */
int dl_locate_offset(struct pp_download *d, uint64_t offset, uint32_t max, uint64_t *k,
		     uint64_t *start, struct pp_error *err);
/* Chunk k's location, replicas duplicated (the caller frees out->replicas). */
int dl_chunk_location(struct pp_download *d, uint64_t k, struct pp_chunk *out,
		      struct pp_error *err);

#endif
