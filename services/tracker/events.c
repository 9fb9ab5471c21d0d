/* The events publisher; see events.h. The PUB socket is thread-safe, so any
 * thread may publish; a full send queue drops the event (NONBLOCK). */
#include "events.h"
#include "errors.h"
#include "frame.h"
#include "log.h"
#include "rpc_client.h"
#include "timeutil.h"

#include <nng/protocol/pubsub0/pub.h>
#include <stdlib.h>

struct events {
	nng_socket sock;
	struct auth *auth;
};

int events_open(const char *url, struct auth *auth, struct events **out)
{
	struct events *ev = calloc(1, sizeof(*ev));
	if (ev == NULL)
		return PP_EINTERNAL;
	ev->auth = auth;
	int rv = nng_pub0_open(&ev->sock);
	if (rv == 0) {
		nng_socket_set_size(ev->sock, NNG_OPT_RECVMAXSZ, 4096); /* PUB never receives */
		nng_socket_set_int(ev->sock, NNG_OPT_SENDBUF, 256);
		rv = nng_listen(ev->sock, url, NULL, 0);
		if (rv != 0)
			nng_close(ev->sock);
	}
	if (rv != 0) {
		log_error("listen_failed", "address=%s what=events err=%s", log_q(url), log_q(nng_strerror(rv)));
		free(ev);
		return PP_EINVAL;
	}
	*out = ev;
	return PP_OK;
}

void events_close(struct events *ev)
{
	if (ev == NULL)
		return;
	nng_close(ev->sock);
	free(ev);
}

static void publish(struct events *ev, Pp__V1__Event *e)
{
	if (ev == NULL)
		return;
	e->ts_ms = time_wall_ms();
	nng_msg *m;
	if (pbc_frame(ev->auth, &e->base, NULL, 0, &m) != PP_OK)
		return;
	if (nng_sendmsg(ev->sock, m, NNG_FLAG_NONBLOCK) != 0)
		nng_msg_free(m);
}

void events_node_state(struct events *ev, const char *node, const char *state)
{
	Pp__V1__Event e = PP__V1__EVENT__INIT;
	e.kind = "node_state";
	e.node = (char *)node;
	e.state = (char *)state;
	publish(ev, &e);
}

void events_file(struct events *ev, const char *kind, const char *name, uint64_t size)
{
	Pp__V1__Event e = PP__V1__EVENT__INIT;
	e.kind = (char *)kind;
	e.file = (char *)name;
	e.size = size;
	publish(ev, &e);
}

void events_health(struct events *ev, const char *kind, const Pp__V1__Health *health)
{
	Pp__V1__Event e = PP__V1__EVENT__INIT;
	e.kind = (char *)kind;
	e.health = (Pp__V1__Health *)health;
	publish(ev, &e);
}

void events_detail(struct events *ev, const char *kind, const char *node, const char *detail)
{
	Pp__V1__Event e = PP__V1__EVENT__INIT;
	e.kind = (char *)kind;
	e.node = (char *)node;
	e.detail = (char *)detail;
	publish(ev, &e);
}
