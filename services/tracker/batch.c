/* Batch routes for many small files (proto/pp/v1/rpc.proto,
 * UploadBatchRequest and CommitBatchRequest): what upload_begin + place and
 * commit do for one file, for up to BATCH_ITEMS_MAX one-chunk files per
 * call, each item succeeding or failing on its own. The rules are those of
 * the one-file routes (placement through handlers_place, commits through
 * the same group commit); only the number of round trips and transactions
 * changes. */
#define _GNU_SOURCE
#include "db.h"
#include "errors.h"
#include "handlers.h"
#include "hash.h"
#include "liveness.h"
#include "log.h"
#include "records.h"
#include "timeutil.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH_ITEMS_MAX 1024
#define BATCH_COMMIT_WAIT_MS 3000 /* as COMMIT_WAIT_MS: replica records may trail */

static Pp__V1__UploadBatchPlacement *placement_failed(struct rpc_call *call, int rc,
						      const char *why)
{
	Pp__V1__UploadBatchPlacement *p = rpc_call_alloc(call, sizeof(*p));
	pp__v1__upload_batch_placement__init(p);
	p->status = (Pp__V1__Status)pp_status_from_err(rc);
	p->error = rpc_call_strdup(call, why);
	return p;
}

/* An item is checked as the one-file routes check name, size and id. */
static const char *item_problem(const Pp__V1__UploadBatchItem *it, uint32_t chunk_size)
{
	const char *why = it->name ? name_check(it->name, strnlen(it->name, PP_NAME_MAX + 1))
				   : "empty name";
	if (why != NULL)
		return why;
	if (it->size > chunk_size)
		return "larger than one chunk: use the one-file upload";
	if (it->size > 0 && !chunk_id_valid(it->chunk_id))
		return "invalid chunk id: want 64 lowercase hex";
	if (it->size == 0 && it->chunk_id != NULL && it->chunk_id[0] != '\0')
		return "an empty file has no chunk";
	return NULL;
}

void h_upload_batch(void *svc, struct rpc_call *call)
{
	struct tracker *t = svc;
	if (!handlers_primary_only(t, call))
		return;
	const Pp__V1__UploadBatchRequest *q = call->req->upload_batch;
	size_t n = q->n_items;
	uint32_t chunk_size = (uint32_t)t->cfg.chunk_size;
	uint32_t repl = q->replication ? q->replication : (uint32_t)t->cfg.replication;
	if (n == 0 || n > BATCH_ITEMS_MAX) {
		rpc_call_fail(call, PP_EINVAL, "a batch has 1..%d files", BATCH_ITEMS_MAX);
		return;
	}
	if (repl < TRACKER_REPLICATION_MIN || repl > TRACKER_REPLICATION_MAX) {
		rpc_call_fail(call, PP_EINVAL, "replication %u is out of range (%d..%d)", repl,
			      TRACKER_REPLICATION_MIN, TRACKER_REPLICATION_MAX);
		return;
	}
	size_t live = handlers_placeable(t);
	if (live < repl) {
		rpc_call_fail(call, PP_EUNAVAIL,
			      "not enough live workers: replication %u needs %u, %zu available", repl,
			      repl, live);
		return;
	}
	Pp__V1__UploadBatchResponse *r = rpc_call_alloc(call, sizeof(*r));
	pp__v1__upload_batch_response__init(r);
	r->chunk_size = chunk_size;
	r->replication = repl;
	r->items = rpc_call_alloc(call, n * sizeof(*r->items));
	r->n_items = n;
	struct batch_upload *ups = rpc_call_alloc(call, n * sizeof(*ups));
	size_t nups = 0;
	size_t *up_of = rpc_call_alloc(call, n * sizeof(*up_of)); /* item -> ups index */
	for (size_t i = 0; i < n; i++) {
		const Pp__V1__UploadBatchItem *it = q->items[i];
		const char *why = item_problem(it, chunk_size);
		up_of[i] = n;
		if (why != NULL) {
			r->items[i] = placement_failed(call, PP_EINVAL, why);
			continue;
		}
		ups[nups] = (struct batch_upload){.name = it->name, .size = it->size,
						  .chunk_id = it->chunk_id};
		up_of[i] = nups++;
	}
	int64_t now = time_wall_ms();
	int64_t gc_after = now + handlers_grace_ms(t);
	if (nups > 0 &&
	    db_upload_begin_batch(t->db, ups, nups, repl, chunk_size, now, gc_after) != PP_OK)
		log_warn("upload_batch_failed", "files=%zu", nups);
	struct node_rec *nodes = NULL;
	size_t nn = 0;
	if (liveness_snapshot(t->live, &nodes, &nn) != PP_OK) {
		free(nodes);
		rpc_call_fail(call, PP_EINTERNAL, "store error while placing");
		return;
	}
	struct chunk_node *pending = calloc(nups * repl + 1, sizeof(*pending));
	size_t npending = 0;
	for (size_t i = 0; i < n; i++) {
		if (up_of[i] == n)
			continue;
		struct batch_upload *u = &ups[up_of[i]];
		if (u->rc != PP_OK) {
			r->items[i] = placement_failed(call, u->rc, "could not open the upload session");
			continue;
		}
		Pp__V1__UploadBatchPlacement *p = rpc_call_alloc(call, sizeof(*p));
		pp__v1__upload_batch_placement__init(p);
		p->upload_id = (uint64_t)u->upload_id;
		r->items[i] = p;
		if (u->size == 0)
			continue;
		Pp__V1__PlaceResponse pr = PP__V1__PLACE_RESPONSE__INIT;
		char why[160];
		int rc = pending == NULL ? PP_EINTERNAL
					 : handlers_place(t, call, nodes, nn, u->chunk_id,
							  (uint32_t)u->size, repl, now, &pr, pending,
							  &npending, why, sizeof(why));
		if (rc != PP_OK) {
			r->items[i] = placement_failed(call, rc, pending ? why : "out of memory");
			r->items[i]->upload_id = (uint64_t)u->upload_id; /* still open: it expires */
			continue;
		}
		p->already_stored = pr.already_stored;
		p->targets = rpc_call_alloc(call, (pr.n_targets + 1) * sizeof(char *));
		for (size_t k = 0; k < pr.n_targets; k++)
			p->targets[p->n_targets++] = pr.targets[k]->address;
	}
	if (pending != NULL)
		db_replicas_pending(t->db, pending, npending, now);
	free(pending);
	free(nodes);
	call->resp.body_case = PP__V1__RESPONSE__BODY_UPLOAD_BATCH;
	call->resp.upload_batch = r;
	log_debug("upload_batch", "files=%zu opened=%zu", n, nups);
}

#define RECORD_WRITERS 8

struct record_writers {
	struct tracker *t;
	struct commit_one *c;
	size_t n;
	atomic_size_t next;
};

static void *record_writer_main(void *arg)
{
	struct record_writers *w = arg;
	for (size_t i; (i = atomic_fetch_add(&w->next, 1)) < w->n;) {
		struct commit_one *c = &w->c[i];
		if (c->rc != PP_OK || records_write(w->t, c->out.name, c->out.seq) == PP_OK)
			continue;
		c->rc = PP_EUNAVAIL;
		snprintf(c->err, sizeof(c->err),
			 "committed, but its metadata record is not yet on enough workers (retried in"
			 " the background)");
	}
	return NULL;
}

/* As h_commit, a commit is acknowledged once its metadata record is
 * durable on workers; the records of a batch are written by a few threads at
 * once, so the workers' group fdatasync covers many of them. */
static void records_write_many(struct tracker *t, struct commit_one *c, size_t n)
{
	struct record_writers w = {.t = t, .c = c, .n = n};
	atomic_init(&w.next, 0);
	size_t ok = 0;
	for (size_t i = 0; i < n; i++)
		ok += c[i].rc == PP_OK;
	pthread_t th[RECORD_WRITERS];
	size_t started = 0;
	for (size_t k = 0; k + 1 < RECORD_WRITERS && k + 1 < ok; k++) {
		if (pthread_create(&th[started], NULL, record_writer_main, &w) != 0)
			break;
		started++;
	}
	record_writer_main(&w);
	for (size_t k = 0; k < started; k++)
		pthread_join(th[k], NULL);
}

void h_commit_batch(void *svc, struct rpc_call *call)
{
	struct tracker *t = svc;
	if (!handlers_primary_only(t, call))
		return;
	const Pp__V1__CommitBatchRequest *q = call->req->commit_batch;
	size_t n = q->n_commits;
	if (n == 0 || n > BATCH_ITEMS_MAX) {
		rpc_call_fail(call, PP_EINVAL, "a batch has 1..%d commits", BATCH_ITEMS_MAX);
		return;
	}
	struct commit_one *c = calloc(n, sizeof(*c));
	if (c == NULL) {
		rpc_call_fail(call, PP_EINTERNAL, "out of memory");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const Pp__V1__CommitRequest *cq = q->commits[i];
		c[i].upload_id = (int64_t)cq->upload_id;
		c[i].size = cq->size;
		c[i].sha256 = cq->sha256;
		c[i].chunk_count = cq->chunk_count;
		c[i].rc = chunk_id_valid(cq->sha256) ? PP_EUNAVAIL : PP_EINVAL;
		if (c[i].rc == PP_EINVAL)
			snprintf(c[i].err, sizeof(c[i].err), "invalid sha256: want 64 lowercase hex");
	}
	/* Commits whose copies are not all recorded yet are tried again for a
	 * moment, as one commit is (the workers' records may trail the puts). */
	int64_t deadline = time_mono_ms() + BATCH_COMMIT_WAIT_MS;
	for (;;) {
		struct commit_one *todo = calloc(n, sizeof(*todo));
		size_t *at = calloc(n, sizeof(*at));
		size_t k = 0;
		for (size_t i = 0; todo != NULL && at != NULL && i < n; i++) {
			if (c[i].rc == PP_EUNAVAIL) {
				at[k] = i;
				todo[k++] = c[i];
			}
		}
		int64_t now = time_wall_ms();
		db_upload_commit_many(t->db, todo, k, now, now + handlers_grace_ms(t));
		for (size_t j = 0; j < k; j++)
			c[at[j]] = todo[j];
		free(todo);
		free(at);
		bool waiting = false;
		for (size_t i = 0; i < n; i++)
			waiting |= c[i].rc == PP_EUNAVAIL;
		if (!waiting || k == 0 || time_mono_ms() >= deadline)
			break;
		time_sleep_ms(50);
	}
	records_write_many(t, c, n);
	Pp__V1__CommitBatchResponse *r = rpc_call_alloc(call, sizeof(*r));
	pp__v1__commit_batch_response__init(r);
	r->items = rpc_call_alloc(call, n * sizeof(*r->items));
	r->n_items = n;
	size_t ok = 0;
	for (size_t i = 0; i < n; i++) {
		Pp__V1__CommitBatchItem *it = rpc_call_alloc(call, sizeof(*it));
		pp__v1__commit_batch_item__init(it);
		it->status = (Pp__V1__Status)pp_status_from_err(c[i].rc);
		if (c[i].rc == PP_OK) {
			it->file = handlers_file_info(call, &c[i].out);
			ok++;
		} else {
			it->error = rpc_call_strdup(call, c[i].err[0] ? c[i].err : pp_strerror(c[i].rc));
		}
		r->items[i] = it;
	}
	free(c);
	call->resp.body_case = PP__V1__RESPONSE__BODY_COMMIT_BATCH;
	call->resp.commit_batch = r;
	log_info("files_committed", "files=%zu ok=%zu", n, ok);
}

#define PREFIX_PAGE_DEFAULT 256
#define PREFIX_PAGE_MAX 1024
#define PREFIX_CHUNKS_MAX 64

void h_prefix_manifest(void *svc, struct rpc_call *call)
{
	struct tracker *t = svc;
	if (!handlers_current_only(t, call))
		return;
	const Pp__V1__PrefixManifestRequest *q = call->req->prefix_manifest;
	size_t plen = strnlen(q->prefix, PP_NAME_MAX + 1), alen = strnlen(q->after, PP_NAME_MAX + 1);
	if (plen > PP_NAME_MAX || alen > PP_NAME_MAX ||
	    (plen > 0 && name_check(q->prefix, plen) != NULL) ||
	    (alen > 0 && name_check(q->after, alen) != NULL)) {
		rpc_call_fail(call, PP_EINVAL, "invalid prefix or page start");
		return;
	}
	uint32_t limit = q->limit ? q->limit : PREFIX_PAGE_DEFAULT;
	if (limit > PREFIX_PAGE_MAX)
		limit = PREFIX_PAGE_MAX;
	uint32_t max_chunks = q->max_chunks ? q->max_chunks : 1;
	if (max_chunks > PREFIX_CHUNKS_MAX)
		max_chunks = PREFIX_CHUNKS_MAX;
	struct file_rec *files = NULL;
	struct node_rec *nodes = NULL;
	size_t n = 0, nn = 0;
	bool more = false;
	if (db_files_by_prefix(t->db, q->prefix, q->after, limit, &files, &n, &more) != PP_OK ||
	    liveness_snapshot(t->live, &nodes, &nn) != PP_OK) {
		rpc_call_fail(call, PP_EINTERNAL, "store error listing files");
		goto out;
	}
	Pp__V1__PrefixManifestResponse *r = rpc_call_alloc(call, sizeof(*r));
	pp__v1__prefix_manifest_response__init(r);
	r->more = more;
	r->files = rpc_call_alloc(call, (n + 1) * sizeof(*r->files));
	for (size_t i = 0; i < n; i++) {
		/* A larger file comes with its info only (no chunks). */
		uint32_t max = files[i].chunk_count <= max_chunks ? max_chunks : 0;
		Pp__V1__ManifestResponse *m = handlers_manifest(t, call, &files[i], 0, max, nodes, nn);
		if (m == NULL) {
			rpc_call_fail(call, PP_EINTERNAL, "store error reading a manifest");
			goto out;
		}
		r->files[r->n_files++] = m;
	}
	call->resp.body_case = PP__V1__RESPONSE__BODY_PREFIX_MANIFEST;
	call->resp.prefix_manifest = r;
out:
	free(files);
	free(nodes);
}
