/* Unit tests for the Prometheus registry and text exposition
 * (common/prom.h): exact text of each metric type, escaping, bounds,
 * registration rules and scrape-time collectors. The exposition of live
 * services is checked with promtool in tests/integration/test_metrics.sh. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "errors.h"
#include "prom.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct prom_registry *reg;
static char *text;

static int setup(void **state)
{
	(void)state;
	return prom_registry_new(&reg);
}

static int teardown(void **state)
{
	(void)state;
	prom_registry_free(reg);
	free(text);
	text = NULL;
	return 0;
}

static const char *render(void)
{
	free(text);
	size_t len = 0;
	assert_int_equal(prom_render(reg, &text, &len), PP_OK);
	assert_int_equal(strlen(text), len);
	return text;
}

static void test_counter_and_gauge_render_help_type_and_value(void **state)
{
	(void)state;
	struct prom_family *c = prom_counter(reg, "pp_things_total", "Things done.", NULL);
	struct prom_family *g = prom_gauge(reg, "pp_level_bytes", "A level.", NULL);
	prom_add(c, NULL, 2);
	prom_add(c, NULL, 3);
	prom_set(g, NULL, 1.5);
	assert_string_equal(render(), "# HELP pp_things_total Things done.\n"
				      "# TYPE pp_things_total counter\n"
				      "pp_things_total 5\n"
				      "# HELP pp_level_bytes A level.\n"
				      "# TYPE pp_level_bytes gauge\n"
				      "pp_level_bytes 1.5\n");
}

static void test_unset_family_without_labels_shows_zero(void **state)
{
	(void)state;
	prom_gauge(reg, "pp_idle", "Never set.", NULL);
	prom_gauge(reg, "pp_by_node", "Labelled, never set.", "node");
	assert_string_equal(render(), "# HELP pp_idle Never set.\n# TYPE pp_idle gauge\npp_idle 0\n"
				      "# HELP pp_by_node Labelled, never set.\n# TYPE pp_by_node gauge\n");
}

static void test_large_integers_print_in_full(void **state)
{
	(void)state;
	struct prom_family *g = prom_gauge(reg, "pp_big_bytes", "Big.", NULL);
	prom_set(g, NULL, 84301135872.0);
	assert_non_null(strstr(render(), "\npp_big_bytes 84301135872\n"));
	prom_set(g, NULL, 0.1);
	assert_non_null(strstr(render(), "\npp_big_bytes 0.1\n"));
}

static void test_label_values_and_help_are_escaped(void **state)
{
	(void)state;
	struct prom_family *g = prom_gauge(reg, "pp_named", "Back\\slash and\nnewline.", "name");
	prom_set(g, PROM_L("a\"b\\c\nd"), 1);
	assert_string_equal(render(), "# HELP pp_named Back\\\\slash and\\nnewline.\n"
				      "# TYPE pp_named gauge\n"
				      "pp_named{name=\"a\\\"b\\\\c\\nd\"} 1\n");
}

static void test_series_are_kept_per_label_values(void **state)
{
	(void)state;
	struct prom_family *c = prom_counter(reg, "pp_calls_total", "Calls.", "method,code");
	prom_add(c, PROM_L("put", "ok"), 1);
	prom_add(c, PROM_L("put", "ok"), 1);
	prom_add(c, PROM_L("put", "not_found"), 1);
	const char *t = render();
	assert_non_null(strstr(t, "pp_calls_total{method=\"put\",code=\"ok\"} 2\n"));
	assert_non_null(strstr(t, "pp_calls_total{method=\"put\",code=\"not_found\"} 1\n"));
	prom_clear(c);
	assert_null(strstr(render(), "pp_calls_total{"));
}

static void test_histogram_buckets_are_cumulative(void **state)
{
	(void)state;
	static const double bounds[] = {0.1, 1};
	struct prom_family *h = prom_histogram(reg, "pp_wait_seconds", "Waits.", "op", bounds, 2);
	prom_observe(h, PROM_L("x"), 0.05);
	prom_observe(h, PROM_L("x"), 0.1); /* le is inclusive */
	prom_observe(h, PROM_L("x"), 0.5);
	prom_observe(h, PROM_L("x"), 7);
	assert_string_equal(render(), "# HELP pp_wait_seconds Waits.\n"
				      "# TYPE pp_wait_seconds histogram\n"
				      "pp_wait_seconds_bucket{op=\"x\",le=\"0.1\"} 2\n"
				      "pp_wait_seconds_bucket{op=\"x\",le=\"1\"} 3\n"
				      "pp_wait_seconds_bucket{op=\"x\",le=\"+Inf\"} 4\n"
				      "pp_wait_seconds_sum{op=\"x\"} 7.65\n"
				      "pp_wait_seconds_count{op=\"x\"} 4\n");
}

static void test_registration_rules(void **state)
{
	(void)state;
	struct prom_family *a = prom_counter(reg, "pp_a_total", "A.", "x");
	assert_non_null(a);
	assert_ptr_equal(prom_counter(reg, "pp_a_total", "A again.", "x"), a);
	assert_null(prom_gauge(reg, "pp_a_total", "Other type.", "x"));
	assert_null(prom_counter(reg, "pp_a_total", "Other labels.", "y"));
	assert_null(prom_counter(reg, "9starts_with_digit", "Bad.", NULL));
	assert_null(prom_counter(reg, "pp-dash", "Bad.", NULL));
	assert_null(prom_counter(reg, "pp_b_total", "Reserved label.", "__x"));
	assert_null(prom_counter(reg, "pp_c_total", "Too many labels.", "a,b,c,d,e"));
	static const double bounds[] = {1, 0.5};
	assert_null(prom_histogram(reg, "pp_h_seconds", "Unsorted.", NULL, bounds, 2));
	assert_null(prom_histogram(reg, "pp_h2_seconds", "le is reserved.", "le", bounds, 1));
	/* Updates of a family that failed to register are ignored. */
	prom_add(NULL, NULL, 1);
	prom_observe(NULL, NULL, 1);
	prom_clear(NULL);
}

static void test_series_beyond_the_bound_are_dropped(void **state)
{
	(void)state;
	struct prom_family *g = prom_gauge(reg, "pp_many", "Many.", "i");
	char v[16];
	for (int i = 0; i < PROM_SERIES_MAX + 10; i++) {
		snprintf(v, sizeof(v), "%d", i);
		prom_set(g, PROM_L(v), i);
	}
	const char *t = render();
	size_t lines = 0;
	for (const char *p = t; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, 2 + PROM_SERIES_MAX);
	snprintf(v, sizeof(v), "%d", PROM_SERIES_MAX - 1);
	prom_set(g, PROM_L(v), -1); /* existing series still update */
	assert_non_null(strstr(render(), "pp_many{i=\"4095\"} -1\n"));
}

static int collected;

static void collector(void *arg)
{
	collected++;
	prom_set(arg, NULL, collected);
}

static void test_collectors_run_at_each_render(void **state)
{
	(void)state;
	collected = 0;
	struct prom_family *g = prom_gauge(reg, "pp_scrapes", "Scrapes.", NULL);
	assert_int_equal(prom_collector_add(reg, collector, g), PP_OK);
	assert_non_null(strstr(render(), "pp_scrapes 1\n"));
	assert_non_null(strstr(render(), "pp_scrapes 2\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_counter_and_gauge_render_help_type_and_value, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unset_family_without_labels_shows_zero, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_integers_print_in_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_label_values_and_help_are_escaped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_series_are_kept_per_label_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_histogram_buckets_are_cumulative, setup, teardown),
		cmocka_unit_test_setup_teardown(test_registration_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_series_beyond_the_bound_are_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_collectors_run_at_each_render, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
