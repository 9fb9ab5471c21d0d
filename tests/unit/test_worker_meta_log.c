/* Unit tests for the worker's metadata record log (services/worker/
 * meta_log.h): records kept durably and read back in (seq, name, page)
 * order with a cursor, newer complete records superseding older ones,
 * multi-page records, refusing forged or malformed records, a torn tail cut
 * at reopen, and compaction keeping exactly the live records. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "errors.h"
#include "meta_log.h"
#include "meta_record.h"
#include "pp/v1/meta.pb-c.h"

#include <openssl/evp.h>

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];
static struct auth keyed, other_key;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void write_key(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/pp-unit-meta-XXXXXX");
	assert_non_null(mkdtemp(dir));
	char path[128], err[256];
	snprintf(path, sizeof(path), "%s/k1", dir);
	write_key(path, "first-cluster-key-0123456789");
	assert_int_equal(auth_init_key_file(&keyed, path, err, sizeof(err)), PP_OK);
	snprintf(path, sizeof(path), "%s/k2", dir);
	write_key(path, "second-cluster-key-987654321");
	assert_int_equal(auth_init_key_file(&other_key, path, err, sizeof(err)), PP_OK);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	auth_free(&keyed);
	auth_free(&other_key);
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

/* A sealed record of `name` at seq, page p of pages, with `chunks` refs. */
static uint8_t *record(const struct auth *a, const char *name, uint64_t seq, uint32_t p,
		       uint32_t pages, size_t chunks, size_t *len)
{
	Pp__V1__FileRecord fr = PP__V1__FILE_RECORD__INIT;
	fr.name = (char *)name;
	fr.seq = seq;
	fr.page = p;
	fr.pages = pages;
	fr.version = seq;
	fr.replication = 2;
	fr.sha256 = "0000000000000000000000000000000000000000000000000000000000000000";
	Pp__V1__ChunkRef refs[8], *ptrs[8];
	char ids[8][65];
	for (size_t i = 0; i < chunks && i < 8; i++) {
		pp__v1__chunk_ref__init(&refs[i]);
		snprintf(ids[i], sizeof(ids[i]), "%064zx", i + seq);
		refs[i].id = ids[i];
		refs[i].size = 100;
		ptrs[i] = &refs[i];
	}
	fr.n_chunks = chunks;
	fr.chunks = ptrs;
	size_t n = pp__v1__file_record__get_packed_size(&fr);
	uint8_t *pb = malloc(n);
	pp__v1__file_record__pack(&fr, pb);
	uint8_t *blob;
	assert_int_equal(meta_record_seal(a, pb, n, &blob, len), PP_OK);
	free(pb);
	return blob;
}

static int put(struct meta_log *m, const char *name, uint64_t seq, uint32_t p, uint32_t pages)
{
	size_t len;
	uint8_t *b = record(&keyed, name, seq, p, pages, 3, &len);
	int rc = meta_log_put(m, b, len);
	free(b);
	return rc;
}

/* Every record after after_seq, as "name@seq/page" joined by spaces. */
static void read_all(struct meta_log *m, uint64_t after_seq, size_t soft, char *out, size_t out_len)
{
	struct meta_cursor cur = {0};
	static uint8_t buf[(8u << 20) + 4 + 65536];
	out[0] = '\0';
	for (int calls = 0; calls < 1000; calls++) {
		size_t used;
		uint32_t count;
		bool done;
		assert_int_equal(meta_log_read(m, after_seq, &cur, buf, soft, sizeof(buf), &used, &count,
					       &done),
				 PP_OK);
		for (size_t off = 0; off < used;) {
			uint32_t len = (uint32_t)buf[off] << 24 | (uint32_t)buf[off + 1] << 16 |
				       (uint32_t)buf[off + 2] << 8 | buf[off + 3];
			const uint8_t *pb;
			size_t pb_len;
			const char *why;
			assert_int_equal(meta_record_open(&keyed, buf + off + 4, len, &pb, &pb_len, &why),
					 PP_OK);
			Pp__V1__FileRecord *fr = pp__v1__file_record__unpack(NULL, pb_len, pb);
			assert_non_null(fr);
			char item[96];
			snprintf(item, sizeof(item), "%s%s@%llu/%u", out[0] ? " " : "", fr->name,
				 (unsigned long long)fr->seq, fr->page);
			strncat(out, item, out_len - strlen(out) - 1);
			pp__v1__file_record__free_unpacked(fr, NULL);
			off += 4 + len;
		}
		if (done)
			return;
		assert_true(count > 0);
	}
	fail_msg("read did not finish");
}

static void test_records_kept_read_back_and_superseded(void **state)
{
	(void)state;
	struct meta_log *m;
	char err[256], got[4096];
	assert_int_equal(meta_log_open(dir, &keyed, NULL, &m, err, sizeof(err)), PP_OK);
	assert_int_equal(put(m, "a", 10, 0, 1), PP_OK);
	assert_int_equal(put(m, "b", 11, 0, 1), PP_OK);
	assert_int_equal(put(m, "a", 12, 0, 1), PP_OK); /* supersedes a@10 */
	assert_int_equal(put(m, "a", 9, 0, 1), PP_OK);  /* older: accepted, dropped */
	assert_int_equal(put(m, "b", 11, 0, 1), PP_OK); /* held already */
	read_all(m, 0, 1 << 20, got, sizeof(got));
	assert_string_equal(got, "b@11/0 a@12/0");
	read_all(m, 11, 1 << 20, got, sizeof(got));
	assert_string_equal(got, "a@12/0");
	/* One record per call still progresses through everything. */
	read_all(m, 0, 1, got, sizeof(got));
	assert_string_equal(got, "b@11/0 a@12/0");
	/* A two-page record supersedes only once both pages are in. */
	assert_int_equal(put(m, "b", 20, 0, 2), PP_OK);
	read_all(m, 0, 1 << 20, got, sizeof(got));
	assert_string_equal(got, "b@11/0 a@12/0 b@20/0");
	assert_int_equal(put(m, "b", 20, 1, 2), PP_OK);
	read_all(m, 0, 1 << 20, got, sizeof(got));
	assert_string_equal(got, "a@12/0 b@20/0 b@20/1");
	/* The tracker says a newer one is held elsewhere. */
	uint8_t hash[32];
	unsigned int n = 32;
	EVP_Digest("a", 1, hash, &n, EVP_sha256(), NULL);
	assert_int_equal(meta_log_forget_below(m, hash, 13), PP_OK);
	read_all(m, 0, 1 << 20, got, sizeof(got));
	assert_string_equal(got, "b@20/0 b@20/1");
	meta_log_close(m);
	/* Everything durable and indexed again after a reopen. */
	assert_int_equal(meta_log_open(dir, &keyed, NULL, &m, err, sizeof(err)), PP_OK);
	read_all(m, 0, 1 << 20, got, sizeof(got));
	assert_string_equal(got, "a@12/0 b@20/0 b@20/1"); /* a forget is not persisted */
	meta_log_close(m);
}

static void test_forged_and_malformed_records_refused(void **state)
{
	(void)state;
	struct meta_log *m;
	char err[256], got[4096];
	assert_int_equal(meta_log_open(dir, &keyed, NULL, &m, err, sizeof(err)), PP_OK);
	size_t len;
	uint8_t *b = record(&other_key, "x", 5, 0, 1, 1, &len);
	assert_int_equal(meta_log_put(m, b, len), PP_EAUTH);
	free(b);
	struct auth open_auth;
	auth_init_open(&open_auth);
	b = record(&open_auth, "x", 5, 0, 1, 1, &len);
	assert_int_equal(meta_log_put(m, b, len), PP_EAUTH); /* unsigned under a key */
	free(b);
	b = record(&keyed, "x", 5, 2, 1, 1, &len); /* page beyond the count */
	assert_int_equal(meta_log_put(m, b, len), PP_EINVAL);
	free(b);
	b = record(&keyed, "", 5, 0, 1, 1, &len);
	assert_int_equal(meta_log_put(m, b, len), PP_EINVAL);
	free(b);
	b = record(&keyed, "x", 5, 0, 1, 1, &len);
	b[len / 2] ^= 1;
	assert_int_not_equal(meta_log_put(m, b, len), PP_OK);
	free(b);
	assert_int_equal(meta_log_put(m, (const uint8_t *)"garbage", 7), PP_EINVAL);
	read_all(m, 0, 1 << 20, got, sizeof(got));
	assert_string_equal(got, "");
	meta_log_close(m);
}

static void test_torn_tail_is_cut_at_open(void **state)
{
	(void)state;
	struct meta_log *m;
	char err[256], got[4096], path[128];
	assert_int_equal(meta_log_open(dir, &keyed, NULL, &m, err, sizeof(err)), PP_OK);
	assert_int_equal(put(m, "one", 1, 0, 1), PP_OK);
	assert_int_equal(put(m, "two", 2, 0, 1), PP_OK);
	meta_log_close(m);
	/* A crash mid-append: half an entry at the end. */
	snprintf(path, sizeof(path), "%s/meta/00000001.log", dir);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	int fd = open(path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "PPML\0\0\1\0abcdefgh half", 21), 21);
	close(fd);
	assert_int_equal(meta_log_open(dir, &keyed, NULL, &m, err, sizeof(err)), PP_OK);
	struct stat after;
	assert_int_equal(stat(path, &after), 0);
	assert_int_equal(after.st_size, st.st_size);
	read_all(m, 0, 1 << 20, got, sizeof(got));
	assert_string_equal(got, "one@1/0 two@2/0");
	assert_int_equal(put(m, "three", 3, 0, 1), PP_OK);
	meta_log_close(m);
	assert_int_equal(meta_log_open(dir, &keyed, NULL, &m, err, sizeof(err)), PP_OK);
	read_all(m, 0, 1 << 20, got, sizeof(got));
	assert_string_equal(got, "one@1/0 two@2/0 three@3/0");
	meta_log_close(m);
}

static void test_compaction_keeps_live_records(void **state)
{
	(void)state;
	struct meta_log *m;
	char err[256];
	static char got[1 << 16];
	/* Small segments and an early compaction, so both happen many times. */
	struct meta_log_limits lim = {.segment_max_bytes = 16 << 10, .compact_min_dead_bytes = 32 << 10};
	assert_int_equal(meta_log_open(dir, &keyed, &lim, &m, err, sizeof(err)), PP_OK);
	/* Rewrite ten names over and over: most entries die. */
	uint64_t seq = 3601;
	for (int round = 0; round < 400; round++) {
		char name[16];
		snprintf(name, sizeof(name), "n%d", round % 10);
		assert_int_equal(put(m, name, seq++, 0, 1), PP_OK);
	}
	struct meta_stats st;
	meta_log_stats(m, &st);
	assert_int_equal(st.records, 10);
	assert_true(st.dead_bytes <= (32u << 10) + 1024);
	assert_true(st.segments <= 4);
	read_all(m, 0, 1 << 20, got, sizeof(got));
	assert_string_equal(got, "n0@3991/0 n1@3992/0 n2@3993/0 n3@3994/0 n4@3995/0 n5@3996/0"
				 " n6@3997/0 n7@3998/0 n8@3999/0 n9@4000/0");
	meta_log_close(m);
	assert_int_equal(meta_log_open(dir, &keyed, &lim, &m, err, sizeof(err)), PP_OK);
	read_all(m, 3995, 1 << 20, got, sizeof(got));
	assert_string_equal(got, "n5@3996/0 n6@3997/0 n7@3998/0 n8@3999/0 n9@4000/0");
	meta_log_close(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_records_kept_read_back_and_superseded, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_forged_and_malformed_records_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_torn_tail_is_cut_at_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compaction_keeps_live_records, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
