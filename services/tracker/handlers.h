/* The tracker's RPC routes (semantics in proto/pp/v1/rpc.proto). Every
 * name and chunk id is checked here, at the edge, before the store sees it. */
#ifndef PP_TRACKER_HANDLERS_H
#define PP_TRACKER_HANDLERS_H

#include "pp/v1/types.pb-c.h"
#include "rpc_server.h"
#include "db.h"
#include "tracker.h"

#include <stdbool.h>
#include <stddef.h>

extern const struct rpc_route tracker_routes[];
extern const size_t tracker_route_count;

/* Fills h (nodes, chunk counts, repair progress). */
int tracker_health(struct tracker *t, Pp__V1__Health *h);

/* Shared by the one-file routes here and the batch routes (batch.c). */
int64_t handlers_grace_ms(const struct tracker *t);
/* Fail the call (PP_ENOTPRIMARY) on a standby / on a demoted primary. */
bool handlers_primary_only(struct tracker *t, struct rpc_call *call);
bool handlers_current_only(struct tracker *t, struct rpc_call *call);
size_t handlers_placeable(struct tracker *t);
Pp__V1__FileInfo *handlers_file_info(struct rpc_call *call, const struct file_rec *f);
/* Where chunk_id still has to go for `replication` copies, on the live
 * nodes given: r->targets (on the call's arena) or r->already_stored. Each
 * target is recorded as a pending copy at once, or, with `pending`, added
 * there (room for `replication` more) for the caller to record in one go.
 * On failure, a PP_E* code and why. */
int handlers_place(struct tracker *t, struct rpc_call *call, const struct node_rec *nodes,
		   size_t nn, const char *chunk_id, uint32_t size, uint32_t replication, int64_t now,
		   Pp__V1__PlaceResponse *r, struct chunk_node *pending, size_t *npending, char *why,
		   size_t why_len);

/* A manifest page of file f (its health filled in first): chunks
 * [first, first+max) with their replicas on the nodes given, the first one
 * at byte `offset` of the file (chunks may differ in size). NULL on a
 * store error. */
Pp__V1__ManifestResponse *handlers_manifest(struct tracker *t, struct rpc_call *call,
					     struct file_rec *f, uint64_t first, uint64_t offset,
					     uint32_t max, const struct node_rec *nodes, size_t nn);

/* batch.c: many small files in three calls (rpc.proto, UploadBatchRequest)
 * and one manifest call per page of a prefix (PrefixManifestRequest). */
void h_upload_batch(void *svc, struct rpc_call *call);
void h_commit_batch(void *svc, struct rpc_call *call);
void h_prefix_manifest(void *svc, struct rpc_call *call);
/* A durable commit that waits a moment for replicas_added to catch up with
 * the client's put (S3 copies and completions; the caller then writes the
 * metadata record). */
int handlers_commit(struct tracker *t, int64_t upload_id, uint64_t size, const char *sha256,
		    uint64_t chunk_count, struct file_rec *f, char *err, size_t err_len);


/* False (and the call failed) unless id is a well-formed chunk id. */
bool handlers_chunk_ok(struct rpc_call *call, const char *id);

/* handlers_nodes.c: routes about nodes and the cluster. */
void h_nodes(void *svc, struct rpc_call *call);
void h_health(void *svc, struct rpc_call *call);
void h_drain(void *svc, struct rpc_call *call);
void h_maintenance(void *svc, struct rpc_call *call);
void h_replicas_added(void *svc, struct rpc_call *call);
void h_chunk_corrupt(void *svc, struct rpc_call *call);
void h_inventory(void *svc, struct rpc_call *call);
void h_read_meta(void *svc, struct rpc_call *call);
void h_promote(void *svc, struct rpc_call *call);
void h_backup(void *svc, struct rpc_call *call);
void h_backup_read(void *svc, struct rpc_call *call);

#endif
