/* Transfer slots: a counting semaphore with a timed wait, shared by the
 * worker's handlers (see worker.h). */
#define _GNU_SOURCE
#include "worker.h"
#include "errors.h"
#include "timeutil.h"

#include <errno.h>
#include <time.h>

void worker_slots_init(struct worker *w)
{
	pthread_mutex_init(&w->slots_lock, NULL);
	time_cond_init(&w->slots_cond);
	w->slots_free = WORKER_TRANSFER_SLOTS;
	transfer_loads_init(&w->loads);
	pthread_mutex_init(&w->reg_lock, NULL);
	time_cond_init(&w->reg_cond);
	w->reg_queue = NULL;
	w->reg_busy = false;
}

void worker_slots_destroy(struct worker *w)
{
	transfer_loads_destroy(&w->loads);
	pthread_cond_destroy(&w->reg_cond);
	pthread_mutex_destroy(&w->reg_lock);
	pthread_cond_destroy(&w->slots_cond);
	pthread_mutex_destroy(&w->slots_lock);
}

int worker_slot_take(struct worker *w, int wait_ms)
{
	int rc = PP_OK;
	pthread_mutex_lock(&w->slots_lock);
	while (w->slots_free == 0) {
		if (time_cond_wait_ms(&w->slots_cond, &w->slots_lock, wait_ms) == ETIMEDOUT &&
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
