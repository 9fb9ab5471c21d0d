/* REP server: nng contexts + aio feeding a bounded handler pool; see
 * rpc_server.h.
 *
 * Each context is a tiny state machine: RECV -> (queued) -> handler on the
 * pool -> SEND -> RECV. The pool queue never holds more than `contexts`
 * entries, since a context is only queued while it has no receive posted. */
#define _GNU_SOURCE
#include "rpc_server.h"
#include "errors.h"
#include "frame.h"
#include "log.h"
#include "timeutil.h"
#include "workq.h"

#include <nng/protocol/reqrep0/rep.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rpc_arena_block {
	struct rpc_arena_block *next;
	max_align_t data[];
};

enum srv_ctx_state { CTX_RECV, CTX_SEND };

struct srv_ctx {
	struct rpc_server *srv;
	nng_ctx ctx;
	nng_aio *aio;
	enum srv_ctx_state state;
	nng_msg *request;
	double received_s; /* prom_mono_seconds() when the request arrived */
};

struct rpc_server {
	struct rpc_server_config cfg;
	nng_socket sock;
	struct srv_ctx *ctxs;
	struct workq *pool; /* handlers; never fuller than `contexts` */
	/* NULL without cfg.metrics */
	struct prom_family *m_requests, *m_duration, *m_received, *m_sent;
};

/* What one request was, for the metrics. */
/* What a request came to: for the metrics, what runs after the reply was
 * handed to nng (rpc_call_after_reply), and whether the handler kept the
 * request (rpc_call_take_request). */
struct rpc_outcome {
	const char *method; /* route name, or "unknown" */
	int status;         /* pp.v1.Status of the reply */
	void (*after_fn)(void *arg);
	void *after_arg;
	bool request_taken;
};

void *rpc_call_alloc(struct rpc_call *call, size_t size)
{
	struct rpc_arena_block *b = calloc(1, sizeof(*b) + size);
	if (b == NULL) {
		log_error("out_of_memory", "bytes=%zu", size);
		abort();
	}
	b->next = call->arena;
	call->arena = b;
	return b->data;
}

char *rpc_call_strdup(struct rpc_call *call, const char *s)
{
	size_t n = strlen(s);
	char *d = rpc_call_alloc(call, n + 1);
	memcpy(d, s, n);
	return d;
}

void rpc_call_fail(struct rpc_call *call, int err, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	call->resp.status = (Pp__V1__Status)pp_status_from_err(err);
	call->resp.error = rpc_call_strdup(call, buf);
	call->resp.body_case = PP__V1__RESPONSE__BODY__NOT_SET;
}

uint8_t *rpc_call_reply_payload(struct rpc_call *call, size_t len)
{
	uint8_t *payload = NULL;
	if (call->reply_msg != NULL || frame_start(&call->reply_msg, len, &payload) != PP_OK)
		return NULL;
	return payload != NULL ? payload : (uint8_t *)nng_msg_body(call->reply_msg);
}

int rpc_call_reply_payload_truncate(struct rpc_call *call, size_t len)
{
	if (call->reply_msg == NULL)
		return PP_EINVAL;
	return frame_truncate_payload(call->reply_msg, len);
}

void rpc_call_reply_payload_drop(struct rpc_call *call)
{
	if (call->reply_msg != NULL)
		nng_msg_free(call->reply_msg);
	call->reply_msg = NULL;
}

int rpc_call_reply_relay(struct rpc_call *call, nng_msg *m, uint8_t **payload)
{
	if (call->reply_msg != NULL)
		return PP_EINVAL;
	int rc = frame_keep_payload(m);
	if (rc != PP_OK)
		return rc;
	call->reply_msg = m;
	*payload = (uint8_t *)nng_msg_body(m) + FRAME_HEADER_BYTES;
	return PP_OK;
}

nng_msg *rpc_call_take_request(struct rpc_call *call)
{
	nng_msg *m = call->request_msg;
	call->request_msg = NULL;
	return m;
}

void rpc_call_after_reply(struct rpc_call *call, void (*fn)(void *arg), void *arg)
{
	call->after_fn = fn;
	call->after_arg = arg;
}

static void arena_free(struct rpc_arena_block *b)
{
	while (b != NULL) {
		struct rpc_arena_block *next = b->next;
		free(b);
		b = next;
	}
}

static const struct rpc_route *route_find(const struct rpc_server *srv,
					  Pp__V1__Request__BodyCase body)
{
	for (size_t i = 0; i < srv->cfg.route_count; i++)
		if (srv->cfg.routes[i].body == body)
			return &srv->cfg.routes[i];
	return NULL;
}

/* Packs call->resp into call->reply_msg (creating it when the handler gave
 * no payload) and signs it. */
static nng_msg *reply_pack(struct rpc_server *srv, struct rpc_call *call)
{
	nng_msg *m = call->reply_msg;
	call->reply_msg = NULL;
	if (m == NULL && frame_start(&m, 0, NULL) != PP_OK)
		return NULL;
	size_t n = pp__v1__response__get_packed_size(&call->resp);
	uint8_t *dst;
	if (frame_reserve_pb(m, n, &dst) != PP_OK) {
		nng_msg_free(m);
		return NULL;
	}
	pp__v1__response__pack(&call->resp, dst);
	if (frame_seal(m, srv->cfg.auth) != PP_OK) {
		nng_msg_free(m);
		return NULL;
	}
	return m;
}

/* Builds the unsigned AUTH_REFUSED / INVALID reply for a frame we refused. */
static nng_msg *reply_refused(int err, const char *why)
{
	Pp__V1__Response resp = PP__V1__RESPONSE__INIT;
	resp.status = (Pp__V1__Status)pp_status_from_err(err);
	resp.error = (char *)why;
	size_t n = pp__v1__response__get_packed_size(&resp);
	uint8_t buf[600];
	nng_msg *m = NULL;
	if (n > sizeof(buf))
		return NULL;
	pp__v1__response__pack(&resp, buf);
	if (frame_build(&m, NULL, buf, n, NULL, 0) != PP_OK)
		return NULL;
	return m;
}

static nng_msg *handle_request(struct rpc_server *srv, nng_msg *msg, struct rpc_outcome *o)
{
	struct frame_view v;
	const char *why = NULL;
	o->method = "unknown";
	int rc = frame_open(msg, srv->cfg.auth, true, &v, &why);
	if (rc != PP_OK) {
		log_warn("request_refused", "reason=%s code=%s", log_q(why), pp_err_name(rc));
		o->status = pp_status_from_err(rc);
		return reply_refused(rc, why);
	}
	Pp__V1__Request *req = pp__v1__request__unpack(NULL, v.pb_len, v.pb);
	if (req == NULL) {
		log_warn("request_malformed", "bytes=%zu", v.pb_len);
		o->status = pp_status_from_err(PP_EINVAL);
		return reply_refused(PP_EINVAL, "malformed request");
	}
	struct rpc_call call = {
		.req = req,
		.payload = v.payload,
		.payload_len = v.payload_len,
		.resp = PP__V1__RESPONSE__INIT,
		.received_mono_ms = time_mono_ms(),
		.request_msg = msg,
	};
	const struct rpc_route *route = route_find(srv, req->body_case);
	if (route == NULL)
		rpc_call_fail(&call, PP_EINVAL, "%s does not serve this request (body %d)",
			      srv->cfg.component, (int)req->body_case);
	else
		route->handler(srv->cfg.service, &call);
	if (route != NULL)
		o->method = route->name;
	o->status = (int)call.resp.status;
	nng_msg *reply = reply_pack(srv, &call);
	o->after_fn = call.after_fn;
	o->after_arg = call.after_arg;
	o->request_taken = call.request_msg == NULL;
	if (route != NULL && log_enabled(LOG_DEBUG))
		log_debug("rpc", "op=%s status=%d ms=%lld", route->name, (int)call.resp.status,
			  (long long)(time_mono_ms() - call.received_mono_ms));
	if (call.reply_msg)
		nng_msg_free(call.reply_msg);
	arena_free(call.arena);
	pp__v1__request__free_unpacked(req, NULL);
	return reply;
}

static void ctx_start_recv(struct srv_ctx *c)
{
	c->state = CTX_RECV;
	nng_ctx_recv(c->ctx, c->aio);
}

static void ctx_aio_done(void *arg)
{
	struct srv_ctx *c = arg;
	struct rpc_server *srv = c->srv;
	int rv = nng_aio_result(c->aio);
	if (c->state == CTX_SEND) {
		if (rv != 0)
			nng_msg_free(nng_aio_get_msg(c->aio));
		if (rv == NNG_ECLOSED)
			return;
		ctx_start_recv(c);
		return;
	}
	if (rv == NNG_ECLOSED)
		return;
	if (rv != 0) {
		ctx_start_recv(c);
		return;
	}
	c->request = nng_aio_get_msg(c->aio);
	c->received_s = prom_mono_seconds();
	/* Refused only while stopping: the context then stays idle and the
	 * stop frees its request. */
	(void)workq_push(srv->pool, c);
}

static void count_request(struct rpc_server *srv, const struct srv_ctx *c,
			  const struct rpc_outcome *o, size_t received, size_t sent)
{
	if (srv->m_requests == NULL)
		return;
	const char *code = pp_err_name(pp_err_from_status(o->status));
	prom_add(srv->m_requests, PROM_L(o->method, code), 1);
	prom_observe(srv->m_duration, PROM_L(o->method), prom_mono_seconds() - c->received_s);
	prom_add(srv->m_received, PROM_L(o->method), (double)received);
	prom_add(srv->m_sent, PROM_L(o->method), (double)sent);
}

static void metrics_register(struct rpc_server *srv, struct prom_registry *r)
{
	srv->m_requests = prom_counter(r, "pp_rpc_requests_total",
				       "RPC requests served, by method and result code.", "method,code");
	srv->m_duration = prom_histogram(r, "pp_rpc_request_duration_seconds",
					 "Time from receiving an RPC request to handing its reply to the transport.",
					 "method", prom_buckets_rpc, prom_buckets_rpc_n);
	srv->m_received = prom_counter(r, "pp_rpc_received_bytes_total",
				       "Bytes of RPC requests received (envelope and payload).", "method");
	srv->m_sent = prom_counter(r, "pp_rpc_sent_bytes_total",
				   "Bytes of RPC replies sent (envelope and payload).", "method");
	if (!srv->m_duration || !srv->m_received || !srv->m_sent)
		srv->m_requests = NULL; /* all or nothing: count_request tests this one */
}

static void serve(void *arg, void *item)
{
	struct rpc_server *srv = arg;
	struct srv_ctx *c = item;
	struct rpc_outcome o = {0};
	size_t received = nng_msg_len(c->request);
	nng_msg *reply = handle_request(srv, c->request, &o);
	if (!o.request_taken)
		nng_msg_free(c->request);
	c->request = NULL;
	count_request(srv, c, &o, received, reply ? nng_msg_len(reply) : 0);
	if (reply == NULL) {
		ctx_start_recv(c);
	} else {
		c->state = CTX_SEND;
		nng_aio_set_msg(c->aio, reply);
		nng_ctx_send(c->ctx, c->aio);
	}
	/* after the reply is on its way: work the caller need not wait for */
	if (o.after_fn != NULL)
		o.after_fn(o.after_arg);
}

int rpc_server_start(const struct rpc_server_config *cfg, struct rpc_server **out)
{
	struct rpc_server *srv = calloc(1, sizeof(*srv));
	if (srv == NULL)
		return PP_EINTERNAL;
	srv->cfg = *cfg;
	if (cfg->metrics != NULL)
		metrics_register(srv, cfg->metrics);
	if (workq_start("rpc", (size_t)cfg->threads, (size_t)cfg->contexts, serve, NULL, srv,
			&srv->pool) != PP_OK)
		goto fail;
	int rv = nng_rep0_open(&srv->sock);
	if (rv != 0)
		goto fail;
	nng_socket_set_size(srv->sock, NNG_OPT_RECVMAXSZ, cfg->max_msg_bytes);
	rv = nng_listen(srv->sock, cfg->listen_url, NULL, 0);
	if (rv != 0) {
		log_error("listen_failed", "address=%s err=%s", log_q(cfg->listen_url), log_q(nng_strerror(rv)));
		nng_close(srv->sock);
		goto fail;
	}
	srv->ctxs = calloc((size_t)cfg->contexts, sizeof(*srv->ctxs));
	for (int i = 0; i < cfg->contexts; i++) {
		struct srv_ctx *c = &srv->ctxs[i];
		c->srv = srv;
		nng_aio_alloc(&c->aio, ctx_aio_done, c);
		nng_ctx_open(&c->ctx, srv->sock);
		ctx_start_recv(c);
	}
	log_info("listening", "address=%s contexts=%d threads=%d", log_q(cfg->listen_url), cfg->contexts,
		 cfg->threads);
	*out = srv;
	return PP_OK;
fail:
	workq_free(srv->pool);
	free(srv);
	return PP_EINVAL;
}

void rpc_server_stop(struct rpc_server *srv)
{
	if (srv == NULL)
		return;
	workq_stop(srv->pool);
	/* Every context's aio stops before the socket closes: a stopped aio
	 * accepts no new operation, so no callback can re-arm a receive while
	 * nng_close waits for the contexts (that race hung a SIGTERM). */
	for (int i = 0; i < srv->cfg.contexts; i++)
		nng_aio_stop(srv->ctxs[i].aio);
	nng_close(srv->sock);
	for (int i = 0; i < srv->cfg.contexts; i++) {
		nng_aio_free(srv->ctxs[i].aio);
		if (srv->ctxs[i].request)
			nng_msg_free(srv->ctxs[i].request);
	}
	free(srv->ctxs);
	workq_free(srv->pool); /* queued contexts: their requests were freed above */
	free(srv);
}
