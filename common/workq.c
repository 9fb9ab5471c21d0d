/* Bounded work queue; see workq.h. A ring of item pointers under one lock;
 * threads wait on `ready` for an item or the stop. */
#define _GNU_SOURCE
#include "workq.h"
#include "errors.h"
#include "log.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

struct workq {
	char name[16];
	workq_run_fn run;
	workq_drop_fn drop;
	void *arg;
	pthread_mutex_t lock; /* guards ring, head, n, stopping */
	pthread_cond_t ready;
	void **ring;
	size_t cap, head, n;
	bool stopping, stopped;
	pthread_t *threads;
	size_t n_threads;
};

static void *thread_main(void *p)
{
	struct workq *q = p;
	pthread_setname_np(pthread_self(), q->name);
	for (;;) {
		pthread_mutex_lock(&q->lock);
		while (q->n == 0 && !q->stopping)
			pthread_cond_wait(&q->ready, &q->lock);
		if (q->stopping) {
			pthread_mutex_unlock(&q->lock);
			return NULL;
		}
		void *item = q->ring[q->head];
		q->head = (q->head + 1) % q->cap;
		q->n--;
		pthread_mutex_unlock(&q->lock);
		q->run(q->arg, item);
	}
}

int workq_start(const char *name, size_t threads, size_t capacity, workq_run_fn run,
		workq_drop_fn drop, void *arg, struct workq **out)
{
	struct workq *q = calloc(1, sizeof(*q));
	if (q == NULL)
		return PP_EINTERNAL;
	snprintf(q->name, sizeof(q->name), "%s", name);
	q->run = run;
	q->drop = drop;
	q->arg = arg;
	q->cap = capacity ? capacity : 1;
	q->ring = calloc(q->cap, sizeof(*q->ring));
	q->threads = calloc(threads ? threads : 1, sizeof(*q->threads));
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->ready, NULL);
	if (q->ring == NULL || q->threads == NULL) {
		workq_free(q);
		return PP_EINTERNAL;
	}
	for (size_t i = 0; i < threads; i++) {
		int rv = pthread_create(&q->threads[i], NULL, thread_main, q);
		if (rv != 0) {
			log_error("thread_create_failed", "queue=%s errno=%d", q->name, rv);
			workq_free(q);
			return PP_EINTERNAL;
		}
		q->n_threads++;
	}
	*out = q;
	return PP_OK;
}

int workq_push(struct workq *q, void *item)
{
	int rc = PP_EUNAVAIL;
	pthread_mutex_lock(&q->lock);
	if (!q->stopping && q->n < q->cap) {
		q->ring[(q->head + q->n) % q->cap] = item;
		q->n++;
		pthread_cond_signal(&q->ready);
		rc = PP_OK;
	}
	pthread_mutex_unlock(&q->lock);
	return rc;
}

size_t workq_depth(struct workq *q)
{
	pthread_mutex_lock(&q->lock);
	size_t n = q->n;
	pthread_mutex_unlock(&q->lock);
	return n;
}

void workq_stop(struct workq *q)
{
	if (q == NULL)
		return;
	pthread_mutex_lock(&q->lock);
	bool join = !q->stopped;
	q->stopping = q->stopped = true;
	pthread_cond_broadcast(&q->ready);
	pthread_mutex_unlock(&q->lock);
	if (!join)
		return;
	for (size_t i = 0; i < q->n_threads; i++)
		pthread_join(q->threads[i], NULL);
}

void workq_free(struct workq *q)
{
	if (q == NULL)
		return;
	workq_stop(q);
	for (; q->n > 0; q->n--) {
		if (q->drop)
			q->drop(q->arg, q->ring[q->head]);
		q->head = (q->head + 1) % q->cap;
	}
	pthread_cond_destroy(&q->ready);
	pthread_mutex_destroy(&q->lock);
	free(q->ring);
	free(q->threads);
	free(q);
}
