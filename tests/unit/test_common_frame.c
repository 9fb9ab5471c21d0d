/* Unit tests for the signed frame (common/frame.h) and the cluster key
 * (common/auth.h): round trips, tampering, staleness, replay, truncation and
 * key-file rules. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "auth.h"
#include "errors.h"
#include "frame.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char key_path[] = "/tmp/pp-unit-key-XXXXXX";

static void write_key(const char *text, mode_t mode)
{
	int fd = mkstemp(key_path);
	if (fd < 0) {
		strcpy(key_path + strlen(key_path) - 6, "XXXXXX");
		fd = mkstemp(key_path);
	}
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	fchmod(fd, mode);
	close(fd);
}

static void keyed(struct auth *a, const char *text)
{
	char err[256];
	write_key(text, 0600);
	assert_int_equal(auth_init_key_file(a, key_path, err, sizeof(err)), PP_OK);
	unlink(key_path);
	strcpy(key_path + strlen(key_path) - 6, "XXXXXX");
}

static nng_msg *sample_frame(struct auth *a)
{
	nng_msg *m;
	assert_int_equal(frame_build(&m, a, "protobuf", 8, "payload-bytes", 13), PP_OK);
	return m;
}

static void test_unsigned_round_trip(void **state)
{
	(void)state;
	struct auth open;
	auth_init_open(&open);
	nng_msg *m = sample_frame(&open);
	struct frame_view v;
	assert_int_equal(frame_open(m, &open, true, &v, NULL), PP_OK);
	assert_int_equal(v.pb_len, 8);
	assert_memory_equal(v.pb, "protobuf", 8);
	assert_int_equal(v.payload_len, 13);
	assert_memory_equal(v.payload, "payload-bytes", 13);
	assert_false(v.is_signed);
	nng_msg_free(m);
	auth_free(&open);
}

static void test_signed_round_trip_and_replay(void **state)
{
	(void)state;
	struct auth a;
	keyed(&a, "0123456789abcdef-cluster-key\n\n");
	assert_int_equal(a.key_len, strlen("0123456789abcdef-cluster-key"));
	nng_msg *m = sample_frame(&a);
	struct frame_view v;
	const char *why;
	assert_int_equal(frame_open(m, &a, true, &v, &why), PP_OK);
	assert_true(v.is_signed);
	/* The very same bytes again are a replay. */
	assert_int_equal(frame_open(m, &a, true, &v, &why), PP_EAUTH);
	assert_string_equal(why, "replayed message");
	nng_msg_free(m);
	auth_free(&a);
}

static void test_refuses_unsigned_tampered_and_wrong_key(void **state)
{
	(void)state;
	struct auth a, other, open;
	keyed(&a, "0123456789abcdef-cluster-key");
	keyed(&other, "another-key-0123456789");
	auth_init_open(&open);
	struct frame_view v;
	const char *why;

	nng_msg *m = sample_frame(&open);
	assert_int_equal(frame_open(m, &a, true, &v, &why), PP_EAUTH);
	assert_string_equal(why, "unsigned message");
	nng_msg_free(m);

	m = sample_frame(&a);
	((uint8_t *)nng_msg_body(m))[FRAME_HEADER_BYTES + 2] ^= 1; /* one payload bit */
	assert_int_equal(frame_open(m, &a, true, &v, &why), PP_EAUTH);
	assert_string_equal(why, "bad signature");
	nng_msg_free(m);

	m = sample_frame(&other);
	assert_int_equal(frame_open(m, &a, true, &v, &why), PP_EAUTH);
	nng_msg_free(m);
	auth_free(&a);
	auth_free(&other);
	auth_free(&open);
}

static void test_refuses_stale(void **state)
{
	(void)state;
	struct auth a;
	keyed(&a, "0123456789abcdef-cluster-key");
	a.window_ms = 30000;
	nng_msg *m;
	assert_int_equal(frame_start(&m, 0, NULL), PP_OK);
	assert_int_equal(frame_finish(m, &a, "x", 1), PP_OK);
	/* Re-sign a copy whose timestamp is an hour old. */
	uint8_t *h = nng_msg_body(m);
	uint64_t old = (uint64_t)(time(NULL) - 3600) * 1000;
	for (int i = 0; i < 8; i++)
		h[12 + i] = (uint8_t)(old >> (56 - 8 * i));
	size_t len = nng_msg_len(m);
	auth_mac(&a, h, len - AUTH_MAC_BYTES, h + len - AUTH_MAC_BYTES);
	struct frame_view v;
	const char *why;
	assert_int_equal(frame_open(m, &a, true, &v, &why), PP_EAUTH);
	assert_string_equal(why, "stale timestamp");
	nng_msg_free(m);
	auth_free(&a);
}

static void test_malformed_frames(void **state)
{
	(void)state;
	struct auth open;
	auth_init_open(&open);
	struct frame_view v;
	const char *why;
	nng_msg *m;
	assert_int_equal(nng_msg_alloc(&m, 0), 0);
	assert_int_equal(nng_msg_append(m, "garbage", 7), 0);
	assert_int_equal(frame_open(m, &open, true, &v, &why), PP_EINVAL);
	nng_msg_free(m);

	m = sample_frame(&open);
	assert_int_equal(nng_msg_chop(m, 3), 0); /* truncated */
	assert_int_equal(frame_open(m, &open, true, &v, &why), PP_EINVAL);
	assert_string_equal(why, "frame lengths do not add up");
	nng_msg_free(m);

	m = sample_frame(&open);
	((uint8_t *)nng_msg_body(m))[4] = 0xff; /* absurd pb length */
	assert_int_equal(frame_open(m, &open, true, &v, &why), PP_EINVAL);
	nng_msg_free(m);
	auth_free(&open);
}

static void test_payload_truncate(void **state)
{
	(void)state;
	nng_msg *m;
	uint8_t *p;
	assert_int_equal(frame_start(&m, 10, &p), PP_OK);
	memcpy(p, "0123456789", 10);
	assert_int_equal(frame_truncate_payload(m, 4), PP_OK);
	assert_int_equal(frame_finish(m, NULL, "pb", 2), PP_OK);
	struct frame_view v;
	assert_int_equal(frame_open(m, NULL, false, &v, NULL), PP_OK);
	assert_int_equal(v.payload_len, 4);
	assert_memory_equal(v.payload, "0123", 4);
	assert_memory_equal(v.pb, "pb", 2);
	nng_msg_free(m);
}

static void test_key_file_rules(void **state)
{
	(void)state;
	struct auth a;
	char err[256];
	write_key("0123456789abcdef-world", 0644);
	assert_int_equal(auth_init_key_file(&a, key_path, err, sizeof(err)), PP_EINVAL);
	assert_non_null(strstr(err, "world-readable"));
	chmod(key_path, 0640); /* group-readable is how Kubernetes mounts Secrets */
	assert_int_equal(auth_init_key_file(&a, key_path, err, sizeof(err)), PP_OK);
	auth_free(&a);
	unlink(key_path);
	strcpy(key_path + strlen(key_path) - 6, "XXXXXX");

	write_key("short-key  \n", 0600);
	assert_int_equal(auth_init_key_file(&a, key_path, err, sizeof(err)), PP_EINVAL);
	assert_non_null(strstr(err, "shorter"));
	unlink(key_path);
	strcpy(key_path + strlen(key_path) - 6, "XXXXXX");

	assert_int_equal(auth_init_key_file(&a, "/nonexistent/key", err, sizeof(err)), PP_EINVAL);
	assert_non_null(strstr(err, "cannot open"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unsigned_round_trip),
		cmocka_unit_test(test_signed_round_trip_and_replay),
		cmocka_unit_test(test_refuses_unsigned_tampered_and_wrong_key),
		cmocka_unit_test(test_refuses_stale),
		cmocka_unit_test(test_malformed_frames),
		cmocka_unit_test(test_payload_truncate),
		cmocka_unit_test(test_key_file_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
