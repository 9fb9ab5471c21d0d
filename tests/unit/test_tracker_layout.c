#define _GNU_SOURCE
/* Chunk offsets (services/tracker/db_layout.c): a file whose chunks differ
 * in size (S3 multipart parts) is addressed by the sum of the sizes before
 * each chunk, never index * chunk_size. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "db.h"
#include "db_layout.h"
#include "errors.h"
#include "policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char dir[64];
static char path[128];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/pp-layout.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/t.db", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[200];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void node_up(struct db *db, const char *id)
{
	struct node_rec r;
	memset(&r, 0, sizeof(r));
	snprintf(r.id, sizeof(r.id), "%s", id);
	snprintf(r.address, sizeof(r.address), "tcp://%s", id);
	r.liveness = LIVE_UP;
	r.heard = true;
	r.roles = policy_node_roles(&r, 1000);
	assert_int_equal(db_node_save(db, &r, 1), PP_OK);
	assert_int_equal(db_scan_done(db, id), PP_OK);
}

static uint64_t next_gen = 100;

static void copy_on(struct db *db, const char *node, const char *id, uint32_t size)
{
	struct copy_ref ref = {.size = size, .gen = ++next_gen};
	snprintf(ref.id, sizeof(ref.id), "%s", id);
	assert_int_equal(db_replica_added(db, node, &ref, 1000, 2000), PP_OK);
}

static void test_offsets_are_sums_of_the_sizes_before(void **state)
{
	(void)state;
	struct db *db;
	assert_int_equal(db_open(path, &db), PP_OK);
	node_up(db, "a");
	node_up(db, "b");
	/* Two "parts" of 4+1 and 4+2 units: chunk sizes 40, 10, 40, 20. */
	const uint32_t sizes[] = {40, 10, 40, 20};
	int64_t up;
	char err[256] = "";
	assert_int_equal(db_upload_begin(db, "b/k", 2, 40, 0, 1000, &up), PP_OK);
	for (int i = 0; i < 4; i++) {
		char id[65];
		snprintf(id, sizeof(id), "%064x", i + 1);
		assert_int_equal(db_upload_place(db, up, (uint64_t)i, id, sizes[i], 1000, 2000), PP_OK);
		copy_on(db, "a", id, sizes[i]);
		copy_on(db, "b", id, sizes[i]);
	}
	struct file_rec f;
	assert_int_equal(db_upload_commit(db, up, 110, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
					  4, 5000, 5000, &f, err, sizeof(err)),
			 PP_OK);
	const uint64_t starts[] = {0, 40, 50, 90, 110};
	for (uint64_t i = 0; i <= 4; i++) {
		uint64_t off = 99;
		assert_int_equal(db_chunk_offset(db, f.id, i, &off), PP_OK);
		assert_int_equal(off, starts[i]);
	}
	const struct { uint64_t at, idx, start; } probes[] = {
		{0, 0, 0}, {39, 0, 0}, {40, 1, 40}, {49, 1, 40}, {50, 2, 50}, {89, 2, 50}, {90, 3, 90}, {109, 3, 90}};
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		uint64_t idx = 99, start = 99;
		assert_int_equal(db_chunk_at_offset(db, f.id, probes[i].at, &idx, &start), PP_OK);
		assert_int_equal(idx, probes[i].idx);
		assert_int_equal(start, probes[i].start);
	}
	uint64_t idx, start;
	assert_int_equal(db_chunk_at_offset(db, f.id, 110, &idx, &start), PP_ENOTFOUND);
	db_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_offsets_are_sums_of_the_sizes_before, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
