/* Condition variables on the monotonic clock, so that wall-clock steps
 * never shorten or stretch a worker's intervals (heartbeat, inventory,
 * scrub pacing, retries). */
#ifndef PP_WORKER_UTIL_H
#define PP_WORKER_UTIL_H

#include <pthread.h>
#include <stdint.h>

void worker_cond_init(pthread_cond_t *c);
/* pthread_cond_timedwait for ms from now; returns its result. */
int worker_cond_wait_ms(pthread_cond_t *c, pthread_mutex_t *m, int64_t ms);

#endif
