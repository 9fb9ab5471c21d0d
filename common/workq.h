/* A bounded work queue served by N threads: the one pattern behind the RPC
 * server's handler pool and the tracker's repair dispatch.
 *
 * Items are caller-owned pointers handed to `run` on one of the threads, in
 * the order they were pushed. The queue holds at most `capacity` items; a
 * push beyond that is refused (PP_EUNAVAIL) so a burst cannot grow memory
 * without bound. Stopping is two-phase like bgloop: workq_stop returns once
 * every thread has finished the item it was running and exited (items still
 * queued are not run), and workq_free hands what is left to `drop`. */
#ifndef PP_COMMON_WORKQ_H
#define PP_COMMON_WORKQ_H

#include <stddef.h>

struct workq;

typedef void (*workq_run_fn)(void *arg, void *item);
typedef void (*workq_drop_fn)(void *arg, void *item);

/* Starts `threads` threads (named `name`). PP_EINTERNAL when a thread
 * cannot be created (none is left running then). */
int workq_start(const char *name, size_t threads, size_t capacity, workq_run_fn run,
		workq_drop_fn drop, void *arg, struct workq **out);
/* Queues item; PP_EUNAVAIL when the queue is full or stopping. */
int workq_push(struct workq *q, void *item);
/* Items waiting, not yet taken by a thread. */
size_t workq_depth(struct workq *q);
/* Stops and joins the threads; NULL is fine. Idempotent. */
void workq_stop(struct workq *q);
/* Stops if needed, drops the items never run, frees; NULL is fine. */
void workq_free(struct workq *q);

#endif
