/* RPC handlers of the tracker about nodes and the cluster (nodes, health,
 * drain, maintenance, replica and inventory reports, records, promotion,
 * backups); the file routes and the route table are in handlers.c.
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

/* ---- nodes, health, operations ---- */

/* A report may arrive before the node's first heartbeat; its replicas
 * count once the node is known and up. */
static bool node_id_ok(struct rpc_call *call, const char *id)
{
	const char *why = node_id_check(id);
	if (why != NULL)
		rpc_call_fail(call, PP_EINVAL, "invalid node id: %s", why);
	return why == NULL;
}


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

void h_nodes(void *svc, struct rpc_call *call)
{
	struct tracker *t = svc;
	if (!handlers_current_only(t, call))
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

void h_health(void *svc, struct rpc_call *call)
{
	struct tracker *t = svc;
	if (!handlers_current_only(t, call))
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

void h_drain(void *svc, struct rpc_call *call)
{
	struct tracker *t = svc;
	if (!handlers_primary_only(t, call))
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

void h_maintenance(void *svc, struct rpc_call *call)
{
	struct tracker *t = svc;
	if (!handlers_primary_only(t, call))
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

void h_replicas_added(void *svc, struct rpc_call *call)
{
	struct tracker *t = svc;
	const Pp__V1__ReplicasAddedRequest *q = call->req->replicas_added;
	if (!node_id_ok(call, q->node_id))
		return;
	for (size_t i = 0; i < q->n_chunks; i++)
		if (!handlers_chunk_ok(call, q->chunks[i]->id))
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
	int rc = db_replicas_added(t->db, q->node_id, refs, q->n_chunks, now, now + handlers_grace_ms(t));
	if (rc != PP_OK)
		rpc_call_fail(call, rc, "could not record %zu chunks", q->n_chunks);
	free(refs);
}

void h_chunk_corrupt(void *svc, struct rpc_call *call)
{
	struct tracker *t = svc;
	const Pp__V1__ChunkCorruptRequest *q = call->req->chunk_corrupt;
	if (!handlers_chunk_ok(call, q->chunk_id))
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

void h_inventory(void *svc, struct rpc_call *call)
{
	struct tracker *t = svc;
	const Pp__V1__InventoryRequest *q = call->req->inventory;
	if (!node_id_ok(call, q->node_id))
		return;
	for (size_t i = 0; i < q->n_chunks; i++)
		if (!handlers_chunk_ok(call, q->chunks[i]->id))
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
void h_read_meta(void *svc, struct rpc_call *call)
{
	struct tracker *t = svc;
	if (!handlers_current_only(t, call))
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

void h_promote(void *svc, struct rpc_call *call)
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

void h_backup(void *svc, struct rpc_call *call)
{
	struct tracker *t = svc;
	if (!handlers_current_only(t, call))
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

void h_backup_read(void *svc, struct rpc_call *call)
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

