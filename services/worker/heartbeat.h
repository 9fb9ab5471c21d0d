/* Liveness: a PUB socket dialed to the tracker's bus that publishes a
 * signed pp.v1.Heartbeat every heartbeat_ms, once at start and again right
 * after every (re)connection (DESIGN.md, "Wire"), when it also asks the
 * inventory loop for a full report: the tracker may have restarted. */
#ifndef PP_WORKER_HEARTBEAT_H
#define PP_WORKER_HEARTBEAT_H

struct worker;
struct heartbeat;

int heartbeat_start(struct worker *w, struct heartbeat **out);
void heartbeat_stop(struct heartbeat *hb);

#endif
