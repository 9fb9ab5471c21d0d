/* Worker liveness (DESIGN.md, "Failure"): heartbeats on the bus SUB socket
 * and nng pipe events. A dropped bus connection makes its node suspect at
 * once and dead after --dead-grace-ms unless it heartbeats again; silence
 * makes it suspect after suspect_ms and dead after dead_ms. A node in
 * maintenance is never declared dead before maintenance_until. A node known
 * only from before a tracker restart is suspect until it heart-beats to
 * this process (and dead if it has not within dead_ms of the start).
 *
 * All state changes happen on the liveness loop, which computes each node's
 * roles (policy.h) and saves state and roles to the store (nodes.state,
 * nodes.roles) before publishing the event and waking repair and
 * collection, so the store never credits a node with more than it is. */
#ifndef PP_TRACKER_LIVENESS_H
#define PP_TRACKER_LIVENESS_H

#include "db.h"
#include "tracker.h"

#include <stdbool.h>
#include <stddef.h>

struct liveness;

/* Loads known nodes (none of them heard yet), saves their roles and listens
 * on cfg.bus_url (PP_EINVAL, logged, when it cannot); heartbeats wait in the
 * socket until liveness_run starts the threads, which wake repair and
 * collection: so the tracker opens liveness first (the others read its
 * table) and runs it last (it calls them). */
int liveness_open(struct tracker *t, struct liveness **out);
int liveness_run(struct liveness *l);
/* Stops receiving and evaluating; the node table stays readable until
 * liveness_free. */
void liveness_stop(struct liveness *l);
void liveness_free(struct liveness *l);
/* A copy of every known node (roles included); the caller frees *out. */
int liveness_snapshot(struct liveness *l, struct node_rec **out, size_t *n);
int liveness_get(struct liveness *l, const char *id, struct node_rec *out);
int liveness_set_draining(struct liveness *l, const char *id, bool on);
/* until_ms is wall-clock unix ms; 0 ends maintenance. */
int liveness_set_maintenance(struct liveness *l, const char *id, int64_t until_ms);
/* False while nodes known from before this start may still come back (not
 * all heard, and dead_ms not yet passed): repair waits for them rather than
 * copying what they hold (the HDFS NameNode's safe mode, in small). */
bool liveness_settled(struct liveness *l);

/* The node's state as users see it (pp.v1.NodeState numbering). */
int node_state_of(const struct node_rec *r, int64_t now_wall_ms);
const char *node_state_name(int node_state);

#endif
