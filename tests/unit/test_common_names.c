/* Unit tests for input checks at the edge: chunk ids (before any path is
 * built), file names (DESIGN.md "Data model"), byte-size flags and the error
 * table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "errors.h"
#include "flags.h"
#include "hash.h"
#include "log.h"

#include <string.h>

static void test_chunk_id_valid(void **state)
{
	(void)state;
	char id[PP_SHA256_HEX];
	assert_int_equal(sha256_hex("abc", 3, id), PP_OK);
	assert_string_equal(id, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_true(chunk_id_valid(id));
	id[0] = 'B';
	assert_false(chunk_id_valid(id)); /* uppercase */
	assert_false(chunk_id_valid("../../etc/passwd"));
	assert_false(chunk_id_valid(""));
	assert_false(chunk_id_valid(NULL));
	char shorter[64];
	memset(shorter, 'a', 63);
	shorter[63] = '\0';
	assert_false(chunk_id_valid(shorter));
	char longer[66];
	memset(longer, 'a', 65);
	longer[65] = '\0';
	assert_false(chunk_id_valid(longer));
}

static void test_name_check(void **state)
{
	(void)state;
	assert_null(name_check("a", 1));
	assert_null(name_check("dir/sub/file.txt", 16));
	assert_null(name_check("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14));
	assert_string_equal(name_check("", 0), "empty name");
	char big[1100];
	memset(big, 'x', sizeof(big));
	assert_null(name_check(big, 1024));
	assert_non_null(name_check(big, 1025));
	assert_non_null(name_check("a\nb", 3));
	assert_non_null(name_check("a\tb", 3));
	assert_non_null(name_check("a\x7f", 2));
	assert_non_null(name_check("a\0b", 3));
	assert_non_null(name_check("\xff", 1));         /* invalid byte */
	assert_non_null(name_check("\xc0\xaf", 2));     /* overlong '/' */
	assert_non_null(name_check("\xed\xa0\x80", 3)); /* surrogate */
	assert_non_null(name_check("\xc2\x85", 2));     /* C1 control (NEL) */
	assert_non_null(name_check("\xe2\x82", 2));     /* truncated sequence */
}

static void test_bytes_flag(void **state)
{
	(void)state;
	uint64_t v;
	assert_int_equal(flags_parse_bytes("4194304", &v), PP_OK);
	assert_int_equal(v, 4194304);
	assert_int_equal(flags_parse_bytes("4MiB", &v), PP_OK);
	assert_int_equal(v, 4u << 20);
	assert_int_equal(flags_parse_bytes("1G", &v), PP_OK);
	assert_int_equal(v, 1000000000ull);
	assert_int_equal(flags_parse_bytes("12x", &v), PP_EINVAL);
	assert_int_equal(flags_parse_bytes("-1", &v), PP_EINVAL);
	assert_int_equal(flags_parse_bytes("99999999999999999999", &v), PP_EINVAL);
}

/* One node-id rule for the worker's --id, the tracker's heartbeats and
 * reports, and the client library's drain/maintenance. */
static void test_node_id_check(void **state)
{
	(void)state;
	const char *good[] = {"w1", "pp-worker-0", "node_7.zone-a", "A_B"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_null(node_id_check(good[i]));
	char longest[PP_NODE_ID_MAX + 2];
	memset(longest, 'n', PP_NODE_ID_MAX);
	longest[PP_NODE_ID_MAX] = '\0';
	assert_null(node_id_check(longest));
	longest[PP_NODE_ID_MAX] = 'n';
	longest[PP_NODE_ID_MAX + 1] = '\0';
	assert_non_null(node_id_check(longest));
	const char *bad[] = {"", "w 1", "w/1", "w\n1", "w\"1", "w=1", "ü"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_non_null(node_id_check(bad[i]));
	assert_non_null(node_id_check(NULL));
}

/* The one quoting helper for log values. */
static void test_log_q(void **state)
{
	(void)state;
	assert_string_equal(log_q("plain"), "\"plain\"");
	assert_string_equal(log_q(NULL), "\"\"");
	assert_string_equal(log_q("a \"b\" \\ c"), "\"a \\\"b\\\" \\\\ c\"");
	assert_string_equal(log_q("line\nnext\r\t\x01"), "\"line\\nnext\\r\\t\\x01\"");
	/* Several in one call stay distinct (a per-thread ring). */
	const char *a = log_q("one"), *b = log_q("two");
	assert_string_equal(a, "\"one\"");
	assert_string_equal(b, "\"two\"");
	/* Long values are cut and marked, still closed by a quote. */
	char big[LOG_Q_MAX + 50];
	memset(big, '"', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	const char *q = log_q(big);
	size_t n = strlen(q);
	assert_int_equal(n, 1 + 2 * LOG_Q_MAX + 3 + 1);
	assert_memory_equal(q + n - 4, "...\"", 4);
}

static void test_error_table(void **state)
{
	(void)state;
	assert_int_equal(pp_exit_code(PP_OK), 0);
	assert_int_equal(pp_exit_code(PP_EINVAL), 1);
	assert_int_equal(pp_exit_code(PP_ENOTFOUND), 2);
	assert_int_equal(pp_exit_code(PP_EUNAVAIL), 3);
	assert_int_equal(pp_exit_code(PP_EINTEGRITY), 4);
	assert_int_equal(pp_exit_code(PP_EAUTH), 5);
	assert_int_equal(pp_http_status(PP_ENOTFOUND), 404);
	assert_int_equal(pp_http_status(PP_EUNAVAIL), 503);
	assert_int_equal(pp_http_status(PP_ETOOLARGE), 413);
	for (int e = PP_OK; e >= PP_ETOOLARGE; e--)
		assert_int_equal(pp_err_from_status(pp_status_from_err(e)), e);
	assert_int_equal(pp_err_from_status(99), PP_EINTERNAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chunk_id_valid),
		cmocka_unit_test(test_name_check),
		cmocka_unit_test(test_node_id_check),
		cmocka_unit_test(test_log_q),
		cmocka_unit_test(test_bytes_flag),
		cmocka_unit_test(test_error_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
