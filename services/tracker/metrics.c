/* The tracker's metrics; see metrics.h.
 *
 * Per-node families are cleared and refilled at each scrape, so a node the
 * tracker forgot stops being exported. Node states follow node_state_of()
 * (pp.v1.NodeState numbering), the one rule the API and the UI use too. */
#define _GNU_SOURCE
#include "metrics.h"
#include "db.h"
#include "errors.h"
#include "liveness.h"
#include "repair.h"
#include "timeutil.h"

#include <stdlib.h>

#define NODE_STATES 5 /* pp.v1.NodeState: up .. maintenance */

struct tracker_metrics {
	struct tracker *t;
	struct prom_family *files, *chunks, *under, *lost, *stored;
	struct prom_family *nodes, *node_state, *heartbeat_age, *node_capacity, *node_used,
		*node_chunks;
	struct prom_family *repair_queued, *repair_in_flight, *repair_copies, *repair_bytes,
		*repair_left, *balance_in_flight;
	struct prom_family *db_tx;
	struct prom_family *standby, *term;
};

static void observe_tx(void *arg, double seconds, bool committed)
{
	struct tracker_metrics *m = arg;
	prom_observe(m->db_tx, PROM_L(committed ? "commit" : "rollback"), seconds);
}

static void collect_nodes(struct tracker_metrics *m)
{
	struct node_rec *nodes = NULL;
	size_t n = 0;
	if (liveness_snapshot(m->t->live, &nodes, &n) != PP_OK)
		return;
	int64_t wall = time_wall_ms();
	size_t count[NODE_STATES] = {0};
	prom_clear(m->node_state);
	prom_clear(m->heartbeat_age);
	prom_clear(m->node_capacity);
	prom_clear(m->node_used);
	prom_clear(m->node_chunks);
	for (size_t i = 0; i < n; i++) {
		const struct node_rec *r = &nodes[i];
		int st = node_state_of(r, wall);
		if (st >= 0 && st < NODE_STATES)
			count[st]++;
		for (int s = 0; s < NODE_STATES; s++)
			prom_set(m->node_state, PROM_L(r->id, node_state_name(s)), s == st);
		if (r->last_heartbeat_ms > 0)
			prom_set(m->heartbeat_age, PROM_L(r->id),
				 (double)(wall - r->last_heartbeat_ms) / 1000.0);
		prom_set(m->node_capacity, PROM_L(r->id), (double)r->capacity);
		prom_set(m->node_used, PROM_L(r->id), (double)r->used);
		prom_set(m->node_chunks, PROM_L(r->id), (double)r->chunks);
	}
	for (int s = 0; s < NODE_STATES; s++)
		prom_set(m->nodes, PROM_L(node_state_name(s)), (double)count[s]);
	free(nodes);
}

/* The cluster's view comes from the primary only: a standby's copy of the
 * store lags and its liveness table is its own, and exporting both would
 * count every file and node twice in a sum over trackers. */
static void clear_cluster_view(struct tracker_metrics *m)
{
	struct prom_family *view[] = {m->files, m->chunks, m->under, m->lost, m->stored,
				      m->nodes, m->node_state, m->heartbeat_age, m->node_capacity,
				      m->node_used, m->node_chunks};
	for (size_t i = 0; i < sizeof(view) / sizeof(view[0]); i++)
		prom_clear(view[i]);
}

static void collect(void *arg)
{
	struct tracker_metrics *m = arg;
	bool standby = atomic_load(&m->t->standby);
	prom_set(m->standby, NULL, standby);
	prom_set(m->term, NULL, (double)atomic_load(&m->t->term));
	if (standby) {
		clear_cluster_view(m);
		return;
	}
	struct health_counts c;
	if (db_health(m->t->db, &c) == PP_OK) {
		prom_set(m->files, NULL, (double)c.files);
		prom_set(m->chunks, NULL, (double)c.chunks);
		prom_set(m->under, NULL, (double)c.under_replicated);
		prom_set(m->lost, NULL, (double)c.lost);
		prom_set(m->stored, NULL, (double)c.bytes_stored);
	}
	collect_nodes(m);
	struct repair_stats s;
	repair_stats_get(m->t->repair, &s);
	prom_set(m->repair_queued, NULL, (double)s.queued);
	prom_set(m->repair_in_flight, NULL, s.in_flight);
	prom_set(m->repair_copies, NULL, (double)s.done);
	prom_set(m->repair_bytes, NULL, (double)s.bytes_done);
	prom_set(m->repair_left, NULL, (double)s.bytes_left);
	prom_set(m->balance_in_flight, NULL, s.moves_in_flight);
}

int tracker_metrics_register(struct tracker *t, struct prom_registry *r)
{
	/* One tracker per process; the registry keeps a pointer to this. */
	static struct tracker_metrics m;
	m.t = t;
	m.files = prom_gauge(r, "pp_cluster_files", "Committed files.", NULL);
	m.chunks = prom_gauge(r, "pp_cluster_chunks", "Distinct chunks referenced by files or uploads.", NULL);
	m.under = prom_gauge(r, "pp_cluster_under_replicated_chunks",
			     "Chunks with fewer ok replicas than their file's replication factor.", NULL);
	m.lost = prom_gauge(r, "pp_cluster_lost_chunks", "Chunks with no ok or suspect replica.", NULL);
	m.stored = prom_gauge(r, "pp_cluster_stored_bytes", "Bytes held in ok replicas on up workers, every copy counted.", NULL);
	m.nodes = prom_gauge(r, "pp_cluster_nodes", "Workers known to the tracker, by state.", "state");
	m.node_state = prom_gauge(r, "pp_node_state", "1 for the state each worker is in, 0 for the others.", "node,state");
	m.heartbeat_age = prom_gauge(r, "pp_node_heartbeat_age_seconds",
				     "Seconds since the tracker last heard each worker's heartbeat.", "node");
	m.node_capacity = prom_gauge(r, "pp_node_capacity_bytes", "Capacity each worker reported in its last heartbeat.", "node");
	m.node_used = prom_gauge(r, "pp_node_used_bytes", "Bytes each worker reported stored in its last heartbeat.", "node");
	m.node_chunks = prom_gauge(r, "pp_node_chunks", "Chunks each worker reported in its last heartbeat.", "node");
	m.repair_queued = prom_gauge(r, "pp_repair_queued_copies", "Replica copies still to make, not in flight.", NULL);
	m.repair_in_flight = prom_gauge(r, "pp_repair_in_flight_transfers", "Repair and balance transfers in progress.", NULL);
	m.repair_copies = prom_counter(r, "pp_repair_copies_total", "Replica copies made by repair since the tracker started.", NULL);
	m.repair_bytes = prom_counter(r, "pp_repair_copied_bytes_total", "Bytes copied by repair since the tracker started.", NULL);
	m.repair_left = prom_gauge(r, "pp_repair_remaining_bytes", "Bytes repair still has to copy.", NULL);
	m.balance_in_flight = prom_gauge(r, "pp_balance_in_flight_moves", "Balance moves in progress.", NULL);
	m.db_tx = prom_histogram(r, "pp_db_transaction_duration_seconds",
				 "SQLite transactions of the tracker, BEGIN to COMMIT or ROLLBACK.", "result",
				 prom_buckets_db, prom_buckets_db_n);
	m.standby = prom_gauge(r, "pp_tracker_standby",
			       "1 while this tracker is a standby (it exports no pp_cluster_* or pp_node_*),"
			       " 0 on the primary.", NULL);
	m.term = prom_gauge(r, "pp_tracker_term", "The tracker's term; it grows with each promotion.",
			    NULL);
	if (!m.standby || !m.term || !m.files || !m.chunks || !m.under || !m.lost || !m.stored || !m.nodes || !m.node_state ||
	    !m.heartbeat_age || !m.node_capacity || !m.node_used || !m.node_chunks ||
	    !m.repair_queued || !m.repair_in_flight || !m.repair_copies || !m.repair_bytes ||
	    !m.repair_left || !m.balance_in_flight || !m.db_tx)
		return PP_EINTERNAL;
	db_set_tx_observer(t->db, observe_tx, &m);
	return prom_collector_add(r, collect, &m);
}
