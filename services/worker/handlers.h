/* The worker's RPC service: the route table handed to rpc_server (chunk
 * put/get/has/delete/pull, ping, and the tracker queries a worker proxies
 * for direct node access). */
#ifndef PP_WORKER_HANDLERS_H
#define PP_WORKER_HANDLERS_H

#include "rpc_server.h"

#include <stddef.h>

extern const struct rpc_route worker_routes[];
extern const size_t worker_route_count;

#endif
