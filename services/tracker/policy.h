/* Replica policy (DESIGN.md, "Durability rules"): the one place that says
 * what a node is good for and which copy of a chunk counts for what. Every
 * caller asks here — placement, commit, repair, trim, drain, balance,
 * collection, health, manifests — in C through the functions below and in
 * SQL through the POLICY_SQL_* fragments, which test over the roles the
 * liveness module stores in nodes.roles (computed by policy_node_roles).
 *
 * Node roles:
 *   ALIVE   not dead: its ok copies keep a chunk from being `lost`.
 *   SOURCE  up and heard by this tracker process: copies may be read.
 *   HOLDER  its regular copies count toward the factor, so repair does not
 *           copy them again: SOURCE and not draining, or in maintenance
 *           (the operator said it comes back; repair waits).
 *   KEEPER  its regular copies justify deleting another copy: SOURCE, not
 *           draining, not in maintenance.
 *   TARGET  may receive new copies: KEEPER with room on its disk.
 *   DURABLE its regular copies make an upload committable: ALIVE and heard
 *           (a worker that wrote durably but missed a heartbeat under load
 *           must not fail a large upload; repair restores the factor).
 * A node that has not heart-beaten to this tracker process is none of
 * SOURCE, HOLDER, KEEPER, TARGET or DURABLE (maintenance aside), whatever
 * the store remembered from before a restart.
 *
 * Copies: a replica row is a copy only in state ok; `extra` copies (pulled
 * for direct access, evictable by their worker at any time) are readable
 * but never count toward a factor. Rows being deleted (deleting, gone)
 * count for nothing. */
#ifndef PP_TRACKER_POLICY_H
#define PP_TRACKER_POLICY_H

#include "db.h"

#include <stdbool.h>
#include <stdint.h>

enum node_role {
	ROLE_ALIVE = 1 << 0,
	ROLE_SOURCE = 1 << 1,
	ROLE_HOLDER = 1 << 2,
	ROLE_KEEPER = 1 << 3,
	ROLE_TARGET = 1 << 4,
	ROLE_DURABLE = 1 << 5,
};

/* The roles of node n at wall time now (maintenance ends at a wall time). */
unsigned policy_node_roles(const struct node_rec *n, int64_t now_wall_ms);

/* A copy in replica state `state` with flag `extra` on a node with `roles`. */
bool policy_copy_readable(int state, unsigned roles);
bool policy_copy_holds(int state, bool extra, unsigned roles);
bool policy_copy_keeps(int state, bool extra, unsigned roles);
bool policy_copy_durable(int state, bool extra, unsigned roles);
bool policy_copy_alive(int state, unsigned roles);

/* The same rules over `replicas r JOIN nodes n`, for the store's queries.
 * Replica states: 0 ok (see db.h). */
#define POLICY_SQL_COPY "r.state = 0"
#define POLICY_SQL_READABLE "(r.state = 0 AND (n.roles & 2) != 0)"
#define POLICY_SQL_HOLDS "(r.state = 0 AND r.extra = 0 AND (n.roles & 4) != 0)"
#define POLICY_SQL_KEEPS "(r.state = 0 AND r.extra = 0 AND (n.roles & 8) != 0)"
#define POLICY_SQL_DURABLE "(r.state = 0 AND r.extra = 0 AND (n.roles & 32) != 0)"
#define POLICY_SQL_ALIVE "(r.state = 0 AND (n.roles & 1) != 0)"

#endif
