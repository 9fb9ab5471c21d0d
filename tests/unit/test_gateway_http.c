/* Unit tests of the gateway's HTTP helpers: Range parsing (RFC 9110 single
 * ranges, malformed ignored, unsatisfiable), If-None-Match, percent-decoding
 * of names, bearer tokens, web UI file names and SSE event formatting. */
#define _GNU_SOURCE
#include "auth_tokens.h"
#include "files_api.h"
#include "pp/v1/bus.pb-c.h"
#include "routes.h"
#include "sse.h"
#include "webui.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void test_range_single_forms(void **state)
{
	(void)state;
	uint64_t a = 0, b = 0;
	assert_int_equal(range_parse("bytes=0-99", 1000, &a, &b), RANGE_OK);
	assert_true(a == 0 && b == 99);
	assert_int_equal(range_parse("bytes=900-", 1000, &a, &b), RANGE_OK);
	assert_true(a == 900 && b == 999);
	assert_int_equal(range_parse("bytes=-10", 1000, &a, &b), RANGE_OK);
	assert_true(a == 990 && b == 999);
	assert_int_equal(range_parse("bytes=-5000", 1000, &a, &b), RANGE_OK);
	assert_true(a == 0 && b == 999);
	assert_int_equal(range_parse("bytes=10-99999", 1000, &a, &b), RANGE_OK);
	assert_true(a == 10 && b == 999);
	assert_int_equal(range_parse(" bytes=5-5 ", 1000, &a, &b), RANGE_OK);
	assert_true(a == 5 && b == 5);
}

static void test_range_unsatisfiable(void **state)
{
	(void)state;
	uint64_t a, b;
	assert_int_equal(range_parse("bytes=1000-", 1000, &a, &b), RANGE_UNSATISFIABLE);
	assert_int_equal(range_parse("bytes=1000-2000", 1000, &a, &b), RANGE_UNSATISFIABLE);
	assert_int_equal(range_parse("bytes=-0", 1000, &a, &b), RANGE_UNSATISFIABLE);
	assert_int_equal(range_parse("bytes=0-", 0, &a, &b), RANGE_UNSATISFIABLE);
}

static void test_range_malformed_is_ignored(void **state)
{
	(void)state;
	uint64_t a, b;
	const char *bad[] = {NULL, "", "bytes=", "bytes=abc", "bytes=5-1", "pages=0-1", "bytes=1-2,4-5",
			     "bytes=--1", "bytes=1", "bytes=0x10-", "bytes=99999999999999999999999-"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(range_parse(bad[i], 1000, &a, &b), RANGE_NONE);
}

static void test_etag_matching(void **state)
{
	(void)state;
	assert_true(etag_matches("\"abc\"", "\"abc\""));
	assert_true(etag_matches("\"x\", \"abc\"", "\"abc\""));
	assert_true(etag_matches("W/\"abc\"", "\"abc\""));
	assert_true(etag_matches("*", "\"abc\""));
	assert_false(etag_matches("\"abcd\"", "\"abc\""));
	assert_false(etag_matches("abc", "\"abc\""));
	assert_false(etag_matches(NULL, "\"abc\""));
}

static void test_pct_decode(void **state)
{
	(void)state;
	char *out = NULL;
	size_t n = 0;
	assert_int_equal(pct_decode("a%2Fb/c%20d", 11, false, &out, &n), 0);
	assert_string_equal(out, "a/b/c d");
	free(out);
	assert_int_equal(pct_decode("a+b", 3, true, &out, &n), 0);
	assert_string_equal(out, "a b");
	free(out);
	assert_int_equal(pct_decode("a+b", 3, false, &out, &n), 0);
	assert_string_equal(out, "a+b");
	free(out);
	/* %00 decodes but shows as a length mismatch, so callers can refuse it. */
	assert_int_equal(pct_decode("a%00b", 5, false, &out, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(strlen(out), 1);
	free(out);
	assert_int_equal(pct_decode("a%zz", 4, false, &out, &n), PP_EINVAL);
	assert_int_equal(pct_decode("a%4", 3, false, &out, &n), PP_EINVAL);
	assert_int_equal(pct_decode("%", 1, false, &out, &n), PP_EINVAL);
}

static void test_tokens(void **state)
{
	(void)state;
	struct token_table *t = NULL;
	char err[128];
	assert_int_equal(token_table_parse("# c\n\nreadtoken1 read\r\nwritetoken2 write # w\n", &t, err,
					   sizeof(err)),
			 0);
	assert_int_equal(token_table_count(t), 2);
	assert_int_equal(token_lookup(t, "readtoken1"), TOKEN_READ);
	assert_int_equal(token_lookup(t, "writetoken2"), TOKEN_WRITE);
	assert_int_equal(token_lookup(t, "readtoken"), TOKEN_NONE);
	assert_int_equal(token_lookup(t, "readtoken12"), TOKEN_NONE);
	assert_int_equal(token_lookup(t, ""), TOKEN_NONE);
	assert_int_equal(token_from_header(t, "Bearer readtoken1"), TOKEN_READ);
	assert_int_equal(token_from_header(t, "bearer writetoken2"), TOKEN_WRITE);
	assert_int_equal(token_from_header(t, "Basic readtoken1"), TOKEN_NONE);
	assert_int_equal(token_from_header(t, NULL), TOKEN_NONE);
	token_table_free(t);

	t = NULL;
	assert_int_equal(token_table_parse("abcdefghij admin\n", &t, err, sizeof(err)), PP_EINVAL);
	assert_non_null(strstr(err, "line 1"));
	assert_int_equal(token_table_parse("short read\n", &t, err, sizeof(err)), PP_EINVAL);
	assert_int_equal(token_table_parse("abcdefghij read extra\n", &t, err, sizeof(err)), PP_EINVAL);
	assert_int_equal(token_table_parse("# only comments\n", &t, err, sizeof(err)), PP_EINVAL);
	assert_null(t);
}

static void test_webui_names(void **state)
{
	(void)state;
	assert_true(webui_name_ok("index.html"));
	assert_true(webui_name_ok("app-1.js"));
	assert_false(webui_name_ok(".."));
	assert_false(webui_name_ok(".env"));
	assert_false(webui_name_ok("a/b.js"));
	assert_false(webui_name_ok("..%2Fetc"));
	assert_false(webui_name_ok(""));
	assert_string_equal(webui_content_type("x.css"), "text/css; charset=utf-8");
	assert_string_equal(webui_content_type("x.mjs"), "text/javascript; charset=utf-8");
	assert_string_equal(webui_content_type("x"), "application/octet-stream");
	for (size_t i = 0; i < webui_asset_count; i++)
		assert_true(webui_name_ok(webui_assets[i].name));
}

static void test_sse_format(void **state)
{
	(void)state;
	Pp__V1__Event e = PP__V1__EVENT__INIT;
	e.ts_ms = 1700000000123;
	e.kind = "node_state";
	e.node = "w1";
	e.state = "dead";
	uint8_t buf[256];
	size_t n = pp__v1__event__pack(&e, buf);
	char *text = sse_format_event(buf, n);
	assert_non_null(text);
	assert_memory_equal(text, "event: node_state\ndata: {", 25);
	assert_non_null(strstr(text, "\"node\":\"w1\""));
	assert_non_null(strstr(text, "\"state\":\"dead\""));
	assert_non_null(strstr(text, "\"ts\":\"2023-11-14T22:13:20.123Z\""));
	size_t len = strlen(text);
	assert_true(len > 2 && strcmp(text + len - 2, "\n\n") == 0);
	/* The JSON is one line: its first newline is the blank-line terminator. */
	assert_ptr_equal(strchr(text + 25, '\n'), text + len - 2);
	free(text);

	e.kind = "bad\nkind";
	n = pp__v1__event__pack(&e, buf);
	assert_null(sse_format_event(buf, n));
	assert_null(sse_format_event("\xff\xff\xff", 3));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_range_single_forms),
		cmocka_unit_test(test_range_unsatisfiable),
		cmocka_unit_test(test_range_malformed_is_ignored),
		cmocka_unit_test(test_etag_matching),
		cmocka_unit_test(test_pct_decode),
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_webui_names),
		cmocka_unit_test(test_sse_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
