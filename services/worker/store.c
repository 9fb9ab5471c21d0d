/* The chunk store: durable one-file-per-chunk storage with verified reads;
 * see store.h for the on-disk layout and copy generations.
 *
 * Invariants: a chunk id is validated with chunk_id_valid() before any path
 * is built from it. `lock` guards the index, the gens, `reserved_bytes` and
 * `disk_full`, and every change of a chunk's visible file (the rename that
 * publishes a write, the unlink of a delete or eviction, the move to
 * quarantine) happens under it together with the index change, so a file
 * and its index entry always describe the same copy. Writing and fsyncing
 * the bytes happens outside the lock; space is reserved under it first so
 * concurrent puts never overshoot capacity. */
#define _GNU_SOURCE
#include "store_impl.h"
#include "errors.h"
#include "frame.h"
#include "fsutil.h"
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

/* ---- paths ----------------------------------------------------------- */

int store_path_fmt(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int store_path_fmt(char *buf, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, STORE_PATH_MAX, fmt, ap);
	va_end(ap);
	return (n < 0 || n >= STORE_PATH_MAX) ? PP_EINVAL : PP_OK;
}

/* Only ever called with a validated id. */
int store_chunk_path(const struct store *s, const char *id, char *buf)
{
	return store_path_fmt(buf, "%s/chunks/%.2s/%.2s/%s", s->dir, id, id + 2, id);
}

/* mkdir that is fine with an existing directory; makes a new one durable. */
static int ensure_dir(const char *path, const char *parent)
{
	if (mkdir(path, 0755) == 0) {
		if (parent)
			fs_fsync_dir(parent);
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
	store_path_fmt(buf, "%s/extra/%s", s->dir, id);
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

/* Removes the chunk's files (not the index entry: the caller did that, under
 * the same hold of the lock). */
static void remove_files(struct store *s, const char *id)
{
	char path[STORE_PATH_MAX];
	if (store_chunk_path(s, id, path) == PP_OK)
		unlink(path);
	extra_marker_path(s, id, path);
	unlink(path);
}

/* Evicts extra copies until `need` more bytes fit under `limit` (or, with
 * limit 0, until `need` bytes were freed). Evicted ids go to *victims
 * (malloc'd hex ids) for the caller to report outside the lock. */
bool store_evict_for(struct store *s, const uint8_t *keep, uint64_t need, uint64_t limit,
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
		remove_files(s, grown[*nvictims - 1]);
	}
}

/* Outside the lock: the files are gone already; log and tell the owner. */
void store_finish_evictions(struct store *s, char (*victims)[65], size_t n)
{
	for (size_t i = 0; i < n; i++) {
		log_info("chunk_evicted", "chunk=%s reason=space", victims[i]);
		if (s->cfg.on_evict)
			s->cfg.on_evict(s->cfg.cb_arg, victims[i]);
	}
	free(victims);
}

/* ---- open: layout, probe, scan ---------------------------------------- */

bool store_probe_direct_io(struct store *s);

static int check_layout(struct store *s, char *err, size_t err_len)
{
	static const char *const subdirs[] = {"chunks", "tmp", "quarantine", "extra"};
	char path[STORE_PATH_MAX];
	if (ensure_dir(s->dir, NULL) != 0) {
		snprintf(err, err_len, "data dir %s is not usable: %s", s->dir, strerror(errno));
		return PP_EINVAL;
	}
	for (size_t i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
		if (store_path_fmt(path, "%s/%s", s->dir, subdirs[i]) != PP_OK ||
		    ensure_dir(path, s->dir) != 0) {
			snprintf(err, err_len, "data dir %s is not usable: cannot create %s: %s",
				 s->dir, subdirs[i], strerror(errno));
			return PP_EINVAL;
		}
	}
	/* Writable? Prove it with a real file rather than access(2). */
	store_path_fmt(path, "%s/tmp/.probe", s->dir);
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
	store_path_fmt(path, "%s/tmp", s->dir);
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
	store_path_fmt(path, "%s/chunks/%s/%s", s->dir, ab, cd);
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
			log_warn("store_stray_file", "dir=%s file=%s", log_q(path), log_q(id));
			continue;
		}
		uint8_t bin[CHUNK_ID_BYTES];
		bool created;
		chunk_id_to_bin(id, bin);
		struct chunk_entry *e;
		if (chunk_index_insert(&s->index, bin, (uint32_t)st.st_size, &e, &created) == PP_OK)
			e->gen = ++s->last_gen;
	}
	closedir(d);
}

static void scan_chunks(struct store *s)
{
	char path[STORE_PATH_MAX];
	store_path_fmt(path, "%s/chunks", s->dir);
	DIR *top = opendir(path);
	if (top == NULL)
		return;
	struct dirent *a;
	while ((a = readdir(top)) != NULL) {
		if (!is_hex2(a->d_name))
			continue;
		char sub[STORE_PATH_MAX];
		store_path_fmt(sub, "%s/%s", path, a->d_name);
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
	store_path_fmt(path, "%s/extra", s->dir);
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

/* Gens continue above every gen of an earlier run: the epoch (high 32 bits)
 * is max(stored + 1, unix seconds now), written durably before any gen of
 * this run is given out, so even a wiped data dir starts above the old one. */
static int epoch_bump(struct store *s, char *err, size_t err_len)
{
	char path[STORE_PATH_MAX], tmp[STORE_PATH_MAX];
	store_path_fmt(path, "%s/epoch", s->dir);
	store_path_fmt(tmp, "%s/tmp/epoch", s->dir);
	uint64_t stored = 0;
	if (fs_read_u64(path, &stored) < 0) {
		snprintf(err, err_len, "data dir %s: cannot read %s: %s", s->dir, path, strerror(errno));
		return PP_EINVAL;
	}
	uint64_t epoch = stored + 1;
	uint64_t now_s = (uint64_t)(time_wall_ms() / 1000);
	if (now_s > epoch)
		epoch = now_s;
	if (epoch > UINT32_MAX) {
		snprintf(err, err_len, "data dir %s: epoch file says %llu, beyond 2^32", s->dir,
			 (unsigned long long)stored);
		return PP_EINVAL;
	}
	char text[32];
	snprintf(text, sizeof(text), "%llu\n", (unsigned long long)epoch);
	if (fs_replace_small(path, tmp, text) != 0) {
		snprintf(err, err_len, "data dir %s: cannot write %s: %s", s->dir, path, strerror(errno));
		return PP_EINVAL;
	}
	s->last_gen = epoch << 32;
	return PP_OK;
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
	if (rc == PP_OK)
		rc = epoch_bump(s, err, err_len);
	if (rc != PP_OK)
		goto fail;
	clean_tmp(s);
	s->direct_io = store_probe_direct_io(s);
	scan_chunks(s);
	scan_extra(s);
	log_info("store_opened", "dir=%s chunks=%zu used=%llu capacity=%llu epoch=%llu direct_io=%d",
		 log_q(s->dir), s->index.count, (unsigned long long)s->index.bytes,
		 (unsigned long long)cfg->capacity_bytes, (unsigned long long)(s->last_gen >> 32),
		 (int)s->direct_io);
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

void store_set_extra_marker(struct store *s, const char *id, bool extra)
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

int store_claim(struct store *s, const char *id, struct store_copy *out)
{
	if (!chunk_id_valid(id))
		return PP_EINVAL;
	uint8_t bin[CHUNK_ID_BYTES];
	chunk_id_to_bin(id, bin);
	pthread_mutex_lock(&s->lock);
	struct chunk_entry *e = chunk_index_find(&s->index, bin);
	if (e != NULL) {
		e->gen = ++s->last_gen;
		if (e->extra) {
			e->extra = false;
			store_set_extra_marker(s, id, false);
		}
		*out = (struct store_copy){e->size, e->gen, false};
	}
	pthread_mutex_unlock(&s->lock);
	if (e == NULL)
		return PP_ENOTFOUND;
	log_debug("chunk_claimed", "chunk=%s gen=%llu", id, (unsigned long long)out->gen);
	return PP_OK;
}

/* ---- read, delete, stats ---------------------------------------------- */

int store_stat(struct store *s, const char *id, struct store_copy *out)
{
	if (!chunk_id_valid(id))
		return PP_EINVAL;
	uint8_t bin[CHUNK_ID_BYTES];
	chunk_id_to_bin(id, bin);
	pthread_mutex_lock(&s->lock);
	struct chunk_entry *e = chunk_index_find(&s->index, bin);
	if (e)
		*out = (struct store_copy){e->size, e->gen, e->extra};
	pthread_mutex_unlock(&s->lock);
	return e ? PP_OK : PP_ENOTFOUND;
}

int store_size(struct store *s, const char *id, uint32_t *size)
{
	struct store_copy c;
	int rc = store_stat(s, id, &c);
	if (rc == PP_OK)
		*size = c.size;
	return rc;
}

bool store_has(struct store *s, const char *id)
{
	uint32_t size;
	return store_size(s, id, &size) == PP_OK;
}

/* Lock held: forgets copy `gen` of the chunk and removes its files; false
 * when the store holds no copy or another one (written since). */
static bool forget_copy_locked(struct store *s, const char *id, uint64_t gen)
{
	uint8_t bin[CHUNK_ID_BYTES];
	chunk_id_to_bin(id, bin);
	struct chunk_entry *e = chunk_index_find(&s->index, bin);
	if (e == NULL || e->gen != gen)
		return false;
	chunk_index_remove(&s->index, bin, NULL);
	return true;
}

/* Moves bad copy `gen` aside and forgets it; reports it once. A copy
 * written since the bad read is left alone. */
static void quarantine(struct store *s, const char *id, uint64_t gen, const char *why)
{
	char src[STORE_PATH_MAX], dst[STORE_PATH_MAX], marker[STORE_PATH_MAX];
	store_chunk_path(s, id, src);
	store_path_fmt(dst, "%s/quarantine/%s", s->dir, id);
	extra_marker_path(s, id, marker);
	pthread_mutex_lock(&s->lock);
	bool ours = forget_copy_locked(s, id, gen);
	if (ours) {
		if (rename(src, dst) != 0 && errno != ENOENT)
			unlink(src);
		unlink(marker);
	}
	pthread_mutex_unlock(&s->lock);
	if (!ours)
		return;
	log_warn("chunk_quarantined", "chunk=%s reason=%s", id, log_q(why));
	if (s->cfg.on_corrupt)
		s->cfg.on_corrupt(s->cfg.cb_arg, id, gen);
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

/* Opens the file of copy c; PP_ENOTFOUND (and the copy forgotten) when it
 * vanished behind our back. */
static int open_copy(struct store *s, const char *id, const struct store_copy *c, int *fd)
{
	char path[STORE_PATH_MAX];
	store_chunk_path(s, id, path);
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd >= 0)
		return PP_OK;
	if (errno != ENOENT)
		return PP_EINTERNAL;
	/* Removed behind our back (by hand, say): forget that copy. */
	pthread_mutex_lock(&s->lock);
	bool gone = forget_copy_locked(s, id, c->gen);
	pthread_mutex_unlock(&s->lock);
	if (gone)
		log_warn("chunk_missing", "chunk=%s reason=\"file vanished\"", id);
	return PP_ENOTFOUND;
}

static void touch_copy(struct store *s, const char *id)
{
	uint8_t bin[CHUNK_ID_BYTES];
	chunk_id_to_bin(id, bin);
	pthread_mutex_lock(&s->lock);
	struct chunk_entry *e = chunk_index_find(&s->index, bin);
	if (e)
		e->last_access_ms = time_mono_ms();
	pthread_mutex_unlock(&s->lock);
}

/* Reads copy `c` whole into buf; with verify, hashes it too. A short read,
 * a changed size or (verify) a hash mismatch quarantines the copy. */
static int read_copy(struct store *s, const char *id, uint8_t *buf, size_t cap, size_t *len,
		     bool verify, bool touch)
{
	struct store_copy c;
	int rc = store_stat(s, id, &c);
	if (rc != PP_OK)
		return rc;
	if (c.size > cap)
		return PP_ETOOLARGE;
	int fd;
	rc = open_copy(s, id, &c, &fd);
	if (rc != PP_OK)
		return rc;
	struct stat st;
	const char *why = NULL;
	if (fstat(fd, &st) != 0 || read_all(fd, buf, c.size) != 0)
		why = "short_read";
	else if ((uint64_t)st.st_size != c.size)
		why = "size_changed";
	close(fd);
	char hex[PP_SHA256_HEX];
	if (why == NULL && verify) {
		if (sha256_hex(buf, c.size, hex) != PP_OK)
			return PP_EINTERNAL;
		if (strcmp(hex, id) != 0)
			why = "hash_mismatch";
	}
	if (why != NULL) {
		quarantine(s, id, c.gen, why);
		return PP_EINTEGRITY;
	}
	if (touch)
		touch_copy(s, id);
	*len = c.size;
	return PP_OK;
}

int store_read(struct store *s, const char *id, uint8_t *buf, size_t cap, size_t *len, bool touch)
{
	return read_copy(s, id, buf, cap, len, true, touch);
}

int store_read_unverified(struct store *s, const char *id, uint8_t *buf, size_t cap, size_t *len)
{
	return read_copy(s, id, buf, cap, len, false, true);
}

int store_verify(struct store *s, const char *id)
{
	int rc = PP_ETOOLARGE;
	/* A copy rewritten larger between the stat and the read is read again. */
	for (int attempt = 0; attempt < 3 && rc == PP_ETOOLARGE; attempt++) {
		struct store_copy c;
		rc = store_stat(s, id, &c);
		if (rc != PP_OK)
			return rc;
		uint8_t *buf = malloc(c.size ? c.size : 1);
		if (buf == NULL)
			return PP_EINTERNAL;
		size_t len;
		rc = read_copy(s, id, buf, c.size, &len, true, false);
		free(buf);
	}
	return rc;
}

int store_delete(struct store *s, const char *id, uint64_t gen)
{
	if (!chunk_id_valid(id))
		return PP_EINVAL;
	uint8_t bin[CHUNK_ID_BYTES];
	chunk_id_to_bin(id, bin);
	int rc = PP_OK;
	pthread_mutex_lock(&s->lock);
	struct chunk_entry *e = chunk_index_find(&s->index, bin);
	if (e == NULL) {
		rc = PP_ENOTFOUND;
	} else if (e->gen != gen) {
		rc = PP_ECONFLICT;
	} else {
		chunk_index_remove(&s->index, bin, NULL);
		remove_files(s, id);
		s->disk_full = false;
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
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

int store_list(struct store *s, struct store_ref **refs, size_t *n, uint64_t *snapshot_seq)
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
		r[k].gen = e->gen;
		r[k].extra = e->extra;
		k++;
	}
	/* Writes in progress publish later with the gen they hold now. */
	uint64_t seq = s->last_gen;
	for (const struct pending_write *p = s->pending; p; p = p->next)
		if (p->gen - 1 < seq)
			seq = p->gen - 1;
	pthread_mutex_unlock(&s->lock);
	*refs = r;
	*n = k;
	if (snapshot_seq)
		*snapshot_seq = seq;
	return PP_OK;
}
