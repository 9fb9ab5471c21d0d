/* Manifest pages of a download (DESIGN.md, "Flows: Download"): loading
 * them from the tracker, a small cache of DL_PAGES pages, and finding a
 * chunk by index or by byte offset in it.
 *
 * A page never asks for more than the range still needs (and at most
 * PP_MANIFEST_PAGE chunks), so a short range of a huge file costs a few
 * small manifest calls; pp_file_info asks for one chunk location. */
#define _GNU_SOURCE
#include "download_internal.h"
#include "ppclient_ext.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One manifest request; page may be NULL to only read the file info. */
int dl_load_manifest(pp_client *c, const char *name, struct page_start at, uint32_t max,
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
	return dl_load_manifest(c, name, first, 1, out, NULL, err);
}

/* A manifest page made of a caller's chunk map (chunks and replicas copied). */
int dl_copy_page(const struct pp_chunk_map *m, struct dl_page *page, struct pp_error *err)
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
int dl_locate_offset(struct pp_download *d, uint64_t offset, uint32_t max, uint64_t *k,
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
	rc = dl_load_manifest(d->c, d->name, at, max, &f, page, err);
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
int dl_chunk_location(struct pp_download *d, uint64_t k, struct pp_chunk *out,
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
		rc = dl_load_manifest(d->c, d->name, at, max, &f, victim, err);
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
