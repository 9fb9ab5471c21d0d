/* The store's write path (see store.h): temp file written (with O_DIRECT
 * where the file system takes it), fsynced, renamed into place under the
 * lock together with the index change, its directory fsynced; staged in two
 * steps when the fsync can wait, and in batches with two syncfs calls.
 * Space is reserved under the lock first so concurrent puts never
 * overshoot capacity; gens of writes in progress stay pending until they
 * are published (store_list's snapshot_seq). */
#define _GNU_SOURCE
#include "store_impl.h"
#include "errors.h"
#include "frame.h"
#include "fsutil.h"
#include "hash.h"
#include "log.h"
#include "timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* Writes len bytes to fd (opened with O_DIRECT) through an aligned bounce
 * buffer: the bytes go from it to the device without a page-cache copy
 * (on the VMs this runs on, ~20x less CPU than a buffered write of the
 * same data, and faster). The last block is padded with zeros and the file
 * cut back to len. */
static int write_direct(int fd, const uint8_t *p, size_t len)
{
	void *bounce = NULL;
	size_t cap = len < STORE_BOUNCE_BYTES ? len : STORE_BOUNCE_BYTES;
	cap = (cap + STORE_DIRECT_ALIGN - 1) / STORE_DIRECT_ALIGN * STORE_DIRECT_ALIGN;
	if (cap == 0)
		return 0;
	if (posix_memalign(&bounce, STORE_DIRECT_ALIGN, cap) != 0) {
		errno = ENOMEM;
		return -1;
	}
	int rv = 0;
	for (size_t off = 0; off < len && rv == 0;) {
		size_t n = len - off < cap ? len - off : cap;
		size_t padded = (n + STORE_DIRECT_ALIGN - 1) / STORE_DIRECT_ALIGN * STORE_DIRECT_ALIGN;
		memcpy(bounce, p + off, n);
		memset((uint8_t *)bounce + n, 0, padded - n);
		for (size_t done = 0; done < padded && rv == 0;) {
			ssize_t w = pwrite(fd, (uint8_t *)bounce + done, padded - done,
					   (off_t)(off + done));
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				rv = -1;
			else
				done += (size_t)w;
		}
		off += n;
	}
	if (rv == 0 && len % STORE_DIRECT_ALIGN != 0 && ftruncate(fd, (off_t)len) != 0)
		rv = -1;
	int e = errno;
	free(bounce);
	errno = e;
	return rv;
}

/* Whether the data dir takes O_DIRECT writes (tmpfs, for one, does not). */
bool store_probe_direct_io(struct store *s)
{
	char path[STORE_PATH_MAX];
	store_path_fmt(path, "%s/tmp/.direct-probe", s->dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_DIRECT, 0644);
	bool ok = fd >= 0;
	if (ok) {
		static const uint8_t one[1] = {1};
		ok = write_direct(fd, one, sizeof(one)) == 0;
		close(fd);
	}
	unlink(path);
	return ok;
}

/* mkdir of a chunk directory that may exist: 0 (made: *made is set) or an
 * errno. Its entry is made durable later, with the chunk (store_finish),
 * so a write into a new directory does not wait for two more fsyncs. */
static int make_chunk_dir(const char *path, bool *made)
{
	if (mkdir(path, 0755) == 0) {
		*made = true;
		return 0;
	}
	struct stat st;
	if (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	return errno == EEXIST ? ENOTDIR : errno;
}

/* Outside the lock: temp file written (not yet fsynced; *fd stays open for
 * that) and its final directories made (*made_ab, *made_cd say which are
 * new). Returns 0 or an errno; on error the temp file is gone and *fd is -1. */
static int write_temp(struct store *s, const char *id, const void *data, size_t len, char *tmp,
		      int *fd_out, bool *made_ab, bool *made_cd)
{
	char dir_ab[STORE_PATH_MAX], dir_cd[STORE_PATH_MAX], chunks[STORE_PATH_MAX];
	unsigned long seq = atomic_fetch_add(&s->tmp_seq, 1);
	store_path_fmt(tmp, "%s/tmp/%s.%ld.%lu", s->dir, id, (long)getpid(), seq);
	store_path_fmt(chunks, "%s/chunks", s->dir);
	store_path_fmt(dir_ab, "%s/%.2s", chunks, id);
	store_path_fmt(dir_cd, "%s/%.2s", dir_ab, id + 2);
	*fd_out = -1;
	int err = 0;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | (s->direct_io ? O_DIRECT : 0),
		      0644);
	if (fd < 0)
		return errno;
	if ((s->direct_io ? write_direct(fd, data, len) : write_all(fd, data, len)) != 0)
		err = errno;
	if (err == 0)
		err = make_chunk_dir(dir_ab, made_ab);
	if (err == 0)
		err = make_chunk_dir(dir_cd, made_cd);
	if (err != 0) {
		close(fd);
		unlink(tmp);
		return err;
	}
	*fd_out = fd;
	return 0;
}

/* Reserves len bytes (evicting extras when over capacity). Lock held. */
static int reserve(struct store *s, const uint8_t *bin, size_t len, char (**victims)[65],
		   size_t *nvictims)
{
	uint64_t cap = s->cfg.capacity_bytes;
	if (cap && !store_evict_for(s, bin, len, cap, victims, nvictims)) {
		s->disk_full = true;
		return PP_ENOSPACE;
	}
	s->reserved_bytes += len;
	return PP_OK;
}

static void pending_remove(struct store *s, const struct pending_write *pw)
{
	for (struct pending_write **p = &s->pending; *p; p = &(*p)->next) {
		if (*p == pw) {
			*p = pw->next;
			return;
		}
	}
}

/* Lock held: the temp file becomes the chunk file and the index says so. */
static int publish_locked(struct store *s, const char *id, const uint8_t *bin, const char *tmp,
			  size_t len, uint64_t gen, bool extra, struct store_copy *out)
{
	char dst[STORE_PATH_MAX];
	store_chunk_path(s, id, dst);
	if (rename(tmp, dst) != 0)
		return errno;
	struct chunk_entry *e;
	bool created;
	if (chunk_index_insert(&s->index, bin, (uint32_t)len, &e, &created) != PP_OK) {
		unlink(dst); /* out of memory: a file the index does not know would be a leak */
		return ENOMEM;
	}
	if (created) {
		e->extra = extra;
		if (extra)
			store_set_extra_marker(s, id, true);
	} else if (!extra && e->extra) {
		e->extra = false;
		store_set_extra_marker(s, id, false);
	}
	e->gen = gen;
	e->last_access_ms = time_mono_ms();
	if (out)
		*out = (struct store_copy){e->size, e->gen, e->extra};
	return 0;
}

int store_put(struct store *s, const char *id, const void *data, size_t len, bool extra,
	      struct store_copy *out)
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
	return store_put_verified(s, id, data, len, extra, out);
}

/* A write between store_stage and store_finish; see store.h. */
struct store_staged {
	char id[PP_SHA256_HEX];
	uint8_t bin[CHUNK_ID_BYTES];
	size_t len;
	bool extra;
	bool rewrite;           /* held already when staged: nothing reserved */
	int fd;                 /* the temp file, written, not yet fsynced */
	bool made_ab, made_cd;  /* chunks/ab, chunks/ab/cd are new: fsync their parents */
	struct pending_write pw; /* linked into s->pending until finished */
	char tmp[STORE_PATH_MAX];
};

/* Lock held: the staged write no longer holds its gen or reservation. */
static void unstage_locked(struct store *s, struct store_staged *st)
{
	pending_remove(s, &st->pw);
	if (!st->rewrite)
		s->reserved_bytes -= st->len;
}

int store_stage(struct store *s, const char *id, const void *data, size_t len, bool extra,
		struct store_staged **out)
{
	*out = NULL;
	if (!chunk_id_valid(id))
		return PP_EINVAL;
	if (len > PP_CHUNK_SIZE_MAX)
		return PP_ETOOLARGE;
	struct store_staged *st = calloc(1, sizeof(*st));
	if (st == NULL)
		return PP_EINTERNAL;
	snprintf(st->id, sizeof(st->id), "%s", id);
	chunk_id_to_bin(id, st->bin);
	st->len = len;
	st->extra = extra;
	st->fd = -1;
	char(*victims)[65] = NULL;
	size_t nvictims = 0;
	int rc = PP_OK;

	pthread_mutex_lock(&s->lock);
	st->rewrite = chunk_index_find(&s->index, st->bin) != NULL;
	if (!st->rewrite)
		rc = reserve(s, st->bin, len, &victims, &nvictims);
	if (rc == PP_OK) {
		st->pw.gen = ++s->last_gen;
		st->pw.next = s->pending;
		s->pending = &st->pw;
	}
	pthread_mutex_unlock(&s->lock);
	store_finish_evictions(s, victims, nvictims);
	victims = NULL;
	nvictims = 0;
	if (rc != PP_OK) {
		log_warn("chunk_refused", "chunk=%s reason=capacity size=%zu", id, len);
		free(st);
		return rc;
	}

	int err = write_temp(s, id, data, len, st->tmp, &st->fd, &st->made_ab, &st->made_cd);
	if (err == ENOSPC || err == EDQUOT) {
		/* The disk is fuller than our accounting: make room from extra
		 * copies once and retry before refusing. */
		pthread_mutex_lock(&s->lock);
		bool freed = store_evict_for(s, st->bin, len, 0, &victims, &nvictims);
		pthread_mutex_unlock(&s->lock);
		store_finish_evictions(s, victims, nvictims);
		if (freed && nvictims > 0)
			err = write_temp(s, id, data, len, st->tmp, &st->fd, &st->made_ab, &st->made_cd);
	}
	if (err != 0) {
		pthread_mutex_lock(&s->lock);
		unstage_locked(s, st);
		rc = (err == ENOSPC || err == EDQUOT) ? PP_ENOSPACE : PP_EINTERNAL;
		if (rc == PP_ENOSPACE)
			s->disk_full = true;
		pthread_mutex_unlock(&s->lock);
		log_error("chunk_write_failed", "op=store_put chunk=%s err=%s", id, log_q(strerror(err)));
		free(st);
		return rc;
	}
	*out = st;
	return PP_OK;
}

/* Closes the staged temp file (fsyncing it first unless `synced` says a
 * syncfs covered it) and publishes it. PP_OK, or the error with the temp
 * file gone. st is not freed. */
static int publish_staged(struct store *s, struct store_staged *st, bool synced,
			  struct store_copy *out)
{
	int err = !synced && fsync(st->fd) != 0 ? errno : 0;
	if (close(st->fd) != 0 && err == 0)
		err = errno;
	st->fd = -1;
	int rc = PP_OK;
	pthread_mutex_lock(&s->lock);
	unstage_locked(s, st);
	if (err == 0)
		err = publish_locked(s, st->id, st->bin, st->tmp, st->len, st->pw.gen, st->extra, out);
	if (err == 0) {
		s->disk_full = false;
	} else {
		rc = (err == ENOSPC || err == EDQUOT) ? PP_ENOSPACE : PP_EINTERNAL;
		if (rc == PP_ENOSPACE)
			s->disk_full = true;
	}
	pthread_mutex_unlock(&s->lock);
	if (err != 0) {
		unlink(st->tmp);
		log_error("chunk_write_failed", "op=store_put chunk=%s err=%s", st->id,
			  log_q(strerror(err)));
	}
	return rc;
}

/* The rename is durable once its directory is (and the directories made
 * for it, in their parents): before anyone is told. */
static int sync_dirs(struct store *s, const struct store_staged *st)
{
	char dir_cd[STORE_PATH_MAX], dir_ab[STORE_PATH_MAX], chunks[STORE_PATH_MAX];
	store_path_fmt(chunks, "%s/chunks", s->dir);
	store_path_fmt(dir_ab, "%s/%.2s", chunks, st->id);
	store_path_fmt(dir_cd, "%s/%.2s", dir_ab, st->id + 2);
	if ((st->made_ab && fs_fsync_dir(chunks) != 0) || (st->made_cd && fs_fsync_dir(dir_ab) != 0) ||
	    fs_fsync_dir(dir_cd) != 0) {
		log_error("chunk_write_failed", "op=fsync_dir chunk=%s err=%s", st->id,
			  log_q(strerror(errno)));
		return PP_EINTERNAL;
	}
	log_debug("chunk_stored", "chunk=%s size=%zu extra=%d gen=%llu", st->id, st->len,
		  (int)st->extra, (unsigned long long)st->pw.gen);
	return PP_OK;
}

int store_finish(struct store *s, struct store_staged *st, struct store_copy *out)
{
	int rc = publish_staged(s, st, false, out);
	if (rc == PP_OK)
		rc = sync_dirs(s, st);
	free(st);
	return rc;
}

int store_finish_batch(struct store *s, struct store_staged **st, size_t n,
		       struct store_copy *out, int *rcs)
{
	if (n < STORE_BATCH_SYNCFS_MIN) {
		int first = PP_OK;
		for (size_t i = 0; i < n; i++) {
			rcs[i] = st[i] ? store_finish(s, st[i], &out[i]) : PP_EINTERNAL;
			if (rcs[i] != PP_OK && first == PP_OK)
				first = rcs[i];
		}
		return first;
	}
	/* One syncfs makes every temp file's bytes and inode durable, one more
	 * every rename: two flushes for the batch instead of two per chunk. */
	int dfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	bool synced = dfd >= 0 && syncfs(dfd) == 0;
	size_t published = 0;
	for (size_t i = 0; i < n; i++) {
		rcs[i] = st[i] ? publish_staged(s, st[i], synced, &out[i]) : PP_EINTERNAL;
		published += rcs[i] == PP_OK;
	}
	bool dirs_synced = published > 0 && dfd >= 0 && syncfs(dfd) == 0;
	int first = PP_OK;
	for (size_t i = 0; i < n; i++) {
		if (rcs[i] == PP_OK && !dirs_synced && published > 0)
			rcs[i] = sync_dirs(s, st[i]);
		if (rcs[i] != PP_OK && first == PP_OK)
			first = rcs[i];
		free(st[i]);
	}
	if (dfd >= 0)
		close(dfd);
	return first;
}

void store_stage_abort(struct store *s, struct store_staged *st)
{
	if (st == NULL)
		return;
	if (st->fd >= 0)
		close(st->fd);
	unlink(st->tmp);
	pthread_mutex_lock(&s->lock);
	unstage_locked(s, st);
	pthread_mutex_unlock(&s->lock);
	free(st);
}

int store_put_verified(struct store *s, const char *id, const void *data, size_t len,
		       bool extra, struct store_copy *out)
{
	struct store_staged *st;
	int rc = store_stage(s, id, data, len, extra, &st);
	return rc == PP_OK ? store_finish(s, st, out) : rc;
}
