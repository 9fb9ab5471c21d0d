/* RPC handlers of the tracker; see handlers.h and proto/pp/v1/rpc.proto.
 *
 * Handlers run on the rpc_server pool, many at once. Everything they return
 * is allocated with rpc_call_alloc (freed after the reply is sent). Store
 * calls take the store's lock themselves; no handler holds a lock across
 * the network. */
#define _GNU_SOURCE
#include "handlers.h"
#include "handlers_s3.h"
#include "db.h"
#include "db_layout.h"
#include "errors.h"
#include "flags.h"
#include "events.h"
#include "gc.h"
#include "inventory.h"
#include "liveness.h"
#include "log.h"
#include "placement.h"
#include "repair.h"
#include "timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MANIFEST_PAGE_DEFAULT 1024
#define MANIFEST_PAGE_MAX 4096
#define LIST_DEFAULT 100
#define LIST_MAX 1000
#define LOCATE_MAX 4096
#define COMMIT_WAIT_MS 3000 /* replicas_added may trail the client's put by a moment */

static int64_t grace_ms(const struct tracker *t) { return (int64_t)t->cfg.gc_grace_s * 1000; }

/* Validates a name from the wire; fails the call and returns false if bad. */
static bool name_ok(struct rpc_call *call, const char *name)
{
	const char *why = name_check(name, strlen(name));
	if (why != NULL) {
		rpc_call_fail(call, PP_EINVAL, "invalid name: %s", why);
		return false;
	}
	return true;
}

static bool chunk_ok(struct rpc_call *call, const char *id)
{
	if (!chunk_id_valid(id)) {
		rpc_call_fail(call, PP_EINVAL, "invalid chunk id \"%.70s\": want 64 lowercase hex", id);
		return false;
	}
	return true;
}

/* Worker ids as heartbeats carry them: 1..128 printable, no spaces. A
 * report may arrive before the node's first heartbeat; its replicas count
 * once the node is known and up. */
static bool node_id_ok(struct rpc_call *call, const char *id)
{
	size_t len = strlen(id);
	bool ok = len > 0 && len < NODE_ID_MAX;
	for (const char *s = id; ok && *s; s++)
		ok = (unsigned char)*s > ' ' && *s != 0x7f;
	if (!ok)
		rpc_call_fail(call, PP_EINVAL, "invalid node id");
	return ok;
}

static const struct node_rec *node_by_id(const struct node_rec *nodes, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(nodes[i].id, id) == 0)
			return &nodes[i];
	return NULL;
}

static Pp__V1__FileInfo *file_info(struct rpc_call *call, const struct file_rec *f)
{
	Pp__V1__FileInfo *fi = rpc_call_alloc(call, sizeof(*fi));
	pp__v1__file_info__init(fi);
	fi->name = rpc_call_strdup(call, f->name);
	fi->size = f->size;
	fi->sha256 = rpc_call_strdup(call, f->sha256);
	fi->replication = f->replication;
	fi->chunk_size = f->chunk_size;
	fi->chunk_count = f->chunk_count;
	fi->created_at_ms = f->created_at_ms;
	fi->version = f->version;
	fi->health = (Pp__V1__FileHealth)f->health;
	return fi;
}

Pp__V1__FileInfo *handlers_file_info(struct rpc_call *call, const struct file_rec *f)
{
	return file_info(call, f);
}

static int replica_rank(const Pp__V1__Replica *r)
{
	return r->state == PP__V1__REPLICA_STATE__REPLICA_OK ? 0 : (int)r->state + 1;
}

static int by_usefulness(const void *a, const void *b)
{
	const Pp__V1__Replica *x = *(Pp__V1__Replica *const *)a, *y = *(Pp__V1__Replica *const *)b;
	if (replica_rank(x) != replica_rank(y))
		return replica_rank(x) - replica_rank(y);
	return x->load < y->load ? -1 : x->load > y->load;
}

/* Fills loc's replicas: good ones first, least loaded first. */
static int fill_location(struct tracker *t, struct rpc_call *call, Pp__V1__ChunkLocation *loc,
			 const struct node_rec *nodes, size_t nn)
{
	struct replica_rec *reps = NULL;
	size_t nr = 0;
	int rc = db_chunk_replicas(t->db, loc->id, &reps, &nr);
	if (rc != PP_OK)
		return rc;
	loc->replicas = rpc_call_alloc(call, (nr + 1) * sizeof(*loc->replicas));
	for (size_t i = 0; i < nr; i++) {
		Pp__V1__Replica *r = rpc_call_alloc(call, sizeof(*r));
		pp__v1__replica__init(r);
		const struct node_rec *n = node_by_id(nodes, nn, reps[i].node_id);
		r->node = rpc_call_strdup(call, reps[i].node_id);
		r->address = rpc_call_strdup(call, n ? n->address : "");
		r->load = n ? n->inflight : 0;
		if (reps[i].state == REPLICA_ST_CORRUPT)
			r->state = PP__V1__REPLICA_STATE__REPLICA_CORRUPT;
		else if (reps[i].state == REPLICA_ST_PENDING)
			r->state = PP__V1__REPLICA_STATE__REPLICA_PENDING;
		else if (n == NULL || n->liveness == LIVE_DEAD)
			r->state = PP__V1__REPLICA_STATE__REPLICA_DEAD;
		else if (n->liveness == LIVE_SUSPECT)
			r->state = PP__V1__REPLICA_STATE__REPLICA_SUSPECT;
		else
			r->state = PP__V1__REPLICA_STATE__REPLICA_OK;
		loc->replicas[loc->n_replicas++] = r;
	}
	qsort(loc->replicas, loc->n_replicas, sizeof(*loc->replicas), by_usefulness);
	free(reps);
	return PP_OK;
}

/* ---- ping, upload ---- */

static void h_ping(void *svc, struct rpc_call *call)
{
	struct tracker *t = svc;
	Pp__V1__PingResponse *p = rpc_call_alloc(call, sizeof(*p));
	pp__v1__ping_response__init(p);
	p->node_id = "tracker";
	p->role = "tracker";
	p->version = PP_VERSION;
	p->uptime_ms = time_mono_ms() - t->started_mono_ms;
	call->resp.body_case = PP__V1__RESPONSE__BODY_PING;
	call->resp.ping = p;
}

static size_t placeable_count(struct tracker *t)
{
	struct node_rec *nodes = NULL;
	size_t nn = 0, k = 0;
	int64_t wall = time_wall_ms();
	if (liveness_snapshot(t->live, &nodes, &nn) == PP_OK)
		for (size_t i = 0; i < nn; i++)
			k += node_placeable(&nodes[i], wall);
	free(nodes);
	return k;
}

static void h_upload_begin(void *svc, struct rpc_call *call)
{
	struct tracker *t = svc;
	const Pp__V1__UploadBeginRequest *q = call->req->upload_begin;
	if (!name_ok(call, q->name))
		return;
	uint32_t repl = q->replication ? q->replication : (uint32_t)t->cfg.replication;
	if (repl < TRACKER_REPLICATION_MIN || repl > TRACKER_REPLICATION_MAX) {
		rpc_call_fail(call, PP_EINVAL, "replication %u is out of range (%d..%d)", repl,
			      TRACKER_REPLICATION_MIN, TRACKER_REPLICATION_MAX);
		return;
	}
	size_t live = placeable_count(t);
	if (live < repl) {
		rpc_call_fail(call, PP_EUNAVAIL,
			      "not enough live workers: replication %u needs %u, %zu available", repl,
			      repl, live);
		return;
	}
	int64_t id;
	int rc = db_upload_begin(t->db, q->name, repl, (uint32_t)t->cfg.chunk_size, q->size,
				 time_wall_ms(), &id);
	if (rc != PP_OK) {
		rpc_call_fail(call, rc, "could not open the upload session");
		return;
	}
	Pp__V1__UploadBeginResponse *r = rpc_call_alloc(call, sizeof(*r));
	pp__v1__upload_begin_response__init(r);
	r->upload_id = (uint64_t)id;
	r->chunk_size = (uint32_t)t->cfg.chunk_size;
	r->replication = repl;
	call->resp.body_case = PP__V1__RESPONSE__BODY_UPLOAD_BEGIN;
	call->resp.upload_begin = r;
	log_debug("upload_begin", "upload=%lld name=\"%s\" replication=%u", (long long)id, q->name,
		  repl);
}

static void h_place(void *svc, struct rpc_call *call)
{
	struct tracker *t = svc;
	const Pp__V1__PlaceRequest *q = call->req->place;
	if (!chunk_ok(call, q->chunk_id))
		return;
	struct upload_rec u;
	if (db_upload_get(t->db, (int64_t)q->upload_id, &u) != PP_OK) {
		rpc_call_fail(call, PP_ENOTFOUND, "no upload %llu (expired, aborted or committed)",
			      (unsigned long long)q->upload_id);
		return;
	}
	if (q->size == 0 || q->size > u.chunk_size) {
		rpc_call_fail(call, PP_EINVAL, "chunk size %u is not in 1..%u", q->size, u.chunk_size);
		return;
	}
	int64_t now = time_wall_ms();
	int rc = db_upload_place(t->db, u.id, q->index, q->chunk_id, q->size, now,
				 now + grace_ms(t));
	if (rc != PP_OK) {
		rpc_call_fail(call, rc, "could not record chunk %llu", (unsigned long long)q->index);
		return;
	}
	Pp__V1__PlaceResponse *r = rpc_call_alloc(call, sizeof(*r));
	pp__v1__place_response__init(r);
	call->resp.body_case = PP__V1__RESPONSE__BODY_PLACE;
	call->resp.place = r;

	struct replica_rec *reps = NULL;
	struct node_rec *nodes = NULL;
	size_t nr = 0, nn = 0, nz = 0, ne = 0;
	if (db_chunk_replicas(t->db, q->chunk_id, &reps, &nr) != PP_OK ||
	    liveness_snapshot(t->live, &nodes, &nn) != PP_OK) {
		rpc_call_fail(call, PP_EINTERNAL, "store error while placing");
		goto out;
	}
	const char **exclude = rpc_call_alloc(call, (nr + 1) * sizeof(char *));
	const char **zones = rpc_call_alloc(call, (nr + 1) * sizeof(char *));
	size_t have = 0;
	for (size_t i = 0; i < nr; i++) {
		const struct node_rec *n = node_by_id(nodes, nn, reps[i].node_id);
		if (n == NULL || n->liveness != LIVE_UP || reps[i].state != REPLICA_ST_OK)
			continue;
		exclude[ne++] = n->id;
		if (!n->draining) {
			zones[nz++] = n->zone;
			have++;
		}
	}
	if (have >= u.replication) {
		r->already_stored = true; /* dedup: the client does not send it */
		goto out;
	}
	size_t want = u.replication - have;
	size_t *pick = rpc_call_alloc(call, want * sizeof(*pick));
	rc = placement_choose(q->chunk_id, q->size, nodes, nn, exclude, ne, zones, nz, NULL, now,
			      want, pick);
	if (rc != PP_OK) {
		rpc_call_fail(call, PP_EUNAVAIL,
			      "not enough live workers with room: chunk needs %zu more of %u copies",
			      want, u.replication);
		goto out;
	}
	r->targets = rpc_call_alloc(call, want * sizeof(*r->targets));
	for (size_t i = 0; i < want; i++) {
		Pp__V1__Replica *x = rpc_call_alloc(call, sizeof(*x));
		pp__v1__replica__init(x);
		x->node = rpc_call_strdup(call, nodes[pick[i]].id);
		x->address = rpc_call_strdup(call, nodes[pick[i]].address);
		x->state = PP__V1__REPLICA_STATE__REPLICA_PENDING;
		x->load = nodes[pick[i]].inflight;
		r->targets[r->n_targets++] = x;
		db_replica_pending(t->db, nodes[pick[i]].id, q->chunk_id, now);
	}
out:
	free(reps);
	free(nodes);
}

int handlers_commit(struct tracker *t, int64_t upload_id, uint64_t size, const char *sha256,
		    uint64_t chunk_count, struct file_rec *f, char *err, size_t err_len)
{
	int rc;
	int64_t deadline = time_mono_ms() + COMMIT_WAIT_MS;
	for (;;) {
		err[0] = '\0';
		rc = db_upload_commit(t->db, upload_id, size, sha256, chunk_count, time_wall_ms(), f, err,
				      err_len);
		if (rc != PP_EUNAVAIL || time_mono_ms() >= deadline)
			break;
		time_sleep_ms(50);
	}
	return rc;
}

static void h_commit(void *svc, struct rpc_call *call)
{
	struct tracker *t = svc;
	const Pp__V1__CommitRequest *q = call->req->commit;
	if (!chunk_id_valid(q->sha256)) {
		rpc_call_fail(call, PP_EINVAL, "invalid sha256: want 64 lowercase hex");
		return;
	}
	/* S3 metadata rides on the commit (handlers_s3.c). */
	if ((q->meta != NULL || q->bucket[0] != '\0') && !s3_commit_meta(t, call, q))
		return;
	struct file_rec f;
	char err[DB_ERR_MAX];
	int rc = handlers_commit(t, (int64_t)q->upload_id, q->size, q->sha256, q->chunk_count, &f,
				 err, sizeof(err));
	if (rc != PP_OK) {
		rpc_call_fail(call, rc, "commit refused: %s", err);
		return;
	}
	call->resp.body_case = PP__V1__RESPONSE__BODY_FILE;
	call->resp.file = file_info(call, &f);
	log_info("file_committed", "name=\"%s\" version=%llu size=%llu chunks=%llu", f.name,
		 (unsigned long long)f.version, (unsigned long long)f.size,
		 (unsigned long long)f.chunk_count);
	if (!s3_name_hidden(f.name)) /* multipart parts are not files users see */
		events_file(t->events, "file_committed", f.name, f.size);
	if (f.version > 1)
		gc_wake(t->gc); /* the old version's chunks may be unreferenced now */
}

static void h_upload_abort(void *svc, struct rpc_call *call)
{
	struct tracker *t = svc;
	uint64_t id = call->req->upload_abort->upload_id;
	if (db_upload_abort(t->db, (int64_t)id) != PP_OK) {
		rpc_call_fail(call, PP_ENOTFOUND, "no upload %llu", (unsigned long long)id);
		return;
	}
	gc_wake(t->gc);
}

/* ---- reading ---- */

static void h_manifest(void *svc, struct rpc_call *call)
{
	struct tracker *t = svc;
	const Pp__V1__ManifestRequest *q = call->req->manifest;
	if (!name_ok(call, q->name))
		return;
	struct file_rec f;
	if (db_file_get(t->db, q->name, &f) != PP_OK) {
		rpc_call_fail(call, PP_ENOTFOUND, "no file named \"%s\"", q->name);
		return;
	}
	db_file_health(t->db, &f);
	uint32_t max = q->max_chunks ? q->max_chunks : MANIFEST_PAGE_DEFAULT;
	if (max > MANIFEST_PAGE_MAX)
		max = MANIFEST_PAGE_MAX;
	struct chunk_rec *chunks = NULL;
	struct node_rec *nodes = NULL;
	size_t n = 0, nn = 0;
	/* Chunks may differ in size: offsets come from the store (db_layout.h). */
	uint64_t first = q->first_chunk, offset = q->first_offset;
	int lrc = PP_OK;
	if (q->by_offset) {
		lrc = db_chunk_at_offset(t->db, f.id, q->at_offset, &first, &offset);
		if (lrc == PP_ENOTFOUND) {
			first = f.chunk_count; /* past the end: an empty page */
			offset = f.size;
			lrc = PP_OK;
		}
	} else if (first > 0 && offset == 0) {
		lrc = db_chunk_offset(t->db, f.id, first, &offset);
	}
	if (lrc != PP_OK || db_file_chunks(t->db, f.id, first, max, &chunks, &n) != PP_OK ||
	    liveness_snapshot(t->live, &nodes, &nn) != PP_OK) {
		rpc_call_fail(call, PP_EINTERNAL, "store error reading the manifest");
		goto out;
	}
	Pp__V1__ManifestResponse *m = rpc_call_alloc(call, sizeof(*m));
	pp__v1__manifest_response__init(m);
	m->file = file_info(call, &f);
	m->chunks = rpc_call_alloc(call, (n + 1) * sizeof(*m->chunks));
	for (size_t i = 0; i < n; i++) {
		Pp__V1__ChunkLocation *loc = rpc_call_alloc(call, sizeof(*loc));
		pp__v1__chunk_location__init(loc);
		loc->index = chunks[i].index;
		loc->id = rpc_call_strdup(call, chunks[i].id);
		loc->size = chunks[i].size;
		loc->offset = offset;
		offset += chunks[i].size;
		fill_location(t, call, loc, nodes, nn);
		m->chunks[m->n_chunks++] = loc;
	}
	call->resp.body_case = PP__V1__RESPONSE__BODY_MANIFEST;
	call->resp.manifest = m;
out:
	free(chunks);
	free(nodes);
}

static void h_list(void *svc, struct rpc_call *call)
{
	struct tracker *t = svc;
	const Pp__V1__ListRequest *q = call->req->list;
	if (q->query[0] != '\0' && !name_ok(call, q->query))
		return;
	uint32_t limit = q->limit ? q->limit : LIST_DEFAULT;
	if (limit > LIST_MAX)
		limit = LIST_MAX;
	struct file_rec *files = NULL;
	size_t n = 0;
	uint64_t total = 0;
	if (db_list(t->db, q->query, limit, q->offset, &files, &n, &total) != PP_OK) {
		rpc_call_fail(call, PP_EINTERNAL, "store error listing files");
		free(files);
		return;
	}
	Pp__V1__ListResponse *r = rpc_call_alloc(call, sizeof(*r));
	pp__v1__list_response__init(r);
	r->total = total;
	r->files = rpc_call_alloc(call, (n + 1) * sizeof(*r->files));
	for (size_t i = 0; i < n; i++) {
		db_file_health(t->db, &files[i]);
		r->files[r->n_files++] = file_info(call, &files[i]);
	}
	call->resp.body_case = PP__V1__RESPONSE__BODY_LIST;
	call->resp.list = r;
	free(files);
}

static void h_delete_file(void *svc, struct rpc_call *call)
{
	struct tracker *t = svc;
	const char *name = call->req->delete_file->name;
	if (!name_ok(call, name))
		return;
	struct file_rec f;
	if (db_file_delete(t->db, name, time_wall_ms(), &f) != PP_OK) {
		rpc_call_fail(call, PP_ENOTFOUND, "no file named \"%s\"", name);
		return;
	}
	log_info("file_deleted", "name=\"%s\" version=%llu", f.name, (unsigned long long)f.version);
	events_file(t->events, "file_deleted", f.name, f.size);
	gc_wake(t->gc);
	call->resp.body_case = PP__V1__RESPONSE__BODY_FILE;
	call->resp.file = file_info(call, &f);
}

static void h_locate(void *svc, struct rpc_call *call)
{
	struct tracker *t = svc;
	const Pp__V1__LocateRequest *q = call->req->locate;
	if (q->n_chunk_ids > LOCATE_MAX) {
		rpc_call_fail(call, PP_ETOOLARGE, "at most %d chunk ids per locate", LOCATE_MAX);
		return;
	}
	for (size_t i = 0; i < q->n_chunk_ids; i++)
		if (!chunk_ok(call, q->chunk_ids[i]))
			return;
	struct node_rec *nodes = NULL;
	size_t nn = 0;
	if (liveness_snapshot(t->live, &nodes, &nn) != PP_OK) {
		rpc_call_fail(call, PP_EINTERNAL, "out of memory");
		return;
	}
	Pp__V1__LocateResponse *r = rpc_call_alloc(call, sizeof(*r));
	pp__v1__locate_response__init(r);
	r->chunks = rpc_call_alloc(call, (q->n_chunk_ids + 1) * sizeof(*r->chunks));
	for (size_t i = 0; i < q->n_chunk_ids; i++) {
		struct chunk_rec c;
		Pp__V1__ChunkLocation *loc = rpc_call_alloc(call, sizeof(*loc));
		pp__v1__chunk_location__init(loc);
		loc->index = i;
		loc->id = rpc_call_strdup(call, q->chunk_ids[i]);
		if (db_chunk_get(t->db, q->chunk_ids[i], &c) == PP_OK) {
			loc->size = c.size;
			fill_location(t, call, loc, nodes, nn);
		}
		r->chunks[r->n_chunks++] = loc;
	}
	call->resp.body_case = PP__V1__RESPONSE__BODY_LOCATE;
	call->resp.locate = r;
	free(nodes);
}

/* ---- nodes, health, operations ---- */

static Pp__V1__NodeInfo *node_info(struct rpc_call *call, const struct node_rec *n, int64_t wall)
{
	Pp__V1__NodeInfo *x = rpc_call_alloc(call, sizeof(*x));
	pp__v1__node_info__init(x);
	x->id = rpc_call_strdup(call, n->id);
	x->address = rpc_call_strdup(call, n->address);
	x->zone = rpc_call_strdup(call, n->zone);
	x->state = (Pp__V1__NodeState)node_state_of(n, wall);
	x->capacity = n->capacity;
	x->used = n->used;
	x->chunks = n->chunks;
	x->last_heartbeat_ms = n->last_heartbeat_ms ? wall - n->last_heartbeat_ms : -1;
	x->inflight = n->inflight;
	x->started_at_ms = n->started_at_ms;
	x->disk_full = n->disk_full;
	return x;
}

static void h_nodes(void *svc, struct rpc_call *call)
{
	struct tracker *t = svc;
	struct node_rec *nodes = NULL;
	size_t nn = 0;
	if (liveness_snapshot(t->live, &nodes, &nn) != PP_OK) {
		rpc_call_fail(call, PP_EINTERNAL, "out of memory");
		return;
	}
	int64_t wall = time_wall_ms();
	Pp__V1__NodesResponse *r = rpc_call_alloc(call, sizeof(*r));
	pp__v1__nodes_response__init(r);
	r->nodes = rpc_call_alloc(call, (nn + 1) * sizeof(*r->nodes));
	for (size_t i = 0; i < nn; i++) {
		Pp__V1__NodeInfo *x = node_info(call, &nodes[i], wall);
		if (nodes[i].draining)
			db_node_usage(t->db, nodes[i].id, &x->drain_chunks_left, &x->drain_bytes_left);
		r->nodes[r->n_nodes++] = x;
	}
	call->resp.body_case = PP__V1__RESPONSE__BODY_NODES;
	call->resp.nodes = r;
	free(nodes);
}

int tracker_health(struct tracker *t, Pp__V1__Health *h)
{
	struct health_counts c;
	int rc = db_health(t->db, &c);
	if (rc != PP_OK)
		return rc;
	struct node_rec *nodes = NULL;
	size_t nn = 0;
	if (liveness_snapshot(t->live, &nodes, &nn) != PP_OK)
		return PP_EINTERNAL;
	int64_t wall = time_wall_ms();
	for (size_t i = 0; i < nn; i++) {
		int s = node_state_of(&nodes[i], wall);
		if (s == PP__V1__NODE_STATE__NODE_UP)
			h->nodes_up++;
		else if (s == PP__V1__NODE_STATE__NODE_DEAD || s == PP__V1__NODE_STATE__NODE_SUSPECT)
			h->nodes_down++;
	}
	free(nodes);
	h->chunks = c.chunks;
	h->under_replicated = c.under_replicated;
	h->lost = c.lost;
	h->bytes_stored = c.bytes_stored;
	h->files = c.files;
	struct repair_stats s;
	repair_stats_get(t->repair, &s);
	h->repairs_in_flight = s.in_flight;
	h->repairs_queued = s.queued;
	h->repairs_done = s.done;
	h->repair_bytes_done = s.bytes_done;
	h->repair_bytes_left = s.bytes_left;
	h->repair_eta_s = s.eta_s;
	h->repair_rate_bps = s.rate_bps;
	return PP_OK;
}

static void h_health(void *svc, struct rpc_call *call)
{
	struct tracker *t = svc;
	Pp__V1__Health *h = rpc_call_alloc(call, sizeof(*h));
	pp__v1__health__init(h);
	if (tracker_health(t, h) != PP_OK) {
		rpc_call_fail(call, PP_EINTERNAL, "store error computing health");
		return;
	}
	call->resp.body_case = PP__V1__RESPONSE__BODY_HEALTH;
	call->resp.health = h;
}

static void h_drain(void *svc, struct rpc_call *call)
{
	struct tracker *t = svc;
	const char *id = call->req->drain->node_id;
	struct node_rec n;
	if (liveness_set_draining(t->live, id, true) != PP_OK ||
	    liveness_get(t->live, id, &n) != PP_OK) {
		rpc_call_fail(call, PP_ENOTFOUND, "no node \"%.128s\"", id);
		return;
	}
	log_info("node_drain", "node=%s", id);
	Pp__V1__DrainResponse *r = rpc_call_alloc(call, sizeof(*r));
	pp__v1__drain_response__init(r);
	r->node = node_info(call, &n, time_wall_ms());
	db_node_usage(t->db, id, &r->chunks_left, &r->bytes_left);
	r->node->drain_chunks_left = r->chunks_left;
	r->node->drain_bytes_left = r->bytes_left;
	struct repair_stats s;
	repair_stats_get(t->repair, &s);
	r->eta_s = s.rate_bps > 0 ? (double)r->bytes_left / s.rate_bps : 0;
	call->resp.body_case = PP__V1__RESPONSE__BODY_DRAIN;
	call->resp.drain = r;
}

static void h_maintenance(void *svc, struct rpc_call *call)
{
	struct tracker *t = svc;
	const Pp__V1__MaintenanceRequest *q = call->req->maintenance;
	uint64_t timeout_s = q->timeout_s ? q->timeout_s : t->cfg.maintenance_timeout_s;
	int64_t until = q->on ? time_wall_ms() + (int64_t)timeout_s * 1000 : 0;
	struct node_rec n;
	if (liveness_set_maintenance(t->live, q->node_id, until) != PP_OK ||
	    liveness_get(t->live, q->node_id, &n) != PP_OK) {
		rpc_call_fail(call, PP_ENOTFOUND, "no node \"%.128s\"", q->node_id);
		return;
	}
	log_info("node_maintenance", "node=%s on=%d timeout_s=%llu", n.id, q->on,
		 (unsigned long long)timeout_s);
	call->resp.body_case = PP__V1__RESPONSE__BODY_NODE;
	call->resp.node = node_info(call, &n, time_wall_ms());
}

/* ---- from workers ---- */

static void h_replicas_added(void *svc, struct rpc_call *call)
{
	struct tracker *t = svc;
	const Pp__V1__ReplicasAddedRequest *q = call->req->replicas_added;
	if (!node_id_ok(call, q->node_id))
		return;
	for (size_t i = 0; i < q->n_chunks; i++)
		if (!chunk_ok(call, q->chunks[i]->id))
			return;
	int64_t now = time_wall_ms();
	for (size_t i = 0; i < q->n_chunks; i++) {
		int rc = db_replica_added(t->db, q->node_id, q->chunks[i]->id, q->chunks[i]->size, now,
					  now + grace_ms(t));
		if (rc != PP_OK) {
			rpc_call_fail(call, rc, "could not record chunk %s", q->chunks[i]->id);
			return;
		}
	}
}

static void h_chunk_corrupt(void *svc, struct rpc_call *call)
{
	struct tracker *t = svc;
	const Pp__V1__ChunkCorruptRequest *q = call->req->chunk_corrupt;
	if (!chunk_ok(call, q->chunk_id))
		return;
	if (db_replica_set_state(t->db, q->node_id, q->chunk_id, REPLICA_ST_CORRUPT) != PP_OK) {
		rpc_call_fail(call, PP_ENOTFOUND, "no replica of %s on \"%.128s\"", q->chunk_id,
			      q->node_id);
		return;
	}
	log_warn("chunk_corrupt", "node=%s chunk=%s", q->node_id, q->chunk_id);
	events_detail(t->events, "chunk_corrupt", q->node_id, q->chunk_id);
	repair_wake(t->repair);
}

static void h_inventory(void *svc, struct rpc_call *call)
{
	struct tracker *t = svc;
	const Pp__V1__InventoryRequest *q = call->req->inventory;
	if (!node_id_ok(call, q->node_id))
		return;
	for (size_t i = 0; i < q->n_chunks; i++)
		if (!chunk_ok(call, q->chunks[i]->id))
			return;
	char err[DB_ERR_MAX] = "";
	int rc = inventory_page(t, q, err, sizeof(err));
	if (rc != PP_OK)
		rpc_call_fail(call, rc, "%s", err);
}

#define ROUTE(body, fn, name) {PP__V1__REQUEST__BODY_##body, fn, name}
const struct rpc_route tracker_routes[] = {
	ROUTE(PING, h_ping, "ping"),
	ROUTE(UPLOAD_BEGIN, h_upload_begin, "upload_begin"),
	ROUTE(PLACE, h_place, "place"),
	ROUTE(COMMIT, h_commit, "commit"),
	ROUTE(UPLOAD_ABORT, h_upload_abort, "upload_abort"),
	ROUTE(MANIFEST, h_manifest, "manifest"),
	ROUTE(LIST, h_list, "list"),
	ROUTE(DELETE_FILE, h_delete_file, "delete_file"),
	ROUTE(NODES, h_nodes, "nodes"),
	ROUTE(HEALTH, h_health, "health"),
	ROUTE(DRAIN, h_drain, "drain"),
	ROUTE(MAINTENANCE, h_maintenance, "maintenance"),
	ROUTE(REPLICAS_ADDED, h_replicas_added, "replicas_added"),
	ROUTE(INVENTORY, h_inventory, "inventory"),
	ROUTE(CHUNK_CORRUPT, h_chunk_corrupt, "chunk_corrupt"),
	ROUTE(LOCATE, h_locate, "locate"),
	S3_ROUTES /* handlers_s3.h */
};
const size_t tracker_route_count = sizeof(tracker_routes) / sizeof(tracker_routes[0]);
