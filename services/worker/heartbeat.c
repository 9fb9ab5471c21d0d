/* Heartbeat publisher; see heartbeat.h.
 *
 * The dial is non-blocking so nng keeps retrying a bus that is not up yet;
 * the pipe-added callback (an nng thread) only sets a flag and wakes the
 * publishing loop, which owns every send. `connected` is atomic. */
#define _GNU_SOURCE
#include "heartbeat.h"
#include "trackers.h"
#include "errors.h"
#include "frame.h"
#include "log.h"
#include "pp/v1/bus.pb-c.h"
#include "rpc_client.h"
#include "timeutil.h"
#include "worker.h"
#include "bgloop.h"

#include <nng/protocol/pubsub0/pub.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#define HEARTBEAT_MSG_MAX 4096

struct heartbeat {
	struct worker *w;
	nng_socket sock;
	struct bgloop *loop;
	atomic_bool connected; /* a new bus connection wants a heartbeat now */
};

static void on_pipe_added(nng_pipe pipe, nng_pipe_ev ev, void *arg)
{
	(void)pipe;
	(void)ev;
	struct heartbeat *hb = arg;
	atomic_store(&hb->connected, true);
	bgloop_wake(hb->loop);
}

static void publish(struct heartbeat *hb)
{
	struct worker *w = hb->w;
	struct store_stats st;
	store_get_stats(w->store, &st);
	Pp__V1__Heartbeat m = PP__V1__HEARTBEAT__INIT;
	m.node_id = (char *)w->cfg.id;
	m.address = (char *)w->cfg.advertise;
	m.zone = (char *)w->cfg.zone;
	m.capacity = st.capacity_bytes;
	m.used = st.used_bytes;
	m.chunks = st.chunks;
	m.inflight = atomic_load(&w->inflight);
	m.started_at_ms = w->started_at_ms;
	m.disk_full = st.disk_full;
	m.term = atomic_load(&w->term);
	nng_msg *msg;
	if (pbc_frame(&w->auth, &m.base, NULL, 0, &msg) != PP_OK)
		return;
	/* PUB never blocks; with no subscriber connected the message is dropped. */
	if (nng_sendmsg(hb->sock, msg, NNG_FLAG_NONBLOCK) != 0)
		nng_msg_free(msg);
}

static int64_t heartbeat_step(void *arg, struct bgloop *loop)
{
	(void)loop;
	struct heartbeat *hb = arg;
	if (atomic_exchange(&hb->connected, false)) {
		/* A new bus connection is most often a tracker that (re)started:
		 * it gets a full inventory now, not at the next interval. */
		log_info("bus_connected", "buses=%s", log_q(hb->w->cfg.bus));
		trackers_inventory_request(hb->w);
	}
	publish(hb);
	return (int64_t)hb->w->cfg.heartbeat_ms;
}

int heartbeat_start(struct worker *w, struct heartbeat **out)
{
	struct heartbeat *hb = calloc(1, sizeof(*hb));
	if (hb == NULL)
		return PP_EINTERNAL;
	hb->w = w;
	int rv = nng_pub0_open(&hb->sock);
	if (rv != 0)
		goto fail;
	nng_socket_set_size(hb->sock, NNG_OPT_RECVMAXSZ, HEARTBEAT_MSG_MAX);
	nng_socket_set_ms(hb->sock, NNG_OPT_RECONNMINT, 50);
	nng_socket_set_ms(hb->sock, NNG_OPT_RECONNMAXT, 1000);
	/* The loop exists before the first pipe callback can wake it. */
	if (bgloop_start("heartbeat", heartbeat_step, hb, &hb->loop) != PP_OK) {
		nng_close(hb->sock);
		goto fail;
	}
	nng_pipe_notify(hb->sock, NNG_PIPE_EV_ADD_POST, on_pipe_added, hb);
	/* One PUB socket dialed to every tracker's bus: each gets every beat. */
	for (size_t i = 0; i < w->n_buses; i++) {
		rv = nng_dial(hb->sock, w->buses[i], NULL, NNG_FLAG_NONBLOCK);
		if (rv != 0) {
			log_error("bus_dial_failed", "address=%s err=%s", log_q(w->buses[i]),
				  log_q(nng_strerror(rv)));
			nng_close(hb->sock);
			bgloop_free(hb->loop);
			goto fail;
		}
	}
	*out = hb;
	return PP_OK;
fail:
	free(hb);
	return PP_EINVAL;
}

void heartbeat_stop(struct heartbeat *hb)
{
	if (hb == NULL)
		return;
	/* The socket first: its pipe callback wakes the loop. */
	nng_close(hb->sock);
	bgloop_free(hb->loop);
	free(hb);
}
