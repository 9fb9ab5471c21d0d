/* Background loops: a thread that runs a step, sleeps for the delay the step
 * returns (or until woken) and runs it again, until stopped. Every periodic
 * job of every service (tracker repair, collection, balance, liveness; worker
 * heartbeat, inventory, scrub; gateway header guard) is one of these.
 *
 * Stopping is two-phase: bgloop_stop returns only after the step that was
 * running (if any) has returned, and leaves the loop valid (a wake is then a
 * no-op) until bgloop_free. So a service stops every loop first and frees
 * afterwards, and no step ever runs on, or wakes, something already freed.
 * Sleeps are on the monotonic clock. */
#ifndef PP_COMMON_BGLOOP_H
#define PP_COMMON_BGLOOP_H

#include <stdbool.h>
#include <stdint.h>

struct bgloop;

/* One step; returns the delay in ms before the next (a wake cuts it short). */
typedef int64_t (*bgloop_step_fn)(void *arg, struct bgloop *loop);

/* Starts the thread (named `name`, at most 15 characters shown) and runs the
 * first step at once. PP_EINTERNAL when the thread cannot be created. */
int bgloop_start(const char *name, bgloop_step_fn step, void *arg, struct bgloop **out);
/* Runs the next step as soon as the current one (if any) returns. */
void bgloop_wake(struct bgloop *loop);
/* For long steps: sleeps up to ms; true when the loop is stopping, and the
 * step should return at once. Wakes do not end the pause. */
bool bgloop_pause(struct bgloop *loop, int64_t ms);
bool bgloop_stopping(struct bgloop *loop);
/* Stops and joins the thread; NULL is fine. Idempotent. */
void bgloop_stop(struct bgloop *loop);
/* Frees a stopped loop (stops it first if needed); NULL is fine. */
void bgloop_free(struct bgloop *loop);

#endif
