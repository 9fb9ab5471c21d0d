/* The tracker's RPC routes (semantics in proto/pp/v1/rpc.proto). Every
 * name and chunk id is checked here, at the edge, before the store sees it. */
#ifndef PP_TRACKER_HANDLERS_H
#define PP_TRACKER_HANDLERS_H

#include "pp/v1/types.pb-c.h"
#include "rpc_server.h"
#include "tracker.h"

#include <stddef.h>

extern const struct rpc_route tracker_routes[];
extern const size_t tracker_route_count;

/* Fills h (nodes, chunk counts, repair progress). */
int tracker_health(struct tracker *t, Pp__V1__Health *h);


#endif
