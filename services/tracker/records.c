/* Metadata records: writer and reader; see records.h.
 *
 * r->lock guards the list of nodes read and the statistics. Writes run on
 * the caller's thread (a commit handler, or the loop for pending ones) with
 * one short-lived thread per extra target, so a record reaches its workers
 * in parallel; nothing holds a lock across the network. */
#define _GNU_SOURCE
#include "records.h"
#include "bgloop.h"
#include "db.h"
#include "errors.h"
#include "hash.h"
#include "liveness.h"
#include "log.h"
#include "meta_record.h"
#include "placement.h"
#include "policy.h"
#include "pp/v1/meta.pb-c.h"
#include "rpc_client.h"
#include "timeutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOOP_IDLE_MS 1000
#define LOOP_BUSY_MS 200
#define PENDING_BATCH 256
#define READ_BYTES (1u << 20)
#define PUT_TIMEOUT_MS 10000
#define TARGETS_MAX 64
#define FOLLOW_EVERY_MS 200

struct records {
	struct tracker *t;
	struct bgloop *loop;
	uint64_t start_seq; /* records newer than this are read back */
	pthread_mutex_t lock; /* guards everything below */
	char (*read)[NODE_ID_MAX];
	size_t n_read, cap_read;
	struct records_stats stats;
};

/* ---- writing ---- */

void records_pages_free(struct records_pages *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->pages[i]);
	free(s->pages);
	free(s->lens);
	memset(s, 0, sizeof(*s));
}

static int seal_page(struct tracker *t, const Pp__V1__FileRecord *fr, struct records_pages *s)
{
	size_t len = pp__v1__file_record__get_packed_size(fr);
	uint8_t *pb = malloc(len ? len : 1);
	if (pb == NULL)
		return PP_EINTERNAL;
	pp__v1__file_record__pack(fr, pb);
	uint8_t *blob;
	size_t blob_len;
	int rc = meta_record_seal(&t->auth, pb, len, &blob, &blob_len);
	free(pb);
	if (rc != PP_OK)
		return rc;
	s->pages[s->n] = blob;
	s->lens[s->n++] = blob_len;
	return PP_OK;
}

/* The sealed pages of name's current record; *seq and *replication tell
 * which. PP_ENOTFOUND when the store knows nothing of the name. */
int records_build(struct tracker *t, const char *name, struct record_head *head,
		  uint32_t *replication, struct records_pages *out)
{
	memset(out, 0, sizeof(*out));
	int rc = db_record_state(t->db, name, head);
	if (rc != PP_OK)
		return rc;
	Pp__V1__FileRecord fr = PP__V1__FILE_RECORD__INIT;
	fr.name = (char *)name;
	fr.seq = head->seq;
	fr.pages = 1;
	*replication = (uint32_t)t->cfg.replication;
	if (head->tombstone) {
		fr.tombstone = true;
		out->pages = calloc(1, sizeof(*out->pages));
		out->lens = calloc(1, sizeof(*out->lens));
		if (out->pages == NULL || out->lens == NULL)
			return PP_EINTERNAL;
		return seal_page(t, &fr, out);
	}
	struct file_rec f;
	rc = db_file_get(t->db, name, &f);
	if (rc != PP_OK)
		return rc;
	if (f.seq != head->seq)
		return PP_ECONFLICT; /* committed again meanwhile: the caller retries */
	*replication = f.replication;
	fr.version = f.version;
	fr.size = f.size;
	fr.sha256 = f.sha256;
	fr.replication = f.replication;
	fr.chunk_size = f.chunk_size;
	fr.created_at_ms = f.created_at_ms;
	fr.chunk_count = f.chunk_count;
	size_t pages = f.chunk_count ? (f.chunk_count + RECORD_PAGE_CHUNKS - 1) / RECORD_PAGE_CHUNKS : 1;
	fr.pages = (uint32_t)pages;
	out->pages = calloc(pages, sizeof(*out->pages));
	out->lens = calloc(pages, sizeof(*out->lens));
	/* Sized by the file, not the page limit: most files are one chunk. */
	uint32_t per_page = f.chunk_count < RECORD_PAGE_CHUNKS ? (uint32_t)f.chunk_count : RECORD_PAGE_CHUNKS;
	Pp__V1__ChunkRef *refs = calloc(per_page ? per_page : 1, sizeof(*refs));
	Pp__V1__ChunkRef **ptrs = calloc(per_page ? per_page : 1, sizeof(*ptrs));
	if (out->pages == NULL || out->lens == NULL || refs == NULL || ptrs == NULL)
		rc = PP_EINTERNAL;
	for (size_t p = 0; rc == PP_OK && p < pages; p++) {
		struct chunk_rec *chunks = NULL;
		size_t n = 0;
		uint64_t first = (uint64_t)p * RECORD_PAGE_CHUNKS;
		rc = db_file_chunks(t->db, f.id, first, per_page, &chunks, &n);
		for (size_t i = 0; rc == PP_OK && i < n; i++) {
			pp__v1__chunk_ref__init(&refs[i]);
			refs[i].id = chunks[i].id;
			refs[i].size = chunks[i].size;
			ptrs[i] = &refs[i];
		}
		fr.page = (uint32_t)p;
		fr.first_chunk = first;
		fr.n_chunks = n;
		fr.chunks = ptrs;
		if (rc == PP_OK)
			rc = seal_page(t, &fr, out);
		free(chunks);
	}
	free(refs);
	free(ptrs);
	return rc;
}

struct put_job {
	struct tracker *t;
	const struct records_pages *rec;
	char address[NODE_ADDR_MAX];
	char node[NODE_ID_MAX];
	pthread_t thread;
	bool started;
	int rc;
};

static void *put_main(void *arg)
{
	struct put_job *j = arg;
	Pp__V1__Request req = PP__V1__REQUEST__INIT;
	Pp__V1__PutMetaRequest pm = PP__V1__PUT_META_REQUEST__INIT;
	req.body_case = PP__V1__REQUEST__BODY_PUT_META;
	req.put_meta = &pm;
	TRACKER_STAMP(j->t, &req);
	j->rc = PP_OK;
	for (size_t p = 0; j->rc == PP_OK && p < j->rec->n; p++) {
		struct rpc_reply rep;
		j->rc = rpc_call(j->t->peers, j->address, &j->t->auth, &req, j->rec->pages[p],
				 j->rec->lens[p], PUT_TIMEOUT_MS, &rep);
		if (j->rc != PP_OK)
			log_warn("record_put_failed", "node=%s err=%s", j->node,
				 log_q(rpc_reply_error(&rep, j->rc)));
		rpc_reply_free(&rep);
	}
	return NULL;
}

struct ranked {
	const struct node_rec *n;
	double score;
};

static int by_score(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;
	return x->score < y->score ? 1 : x->score > y->score ? -1 : 0;
}

/* Puts the record on `want` of the candidates, best first, in parallel
 * rounds; returns how many took it. */
static size_t put_on_targets(struct tracker *t, const char *name, const struct records_pages *rec,
			     size_t want)
{
	struct node_rec *nodes = NULL;
	size_t nn = 0, ok = 0;
	if (liveness_snapshot(t->live, &nodes, &nn) != PP_OK)
		return 0;
	char key[PP_SHA256_HEX];
	sha256_hex(name, strlen(name), key);
	struct ranked cand[TARGETS_MAX];
	size_t nc = 0;
	for (size_t i = 0; i < nn && nc < TARGETS_MAX; i++)
		if (nodes[i].roles & ROLE_TARGET)
			cand[nc++] = (struct ranked){&nodes[i], placement_score(key, nodes[i].id, 1)};
	qsort(cand, nc, sizeof(*cand), by_score);
	struct put_job jobs[TARGETS_MAX];
	size_t next = 0;
	while (ok < want && next < nc) {
		size_t round = want - ok;
		if (round > nc - next)
			round = nc - next;
		for (size_t k = 0; k < round; k++) {
			struct put_job *j = &jobs[k];
			memset(j, 0, sizeof(*j));
			j->t = t;
			j->rec = rec;
			snprintf(j->address, sizeof(j->address), "%s", cand[next + k].n->address);
			snprintf(j->node, sizeof(j->node), "%s", cand[next + k].n->id);
			/* the last one runs here; the others on their own threads */
			j->started = k + 1 < round && pthread_create(&j->thread, NULL, put_main, j) == 0;
			if (!j->started)
				put_main(j);
		}
		for (size_t k = 0; k < round; k++) {
			if (jobs[k].started)
				pthread_join(jobs[k].thread, NULL);
			ok += jobs[k].rc == PP_OK;
		}
		next += round;
	}
	free(nodes);
	return ok;
}

int records_write(struct tracker *t, const char *name, uint64_t min_seq)
{
	for (int attempt = 0; attempt < 3; attempt++) {
		struct record_head head;
		struct records_pages rec;
		uint32_t replication;
		int rc = records_build(t, name, &head, &replication, &rec);
		if (rc == PP_OK && head.seq < min_seq)
			rc = PP_EINTERNAL; /* cannot happen: seqs only grow */
		if (rc == PP_OK && head.durable) {
			records_pages_free(&rec);
			return PP_OK;
		}
		if (rc == PP_ECONFLICT) {
			records_pages_free(&rec);
			continue;
		}
		if (rc != PP_OK) {
			records_pages_free(&rec);
			return rc;
		}
		size_t took = put_on_targets(t, name, &rec, replication);
		records_pages_free(&rec);
		if (took < replication) {
			log_warn("record_not_durable", "name=%s seq=%llu workers=%zu needed=%u", log_q(name),
				 (unsigned long long)head.seq, took, replication);
			return PP_EUNAVAIL;
		}
		rc = db_record_durable(t->db, name, head.seq);
		if (rc == PP_OK && t->records) {
			pthread_mutex_lock(&t->records->lock);
			t->records->stats.written++;
			pthread_mutex_unlock(&t->records->lock);
		}
		return rc;
	}
	return PP_EUNAVAIL;
}

/* ---- reading back ---- */

/* Pages of one record being put back together. */
struct assembly {
	struct merge_record m;
	uint32_t pages, got;
	bool bad;
};

static void assembly_reset(struct assembly *a)
{
	free(a->m.chunks);
	memset(a, 0, sizeof(*a));
}

struct merge_counts {
	uint64_t restored, replaced, deleted, tombstones, older, refused;
};

/* Records assembled from one reply, merged in one transaction. */
struct merge_batch {
	struct merge_record *recs; /* each owns its chunks */
	enum merge_outcome *outcomes;
	size_t n, cap;
};

static void batch_flush(struct records *r, struct merge_batch *b, struct merge_counts *c)
{
	if (b->n == 0)
		return;
	int64_t grace = (int64_t)r->t->cfg.gc_grace_s * 1000;
	db_merge_records(r->t->db, b->recs, b->n, time_wall_ms() + grace, b->outcomes);
	for (size_t i = 0; i < b->n; i++) {
		switch (b->outcomes[i]) {
		case MERGE_RESTORED:
			c->restored++;
			log_debug("record_restored", "name=%s seq=%llu version=%llu", log_q(b->recs[i].name),
				  (unsigned long long)b->recs[i].seq,
				  (unsigned long long)b->recs[i].version);
			break;
		case MERGE_REPLACED:
			c->replaced++;
			break;
		case MERGE_DELETED:
			c->deleted++;
			break;
		case MERGE_TOMBSTONE:
			c->tombstones++;
			break;
		default:
			c->older++;
		}
		free(b->recs[i].chunks);
	}
	b->n = 0;
}

static void batch_free(struct merge_batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->recs[i].chunks);
	free(b->recs);
	free(b->outcomes);
	memset(b, 0, sizeof(*b));
}

/* Takes the assembled record (and its chunks) into the batch. */
static bool batch_add(struct merge_batch *b, struct assembly *a)
{
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		struct merge_record *recs = realloc(b->recs, cap * sizeof(*recs));
		if (recs == NULL)
			return false;
		b->recs = recs;
		enum merge_outcome *outs = realloc(b->outcomes, cap * sizeof(*outs));
		if (outs == NULL)
			return false;
		b->outcomes = outs;
		b->cap = cap;
	}
	b->recs[b->n++] = a->m;
	a->m.chunks = NULL;
	return true;
}

/* Checks one page read from a worker and adds it to the assembly; a page
 * that does not verify or does not fit is refused. */
static void take_page(struct records *r, const char *node, const uint8_t *blob, size_t len,
		      struct assembly *a, struct merge_batch *b, struct merge_counts *c)
{
	const uint8_t *pb;
	size_t pb_len;
	const char *why = NULL;
	Pp__V1__FileRecord *fr = NULL;
	if (meta_record_open(&r->t->auth, blob, len, &pb, &pb_len, &why) != PP_OK)
		goto refuse;
	fr = pp__v1__file_record__unpack(NULL, pb_len, pb);
	if (fr == NULL) {
		why = "not a FileRecord";
		goto refuse;
	}
	why = name_check(fr->name, strlen(fr->name));
	if (why != NULL)
		goto refuse;
	if (fr->pages == 0 || fr->page >= fr->pages || fr->seq == 0) {
		why = "bad page";
		goto refuse;
	}
	if (fr->page == 0) {
		assembly_reset(a);
		snprintf(a->m.name, sizeof(a->m.name), "%s", fr->name);
		a->m.seq = fr->seq;
		a->m.tombstone = fr->tombstone;
		a->m.version = fr->version;
		a->m.size = fr->size;
		a->m.chunk_count = fr->tombstone ? 0 : fr->chunk_count;
		snprintf(a->m.sha256, sizeof(a->m.sha256), "%s", fr->sha256);
		a->m.replication = fr->replication;
		a->m.chunk_size = fr->chunk_size;
		a->m.created_at_ms = fr->created_at_ms;
		a->pages = fr->pages;
		if (!fr->tombstone && (!chunk_id_valid(fr->sha256) || fr->replication < 2 ||
				       fr->chunk_count > (uint64_t)fr->pages * RECORD_PAGE_CHUNKS)) {
			why = "bad file fields";
			goto refuse;
		}
		a->m.chunks = calloc(a->m.chunk_count ? a->m.chunk_count : 1, sizeof(*a->m.chunks));
		if (a->m.chunks == NULL) {
			why = "out of memory";
			goto refuse;
		}
	} else if (a->pages == 0 || a->bad || strcmp(a->m.name, fr->name) != 0 ||
		   a->m.seq != fr->seq || fr->page != a->got) {
		why = "page out of order";
		goto refuse;
	}
	for (size_t i = 0; i < fr->n_chunks; i++) {
		uint64_t k = fr->first_chunk + i;
		if (k >= a->m.chunk_count || !chunk_id_valid(fr->chunks[i]->id)) {
			why = "bad chunk reference";
			goto refuse;
		}
		snprintf(a->m.chunks[k].id, sizeof(a->m.chunks[k].id), "%s", fr->chunks[i]->id);
		a->m.chunks[k].size = fr->chunks[i]->size;
	}
	a->got++;
	if (a->got == a->pages) {
		a->m.n_chunks = a->m.chunk_count;
		if (!batch_add(b, a)) {
			why = "out of memory";
			goto refuse;
		}
		assembly_reset(a);
	}
	pp__v1__file_record__free_unpacked(fr, NULL);
	return;
refuse:
	c->refused++;
	log_warn("record_refused", "node=%s reason=%s", node, log_q(why ? why : "?"));
	a->bad = true;
	if (fr)
		pp__v1__file_record__free_unpacked(fr, NULL);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Reads every record newer than after_seq from the tracker or worker at
 * address (`label` names it in logs) and merges them; *merged counts what
 * changed the store. */
static int read_from(struct records *r, const char *label, const char *address,
		     uint64_t after_seq, uint64_t *merged)
{
	int64_t t0 = time_mono_ms();
	struct merge_counts c = {0};
	struct assembly a = {0};
	struct merge_batch batch = {0};
	Pp__V1__ReadMetaRequest rm = PP__V1__READ_META_REQUEST__INIT;
	Pp__V1__Request req = PP__V1__REQUEST__INIT;
	req.body_case = PP__V1__REQUEST__BODY_READ_META;
	req.read_meta = &rm;
	rm.after_seq = after_seq;
	rm.max_bytes = READ_BYTES;
	char cursor_hash[PP_SHA256_HEX] = "";
	int rc = PP_OK;
	uint64_t pages = 0;
	for (bool done = false; !done && rc == PP_OK;) {
		struct rpc_reply rep;
		rm.cursor_name_hash = cursor_hash;
		rc = rpc_call(r->t->peers, address, &r->t->auth, &req, NULL, 0, RPC_TIMEOUT_DATA_MS,
			      &rep);
		if (rc == PP_OK && rep.resp->body_case != PP__V1__RESPONSE__BODY_READ_META)
			rc = PP_EINTERNAL;
		if (rc != PP_OK) {
			log_warn("records_read_failed", "from=%s err=%s", log_q(label),
				 log_q(rpc_reply_error(&rep, rc)));
			rpc_reply_free(&rep);
			break;
		}
		const Pp__V1__ReadMetaResponse *rr = rep.resp->read_meta;
		for (size_t off = 0; off + 4 <= rep.payload_len;) {
			uint32_t len = be32(rep.payload + off);
			if (len > rep.payload_len - off - 4)
				break;
			take_page(r, label, rep.payload + off + 4, len, &a, &batch, &c);
			off += 4 + len;
			pages++;
		}
		batch_flush(r, &batch, &c);
		done = rr->done || rr->count == 0;
		rm.cursor_seq = rr->cursor_seq;
		rm.cursor_page = rr->cursor_page;
		snprintf(cursor_hash, sizeof(cursor_hash), "%s", rr->cursor_name_hash);
		rpc_reply_free(&rep);
	}
	assembly_reset(&a);
	batch_free(&batch);
	uint64_t changed = c.restored + c.replaced + c.deleted + c.tombstones;
	if (merged)
		*merged = changed;
	/* A standby's steady following is quiet unless it learned something. */
	if (rc == PP_OK && (pages > 0 || !atomic_load(&r->t->standby)))
		log_info("records_read", "from=%s after_seq=%llu pages=%llu restored=%llu replaced=%llu"
			 " deleted=%llu tombstones=%llu older=%llu refused=%llu ms=%lld",
			 log_q(label), (unsigned long long)after_seq, (unsigned long long)pages,
			 (unsigned long long)c.restored, (unsigned long long)c.replaced,
			 (unsigned long long)c.deleted, (unsigned long long)c.tombstones,
			 (unsigned long long)c.older, (unsigned long long)c.refused,
			 (long long)(time_mono_ms() - t0));
	pthread_mutex_lock(&r->lock);
	r->stats.merged += changed;
	pthread_mutex_unlock(&r->lock);
	return rc;
}

static bool was_read(struct records *r, const char *node)
{
	pthread_mutex_lock(&r->lock);
	bool found = false;
	for (size_t i = 0; !found && i < r->n_read; i++)
		found = strcmp(r->read[i], node) == 0;
	pthread_mutex_unlock(&r->lock);
	return found;
}

static void mark_read(struct records *r, const char *node)
{
	pthread_mutex_lock(&r->lock);
	if (r->n_read == r->cap_read) {
		size_t cap = r->cap_read ? r->cap_read * 2 : 16;
		char(*g)[NODE_ID_MAX] = realloc(r->read, cap * sizeof(*g));
		if (g != NULL) {
			r->read = g;
			r->cap_read = cap;
		}
	}
	if (r->n_read < r->cap_read) {
		snprintf(r->read[r->n_read++], NODE_ID_MAX, "%s", node);
		r->stats.nodes_read++;
	}
	pthread_mutex_unlock(&r->lock);
}

static int64_t records_step(void *arg, struct bgloop *loop)
{
	(void)loop;
	struct records *r = arg;
	struct tracker *t = r->t;
	struct node_rec *nodes = NULL;
	size_t nn = 0;
	uint32_t pending = 0;
	if (liveness_snapshot(t->live, &nodes, &nn) == PP_OK) {
		for (size_t i = 0; i < nn; i++) {
			if (!(nodes[i].roles & ROLE_ALIVE) || was_read(r, nodes[i].id))
				continue;
			/* Alive but not readable yet (suspect, not heard): later. */
			if ((nodes[i].roles & ROLE_SOURCE) &&
			    read_from(r, nodes[i].id, nodes[i].address, r->start_seq, NULL) == PP_OK &&
			    db_scan_done(t->db, nodes[i].id) == PP_OK)
				mark_read(r, nodes[i].id);
			else
				pending++;
		}
	}
	free(nodes);
	if (atomic_load(&t->standby)) {
		/* Follow the primary: whatever it committed since our newest. */
		uint64_t seq = 0;
		if (t->cfg.follow_url != NULL && db_commit_seq(t->db, &seq) == PP_OK)
			read_from(r, "primary", t->cfg.follow_url, seq, NULL);
		pthread_mutex_lock(&r->lock);
		r->stats.nodes_pending = pending;
		pthread_mutex_unlock(&r->lock);
		return FOLLOW_EVERY_MS;
	}
	char(*names)[PP_NAME_MAX + 1] = NULL;
	size_t n = 0;
	bool more = false;
	if (db_records_pending(t->db, PENDING_BATCH, &names, &n) == PP_OK) {
		for (size_t i = 0; i < n; i++)
			if (records_write(t, names[i], 0) != PP_OK)
				more = true;
		more = more || n == PENDING_BATCH;
	}
	free(names);
	pthread_mutex_lock(&r->lock);
	r->stats.nodes_pending = pending;
	pthread_mutex_unlock(&r->lock);
	return pending > 0 || more ? LOOP_BUSY_MS : LOOP_IDLE_MS;
}

int records_start(struct tracker *t, bool rebuild, struct records **out)
{
	struct records *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return PP_EINTERNAL;
	r->t = t;
	pthread_mutex_init(&r->lock, NULL);
	bool empty = false;
	int rc = db_is_empty(t->db, &empty);
	if (rc == PP_OK && !rebuild && !empty)
		rc = db_commit_seq(t->db, &r->start_seq);
	/* Nothing a node holds is garbage until its records were read. */
	if (rc == PP_OK)
		rc = db_scans_reset(t->db);
	if (rc != PP_OK) {
		pthread_mutex_destroy(&r->lock);
		free(r);
		return rc;
	}
	log_info("records_reader", "mode=%s after_seq=%llu",
		 r->start_seq == 0 ? (rebuild ? "rebuild" : "empty_database") : "newer_only",
		 (unsigned long long)r->start_seq);
	*out = r; /* records_write reads t->records */
	if (bgloop_start("records", records_step, r, &r->loop) != PP_OK) {
		*out = NULL;
		pthread_mutex_destroy(&r->lock);
		free(r);
		return PP_EINTERNAL;
	}
	return PP_OK;
}

void records_wake(struct records *r)
{
	if (r != NULL)
		bgloop_wake(r->loop);
}

void records_stop(struct records *r)
{
	if (r != NULL)
		bgloop_stop(r->loop);
}

void records_free(struct records *r)
{
	if (r == NULL)
		return;
	bgloop_free(r->loop);
	free(r->read);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

uint64_t records_catch_up(struct tracker *t)
{
	struct records *r = t->records;
	uint64_t since = 0, total = 0, merged = 0;
	if (r == NULL || db_commit_seq(t->db, &since) != PP_OK)
		return 0;
	if (t->cfg.follow_url != NULL &&
	    read_from(r, "primary", t->cfg.follow_url, since, &merged) == PP_OK)
		total += merged;
	struct node_rec *nodes = NULL;
	size_t nn = 0;
	if (liveness_snapshot(t->live, &nodes, &nn) == PP_OK) {
		for (size_t i = 0; i < nn; i++) {
			merged = 0;
			if ((nodes[i].roles & ROLE_SOURCE) &&
			    read_from(r, nodes[i].id, nodes[i].address, since, &merged) == PP_OK)
				total += merged;
		}
	}
	free(nodes);
	return total;
}

bool records_reading(struct records *r)
{
	struct node_rec *nodes = NULL;
	size_t nn = 0;
	bool reading = false;
	if (r == NULL || liveness_snapshot(r->t->live, &nodes, &nn) != PP_OK)
		return true;
	for (size_t i = 0; !reading && i < nn; i++)
		reading = (nodes[i].roles & ROLE_ALIVE) && !was_read(r, nodes[i].id);
	free(nodes);
	return reading;
}

void records_stats_get(struct records *r, struct records_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (r == NULL)
		return;
	pthread_mutex_lock(&r->lock);
	*out = r->stats;
	pthread_mutex_unlock(&r->lock);
}
