/* Header deadline: a client must finish its request line and headers within
 * a few seconds of connecting (or of its previous request completing), or
 * its connection is shut down. libmicrohttpd's own timeout is an idle
 * timeout, so a client trickling one header byte a second would otherwise
 * hold a connection slot forever (slowloris). Slow request bodies are
 * handled by the upload path (files_api.c). */
#ifndef PP_GATEWAY_HEADER_GUARD_H
#define PP_GATEWAY_HEADER_GUARD_H

#include <microhttpd.h>

struct header_guard;

/* slots: the daemon's connection limit. */
int header_guard_start(unsigned slots, unsigned deadline_s, struct header_guard **out);
void header_guard_stop(struct header_guard *g);
/* MHD_OPTION_NOTIFY_CONNECTION callback; cls is the guard. */
void header_guard_notify(void *cls, struct MHD_Connection *c, void **socket_context,
			 enum MHD_ConnectionNotificationCode code);
/* The headers of the connection's current request have arrived. */
void header_guard_headers_done(struct header_guard *g, struct MHD_Connection *c);
/* The request finished; the next one on this connection gets a new deadline. */
void header_guard_request_done(struct header_guard *g, struct MHD_Connection *c);

#endif
