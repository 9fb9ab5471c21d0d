/* Worker liveness (DESIGN.md, "Failure"): heartbeats on the bus SUB socket
 * and nng pipe events. A dropped bus connection makes its node suspect at
 * once and dead after --dead-grace-ms unless it heartbeats again; silence
 * makes it suspect after suspect_ms and dead after dead_ms. A node in
 * maintenance is never declared dead before maintenance_until.
 *
 * All state changes happen on the liveness thread, which saves them to the
 * store (nodes.state) before publishing the event and waking repair. */
#ifndef PP_TRACKER_LIVENESS_H
#define PP_TRACKER_LIVENESS_H

#include "db.h"
#include "tracker.h"

#include <stdbool.h>
#include <stddef.h>

struct liveness;

/* Listens on cfg.bus_url; PP_EINVAL (logged) when it cannot. */
int liveness_start(struct tracker *t, struct liveness **out);
void liveness_stop(struct liveness *l);

/* A copy of every known node; the caller frees *out. */
int liveness_snapshot(struct liveness *l, struct node_rec **out, size_t *n);
int liveness_get(struct liveness *l, const char *id, struct node_rec *out);
int liveness_set_draining(struct liveness *l, const char *id, bool on);
/* until_ms is wall-clock unix ms; 0 ends maintenance. */
int liveness_set_maintenance(struct liveness *l, const char *id, int64_t until_ms);

/* The node's state as users see it (pp.v1.NodeState numbering). */
int node_state_of(const struct node_rec *r, int64_t now_wall_ms);
const char *node_state_name(int node_state);
/* May receive new chunks: up, not draining, not in maintenance, not full. */
bool node_placeable(const struct node_rec *r, int64_t now_wall_ms);

#endif
