/* Unit tests for the worker's in-memory chunk index
 * (services/worker/chunk_index.h): growth, lookups and removal with
 * backward shift, checked against a plain array model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "chunk_index.h"
#include "errors.h"

#include <stdlib.h>
#include <string.h>

#define N 5000

/* Ids that collide on their home slot often: only a few low bits differ. */
static void make_id(unsigned i, uint8_t id[CHUNK_ID_BYTES])
{
	memset(id, 0, CHUNK_ID_BYTES);
	id[0] = (uint8_t)(i % 7);
	id[8] = (uint8_t)i;
	id[9] = (uint8_t)(i >> 8);
}

static void test_insert_find_remove_match_a_model(void **state)
{
	(void)state;
	struct chunk_index ix;
	assert_int_equal(chunk_index_init(&ix), PP_OK);
	static bool present[N];
	uint8_t id[CHUNK_ID_BYTES];
	uint64_t bytes = 0;
	size_t count = 0;
	srand(42);
	for (int step = 0; step < 4 * N; step++) {
		unsigned i = (unsigned)rand() % N;
		make_id(i, id);
		if (rand() % 3 != 0) {
			bool created;
			struct chunk_entry *e;
			assert_int_equal(chunk_index_insert(&ix, id, i + 1, &e, &created), PP_OK);
			assert_int_equal(created, !present[i]);
			assert_int_equal(e->size, i + 1);
			if (created) {
				present[i] = true;
				bytes += i + 1;
				count++;
			}
		} else {
			assert_int_equal(chunk_index_remove(&ix, id, NULL), present[i]);
			if (present[i]) {
				present[i] = false;
				bytes -= i + 1;
				count--;
			}
		}
	}
	assert_int_equal(ix.count, count);
	assert_int_equal(ix.bytes, bytes);
	for (unsigned i = 0; i < N; i++) {
		make_id(i, id);
		struct chunk_entry *e = chunk_index_find(&ix, id);
		assert_int_equal(e != NULL, present[i]);
		if (e)
			assert_int_equal(e->size, i + 1);
	}
	chunk_index_free(&ix);
}

static void test_hex_round_trip(void **state)
{
	(void)state;
	const char *hex = "00ff10a9b8c7d6e5f4030201aabbccddeeff00112233445566778899abcdef01";
	uint8_t bin[CHUNK_ID_BYTES];
	char back[65];
	chunk_id_to_bin(hex, bin);
	assert_int_equal(bin[0], 0x00);
	assert_int_equal(bin[1], 0xff);
	chunk_id_to_hex(bin, back);
	assert_string_equal(back, hex);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_insert_find_remove_match_a_model),
		cmocka_unit_test(test_hex_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
