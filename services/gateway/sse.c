/* Cluster events to browsers; see sse.h for the queue and wake-up design.
 *
 * Each stream's reader runs on its connection's own thread (main.c starts
 * MHD thread-per-connection) and sleeps on hub->wake while its queue is
 * empty; hub->lock is never held while calling into MHD. */
#define _GNU_SOURCE
#include "sse.h"

#include "errors.h"
#include "flags.h"
#include "frame.h"
#include "log.h"
#include "timeutil.h"
#include "pp/v1/bus.pb-c.h"
#include "shapes.h"

#include <inttypes.h>
#include <jansson.h>
#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SSE_RECV_TIMEOUT_MS 500
#define SSE_EVENT_MAX_BYTES (64u * 1024)

struct sse_client {
	struct sse_client *next, *prev;
	struct sse_hub *hub;
	struct MHD_Connection *conn;
	struct request *r;          /* valid while MHD calls the reader */
	char *queue[SSE_QUEUE_MAX]; /* ring of owned messages */
	size_t head, count;
	size_t sent_of_head;        /* bytes of queue[head] already sent */
};

struct sse_hub {
	nng_socket sub;
	struct auth *auth;
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t lock; /* guards everything below */
	pthread_cond_t wake;  /* broadcast when any queue grows or streams close */
	bool stop;
	bool closing;
	struct sse_client *clients;
	uint64_t nclients, relayed, dropped;
};

/* ---- formatting -------------------------------------------------------- */

static bool kind_ok(const char *k)
{
	if (k == NULL || *k == '\0' || strlen(k) > 64)
		return false;
	for (const char *p = k; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || *p == '_' || (*p >= '0' && *p <= '9')))
			return false;
	return true;
}

static void health_from_pb(const Pp__V1__Health *in, struct pp_health *h)
{
	memset(h, 0, sizeof(*h));
	h->nodes_up = in->nodes_up;
	h->nodes_down = in->nodes_down;
	h->chunks = in->chunks;
	h->under_replicated = in->under_replicated;
	h->lost = in->lost;
	h->repairs_in_flight = in->repairs_in_flight;
	h->bytes_stored = in->bytes_stored;
	h->files = in->files;
	h->repairs_queued = in->repairs_queued;
	h->repairs_done = in->repairs_done;
	h->repair_bytes_done = in->repair_bytes_done;
	h->repair_bytes_left = in->repair_bytes_left;
	h->repair_eta_s = in->repair_eta_s;
	h->repair_rate_bps = in->repair_rate_bps;
}

char *sse_format_event(const void *pb, size_t pb_len)
{
	char *text = NULL;
	char *data = NULL;
	json_t *o = NULL;
	Pp__V1__Event *e = pp__v1__event__unpack(NULL, pb_len, pb);
	if (e == NULL || !kind_ok(e->kind))
		goto out;
	o = json_object();
	if (o == NULL)
		goto out;
	char ts[40];
	shape_time_rfc3339(e->ts_ms, ts, sizeof(ts));
	json_object_set_new(o, "kind", json_string(e->kind));
	json_object_set_new(o, "ts", json_string(ts));
	json_object_set_new(o, "ts_ms", json_integer(e->ts_ms));
	if (e->node && *e->node)
		json_object_set_new(o, "node", json_string(e->node));
	if (e->state && *e->state)
		json_object_set_new(o, "state", json_string(e->state));
	if (e->file && *e->file) {
		json_object_set_new(o, "file", json_string(e->file));
		json_object_set_new(o, "size", json_integer((json_int_t)e->size));
	}
	if (e->detail && *e->detail)
		json_object_set_new(o, "detail", json_string(e->detail));
	if (e->health) {
		struct pp_health h;
		health_from_pb(e->health, &h);
		json_object_set_new(o, "health", shape_health(&h));
	}
	/* Invalid UTF-8 from the bus makes json_string NULL; drop those fields. */
	data = json_dumps(o, JSON_COMPACT); /* compact JSON has no newlines */
	if (data == NULL)
		goto out;
	if (asprintf(&text, "event: %s\ndata: %s\n\n", e->kind, data) < 0)
		text = NULL;
out:
	free(data);
	json_decref(o);
	if (e)
		pp__v1__event__free_unpacked(e, NULL);
	return text;
}

/* ---- queues ------------------------------------------------------------ */

/* Under hub->lock. Takes ownership of msg. */
static void client_push(struct sse_client *c, char *msg)
{
	if (c->count == SSE_QUEUE_MAX) {
		/* Drop the oldest not partly sent message: a half-sent one must finish. */
		size_t victim = (c->head + (c->sent_of_head > 0 ? 1 : 0)) % SSE_QUEUE_MAX;
		free(c->queue[victim]);
		for (size_t i = victim; i != (c->head + c->count - 1) % SSE_QUEUE_MAX;
		     i = (i + 1) % SSE_QUEUE_MAX)
			c->queue[i] = c->queue[(i + 1) % SSE_QUEUE_MAX];
		c->count--;
		c->hub->dropped++;
	}
	c->queue[(c->head + c->count) % SSE_QUEUE_MAX] = msg;
	c->count++;
}

/* Queues a copy of text for every client and wakes their readers. */
static void broadcast(struct sse_hub *h, const char *text)
{
	pthread_mutex_lock(&h->lock);
	for (struct sse_client *c = h->clients; c != NULL; c = c->next) {
		char *copy = strdup(text);
		if (copy != NULL)
			client_push(c, copy);
	}
	pthread_cond_broadcast(&h->wake);
	pthread_mutex_unlock(&h->lock);
}

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)pos;
	struct sse_client *c = cls;
	struct sse_hub *h = c->hub;
	size_t done = 0;
	pthread_mutex_lock(&h->lock);
	/* Blocking here holds only this connection's thread; the relay's
	 * keepalives wake it at least every SSE_KEEPALIVE_MS, so a browser that
	 * went away is noticed at the next write. */
	while (c->count == 0 && !h->closing)
		pthread_cond_wait(&h->wake, &h->lock);
	if (h->closing) {
		pthread_mutex_unlock(&h->lock);
		return MHD_CONTENT_READER_END_OF_STREAM;
	}
	while (c->count > 0 && done < max) {
		const char *m = c->queue[c->head];
		size_t left = strlen(m) - c->sent_of_head;
		size_t n = left < max - done ? left : max - done;
		memcpy(buf + done, m + c->sent_of_head, n);
		done += n;
		c->sent_of_head += n;
		if (c->sent_of_head == strlen(m)) {
			free(c->queue[c->head]);
			c->queue[c->head] = NULL;
			c->head = (c->head + 1) % SSE_QUEUE_MAX;
			c->count--;
			c->sent_of_head = 0;
		}
	}
	pthread_mutex_unlock(&h->lock);
	if (done > 0)
		c->r->bytes_out += done;
	return (ssize_t)done;
}

static void sse_client_free(void *cls)
{
	struct sse_client *c = cls;
	struct sse_hub *h = c->hub;
	pthread_mutex_lock(&h->lock);
	if (c->prev)
		c->prev->next = c->next;
	else
		h->clients = c->next;
	if (c->next)
		c->next->prev = c->prev;
	h->nclients--;
	while (c->count > 0) {
		free(c->queue[c->head]);
		c->head = (c->head + 1) % SSE_QUEUE_MAX;
		c->count--;
	}
	pthread_mutex_unlock(&h->lock);
	log_info("sse_client_gone", "clients=%" PRIu64, h->nclients);
	free(c);
}

enum MHD_Result sse_handle(struct request *r, struct MHD_Connection *conn)
{
	struct sse_hub *h = r->gw->sse;
	struct sse_client *c = calloc(1, sizeof(*c));
	char *hello = strdup("retry: 3000\n: connected\n\n");
	if (c == NULL || hello == NULL) {
		free(c);
		free(hello);
		return reply_error(r, conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "out of memory");
	}
	c->hub = h;
	c->conn = conn;
	c->r = r;
	pthread_mutex_lock(&h->lock);
	if (h->nclients >= SSE_CLIENTS_MAX || h->closing) {
		pthread_mutex_unlock(&h->lock);
		free(c);
		free(hello);
		return reply_error(r, conn, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable",
				   "too many event streams open");
	}
	client_push(c, hello);
	c->next = h->clients;
	if (h->clients)
		h->clients->prev = c;
	h->clients = c;
	h->nclients++;
	uint64_t n = h->nclients;
	pthread_mutex_unlock(&h->lock);
	struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024,
								      sse_read, c, sse_client_free);
	if (resp == NULL) {
		sse_client_free(c);
		return reply_error(r, conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "out of memory");
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	MHD_add_response_header(resp, "X-Accel-Buffering", "no");
	log_info("sse_client_joined", "clients=%" PRIu64, n);
	return reply_response(r, conn, MHD_HTTP_OK, resp);
}

/* ---- relay thread ------------------------------------------------------ */

static void relay_one(struct sse_hub *h, nng_msg *m)
{
	struct frame_view v;
	const char *why = NULL;
	int rc = frame_open(m, h->auth, true, &v, &why);
	if (rc != PP_OK) {
		log_warn("event_refused", "err=%s why=%s", log_q(pp_err_name(rc)), log_q(why ? why : ""));
		return;
	}
	char *text = sse_format_event(v.pb, v.pb_len);
	if (text == NULL || strlen(text) > SSE_EVENT_MAX_BYTES) {
		log_warn("event_unusable", "bytes=%zu", v.pb_len);
		free(text);
		return;
	}
	broadcast(h, text);
	pthread_mutex_lock(&h->lock);
	h->relayed++;
	uint64_t clients = h->nclients;
	pthread_mutex_unlock(&h->lock);
	/* "event: KIND\n": log the kind without re-parsing. */
	const char *k = text + 7;
	int klen = (int)strcspn(k, "\n");
	log_info("event_relayed", "kind=%.*s clients=%" PRIu64, klen, k, clients);
	free(text);
}

static void *relay_main(void *arg)
{
	struct sse_hub *h = arg;
	int64_t last_keepalive = gw_mono_us();
	for (;;) {
		pthread_mutex_lock(&h->lock);
		bool stop = h->stop;
		pthread_mutex_unlock(&h->lock);
		if (stop)
			break;
		nng_msg *m = NULL;
		int rv = nng_recvmsg(h->sub, &m, 0);
		if (rv == 0) {
			relay_one(h, m);
			nng_msg_free(m);
		} else if (rv != NNG_ETIMEDOUT) {
			if (rv == NNG_ECLOSED)
				break;
			log_warn("event_recv_failed", "err=%s", log_q(nng_strerror(rv)));
		}
		if (gw_mono_us() - last_keepalive >= (int64_t)SSE_KEEPALIVE_MS * 1000) {
			last_keepalive = gw_mono_us();
			broadcast(h, ": keepalive\n\n");
		}
	}
	return NULL;
}

static void on_pipe(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	(void)p;
	(void)arg;
	if (ev == NNG_PIPE_EV_ADD_POST)
		log_info("events_connected", "%s", "");
	else if (ev == NNG_PIPE_EV_REM_POST)
		log_warn("events_disconnected", "%s", "retrying=yes");
}

int sse_hub_start(const char *events_url, struct auth *auth, struct sse_hub **out)
{
	struct sse_hub *h = calloc(1, sizeof(*h));
	if (h == NULL)
		return PP_EINTERNAL;
	pthread_mutex_init(&h->lock, NULL);
	time_cond_init(&h->wake);
	h->auth = auth;
	int rv = nng_sub0_open(&h->sub);
	if (rv != 0)
		goto fail;
	nng_socket_set_size(h->sub, NNG_OPT_RECVMAXSZ, FRAME_PB_MAX + FRAME_HEADER_BYTES + AUTH_MAC_BYTES);
	nng_socket_set_ms(h->sub, NNG_OPT_RECVTIMEO, SSE_RECV_TIMEOUT_MS);
	nng_socket_set_ms(h->sub, NNG_OPT_RECONNMINT, 100);
	nng_socket_set_ms(h->sub, NNG_OPT_RECONNMAXT, 2000);
	nng_socket_set(h->sub, NNG_OPT_SUB_SUBSCRIBE, "", 0);
	nng_pipe_notify(h->sub, NNG_PIPE_EV_ADD_POST, on_pipe, h);
	nng_pipe_notify(h->sub, NNG_PIPE_EV_REM_POST, on_pipe, h);
	/* A list (primary, standby): one SUB socket dialed to each; a promoted
	 * standby's events arrive without reconfiguring the gateway. */
	char **urls = NULL;
	size_t n_urls = 0;
	rv = flags_split_list(events_url, 4, &urls, &n_urls) == PP_OK ? 0 : NNG_EINVAL;
	for (size_t i = 0; rv == 0 && i < n_urls; i++) {
		rv = nng_dial(h->sub, urls[i], NULL, NNG_FLAG_NONBLOCK);
		if (rv != 0)
			log_error("events_dial_failed", "url=%s err=%s", log_q(urls[i]), log_q(nng_strerror(rv)));
	}
	flags_list_free(urls, n_urls);
	if (rv != 0) {
		nng_close(h->sub);
		goto fail;
	}
	if (pthread_create(&h->thread, NULL, relay_main, h) != 0) {
		nng_close(h->sub);
		goto fail;
	}
	h->thread_started = true;
	*out = h;
	return PP_OK;
fail:
	pthread_cond_destroy(&h->wake);
	pthread_mutex_destroy(&h->lock);
	free(h);
	return PP_EINVAL;
}

void sse_hub_close_streams(struct sse_hub *h)
{
	if (h == NULL)
		return;
	pthread_mutex_lock(&h->lock);
	h->closing = true;
	pthread_cond_broadcast(&h->wake);
	pthread_mutex_unlock(&h->lock);
}

void sse_hub_stop(struct sse_hub *h)
{
	if (h == NULL)
		return;
	pthread_mutex_lock(&h->lock);
	h->stop = true;
	pthread_mutex_unlock(&h->lock);
	if (h->thread_started)
		pthread_join(h->thread, NULL);
	nng_close(h->sub);
	pthread_cond_destroy(&h->wake);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

void sse_hub_stats(struct sse_hub *h, uint64_t *clients, uint64_t *relayed, uint64_t *dropped)
{
	pthread_mutex_lock(&h->lock);
	*clients = h->nclients;
	*relayed = h->relayed;
	*dropped = h->dropped;
	pthread_mutex_unlock(&h->lock);
}
