/* Batches of small files (pp_put_batch; proto/pp/v1/rpc.proto,
 * UploadBatchRequest): three round trips for up to PP_PUT_BATCH_MAX files
 * instead of four per file.
 *
 *   1. upload_batch: the tracker opens a session per file and places its
 *      one chunk (a one-chunk file's SHA-256 is its chunk id: one hash);
 *   2. put_chunks: chunks that share a pipeline go together, each group to
 *      its first worker, which verifies, stores, registers and passes the
 *      group on; groups travel in parallel;
 *   3. commit_batch: one durable transaction commits every file stored.
 *
 * Every file succeeds or fails on its own; one that fails at any step (or
 * any file when the tracker predates batches) is uploaded again alone
 * through pp_upload_*, which has the last word on its error. */
#define _GNU_SOURCE
#include "client_internal.h"
#include "hash.h"
#include "timeutil.h"
#include "wire.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH_PAYLOAD_MAX (8u << 20) /* bytes per put_chunks */
#define BATCH_TARGETS_MAX 16
#define BATCH_SENDERS_MAX 8

/* One item as the batch sees it. */
struct bitem {
	struct pp_put_item *it;
	char id[PP_SHA256_HEX];          /* its chunk id and SHA-256 */
	uint64_t upload_id;
	bool placed, stored, done;
	char targets[BATCH_TARGETS_MAX][257];
	size_t ntargets;
	int group;                       /* put_chunks group, -1 when none */
};

struct batch {
	pp_client *c;
	struct bitem *b;
	size_t n;
	/* put_chunks groups: items with the same pipeline, in payload order */
	size_t *order;                   /* item indices, grouped */
	size_t *group_start;             /* ngroups + 1 offsets into order */
	size_t ngroups;
	size_t next_group;               /* lock */
	pthread_mutex_t lock;
};

/* ---- upload_batch -------------------------------------------------------- */

struct place_dec {
	struct batch *bt;
	size_t next;
};

static bool encode_items(pb_ostream_t *s, const pb_field_t *f, void *const *arg)
{
	const struct batch *bt = *arg;
	for (size_t i = 0; i < bt->n; i++) {
		pp_v1_UploadBatchItem pi = pp_v1_UploadBatchItem_init_zero;
		snprintf(pi.name, sizeof(pi.name), "%s", bt->b[i].it->name);
		pi.size = bt->b[i].it->len;
		if (pi.size > 0)
			snprintf(pi.chunk_id, sizeof(pi.chunk_id), "%s", bt->b[i].id);
		if (!pb_encode_tag_for_field(s, f) ||
		    !pb_encode_submessage(s, pp_v1_UploadBatchItem_fields, &pi))
			return false;
	}
	return true;
}

static bool decode_placement(pb_istream_t *s, const pb_field_t *f, void **arg)
{
	(void)f;
	struct place_dec *d = *arg;
	pp_v1_UploadBatchPlacement p = pp_v1_UploadBatchPlacement_init_zero;
	if (!pb_decode(s, pp_v1_UploadBatchPlacement_fields, &p))
		return false;
	if (d->next >= d->bt->n)
		PB_RETURN_ERROR(s, "more placements than files");
	struct bitem *b = &d->bt->b[d->next++];
	if (p.status != pp_v1_Status_STATUS_OK)
		return true; /* this one goes the one-file way */
	b->upload_id = p.upload_id;
	b->placed = true;
	b->stored = p.already_stored || b->it->len == 0;
	for (pb_size_t k = 0; k < p.targets_count && k < BATCH_TARGETS_MAX; k++)
		snprintf(b->targets[b->ntargets++], sizeof(b->targets[0]), "%s", p.targets[k]);
	if (!b->stored && b->ntargets == 0)
		b->placed = false;
	return true;
}

static int place_all(struct batch *bt, uint32_t replication, struct pp_error *err)
{
	pp_v1_Request *req = calloc(1, sizeof(*req));
	pp_v1_Response *resp = calloc(1, sizeof(*resp));
	int rc;
	if (req == NULL || resp == NULL) {
		rc = pp_fail(err, PP_EINTERNAL, "out of memory");
		goto out;
	}
	struct place_dec d = {.bt = bt};
	req->has_upload_batch = true;
	req->upload_batch.replication = replication;
	req->upload_batch.items.funcs.encode = encode_items;
	req->upload_batch.items.arg = bt;
	resp->upload_batch.items.funcs.decode = decode_placement;
	resp->upload_batch.items.arg = &d;
	rc = client_meta_call(bt->c, req, resp, NULL, bt->c->timeout_ms, err);
	if (rc == PP_OK && d.next != bt->n)
		rc = pp_fail(err, PP_EINTERNAL, "upload_batch answered %zu of %zu files", d.next, bt->n);
out:
	free(req);
	free(resp);
	return rc;
}

/* ---- put_chunks ------------------------------------------------------------ */

static bool same_pipeline(const struct bitem *a, const struct bitem *b)
{
	if (a->ntargets != b->ntargets)
		return false;
	for (size_t k = 0; k < a->ntargets; k++)
		if (strcmp(a->targets[k], b->targets[k]) != 0)
			return false;
	return true;
}

/* Groups the items still to send by pipeline, each group within
 * PP_PUT_BATCH_MAX chunks and BATCH_PAYLOAD_MAX bytes. */
static int make_groups(struct batch *bt)
{
	bt->order = calloc(bt->n + 1, sizeof(*bt->order));
	bt->group_start = calloc(bt->n + 2, sizeof(*bt->group_start));
	if (bt->order == NULL || bt->group_start == NULL)
		return PP_EINTERNAL;
	size_t k = 0;
	for (size_t i = 0; i < bt->n; i++)
		bt->b[i].group = -1;
	for (size_t i = 0; i < bt->n; i++) {
		struct bitem *lead = &bt->b[i];
		if (!lead->placed || lead->stored || lead->group >= 0)
			continue;
		size_t count = 0, bytes = 0;
		bt->group_start[bt->ngroups] = k;
		for (size_t j = i; j < bt->n; j++) {
			struct bitem *b = &bt->b[j];
			if (!b->placed || b->stored || b->group >= 0 || !same_pipeline(lead, b))
				continue;
			if (count == PP_PUT_BATCH_MAX || bytes + b->it->len > BATCH_PAYLOAD_MAX) {
				if (count > 0)
					break; /* the rest starts another group */
			}
			b->group = (int)bt->ngroups;
			bt->order[k++] = j;
			count++;
			bytes += b->it->len;
		}
		bt->ngroups++;
	}
	bt->group_start[bt->ngroups] = k;
	return PP_OK;
}

static void put_group(struct batch *bt, size_t g)
{
	size_t first = bt->group_start[g], count = bt->group_start[g + 1] - first;
	const struct bitem *lead = &bt->b[bt->order[first]];
	size_t bytes = 0;
	for (size_t k = 0; k < count; k++)
		bytes += bt->b[bt->order[first + k]].it->len;
	uint8_t *payload = malloc(bytes ? bytes : 1);
	pp_v1_Request *req = calloc(1, sizeof(*req));
	pp_v1_Response *resp = calloc(1, sizeof(*resp));
	if (payload == NULL || req == NULL || resp == NULL)
		goto out;
	req->has_put_chunks = true;
	pp_v1_PutChunksRequest *p = &req->put_chunks;
	size_t at = 0;
	for (size_t k = 0; k < count; k++) {
		const struct bitem *b = &bt->b[bt->order[first + k]];
		pp_v1_ChunkRef *ref = &p->chunks[p->chunks_count++];
		snprintf(ref->id, sizeof(ref->id), "%s", b->id);
		ref->size = (uint32_t)b->it->len;
		memcpy(payload + at, b->it->data, b->it->len);
		at += b->it->len;
	}
	for (size_t t = 1; t < lead->ntargets; t++)
		snprintf(p->forward[p->forward_count++], sizeof(p->forward[0]), "%s", lead->targets[t]);
	struct pp_error e;
	if (wire_call(bt->c, lead->targets[0], req, payload, bytes, resp, NULL, RPC_TIMEOUT_DATA_MS,
		      &e) != PP_OK || resp->put_chunks.stored_count != count)
		goto out;
	for (size_t k = 0; k < count; k++) {
		struct bitem *b = &bt->b[bt->order[first + k]];
		b->stored = resp->put_chunks.stored[k] >= lead->ntargets;
	}
out:
	free(payload);
	free(req);
	free(resp);
}

static void *sender_main(void *arg)
{
	struct batch *bt = arg;
	for (;;) {
		pthread_mutex_lock(&bt->lock);
		size_t g = bt->next_group < bt->ngroups ? bt->next_group++ : bt->ngroups;
		pthread_mutex_unlock(&bt->lock);
		if (g == bt->ngroups)
			return NULL;
		put_group(bt, g);
	}
}

static void put_all(struct batch *bt)
{
	if (make_groups(bt) != PP_OK || bt->ngroups == 0)
		return;
	pthread_t th[BATCH_SENDERS_MAX];
	size_t want = bt->ngroups - 1 < BATCH_SENDERS_MAX ? bt->ngroups - 1 : BATCH_SENDERS_MAX;
	size_t started = 0;
	while (started < want && pthread_create(&th[started], NULL, sender_main, bt) == 0)
		started++;
	sender_main(bt); /* this thread sends too */
	for (size_t i = 0; i < started; i++)
		pthread_join(th[i], NULL);
}

/* ---- commit_batch ---------------------------------------------------------- */

struct commit_dec {
	struct batch *bt;
	size_t *which; /* commit k is item which[k] */
	size_t n, next;
};

static bool decode_committed(pb_istream_t *s, const pb_field_t *f, void **arg)
{
	(void)f;
	struct commit_dec *d = *arg;
	pp_v1_CommitBatchItem ci = pp_v1_CommitBatchItem_init_zero;
	if (!pb_decode(s, pp_v1_CommitBatchItem_fields, &ci))
		return false;
	if (d->next >= d->n)
		PB_RETURN_ERROR(s, "more commits answered than asked");
	struct bitem *b = &d->bt->b[d->which[d->next++]];
	if (ci.status == pp_v1_Status_STATUS_OK && ci.has_file) {
		wire_file_from_pb(&ci.file, &b->it->file);
		b->done = true;
	}
	return true;
}

static void commit_all(struct batch *bt)
{
	pp_v1_Request *req = calloc(1, sizeof(*req));
	pp_v1_Response *resp = calloc(1, sizeof(*resp));
	size_t *which = calloc(bt->n + 1, sizeof(*which));
	if (req == NULL || resp == NULL || which == NULL)
		goto out;
	req->has_commit_batch = true;
	pp_v1_CommitBatchRequest *cb = &req->commit_batch;
	for (size_t i = 0; i < bt->n; i++) {
		const struct bitem *b = &bt->b[i];
		if (!b->placed || !b->stored)
			continue;
		pp_v1_CommitRequest *c = &cb->commits[cb->commits_count];
		c->upload_id = b->upload_id;
		c->size = b->it->len;
		snprintf(c->sha256, sizeof(c->sha256), "%s", b->id);
		c->chunk_count = b->it->len ? 1 : 0;
		which[cb->commits_count++] = i;
	}
	if (cb->commits_count == 0)
		goto out;
	struct commit_dec d = {.bt = bt, .which = which, .n = cb->commits_count};
	resp->commit_batch.items.funcs.decode = decode_committed;
	resp->commit_batch.items.arg = &d;
	struct pp_error e;
	client_meta_call(bt->c, req, resp, NULL, bt->c->timeout_ms, &e);
out:
	free(which);
	free(req);
	free(resp);
}

/* ---- the whole batch ------------------------------------------------------- */

static int put_alone(pp_client *c, struct pp_put_item *it, uint32_t replication)
{
	struct pp_put_options po = {.name = it->name, .replication = replication};
	pp_upload *u = NULL;
	it->rc = pp_upload_begin(c, &po, it->len, &u, &it->err);
	if (it->rc == PP_OK && it->len > 0)
		it->rc = pp_upload_write(u, it->data, it->len, &it->err);
	if (it->rc == PP_OK)
		it->rc = pp_upload_commit(u, &it->file, &it->err);
	else if (u != NULL)
		pp_upload_abort(u);
	return it->rc;
}

int pp_put_batch(pp_client *c, struct pp_put_item *items, size_t n, uint32_t replication,
		 struct pp_error *err)
{
	pp_error_clear(err);
	if (c == NULL || (items == NULL && n > 0) || n > PP_PUT_BATCH_MAX)
		return pp_fail(err, PP_EINVAL, "a batch is 0..%d items", PP_PUT_BATCH_MAX);
	if (replication != 0 && (replication < 2 || replication > 16))
		return pp_fail(err, PP_EINVAL, "replication must be 2..16 (got %u)", replication);
	if (c->direct)
		return pp_fail(err, PP_EINVAL, "uploads need the tracker (not available through a node)");
	struct batch bt = {.c = c, .n = n};
	bt.b = calloc(n ? n : 1, sizeof(*bt.b));
	if (bt.b == NULL)
		return pp_fail(err, PP_EINTERNAL, "out of memory");
	pthread_mutex_init(&bt.lock, NULL);
	bool batchable = n > 1;
	for (size_t i = 0; i < n; i++) {
		struct pp_put_item *it = &items[i];
		pp_error_clear(&it->err);
		it->rc = pp_name_valid(it->name, &it->err);
		bt.b[i].it = it;
		if (it->rc == PP_OK && (it->data == NULL && it->len > 0))
			it->rc = pp_fail(&it->err, PP_EINVAL, "no data");
		if (it->rc != PP_OK || sha256_hex(it->data ? it->data : "", it->len, bt.b[i].id) != 0)
			bt.b[i].done = true; /* refused: rc says why */
		batchable &= it->len <= PP_PUT_BATCH_FILE_MAX;
	}
	struct pp_error ignored;
	if (batchable && place_all(&bt, replication, &ignored) == PP_OK) {
		put_all(&bt);
		commit_all(&bt);
	}
	int first = PP_OK;
	for (size_t i = 0; i < n; i++) {
		struct bitem *b = &bt.b[i];
		if (b->done && b->it->rc == PP_OK) {
			continue; /* committed in the batch */
		}
		if (!b->done)
			put_alone(c, b->it, replication);
		if (b->it->rc != PP_OK && first == PP_OK) {
			first = b->it->rc;
			if (err)
				*err = b->it->err;
		}
	}
	free(bt.order);
	free(bt.group_start);
	pthread_mutex_destroy(&bt.lock);
	free(bt.b);
	return first;
}
