/* Inventory assembly and reconciliation; see inventory.h. `reports_lock`
 * guards the table of reports in progress; reconciliation itself runs
 * outside it (the store has its own lock). */
#define _GNU_SOURCE
#include "inventory.h"
#include "db.h"
#include "errors.h"
#include "gc.h"
#include "log.h"
#include "repair.h"
#include "timeutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPORTS_MAX 1024

struct report {
	char node_id[NODE_ID_MAX];
	uint64_t report_id;
	uint64_t snapshot_seq;
	uint32_t next_page;
	struct copy_ref *refs;
	size_t n, cap;
};

static pthread_mutex_t reports_lock = PTHREAD_MUTEX_INITIALIZER;
static struct report *reports[REPORTS_MAX];

static void report_free(struct report *r)
{
	if (r) {
		free(r->refs);
		free(r);
	}
}

void inventory_cleanup(void)
{
	pthread_mutex_lock(&reports_lock);
	for (size_t i = 0; i < REPORTS_MAX; i++) {
		report_free(reports[i]);
		reports[i] = NULL;
	}
	pthread_mutex_unlock(&reports_lock);
}

/* Lock held: the slot for node (existing, else a free one), or NULL. */
static struct report **slot_for(const char *node_id)
{
	struct report **free_slot = NULL;
	for (size_t i = 0; i < REPORTS_MAX; i++) {
		if (reports[i] && strcmp(reports[i]->node_id, node_id) == 0)
			return &reports[i];
		if (!reports[i] && !free_slot)
			free_slot = &reports[i];
	}
	return free_slot;
}

static int append(struct report *r, const Pp__V1__InventoryRequest *q)
{
	if (r->n + q->n_chunks > INVENTORY_MAX_CHUNKS)
		return PP_ETOOLARGE;
	if (r->n + q->n_chunks > r->cap) {
		size_t cap = r->cap ? r->cap : 1024;
		while (cap < r->n + q->n_chunks)
			cap *= 2;
		struct copy_ref *refs = realloc(r->refs, cap * sizeof(*r->refs));
		if (refs == NULL)
			return PP_EINTERNAL;
		r->refs = refs;
		r->cap = cap;
	}
	for (size_t i = 0; i < q->n_chunks; i++) {
		struct copy_ref *c = &r->refs[r->n++];
		snprintf(c->id, sizeof(c->id), "%s", q->chunks[i]->id);
		c->size = q->chunks[i]->size;
		c->gen = q->chunks[i]->gen;
		c->extra = q->chunks[i]->extra;
	}
	return PP_OK;
}

int inventory_page(struct tracker *t, const Pp__V1__InventoryRequest *q, char *err,
		   size_t err_len)
{
	struct report *done = NULL;
	int rc = PP_OK;
	pthread_mutex_lock(&reports_lock);
	struct report **slot = slot_for(q->node_id);
	if (slot == NULL) {
		snprintf(err, err_len, "too many inventory reports in progress");
		rc = PP_EUNAVAIL;
		goto unlock;
	}
	if (q->page == 0) {
		report_free(*slot);
		*slot = calloc(1, sizeof(**slot));
		if (*slot == NULL) {
			rc = PP_EINTERNAL;
			goto unlock;
		}
		snprintf((*slot)->node_id, NODE_ID_MAX, "%s", q->node_id);
		(*slot)->report_id = q->report_id;
		(*slot)->snapshot_seq = q->snapshot_seq;
	} else if (*slot == NULL || (*slot)->report_id != q->report_id ||
		   (*slot)->next_page != q->page || (*slot)->snapshot_seq != q->snapshot_seq) {
		snprintf(err, err_len, "inventory page %u of report %llu is out of order; start again"
			 " at page 0", q->page, (unsigned long long)q->report_id);
		report_free(*slot);
		*slot = NULL;
		rc = PP_EINVAL;
		goto unlock;
	}
	rc = append(*slot, q);
	if (rc != PP_OK) {
		snprintf(err, err_len, "inventory too large or out of memory");
		report_free(*slot);
		*slot = NULL;
		goto unlock;
	}
	(*slot)->next_page++;
	if (q->last) {
		done = *slot;
		*slot = NULL;
	}
unlock:
	pthread_mutex_unlock(&reports_lock);
	if (done == NULL)
		return rc;
	int64_t now = time_wall_ms();
	int removed = 0;
	rc = db_inventory_reconcile(t->db, done->node_id, done->refs, done->n, done->snapshot_seq,
				    now, now + (int64_t)t->cfg.gc_grace_s * 1000, &removed);
	if (rc == PP_OK) {
		log_info("inventory_reconciled", "node=%s chunks=%zu forgotten=%d snapshot=%llu",
			 done->node_id, done->n, removed, (unsigned long long)done->snapshot_seq);
		repair_wake(t->repair);
		gc_wake(t->gc);
	} else if (rc == PP_ECONFLICT) {
		/* Overtaken by a later report (a retried one): nothing to learn. */
		log_info("inventory_stale", "node=%s snapshot=%llu", done->node_id,
			 (unsigned long long)done->snapshot_seq);
		rc = PP_OK;
	} else {
		snprintf(err, err_len, "store error reconciling the inventory");
	}
	report_free(done);
	return rc;
}
