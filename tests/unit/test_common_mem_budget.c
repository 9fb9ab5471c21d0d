#define _GNU_SOURCE
/* The memory budget (common/mem_budget): takes within capacity succeed at
 * once, a take that does not fit waits and is refused after wait_ms, gives
 * wake waiters in arrival order, a request larger than the budget is served
 * when nothing is held, and try_take never jumps the queue. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "errors.h"
#include "mem_budget.h"
#include "timeutil.h"

#include <pthread.h>
#include <stdatomic.h>

static void test_take_within_capacity_and_refusal_after_wait(void **state)
{
	(void)state;
	struct mem_budget *b = NULL;
	assert_int_equal(mem_budget_new(100, 50, &b), PP_OK);
	assert_int_equal(mem_budget_take(b, 60), PP_OK);
	assert_int_equal(mem_budget_take(b, 40), PP_OK);
	int64_t t0 = time_mono_ms();
	assert_int_equal(mem_budget_take(b, 1), PP_EUNAVAIL);
	assert_true(time_mono_ms() - t0 >= 45);
	struct mem_budget_stats s;
	mem_budget_stats(b, &s);
	assert_int_equal(s.used_bytes, 100);
	assert_int_equal(s.refused, 1);
	assert_int_equal(s.waiting, 0);
	mem_budget_give(b, 100);
	mem_budget_free(b);
}

static void test_oversize_served_when_empty(void **state)
{
	(void)state;
	struct mem_budget *b = NULL;
	assert_int_equal(mem_budget_new(10, 20, &b), PP_OK);
	assert_int_equal(mem_budget_take(b, 1000), PP_OK);
	assert_false(mem_budget_try_take(b, 1));
	mem_budget_give(b, 1000);
	assert_true(mem_budget_try_take(b, 10));
	mem_budget_give(b, 10);
	mem_budget_free(b);
}

struct taker {
	struct mem_budget *b;
	uint64_t n;
	atomic_int *served; /* takers that returned */
	int rc;
};

static void *take_main(void *arg)
{
	struct taker *t = arg;
	t->rc = mem_budget_take(t->b, t->n);
	atomic_fetch_add(t->served, 1);
	return NULL;
}

static void wait_waiting(struct mem_budget *b, uint32_t n)
{
	struct mem_budget_stats s;
	for (int i = 0; i < 5000; i++) {
		mem_budget_stats(b, &s);
		if (s.waiting == n)
			return;
		time_sleep_ms(1);
	}
	fail_msg("waiters did not queue");
}

static void test_fifo_and_try_take_does_not_jump(void **state)
{
	(void)state;
	struct mem_budget *b = NULL;
	assert_int_equal(mem_budget_new(100, 10000, &b), PP_OK);
	assert_int_equal(mem_budget_take(b, 100), PP_OK);
	atomic_int served = 0;
	/* A large request first, then a small one: the small one must not pass. */
	struct taker big = {b, 80, &served, -1}, small = {b, 10, &served, -1};
	pthread_t tb, ts;
	pthread_create(&tb, NULL, take_main, &big);
	wait_waiting(b, 1);
	pthread_create(&ts, NULL, take_main, &small);
	wait_waiting(b, 2);
	assert_false(mem_budget_try_take(b, 1)); /* queued takers come first */
	mem_budget_give(b, 20); /* 80 used: neither fits before the head */
	time_sleep_ms(20);
	assert_int_equal(atomic_load(&served), 0);
	mem_budget_give(b, 80); /* both fit now, in order */
	pthread_join(tb, NULL);
	pthread_join(ts, NULL);
	assert_int_equal(big.rc, PP_OK);
	assert_int_equal(small.rc, PP_OK);
	struct mem_budget_stats s;
	mem_budget_stats(b, &s);
	assert_int_equal(s.used_bytes, 90);
	assert_int_equal(s.peak_bytes, 100);
	mem_budget_give(b, 90);
	mem_budget_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_take_within_capacity_and_refusal_after_wait),
		cmocka_unit_test(test_oversize_served_when_empty),
		cmocka_unit_test(test_fifo_and_try_take_does_not_jump),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
