/* The S3-compatible endpoint of pp-gateway (DESIGN.md, "S3 API"): its own
 * libmicrohttpd daemon on --s3 HOST:PORT, beside the REST daemon, sharing
 * the gateway's cluster client and metrics. main.c only starts and stops it. */
#ifndef PP_GATEWAY_S3_H
#define PP_GATEWAY_S3_H

#include "gateway.h"

struct s3_server;

struct sockaddr_storage;

struct s3_config {
	const char *listen;      /* HOST:PORT, for messages */
	const struct sockaddr_storage *addr; /* listen, resolved by main.c */
	const char *credentials; /* --s3-credentials file, or NULL: open endpoint */
	const char *domain;      /* --s3-domain for virtual-hosted buckets, or NULL */
};

/* PP_EINVAL with a sentence on stderr when the flags are unusable. */
int s3_server_start(struct gateway *gw, const struct s3_config *cfg, struct s3_server **out);
void s3_server_stop(struct s3_server *s); /* NULL-safe */

#endif
