/* The small HTTP server behind `--metrics HOST:PORT` (libmicrohttpd, one
 * internal thread): GET or HEAD /metrics renders a prom registry; any other
 * path is 404, any other method 405. No authentication: bind it to an
 * address only the scrapers reach. */
#ifndef PP_COMMON_PROM_HTTP_H
#define PP_COMMON_PROM_HTTP_H

#include "prom.h"

#include <sys/socket.h>

struct prom_http;

/* Listens on host_port ("127.0.0.1:9100", "[::1]:9100", ":9100" for every
 * address). PP_EINVAL (logged) when the address is unusable or taken. */
int prom_http_start(const char *host_port, struct prom_registry *r, struct prom_http **out);
/* NULL-safe; returns after the last scrape in progress ended. */
void prom_http_stop(struct prom_http *h);

/* "HOST:PORT", "[V6]:PORT" or ":PORT" to a socket address (the gateway's
 * --http uses it too). PP_EINVAL when it is not one. */
int prom_http_resolve(const char *host_port, struct sockaddr_storage *ss);

#endif
