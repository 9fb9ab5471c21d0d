/* Header deadline watchdog; see header_guard.h.
 *
 * One slot per open connection, found through MHD's socket context. A
 * watchdog thread shuts down (never closes: MHD owns the fd) connections
 * past their deadline; MHD then sees EOF and cleans up as for any client
 * that went away. g->lock guards the slots; MHD's CLOSED notification takes
 * it before the fd is closed, so a slot marked live always has a live fd. */
#define _GNU_SOURCE
#include "header_guard.h"
#include "bgloop.h"
#include "errors.h"
#include "log.h"
#include "timeutil.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>

struct guard_slot {
	bool used;
	bool waiting; /* headers of the current request not yet complete */
	int fd;
	int64_t since_ms;
};

#define GUARD_CHECK_EVERY_MS 500

struct header_guard {
	pthread_mutex_t lock;
	struct bgloop *loop;
	unsigned deadline_ms;
	unsigned n;
	struct guard_slot *slots;
};

static struct guard_slot *slot_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return info != NULL ? info->socket_context : NULL;
}

void header_guard_notify(void *cls, struct MHD_Connection *c, void **socket_context,
			 enum MHD_ConnectionNotificationCode code)
{
	struct header_guard *g = cls;
	pthread_mutex_lock(&g->lock);
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *info =
			MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		for (unsigned i = 0; info != NULL && i < g->n; i++) {
			if (!g->slots[i].used) {
				g->slots[i] = (struct guard_slot){true, true, info->connect_fd,
								  time_mono_ms()};
				*socket_context = &g->slots[i];
				break;
			}
		}
	} else if (*socket_context != NULL) {
		struct guard_slot *s = *socket_context;
		s->used = false;
		*socket_context = NULL;
	}
	pthread_mutex_unlock(&g->lock);
}

static void slot_set_waiting(struct header_guard *g, struct MHD_Connection *c, bool waiting)
{
	pthread_mutex_lock(&g->lock);
	struct guard_slot *s = slot_of(c);
	if (s != NULL && s->used) {
		s->waiting = waiting;
		s->since_ms = time_mono_ms();
	}
	pthread_mutex_unlock(&g->lock);
}

void header_guard_headers_done(struct header_guard *g, struct MHD_Connection *c)
{
	if (g != NULL)
		slot_set_waiting(g, c, false);
}

void header_guard_request_done(struct header_guard *g, struct MHD_Connection *c)
{
	if (g != NULL)
		slot_set_waiting(g, c, true);
}

static int64_t guard_step(void *arg, struct bgloop *loop)
{
	(void)loop;
	struct header_guard *g = arg;
	pthread_mutex_lock(&g->lock);
	int64_t now = time_mono_ms();
	for (unsigned i = 0; i < g->n; i++) {
		struct guard_slot *s = &g->slots[i];
		if (!s->used || !s->waiting || now - s->since_ms < g->deadline_ms)
			continue;
		shutdown(s->fd, SHUT_RDWR);
		s->waiting = false;
		log_warn("slow_client_dropped", "fd=%d waited_ms=%lld reason=\"headers not complete\"",
			 s->fd, (long long)(now - s->since_ms));
	}
	pthread_mutex_unlock(&g->lock);
	return GUARD_CHECK_EVERY_MS;
}

int header_guard_start(unsigned slots, unsigned deadline_s, struct header_guard **out)
{
	struct header_guard *g = calloc(1, sizeof(*g));
	if (g == NULL)
		return PP_EINTERNAL;
	g->slots = calloc(slots, sizeof(*g->slots));
	if (g->slots == NULL) {
		free(g);
		return PP_EINTERNAL;
	}
	g->n = slots;
	g->deadline_ms = deadline_s * 1000;
	pthread_mutex_init(&g->lock, NULL);
	if (bgloop_start("header-guard", guard_step, g, &g->loop) != PP_OK) {
		pthread_mutex_destroy(&g->lock);
		free(g->slots);
		free(g);
		return PP_EINTERNAL;
	}
	*out = g;
	return PP_OK;
}

void header_guard_stop(struct header_guard *g)
{
	if (g == NULL)
		return;
	bgloop_free(g->loop);
	pthread_mutex_destroy(&g->lock);
	free(g->slots);
	free(g);
}
