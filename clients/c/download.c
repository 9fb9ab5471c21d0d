/* Downloads (DESIGN.md, "Flows: Download" and "Direct node access").
 *
 * A pp_download is a sequential reader with bounded read-ahead: `parallel`
 * fetcher threads fill a ring of `parallel` slots (chunk k lives in slot
 * k % nslots and is fetched only once k < next_read + nslots), so at most
 * `parallel` chunks are held, each as the reply message itself (no copy).
 * A one-chunk read is fetched on the reader's own thread (no threads).
 *
 * Verification is one hash per byte: every chunk is fetched whole and its
 * SHA-256 checked against its id on the fetcher thread (workers send chunks
 * without hashing them), and since the manifest's chunk ids are the file's
 * content as committed, no second whole-file hash is needed. Ranges are cut
 * from verified chunks. Bytes that fail the check are never returned: the
 * worker that sent them is asked to verify its copy (it quarantines it only
 * if it really is bad) and the next replica is tried. Replicas are tried
 * least-loaded first (tracker load plus this download's own requests); one
 * that fails or is slow is skipped for the rest of the download. In direct
 * mode every chunk comes from the one worker, with fetch_missing and the
 * chunk's replica addresses, so it pulls what it lacks from them and
 * becomes a source.
 *
 * With a memory budget (pp_client_set_budget) every chunk's bytes are taken
 * from it before the chunk is fetched. A download keeps `own_bytes` for the
 * chunk its reader needs next, taken once (waiting, bounded) and held until
 * close, so a started download never waits on others mid-stream; read-ahead
 * takes budget only when it is free at once, else waits for the reader. */
#define _GNU_SOURCE
#include "download_internal.h"
#include "hash.h"
#include "mem_budget.h"
#include "ppclient_ext.h"
#include "timeutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Index into d->addrs for an address (added on first sight). Lock held. */
static struct dl_addr *addr_of(struct pp_download *d, const char *address)
{
	for (int i = 0; i < d->naddrs; i++)
		if (strcmp(d->addrs[i].address, address) == 0)
			return &d->addrs[i];
	if (d->naddrs == DL_ADDR_MAX)
		return NULL;
	struct dl_addr *a = &d->addrs[d->naddrs++];
	memset(a, 0, sizeof(*a));
	snprintf(a->address, sizeof(a->address), "%s", address);
	return a;
}

/* Picks the best untried candidate: ok before suspect, not skipped before
 * skipped, then least load. Returns its index or -1. Lock held. */
static int pick_replica(struct pp_download *d, const struct pp_chunk *ch, const bool *tried)
{
	int best = -1;
	long best_score = 0;
	for (size_t i = 0; i < ch->replica_count; i++) {
		const struct pp_replica *r = &ch->replicas[i];
		if (tried[i] || r->address[0] == '\0')
			continue;
		if (r->state != PP_REPLICA_OK && r->state != PP_REPLICA_SUSPECT)
			continue;
		struct dl_addr *a = addr_of(d, r->address);
		long score = (long)r->load + (a ? a->inflight : 0);
		if (r->state == PP_REPLICA_SUSPECT)
			score += 1L << 20;
		if (a != NULL && a->skipped)
			score += 1L << 24;
		if (best < 0 || score < best_score) {
			best = (int)i;
			best_score = score;
		}
	}
	return best;
}

/* Asks the worker at address to re-verify its copy of a chunk that came
 * from it with the wrong bytes; it quarantines the copy (and tells the
 * tracker) only when its own check fails. Best effort. */
static void report_bad_bytes(struct pp_download *d, const char *address, const char *id)
{
	pp_v1_Request req = pp_v1_Request_init_zero;
	pp_v1_Response *resp = calloc(1, sizeof(*resp));
	if (resp == NULL)
		return;
	req.has_verify_chunk = true;
	snprintf(req.verify_chunk.chunk_id, sizeof(req.verify_chunk.chunk_id), "%s", id);
	struct pp_error ignored;
	wire_call(d->c, address, &req, NULL, 0, resp, NULL, d->c->timeout_ms, &ignored);
	free(resp);
}

/* fetch_missing (direct mode): the worker pulls what it lacks from the
 * chunk's replicas, whose addresses go with the request. */
static int get_chunk_from(struct pp_download *d, const char *address, const struct pp_chunk *ch,
			  bool fetch_missing, struct wire_reply *out, struct pp_error *err)
{
	pp_v1_Request req = pp_v1_Request_init_zero;
	pp_v1_Response *resp = calloc(1, sizeof(*resp));
	if (resp == NULL)
		return pp_fail(err, PP_EINTERNAL, "out of memory");
	char *sources[PP_REPLICAS_MAX + 1];
	size_t ns = 0;
	for (size_t i = 0; fetch_missing && i < ch->replica_count && ns < PP_REPLICAS_MAX; i++) {
		const struct pp_replica *r = &ch->replicas[i];
		if (r->address[0] != '\0' &&
		    (r->state == PP_REPLICA_OK || r->state == PP_REPLICA_SUSPECT))
			sources[ns++] = (char *)r->address;
	}
	sources[ns] = NULL;
	req.has_get_chunk = true;
	snprintf(req.get_chunk.chunk_id, sizeof(req.get_chunk.chunk_id), "%s", ch->id);
	req.get_chunk.fetch_missing = fetch_missing;
	req.get_chunk.sources.funcs.encode = wire_encode_strings;
	req.get_chunk.sources.arg = sources;
	int rc = wire_call(d->c, address, &req, NULL, 0, resp, out, RPC_TIMEOUT_DATA_MS, err);
	free(resp);
	if (rc != PP_OK)
		return rc;
	char sum[PP_SHA256_HEX];
	if (out->payload_len != ch->size) {
		rc = pp_fail(err, PP_EINTEGRITY, "chunk %llu from %s has %zu bytes, expected %u",
			     (unsigned long long)ch->index, address, out->payload_len, ch->size);
	} else if (sha256_hex(out->payload, out->payload_len, sum) != 0 || strcmp(sum, ch->id) != 0) {
		rc = pp_fail(err, PP_EINTEGRITY, "chunk %llu from %s failed its SHA-256 check",
			     (unsigned long long)ch->index, address);
	}
	if (rc != PP_OK)
		wire_reply_free(out);
	return rc;
}

/* Takes budget for chunk k of `size` bytes into slot s (see the header):
 * the reader's next chunk uses own_bytes, growing it with a bounded wait;
 * others take free budget or wait until the reader reaches them. */
static int budget_reserve(struct pp_download *d, uint64_t k, uint64_t size, struct dl_slot *s,
			  struct pp_error *err)
{
	if (d->budget == NULL)
		return PP_OK;
	int rc = PP_OK;
	pthread_mutex_lock(&d->lock);
	for (;;) {
		if (d->stop) {
			rc = pp_fail(err, PP_EUNAVAIL, "download closed");
			break;
		}
		if (k == d->next_read && !d->own_busy) {
			if (d->own_bytes < size) {
				uint64_t more = size - d->own_bytes;
				pthread_mutex_unlock(&d->lock);
				rc = mem_budget_take(d->budget, more);
				pthread_mutex_lock(&d->lock);
				if (rc != PP_OK) {
					rc = pp_fail(err, PP_EUNAVAIL,
						     "memory budget for downloads is in use; retry later");
					break;
				}
				d->own_bytes += more;
			}
			d->own_busy = true;
			s->budget_own = true;
			break;
		}
		if (mem_budget_try_take(d->budget, size)) {
			s->budget_bytes = size;
			break;
		}
		pthread_cond_wait(&d->cond, &d->lock); /* dl_advance moves next_read */
	}
	pthread_mutex_unlock(&d->lock);
	return rc;
}

/* Gives back what slot s holds. d->lock held. */
static void budget_release_locked(struct pp_download *d, struct dl_slot *s)
{
	if (s->budget_own)
		d->own_busy = false;
	else if (s->budget_bytes > 0)
		mem_budget_give(d->budget, s->budget_bytes);
	s->budget_own = false;
	s->budget_bytes = 0;
}

static int fetch_chunk(struct pp_download *d, uint64_t k, struct dl_slot *slot,
		       struct wire_reply *out, uint64_t *offset, struct pp_error *err)
{
	struct pp_chunk ch;
	int rc = dl_chunk_location(d, k, &ch, err);
	if (rc != PP_OK)
		return rc;
	*offset = ch.offset;
	const struct pp_file *f = &d->file;
	if (ch.index != k || ch.size == 0 || ch.offset > f->size || ch.size > f->size - ch.offset ||
	    (k + 1 == f->chunk_count && ch.offset + ch.size != f->size)) {
		rc = pp_fail(err, PP_EINTEGRITY, "manifest of %s is inconsistent at chunk %llu", d->name,
			     (unsigned long long)k);
		goto out;
	}
	rc = budget_reserve(d, k, ch.size, slot, err);
	if (rc != PP_OK)
		goto out;
	if (d->c->direct) {
		rc = get_chunk_from(d, d->c->node, &ch, true, out, err);
		if (rc == PP_EINTEGRITY) {
			/* The node's copy may be bad: once it checked (and dropped)
			 * it, asking again makes it pull a good one. */
			report_bad_bytes(d, d->c->node, ch.id);
			rc = get_chunk_from(d, d->c->node, &ch, true, out, err);
		}
		goto out;
	}
	bool tried[PP_REPLICAS_MAX] = {false};
	int attempts = 0;
	bool mismatch = false;
	struct pp_error last = {0};
	for (;;) {
		pthread_mutex_lock(&d->lock);
		int i = pick_replica(d, &ch, tried);
		struct dl_addr *a = i >= 0 ? addr_of(d, ch.replicas[i].address) : NULL;
		if (a != NULL)
			a->inflight++;
		pthread_mutex_unlock(&d->lock);
		if (i < 0)
			break;
		tried[i] = true;
		attempts++;
		int64_t t0 = time_mono_ms();
		rc = get_chunk_from(d, ch.replicas[i].address, &ch, false, out, &last);
		int64_t took = time_mono_ms() - t0;
		pthread_mutex_lock(&d->lock);
		if (a != NULL) {
			a->inflight--;
			if (rc != PP_OK || took > DL_SLOW_MS)
				a->skipped = true;
		}
		pthread_mutex_unlock(&d->lock);
		if (rc == PP_OK)
			goto out;
		if (rc == PP_EINTEGRITY) {
			mismatch = true;
			report_bad_bytes(d, ch.replicas[i].address, ch.id);
		}
		if (rc == PP_EAUTH)
			break;
	}
	if (attempts == 0)
		rc = pp_fail(err, PP_EUNAVAIL, "chunk %llu of %s has no live replica",
			     (unsigned long long)k, d->name);
	else if (last.code == PP_EAUTH)
		rc = pp_fail(err, PP_EAUTH, "%s", last.message);
	else
		rc = pp_fail(err, mismatch ? PP_EINTEGRITY : PP_EUNAVAIL,
			     "chunk %llu of %s: every replica failed (%d tried; last: %s)",
			     (unsigned long long)k, d->name, attempts, last.message);
out:
	free(ch.replicas);
	return rc;
}

/* Lock held: fetches the next chunk due, if any may start now (the lock is
 * dropped while it travels). false when there is nothing to start. */
static bool fetch_next_locked(struct pp_download *d)
{
	if (d->stop || d->next_fetch >= d->last_chunk ||
	    d->next_fetch >= d->next_read + (uint64_t)d->nslots)
		return false;
	uint64_t k = d->next_fetch++;
	struct dl_slot *s = &d->slots[k % (uint64_t)d->nslots];
	s->state = DL_FETCHING;
	s->chunk = k;
	pthread_mutex_unlock(&d->lock);
	struct wire_reply r = {0};
	struct pp_error e = {0};
	uint64_t offset = 0;
	int rc = fetch_chunk(d, k, s, &r, &offset, &e);
	pthread_mutex_lock(&d->lock);
	s->reply = r;
	s->offset = offset;
	s->err_code = rc;
	s->err = e;
	s->state = DL_READY;
	pthread_cond_broadcast(&d->cond);
	return true;
}

static void *fetcher_main(void *arg)
{
	struct pp_download *d = arg;
	pthread_mutex_lock(&d->lock);
	while (!d->stop && d->next_fetch < d->last_chunk) {
		if (!fetch_next_locked(d))
			pthread_cond_wait(&d->cond, &d->lock);
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

static int download_start(pp_client *c, const char *name, uint64_t offset, uint64_t length,
			  const struct pp_chunk_map *map, pp_download **out, struct pp_file *info,
			  struct pp_error *err);

int pp_download_open(pp_client *c, const char *name, uint64_t offset, uint64_t length,
		     pp_download **out, struct pp_file *info, struct pp_error *err)
{
	return download_start(c, name, offset, length, NULL, out, info, err);
}

int pp_download_open_map(pp_client *c, const struct pp_chunk_map *m, pp_download **out,
			 struct pp_error *err)
{
	if (m == NULL)
		return pp_fail(err, PP_EINVAL, "no chunk map");
	bool whole = m->file.chunk_count <= PP_MANIFEST_PAGE && m->chunk_count == m->file.chunk_count;
	return download_start(c, m->file.name, 0, 0, whole ? m : NULL, out, NULL, err);
}

/* Opens a download; with a complete map the manifest comes from it (its
 * first page) instead of the tracker. */
static int download_start(pp_client *c, const char *name, uint64_t offset, uint64_t length,
			  const struct pp_chunk_map *map, pp_download **out, struct pp_file *info,
			  struct pp_error *err)
{
	pp_error_clear(err);
	if (c == NULL || out == NULL)
		return pp_fail(err, PP_EINVAL, "client and out are required");
	*out = NULL;
	int rc = pp_name_valid(name, err);
	if (rc != PP_OK)
		return rc;
	struct pp_download *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return pp_fail(err, PP_EINTERNAL, "out of memory");
	pthread_mutex_init(&d->lock, NULL);
	time_cond_init(&d->cond);
	pthread_mutex_init(&d->pages_lock, NULL);
	d->c = c;
	d->budget = c->budget;
	snprintf(d->name, sizeof(d->name), "%s", name);
	/* The first page comes with the file's info: a small file needs one
	 * manifest call in all (none when the caller has its map). A range
	 * asks for one chunk here and pages by offset below, so Range on a
	 * file of any size costs a few small manifest calls. */
	bool ranged = offset > 0 || length > 0;
	if (map != NULL) {
		d->file = map->file;
		rc = dl_copy_page(map, &d->pages[0], err);
	} else {
		struct page_start first = {0};
		rc = dl_load_manifest(c, name, first, ranged ? 1 : PP_MANIFEST_PAGE, &d->file,
				   &d->pages[0], err);
	}
	if (rc != PP_OK)
		goto fail;
	const struct pp_file *f = &d->file;
	uint64_t cs = f->chunk_size;
	/* Chunks may differ in size (S3 multipart parts), so a file has at
	 * least size / chunk_size chunks (rounded up) and at most one per byte. */
	if ((f->size > 0 && (cs == 0 || f->chunk_count < (f->size + cs - 1) / cs ||
			     f->chunk_count > f->size)) ||
	    (f->size == 0 && f->chunk_count != 0)) {
		rc = pp_fail(err, PP_EINTERNAL, "file info of %s is inconsistent", name);
		goto fail;
	}
	if (offset > f->size) {
		rc = pp_fail(err, PP_EINVAL, "range starts at %llu, past the end of %s (%llu bytes)",
			     (unsigned long long)offset, name, (unsigned long long)f->size);
		goto fail;
	}
	d->pos = offset;
	d->end = (length == 0 || length > f->size - offset) ? f->size : offset + length;
	if (d->end > d->pos) {
		uint64_t k = 0, start = 0, last = f->chunk_count - 1, last_start;
		/* The page at the start covers the range when chunks are of
		 * chunk_size (+2: the range may straddle both ends). */
		uint64_t span = (d->end - d->pos) / cs + 2;
		uint32_t max = span < PP_MANIFEST_PAGE ? (uint32_t)span : PP_MANIFEST_PAGE;
		if (d->pos > 0)
			rc = dl_locate_offset(d, d->pos, max, &k, &start, err);
		if (rc == PP_OK && d->end < f->size)
			rc = dl_locate_offset(d, d->end - 1, 1, &last, &last_start, err);
		if (rc != PP_OK)
			goto fail;
		d->next_read = d->next_fetch = d->cur_chunk = k;
		d->cur_start = start;
		d->last_chunk = last + 1;
	}
	d->nslots = c->parallel;
	d->slots = calloc((size_t)d->nslots, sizeof(*d->slots));
	d->threads = calloc((size_t)d->nslots, sizeof(*d->threads));
	if (d->slots == NULL || d->threads == NULL) {
		rc = pp_fail(err, PP_EINTERNAL, "out of memory");
		goto fail;
	}
	if (info != NULL)
		*info = d->file;
	*out = d;
	return PP_OK;
fail:
	pp_download_close(d);
	return rc;
}

/* Starts the fetchers at the first read, so an open download holds no
 * chunk memory (a caller may open several and read one at a time). A
 * one-chunk range gets none: the reader fetches it itself (dl_peek). */
static int start_fetchers(struct pp_download *d)
{
	d->fetchers_started = true;
	uint64_t nchunks = d->last_chunk - d->next_fetch;
	int want = nchunks < 2 ? 0 : nchunks < (uint64_t)d->nslots ? (int)nchunks : d->nslots;
	for (; d->nthreads < want; d->nthreads++) {
		if (pthread_create(&d->threads[d->nthreads], NULL, fetcher_main, d) != 0) {
			d->err_code = pp_fail(&d->err, PP_EINTERNAL, "cannot start download threads");
			return d->err_code;
		}
	}
	return PP_OK;
}

/* Borrows the next verified bytes of the range: *p points into the chunk's
 * reply and stays valid until dl_advance. *n == 0 at the end. Waits for
 * the chunk (fetching it here when there are no fetcher threads). */
static int dl_peek(struct pp_download *d, const uint8_t **p, size_t *n)
{
	*n = 0;
	if (d->err_code != PP_OK)
		return d->err_code;
	if (d->pos >= d->end)
		return PP_OK;
	if (!d->fetchers_started && start_fetchers(d) != PP_OK)
		return d->err_code;
	uint64_t k = d->cur_chunk;
	pthread_mutex_lock(&d->lock);
	struct dl_slot *s = &d->slots[k % (uint64_t)d->nslots];
	while (s->state != DL_READY || s->chunk != k) {
		if (d->nthreads == 0 && fetch_next_locked(d))
			continue;
		pthread_cond_wait(&d->cond, &d->lock);
	}
	pthread_mutex_unlock(&d->lock);
	/* A READY slot is the reader's until dl_advance frees it. */
	if (s->err_code != PP_OK) {
		d->err_code = s->err_code;
		d->err = s->err;
		return d->err_code;
	}
	uint64_t in_chunk = d->pos - d->cur_start;
	if (s->offset != d->cur_start || in_chunk >= s->reply.payload_len) {
		d->err_code = pp_fail(&d->err, PP_EINTEGRITY,
				      "manifest of %s is inconsistent at chunk %llu", d->name,
				      (unsigned long long)k);
		return d->err_code;
	}
	uint64_t avail = s->reply.payload_len - in_chunk;
	if (avail > d->end - d->pos)
		avail = d->end - d->pos;
	*p = s->reply.payload + in_chunk;
	*n = (size_t)avail;
	return PP_OK;
}

int pp_download_wait_first(pp_download *d, struct pp_error *err)
{
	pp_error_clear(err);
	if (d == NULL)
		return pp_fail(err, PP_EINVAL, "NULL download");
	const uint8_t *p;
	size_t n;
	int rc = dl_peek(d, &p, &n);
	if (rc != PP_OK && err != NULL)
		*err = d->err;
	return rc;
}

/* Consumes n bytes of what dl_peek lent; frees a chunk once used up. */
static void dl_advance(struct pp_download *d, size_t n)
{
	uint64_t k = d->cur_chunk;
	struct dl_slot *s = &d->slots[k % (uint64_t)d->nslots];
	d->pos += n;
	bool chunk_done = d->pos == d->cur_start + s->reply.payload_len;
	if (chunk_done) {
		d->cur_chunk = k + 1;
		d->cur_start = d->pos;
	}
	if (d->pos == d->end || chunk_done) {
		pthread_mutex_lock(&d->lock);
		wire_reply_free(&s->reply);
		budget_release_locked(d, s);
		s->state = DL_EMPTY;
		d->next_read = k + 1;
		pthread_cond_broadcast(&d->cond);
		pthread_mutex_unlock(&d->lock);
	}
}

int pp_download_read(pp_download *d, void *buf, size_t len, size_t *got, struct pp_error *err)
{
	pp_error_clear(err);
	if (d == NULL || got == NULL || (buf == NULL && len > 0))
		return pp_fail(err, PP_EINVAL, "NULL download, buffer or got");
	*got = 0;
	uint8_t *dst = buf;
	while (*got < len) {
		const uint8_t *p;
		size_t n;
		int rc = dl_peek(d, &p, &n);
		if (rc != PP_OK) {
			*got = 0;
			if (err)
				*err = d->err;
			return rc;
		}
		if (n == 0)
			break;
		if (n > len - *got)
			n = len - *got;
		memcpy(dst + *got, p, n);
		*got += n;
		dl_advance(d, n);
	}
	return PP_OK;
}

void pp_download_close(pp_download *d)
{
	if (d == NULL)
		return;
	pthread_mutex_lock(&d->lock);
	d->stop = true;
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
	for (int i = 0; i < d->nthreads; i++)
		pthread_join(d->threads[i], NULL);
	free(d->threads);
	for (int i = 0; d->slots != NULL && i < d->nslots; i++) {
		wire_reply_free(&d->slots[i].reply);
		budget_release_locked(d, &d->slots[i]); /* no other thread is left */
	}
	if (d->own_bytes > 0)
		mem_budget_give(d->budget, d->own_bytes);
	free(d->slots);
	for (int i = 0; i < DL_PAGES; i++)
		wire_chunks_free(d->pages[i].chunks, d->pages[i].count);
	pthread_mutex_destroy(&d->pages_lock);
	pthread_cond_destroy(&d->cond);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int pp_download_write_fd(pp_download *d, int fd, pp_progress_fn progress, void *progress_arg,
			 struct pp_error *err)
{
	pp_error_clear(err);
	if (d == NULL || fd < 0)
		return pp_fail(err, PP_EINVAL, "NULL download or invalid file descriptor");
	uint64_t total = d->end - d->pos, done = 0;
	int64_t last = 0;
	int rc;
	for (;;) {
		const uint8_t *p;
		size_t n;
		rc = dl_peek(d, &p, &n);
		if (rc != PP_OK) {
			if (err)
				*err = d->err;
			break;
		}
		if (n == 0)
			break;
		if (write_all(fd, p, n) != 0) {
			rc = pp_fail(err, PP_EINVAL, "write failed: %s", strerror(errno));
			break;
		}
		dl_advance(d, n);
		done += n;
		int64_t now = time_mono_ms();
		if (progress != NULL && (now - last >= 100 || done == total)) {
			last = now;
			progress(progress_arg, done, total);
		}
	}
	if (rc == PP_OK && progress != NULL && total == 0)
		progress(progress_arg, 0, 0);
	return rc;
}

int pp_get_fd(pp_client *c, const char *name, int fd, const struct pp_get_options *opt,
	      struct pp_file *info, struct pp_error *err)
{
	pp_error_clear(err);
	if (fd < 0)
		return pp_fail(err, PP_EINVAL, "invalid file descriptor");
	struct pp_get_options none = {0};
	if (opt == NULL)
		opt = &none;
	pp_download *d = NULL;
	struct pp_file f;
	int rc = pp_download_open(c, name, opt->offset, opt->length, &d, &f, err);
	if (rc != PP_OK)
		return rc;
	rc = pp_download_write_fd(d, fd, opt->progress, opt->progress_arg, err);
	if (rc == PP_OK && info != NULL)
		*info = f;
	pp_download_close(d);
	return rc;
}
