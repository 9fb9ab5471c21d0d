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
 * becomes a source. */
#define _GNU_SOURCE
#include "client_internal.h"
#include "hash.h"
#include "timeutil.h"
#include "wire.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DL_PAGES 4              /* manifest pages kept */
#define DL_SLOW_MS 4000         /* a chunk slower than this marks its replica slow */
#define DL_ADDR_MAX 128         /* distinct replica addresses tracked */

enum dl_state { DL_EMPTY, DL_FETCHING, DL_READY };

struct dl_slot {
	enum dl_state state;
	uint64_t chunk;
	uint64_t offset; /* the chunk's offset in the file, from the manifest */
	struct wire_reply reply; /* owned while READY */
	int err_code;
	struct pp_error err;
};

struct dl_page {
	uint64_t first;
	size_t count;
	struct pp_chunk *chunks; /* owned */
};

struct dl_addr {
	char address[257];
	int inflight;  /* this download's requests there now */
	bool skipped;  /* failed or slow: last resort only */
};

struct pp_download {
	pp_client *c;
	char name[PP_NAME_MAX + 1];
	struct pp_file file;
	uint64_t end;       /* absolute end of the range (exclusive) */
	uint64_t pos;       /* absolute position of the next byte to return */
	uint64_t last_chunk; /* exclusive */
	uint64_t cur_chunk; /* reader: the chunk holding pos ... */
	uint64_t cur_start; /* ... and its offset (chunks may differ in size) */

	pthread_mutex_t lock; /* guards slots, next_*, stop, addrs */
	pthread_cond_t cond;
	struct dl_slot *slots;
	int nslots;
	uint64_t next_fetch, next_read;
	bool stop;
	struct dl_addr addrs[DL_ADDR_MAX];
	int naddrs;

	pthread_mutex_t pages_lock; /* guards pages; held while a page loads */
	struct dl_page pages[DL_PAGES];

	pthread_t *threads;
	int nthreads;
	bool fetchers_started; /* reader's thread only */
	int err_code; /* sticky, reader's thread only */
	struct pp_error err;
};

/* Where a manifest page starts: at chunk `first`, or (by_offset) at the
 * chunk holding byte at_offset. */
struct page_start {
	uint64_t first;
	bool by_offset;
	uint64_t at_offset;
};

/* One manifest request; page may be NULL to only read the file info. */
static int load_manifest(pp_client *c, const char *name, struct page_start at, uint32_t max,
			 struct pp_file *file, struct dl_page *page, struct pp_error *err)
{
	struct wire_vec chunks = {.limit = PP_MANIFEST_PAGE * 4};
	pp_v1_Request *req = calloc(1, sizeof(*req));
	pp_v1_Response *resp = calloc(1, sizeof(*resp));
	int rc;
	if (req == NULL || resp == NULL) {
		rc = pp_fail(err, PP_EINTERNAL, "out of memory");
		goto out;
	}
	req->has_manifest = true;
	snprintf(req->manifest.name, sizeof(req->manifest.name), "%s", name);
	req->manifest.first_chunk = at.first;
	req->manifest.max_chunks = max;
	req->manifest.by_offset = at.by_offset;
	req->manifest.at_offset = at.at_offset;
	resp->manifest.chunks.funcs.decode = wire_decode_chunks;
	resp->manifest.chunks.arg = &chunks;
	rc = client_meta_call(c, req, resp, NULL, c->timeout_ms, err);
	if (rc != PP_OK)
		goto out;
	if (!resp->has_manifest || !resp->manifest.has_file) {
		rc = pp_fail(err, PP_EINTERNAL, "manifest reply without a file");
		goto out;
	}
	wire_file_from_pb(&resp->manifest.file, file);
	if (page != NULL) {
		const struct pp_chunk *ch = chunks.items;
		page->first = chunks.n > 0 ? ch[0].index : at.first;
		page->count = chunks.n;
		page->chunks = chunks.items;
		chunks.items = NULL;
	}
out:
	if (chunks.items)
		wire_chunks_free(chunks.items, chunks.n);
	free(req);
	free(resp);
	return rc;
}

int pp_file_info(pp_client *c, const char *name, struct pp_file *out, struct pp_error *err)
{
	pp_error_clear(err);
	if (c == NULL || out == NULL)
		return pp_fail(err, PP_EINVAL, "client and out are required");
	int rc = pp_name_valid(name, err);
	if (rc != PP_OK)
		return rc;
	/* max 1, not 0 (the tracker's default page): the reply carries one
	 * chunk location at most, whatever the file's size. */
	struct page_start first = {0};
	return load_manifest(c, name, first, 1, out, NULL, err);
}

/* A manifest page made of a caller's chunk map (chunks and replicas copied). */
static int copy_page(const struct pp_chunk_map *m, struct dl_page *page, struct pp_error *err)
{
	page->first = 0;
	page->count = 0;
	page->chunks = calloc(m->chunk_count ? m->chunk_count : 1, sizeof(*page->chunks));
	if (page->chunks == NULL)
		return pp_fail(err, PP_EINTERNAL, "out of memory");
	for (size_t i = 0; i < m->chunk_count; i++) {
		struct pp_chunk *dst = &page->chunks[i];
		*dst = m->chunks[i];
		dst->replicas = NULL;
		if (m->chunks[i].replica_count > 0) {
			size_t bytes = m->chunks[i].replica_count * sizeof(*dst->replicas);
			dst->replicas = malloc(bytes);
			if (dst->replicas == NULL) {
				page->count = i;
				return pp_fail(err, PP_EINTERNAL, "out of memory");
			}
			memcpy(dst->replicas, m->chunks[i].replicas, bytes);
		}
	}
	page->count = m->chunk_count;
	return PP_OK;
}

/* An emptied page of the cache: a free one, else the one furthest behind
 * (reads only move forward). pages_lock held. */
static struct dl_page *page_victim(struct pp_download *d)
{
	struct dl_page *victim = &d->pages[0];
	for (int i = 0; i < DL_PAGES; i++) {
		if (d->pages[i].chunks == NULL) {
			victim = &d->pages[i];
			break;
		}
		if (d->pages[i].first < victim->first)
			victim = &d->pages[i];
	}
	wire_chunks_free(victim->chunks, victim->count);
	memset(victim, 0, sizeof(*victim));
	return victim;
}

/* The chunk holding byte `offset` (< the file's size): its index and start,
 * from a cached manifest page or one of at most `max` chunks loaded by offset
 * (it stays cached). */
static int locate_offset(struct pp_download *d, uint64_t offset, uint32_t max, uint64_t *k,
			 uint64_t *start, struct pp_error *err)
{
	int rc = PP_OK;
	pthread_mutex_lock(&d->pages_lock);
	for (int i = 0; i < DL_PAGES; i++) {
		const struct dl_page *p = &d->pages[i];
		for (size_t j = 0; p->chunks != NULL && j < p->count; j++) {
			const struct pp_chunk *ch = &p->chunks[j];
			if (ch->offset <= offset && offset - ch->offset < ch->size) {
				*k = ch->index;
				*start = ch->offset;
				goto out;
			}
		}
	}
	struct dl_page *page = page_victim(d);
	struct pp_file f;
	struct page_start at = {.by_offset = true, .at_offset = offset};
	rc = load_manifest(d->c, d->name, at, max, &f, page, err);
	if (rc == PP_OK && (f.version != d->file.version || strcmp(f.sha256, d->file.sha256) != 0))
		rc = pp_fail(err, PP_ECONFLICT, "%s was replaced while it was being read", d->name);
	if (rc == PP_OK && page->count == 0)
		rc = pp_fail(err, PP_EINTERNAL, "manifest of %s has no chunk at byte %llu", d->name,
			     (unsigned long long)offset);
	if (rc == PP_OK) {
		const struct pp_chunk *ch = &page->chunks[0];
		if (ch->offset > offset || offset - ch->offset >= ch->size)
			rc = pp_fail(err, PP_EINTEGRITY, "manifest of %s is inconsistent at byte %llu",
				     d->name, (unsigned long long)offset);
		*k = ch->index;
		*start = ch->offset;
	}
out:
	pthread_mutex_unlock(&d->pages_lock);
	return rc;
}

/* Copies chunk k's location (replicas duplicated) out of the page cache,
 * loading its page when needed. */
static int chunk_location(struct pp_download *d, uint64_t k, struct pp_chunk *out,
			  struct pp_error *err)
{
	int rc = PP_OK;
	pthread_mutex_lock(&d->pages_lock);
	struct dl_page *hit = NULL;
	for (int i = 0; i < DL_PAGES && hit == NULL; i++) {
		struct dl_page *p = &d->pages[i];
		if (p->chunks != NULL && k >= p->first && k < p->first + p->count)
			hit = p;
	}
	if (hit == NULL) {
		struct dl_page *victim = page_victim(d);
		struct pp_file f;
		/* From k on, no further than the range needs: a short range of a
		 * huge file costs a small page, not PP_MANIFEST_PAGE entries. */
		uint64_t first = k;
		uint64_t left = d->last_chunk > k ? d->last_chunk - k : 1;
		uint32_t max = left < PP_MANIFEST_PAGE ? (uint32_t)left : PP_MANIFEST_PAGE;
		struct page_start at = {.first = first};
		rc = load_manifest(d->c, d->name, at, max, &f, victim, err);
		if (rc != PP_OK)
			goto out;
		if (f.version != d->file.version || strcmp(f.sha256, d->file.sha256) != 0) {
			rc = pp_fail(err, PP_ECONFLICT, "%s was replaced while it was being read", d->name);
			goto out;
		}
		if (victim->first != first || k >= first + victim->count) {
			rc = pp_fail(err, PP_EINTERNAL, "manifest of %s has no chunk %llu", d->name,
				     (unsigned long long)k);
			goto out;
		}
		hit = victim;
	}
	const struct pp_chunk *src = &hit->chunks[k - hit->first];
	*out = *src;
	out->replicas = NULL;
	if (src->replica_count) {
		out->replicas = malloc(src->replica_count * sizeof(*src->replicas));
		if (out->replicas == NULL) {
			rc = pp_fail(err, PP_EINTERNAL, "out of memory");
			goto out;
		}
		memcpy(out->replicas, src->replicas, src->replica_count * sizeof(*src->replicas));
	}
out:
	pthread_mutex_unlock(&d->pages_lock);
	return rc;
}

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

static int fetch_chunk(struct pp_download *d, uint64_t k, struct wire_reply *out,
		       uint64_t *offset, struct pp_error *err)
{
	struct pp_chunk ch;
	int rc = chunk_location(d, k, &ch, err);
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
	int rc = fetch_chunk(d, k, &r, &offset, &e);
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
	snprintf(d->name, sizeof(d->name), "%s", name);
	/* The first page comes with the file's info: a small file needs one
	 * manifest call in all (none when the caller has its map). A range
	 * asks for one chunk here and pages by offset below, so Range on a
	 * file of any size costs a few small manifest calls. */
	bool ranged = offset > 0 || length > 0;
	if (map != NULL) {
		d->file = map->file;
		rc = copy_page(map, &d->pages[0], err);
	} else {
		struct page_start first = {0};
		rc = load_manifest(c, name, first, ranged ? 1 : PP_MANIFEST_PAGE, &d->file,
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
			rc = locate_offset(d, d->pos, max, &k, &start, err);
		if (rc == PP_OK && d->end < f->size)
			rc = locate_offset(d, d->end - 1, 1, &last, &last_start, err);
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
	for (int i = 0; d->slots != NULL && i < d->nslots; i++)
		wire_reply_free(&d->slots[i].reply);
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
