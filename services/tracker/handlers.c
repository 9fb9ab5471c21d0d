/* RPC handlers of the tracker; see handlers.h and proto/pp/v1/rpc.proto.
 *
 * Handlers run on the rpc_server pool, many at once. Everything they return
 * is allocated with rpc_call_alloc (freed after the reply is sent). Store
 * calls take the store's lock themselves; no handler holds a lock across
 * the network. */
#define _GNU_SOURCE
#include "handlers.h"
#include "backup.h"
#include "handlers_s3.h"
#include "db.h"
#include "db_layout.h"
#include "errors.h"
#include "flags.h"
#include "events.h"
#include "gc.h"
#include "hash.h"
#include "inventory.h"
#include "liveness.h"
#include "log.h"
#include "meta_record.h"
#include "rpc_client.h"
#include "placement.h"
#include "records.h"
#include "policy.h"
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

int64_t handlers_grace_ms(const struct tracker *t) { return (int64_t)t->cfg.gc_grace_s * 1000; }
static int64_t grace_ms(const struct tracker *t) { return handlers_grace_ms(t); }

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

/* Writes go to the primary; a standby says so (clients then try the next
 * tracker address they know). */
static bool primary_only(struct tracker *t, struct rpc_call *call)
{
	if (!atomic_load(&t->standby))
		return true;
	rpc_call_fail(call, PP_ENOTPRIMARY, "this tracker is a standby: writes go to the primary");
	return false;
}

/* A primary that stepped down (a worker showed it a higher term) follows
 * nobody: what it knows stops at its demotion, so it answers no reads
 * either, and clients that know other addresses go on to the primary. */
static bool current_only(struct tracker *t, struct rpc_call *call)
{
	if (!atomic_load(&t->standby) || t->cfg.follow_url != NULL)
		return true;
	rpc_call_fail(call, PP_ENOTPRIMARY,
		      "this tracker was replaced by a promoted one (term %llu seen, %llu here): its"
		      " view is stale; ask the primary, or restart this one with --follow PRIMARY",
		      (unsigned long long)atomic_load(&t->term_seen),
		      (unsigned long long)atomic_load(&t->term));
	return false;
}

bool handlers_primary_only(struct tracker *t, struct rpc_call *call)
{
	return primary_only(t, call);
}

bool handlers_current_only(struct tracker *t, struct rpc_call *call)
{
	return current_only(t, call);
}

bool handlers_chunk_ok(struct rpc_call *call, const char *id)
{
	if (!chunk_id_valid(id)) {
		rpc_call_fail(call, PP_EINVAL, "invalid chunk id \"%.70s\": want 64 lowercase hex", id);
		return false;
	}
	return true;
}

static const struct node_rec *node_by_id(const struct node_rec *nodes, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(nodes[i].id, id) == 0)
			return &nodes[i];
	return NULL;
}

Pp__V1__FileInfo *handlers_file_info(struct rpc_call *call, const struct file_rec *f)
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
		/* A copy being deleted is never offered to a reader. */
		if (reps[i].state == REPLICA_ST_DELETING || reps[i].state == REPLICA_ST_GONE)
			continue;
		Pp__V1__Replica *r = rpc_call_alloc(call, sizeof(*r));
		pp__v1__replica__init(r);
		const struct node_rec *n = node_by_id(nodes, nn, reps[i].node_id);
		unsigned roles = n ? n->roles : 0;
		r->node = rpc_call_strdup(call, reps[i].node_id);
		r->address = rpc_call_strdup(call, n ? n->address : "");
		r->load = n ? n->inflight : 0;
		if (reps[i].state == REPLICA_ST_CORRUPT)
			r->state = PP__V1__REPLICA_STATE__REPLICA_CORRUPT;
		else if (reps[i].state == REPLICA_ST_PENDING)
			r->state = PP__V1__REPLICA_STATE__REPLICA_PENDING;
		else if (policy_copy_readable(reps[i].state, roles))
			r->state = PP__V1__REPLICA_STATE__REPLICA_OK;
		else if (policy_copy_alive(reps[i].state, roles))
			r->state = PP__V1__REPLICA_STATE__REPLICA_SUSPECT;
		else
			r->state = PP__V1__REPLICA_STATE__REPLICA_DEAD;
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
	p->standby = atomic_load(&t->standby);
	p->term = atomic_load(&t->term);
	call->resp.body_case = PP__V1__RESPONSE__BODY_PING;
	call->resp.ping = p;
}

size_t handlers_placeable(struct tracker *t)
{
	struct node_rec *nodes = NULL;
	size_t nn = 0, k = 0;
	if (liveness_snapshot(t->live, &nodes, &nn) == PP_OK)
		for (size_t i = 0; i < nn; i++)
			k += (nodes[i].roles & ROLE_TARGET) != 0;
	free(nodes);
	return k;
}

static void h_upload_begin(void *svc, struct rpc_call *call)
{
	struct tracker *t = svc;
	if (!primary_only(t, call))
		return;
	const Pp__V1__UploadBeginRequest *q = call->req->upload_begin;
	if (!name_ok(call, q->name))
		return;
	uint32_t repl = q->replication ? q->replication : (uint32_t)t->cfg.replication;
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
	r->idle_timeout_ms = (uint32_t)grace_ms(t);
	call->resp.body_case = PP__V1__RESPONSE__BODY_UPLOAD_BEGIN;
	call->resp.upload_begin = r;
	log_debug("upload_begin", "upload=%lld name=%s replication=%u", (long long)id, log_q(q->name),
		  repl);
}

int handlers_place(struct tracker *t, struct rpc_call *call, const struct node_rec *nodes,
		   size_t nn, const char *chunk_id, uint32_t size, uint32_t replication, int64_t now,
		   Pp__V1__PlaceResponse *r, struct chunk_node *pending, size_t *npending, char *why,
		   size_t why_len)
{
	struct replica_rec *reps = NULL;
	size_t nr = 0, nz = 0, ne = 0;
	int rc = db_chunk_replicas(t->db, chunk_id, &reps, &nr);
	if (rc != PP_OK) {
		snprintf(why, why_len, "store error while placing");
		return PP_EINTERNAL;
	}
	const char **exclude = rpc_call_alloc(call, (nr + 1) * sizeof(char *));
	const char **zones = rpc_call_alloc(call, (nr + 1) * sizeof(char *));
	size_t have = 0;
	for (size_t i = 0; i < nr; i++) {
		const struct node_rec *n = node_by_id(nodes, nn, reps[i].node_id);
		/* A regular copy or one on its way: that node has it. Tombstones,
		 * corrupt and extra copies do not keep a node from receiving it. */
		if ((reps[i].state == REPLICA_ST_OK && !reps[i].extra) ||
		    reps[i].state == REPLICA_ST_PENDING)
			exclude[ne++] = rpc_call_strdup(call, reps[i].node_id);
		if (n != NULL && policy_copy_holds(reps[i].state, reps[i].extra, n->roles)) {
			zones[nz++] = n->zone;
			have++;
		}
	}
	free(reps);
	if (have >= replication) {
		r->already_stored = true; /* dedup: the client does not send it */
		return PP_OK;
	}
	size_t want = replication - have;
	size_t *pick = rpc_call_alloc(call, want * sizeof(*pick));
	rc = placement_choose(chunk_id, size, nodes, nn, exclude, ne, zones, nz, NULL, want, pick);
	if (rc != PP_OK) {
		snprintf(why, why_len,
			 "not enough live workers with room: chunk needs %zu more of %u copies", want,
			 replication);
		return PP_EUNAVAIL;
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
		if (pending == NULL) {
			db_replica_pending(t->db, nodes[pick[i]].id, chunk_id, now);
		} else {
			struct chunk_node *p = &pending[(*npending)++];
			snprintf(p->chunk_id, sizeof(p->chunk_id), "%s", chunk_id);
			snprintf(p->node_id, sizeof(p->node_id), "%s", nodes[pick[i]].id);
		}
	}
	return PP_OK;
}

static void h_place(void *svc, struct rpc_call *call)
{
	struct tracker *t = svc;
	if (!primary_only(t, call))
		return;
	const Pp__V1__PlaceRequest *q = call->req->place;
	if (!handlers_chunk_ok(call, q->chunk_id))
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
	struct node_rec *nodes = NULL;
	size_t nn = 0;
	char why[160];
	if (liveness_snapshot(t->live, &nodes, &nn) != PP_OK)
		rpc_call_fail(call, PP_EINTERNAL, "store error while placing");
	else if ((rc = handlers_place(t, call, nodes, nn, q->chunk_id, q->size, u.replication, now,
				      r, NULL, NULL, why, sizeof(why))) != PP_OK)
		rpc_call_fail(call, rc, "%s", why);
	free(nodes);
}

int handlers_commit(struct tracker *t, int64_t upload_id, uint64_t size, const char *sha256,
		    uint64_t chunk_count, struct file_rec *f, char *err, size_t err_len)
{
	int rc;
	int64_t deadline = time_mono_ms() + COMMIT_WAIT_MS;
	for (;;) {
		err[0] = '\0';
		int64_t now = time_wall_ms();
		rc = db_upload_commit(t->db, upload_id, size, sha256, chunk_count, now, now + grace_ms(t), f,
				      err, err_len);
		if (rc != PP_EUNAVAIL || time_mono_ms() >= deadline)
			break;
		time_sleep_ms(50);
	}
	return rc;
}

struct durable_wait {
	struct db *db;
	uint64_t ticket;
	int rc;
};

static void *durable_wait_main(void *arg)
{
	struct durable_wait *w = arg;
	w->rc = db_wait_durable(w->db, w->ticket);
	return NULL;
}

static void h_commit(void *svc, struct rpc_call *call)
{
	struct tracker *t = svc;
	if (!primary_only(t, call))
		return;
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
	int rc;
	struct durable_wait sync = {.db = t->db};
	int64_t deadline = time_mono_ms() + COMMIT_WAIT_MS;
	for (;;) {
		err[0] = '\0';
		int64_t now = time_wall_ms();
		rc = db_upload_commit_visible(t->db, (int64_t)q->upload_id, q->size, q->sha256,
					      q->chunk_count, now, now + grace_ms(t), &f, err,
					      sizeof(err), &sync.ticket);
		if (rc != PP_EUNAVAIL || time_mono_ms() >= deadline)
			break;
		time_sleep_ms(50);
	}
	if (rc != PP_OK) {
		rpc_call_fail(call, rc, "commit refused: %s", err);
		return;
	}
	/* Acknowledged only once the store's fsync covers it and its metadata
	 * record is durable on workers (DESIGN.md, "Metadata recovery"); the two
	 * run at once, so a commit waits for the slower one, not their sum. */
	pthread_t syncer;
	bool syncing = pthread_create(&syncer, NULL, durable_wait_main, &sync) == 0;
	rc = records_write(t, f.name, f.seq);
	if (syncing)
		pthread_join(syncer, NULL);
	else
		durable_wait_main(&sync);
	if (sync.rc != PP_OK) {
		rpc_call_fail(call, PP_EINTERNAL, "committed, but the tracker's store failed to sync it");
		return;
	}
	if (rc != PP_OK) {
		rpc_call_fail(call, PP_EUNAVAIL,
			      "committed, but its metadata record is not yet on enough workers (retried"
			      " in the background)");
		return;
	}
	call->resp.body_case = PP__V1__RESPONSE__BODY_FILE;
	call->resp.file = handlers_file_info(call, &f);
	log_info("file_committed", "name=%s version=%llu size=%llu chunks=%llu", log_q(f.name),
		 (unsigned long long)f.version, (unsigned long long)f.size,
		 (unsigned long long)f.chunk_count);
	if (!s3_name_hidden(f.name)) /* multipart parts are not files users see */
		events_file(t->events, "file_committed", f.name, f.size);
}

static void h_upload_touch(void *svc, struct rpc_call *call)
{
	struct tracker *t = svc;
	if (!primary_only(t, call))
		return;
	uint64_t id = call->req->upload_touch->upload_id;
	if (db_upload_touch(t->db, (int64_t)id, time_wall_ms()) != PP_OK)
		rpc_call_fail(call, PP_ENOTFOUND, "no upload %llu (expired, aborted or committed)",
			      (unsigned long long)id);
}

static void h_upload_abort(void *svc, struct rpc_call *call)
{
	struct tracker *t = svc;
	if (!primary_only(t, call))
		return;
	uint64_t id = call->req->upload_abort->upload_id;
	if (db_upload_abort(t->db, (int64_t)id) != PP_OK) {
		rpc_call_fail(call, PP_ENOTFOUND, "no upload %llu", (unsigned long long)id);
		return;
	}
	gc_wake(t->gc);
}

/* ---- reading ---- */

Pp__V1__ManifestResponse *handlers_manifest(struct tracker *t, struct rpc_call *call,
					     struct file_rec *f, uint64_t first, uint64_t offset,
					     uint32_t max, const struct node_rec *nodes, size_t nn)
{
	db_file_health(t->db, f);
	struct chunk_rec *chunks = NULL;
	size_t n = 0;
	if (db_file_chunks(t->db, f->id, first, max, &chunks, &n) != PP_OK) {
		free(chunks);
		return NULL;
	}
	Pp__V1__ManifestResponse *m = rpc_call_alloc(call, sizeof(*m));
	pp__v1__manifest_response__init(m);
	m->file = handlers_file_info(call, f);
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
	free(chunks);
	return m;
}

static void h_manifest(void *svc, struct rpc_call *call)
{
	struct tracker *t = svc;
	if (!current_only(t, call))
		return;
	const Pp__V1__ManifestRequest *q = call->req->manifest;
	if (!name_ok(call, q->name))
		return;
	struct file_rec f;
	if (db_file_get(t->db, q->name, &f) != PP_OK) {
		rpc_call_fail(call, PP_ENOTFOUND, "no file named \"%s\"", q->name);
		return;
	}
	uint32_t max = q->max_chunks ? q->max_chunks : MANIFEST_PAGE_DEFAULT;
	if (max > MANIFEST_PAGE_MAX)
		max = MANIFEST_PAGE_MAX;
	struct node_rec *nodes = NULL;
	size_t nn = 0;
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
	Pp__V1__ManifestResponse *m = NULL;
	if (lrc == PP_OK && liveness_snapshot(t->live, &nodes, &nn) == PP_OK)
		m = handlers_manifest(t, call, &f, first, offset, max, nodes, nn);
	free(nodes);
	if (m == NULL) {
		rpc_call_fail(call, PP_EINTERNAL, "store error reading the manifest");
		return;
	}
	call->resp.body_case = PP__V1__RESPONSE__BODY_MANIFEST;
	call->resp.manifest = m;
}

static void h_list(void *svc, struct rpc_call *call)
{
	struct tracker *t = svc;
	if (!current_only(t, call))
		return;
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
		r->files[r->n_files++] = handlers_file_info(call, &files[i]);
	}
	call->resp.body_case = PP__V1__RESPONSE__BODY_LIST;
	call->resp.list = r;
	free(files);
}

static void h_delete_file(void *svc, struct rpc_call *call)
{
	struct tracker *t = svc;
	if (!primary_only(t, call))
		return;
	const char *name = call->req->delete_file->name;
	if (!name_ok(call, name))
		return;
	struct file_rec f;
	int64_t now = time_wall_ms();
	if (db_file_delete(t->db, name, now, now + grace_ms(t), &f) != PP_OK) {
		rpc_call_fail(call, PP_ENOTFOUND, "no file named \"%s\"", name);
		return;
	}
	if (records_write(t, name, f.seq) != PP_OK) {
		rpc_call_fail(call, PP_EUNAVAIL,
			      "deleted, but its tombstone record is not yet on enough workers (retried"
			      " in the background)");
		return;
	}
	log_info("file_deleted", "name=%s version=%llu", log_q(f.name), (unsigned long long)f.version);
	events_file(t->events, "file_deleted", f.name, f.size);
	call->resp.body_case = PP__V1__RESPONSE__BODY_FILE;
	call->resp.file = handlers_file_info(call, &f);
}

static void h_locate(void *svc, struct rpc_call *call)
{
	struct tracker *t = svc;
	if (!current_only(t, call))
		return;
	const Pp__V1__LocateRequest *q = call->req->locate;
	if (q->n_chunk_ids > LOCATE_MAX) {
		rpc_call_fail(call, PP_ETOOLARGE, "at most %d chunk ids per locate", LOCATE_MAX);
		return;
	}
	for (size_t i = 0; i < q->n_chunk_ids; i++)
		if (!handlers_chunk_ok(call, q->chunk_ids[i]))
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

#define ROUTE(body, fn, name) {PP__V1__REQUEST__BODY_##body, fn, name}
const struct rpc_route tracker_routes[] = {
	ROUTE(PING, h_ping, "ping"),
	ROUTE(UPLOAD_BEGIN, h_upload_begin, "upload_begin"),
	ROUTE(PLACE, h_place, "place"),
	ROUTE(COMMIT, h_commit, "commit"),
	ROUTE(UPLOAD_ABORT, h_upload_abort, "upload_abort"),
	ROUTE(UPLOAD_TOUCH, h_upload_touch, "upload_touch"),
	ROUTE(BACKUP, h_backup, "backup"),
	ROUTE(BACKUP_READ, h_backup_read, "backup_read"),
	ROUTE(READ_META, h_read_meta, "read_meta"),
	ROUTE(PROMOTE, h_promote, "promote"),
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
	ROUTE(UPLOAD_BATCH, h_upload_batch, "upload_batch"),
	ROUTE(COMMIT_BATCH, h_commit_batch, "commit_batch"),
	ROUTE(PREFIX_MANIFEST, h_prefix_manifest, "prefix_manifest"),
	S3_ROUTES /* handlers_s3.h */
};
const size_t tracker_route_count = sizeof(tracker_routes) / sizeof(tracker_routes[0]);
