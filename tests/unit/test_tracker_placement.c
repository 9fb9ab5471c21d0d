/* Placement: weighted rendezvous hashing on free space with zone spread
 * (services/tracker/placement.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "errors.h"
#include "placement.h"
#include "policy.h"

#include <stdio.h>
#include <string.h>

static void chunk_name(int i, char *buf)
{
	snprintf(buf, 65, "%064x", i * 2654435761u);
}

static void test_never_two_replicas_on_one_node(void **state)
{
	(void)state;
	struct placement_node n[5] = {{"a", "z", 100}, {"b", "z", 100}, {"c", "z", 100},
				      {"d", "z", 100}, {"e", "z", 100}};
	for (int i = 0; i < 500; i++) {
		char id[65];
		chunk_name(i, id);
		size_t out[5];
		assert_int_equal(placement_pick(id, n, 5, NULL, 0, 5, out), PP_OK);
		for (int x = 0; x < 5; x++)
			for (int y = x + 1; y < 5; y++)
				assert_true(out[x] != out[y]);
	}
}

static void test_zones_spread_first(void **state)
{
	(void)state;
	/* Zone A has far more free space, but a second copy must go to B. */
	struct placement_node n[4] = {{"a1", "A", 1000000}, {"a2", "A", 1000000},
				      {"a3", "A", 1000000}, {"b1", "B", 10}};
	for (int i = 0; i < 200; i++) {
		char id[65];
		chunk_name(i, id);
		size_t out[2];
		assert_int_equal(placement_pick(id, n, 4, NULL, 0, 2, out), PP_OK);
		assert_true(out[0] == 3 || out[1] == 3);
	}
	/* A zone already holding a copy is avoided too. */
	const char *held[] = {"B"};
	struct placement_node m[3] = {{"b2", "B", 1000000}, {"c1", "C", 1}, {"b3", "B", 1000000}};
	for (int i = 0; i < 100; i++) {
		char id[65];
		chunk_name(i, id);
		size_t out[1];
		assert_int_equal(placement_pick(id, m, 3, held, 1, 1, out), PP_OK);
		assert_int_equal(out[0], 1);
	}
}

static void test_weights_follow_free_space(void **state)
{
	(void)state;
	struct placement_node n[3] = {{"big", "z", 3000}, {"mid", "z", 2000}, {"small", "z", 1000}};
	int wins[3] = {0};
	const int trials = 30000;
	for (int i = 0; i < trials; i++) {
		char id[65];
		chunk_name(i, id);
		size_t out[1];
		assert_int_equal(placement_pick(id, n, 3, NULL, 0, 1, out), PP_OK);
		wins[out[0]]++;
	}
	/* expected shares 1/2, 1/3, 1/6 */
	assert_true(wins[0] > trials * 0.45 && wins[0] < trials * 0.55);
	assert_true(wins[1] > trials * 0.28 && wins[1] < trials * 0.38);
	assert_true(wins[2] > trials * 0.12 && wins[2] < trials * 0.21);
}

static void test_not_enough_nodes(void **state)
{
	(void)state;
	struct placement_node n[1] = {{"a", "z", 100}};
	size_t out[2];
	assert_int_equal(placement_pick("ab", n, 1, NULL, 0, 2, out), PP_EUNAVAIL);
}

static struct node_rec mk(const char *id, const char *zone, uint64_t cap, uint64_t used)
{
	struct node_rec r;
	memset(&r, 0, sizeof(r));
	snprintf(r.id, sizeof(r.id), "%s", id);
	snprintf(r.zone, sizeof(r.zone), "%s", zone);
	snprintf(r.address, sizeof(r.address), "tcp://%s", id);
	r.capacity = cap;
	r.used = used;
	r.liveness = LIVE_UP;
	r.heard = true;
	return r;
}

/* Roles as the liveness module computes them. */
static void set_roles(struct node_rec *nodes, size_t n)
{
	for (size_t i = 0; i < n; i++)
		nodes[i].roles = policy_node_roles(&nodes[i], 0);
}

static void test_disk_full_and_dead_skipped(void **state)
{
	(void)state;
	struct node_rec nodes[5] = {mk("full", "z", 1000, 10), mk("ok1", "z", 1 << 20, 0),
				    mk("nospace", "z", 1000, 990), mk("dead", "z", 1 << 20, 0),
				    mk("ok2", "z", 1 << 20, 0)};
	nodes[0].disk_full = true;
	nodes[3].liveness = LIVE_DEAD;
	set_roles(nodes, 5);
	for (int i = 0; i < 200; i++) {
		char id[65];
		chunk_name(i, id);
		size_t out[2];
		assert_int_equal(placement_choose(id, 100, nodes, 5, NULL, 0, NULL, 0, NULL, 2, out),
				 PP_OK);
		for (int k = 0; k < 2; k++)
			assert_true(out[k] == 1 || out[k] == 4);
	}
	size_t out[3];
	assert_int_equal(placement_choose("ab", 100, nodes, 5, NULL, 0, NULL, 0, NULL, 3, out),
			 PP_EUNAVAIL);
	/* a node already holding the chunk is excluded */
	const char *ex[] = {"ok1"};
	assert_int_equal(placement_choose("ab", 100, nodes, 5, ex, 1, NULL, 0, NULL, 2, out),
			 PP_EUNAVAIL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_never_two_replicas_on_one_node),
		cmocka_unit_test(test_zones_spread_first),
		cmocka_unit_test(test_weights_follow_free_space),
		cmocka_unit_test(test_not_enough_nodes),
		cmocka_unit_test(test_disk_full_and_dead_skipped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
