/* put_chunks: several small chunks that share a pipeline in one request
 * (proto/pp/v1/rpc.proto, PutChunksRequest), for batches of small files. */
#ifndef PP_WORKER_PUT_BATCH_H
#define PP_WORKER_PUT_BATCH_H

#include "rpc_server.h"

#define PUT_BATCH_MAX 256 /* chunks per request */

void h_put_chunks(void *svc, struct rpc_call *call);

#endif
