/* Hostile-peer tests for the replay cache and timestamp check (common/auth.c,
 * common/frame.c), from the security review: a flood of fresh nonces must
 * not push a captured message out of the cache so that it can be replayed,
 * and a signed timestamp at the edge of the int64 range must be refused as
 * stale without signed overflow (UBSan aborts on it in sanitizer builds). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "auth.h"
#include "errors.h"
#include "frame.h"
#include "timeutil.h"

#include <stdlib.h>
#include <string.h>

static void keyed(struct auth *a)
{
	auth_init_open(a);
	memcpy(a->key, "unit-test-cluster-key-0123456789", 32);
	a->key_len = 32;
	a->enabled = true;
	a->nonces = calloc(AUTH_NONCE_CACHE, sizeof(*a->nonces));
	assert_non_null(a->nonces);
}

/* More fresh nonces than the cache has slots, all inside the window: every
 * one of the first messages must still be refused when replayed. Before the
 * fix a full probe run overwrote a live entry and its message became
 * replayable for the rest of the window. */
static void test_flood_does_not_make_old_nonces_replayable(void **state)
{
	(void)state;
	struct auth a;
	keyed(&a);
	const size_t first = 2000, total = (size_t)AUTH_NONCE_CACHE * 3;
	uint8_t(*kept)[AUTH_NONCE_BYTES] = calloc(first, AUTH_NONCE_BYTES);
	assert_non_null(kept);
	int64_t ts = time_wall_ms();
	for (size_t i = 0; i < total; i++) {
		uint8_t n[AUTH_NONCE_BYTES];
		auth_random(n, sizeof(n));
		if (i < first)
			memcpy(kept[i], n, sizeof(n));
		(void)auth_nonce_fresh(&a, n, ts);
	}
	size_t replayable = 0;
	for (size_t i = 0; i < first; i++)
		if (auth_nonce_fresh(&a, kept[i], ts))
			replayable++;
	assert_int_equal(replayable, 0);
	/* The cache still takes new messages signed after the flood. */
	time_sleep_ms(5);
	uint8_t n[AUTH_NONCE_BYTES];
	auth_random(n, sizeof(n));
	assert_true(auth_nonce_fresh(&a, n, time_wall_ms()));
	assert_false(auth_nonce_fresh(&a, n, time_wall_ms()));
	free(kept);
	auth_free(&a);
}

/* A correctly signed frame whose timestamp field is 2^63 (INT64_MIN once
 * read as signed) or 2^63 - 1: refused as stale. */
static void test_extreme_timestamps_are_stale(void **state)
{
	(void)state;
	struct auth a;
	keyed(&a);
	const uint64_t stamps[] = {UINT64_C(1) << 63, (UINT64_C(1) << 63) - 1, UINT64_MAX, 1};
	for (size_t k = 0; k < sizeof(stamps) / sizeof(stamps[0]); k++) {
		nng_msg *m;
		assert_int_equal(frame_build(&m, NULL, "pb", 2, NULL, 0), PP_OK);
		uint8_t *h = nng_msg_body(m);
		h[3] = FRAME_FLAG_SIGNED;
		for (int i = 0; i < 8; i++)
			h[12 + i] = (uint8_t)(stamps[k] >> (56 - 8 * i));
		uint8_t mac[AUTH_MAC_BYTES];
		auth_mac(&a, h, nng_msg_len(m), mac);
		assert_int_equal(nng_msg_append(m, mac, sizeof(mac)), 0);
		struct frame_view v;
		const char *why = NULL;
		assert_int_equal(frame_open(m, &a, true, &v, &why), PP_EAUTH);
		assert_string_equal(why, "stale timestamp");
		nng_msg_free(m);
	}
	auth_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flood_does_not_make_old_nonces_replayable),
		cmocka_unit_test(test_extreme_timestamps_are_stale),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
