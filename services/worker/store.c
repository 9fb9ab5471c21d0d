/* The chunk store: durable one-file-per-chunk storage with verified reads;
 * see store.h for the on-disk layout.
 *
 * Invariants: a chunk id is validated with chunk_id_valid() before any path
 * is built from it; `lock` guards the index, `reserved_bytes` and
 * `disk_full`; file I/O happens outside the lock, and space for a write is
 * reserved under the lock first so concurrent puts never overshoot capacity. */
#define _GNU_SOURCE
#include "store.h"
#include "chunk_index.h"
#include "errors.h"
#include "frame.h"
#include "hash.h"
#include "log.h"
#include "timeutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#define STORE_PATH_MAX 4096

struct store {
	struct store_config cfg;
	char *dir;                /* owned copy of cfg.data_dir */
	pthread_mutex_t lock;     /* guards index, reserved_bytes, disk_full */
	struct chunk_index index;
	uint64_t reserved_bytes;  /* space promised to writes in progress */
	bool disk_full;
	atomic_ulong tmp_seq;     /* unique temp names */
};

/* ---- paths ----------------------------------------------------------- */

static int path_fmt(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int path_fmt(char *buf, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, STORE_PATH_MAX, fmt, ap);
	va_end(ap);
	return (n < 0 || n >= STORE_PATH_MAX) ? PP_EINVAL : PP_OK;
}

/* Only ever called with a validated id. */
static int chunk_path(const struct store *s, const char *id, char *buf)
{
	return path_fmt(buf, "%s/chunks/%.2s/%.2s/%s", s->dir, id, id + 2, id);
}

static int fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rv = fsync(fd);
	close(fd);
	return rv;
}

/* mkdir that is fine with an existing directory; makes a new one durable. */
static int ensure_dir(const char *path, const char *parent)
{
	if (mkdir(path, 0755) == 0) {
		if (parent)
			fsync_dir(parent);
		return 0;
	}
	struct stat st;
	if (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	if (errno == EEXIST)
		errno = ENOTDIR;
	return -1;
}

/* ---- index helpers (lock held) ---------------------------------------- */

static void extra_marker_path(const struct store *s, const char *id, char *buf)
{
	path_fmt(buf, "%s/extra/%s", s->dir, id);
}

/* Picks the least recently read extra copy other than `keep`. */
static struct chunk_entry *lru_extra(struct store *s, const uint8_t *keep)
{
	struct chunk_entry *best = NULL;
	for (size_t i = 0; i < s->index.cap; i++) {
		struct chunk_entry *e = &s->index.slots[i];
		if (!e->used || !e->extra || (keep && memcmp(e->id, keep, CHUNK_ID_BYTES) == 0))
			continue;
		if (best == NULL || e->last_access_ms < best->last_access_ms)
			best = e;
	}
	return best;
}

/* Removes the chunk's files (not the index entry: the caller did that). */
static void remove_files(struct store *s, const char *id)
{
	char path[STORE_PATH_MAX];
	if (chunk_path(s, id, path) == PP_OK)
		unlink(path);
	extra_marker_path(s, id, path);
	unlink(path);
}

/* Evicts extra copies until `need` more bytes fit under `limit` (or, with
 * limit 0, until `need` bytes were freed). Evicted ids go to *victims
 * (malloc'd hex ids) for the caller to delete outside the lock. */
static bool evict_for(struct store *s, const uint8_t *keep, uint64_t need, uint64_t limit,
		      char (**victims)[65], size_t *nvictims)
{
	uint64_t freed = 0;
	for (;;) {
		uint64_t used = s->index.bytes + s->reserved_bytes;
		if (limit ? used + need <= limit : freed >= need)
			return true;
		struct chunk_entry *e = lru_extra(s, keep);
		if (e == NULL)
			return false;
		char (*grown)[65] = realloc(*victims, (*nvictims + 1) * sizeof(**victims));
		if (grown == NULL)
			return false;
		*victims = grown;
		chunk_id_to_hex(e->id, grown[*nvictims]);
		(*nvictims)++;
		freed += e->size;
		uint8_t id[CHUNK_ID_BYTES];
		memcpy(id, e->id, sizeof(id));
		chunk_index_remove(&s->index, id, NULL);
	}
}

static void finish_evictions(struct store *s, char (*victims)[65], size_t n)
{
	for (size_t i = 0; i < n; i++) {
		remove_files(s, victims[i]);
		log_info("chunk_evicted", "chunk=%s reason=space", victims[i]);
		if (s->cfg.on_evict)
			s->cfg.on_evict(s->cfg.cb_arg, victims[i]);
	}
	free(victims);
}

/* ---- open: layout, probe, scan ---------------------------------------- */

static int check_layout(struct store *s, char *err, size_t err_len)
{
	static const char *const subdirs[] = {"chunks", "tmp", "quarantine", "extra"};
	char path[STORE_PATH_MAX];
	if (ensure_dir(s->dir, NULL) != 0) {
		snprintf(err, err_len, "data dir %s is not usable: %s", s->dir, strerror(errno));
		return PP_EINVAL;
	}
	for (size_t i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
		if (path_fmt(path, "%s/%s", s->dir, subdirs[i]) != PP_OK ||
		    ensure_dir(path, s->dir) != 0) {
			snprintf(err, err_len, "data dir %s is not usable: cannot create %s: %s",
				 s->dir, subdirs[i], strerror(errno));
			return PP_EINVAL;
		}
	}
	/* Writable? Prove it with a real file rather than access(2). */
	path_fmt(path, "%s/tmp/.probe", s->dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, "ok", 2) != 2) {
		snprintf(err, err_len, "data dir %s is not writable: %s", s->dir, strerror(errno));
		if (fd >= 0)
			close(fd);
		return PP_EINVAL;
	}
	close(fd);
	unlink(path);
	return PP_OK;
}

/* Leftovers of writes interrupted by a crash: never a visible chunk. */
static void clean_tmp(struct store *s)
{
	char path[STORE_PATH_MAX];
	path_fmt(path, "%s/tmp", s->dir);
	DIR *d = opendir(path);
	if (d == NULL)
		return;
	int removed = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' && (de->d_name[1] == '\0' || strcmp(de->d_name, "..") == 0))
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0)
			removed++;
	}
	closedir(d);
	if (removed)
		log_info("tmp_cleaned", "files=%d", removed);
}

static bool is_hex2(const char *name)
{
	return strlen(name) == 2 &&
	       ((name[0] >= '0' && name[0] <= '9') || (name[0] >= 'a' && name[0] <= 'f')) &&
	       ((name[1] >= '0' && name[1] <= '9') || (name[1] >= 'a' && name[1] <= 'f'));
}

static void scan_leaf(struct store *s, const char *ab, const char *cd)
{
	char path[STORE_PATH_MAX];
	path_fmt(path, "%s/chunks/%s/%s", s->dir, ab, cd);
	DIR *d = opendir(path);
	if (d == NULL)
		return;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		const char *id = de->d_name;
		if (id[0] == '.')
			continue;
		struct stat st;
		if (!chunk_id_valid(id) || strncmp(id, ab, 2) != 0 || strncmp(id + 2, cd, 2) != 0 ||
		    fstatat(dirfd(d), id, &st, 0) != 0 || !S_ISREG(st.st_mode) ||
		    st.st_size > (off_t)PP_CHUNK_SIZE_MAX) {
			log_warn("store_stray_file", "dir=%s file=\"%s\"", path, id);
			continue;
		}
		uint8_t bin[CHUNK_ID_BYTES];
		bool created;
		chunk_id_to_bin(id, bin);
		chunk_index_insert(&s->index, bin, (uint32_t)st.st_size, NULL, &created);
	}
	closedir(d);
}

static void scan_chunks(struct store *s)
{
	char path[STORE_PATH_MAX];
	path_fmt(path, "%s/chunks", s->dir);
	DIR *top = opendir(path);
	if (top == NULL)
		return;
	struct dirent *a;
	while ((a = readdir(top)) != NULL) {
		if (!is_hex2(a->d_name))
			continue;
		char sub[STORE_PATH_MAX];
		path_fmt(sub, "%s/%s", path, a->d_name);
		DIR *mid = opendir(sub);
		if (mid == NULL)
			continue;
		struct dirent *b;
		while ((b = readdir(mid)) != NULL)
			if (is_hex2(b->d_name))
				scan_leaf(s, a->d_name, b->d_name);
		closedir(mid);
	}
	closedir(top);
}

/* Extra markers whose chunk is gone are stale; the rest flag their entry. */
static void scan_extra(struct store *s)
{
	char path[STORE_PATH_MAX];
	path_fmt(path, "%s/extra", s->dir);
	DIR *d = opendir(path);
	if (d == NULL)
		return;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		struct chunk_entry *e = NULL;
		if (chunk_id_valid(de->d_name)) {
			uint8_t bin[CHUNK_ID_BYTES];
			chunk_id_to_bin(de->d_name, bin);
			e = chunk_index_find(&s->index, bin);
		}
		if (e)
			e->extra = true;
		else
			unlinkat(dirfd(d), de->d_name, 0);
	}
	closedir(d);
}

int store_open(const struct store_config *cfg, struct store **out, char *err, size_t err_len)
{
	if (cfg->data_dir == NULL || cfg->data_dir[0] == '\0') {
		snprintf(err, err_len, "no data dir given");
		return PP_EINVAL;
	}
	struct store *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		snprintf(err, err_len, "out of memory");
		return PP_EINTERNAL;
	}
	s->cfg = *cfg;
	s->dir = strdup(cfg->data_dir);
	size_t n = strlen(s->dir);
	while (n > 1 && s->dir[n - 1] == '/')
		s->dir[--n] = '\0';
	pthread_mutex_init(&s->lock, NULL);
	int rc = chunk_index_init(&s->index);
	if (rc != PP_OK) {
		snprintf(err, err_len, "out of memory");
		goto fail;
	}
	rc = check_layout(s, err, err_len);
	if (rc != PP_OK)
		goto fail;
	clean_tmp(s);
	scan_chunks(s);
	scan_extra(s);
	log_info("store_opened", "dir=%s chunks=%zu used=%llu capacity=%llu", s->dir,
		 s->index.count, (unsigned long long)s->index.bytes,
		 (unsigned long long)cfg->capacity_bytes);
	*out = s;
	return PP_OK;
fail:
	store_close(s);
	return rc;
}

void store_close(struct store *s)
{
	if (s == NULL)
		return;
	chunk_index_free(&s->index);
	pthread_mutex_destroy(&s->lock);
	free(s->dir);
	free(s);
}

/* ---- write ------------------------------------------------------------ */

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* temp file -> fsync -> rename -> fsync dir. Returns 0 or an errno. */
static int write_durable(struct store *s, const char *id, const void *data, size_t len)
{
	char tmp[STORE_PATH_MAX], dst[STORE_PATH_MAX], dir_ab[STORE_PATH_MAX],
		dir_cd[STORE_PATH_MAX], chunks[STORE_PATH_MAX];
	unsigned long seq = atomic_fetch_add(&s->tmp_seq, 1);
	path_fmt(tmp, "%s/tmp/%s.%ld.%lu", s->dir, id, (long)getpid(), seq);
	path_fmt(chunks, "%s/chunks", s->dir);
	path_fmt(dir_ab, "%s/%.2s", chunks, id);
	path_fmt(dir_cd, "%s/%.2s", dir_ab, id + 2);
	chunk_path(s, id, dst);
	int err = 0;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return errno;
	if (write_all(fd, data, len) != 0 || fsync(fd) != 0)
		err = errno;
	if (close(fd) != 0 && err == 0)
		err = errno;
	if (err == 0 && (ensure_dir(dir_ab, chunks) != 0 || ensure_dir(dir_cd, dir_ab) != 0))
		err = errno;
	if (err == 0 && rename(tmp, dst) != 0)
		err = errno;
	if (err == 0 && fsync_dir(dir_cd) != 0)
		err = errno;
	if (err != 0)
		unlink(tmp);
	return err;
}

static void set_extra_marker(struct store *s, const char *id, bool extra)
{
	char path[STORE_PATH_MAX];
	extra_marker_path(s, id, path);
	if (!extra) {
		unlink(path);
		return;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0)
		close(fd);
}

/* Reserves len bytes (evicting extras when over capacity). Lock held. */
static int reserve(struct store *s, const uint8_t *bin, size_t len, char (**victims)[65],
		   size_t *nvictims)
{
	uint64_t cap = s->cfg.capacity_bytes;
	if (cap && !evict_for(s, bin, len, cap, victims, nvictims)) {
		s->disk_full = true;
		return PP_ENOSPACE;
	}
	s->reserved_bytes += len;
	return PP_OK;
}

int store_put(struct store *s, const char *id, const void *data, size_t len, bool extra)
{
	if (!chunk_id_valid(id))
		return PP_EINVAL;
	if (len > PP_CHUNK_SIZE_MAX)
		return PP_ETOOLARGE;
	char hex[PP_SHA256_HEX];
	if (sha256_hex(data, len, hex) != PP_OK)
		return PP_EINTERNAL;
	if (strcmp(hex, id) != 0) {
		log_warn("chunk_refused", "chunk=%s reason=hash_mismatch actual=%s", id, hex);
		return PP_EINTEGRITY;
	}
	uint8_t bin[CHUNK_ID_BYTES];
	chunk_id_to_bin(id, bin);
	char(*victims)[65] = NULL;
	size_t nvictims = 0;
	int rc = PP_OK;

	pthread_mutex_lock(&s->lock);
	struct chunk_entry *held = chunk_index_find(&s->index, bin);
	bool rewrite = held != NULL;
	if (!rewrite)
		rc = reserve(s, bin, len, &victims, &nvictims);
	pthread_mutex_unlock(&s->lock);
	finish_evictions(s, victims, nvictims);
	victims = NULL;
	nvictims = 0;
	if (rc != PP_OK) {
		log_warn("chunk_refused", "chunk=%s reason=capacity size=%zu", id, len);
		return rc;
	}

	if (extra && !rewrite)
		set_extra_marker(s, id, true);
	int err = write_durable(s, id, data, len);
	if (err == ENOSPC || err == EDQUOT) {
		/* The disk is fuller than our accounting: make room from extra
		 * copies once and retry before refusing. */
		pthread_mutex_lock(&s->lock);
		bool freed = evict_for(s, bin, len, 0, &victims, &nvictims);
		pthread_mutex_unlock(&s->lock);
		finish_evictions(s, victims, nvictims);
		if (freed && nvictims > 0)
			err = write_durable(s, id, data, len);
	}

	pthread_mutex_lock(&s->lock);
	if (!rewrite)
		s->reserved_bytes -= len;
	if (err == 0) {
		struct chunk_entry *e;
		bool created;
		rc = chunk_index_insert(&s->index, bin, (uint32_t)len, &e, &created);
		if (rc == PP_OK) {
			if (created)
				e->extra = extra;
			else if (!extra && e->extra) {
				e->extra = false;
				set_extra_marker(s, id, false);
			}
			e->last_access_ms = time_mono_ms();
		}
		s->disk_full = false;
	} else {
		rc = (err == ENOSPC || err == EDQUOT) ? PP_ENOSPACE : PP_EINTERNAL;
		if (rc == PP_ENOSPACE)
			s->disk_full = true;
	}
	pthread_mutex_unlock(&s->lock);

	if (err != 0) {
		if (extra && !rewrite)
			set_extra_marker(s, id, false);
		log_error("chunk_write_failed", "op=store_put chunk=%s err=\"%s\"", id, strerror(err));
		return rc;
	}
	log_debug("chunk_stored", "chunk=%s size=%zu extra=%d", id, len, (int)extra);
	return rc;
}

/* ---- read, delete, stats ---------------------------------------------- */

int store_size(struct store *s, const char *id, uint32_t *size)
{
	if (!chunk_id_valid(id))
		return PP_EINVAL;
	uint8_t bin[CHUNK_ID_BYTES];
	chunk_id_to_bin(id, bin);
	pthread_mutex_lock(&s->lock);
	struct chunk_entry *e = chunk_index_find(&s->index, bin);
	if (e)
		*size = e->size;
	pthread_mutex_unlock(&s->lock);
	return e ? PP_OK : PP_ENOTFOUND;
}

bool store_has(struct store *s, const char *id)
{
	uint32_t size;
	return store_size(s, id, &size) == PP_OK;
}

/* Moves a bad copy aside and forgets it; reports it once. */
static void quarantine(struct store *s, const char *id, const char *why)
{
	uint8_t bin[CHUNK_ID_BYTES];
	chunk_id_to_bin(id, bin);
	pthread_mutex_lock(&s->lock);
	bool was_held = chunk_index_remove(&s->index, bin, NULL);
	pthread_mutex_unlock(&s->lock);
	char src[STORE_PATH_MAX], dst[STORE_PATH_MAX], marker[STORE_PATH_MAX];
	chunk_path(s, id, src);
	path_fmt(dst, "%s/quarantine/%s", s->dir, id);
	if (rename(src, dst) != 0 && errno != ENOENT)
		unlink(src);
	extra_marker_path(s, id, marker);
	unlink(marker);
	if (!was_held)
		return;
	log_warn("chunk_quarantined", "chunk=%s reason=%s", id, why);
	if (s->cfg.on_corrupt)
		s->cfg.on_corrupt(s->cfg.cb_arg, id);
}

static int read_all(int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

int store_read(struct store *s, const char *id, uint8_t *buf, size_t cap, size_t *len, bool touch)
{
	uint32_t size;
	int rc = store_size(s, id, &size);
	if (rc != PP_OK)
		return rc;
	if (size > cap)
		return PP_ETOOLARGE;
	char path[STORE_PATH_MAX];
	chunk_path(s, id, path);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT)
			return PP_EINTERNAL;
		/* Deleted behind our back (or by a concurrent delete): forget it. */
		uint8_t bin[CHUNK_ID_BYTES];
		chunk_id_to_bin(id, bin);
		pthread_mutex_lock(&s->lock);
		chunk_index_remove(&s->index, bin, NULL);
		pthread_mutex_unlock(&s->lock);
		return PP_ENOTFOUND;
	}
	struct stat st;
	const char *why = NULL;
	if (fstat(fd, &st) != 0 || read_all(fd, buf, size) != 0)
		why = "short_read";
	else if ((uint64_t)st.st_size != size)
		why = "size_changed";
	close(fd);
	char hex[PP_SHA256_HEX];
	if (why == NULL) {
		if (sha256_hex(buf, size, hex) != PP_OK)
			return PP_EINTERNAL;
		if (strcmp(hex, id) != 0)
			why = "hash_mismatch";
	}
	if (why != NULL) {
		quarantine(s, id, why);
		return PP_EINTEGRITY;
	}
	if (touch) {
		uint8_t bin[CHUNK_ID_BYTES];
		chunk_id_to_bin(id, bin);
		pthread_mutex_lock(&s->lock);
		struct chunk_entry *e = chunk_index_find(&s->index, bin);
		if (e)
			e->last_access_ms = time_mono_ms();
		pthread_mutex_unlock(&s->lock);
	}
	*len = size;
	return PP_OK;
}

int store_delete(struct store *s, const char *id)
{
	if (!chunk_id_valid(id))
		return PP_EINVAL;
	uint8_t bin[CHUNK_ID_BYTES];
	chunk_id_to_bin(id, bin);
	pthread_mutex_lock(&s->lock);
	bool held = chunk_index_remove(&s->index, bin, NULL);
	if (held)
		s->disk_full = false;
	pthread_mutex_unlock(&s->lock);
	if (!held)
		return PP_ENOTFOUND;
	remove_files(s, id);
	return PP_OK;
}

void store_get_stats(struct store *s, struct store_stats *out)
{
	pthread_mutex_lock(&s->lock);
	out->chunks = s->index.count;
	out->used_bytes = s->index.bytes;
	out->disk_full = s->disk_full;
	pthread_mutex_unlock(&s->lock);
	out->capacity_bytes = s->cfg.capacity_bytes;
	if (out->capacity_bytes == 0) {
		struct statvfs vfs;
		if (statvfs(s->dir, &vfs) == 0)
			out->capacity_bytes = out->used_bytes + (uint64_t)vfs.f_bavail * vfs.f_frsize;
	} else if (out->used_bytes >= out->capacity_bytes) {
		out->disk_full = true;
	}
}

int store_list(struct store *s, struct store_ref **refs, size_t *n)
{
	pthread_mutex_lock(&s->lock);
	size_t count = s->index.count;
	struct store_ref *r = malloc((count ? count : 1) * sizeof(*r));
	if (r == NULL) {
		pthread_mutex_unlock(&s->lock);
		return PP_EINTERNAL;
	}
	size_t k = 0;
	for (size_t i = 0; i < s->index.cap && k < count; i++) {
		const struct chunk_entry *e = &s->index.slots[i];
		if (!e->used)
			continue;
		chunk_id_to_hex(e->id, r[k].id);
		r[k].size = e->size;
		k++;
	}
	pthread_mutex_unlock(&s->lock);
	*refs = r;
	*n = k;
	return PP_OK;
}
