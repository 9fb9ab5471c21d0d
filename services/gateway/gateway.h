/* What the gateway's files share: the process-wide struct gateway and the
 * per-request struct request that MHD hands back on every callback.
 *
 * A request is allocated on the first access-handler call and freed in the
 * completion callback, which is also where its log line and metrics are
 * written. A streaming response (download, SSE) owns its own state and never
 * touches the request after completion. */
#ifndef PP_GATEWAY_H
#define PP_GATEWAY_H

#include "ppclient.h"

#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>

struct mem_budget;
struct metrics;
struct sse_hub;
struct token_table;
struct webui;

#define GW_PATH_LOG_MAX 256         /* bytes of the path kept for the log line */
#define GW_UPLOAD_MIN_RATE_BPS 1024 /* slower uploads are dropped after the grace */
#define GW_UPLOAD_RATE_GRACE_MS 30000

struct gateway {
	pp_client *client;         /* owned by main; transfers and metadata */
	pp_client *probe;          /* owned by main; short timeout, for /readyz and /metrics */
	struct metrics *metrics;   /* owned by main */
	struct sse_hub *sse;       /* owned by main */
	struct token_table *tokens; /* NULL when no --token-file */
	struct webui *ui;          /* owned by main */
	struct header_guard *guard; /* owned by main; slow-header watchdog */
	uint64_t max_upload;       /* 0 = no limit */
	struct mem_budget *budget; /* owned by main; downloads' buffers (--max-memory) */
};

/* Routes, for metrics labels (metrics.c has their names). */
enum gw_route {
	ROUTE_FILE_PUT,
	ROUTE_FILE_GET,
	ROUTE_FILE_HEAD,
	ROUTE_FILE_DELETE,
	ROUTE_FILES_LIST,
	ROUTE_CHUNKMAP,
	ROUTE_NODES,
	ROUTE_HEALTH,
	ROUTE_EVENTS,
	ROUTE_METRICS,
	ROUTE_HEALTHZ,
	ROUTE_READYZ,
	ROUTE_UI,
	ROUTE_OTHER,
	ROUTE_S3, /* every request on the S3 endpoint (s3_server.c) */
	ROUTE_COUNT
};

struct request {
	struct gateway *gw;
	enum gw_route route;
	char method[12];
	char path[GW_PATH_LOG_MAX];
	int64_t start_us;
	unsigned status;       /* 0 until a response is queued */
	uint64_t bytes_in;
	uint64_t bytes_out;    /* updated by streaming readers while the connection lives */
	bool handled;          /* a response was queued or the connection suspended */
	/* upload */
	pp_upload *up;         /* open between the first body byte and commit/abort */
	bool up_failed;        /* a write failed or a limit hit; the body is drained */
	unsigned up_fail_status;
	uint64_t up_fail_at;   /* bytes_in when it failed; bounds draining */
	struct pp_error up_err;
	char *name;            /* decoded file name, owned */
	uint32_t replication;
};

/* Helpers in routes.c used by the endpoint files. Each queues a response,
 * records the status, and returns the MHD result to pass back. */
enum MHD_Result reply_json(struct request *r, struct MHD_Connection *c, unsigned status,
			   void *json /* json_t*, reference stolen */);
enum MHD_Result reply_error(struct request *r, struct MHD_Connection *c, unsigned status,
			    const char *code, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* From a client library error: status from common/errors.c's table. */
enum MHD_Result reply_pp_error(struct request *r, struct MHD_Connection *c,
			       const struct pp_error *e);
enum MHD_Result reply_response(struct request *r, struct MHD_Connection *c, unsigned status,
			       struct MHD_Response *resp);

/* Monotonic microseconds, for request timings (routes.c). */
int64_t gw_mono_us(void);

#endif
