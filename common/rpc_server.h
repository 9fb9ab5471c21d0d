/* Server side of every service's RPC: a REP socket, several nng contexts with
 * aio, and a bounded pool of threads that run handlers (DESIGN.md, "Wire").
 *
 * A context's receive callback only queues the call; handlers (SQLite, disk,
 * hashing) run on the pool, so one slow request never blocks the others and
 * nng's own threads stay free. A service is a table of routes: a new RPC is a
 * message in proto/, a handler, one table entry.
 *
 * Requests the server cannot decode or refuses count as method "unknown".
 *
 * Memory: everything a handler allocates with rpc_call_alloc lives until the
 * reply is sent. The request and its payload are valid during the handler. */
#ifndef PP_COMMON_RPC_SERVER_H
#define PP_COMMON_RPC_SERVER_H

#include "auth.h"
#include "pp/v1/rpc.pb-c.h"
#include "prom.h"

#include <nng/nng.h>
#include <stddef.h>
#include <stdint.h>

struct rpc_server;

struct rpc_call {
	const Pp__V1__Request *req;
	const uint8_t *payload; /* request payload (chunk bytes) */
	size_t payload_len;
	Pp__V1__Response resp; /* the handler fills status, error, body */
	int64_t received_mono_ms;
	/* private to rpc_server.c */
	nng_msg *request_msg;
	nng_msg *reply_msg;
	struct rpc_arena_block *arena;
	void (*after_fn)(void *arg);
	void *after_arg;
};

typedef void (*rpc_handler_fn)(void *service, struct rpc_call *call);

struct rpc_route {
	Pp__V1__Request__BodyCase body;
	rpc_handler_fn handler;
	const char *name; /* for logs: "put_chunk" */
};

struct rpc_server_config {
	const char *listen_url;
	const char *component;
	struct auth *auth;
	const struct rpc_route *routes;
	size_t route_count;
	void *service; /* passed to every handler */
	int contexts;  /* requests received concurrently */
	int threads;   /* handler pool size */
	size_t max_msg_bytes;
	/* When set, every request is counted and timed there:
	 * pp_rpc_requests_total{method,code}, pp_rpc_request_duration_seconds
	 * {method} (from receipt, queueing included, to the reply handed to
	 * nng) and pp_rpc_{received,sent}_bytes_total{method}. */
	struct prom_registry *metrics;
};

/* Listens and starts serving; PP_EINVAL with a logged reason when the
 * address cannot be listened on. */
int rpc_server_start(const struct rpc_server_config *cfg, struct rpc_server **out);
void rpc_server_stop(struct rpc_server *srv);

/* Zeroed memory that lives until the reply is sent. */
void *rpc_call_alloc(struct rpc_call *call, size_t size);
char *rpc_call_strdup(struct rpc_call *call, const char *s);
/* Sets a failure status from a PP_E* code with a formatted message. */
void rpc_call_fail(struct rpc_call *call, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A reply payload of len bytes for the handler to fill; at most once. */
uint8_t *rpc_call_reply_payload(struct rpc_call *call, size_t len);
int rpc_call_reply_payload_truncate(struct rpc_call *call, size_t len);
/* Drops a reply payload made earlier (the handler answers another way). */
void rpc_call_reply_payload_drop(struct rpc_call *call);
/* The reply carries the payload of m, a frame received from elsewhere
 * (frame_keep_payload is applied); on PP_OK m belongs to the call and
 * *payload points at its payload. At most once, instead of
 * rpc_call_reply_payload. */
int rpc_call_reply_relay(struct rpc_call *call, nng_msg *m, uint8_t **payload);
/* The request's frame, for a handler that sends its payload on (a forward)
 * without copying it: ownership passes to the caller, and call->payload
 * stays valid only until the caller lets go of the message. */
nng_msg *rpc_call_take_request(struct rpc_call *call);
/* Runs fn(arg) on the handler's thread once the reply has been handed to
 * nng: work the caller need not wait for (fsync of a copy kept for later).
 * fn owns arg and always runs, also when the reply could not be built. At
 * most once per call. */
void rpc_call_after_reply(struct rpc_call *call, void (*fn)(void *arg), void *arg);

#endif
