/* The worker pool of ppctl's put and get of many files: items (one file
 * each), tasks (a batch of small files or one file), and one budget of
 * chunk memory that every file reserves before it moves.
 *
 * Memory stays bounded whatever the mix: a file reserves twice its size when
 * it fits a chunk, the whole budget when it is larger, so large files go one
 * at a time while small ones go many at a time; reservations are granted in
 * order, so a large file is never starved. One progress bar covers every
 * byte. `lock` guards the pool's counters; an item belongs to the thread
 * running it. */
#ifndef PPCTL_POOL_H
#define PPCTL_POOL_H

#include "ppctl.h"
#include "ppctl_output.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FILES_THREADS 48                /* files moving at once */
#define FILES_BUDGET_BYTES (32u << 20)  /* chunk memory across those files */
#define FILES_SMALL_BYTES (4u << 20)    /* larger files take the whole budget */

/* One file to move. `local` is the source (put) or the target path (get). */
struct item {
	struct pool *pool;
	char *local;          /* owned */
	char *name;           /* owned */
	uint64_t size;        /* put: from stat; get: once its manifest is read */
	uint64_t done;        /* progress so far; pool lock */
	int rc;
	struct pp_error err;
	struct pp_file file;
	const struct pp_chunk_map *map; /* get --prefix: its chunk map (not owned) */
};

/* A unit of work: items[first..first+count), as a batch or one file. */
struct task {
	size_t first, count;
	bool batch;
};

struct pool {
	struct ctl *x;
	struct item *items;   /* owned, n of them */
	size_t n;
	void (*run)(struct item *it);
	void (*run_batch)(struct pool *p, const struct task *t);
	struct task *tasks;   /* owned; NULL: every item is a task of its own */
	size_t ntasks;
	uint32_t replication; /* put */
	bool sync_each;       /* get: fsync each file before its rename */
	pthread_mutex_t lock; /* guards everything below */
	pthread_cond_t cond;
	size_t next;          /* next task (or item) to start */
	uint64_t budget;      /* chunk memory free */
	uint64_t ticket, serving; /* reservations are granted in order */
	int batches;          /* batches of small files in flight */
	size_t files_done;    /* get --prefix: files listed, over all pages */
	uint64_t total, done; /* bytes, for the progress bar */
	struct progress pr;
};

int set_err(struct pp_error *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
uint64_t cost_of(uint64_t size);
/* Waits (in order) until `bytes` of the budget are free and takes them. */
void pool_reserve(struct pool *p, uint64_t bytes);
void pool_release(struct pool *p, uint64_t bytes);
/* A pp_progress_fn for one item (arg): folds it into the pool's bar. */
void item_progress(void *arg, uint64_t done, uint64_t total);
void pool_init(struct pool *p, const char *label);
void pool_fini(struct pool *p);
/* Moves p->items (in parallel unless `serial`); returns the exit code of
 * the first failure in item order (each one reported), 0 when all went
 * well. Can run again on another set of items (a page of a listing). */
int pool_exec(struct pool *p, bool serial);
int pool_run(struct pool *p, const char *label, bool serial);
void items_free(struct item *items, size_t n);
/* Appends an item; false when out of memory. */
bool items_add(struct item **items, size_t *n, size_t *cap, const char *local, const char *name,
	       uint64_t size);
int name_cmp(const void *a, const void *b);
/* *out = a sep b (malloc'd); -1 when out of memory. */
int join(char **out, const char *a, const char *sep, const char *b);

#endif
