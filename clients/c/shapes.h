/* The JSON shapes of DESIGN.md ("JSON shapes") built from the client
 * library's structures, for `ppctl --json` and the gateway's REST answers.
 *
 * Field names are the contract; extra fields are allowed. Times are RFC 3339
 * UTC; node, replica and file-health states are strings ("up", "ok"...).
 * Every function returns a new reference (json_decref it) or NULL when out
 * of memory. */
#ifndef PP_CLIENT_SHAPES_H
#define PP_CLIENT_SHAPES_H

#include "ppclient.h"

#include <jansson.h>

/* {"name","size","sha256","replication","chunk_size","chunk_count",
 *  "created_at","version"} + "health", "created_at_ms" */
json_t *shape_file(const struct pp_file *f);
/* {"files":[file...],"total":N} */
json_t *shape_list(const struct pp_file_list *l);
/* file fields + "chunks":[{"index","id","size","replicas":[{"node","address","state"}]}] */
json_t *shape_chunk_map(const struct pp_chunk_map *m);
/* {"id","address","zone","state","capacity","used","chunks","last_heartbeat_ms"} + extras */
json_t *shape_node(const struct pp_node *n);
/* {"nodes":[node...]} */
json_t *shape_nodes(const struct pp_node_list *l);
/* {"nodes_up","nodes_down","chunks","under_replicated","lost",
 *  "repairs_in_flight","bytes_stored"} + repair figures */
json_t *shape_health(const struct pp_health *h);
/* {"error": message, "code": "not_found"...} */
json_t *shape_error(const struct pp_error *e);

/* RFC 3339 UTC with milliseconds; buf >= 32 bytes. */
void shape_time_rfc3339(int64_t unix_ms, char *buf, size_t len);

#endif
