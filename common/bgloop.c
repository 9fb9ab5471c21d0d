/* Background loops; see bgloop.h. `lock` guards woken and stopping; the step
 * runs without it, so a step may call bgloop_wake on its own loop. */
#define _GNU_SOURCE
#include "bgloop.h"
#include "errors.h"
#include "log.h"
#include "timeutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

struct bgloop {
	char name[16];
	bgloop_step_fn step;
	void *arg;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool woken, stopping;
	bool joined; /* owned by the stopping thread */
};

static void *loop_main(void *p)
{
	struct bgloop *l = p;
	for (;;) {
		int64_t delay = l->step(l->arg, l);
		pthread_mutex_lock(&l->lock);
		int64_t deadline = time_mono_ms() + (delay > 0 ? delay : 0);
		while (!l->woken && !l->stopping) {
			int64_t left = deadline - time_mono_ms();
			if (left <= 0)
				break;
			time_cond_wait_ms(&l->cond, &l->lock, left);
		}
		bool stop = l->stopping;
		l->woken = false;
		pthread_mutex_unlock(&l->lock);
		if (stop)
			return NULL;
	}
}

int bgloop_start(const char *name, bgloop_step_fn step, void *arg, struct bgloop **out)
{
	struct bgloop *l = calloc(1, sizeof(*l));
	if (l == NULL)
		return PP_EINTERNAL;
	snprintf(l->name, sizeof(l->name), "%s", name);
	l->step = step;
	l->arg = arg;
	pthread_mutex_init(&l->lock, NULL);
	int rv = time_cond_init(&l->cond);
	if (rv == 0)
		rv = pthread_create(&l->thread, NULL, loop_main, l);
	if (rv != 0) {
		log_error("thread_start_failed", "loop=%s err=%d", l->name, rv);
		pthread_mutex_destroy(&l->lock);
		free(l);
		return PP_EINTERNAL;
	}
	pthread_setname_np(l->thread, l->name);
	*out = l;
	return PP_OK;
}

void bgloop_wake(struct bgloop *l)
{
	if (l == NULL)
		return;
	pthread_mutex_lock(&l->lock);
	l->woken = true;
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);
}

bool bgloop_pause(struct bgloop *l, int64_t ms)
{
	pthread_mutex_lock(&l->lock);
	int64_t deadline = time_mono_ms() + ms;
	while (!l->stopping) {
		int64_t left = deadline - time_mono_ms();
		if (left <= 0)
			break;
		time_cond_wait_ms(&l->cond, &l->lock, left);
	}
	bool stop = l->stopping;
	pthread_mutex_unlock(&l->lock);
	return stop;
}

bool bgloop_stopping(struct bgloop *l)
{
	pthread_mutex_lock(&l->lock);
	bool stop = l->stopping;
	pthread_mutex_unlock(&l->lock);
	return stop;
}

void bgloop_stop(struct bgloop *l)
{
	if (l == NULL || l->joined)
		return;
	pthread_mutex_lock(&l->lock);
	l->stopping = true;
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);
	pthread_join(l->thread, NULL);
	l->joined = true;
}

void bgloop_free(struct bgloop *l)
{
	if (l == NULL)
		return;
	bgloop_stop(l);
	pthread_cond_destroy(&l->cond);
	pthread_mutex_destroy(&l->lock);
	free(l);
}
