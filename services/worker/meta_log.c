/* The worker's metadata record log; see meta_log.h for the format.
 *
 * `lock` guards everything in struct meta_log. Appends (write(2) to the
 * current segment) happen under it, so entries never interleave; the
 * fdatasync that makes them durable runs without it, one at a time
 * (`syncing`), and covers every entry written before it started. Positions
 * are (segment << 40 | offset), so they compare across segments. Entry
 * indices change at compaction, which rebuilds the name table. */
#define _GNU_SOURCE
#include "meta_log.h"
#include "meta_log_impl.h"
#include "errors.h"
#include "fsutil.h"
#include "hash.h"
#include "log.h"
#include "meta_record.h"
#include "pp/v1/meta.pb-c.h"
#include "timeutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SEGMENT_MAX_DEFAULT (64ull << 20)
#define COMPACT_MIN_DEAD_DEFAULT (4ull << 20)

/* ---- small helpers ----------------------------------------------------- */

void meta_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void digest(const void *data, size_t len, uint8_t out[32])
{
	unsigned int n = 32;
	EVP_Digest(data, len, out, &n, EVP_sha256(), NULL);
}

void meta_seg_path(const struct meta_log *m, uint32_t seg, char *out)
{
	snprintf(out, META_PATH_MAX, "%s/%08u.log", m->dir, seg);
}

int meta_cmp_key(const struct mentry *a, const struct mentry *b)
{
	if (a->seq != b->seq)
		return a->seq < b->seq ? -1 : 1;
	int c = memcmp(a->name_hash, b->name_hash, META_NAME_HASH_BYTES);
	if (c != 0)
		return c;
	return a->page < b->page ? -1 : a->page > b->page;
}

/* ---- the name table ----------------------------------------------------- */

static size_t name_slot(struct meta_log *m, const uint8_t *hash)
{
	size_t mask = m->names_cap - 1, i;
	memcpy(&i, hash, sizeof(i));
	for (i &= mask; m->names[i].used && memcmp(m->names[i].hash, hash, 32) != 0;
	     i = (i + 1) & mask)
		;
	return i;
}

static int names_grow(struct meta_log *m)
{
	size_t cap = m->names_cap ? m->names_cap * 2 : 1024;
	struct mname *old = m->names;
	size_t old_cap = m->names_cap;
	m->names = calloc(cap, sizeof(*m->names));
	if (m->names == NULL) {
		m->names = old;
		return PP_EINTERNAL;
	}
	m->names_cap = cap;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].used)
			m->names[name_slot(m, old[i].hash)] = old[i];
	free(old);
	return PP_OK;
}

static struct mname *name_get(struct meta_log *m, const uint8_t *hash, bool create)
{
	if (create && (m->names_used + 1) * 2 > m->names_cap && names_grow(m) != PP_OK)
		return NULL;
	if (m->names_cap == 0)
		return NULL;
	struct mname *x = &m->names[name_slot(m, hash)];
	if (!x->used) {
		if (!create)
			return NULL;
		memcpy(x->hash, hash, 32);
		x->used = true;
		m->names_used++;
	}
	return x;
}

static void kill_entry(struct meta_log *m, uint32_t i)
{
	if (!m->e[i].live)
		return;
	m->e[i].live = false;
	m->live_bytes -= ENTRY_HEADER_BYTES + m->e[i].len;
	m->dead_bytes += ENTRY_HEADER_BYTES + m->e[i].len;
}

/* Drops dead indices from the name's list. */
static void name_prune(struct meta_log *m, struct mname *x)
{
	uint32_t k = 0;
	for (uint32_t j = 0; j < x->n; j++)
		if (m->e[x->idx[j]].live)
			x->idx[k++] = x->idx[j];
	x->n = k;
}

/* Lock held. True when the record (hash, seq, page) is worth keeping: not
 * older than the name's newest complete record and not held already. */
static bool wanted(struct meta_log *m, const uint8_t *hash, uint64_t seq, uint32_t page)
{
	struct mname *x = name_get(m, hash, false);
	if (x == NULL)
		return true;
	if (seq < x->complete_seq)
		return false;
	for (uint32_t j = 0; j < x->n; j++) {
		const struct mentry *e = &m->e[x->idx[j]];
		if (e->seq == seq && e->page == page)
			return false;
	}
	return true;
}

/* Lock held. Indexes a kept entry; once every page of its seq is here, the
 * name's older records die. */
static int index_add(struct meta_log *m, const struct mentry *in)
{
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 1024;
		struct mentry *g = realloc(m->e, cap * sizeof(*g));
		if (g == NULL)
			return PP_EINTERNAL;
		m->e = g;
		m->cap = cap;
	}
	struct mname *x = name_get(m, in->name_hash, true);
	if (x == NULL)
		return PP_EINTERNAL;
	if (x->n == x->cap) {
		uint32_t cap = x->cap ? x->cap * 2 : 2;
		uint32_t *g = realloc(x->idx, cap * sizeof(*g));
		if (g == NULL)
			return PP_EINTERNAL;
		x->idx = g;
		x->cap = cap;
	}
	uint32_t i = (uint32_t)m->n++;
	m->e[i] = *in;
	m->e[i].live = true;
	m->live_bytes += ENTRY_HEADER_BYTES + in->len;
	x->idx[x->n++] = i;
	uint32_t have = 0;
	for (uint32_t j = 0; j < x->n; j++)
		have += m->e[x->idx[j]].seq == in->seq;
	if (have >= in->pages && in->seq > x->complete_seq) {
		x->complete_seq = in->seq;
		for (uint32_t j = 0; j < x->n; j++)
			if (m->e[x->idx[j]].seq < in->seq)
				kill_entry(m, x->idx[j]);
		name_prune(m, x);
	}
	if (!m->unsorted) {
		const struct mentry *last = m->n_sorted ? &m->e[m->sorted[m->n_sorted - 1]] : NULL;
		if (last != NULL && meta_cmp_key(last, &m->e[i]) > 0) {
			m->unsorted = true;
		} else {
			if (m->n_sorted == m->cap_sorted) {
				size_t cap = m->cap_sorted ? m->cap_sorted * 2 : 1024;
				uint32_t *g = realloc(m->sorted, cap * sizeof(*g));
				if (g == NULL) {
					m->unsorted = true;
					return PP_OK;
				}
				m->sorted = g;
				m->cap_sorted = cap;
			}
			m->sorted[m->n_sorted++] = i;
		}
	}
	return PP_OK;
}

/* Checks a sealed record and fills e's key fields. */
static int parse_record(const struct auth *a, const uint8_t *rec, size_t len, struct mentry *e,
			const char **why)
{
	const uint8_t *pb;
	size_t pb_len;
	int rc = meta_record_open(a, rec, len, &pb, &pb_len, why);
	if (rc != PP_OK)
		return rc;
	Pp__V1__FileRecord *r = pp__v1__file_record__unpack(NULL, pb_len, pb);
	if (r == NULL) {
		*why = "not a FileRecord";
		return PP_EINVAL;
	}
	rc = PP_OK;
	if (r->name == NULL || r->name[0] == '\0' || r->seq == 0 || r->pages == 0 ||
	    r->page >= r->pages) {
		*why = "record without a name, a seq or a valid page";
		rc = PP_EINVAL;
	} else {
		memset(e, 0, sizeof(*e));
		digest(r->name, strlen(r->name), e->name_hash);
		e->seq = r->seq;
		e->page = r->page;
		e->pages = r->pages;
		e->len = (uint32_t)len;
	}
	pp__v1__file_record__free_unpacked(r, NULL);
	return rc;
}

/* ---- open ---------------------------------------------------------------- */

int meta_read_full(int fd, uint8_t *buf, size_t len, uint64_t off)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = pread(fd, buf + got, len - got, (off_t)(off + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

/* Indexes one segment; cuts a torn tail off the last one. */
static int scan_segment(struct meta_log *m, uint32_t seg, bool last)
{
	char path[META_PATH_MAX];
	meta_seg_path(m, seg, path);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return PP_EINTERNAL;
	struct stat st;
	if (fstat(fd, &st) != 0) {
		close(fd);
		return PP_EINTERNAL;
	}
	uint64_t size = (uint64_t)st.st_size, off = 0;
	uint8_t hdr[ENTRY_HEADER_BYTES], sum[32];
	uint8_t *rec = NULL;
	size_t kept = 0, skipped = 0;
	while (off < size) {
		const char *why = NULL;
		uint32_t len = 0;
		if (size - off < ENTRY_HEADER_BYTES || meta_read_full(fd, hdr, sizeof(hdr), off) != 0 ||
		    memcmp(hdr, "PPML", 4) != 0 || (len = get_be32(hdr + 4)) == 0 ||
		    len > META_RECORD_MAX || size - off - ENTRY_HEADER_BYTES < len)
			why = "torn or foreign entry";
		uint8_t *g = why ? NULL : realloc(rec, len);
		if (why == NULL && g == NULL)
			why = "out of memory";
		if (g)
			rec = g;
		if (why == NULL && meta_read_full(fd, rec, len, off + ENTRY_HEADER_BYTES) != 0)
			why = "short read";
		if (why == NULL) {
			digest(rec, len, sum);
			if (memcmp(sum, hdr + 8, 8) != 0)
				why = "checksum mismatch";
		}
		if (why != NULL) {
			if (last && ftruncate(fd, (off_t)off) == 0) {
				log_warn("meta_log_truncated", "segment=%u offset=%llu reason=%s", seg,
					 (unsigned long long)off, log_q(why));
				size = off;
			} else {
				log_error("meta_log_damaged", "segment=%u offset=%llu reason=%s", seg,
					  (unsigned long long)off, log_q(why));
			}
			break;
		}
		struct mentry e;
		if (parse_record(m->auth, rec, len, &e, &why) != PP_OK) {
			skipped++;
			log_warn("meta_record_skipped", "segment=%u offset=%llu reason=%s", seg,
				 (unsigned long long)off, log_q(why));
		} else if (wanted(m, e.name_hash, e.seq, e.page)) {
			e.seg = seg;
			e.off = off;
			if (index_add(m, &e) != PP_OK)
				break;
			kept++;
		}
		off += ENTRY_HEADER_BYTES + len;
	}
	free(rec);
	/* What is not live here is dead weight for compaction. */
	if (last) {
		m->fd = fd;
		m->seg = seg;
		m->seg_bytes = size;
		m->written = m->synced = POS(seg, size);
	} else {
		close(fd);
	}
	(void)kept;
	(void)skipped;
	return PP_OK;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static int open_segment(struct meta_log *m, uint32_t seg)
{
	char path[META_PATH_MAX];
	meta_seg_path(m, seg, path);
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return PP_EINTERNAL;
	if (fs_fsync_dir(m->dir) != 0) {
		close(fd);
		return PP_EINTERNAL;
	}
	m->fd = fd;
	m->seg = seg;
	m->seg_bytes = 0;
	m->written = m->synced = POS(seg, 0);
	return PP_OK;
}

int meta_log_open(const char *data_dir, const struct auth *auth,
		  const struct meta_log_limits *limits, struct meta_log **out, char *err,
		  size_t err_len)
{
	struct meta_log *m = calloc(1, sizeof(*m));
	if (m == NULL) {
		snprintf(err, err_len, "out of memory");
		return PP_EINTERNAL;
	}
	if (snprintf(m->dir, sizeof(m->dir), "%s/meta", data_dir) >= (int)sizeof(m->dir)) {
		snprintf(err, err_len, "data dir path too long");
		free(m);
		return PP_EINVAL;
	}
	m->auth = auth;
	m->segment_max = limits && limits->segment_max_bytes ? limits->segment_max_bytes
							     : SEGMENT_MAX_DEFAULT;
	m->compact_min = limits && limits->compact_min_dead_bytes ? limits->compact_min_dead_bytes
								  : COMPACT_MIN_DEAD_DEFAULT;
	m->fd = -1;
	pthread_mutex_init(&m->lock, NULL);
	time_cond_init(&m->synced_cv);
	if (mkdir(m->dir, 0755) != 0 && errno != EEXIST) {
		snprintf(err, err_len, "cannot create %s: %s", m->dir, strerror(errno));
		meta_log_close(m);
		return PP_EINVAL;
	}
	uint32_t *segs = NULL;
	size_t nsegs = 0, cap = 0;
	DIR *d = opendir(m->dir);
	struct dirent *de;
	while (d != NULL && (de = readdir(d)) != NULL) {
		unsigned seg;
		char tail[8];
		if (sscanf(de->d_name, "%8u.%3s", &seg, tail) != 2 || strcmp(tail, "log") != 0 ||
		    strlen(de->d_name) != 12 || seg == 0)
			continue;
		if (nsegs == cap) {
			cap = cap ? cap * 2 : 16;
			uint32_t *g = realloc(segs, cap * sizeof(*g));
			if (g == NULL)
				break;
			segs = g;
		}
		segs[nsegs++] = seg;
	}
	if (d != NULL)
		closedir(d);
	if (nsegs > 0)
		qsort(segs, nsegs, sizeof(*segs), cmp_u32);
	int rc = PP_OK;
	for (size_t i = 0; rc == PP_OK && i < nsegs; i++)
		rc = scan_segment(m, segs[i], i + 1 == nsegs);
	m->first_seg = nsegs ? segs[0] : 1;
	free(segs);
	if (rc == PP_OK && m->fd < 0)
		rc = open_segment(m, 1);
	else if (rc == PP_OK) {
		/* Reopen the last segment for appending. */
		close(m->fd);
		char path[META_PATH_MAX];
		meta_seg_path(m, m->seg, path);
		m->fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
		rc = m->fd >= 0 ? PP_OK : PP_EINTERNAL;
	}
	if (rc != PP_OK) {
		snprintf(err, err_len, "cannot open the metadata log in %s: %s", m->dir,
			 strerror(errno));
		meta_log_close(m);
		return rc;
	}
	log_info("meta_log_opened", "dir=%s records=%zu live_bytes=%llu dead_bytes=%llu segment=%u",
		 log_q(m->dir), m->n, (unsigned long long)m->live_bytes, (unsigned long long)m->dead_bytes,
		 m->seg);
	*out = m;
	return PP_OK;
}

void meta_log_close(struct meta_log *m)
{
	if (m == NULL)
		return;
	if (m->fd >= 0)
		close(m->fd);
	for (size_t i = 0; i < m->names_cap; i++)
		free(m->names[i].idx);
	free(m->names);
	free(m->e);
	free(m->sorted);
	pthread_cond_destroy(&m->synced_cv);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

/* ---- append, compaction ------------------------------------------------- */

static int write_all(int fd, const void *p, size_t len)
{
	const uint8_t *b = p;
	while (len > 0) {
		ssize_t n = write(fd, b, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno;
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Lock held: makes everything written so far durable (waiting for a sync
 * already running, else running one without the lock). */
static int sync_upto(struct meta_log *m, uint64_t pos)
{
	int rc = PP_OK;
	while (m->synced < pos && rc == PP_OK) {
		if (m->syncing) {
			pthread_cond_wait(&m->synced_cv, &m->lock);
			continue;
		}
		m->syncing = true;
		uint64_t target = m->written;
		int fd = m->fd;
		pthread_mutex_unlock(&m->lock);
		int rv = fdatasync(fd);
		pthread_mutex_lock(&m->lock);
		m->syncing = false;
		if (rv == 0 && target > m->synced)
			m->synced = target;
		if (rv != 0) {
			log_error("meta_log_sync_failed", "segment=%u err=%s", m->seg, log_q(strerror(errno)));
			rc = PP_EINTERNAL;
		}
		pthread_cond_broadcast(&m->synced_cv);
	}
	return rc;
}

/* Lock held: appends one entry to the current segment (rolling over to a
 * new one when full); *pos is the position after it. */
static int append_locked(struct meta_log *m, const uint8_t *rec, uint32_t len, struct mentry *e,
			 uint64_t *pos)
{
	if (m->seg_bytes + ENTRY_HEADER_BYTES + len > m->segment_max && m->seg_bytes > 0) {
		/* The old segment is fully durable before a new one starts, so
		 * positions stay ordered with durability. */
		int rc = sync_upto(m, m->written);
		while (rc == PP_OK && m->syncing)
			pthread_cond_wait(&m->synced_cv, &m->lock);
		if (rc != PP_OK)
			return rc;
		close(m->fd);
		m->fd = -1;
		rc = open_segment(m, m->seg + 1);
		if (rc != PP_OK)
			return rc;
	}
	uint8_t hdr[ENTRY_HEADER_BYTES], sum[32];
	memcpy(hdr, "PPML", 4);
	meta_put_be32(hdr + 4, len);
	digest(rec, len, sum);
	memcpy(hdr + 8, sum, 8);
	int err = write_all(m->fd, hdr, sizeof(hdr));
	if (err == 0)
		err = write_all(m->fd, rec, len);
	if (err != 0) {
		/* Cut what was half written so the log stays parseable. */
		if (ftruncate(m->fd, (off_t)m->seg_bytes) != 0)
			log_error("meta_log_truncate_failed", "segment=%u", m->seg);
		return err == ENOSPC || err == EDQUOT ? PP_ENOSPACE : PP_EINTERNAL;
	}
	e->seg = m->seg;
	e->off = m->seg_bytes;
	m->seg_bytes += ENTRY_HEADER_BYTES + len;
	m->written = POS(m->seg, m->seg_bytes);
	*pos = m->written;
	return PP_OK;
}

/* Lock held, nothing syncing: rewrites live entries into a new segment and
 * drops the old ones. */
static void compact_locked(struct meta_log *m)
{
	while (m->syncing)
		pthread_cond_wait(&m->synced_cv, &m->lock);
	if (sync_upto(m, m->written) != PP_OK)
		return;
	uint32_t old_first = m->first_seg, old_last = m->seg;
	int old_fd = m->fd;
	if (open_segment(m, old_last + 1) != PP_OK) {
		m->fd = old_fd;
		m->seg = old_last;
		return;
	}
	/* Entries move in key order; the name table is rebuilt from them. */
	struct mentry *live = malloc((m->n ? m->n : 1) * sizeof(*live));
	size_t nl = 0;
	for (size_t i = 0; live && i < m->n; i++)
		if (m->e[i].live)
			live[nl++] = m->e[i];
	uint8_t *rec = NULL;
	int rc = live ? PP_OK : PP_EINTERNAL;
	int rfd = -1;
	uint32_t rseg = 0;
	for (size_t i = 0; rc == PP_OK && i < nl; i++) {
		if (rfd < 0 || rseg != live[i].seg) {
			if (rfd >= 0 && rfd != old_fd)
				close(rfd);
			char path[META_PATH_MAX];
			meta_seg_path(m, live[i].seg, path);
			rfd = open(path, O_RDONLY | O_CLOEXEC);
			rseg = live[i].seg;
		}
		uint8_t *g = realloc(rec, live[i].len);
		if (g != NULL)
			rec = g;
		uint64_t pos;
		if (rfd < 0 || g == NULL ||
		    meta_read_full(rfd, rec, live[i].len, live[i].off + ENTRY_HEADER_BYTES) != 0)
			rc = PP_EINTERNAL;
		else
			rc = append_locked(m, rec, live[i].len, &live[i], &pos);
	}
	if (rfd >= 0)
		close(rfd);
	free(rec);
	if (rc == PP_OK)
		rc = sync_upto(m, m->written);
	if (rc != PP_OK) {
		/* The old segments are intact; the new one is only a copy. */
		log_error("meta_log_compaction_failed", "segment=%u", m->seg);
		free(live);
		return;
	}
	close(old_fd);
	for (uint32_t s = old_first; s <= old_last; s++) {
		char path[META_PATH_MAX];
		meta_seg_path(m, s, path);
		unlink(path);
	}
	fs_fsync_dir(m->dir);
	uint64_t before = m->live_bytes + m->dead_bytes;
	for (size_t i = 0; i < m->names_cap; i++)
		free(m->names[i].idx);
	memset(m->names, 0, m->names_cap * sizeof(*m->names));
	m->names_used = 0;
	m->n = m->n_sorted = 0;
	m->unsorted = false;
	m->live_bytes = m->dead_bytes = 0;
	m->first_seg = old_last + 1;
	for (size_t i = 0; i < nl; i++)
		index_add(m, &live[i]);
	free(live);
	log_info("meta_log_compacted", "records=%zu bytes_before=%llu bytes_after=%llu", m->n,
		 (unsigned long long)before, (unsigned long long)m->live_bytes);
}

int meta_log_put(struct meta_log *m, const uint8_t *rec, size_t len)
{
	struct mentry e;
	const char *why = NULL;
	int rc = parse_record(m->auth, rec, len, &e, &why);
	if (rc != PP_OK) {
		log_warn("meta_record_refused", "reason=%s", log_q(why));
		return rc;
	}
	uint64_t pos = 0;
	pthread_mutex_lock(&m->lock);
	if (wanted(m, e.name_hash, e.seq, e.page)) {
		rc = append_locked(m, rec, (uint32_t)len, &e, &pos);
		if (rc == PP_OK)
			rc = index_add(m, &e);
		if (rc == PP_OK)
			rc = sync_upto(m, pos);
		if (rc == PP_OK && m->dead_bytes > m->compact_min &&
		    m->dead_bytes > m->live_bytes)
			compact_locked(m);
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

int meta_log_forget_below(struct meta_log *m, const uint8_t name_hash[META_NAME_HASH_BYTES],
			  uint64_t below_seq)
{
	pthread_mutex_lock(&m->lock);
	struct mname *x = name_get(m, name_hash, false);
	if (x != NULL) {
		for (uint32_t j = 0; j < x->n; j++)
			if (m->e[x->idx[j]].seq < below_seq)
				kill_entry(m, x->idx[j]);
		name_prune(m, x);
	}
	pthread_mutex_unlock(&m->lock);
	return PP_OK;
}
