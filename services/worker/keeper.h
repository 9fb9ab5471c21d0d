/* The keeper: makes the copies a direct get pulled durable and registers
 * them, behind the reader's back (DESIGN.md, "Direct node access").
 *
 * A direct get answers as soon as a pulled chunk is verified and written to
 * a temp file; the fsync, the rename and the replicas_added call wait here,
 * on one thread, so neither the reader nor the worker's handler threads
 * wait for the disk. A copy exists (and is registered, as an extra copy)
 * only once store_finish made it durable. The queue is bounded: a full one
 * makes keeper_add wait, which bounds the dirty data behind it. */
#ifndef PP_WORKER_KEEPER_H
#define PP_WORKER_KEEPER_H

#include "store.h"

#define KEEPER_QUEUE_MAX 256 /* staged copies waiting (temp files, not memory) */
#define KEEPER_BATCH_MAX 64  /* copies registered per replicas_added */

struct keeper;
struct worker;

int keeper_start(struct worker *w, struct keeper **out);
/* Queues a staged copy of chunk_id (ownership passes to the keeper). */
void keeper_add(struct keeper *k, struct store_staged *staged, const char *chunk_id,
		const char *source);
/* Finishes what is queued (fsync, publish, register), then stops. NULL is fine. */
void keeper_stop(struct keeper *k);

#endif
