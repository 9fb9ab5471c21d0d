#define _GNU_SOURCE
/* The tracker's S3 store (services/tracker/db_s3.c, db_multipart.c):
 * name-ordered listings with delimiters and resume points, hidden parts,
 * metadata committed with (and only with) its version, bucket rules, and
 * multipart staging that moves no chunk. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "db.h"
#include "db_multipart.h"
#include "db_s3.h"
#include "errors.h"
#include "policy.h"
#include "s3names.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char dir[64];
static char path[128];
static int next_chunk = 1;

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/pp-s3db.XXXXXX");
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

static struct db *open_db(void)
{
	struct db *db;
	assert_int_equal(db_open(path, &db), PP_OK);
	node_up(db, "a");
	node_up(db, "b");
	return db;
}

/* Begins an upload of name with n fresh 10-byte chunks stored on a and b. */
static int64_t stage(struct db *db, const char *name, int n)
{
	int64_t up;
	assert_int_equal(db_upload_begin(db, name, 2, 1024, 0, 1000, &up), PP_OK);
	for (int i = 0; i < n; i++) {
		char id[65];
		snprintf(id, sizeof(id), "%064x", next_chunk++);
		assert_int_equal(db_upload_place(db, up, (uint64_t)i, id, 10, 1000, 2000), PP_OK);
		copy_on(db, "a", id, 10);
		copy_on(db, "b", id, 10);
	}
	return up;
}

static int commit(struct db *db, int64_t up, int n, struct file_rec *f)
{
	char err[256] = "";
	return db_upload_commit(db, up, (uint64_t)n * 10,
				"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", (uint64_t)n,
				5000, 5000, f, err, sizeof(err));
}

static void put(struct db *db, const char *name)
{
	struct file_rec f;
	assert_int_equal(commit(db, stage(db, name, 1), 1, &f), PP_OK);
}

static void test_bucket_names_follow_s3_rules(void **state)
{
	(void)state;
	const char *good[] = {"abc", "my-bucket.v2", "0x0", "a23456789012345678901234567890123456789012345678901234567890123"};
	const char *bad[] = {"ab", "Abc", "a_b", "-ab", "ab-", ".ab", "a..b", "192.168.1.1", "",
			     "a234567890123456789012345678901234567890123456789012345678901234"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_null(s3_bucket_check(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_non_null(s3_bucket_check(bad[i]));
	char part[S3_PART_NAME_MAX], id[33];
	unsigned n;
	assert_true(s3_part_name("0123456789abcdef0123456789abcdef", 42, part, sizeof(part)));
	assert_string_equal(part, ".s3-uploads/0123456789abcdef0123456789abcdef/00042");
	assert_true(s3_part_name_parse(part, id, &n));
	assert_int_equal(n, 42);
	assert_false(s3_part_name("0123456789abcdef0123456789abcdef", 10001, part, sizeof(part)));
	assert_false(s3_part_name_parse("b/.s3-uploads/x", id, &n));
	assert_true(s3_name_hidden(".s3-uploads/anything"));
}

static void names_of(const struct s3_list_result *r, char *buf, size_t len)
{
	buf[0] = '\0';
	for (size_t i = 0; i < r->n; i++)
		snprintf(buf + strlen(buf), len - strlen(buf), "%s ", r->entries[i].name);
	for (size_t i = 0; i < r->np; i++)
		snprintf(buf + strlen(buf), len - strlen(buf), "[%s] ", r->prefixes[i]);
}

static void test_listing_rolls_up_and_resumes(void **state)
{
	(void)state;
	struct db *db = open_db();
	const char *names[] = {"b/a", "b/d/1", "b/d/2", "b/d/3", "b/e", "b/f/x", "b0", "c/a", "b/\xc3\xa9"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		put(db, names[i]);
	/* A part can only commit while its upload is open. */
	assert_int_equal(db_s3_bucket_create(db, "bkt", 1), PP_OK);
	assert_int_equal(db_mpu_create(db, "0123456789abcdef0123456789abcdef", "bkt", "k", NULL, 0, 2, 1), PP_OK);
	put(db, ".s3-uploads/0123456789abcdef0123456789abcdef/00001");
	struct s3_list_result r;
	char got[512];

	assert_int_equal(db_s3_list(db, "b/", "", "", 100, &r), PP_OK);
	names_of(&r, got, sizeof(got));
	assert_string_equal(got, "b/a b/d/1 b/d/2 b/d/3 b/e b/f/x b/\xc3\xa9 ");
	assert_false(r.truncated);
	db_s3_list_free(&r);

	assert_int_equal(db_s3_list(db, "b/", "/", "", 100, &r), PP_OK);
	names_of(&r, got, sizeof(got));
	assert_string_equal(got, "b/a b/e b/\xc3\xa9 [b/d/] [b/f/] ");
	db_s3_list_free(&r);

	/* Pages of two, resuming from next_after, never repeat a prefix. */
	char after[64] = "", all[512] = "";
	for (int page = 0; page < 10; page++) {
		assert_int_equal(db_s3_list(db, "b/", "/", after, 2, &r), PP_OK);
		names_of(&r, got, sizeof(got));
		strcat(all, got);
		bool more = r.truncated;
		if (r.next_after)
			snprintf(after, sizeof(after), "%s", r.next_after);
		db_s3_list_free(&r);
		if (!more)
			break;
	}
	assert_string_equal(all, "b/a [b/d/] b/e [b/f/] b/\xc3\xa9 ");

	/* A marker inside a rolled-up prefix skips the rest of it. */
	assert_int_equal(db_s3_list(db, "b/", "/", "b/d/1", 100, &r), PP_OK);
	names_of(&r, got, sizeof(got));
	assert_string_equal(got, "b/e b/\xc3\xa9 [b/f/] ");
	db_s3_list_free(&r);

	/* The whole namespace hides the parts. */
	assert_int_equal(db_s3_list(db, "", "/", "", 100, &r), PP_OK);
	names_of(&r, got, sizeof(got));
	assert_string_equal(got, "b0 [b/] [c/] ");
	db_s3_list_free(&r);

	assert_int_equal(db_s3_list(db, "b/", "", "", 0, &r), PP_OK);
	assert_int_equal(r.n + r.np, 0);
	db_s3_list_free(&r);

	size_t n;
	uint64_t total;
	struct file_rec *fs = NULL;
	assert_int_equal(db_list(db, "", 100, 0, &fs, &n, &total), PP_OK);
	assert_int_equal(total, 9); /* the part is not listed */
	free(fs);
	assert_int_equal(db_list(db, "s3", 100, 0, &fs, &n, &total), PP_OK);
	assert_int_equal(total, 0);
	free(fs);
	db_close(db);
}

static void test_metadata_commits_with_its_version_and_bucket(void **state)
{
	(void)state;
	struct db *db = open_db();
	struct file_rec f;
	/* No bucket: the commit is refused and nothing appears. */
	int64_t up = stage(db, "pics/a.jpg", 1);
	assert_int_equal(db_s3_upload_meta_set(db, up, "etag1", (const uint8_t *)"M1", 2, "pics", ""), PP_OK);
	assert_int_equal(commit(db, up, 1, &f), PP_ENOTFOUND);
	assert_int_equal(db_file_get(db, "pics/a.jpg", &f), PP_ENOTFOUND);
	db_upload_abort(db, up);

	assert_int_equal(db_s3_bucket_create(db, "pics", 1), PP_OK);
	assert_int_equal(db_s3_bucket_create(db, "pics", 1), PP_ECONFLICT);
	up = stage(db, "pics/a.jpg", 1);
	assert_int_equal(db_s3_upload_meta_set(db, up, "etag1", (const uint8_t *)"M1", 2, "pics", ""), PP_OK);
	assert_int_equal(commit(db, up, 1, &f), PP_OK);
	uint8_t *m;
	size_t len;
	assert_int_equal(db_s3_meta_get(db, f.id, &m, &len), PP_OK);
	assert_int_equal(len, 2);
	assert_memory_equal(m, "M1", 2);
	free(m);

	/* A new version without metadata has none; the old row went with it. */
	int64_t old_id = f.id;
	assert_int_equal(commit(db, stage(db, "pics/a.jpg", 1), 1, &f), PP_OK);
	assert_int_equal(db_s3_meta_get(db, f.id, &m, &len), PP_ENOTFOUND);
	if (f.id != old_id)
		assert_int_equal(db_s3_meta_get(db, old_id, &m, &len), PP_ENOTFOUND);

	assert_int_equal(db_s3_bucket_delete(db, "pics"), PP_ECONFLICT);
	assert_int_equal(db_file_delete(db, "pics/a.jpg", 6000, 6000, &f), PP_OK);
	assert_int_equal(db_s3_bucket_delete(db, "pics"), PP_OK);
	assert_int_equal(db_s3_bucket_exists(db, "pics"), PP_ENOTFOUND);
	db_close(db);
}

static void test_multipart_stages_part_chunks_in_order(void **state)
{
	(void)state;
	struct db *db = open_db();
	const char *id = "00112233445566778899aabbccddeeff";
	assert_int_equal(db_mpu_create(db, id, "nob", "k", NULL, 0, 2, 1000), PP_ENOTFOUND);
	assert_int_equal(db_s3_bucket_create(db, "bkt", 1), PP_OK);
	assert_int_equal(db_mpu_create(db, id, "bkt", "big/key", (const uint8_t *)"X", 1, 2, 1000), PP_OK);
	/* Parts 3 and 1 (2 and 3 chunks), committed out of order. */
	char name[S3_PART_NAME_MAX];
	struct file_rec f;
	int chunks_of[] = {0, 2, 0, 3};
	for (int p = 3; p >= 1; p -= 2) {
		s3_part_name(id, (unsigned)p, name, sizeof(name));
		int64_t up = stage(db, name, chunks_of[p]);
		assert_int_equal(db_s3_upload_meta_set(db, up, "e", (const uint8_t *)"", 0, "", ""), PP_OK);
		assert_int_equal(commit(db, up, chunks_of[p], &f), PP_OK);
	}
	struct mpu_part *parts;
	size_t n;
	bool more;
	assert_int_equal(db_mpu_parts(db, id, 0, 10, &parts, &n, &more), PP_OK);
	assert_int_equal(n, 2);
	assert_int_equal(parts[0].number, 1);
	assert_int_equal(parts[1].number, 3);
	assert_int_equal(parts[1].chunk_count, 3);
	assert_false(more);

	int64_t session;
	uint64_t count = 0;
	assert_int_equal(db_upload_begin(db, "bkt/big/key", 2, 1024, 0, 2000, &session), PP_OK);
	assert_int_equal(db_mpu_stage(db, session, id, parts, n, &count), PP_OK);
	assert_int_equal(count, 5);
	assert_int_equal(db_s3_upload_meta_set(db, session, "x-2", (const uint8_t *)"", 0, "bkt", id), PP_OK);
	char err[256];
	assert_int_equal(db_upload_commit(db, session, 50,
					  "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc", 5,
					  3000, 3000, &f, err, sizeof(err)),
			 PP_OK);
	struct chunk_rec *ch;
	size_t nc;
	assert_int_equal(db_file_chunks(db, f.id, 0, 10, &ch, &nc), PP_OK);
	assert_int_equal(nc, 5);
	/* Part 1's chunks come first although part 3 was uploaded first. */
	assert_int_equal(strtol(ch[0].id + 56, NULL, 16), next_chunk - 2);
	assert_int_equal(strtol(ch[2].id + 56, NULL, 16), next_chunk - 5);
	free(ch);
	free(parts);

	/* Completed: a second completion and late parts are refused. */
	struct mpu_rec r;
	assert_int_equal(db_mpu_get(db, id, &r), PP_OK);
	assert_int_equal(r.state, MPU_COMPLETED);
	mpu_rec_clear(&r);
	s3_part_name(id, 2, name, sizeof(name));
	int64_t late = stage(db, name, 1);
	assert_int_equal(commit(db, late, 1, &f), PP_ENOTFOUND);
	db_upload_abort(db, late);

	char (*ids)[S3_UPLOAD_ID_LEN + 1];
	assert_int_equal(db_mpu_collectable(db, 0, 2999, 10, &ids, &n), PP_OK);
	assert_int_equal(n, 0); /* completed at 3000: kept a while */
	free(ids);
	assert_int_equal(db_mpu_collectable(db, 0, 3001, 10, &ids, &n), PP_OK);
	assert_int_equal(n, 1);
	free(ids);
	/* The parts of a completed upload are orphans already. */
	char **names;
	assert_int_equal(db_mpu_orphan_parts(db, 10, &names, &n), PP_OK);
	assert_int_equal(n, 2);
	db_names_free(names, n);
	assert_int_equal(db_mpu_forget(db, id), PP_OK);
	assert_int_equal(db_mpu_orphan_parts(db, 10, &names, &n), PP_OK);
	assert_int_equal(n, 2);
	db_names_free(names, n);
	db_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket_names_follow_s3_rules),
		cmocka_unit_test_setup_teardown(test_listing_rolls_up_and_resumes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metadata_commits_with_its_version_and_bucket, setup, teardown),
		cmocka_unit_test_setup_teardown(test_multipart_stages_part_chunks_in_order, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
