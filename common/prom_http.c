/* /metrics over libmicrohttpd; see prom_http.h.
 *
 * Every request is answered on the access handler's first call (no request
 * body is ever read), from the registry's text rendered for it. */
#define _GNU_SOURCE
#include "prom_http.h"
#include "errors.h"
#include "log.h"

#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROM_HTTP_CONNECTION_LIMIT 32
#define PROM_HTTP_TIMEOUT_S 15
#define PROM_HTTP_HOST_MAX 256
#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct prom_http {
	struct MHD_Daemon *daemon;
	struct prom_registry *reg; /* borrowed; outlives the server */
};

int prom_http_resolve(const char *hp, struct sockaddr_storage *ss)
{
	char host[PROM_HTTP_HOST_MAX];
	const char *colon = hp ? strrchr(hp, ':') : NULL;
	if (colon == NULL || colon[1] == '\0' || (size_t)(colon - hp) >= sizeof(host))
		return PP_EINVAL;
	const char *h = hp;
	size_t hl = (size_t)(colon - hp);
	if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *ai = NULL;
	if (getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &ai) != 0 || ai == NULL)
		return PP_EINVAL;
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	return PP_OK;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *allow,
			     char *body, size_t len, enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, mode);
	if (resp == NULL) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				status == MHD_HTTP_OK ? PROM_CONTENT_TYPE : "text/plain; charset=utf-8");
	if (allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
	enum MHD_Result r = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return r;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **con_cls)
{
	(void)version;
	(void)upload_data;
	struct prom_http *h = cls;
	*upload_data_size = 0;
	if (*con_cls != NULL)
		return MHD_YES; /* answered on the first call */
	*con_cls = h;
	static char not_found[] = "not found: metrics are at /metrics\n";
	static char no_method[] = "method not allowed\n";
	static char no_memory[] = "out of memory\n";
	if (strcmp(url, "/metrics") != 0)
		return reply(c, MHD_HTTP_NOT_FOUND, NULL, not_found, strlen(not_found),
			     MHD_RESPMEM_PERSISTENT);
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "GET, HEAD", no_method,
			     strlen(no_method), MHD_RESPMEM_PERSISTENT);
	char *text = NULL;
	size_t len = 0;
	if (prom_render(h->reg, &text, &len) != PP_OK)
		return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, no_memory, strlen(no_memory),
			     MHD_RESPMEM_PERSISTENT);
	return reply(c, MHD_HTTP_OK, NULL, text, len, MHD_RESPMEM_MUST_FREE);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	size_t n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	for (char *p = msg; *p; p++)
		if (*p == '"')
			*p = '\'';
	log_warn("metrics_http", "detail=%s", log_q(msg));
}

int prom_http_start(const char *host_port, struct prom_registry *r, struct prom_http **out)
{
	*out = NULL;
	struct sockaddr_storage ss;
	if (prom_http_resolve(host_port, &ss) != PP_OK) {
		log_error("metrics_address_invalid", "metrics=%s", log_q(host_port ? host_port : ""));
		return PP_EINVAL;
	}
	struct prom_http *h = calloc(1, sizeof(*h));
	if (h == NULL)
		return PP_EINTERNAL;
	h->reg = r;
	unsigned flags = MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	h->daemon = MHD_start_daemon(
		flags, 0, NULL, NULL, handle, h, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT,
		(unsigned)PROM_HTTP_CONNECTION_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned)PROM_HTTP_TIMEOUT_S, MHD_OPTION_END);
	if (h->daemon == NULL) {
		log_error("metrics_listen_failed", "metrics=%s", log_q(host_port));
		free(h);
		return PP_EINVAL;
	}
	log_info("metrics_listening", "metrics=%s", log_q(host_port));
	*out = h;
	return PP_OK;
}

void prom_http_stop(struct prom_http *h)
{
	if (h == NULL)
		return;
	MHD_stop_daemon(h->daemon);
	free(h);
}
