/* Shared helpers of the worker's parts: transfer slots (a counting
 * semaphore with a timed wait) and monotonic condition-variable waits. */
#define _GNU_SOURCE
#include "worker.h"
#include "errors.h"
#include "worker_util.h"

#include <errno.h>
#include <time.h>

void worker_cond_init(pthread_cond_t *c)
{
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(c, &attr);
	pthread_condattr_destroy(&attr);
}

int worker_cond_wait_ms(pthread_cond_t *c, pthread_mutex_t *m, int64_t ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (ms < 0)
		ms = 0;
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return pthread_cond_timedwait(c, m, &ts);
}

void worker_slots_init(struct worker *w)
{
	pthread_mutex_init(&w->slots_lock, NULL);
	worker_cond_init(&w->slots_cond);
	w->slots_free = WORKER_TRANSFER_SLOTS;
}

void worker_slots_destroy(struct worker *w)
{
	pthread_cond_destroy(&w->slots_cond);
	pthread_mutex_destroy(&w->slots_lock);
}

int worker_slot_take(struct worker *w, int wait_ms)
{
	int rc = PP_OK;
	pthread_mutex_lock(&w->slots_lock);
	while (w->slots_free == 0) {
		if (worker_cond_wait_ms(&w->slots_cond, &w->slots_lock, wait_ms) == ETIMEDOUT &&
		    w->slots_free == 0) {
			rc = PP_EUNAVAIL;
			break;
		}
	}
	if (rc == PP_OK)
		w->slots_free--;
	pthread_mutex_unlock(&w->slots_lock);
	return rc;
}

void worker_slot_give(struct worker *w)
{
	pthread_mutex_lock(&w->slots_lock);
	w->slots_free++;
	pthread_cond_signal(&w->slots_cond);
	pthread_mutex_unlock(&w->slots_lock);
}
