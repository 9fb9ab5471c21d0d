/* REQ-side transport with fast failure on dropped connections; see rpc_peer.h.
 *
 * Every call is an nng context plus one aio. A call registers its aio in the
 * peer's in-flight list; the pipe-removed notification aborts everything in
 * that list, because nng's REQ would otherwise park the request until a new
 * connection appears and the caller would wait out its whole timeout. */
#define _GNU_SOURCE
#include "rpc_peer.h"
#include "errors.h"
#include "frame.h"
#include "log.h"
#include "timeutil.h"

#include <nng/protocol/reqrep0/req.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define RPC_PEER_INFLIGHT_MAX 256
/* A call to a peer with no connection waits this long for one, then fails:
 * nng would otherwise park the request until the peer comes back, and a
 * caller (the tracker sending a repair to a node that just died) would sit
 * out its whole data timeout. */
#define RPC_PEER_CONNECT_WAIT_MS 1000

struct rpc_peer {
	nng_socket sock;
	char *address;
	pthread_mutex_t lock;                      /* guards inflight, pipes */
	pthread_cond_t connected;                  /* signalled when a pipe is added */
	int pipes;                                 /* live connections (0 or 1) */
	bool closing;                              /* rpc_peers_shutdown: no new waits */
	nng_aio *inflight[RPC_PEER_INFLIGHT_MAX]; /* calls waiting on this peer */
};

static void rpc_peer_pipe_added(nng_pipe pipe, nng_pipe_ev ev, void *arg)
{
	(void)pipe;
	(void)ev;
	struct rpc_peer *p = arg;
	pthread_mutex_lock(&p->lock);
	p->pipes++;
	pthread_cond_broadcast(&p->connected);
	pthread_mutex_unlock(&p->lock);
}

static void rpc_peer_pipe_removed(nng_pipe pipe, nng_pipe_ev ev, void *arg)
{
	(void)pipe;
	(void)ev;
	struct rpc_peer *p = arg;
	pthread_mutex_lock(&p->lock);
	if (p->pipes > 0)
		p->pipes--;
	for (size_t i = 0; i < RPC_PEER_INFLIGHT_MAX; i++)
		if (p->inflight[i] != NULL)
			nng_aio_abort(p->inflight[i], NNG_ECONNRESET);
	pthread_mutex_unlock(&p->lock);
}

int rpc_peer_open(const char *address, struct rpc_peer **out)
{
	struct rpc_peer *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return PP_EINTERNAL;
	int rv = nng_req0_open(&p->sock);
	if (rv != 0) {
		free(p);
		return PP_EINTERNAL;
	}
	pthread_mutex_init(&p->lock, NULL);
	time_cond_init(&p->connected);
	p->address = strdup(address);
	nng_socket_set_size(p->sock, NNG_OPT_RECVMAXSZ, FRAME_MAX_BYTES);
	/* A request must never run twice behind the caller's back. */
	nng_socket_set_ms(p->sock, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	nng_socket_set_ms(p->sock, NNG_OPT_RECONNMINT, 50);
	nng_socket_set_ms(p->sock, NNG_OPT_RECONNMAXT, 1000);
	nng_pipe_notify(p->sock, NNG_PIPE_EV_ADD_POST, rpc_peer_pipe_added, p);
	nng_pipe_notify(p->sock, NNG_PIPE_EV_REM_POST, rpc_peer_pipe_removed, p);
	rv = nng_dial(p->sock, address, NULL, NNG_FLAG_NONBLOCK);
	if (rv != 0) {
		log_warn("peer_dial_failed", "address=%s err=%s", log_q(address), log_q(nng_strerror(rv)));
		rpc_peer_close(p);
		return PP_EINVAL;
	}
	*out = p;
	return PP_OK;
}

void rpc_peer_close(struct rpc_peer *p)
{
	if (p == NULL)
		return;
	nng_close(p->sock);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->connected);
	free(p->address);
	free(p);
}

const char *rpc_peer_address(const struct rpc_peer *p) { return p->address; }

/* The slot the call waits in; -1 when none is free, -2 when shutting down. */
static int inflight_add(struct rpc_peer *p, nng_aio *aio)
{
	int slot = -1;
	pthread_mutex_lock(&p->lock);
	if (p->closing)
		slot = -2;
	for (int i = 0; slot == -1 && i < RPC_PEER_INFLIGHT_MAX; i++) {
		if (p->inflight[i] == NULL) {
			p->inflight[i] = aio;
			slot = i;
			break;
		}
	}
	pthread_mutex_unlock(&p->lock);
	return slot;
}

static void inflight_remove(struct rpc_peer *p, int slot)
{
	if (slot < 0)
		return;
	pthread_mutex_lock(&p->lock);
	p->inflight[slot] = NULL;
	pthread_mutex_unlock(&p->lock);
}

static bool wait_connected(struct rpc_peer *p, int timeout_ms)
{
	int64_t deadline = time_mono_ms() +
			   (timeout_ms < RPC_PEER_CONNECT_WAIT_MS ? timeout_ms : RPC_PEER_CONNECT_WAIT_MS);
	pthread_mutex_lock(&p->lock);
	while (p->pipes == 0) {
		int64_t left = deadline - time_mono_ms();
		if (left <= 0)
			break;
		time_cond_wait_ms(&p->connected, &p->lock, left);
	}
	bool ok = p->pipes > 0;
	pthread_mutex_unlock(&p->lock);
	return ok;
}

int rpc_peer_call(struct rpc_peer *p, nng_msg *req, nng_msg **reply, int timeout_ms)
{
	if (!wait_connected(p, timeout_ms)) {
		nng_msg_free(req);
		log_debug("peer_not_connected", "address=%s", log_q(p->address));
		return PP_EUNAVAIL;
	}
	nng_ctx ctx;
	nng_aio *aio = NULL;
	int rc = PP_EUNAVAIL;
	int slot = -1;
	int rv = nng_ctx_open(&ctx, p->sock);
	if (rv != 0) {
		nng_msg_free(req);
		return PP_EUNAVAIL;
	}
	if (nng_aio_alloc(&aio, NULL, NULL) != 0) {
		nng_msg_free(req);
		goto out;
	}
	int64_t deadline = time_mono_ms() + timeout_ms;
	nng_aio_set_msg(aio, req);
	nng_aio_set_timeout(aio, timeout_ms);
	nng_ctx_send(ctx, aio);
	nng_aio_wait(aio);
	if ((rv = nng_aio_result(aio)) != 0) {
		nng_msg_free(nng_aio_get_msg(aio));
		goto out;
	}
	int64_t left = deadline - time_mono_ms();
	nng_aio_set_timeout(aio, left > 1 ? (nng_duration)left : 1);
	slot = inflight_add(p, aio);
	if (slot == -2)
		goto out;
	nng_ctx_recv(ctx, aio);
	nng_aio_wait(aio);
	if ((rv = nng_aio_result(aio)) != 0)
		goto out;
	*reply = nng_aio_get_msg(aio);
	rc = PP_OK;
out:
	inflight_remove(p, slot);
	if (rc != PP_OK)
		log_debug("peer_call_failed", "address=%s err=%s", log_q(p->address), log_q(nng_strerror(rv)));
	nng_aio_free(aio);
	nng_ctx_close(ctx);
	return rc;
}

struct rpc_peers {
	pthread_mutex_t lock; /* guards peers, n, closing */
	struct rpc_peer *peers[RPC_PEERS_MAX];
	size_t n;
	bool closing;
};

int rpc_peers_new(struct rpc_peers **out)
{
	struct rpc_peers *ps = calloc(1, sizeof(*ps));
	if (ps == NULL)
		return PP_EINTERNAL;
	pthread_mutex_init(&ps->lock, NULL);
	*out = ps;
	return PP_OK;
}

void rpc_peers_free(struct rpc_peers *ps)
{
	if (ps == NULL)
		return;
	for (size_t i = 0; i < ps->n; i++)
		rpc_peer_close(ps->peers[i]);
	pthread_mutex_destroy(&ps->lock);
	free(ps);
}

static int rpc_peers_get(struct rpc_peers *ps, const char *address, struct rpc_peer **out)
{
	int rc = PP_OK;
	pthread_mutex_lock(&ps->lock);
	for (size_t i = 0; i < ps->n; i++) {
		if (strcmp(ps->peers[i]->address, address) == 0) {
			*out = ps->peers[i];
			goto out;
		}
	}
	if (ps->n == RPC_PEERS_MAX) {
		/* Peers are never evicted while calls may use them; a process that
		 * meets this many distinct addresses is misconfigured. */
		rc = PP_EUNAVAIL;
		goto out;
	}
	rc = rpc_peer_open(address, out);
	if (rc == PP_OK)
		ps->peers[ps->n++] = *out;
out:
	pthread_mutex_unlock(&ps->lock);
	return rc;
}

void rpc_peers_shutdown(struct rpc_peers *ps)
{
	if (ps == NULL)
		return;
	pthread_mutex_lock(&ps->lock);
	ps->closing = true;
	for (size_t i = 0; i < ps->n; i++) {
		struct rpc_peer *p = ps->peers[i];
		pthread_mutex_lock(&p->lock);
		p->closing = true;
		for (size_t k = 0; k < RPC_PEER_INFLIGHT_MAX; k++)
			if (p->inflight[k] != NULL)
				nng_aio_abort(p->inflight[k], NNG_ECLOSED);
		pthread_mutex_unlock(&p->lock);
	}
	pthread_mutex_unlock(&ps->lock);
}

int rpc_peers_call(struct rpc_peers *ps, const char *address, nng_msg *req, nng_msg **reply,
		   int timeout_ms)
{
	pthread_mutex_lock(&ps->lock);
	bool closing = ps->closing;
	pthread_mutex_unlock(&ps->lock);
	if (closing) {
		nng_msg_free(req);
		return PP_EUNAVAIL;
	}
	struct rpc_peer *p;
	int rc = rpc_peers_get(ps, address, &p);
	if (rc != PP_OK) {
		nng_msg_free(req);
		return rc == PP_EINVAL ? PP_EINVAL : PP_EUNAVAIL;
	}
	return rpc_peer_call(p, req, reply, timeout_ms);
}

int rpc_peers_pick(struct rpc_peers *ps, char *const *addresses, size_t n, int wait_ms)
{
	struct rpc_peer *p[RPC_PICK_MAX];
	if (n > RPC_PICK_MAX)
		n = RPC_PICK_MAX;
	for (size_t i = 0; i < n; i++)
		if (rpc_peers_get(ps, addresses[i], &p[i]) != PP_OK)
			p[i] = NULL;
	int64_t deadline = time_mono_ms() + wait_ms;
	for (;;) {
		for (size_t i = 0; i < n; i++) {
			if (p[i] == NULL)
				continue;
			pthread_mutex_lock(&p[i]->lock);
			bool up = p[i]->pipes > 0;
			pthread_mutex_unlock(&p[i]->lock);
			if (up)
				return (int)i;
		}
		if (time_mono_ms() >= deadline)
			return -1;
		time_sleep_ms(2);
	}
}
