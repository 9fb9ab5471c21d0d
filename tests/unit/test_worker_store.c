/* Unit tests for the worker's chunk store (services/worker/store.h): durable
 * round trips, id validation before any path is built, hash checks on write
 * and on every read (quarantine + report), capacity, start-up cleaning and
 * re-indexing, eviction of extra copies before refusing space, and copy
 * generations (deletes name the copy they mean, claims, restarts, listing
 * snapshots); sizes around the O_DIRECT block with and without direct I/O,
 * unverified reads with verification on a reader's report, staged writes. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "errors.h"
#include "hash.h"
#include "store.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fixture {
	char dir[64];
	struct store *s;
	char corrupt[4][65];
	int ncorrupt;
	char evicted[4][65];
	int nevicted;
};

static void on_corrupt(void *arg, const char *id, uint64_t gen)
{
	(void)gen;
	struct fixture *f = arg;
	if (f->ncorrupt < 4)
		snprintf(f->corrupt[f->ncorrupt++], 65, "%s", id);
}

static void on_evict(void *arg, const char *id)
{
	struct fixture *f = arg;
	if (f->nevicted < 4)
		snprintf(f->evicted[f->nevicted++], 65, "%s", id);
}

static int open_store(struct fixture *f, uint64_t capacity)
{
	struct store_config cfg = {
		.data_dir = f->dir,
		.capacity_bytes = capacity,
		.on_corrupt = on_corrupt,
		.on_evict = on_evict,
		.cb_arg = f,
	};
	char err[256];
	return store_open(&cfg, &f->s, err, sizeof(err));
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	strcpy(f->dir, "/tmp/pp-unit-store-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	*state = f;
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	store_close(f->s);
	nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* Deterministic content and its id. */
static void make_chunk(uint8_t *buf, size_t len, unsigned seed, char id[65])
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(seed * 31 + i * 7 + (i >> 8));
	assert_int_equal(sha256_hex(buf, len, id), PP_OK);
}

static void chunk_file(struct fixture *f, const char *id, char *path, size_t len)
{
	snprintf(path, len, "%s/chunks/%.2s/%.2s/%s", f->dir, id, id + 2, id);
}

static int count_files(const char *dir)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return -1;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void test_put_then_read_returns_same_bytes(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(open_store(f, 0), PP_OK);
	uint8_t data[5000], back[5000];
	char id[65], path[256];
	make_chunk(data, sizeof(data), 1, id);
	assert_int_equal(store_put(f->s, id, data, sizeof(data), false, NULL), PP_OK);
	chunk_file(f, id, path, sizeof(path));
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, sizeof(data));
	uint32_t size;
	assert_int_equal(store_size(f->s, id, &size), PP_OK);
	assert_int_equal(size, sizeof(data));
	size_t len = 0;
	assert_int_equal(store_read(f->s, id, back, sizeof(back), &len, true), PP_OK);
	assert_int_equal(len, sizeof(data));
	assert_memory_equal(back, data, sizeof(data));
	/* Storing it again is harmless and counts once. */
	assert_int_equal(store_put(f->s, id, data, sizeof(data), false, NULL), PP_OK);
	struct store_stats stats;
	store_get_stats(f->s, &stats);
	assert_int_equal(stats.chunks, 1);
	assert_int_equal(stats.used_bytes, sizeof(data));
	/* Nothing is left in tmp/. */
	char tmp[256];
	snprintf(tmp, sizeof(tmp), "%s/tmp", f->dir);
	assert_int_equal(count_files(tmp), 0);
	/* Deleting forgets it and removes the file. */
	struct store_copy held;
	assert_int_equal(store_stat(f->s, id, &held), PP_OK);
	assert_int_equal(store_delete(f->s, id, held.gen), PP_OK);
	assert_int_not_equal(stat(path, &st), 0);
	assert_false(store_has(f->s, id));
	assert_int_equal(store_delete(f->s, id, held.gen), PP_ENOTFOUND);
	assert_int_equal(store_read(f->s, id, back, sizeof(back), &len, true), PP_ENOTFOUND);
}

/* Sizes around the O_DIRECT block (4096) and the bounce buffer (1 MiB), in
 * the test's data dir (O_DIRECT where the file system takes it) and on
 * tmpfs (which does not: buffered writes instead). */
static void round_trip_sizes(struct fixture *f)
{
	static const size_t sizes[] = {1, 511, 4095, 4096, 4097, 70000, (1u << 20) - 1, 1u << 20,
				       (1u << 20) + 4097, 4u << 20};
	uint8_t *data = malloc(4u << 20), *back = malloc(4u << 20);
	assert_non_null(data);
	assert_non_null(back);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char id[65], path[256];
		make_chunk(data, sizes[i], (unsigned)i + 100, id);
		assert_int_equal(store_put(f->s, id, data, sizes[i], false, NULL), PP_OK);
		chunk_file(f, id, path, sizeof(path));
		struct stat st;
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal((size_t)st.st_size, sizes[i]);
		size_t len = 0;
		memset(back, 0xee, sizes[i]);
		assert_int_equal(store_read(f->s, id, back, 4u << 20, &len, true), PP_OK);
		assert_int_equal(len, sizes[i]);
		assert_memory_equal(back, data, sizes[i]);
	}
	free(data);
	free(back);
}

static void test_sizes_round_trip_with_and_without_direct_io(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(open_store(f, 0), PP_OK);
	round_trip_sizes(f);
	struct stat st;
	if (stat("/dev/shm", &st) != 0 || !S_ISDIR(st.st_mode) || access("/dev/shm", W_OK) != 0)
		return; /* no tmpfs here: the first half stands */
	struct fixture g = {0};
	strcpy(g.dir, "/dev/shm/pp-unit-store-XXXXXX");
	assert_non_null(mkdtemp(g.dir));
	assert_int_equal(open_store(&g, 0), PP_OK);
	round_trip_sizes(&g);
	store_close(g.s);
	nftw(g.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A whole-chunk read for a reader that verifies sends the bytes as stored;
 * store_verify is that reader's report, checked before anything goes. */
static void test_unverified_read_and_verify_on_report(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(open_store(f, 0), PP_OK);
	uint8_t data[9000], back[9000];
	char id[65], path[256];
	make_chunk(data, sizeof(data), 7, id);
	assert_int_equal(store_put(f->s, id, data, sizeof(data), false, NULL), PP_OK);
	assert_int_equal(store_verify(f->s, id), PP_OK); /* a good copy stays */
	chunk_file(f, id, path, sizeof(path));
	int fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "!", 1, 4321), 1);
	close(fd);
	size_t len = 0;
	assert_int_equal(store_read_unverified(f->s, id, back, sizeof(back), &len), PP_OK);
	assert_int_equal(len, sizeof(data));
	assert_true(memcmp(back, data, sizeof(data)) != 0);
	assert_int_equal(f->ncorrupt, 0);
	assert_int_equal(store_verify(f->s, id), PP_EINTEGRITY);
	assert_int_equal(f->ncorrupt, 1);
	assert_string_equal(f->corrupt[0], id);
	assert_false(store_has(f->s, id));
	assert_int_equal(store_verify(f->s, id), PP_ENOTFOUND);
	/* A truncated file is caught without a hash. */
	make_chunk(data, sizeof(data), 8, id);
	assert_int_equal(store_put(f->s, id, data, sizeof(data), false, NULL), PP_OK);
	chunk_file(f, id, path, sizeof(path));
	assert_int_equal(truncate(path, 100), 0);
	assert_int_equal(store_read_unverified(f->s, id, back, sizeof(back), &len), PP_EINTEGRITY);
	assert_false(store_has(f->s, id));
}

/* A staged write is no copy until it is finished; aborted, it leaves nothing. */
static void test_staged_write_exists_only_once_finished(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(open_store(f, 0), PP_OK);
	uint8_t data[6000];
	char id[65], tmp[256];
	make_chunk(data, sizeof(data), 9, id);
	struct store_staged *st;
	assert_int_equal(store_stage(f->s, id, data, sizeof(data), true, &st), PP_OK);
	assert_false(store_has(f->s, id));
	struct store_ref *refs;
	size_t n;
	uint64_t seq;
	assert_int_equal(store_list(f->s, &refs, &n, &seq), PP_OK);
	free(refs);
	struct store_copy c;
	assert_int_equal(store_finish(f->s, st, &c), PP_OK);
	assert_true(c.extra);
	assert_true(c.gen > seq); /* written after that listing */
	assert_true(store_has(f->s, id));
	make_chunk(data, sizeof(data), 10, id);
	assert_int_equal(store_stage(f->s, id, data, sizeof(data), false, &st), PP_OK);
	store_stage_abort(f->s, st);
	assert_false(store_has(f->s, id));
	snprintf(tmp, sizeof(tmp), "%s/tmp", f->dir);
	assert_int_equal(count_files(tmp), 0);
}

static void test_bad_ids_rejected_before_any_path(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(open_store(f, 0), PP_OK);
	uint8_t data[16] = "0123456789abcdef";
	char good[65];
	sha256_hex(data, sizeof(data), good);
	char upper[65], short_id[65];
	strcpy(upper, good);
	for (char *p = upper; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	if (strcmp(upper, good) == 0) /* no letters at all: force one */
		upper[0] = 'A';
	memcpy(short_id, good, 63);
	short_id[63] = '\0';
	const char *bad[] = {"../../etc/passwd", upper, short_id, "", "../" "chunks",
			     "aaaa/../../../../../../../../tmp/x"};
	uint8_t buf[64];
	size_t len;
	uint32_t size;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(store_put(f->s, bad[i], data, sizeof(data), false, NULL), PP_EINVAL);
		assert_int_equal(store_read(f->s, bad[i], buf, sizeof(buf), &len, true), PP_EINVAL);
		assert_int_equal(store_size(f->s, bad[i], &size), PP_EINVAL);
		assert_int_equal(store_delete(f->s, bad[i], 1), PP_EINVAL);
	}
	char path[256];
	snprintf(path, sizeof(path), "%s/chunks", f->dir);
	assert_int_equal(count_files(path), 0);
	snprintf(path, sizeof(path), "%s/tmp", f->dir);
	assert_int_equal(count_files(path), 0);
	assert_int_equal(count_files(f->dir), 5); /* chunks tmp quarantine extra epoch */
}

static void test_put_with_wrong_hash_is_refused(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(open_store(f, 0), PP_OK);
	uint8_t data[1000], other[1000];
	char id[65], other_id[65], path[256];
	make_chunk(data, sizeof(data), 2, id);
	make_chunk(other, sizeof(other), 3, other_id);
	assert_int_equal(store_put(f->s, id, other, sizeof(other), false, NULL), PP_EINTEGRITY);
	assert_false(store_has(f->s, id));
	chunk_file(f, id, path, sizeof(path));
	struct stat st;
	assert_int_not_equal(stat(path, &st), 0);
	struct store_stats stats;
	store_get_stats(f->s, &stats);
	assert_int_equal(stats.chunks, 0);
	assert_int_equal(stats.used_bytes, 0);
}

static void test_corrupt_file_is_quarantined_on_read(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(open_store(f, 0), PP_OK);
	uint8_t data[3000], back[3000];
	char id[65], path[256], qpath[256];
	make_chunk(data, sizeof(data), 4, id);
	assert_int_equal(store_put(f->s, id, data, sizeof(data), false, NULL), PP_OK);
	chunk_file(f, id, path, sizeof(path));
	/* Flip one byte in the middle of the stored file. */
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	uint8_t b;
	assert_int_equal(pread(fd, &b, 1, 1500), 1);
	b ^= 0x01;
	assert_int_equal(pwrite(fd, &b, 1, 1500), 1);
	close(fd);
	size_t len;
	assert_int_equal(store_read(f->s, id, back, sizeof(back), &len, true), PP_EINTEGRITY);
	struct stat st;
	assert_int_not_equal(stat(path, &st), 0);
	snprintf(qpath, sizeof(qpath), "%s/quarantine/%s", f->dir, id);
	assert_int_equal(stat(qpath, &st), 0);
	assert_int_equal(f->ncorrupt, 1);
	assert_string_equal(f->corrupt[0], id);
	assert_false(store_has(f->s, id));
	assert_int_equal(store_read(f->s, id, back, sizeof(back), &len, true), PP_ENOTFOUND);
	assert_int_equal(f->ncorrupt, 1); /* reported once */
	/* A truncated file is caught as well. */
	make_chunk(data, sizeof(data), 5, id);
	assert_int_equal(store_put(f->s, id, data, sizeof(data), false, NULL), PP_OK);
	chunk_file(f, id, path, sizeof(path));
	assert_int_equal(truncate(path, 100), 0);
	assert_int_equal(store_read(f->s, id, back, sizeof(back), &len, true), PP_EINTEGRITY);
	assert_int_equal(f->ncorrupt, 2);
	/* And the good copy can be stored again afterwards. */
	assert_int_equal(store_put(f->s, id, data, sizeof(data), false, NULL), PP_OK);
	assert_int_equal(store_read(f->s, id, back, sizeof(back), &len, true), PP_OK);
	assert_memory_equal(back, data, sizeof(data));
}

static void test_capacity_refuses_with_no_space(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(open_store(f, 2500), PP_OK);
	uint8_t a[1000], b[1000], c[1000];
	char ia[65], ib[65], ic[65];
	make_chunk(a, sizeof(a), 6, ia);
	make_chunk(b, sizeof(b), 7, ib);
	make_chunk(c, sizeof(c), 8, ic);
	assert_int_equal(store_put(f->s, ia, a, sizeof(a), false, NULL), PP_OK);
	assert_int_equal(store_put(f->s, ib, b, sizeof(b), false, NULL), PP_OK);
	assert_int_equal(store_put(f->s, ic, c, sizeof(c), false, NULL), PP_ENOSPACE);
	assert_false(store_has(f->s, ic));
	struct store_stats stats;
	store_get_stats(f->s, &stats);
	assert_int_equal(stats.chunks, 2);
	assert_int_equal(stats.used_bytes, 2000);
	assert_int_equal(stats.capacity_bytes, 2500);
	assert_true(stats.disk_full);
	/* Freeing space makes room again and clears the flag. */
	struct store_copy held;
	assert_int_equal(store_stat(f->s, ia, &held), PP_OK);
	assert_int_equal(store_delete(f->s, ia, held.gen), PP_OK);
	assert_int_equal(store_put(f->s, ic, c, sizeof(c), false, NULL), PP_OK);
	store_get_stats(f->s, &stats);
	assert_false(stats.disk_full);
	assert_int_equal(f->nevicted, 0);
}

static void test_open_cleans_tmp_and_reindexes(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(open_store(f, 0), PP_OK);
	uint8_t a[700], b[900];
	char ia[65], ib[65], path[256];
	make_chunk(a, sizeof(a), 9, ia);
	make_chunk(b, sizeof(b), 10, ib);
	assert_int_equal(store_put(f->s, ia, a, sizeof(a), false, NULL), PP_OK);
	assert_int_equal(store_put(f->s, ib, b, sizeof(b), false, NULL), PP_OK);
	store_close(f->s);
	f->s = NULL;
	/* A crash mid-write leaves temp files; a stray file sits among chunks. */
	snprintf(path, sizeof(path), "%s/tmp/%s.123.0", f->dir, ia);
	FILE *fp = fopen(path, "w");
	fputs("half a chunk", fp);
	fclose(fp);
	snprintf(path, sizeof(path), "%s/chunks/%.2s/%.2s/not-a-chunk", f->dir, ia, ia + 2);
	fp = fopen(path, "w");
	fclose(fp);
	assert_int_equal(open_store(f, 0), PP_OK);
	snprintf(path, sizeof(path), "%s/tmp", f->dir);
	assert_int_equal(count_files(path), 0);
	struct store_stats stats;
	store_get_stats(f->s, &stats);
	assert_int_equal(stats.chunks, 2);
	assert_int_equal(stats.used_bytes, sizeof(a) + sizeof(b));
	struct store_ref *refs;
	size_t n;
	assert_int_equal(store_list(f->s, &refs, &n, NULL), PP_OK);
	assert_int_equal(n, 2);
	bool seen_a = false, seen_b = false;
	for (size_t i = 0; i < n; i++) {
		seen_a |= strcmp(refs[i].id, ia) == 0 && refs[i].size == sizeof(a);
		seen_b |= strcmp(refs[i].id, ib) == 0 && refs[i].size == sizeof(b);
	}
	free(refs);
	assert_true(seen_a && seen_b);
}

static void test_data_dir_that_is_a_file_is_refused(void **state)
{
	struct fixture *f = *state;
	char file[128];
	snprintf(file, sizeof(file), "%s/plain", f->dir);
	FILE *fp = fopen(file, "w");
	fclose(fp);
	struct store_config cfg = {.data_dir = file};
	char err[256] = "";
	struct store *s = NULL;
	assert_int_equal(store_open(&cfg, &s, err, sizeof(err)), PP_EINVAL);
	assert_null(s);
	assert_non_null(strstr(err, "not usable"));
}

static void test_extra_copies_are_evicted_first(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(open_store(f, 3000), PP_OK);
	uint8_t a[1000], b[1000], c[1000], d[1000], e[1000];
	char ia[65], ib[65], ic[65], id[65], ie[65], marker[256];
	make_chunk(a, sizeof(a), 11, ia);
	make_chunk(b, sizeof(b), 12, ib);
	make_chunk(c, sizeof(c), 13, ic);
	make_chunk(d, sizeof(d), 14, id);
	make_chunk(e, sizeof(e), 15, ie);
	assert_int_equal(store_put(f->s, ia, a, sizeof(a), false, NULL), PP_OK);
	assert_int_equal(store_put(f->s, ib, b, sizeof(b), true, NULL), PP_OK);
	assert_int_equal(store_put(f->s, ic, c, sizeof(c), true, NULL), PP_OK);
	snprintf(marker, sizeof(marker), "%s/extra/%s", f->dir, ib);
	struct stat st;
	assert_int_equal(stat(marker, &st), 0);
	/* The extra flag survives a restart (kept on disk). */
	store_close(f->s);
	f->s = NULL;
	assert_int_equal(open_store(f, 3000), PP_OK);
	/* Read c so b is the least recently used extra copy. */
	uint8_t back[1000];
	size_t len;
	assert_int_equal(store_read(f->s, ic, back, sizeof(back), &len, true), PP_OK);
	/* Full: a regular put evicts the least recently used extra copy. */
	assert_int_equal(store_put(f->s, id, d, sizeof(d), false, NULL), PP_OK);
	assert_int_equal(f->nevicted, 1);
	assert_string_equal(f->evicted[0], ib);
	assert_false(store_has(f->s, ib));
	assert_int_not_equal(stat(marker, &st), 0);
	assert_true(store_has(f->s, ia) && store_has(f->s, ic) && store_has(f->s, id));
	/* A regular put of an extra copy makes it regular: not evictable. */
	assert_int_equal(store_put(f->s, ic, c, sizeof(c), false, NULL), PP_OK);
	assert_int_equal(store_put(f->s, ie, e, sizeof(e), false, NULL), PP_ENOSPACE);
	assert_int_equal(f->nevicted, 1);
	assert_true(store_has(f->s, ia) && store_has(f->s, ic) && store_has(f->s, id));
}

/* A delete names the copy it means: a copy written again since survives. */
static void test_delete_of_an_older_copy_keeps_the_newer_one(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(open_store(f, 0), PP_OK);
	uint8_t data[2000];
	char id[65];
	make_chunk(data, sizeof(data), 16, id);
	struct store_copy first, second, now;
	assert_int_equal(store_put(f->s, id, data, sizeof(data), false, &first), PP_OK);
	assert_int_equal(first.size, sizeof(data));
	/* Re-uploaded (same content): a new copy with a higher gen. */
	assert_int_equal(store_put(f->s, id, data, sizeof(data), false, &second), PP_OK);
	assert_true(second.gen > first.gen);
	assert_int_equal(store_delete(f->s, id, first.gen), PP_ECONFLICT);
	assert_true(store_has(f->s, id));
	assert_int_equal(store_stat(f->s, id, &now), PP_OK);
	assert_int_equal(now.gen, second.gen);
	assert_int_equal(store_delete(f->s, id, second.gen), PP_OK);
	assert_false(store_has(f->s, id));
	/* Written again after the delete: a later delete of that gen is moot. */
	assert_int_equal(store_put(f->s, id, data, sizeof(data), false, &now), PP_OK);
	assert_true(now.gen > second.gen);
	assert_int_equal(store_delete(f->s, id, second.gen), PP_ECONFLICT);
	assert_true(store_has(f->s, id));
}

/* A claim turns a held (extra) copy into a regular one under a new gen. */
static void test_claim_makes_a_regular_copy_with_a_new_gen(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(open_store(f, 0), PP_OK);
	uint8_t data[1500];
	char id[65], marker[256];
	make_chunk(data, sizeof(data), 17, id);
	struct store_copy put, claimed, now;
	assert_int_equal(store_claim(f->s, id, &claimed), PP_ENOTFOUND);
	assert_int_equal(store_put(f->s, id, data, sizeof(data), true, &put), PP_OK);
	assert_true(put.extra);
	snprintf(marker, sizeof(marker), "%s/extra/%s", f->dir, id);
	struct stat st;
	assert_int_equal(stat(marker, &st), 0);
	assert_int_equal(store_claim(f->s, id, &claimed), PP_OK);
	assert_false(claimed.extra);
	assert_true(claimed.gen > put.gen);
	assert_int_not_equal(stat(marker, &st), 0);
	assert_int_equal(store_stat(f->s, id, &now), PP_OK);
	assert_false(now.extra);
	assert_int_equal(now.gen, claimed.gen);
	assert_int_equal(store_delete(f->s, id, put.gen), PP_ECONFLICT);
	assert_true(store_has(f->s, id));
}

/* Gens keep increasing across restarts, and a listing's snapshot_seq is
 * below every gen given out after it. */
static void test_gens_increase_across_restarts_and_listings(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(open_store(f, 0), PP_OK);
	uint8_t a[800], b[900];
	char ia[65], ib[65];
	make_chunk(a, sizeof(a), 19, ia);
	make_chunk(b, sizeof(b), 20, ib);
	struct store_copy ca, cb, again;
	assert_int_equal(store_put(f->s, ia, a, sizeof(a), false, &ca), PP_OK);
	struct store_ref *refs;
	size_t n;
	uint64_t seq = 0;
	assert_int_equal(store_list(f->s, &refs, &n, &seq), PP_OK);
	assert_int_equal(n, 1);
	assert_int_equal(refs[0].gen, ca.gen);
	assert_true(seq >= ca.gen);
	free(refs);
	assert_int_equal(store_put(f->s, ib, b, sizeof(b), false, &cb), PP_OK);
	assert_true(cb.gen > seq);
	store_close(f->s);
	f->s = NULL;
	assert_int_equal(open_store(f, 0), PP_OK);
	assert_int_equal(store_stat(f->s, ia, &again), PP_OK);
	assert_true(again.gen > cb.gen);
	/* A delete decided before the restart names a gen no copy has now. */
	assert_int_equal(store_delete(f->s, ia, ca.gen), PP_ECONFLICT);
	assert_true(store_has(f->s, ia));
	assert_int_equal(store_put(f->s, ia, a, sizeof(a), false, &ca), PP_OK);
	assert_true(ca.gen > again.gen);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_put_then_read_returns_same_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sizes_round_trip_with_and_without_direct_io, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unverified_read_and_verify_on_report, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_staged_write_exists_only_once_finished, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_bad_ids_rejected_before_any_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_put_with_wrong_hash_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_file_is_quarantined_on_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_capacity_refuses_with_no_space, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_cleans_tmp_and_reindexes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_data_dir_that_is_a_file_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_extra_copies_are_evicted_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_of_an_older_copy_keeps_the_newer_one, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_claim_makes_a_regular_copy_with_a_new_gen, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_gens_increase_across_restarts_and_listings, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
