/* Server-Sent Events relay: a SUB socket dialed to the tracker's events
 * address receives framed pp.v1.Event messages (protobuf-c) and each one is
 * queued as `event: KIND\ndata: JSON\n\n` for every connected browser.
 *
 * Each browser has a bounded queue (oldest dropped when full); its response
 * reader, on the connection's own thread, sleeps while the queue is empty and
 * the relay thread wakes it when something arrives or a keepalive is due. */
#ifndef PP_GATEWAY_SSE_H
#define PP_GATEWAY_SSE_H

#include "gateway.h"

#include <stdint.h>

#define SSE_QUEUE_MAX 256        /* messages per browser */
#define SSE_KEEPALIVE_MS 15000
#define SSE_CLIENTS_MAX 512

struct sse_hub;
struct auth;

/* Dials events_url (retrying in the background) and starts the relay thread. */
int sse_hub_start(const char *events_url, struct auth *auth, struct sse_hub **out);
/* Ends every stream (waking sleeping readers) so MHD can stop. */
void sse_hub_close_streams(struct sse_hub *h);
void sse_hub_stop(struct sse_hub *h);

/* GET /api/v1/events: queues the streaming response. */
enum MHD_Result sse_handle(struct request *r, struct MHD_Connection *c);

void sse_hub_stats(struct sse_hub *h, uint64_t *clients, uint64_t *relayed, uint64_t *dropped);

/* The SSE text of one event (malloc'd) or NULL when the event is unusable;
 * exposed for the unit tests. */
char *sse_format_event(const void *pb, size_t pb_len);

#endif
