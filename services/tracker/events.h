/* Cluster events on the tracker's PUB socket (DESIGN.md, "Wire"): framed
 * pp.v1.Event messages for node_state, file_committed, file_deleted,
 * repair_progress, health and chunk_corrupt. Events are hints: sends never
 * block, and subscribers re-read state when they (re)connect. */
#ifndef PP_TRACKER_EVENTS_H
#define PP_TRACKER_EVENTS_H

#include "auth.h"
#include "pp/v1/bus.pb-c.h"

#include <stdint.h>

struct events;

/* PP_EINVAL with a logged reason when the address cannot be listened on. */
int events_open(const char *url, struct auth *auth, struct events **out);
void events_close(struct events *ev);

void events_node_state(struct events *ev, const char *node, const char *state);
void events_file(struct events *ev, const char *kind, const char *name, uint64_t size);
void events_health(struct events *ev, const char *kind, const Pp__V1__Health *health);
void events_detail(struct events *ev, const char *kind, const char *node, const char *detail);

#endif
