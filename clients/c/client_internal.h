/* What the library's files share: the pp_client handle and error helpers.
 *
 * A pp_client is immutable after pp_client_open except for its peer cache
 * (rpc_peers, which has its own lock) and the atomic `cur`, so any number of
 * threads may use one
 * client at once. Metadata goes to `metas`: the trackers (primary and
 * standbys), or in direct mode the one worker the user named. */
#ifndef PP_CLIENT_INTERNAL_H
#define PP_CLIENT_INTERNAL_H

#include "ppclient.h"

#include "auth.h"
#include "pp/v1/rpc.pb.h"

#include <stdatomic.h>
#include "errors.h"
#include "rpc_peer.h"

#include <stdarg.h>

#define PP_PARALLEL_DEFAULT 4
#define PP_PARALLEL_MAX 64
#define PP_TRACKERS_MAX 4 /* addresses in a --tracker list */
#define PP_TIMEOUT_DEFAULT_MS 5000
#define PP_MANIFEST_PAGE 256     /* chunks per manifest request */
#define PP_LIST_MAX 1000         /* files per list reply */
#define PP_NODES_MAX 100000      /* nodes per nodes reply */
#define PP_REPLICAS_MAX 64       /* replicas per chunk in a reply */

struct pp_client {
	char *tracker;   /* owned; NULL in direct mode */
	char *node;      /* owned; direct mode worker, else NULL */
	/* Where metadata requests go: the trackers of --tracker (primary,
	 * standby), or the one node; owned. `cur` is the one that answered last. */
	char **metas;
	size_t n_metas;
	atomic_size_t cur;
	atomic_bool picked; /* the first call chose a tracker that connects */
	bool direct;
	struct auth auth; /* owned; read-only after open */
	struct rpc_peers *peers; /* owned */
	int parallel;
	int timeout_ms;
	struct mem_budget *budget; /* not owned; NULL = no limit (pp_client_set_budget) */
};

/* A metadata request (the tracker's, or the node's in direct mode): to the
 * address that answered last, moving on past one that is unreachable or a
 * standby refusing a write. */
struct wire_reply;
struct mem_budget;
int client_meta_call(pp_client *c, const pp_v1_Request *req, pp_v1_Response *resp,
		     struct wire_reply *keep, int timeout_ms, struct pp_error *err);

/* Fills err (may be NULL) and returns code. */
int pp_fail(struct pp_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void pp_error_clear(struct pp_error *err);
/* Validates a name for err; PP_OK or PP_EINVAL with the reason. */
int pp_name_valid(const char *name, struct pp_error *err);

#endif
