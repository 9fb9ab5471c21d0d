/* libppclient through its public header only (no internal includes), as a
 * user's program sees it: argument checks, bad names, unreachable clusters
 * and bad options fail with the documented code and a sentence, quickly,
 * and never crash. No cluster runs here. */
#define _GNU_SOURCE
#include <ppclient.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

/* A loopback address nothing listens on: a port the kernel just handed out
 * and that was closed again. */
static char DEAD_TRACKER[64];

static void pick_dead_port(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(s, (struct sockaddr *)&a, &len) != 0)
		abort();
	snprintf(DEAD_TRACKER, sizeof(DEAD_TRACKER), "tcp://127.0.0.1:%u", ntohs(a.sin_port));
	close(s);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static pp_client *open_dead(int timeout_ms)
{
	struct pp_client_options o = {.tracker = DEAD_TRACKER, .timeout_ms = timeout_ms};
	pp_client *c = NULL;
	struct pp_error e;
	assert_int_equal(pp_client_open(&o, &c, &e), PP_OK);
	assert_int_equal(e.code, PP_OK);
	assert_non_null(c);
	return c;
}

static void test_open_rejects_bad_options(void **state)
{
	(void)state;
	struct pp_error e;
	pp_client *c = (pp_client *)0x1;
	assert_int_equal(pp_client_open(NULL, &c, &e), PP_EINVAL);
	assert_null(c);
	assert_int_equal(e.code, PP_EINVAL);
	assert_true(strlen(e.message) > 0);

	struct pp_client_options none = {0};
	assert_int_equal(pp_client_open(&none, &c, &e), PP_EINVAL);
	assert_non_null(strstr(e.message, "address"));

	struct pp_client_options both = {.tracker = "tcp://127.0.0.1:7000", .node = "tcp://127.0.0.1:7100"};
	assert_int_equal(pp_client_open(&both, &c, &e), PP_EINVAL);

	struct pp_client_options garbage = {.tracker = "not an address"};
	assert_int_equal(pp_client_open(&garbage, &c, &e), PP_EINVAL);

	struct pp_client_options par = {.tracker = DEAD_TRACKER, .parallel = -1};
	assert_int_equal(pp_client_open(&par, &c, &e), PP_EINVAL);
	par.parallel = 100000;
	assert_int_equal(pp_client_open(&par, &c, &e), PP_EINVAL);

	struct pp_client_options tmo = {.tracker = DEAD_TRACKER, .timeout_ms = -5};
	assert_int_equal(pp_client_open(&tmo, &c, &e), PP_EINVAL);

	struct pp_client_options key = {.tracker = DEAD_TRACKER, .key_file = "/nonexistent/pp.key"};
	assert_int_equal(pp_client_open(&key, &c, &e), PP_EINVAL);
	assert_non_null(strstr(e.message, "/nonexistent/pp.key"));

	/* err may be NULL; out may not. */
	assert_int_equal(pp_client_open(&none, &c, NULL), PP_EINVAL);
	assert_int_equal(pp_client_open(&garbage, NULL, &e), PP_EINVAL);
	pp_client_close(NULL); /* harmless */
}

static void test_world_readable_key_refused(void **state)
{
	(void)state;
	char path[] = "/tmp/ppclient-key-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "0123456789abcdef0123456789abcdef\n", 33), 33);
	close(fd);
	chmod(path, 0644);
	struct pp_client_options o = {.tracker = DEAD_TRACKER, .key_file = path};
	pp_client *c = NULL;
	struct pp_error e;
	assert_int_equal(pp_client_open(&o, &c, &e), PP_EINVAL);
	assert_non_null(strstr(e.message, "world-readable"));
	chmod(path, 0600);
	assert_int_equal(pp_client_open(&o, &c, &e), PP_OK);
	pp_client_close(c);
	unlink(path);
}

static void test_bad_names_are_invalid(void **state)
{
	(void)state;
	pp_client *c = open_dead(300);
	struct pp_error e;
	char longname[1090];
	memset(longname, 'a', 1089);
	longname[1089] = '\0';
	const char *bad[] = {"", "a\nb", "tab\there", "\x7f", "bad\xff utf8", longname};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		double t0 = now_s();
		assert_non_null(pp_name_check(bad[i]));
		struct pp_chunk_map *m = NULL;
		assert_int_equal(pp_stat(c, bad[i], &m, &e), PP_EINVAL);
		assert_null(m);
		assert_int_equal(e.code, PP_EINVAL);
		assert_non_null(strstr(e.message, "name"));
		assert_int_equal(pp_delete(c, bad[i], &e), PP_EINVAL);
		pp_download *d = NULL;
		assert_int_equal(pp_download_open(c, bad[i], 0, 0, &d, NULL, &e), PP_EINVAL);
		assert_null(d);
		struct pp_put_options po = {.name = bad[i]};
		pp_upload *u = NULL;
		assert_int_equal(pp_upload_begin(c, &po, 0, &u, &e), PP_EINVAL);
		assert_null(u);
		assert_int_equal(pp_get_fd(c, bad[i], 1, NULL, NULL, &e), PP_EINVAL);
		/* Checked before any network traffic: immediate. */
		assert_true(now_s() - t0 < 0.2);
	}
	assert_null(pp_name_check("ok/name with spaces and ünïcode"));
	longname[1024] = '\0';
	assert_null(pp_name_check(longname));
	assert_non_null(pp_name_check(NULL));
	pp_client_close(c);
}

static void test_unreachable_tracker_is_unavailable_quickly(void **state)
{
	(void)state;
	pp_client *c = open_dead(500);
	struct pp_error e;
	double t0 = now_s();
	struct pp_file_list *l = NULL;
	assert_int_equal(pp_list(c, "x", 0, 0, &l, &e), PP_EUNAVAIL);
	assert_null(l);
	assert_non_null(strstr(e.message, DEAD_TRACKER));
	struct pp_health h;
	assert_int_equal(pp_health(c, &h, &e), PP_EUNAVAIL);
	struct pp_ping p;
	assert_int_equal(pp_ping(c, &p, &e), PP_EUNAVAIL);
	struct pp_put_options po = {.name = "never-visible"};
	pp_upload *u = NULL;
	assert_int_equal(pp_upload_begin(c, &po, 10, &u, &e), PP_EUNAVAIL);
	assert_null(u);
	assert_int_equal(pp_get_fd(c, "file", 1, NULL, NULL, &e), PP_EUNAVAIL);
	assert_true(now_s() - t0 < 5 * 0.5 + 1.5);
	pp_client_close(c);
}

static void test_null_arguments(void **state)
{
	(void)state;
	pp_client *c = open_dead(300);
	struct pp_error e;
	assert_int_equal(pp_stat(NULL, "x", NULL, &e), PP_EINVAL);
	assert_int_equal(pp_stat(c, "x", NULL, &e), PP_EINVAL);
	assert_int_equal(pp_list(c, NULL, 0, 0, NULL, &e), PP_EINVAL);
	assert_int_equal(pp_list(c, NULL, 5000, 0, (struct pp_file_list **)&e, &e), PP_EINVAL);
	assert_int_equal(pp_nodes(c, NULL, &e), PP_EINVAL);
	assert_int_equal(pp_health(c, NULL, &e), PP_EINVAL);
	assert_int_equal(pp_ping(NULL, NULL, &e), PP_EINVAL);
	assert_int_equal(pp_drain(c, "", NULL, &e), PP_EINVAL);
	assert_int_equal(pp_maintenance(c, NULL, true, NULL, &e), PP_EINVAL);
	assert_int_equal(pp_upload_begin(c, NULL, 0, NULL, &e), PP_EINVAL);
	struct pp_put_options po = {.name = "x", .replication = 1};
	pp_upload *u;
	assert_int_equal(pp_upload_begin(c, &po, 0, &u, &e), PP_EINVAL);
	assert_non_null(strstr(e.message, "replication"));
	po.replication = 17;
	assert_int_equal(pp_upload_begin(c, &po, 0, &u, &e), PP_EINVAL);
	assert_int_equal(pp_upload_write(NULL, "x", 1, &e), PP_EINVAL);
	assert_int_equal(pp_upload_commit(NULL, NULL, &e), PP_EINVAL);
	pp_upload_abort(NULL);
	assert_int_equal(pp_download_read(NULL, NULL, 0, NULL, &e), PP_EINVAL);
	pp_download_close(NULL);
	assert_int_equal(pp_put_path(c, NULL, &po, NULL, &e), PP_EINVAL);
	po.replication = 0;
	assert_int_equal(pp_put_path(c, "/nonexistent/file", &po, NULL, &e), PP_ENOTFOUND);
	assert_int_equal(pp_put_fd(c, -1, &po, NULL, &e), PP_EINVAL);
	assert_int_equal(pp_get_fd(c, "x", -1, NULL, NULL, &e), PP_EINVAL);
	pp_chunk_map_free(NULL);
	pp_file_list_free(NULL);
	pp_node_list_free(NULL);
	pp_client_close(c);
}

static void test_direct_mode_refuses_writes(void **state)
{
	(void)state;
	struct pp_client_options o = {.node = DEAD_TRACKER, .timeout_ms = 300};
	pp_client *c;
	struct pp_error e;
	assert_int_equal(pp_client_open(&o, &c, &e), PP_OK);
	struct pp_put_options po = {.name = "x"};
	pp_upload *u;
	assert_int_equal(pp_upload_begin(c, &po, 0, &u, &e), PP_EINVAL);
	assert_non_null(strstr(e.message, "tracker"));
	assert_int_equal(pp_delete(c, "x", &e), PP_EINVAL);
	struct pp_ping p;
	assert_int_equal(pp_ping(c, &p, &e), PP_EUNAVAIL);
	pp_client_close(c);
}

static void test_names_of_states_and_codes(void **state)
{
	(void)state;
	assert_string_equal(pp_node_state_name(PP_NODE_UP), "up");
	assert_string_equal(pp_node_state_name(PP_NODE_MAINTENANCE), "maintenance");
	assert_string_equal(pp_replica_state_name(PP_REPLICA_CORRUPT), "corrupt");
	assert_string_equal(pp_replica_state_name(PP_REPLICA_PENDING), "pending");
	assert_string_equal(pp_file_health_name(PP_FILE_UNDER_REPLICATED), "under_replicated");
	assert_string_equal(pp_node_state_name(99), "unknown");
	assert_string_equal(pp_strerror(PP_ENOTFOUND), "not found");
	assert_true(strlen(pp_strerror(PP_EUNAVAIL)) > 0);
}

int main(void)
{
	pick_dead_port();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_rejects_bad_options),
		cmocka_unit_test(test_world_readable_key_refused),
		cmocka_unit_test(test_bad_names_are_invalid),
		cmocka_unit_test(test_unreachable_tracker_is_unavailable_quickly),
		cmocka_unit_test(test_null_arguments),
		cmocka_unit_test(test_direct_mode_refuses_writes),
		cmocka_unit_test(test_names_of_states_and_codes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
