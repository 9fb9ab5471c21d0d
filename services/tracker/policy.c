/* The replica policy; see policy.h. Pure functions of a node record and a
 * replica row: no locks, no store, so every caller gets the same answer. */
#include "policy.h"

unsigned policy_node_roles(const struct node_rec *n, int64_t now_wall_ms)
{
	bool maintenance = n->maintenance_until_ms > now_wall_ms;
	bool source = n->liveness == LIVE_UP && n->heard;
	unsigned roles = 0;
	if (n->liveness != LIVE_DEAD)
		roles |= ROLE_ALIVE;
	if (source)
		roles |= ROLE_SOURCE;
	if ((source && !n->draining) || maintenance)
		roles |= ROLE_HOLDER;
	if (source && !n->draining && !maintenance) {
		roles |= ROLE_KEEPER;
		if (!n->disk_full)
			roles |= ROLE_TARGET;
	}
	if (n->liveness != LIVE_DEAD && n->heard)
		roles |= ROLE_DURABLE;
	return roles;
}

bool policy_copy_readable(int state, unsigned roles)
{
	return state == REPLICA_ST_OK && (roles & ROLE_SOURCE);
}

bool policy_copy_holds(int state, bool extra, unsigned roles)
{
	return state == REPLICA_ST_OK && !extra && (roles & ROLE_HOLDER);
}

bool policy_copy_keeps(int state, bool extra, unsigned roles)
{
	return state == REPLICA_ST_OK && !extra && (roles & ROLE_KEEPER);
}

bool policy_copy_durable(int state, bool extra, unsigned roles)
{
	return state == REPLICA_ST_OK && !extra && (roles & ROLE_DURABLE);
}

bool policy_copy_alive(int state, unsigned roles)
{
	return state == REPLICA_ST_OK && (roles & ROLE_ALIVE);
}
