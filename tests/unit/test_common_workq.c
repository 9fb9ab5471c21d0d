#define _GNU_SOURCE
/* The bounded work queue (common/workq): items run in push order, a full
 * queue refuses, and a stop runs nothing more and drops what is queued. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "errors.h"
#include "workq.h"

#include <pthread.h>
#include <stdbool.h>

struct probe {
	pthread_mutex_t lock;
	pthread_cond_t cv;
	bool gate_open;  /* run() waits for it */
	int started;     /* run() calls entered */
	int ran[64];     /* item values in run order */
	int n_ran;
	int dropped[64];
	int n_dropped;
};

static void probe_init(struct probe *p, bool gate_open)
{
	*p = (struct probe){.gate_open = gate_open};
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cv, NULL);
}

static void run(void *arg, void *item)
{
	struct probe *p = arg;
	pthread_mutex_lock(&p->lock);
	p->started++;
	pthread_cond_broadcast(&p->cv);
	while (!p->gate_open)
		pthread_cond_wait(&p->cv, &p->lock);
	p->ran[p->n_ran++] = *(int *)item;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->lock);
}

static void drop(void *arg, void *item)
{
	struct probe *p = arg;
	p->dropped[p->n_dropped++] = *(int *)item;
}

static void wait_for(struct probe *p, const int *counter, int want)
{
	pthread_mutex_lock(&p->lock);
	while (*counter < want)
		pthread_cond_wait(&p->cv, &p->lock);
	pthread_mutex_unlock(&p->lock);
}

static void test_runs_in_push_order(void **state)
{
	(void)state;
	struct probe p;
	probe_init(&p, true);
	struct workq *q;
	assert_int_equal(workq_start("t", 1, 16, run, drop, &p, &q), PP_OK);
	int items[10];
	for (int i = 0; i < 10; i++) {
		items[i] = i;
		assert_int_equal(workq_push(q, &items[i]), PP_OK);
	}
	wait_for(&p, &p.n_ran, 10);
	for (int i = 0; i < 10; i++)
		assert_int_equal(p.ran[i], i);
	workq_free(q);
	assert_int_equal(p.n_dropped, 0);
}

static void test_full_queue_refuses_and_stop_drops(void **state)
{
	(void)state;
	struct probe p;
	probe_init(&p, false);
	struct workq *q;
	assert_int_equal(workq_start("t", 1, 3, run, drop, &p, &q), PP_OK);
	int items[6] = {0, 1, 2, 3, 4, 5};
	/* The one thread takes item 0 and blocks on the gate... */
	assert_int_equal(workq_push(q, &items[0]), PP_OK);
	wait_for(&p, &p.started, 1);
	/* ...so three more fill the queue, and the next is refused. */
	for (int i = 1; i <= 3; i++)
		assert_int_equal(workq_push(q, &items[i]), PP_OK);
	assert_int_equal(workq_depth(q), 3);
	assert_int_equal(workq_push(q, &items[4]), PP_EUNAVAIL);
	/* A stop waits for the running item, runs nothing more... */
	pthread_mutex_lock(&p.lock);
	p.gate_open = true;
	pthread_cond_broadcast(&p.cv);
	pthread_mutex_unlock(&p.lock);
	workq_stop(q);
	assert_int_equal(workq_push(q, &items[5]), PP_EUNAVAIL);
	assert_in_range(p.n_ran, 1, 4);
	assert_int_equal(p.ran[0], 0);
	/* ...and the free drops exactly what never ran, in order. */
	workq_free(q);
	assert_int_equal(p.n_ran + p.n_dropped, 4);
	for (int i = 0; i < p.n_dropped; i++)
		assert_int_equal(p.dropped[i], p.n_ran + i);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_runs_in_push_order),
		cmocka_unit_test(test_full_queue_refuses_and_stop_drops),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
