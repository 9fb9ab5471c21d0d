/* RPC handlers of the tracker; see handlers.h and proto/pp/v1/rpc.proto.
 *
 * Handlers run on the rpc_server pool, many at once. Everything they return
 * is allocated with rpc_call_alloc (freed after the reply is sent). Store
 * calls take the store's lock themselves; no handler holds a lock across
 * the network. */
#define _GNU_SOURCE
#include "handlers.h"
#include "backup.h"
#include "db.h"
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

static bool chunk_ok(struct rpc_call *call, const char *id)
{
	if (!chunk_id_valid(id)) {
		rpc_call_fail(call, PP_EINVAL, "invalid chunk id \"%.70s\": want 64 lowercase hex", id);
		return false;
	}
	return true;
}

/* A report may arrive before the node's first heartbeat; its replicas
 * count once the node is known and up. */
static bool node_id_ok(struct rpc_call *call, const char *id)
{
	const char *why = node_id_check(id);
	if (why != NULL)
		rpc_call_fail(call, PP_EINVAL, "invalid node id: %s", why);
	return why == NULL;
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
					     struct file_rec *f, uint64_t first, uint32_t max,
					     const struct node_rec *nodes, size_t nn)
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
	Pp__V1__ManifestResponse *m = NULL;
	if (liveness_snapshot(t->live, &nodes, &nn) == PP_OK)
		m = handlers_manifest(t, call, &f, q->first_chunk, max, nodes, nn);
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
	if (!current_only(t, call))
		return;
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
	if (!current_only(t, call))
		return;
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
	if (!primary_only(t, call))
		return;
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
	if (!primary_only(t, call))
		return;
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
	struct copy_ref *refs = calloc(q->n_chunks + 1, sizeof(*refs));
	if (refs == NULL) {
		rpc_call_fail(call, PP_EINTERNAL, "out of memory");
		return;
	}
	for (size_t i = 0; i < q->n_chunks; i++) {
		refs[i] = (struct copy_ref){.size = q->chunks[i]->size,
					    .gen = q->chunks[i]->gen,
					    .extra = q->chunks[i]->extra};
		snprintf(refs[i].id, sizeof(refs[i].id), "%s", q->chunks[i]->id);
	}
	/* One transaction for the report (a batch of small files sends many). */
	int rc = db_replicas_added(t->db, q->node_id, refs, q->n_chunks, now, now + grace_ms(t));
	if (rc != PP_OK)
		rpc_call_fail(call, rc, "could not record %zu chunks", q->n_chunks);
	free(refs);
}

static void h_chunk_corrupt(void *svc, struct rpc_call *call)
{
	struct tracker *t = svc;
	const Pp__V1__ChunkCorruptRequest *q = call->req->chunk_corrupt;
	if (!chunk_ok(call, q->chunk_id))
		return;
	if (db_replica_corrupt(t->db, q->node_id, q->chunk_id, q->gen) != PP_OK) {
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

/* ---- records for a standby, promotion ---- */

#define READ_META_SOFT_BYTES (1u << 20)
#define READ_META_NAMES 512

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* A standby following this tracker reads the records of every name
 * committed or deleted after its newest, in seq order (the same answer a
 * worker gives from its record log). */
static void h_read_meta(void *svc, struct rpc_call *call)
{
	struct tracker *t = svc;
	if (!current_only(t, call))
		return;
	const Pp__V1__ReadMetaRequest *q = call->req->read_meta;
	uint64_t after = q->after_seq > q->cursor_seq ? q->after_seq : q->cursor_seq;
	size_t soft = q->max_bytes ? q->max_bytes : READ_META_SOFT_BYTES;
	if (soft > 4 * READ_META_SOFT_BYTES)
		soft = 4 * READ_META_SOFT_BYTES;
	struct name_seq *names = NULL;
	size_t n = 0;
	if (db_names_after(t->db, after, READ_META_NAMES, &names, &n) != PP_OK) {
		free(names);
		rpc_call_fail(call, PP_EINTERNAL, "store error listing records");
		return;
	}
	size_t cap = soft + 4 + META_RECORD_MAX, used = 0;
	uint8_t *buf = rpc_call_reply_payload(call, cap);
	Pp__V1__ReadMetaResponse *r = rpc_call_alloc(call, sizeof(*r));
	pp__v1__read_meta_response__init(r);
	r->cursor_name_hash = "";
	r->cursor_seq = after;
	size_t i = 0;
	for (; buf != NULL && i < n; i++) {
		struct record_head head;
		struct records_pages pages;
		uint32_t repl;
		if (records_build(t, names[i].name, &head, &repl, &pages) != PP_OK) {
			records_pages_free(&pages);
			continue; /* changed meanwhile: a later seq lists it again */
		}
		size_t need = 0;
		for (size_t p = 0; p < pages.n; p++)
			need += 4 + pages.lens[p];
		if (used + need > cap || (r->count > 0 && used + need > soft)) {
			records_pages_free(&pages);
			break;
		}
		for (size_t p = 0; p < pages.n; p++) {
			put_be32(buf + used, (uint32_t)pages.lens[p]);
			memcpy(buf + used + 4, pages.pages[p], pages.lens[p]);
			used += 4 + pages.lens[p];
			r->count++;
		}
		r->cursor_seq = names[i].seq;
		records_pages_free(&pages);
	}
	r->done = i == n && n < READ_META_NAMES;
	free(names);
	if (buf == NULL) {
		rpc_call_fail(call, PP_EINTERNAL, "cannot allocate the reply");
		return;
	}
	rpc_call_reply_payload_truncate(call, used);
	call->resp.body_case = PP__V1__RESPONSE__BODY_READ_META;
	call->resp.read_meta = r;
}

/* Tells every known worker the new term, so a tracker of a lower one can
 * change nothing from now on. */
static void fence_workers(struct tracker *t)
{
	struct node_rec *nodes = NULL;
	size_t nn = 0;
	if (liveness_snapshot(t->live, &nodes, &nn) != PP_OK)
		return;
	for (size_t i = 0; i < nn; i++) {
		if (!(nodes[i].roles & ROLE_ALIVE))
			continue;
		Pp__V1__Request req = PP__V1__REQUEST__INIT;
		Pp__V1__PingRequest ping = PP__V1__PING_REQUEST__INIT;
		req.body_case = PP__V1__REQUEST__BODY_PING;
		req.ping = &ping;
		TRACKER_STAMP(t, &req);
		struct rpc_reply rep;
		int rc = rpc_call(t->peers, nodes[i].address, &t->auth, &req, NULL, 0,
				  RPC_TIMEOUT_SHORT_MS, &rep);
		if (rc != PP_OK)
			log_warn("fence_failed", "node=%s err=%s", nodes[i].id,
				 log_q(rpc_reply_error(&rep, rc)));
		rpc_reply_free(&rep);
	}
	free(nodes);
}

static void h_promote(void *svc, struct rpc_call *call)
{
	struct tracker *t = svc;
	if (!atomic_load(&t->standby)) {
		rpc_call_fail(call, PP_ECONFLICT, "this tracker is already the primary");
		return;
	}
	int64_t t0 = time_mono_ms();
	/* Every commit the old primary acknowledged is on workers as a record;
	 * whatever this standby had not followed yet comes from there. */
	uint64_t merged = records_catch_up(t);
	uint64_t term = atomic_load(&t->term), seen = atomic_load(&t->term_seen);
	term = (term > seen ? term : seen) + 1;
	if (db_kv_set(t->db, "term", term) != PP_OK) {
		rpc_call_fail(call, PP_EINTERNAL, "cannot record the new term");
		return;
	}
	atomic_store(&t->term, term);
	atomic_store(&t->standby, false);
	fence_workers(t);
	repair_wake(t->repair);
	gc_wake(t->gc);
	Pp__V1__PromoteResponse *r = rpc_call_alloc(call, sizeof(*r));
	pp__v1__promote_response__init(r);
	r->term = term;
	r->merged = merged;
	db_commit_seq(t->db, &r->commit_seq);
	log_info("tracker_promoted", "term=%llu merged=%llu commit_seq=%llu ms=%lld",
		 (unsigned long long)term, (unsigned long long)merged,
		 (unsigned long long)r->commit_seq, (long long)(time_mono_ms() - t0));
	events_detail(t->events, "tracker_promoted", "tracker", "primary");
	call->resp.body_case = PP__V1__RESPONSE__BODY_PROMOTE;
	call->resp.promote = r;
}

/* ---- backups ---- */

static void h_backup(void *svc, struct rpc_call *call)
{
	struct tracker *t = svc;
	if (!current_only(t, call))
		return;
	Pp__V1__BackupResponse *r = rpc_call_alloc(call, sizeof(*r));
	pp__v1__backup_response__init(r);
	int rc = backup_take(t, &r->backup_id, &r->size, &r->commit_seq);
	if (rc != PP_OK) {
		rpc_call_fail(call, rc, "cannot take a snapshot of the database: %s",
			      rc == PP_EUNAVAIL ? "too many backups in progress" : pp_strerror(rc));
		return;
	}
	call->resp.body_case = PP__V1__RESPONSE__BODY_BACKUP;
	call->resp.backup = r;
}

static void h_backup_read(void *svc, struct rpc_call *call)
{
	(void)svc;
	const Pp__V1__BackupReadRequest *q = call->req->backup_read;
	size_t len = q->length ? q->length : BACKUP_PAGE_MAX;
	if (len > BACKUP_PAGE_MAX)
		len = BACKUP_PAGE_MAX;
	uint8_t *buf = rpc_call_reply_payload(call, len);
	if (buf == NULL) {
		rpc_call_fail(call, PP_EINTERNAL, "cannot allocate the reply");
		return;
	}
	size_t got = 0;
	int rc = backup_read(q->backup_id, q->offset, buf, len, &got);
	rpc_call_reply_payload_truncate(call, got);
	if (rc != PP_OK)
		rpc_call_fail(call, rc, "backup %llu: %s", (unsigned long long)q->backup_id,
			      rc == PP_ENOTFOUND ? "unknown or expired" : pp_strerror(rc));
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
};
const size_t tracker_route_count = sizeof(tracker_routes) / sizeof(tracker_routes[0]);
