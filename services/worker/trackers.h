/* The worker's trackers (DESIGN.md, "Binaries": a comma-separated --tracker
 * list, primary then standby): calls that need the primary go to the one
 * that last took a write and move on past one that is unreachable or
 * answers as a standby; every tracker gets this worker's reports (one
 * report loop each, inventory.h).
 *
 * Terms: a tracker stamps what it asks of a worker with its term; the
 * worker remembers the highest term it has seen (DATA/term, fsynced) and
 * refuses changes from a lower one, so a tracker replaced by a promoted
 * standby can no longer delete or record anything. */
#ifndef PP_WORKER_TRACKERS_H
#define PP_WORKER_TRACKERS_H

#include "pp/v1/rpc.pb-c.h"
#include "rpc_client.h"

#include <stdbool.h>
#include <stdint.h>

struct worker;
struct rpc_call;

int trackers_call(struct worker *w, const Pp__V1__Request *req, int timeout_ms,
		  struct rpc_reply *reply);
/* Asks every report loop for a full inventory soon. */
void trackers_inventory_request(struct worker *w);
void trackers_report_corrupt(struct worker *w, const char *chunk_id, uint64_t gen);
/* Tells the trackers other than the one that just took it synchronously. */
void trackers_queue_added(struct worker *w, size_t except, const Pp__V1__ChunkRef *ref);

/* Reads DATA/term (0 when absent). */
int trackers_term_load(struct worker *w, char *err, size_t err_len);
/* For a request from a tracker that changes something: raises the term
 * seen to the request's, or fails the call (PP_ENOTPRIMARY) when the
 * request's term is lower. */
bool trackers_term_ok(struct worker *w, struct rpc_call *call);

#endif
