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

struct file_rec;
/* For handlers in other files (handlers_s3.c): a FileInfo of f allocated
 * on the call, and a durable commit that waits a moment for replicas_added
 * to catch up with the client's put (S3 copies and completions; the caller
 * then writes the metadata record). */
Pp__V1__FileInfo *handlers_file_info(struct rpc_call *call, const struct file_rec *f);
/* False (and the call failed) on a standby tracker, which takes no writes. */
bool handlers_primary_only(struct tracker *t, struct rpc_call *call);
int handlers_commit(struct tracker *t, int64_t upload_id, uint64_t size, const char *sha256,
		    uint64_t chunk_count, struct file_rec *f, char *err, size_t err_len);


#endif
