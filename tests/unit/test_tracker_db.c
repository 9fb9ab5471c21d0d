#define _GNU_SOURCE
/* The tracker's store (services/tracker/db*.c): replace-on-commit,
 * refcounts across dedup and delete, index-backed search, upload sessions
 * surviving a reopen. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "db.h"
#include "errors.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];
static char path[128];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/pp-dbtest.XXXXXX");
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

static void id_of(int i, char *out)
{
	snprintf(out, 65, "%064x", i);
}

static void node_up(struct db *db, const char *id)
{
	struct node_rec r;
	memset(&r, 0, sizeof(r));
	snprintf(r.id, sizeof(r.id), "%s", id);
	snprintf(r.address, sizeof(r.address), "tcp://%s", id);
	snprintf(r.zone, sizeof(r.zone), "z");
	r.liveness = LIVE_UP;
	assert_int_equal(db_node_save(db, &r, 1), PP_OK);
}

/* Uploads `name` with chunks ids[0..n) (each 10 bytes), stored on a and b. */
static int put(struct db *db, const char *name, const int *ids, int n, struct file_rec *f)
{
	int64_t up;
	char err[256] = "";
	assert_int_equal(db_upload_begin(db, name, 2, 1024, 0, 1000, &up), PP_OK);
	for (int i = 0; i < n; i++) {
		char id[65];
		id_of(ids[i], id);
		assert_int_equal(db_upload_place(db, up, (uint64_t)i, id, 10, 1000, 2000), PP_OK);
		assert_int_equal(db_replica_added(db, "a", id, 10, 1000, 2000), PP_OK);
		assert_int_equal(db_replica_added(db, "b", id, 10, 1000, 2000), PP_OK);
	}
	return db_upload_commit(db, up, (uint64_t)n * 10,
				"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
				(uint64_t)n, 5000, f, err, sizeof(err));
}

static void test_put_replaces_old_version_only_at_commit(void **state)
{
	(void)state;
	struct db *db;
	assert_int_equal(db_open(path, &db), PP_OK);
	node_up(db, "a");
	node_up(db, "b");
	struct file_rec f, g;
	int v1[] = {1, 2};
	assert_int_equal(put(db, "doc.txt", v1, 2, &f), PP_OK);
	assert_int_equal(f.version, 1);

	/* a second upload of the same name, placed but not committed */
	int64_t up;
	char err[256] = "", id[65];
	assert_int_equal(db_upload_begin(db, "doc.txt", 2, 1024, 0, 6000, &up), PP_OK);
	id_of(3, id);
	assert_int_equal(db_upload_place(db, up, 0, id, 10, 6000, 7000), PP_OK);
	assert_int_equal(db_file_get(db, "doc.txt", &g), PP_OK);
	assert_int_equal(g.version, 1);
	assert_int_equal(g.chunk_count, 2);
	/* not enough replicas yet: refused, the old version stays */
	assert_int_equal(db_upload_commit(db, up, 10, f.sha256, 1, 7000, &g, err, sizeof(err)),
			 PP_EUNAVAIL);
	assert_int_equal(db_file_get(db, "doc.txt", &g), PP_OK);
	assert_int_equal(g.version, 1);
	assert_int_equal(db_replica_added(db, "a", id, 10, 7000, 8000), PP_OK);
	assert_int_equal(db_replica_added(db, "b", id, 10, 7000, 8000), PP_OK);
	/* wrong size is refused too */
	assert_int_equal(db_upload_commit(db, up, 11, f.sha256, 1, 7000, &g, err, sizeof(err)),
			 PP_EINVAL);
	assert_int_equal(db_upload_commit(db, up, 10, f.sha256, 1, 7000, &g, err, sizeof(err)),
			 PP_OK);
	assert_int_equal(g.version, 2);
	assert_int_equal(db_file_get(db, "doc.txt", &g), PP_OK);
	assert_int_equal(g.chunk_count, 1);
	/* the old version's chunks are collectable now, the new one's are not */
	struct chunk_node *p;
	size_t n;
	assert_int_equal(db_gc_collect(db, 7000, 100, &p, &n), PP_OK);
	assert_int_equal(n, 4); /* chunks 1 and 2, on a and b */
	for (size_t i = 0; i < n; i++)
		assert_string_not_equal(p[i].chunk_id, id);
	free(p);
	db_close(db);
}

static void test_refcounts_across_dedup_and_delete(void **state)
{
	(void)state;
	struct db *db;
	assert_int_equal(db_open(path, &db), PP_OK);
	node_up(db, "a");
	node_up(db, "b");
	struct file_rec f;
	int ids[] = {10, 11, 10};
	int other[] = {11, 12};
	assert_int_equal(put(db, "one", ids, 3, &f), PP_OK);
	assert_int_equal(put(db, "two", other, 2, &f), PP_OK);
	struct chunk_node *p;
	size_t n;
	struct health_counts h;
	assert_int_equal(db_health(db, &h), PP_OK);
	assert_int_equal(h.chunks, 3); /* stored once each */
	assert_int_equal(h.under_replicated, 0);
	assert_int_equal(db_file_delete(db, "one", 9000, &f), PP_OK);
	assert_int_equal(db_gc_collect(db, 9000, 100, &p, &n), PP_OK);
	assert_int_equal(n, 2); /* only chunk 10 (on a and b); 11 is still in "two" */
	char id10[65];
	id_of(10, id10);
	assert_string_equal(p[0].chunk_id, id10);
	free(p);
	assert_int_equal(db_file_delete(db, "two", 9000, &f), PP_OK);
	assert_int_equal(db_gc_collect(db, 9000, 100, &p, &n), PP_OK);
	assert_int_equal(n, 4);
	free(p);
	assert_int_equal(db_file_delete(db, "two", 9000, &f), PP_ENOTFOUND);
	db_close(db);
}

/* True when a plan step is a full scan of the files table ("SCAN f" or
 * "SCAN f USING INDEX ..."): scanning the FTS or gram index is fine. */
static bool scans_files(const char *plan)
{
	for (const char *line = plan; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (strncmp(line, "SCAN f\n", 7) == 0 || strncmp(line, "SCAN f ", 7) == 0 ||
		    strncmp(line, "SCAN files\n", 11) == 0 || strncmp(line, "SCAN files ", 11) == 0) {
			print_message("full scan in plan:\n%s", plan);
			return true;
		}
	}
	return false;
}

static void test_search_uses_the_index(void **state)
{
	(void)state;
	struct db *db;
	assert_int_equal(db_open(path, &db), PP_OK);
	node_up(db, "a");
	node_up(db, "b");
	struct file_rec f;
	const char *names[] = {"reports/2024/q1.pdf", "Photos/cat.JPG", "notes.txt", "x"};
	for (int i = 0; i < 4; i++) {
		int ids[] = {100 + i};
		assert_int_equal(put(db, names[i], ids, 1, &f), PP_OK);
	}
	struct file_rec *out;
	size_t n;
	uint64_t total;
	assert_int_equal(db_list(db, "cat", 10, 0, &out, &n, &total), PP_OK);
	assert_int_equal(total, 1);
	assert_string_equal(out[0].name, "Photos/cat.JPG");
	free(out);
	assert_int_equal(db_list(db, "jpg", 10, 0, &out, &n, &total), PP_OK); /* case-insensitive */
	assert_int_equal(total, 1);
	free(out);
	assert_int_equal(db_list(db, "t", 10, 0, &out, &n, &total), PP_OK);
	assert_int_equal(total, 3); /* reports, cat, notes */
	free(out);
	assert_int_equal(db_list(db, "x", 10, 0, &out, &n, &total), PP_OK);
	assert_int_equal(total, 2); /* notes.txt, x */
	assert_string_equal(out[0].name, "x"); /* newest first */
	free(out);
	assert_int_equal(db_list(db, "", 2, 1, &out, &n, &total), PP_OK);
	assert_int_equal(total, 4);
	assert_int_equal(n, 2);
	free(out);
	const char *queries[] = {"cat", "ab", "q", "\"quoted\""};
	for (int i = 0; i < 4; i++) {
		char plan[2048];
		assert_int_equal(db_list_plan(db, queries[i], plan, sizeof(plan)), PP_OK);
		assert_false(scans_files(plan));
		assert_true(strstr(plan, "VIRTUAL TABLE") != NULL || strstr(plan, "SEARCH g USING PRIMARY KEY") != NULL);
	}
	db_close(db);
}

static void test_upload_sessions_survive_reopen(void **state)
{
	(void)state;
	struct db *db;
	assert_int_equal(db_open(path, &db), PP_OK);
	node_up(db, "a");
	node_up(db, "b");
	int64_t up;
	char id[65], err[256] = "";
	id_of(77, id);
	assert_int_equal(db_upload_begin(db, "later", 2, 1024, 0, 1000, &up), PP_OK);
	assert_int_equal(db_upload_place(db, up, 0, id, 10, 1000, 2000), PP_OK);
	db_close(db);
	assert_int_equal(db_open(path, &db), PP_OK);
	struct upload_rec u;
	assert_int_equal(db_upload_get(db, up, &u), PP_OK);
	assert_string_equal(u.name, "later");
	assert_int_equal(db_replica_added(db, "a", id, 10, 1000, 2000), PP_OK);
	assert_int_equal(db_replica_added(db, "b", id, 10, 1000, 2000), PP_OK);
	/* an open upload keeps its chunk from the collector */
	struct chunk_node *p;
	size_t n;
	assert_int_equal(db_gc_collect(db, 99999, 100, &p, &n), PP_OK);
	assert_int_equal(n, 0);
	free(p);
	struct file_rec f;
	assert_int_equal(db_upload_commit(db, up, 10,
					  "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
					  1, 3000, &f, err, sizeof(err)),
			 PP_OK);
	/* an expired session disappears and its chunks become garbage */
	assert_int_equal(db_upload_begin(db, "abandoned", 2, 1024, 0, 1000, &up), PP_OK);
	id_of(78, id);
	assert_int_equal(db_upload_place(db, up, 0, id, 10, 1000, 2000), PP_OK);
	int expired;
	assert_int_equal(db_uploads_expire(db, 1500, &expired), PP_OK);
	assert_int_equal(expired, 1);
	assert_int_equal(db_gc_collect(db, 1999, 100, &p, &n), PP_OK);
	free(p);
	assert_int_equal(db_gc_collect(db, 2000, 100, &p, &n), PP_OK);
	free(p);
	assert_int_equal(db_chunk_get(db, id, &(struct chunk_rec){0}), PP_ENOTFOUND);
	db_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_put_replaces_old_version_only_at_commit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_refcounts_across_dedup_and_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_search_uses_the_index, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upload_sessions_survive_reopen, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
