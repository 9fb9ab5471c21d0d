/* JSON shapes of DESIGN.md from client structures; see shapes.h.
 * Built only with jansson (never hand-written JSON); a failed allocation
 * anywhere makes the whole shape NULL, never a partial object. */
#define _GNU_SOURCE
#include "shapes.h"

#include <stdio.h>
#include <time.h>

void shape_time_rfc3339(int64_t unix_ms, char *buf, size_t len)
{
	time_t secs = (time_t)(unix_ms >= 0 ? unix_ms / 1000 : (unix_ms - 999) / 1000);
	int ms = (int)(unix_ms - (int64_t)secs * 1000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

/* json_object_set_new that remembers a failure. */
static void put(json_t *o, const char *k, json_t *v, int *bad)
{
	if (v == NULL || o == NULL || json_object_set_new(o, k, v) != 0)
		*bad = 1;
}

static json_t *finish(json_t *o, int bad)
{
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static void fill_file(json_t *o, const struct pp_file *f, int *bad)
{
	char ts[40];
	shape_time_rfc3339(f->created_at_ms, ts, sizeof(ts));
	put(o, "name", json_string(f->name), bad);
	put(o, "size", json_integer((json_int_t)f->size), bad);
	put(o, "sha256", json_string(f->sha256), bad);
	put(o, "replication", json_integer(f->replication), bad);
	put(o, "chunk_size", json_integer(f->chunk_size), bad);
	put(o, "chunk_count", json_integer((json_int_t)f->chunk_count), bad);
	put(o, "created_at", json_string(ts), bad);
	put(o, "created_at_ms", json_integer(f->created_at_ms), bad);
	put(o, "version", json_integer((json_int_t)f->version), bad);
	put(o, "health", json_string(pp_file_health_name(f->health)), bad);
}

json_t *shape_file(const struct pp_file *f)
{
	int bad = 0;
	json_t *o = json_object();
	fill_file(o, f, &bad);
	return finish(o, bad);
}

json_t *shape_list(const struct pp_file_list *l)
{
	int bad = 0;
	json_t *o = json_object();
	json_t *files = json_array();
	for (size_t i = 0; files != NULL && i < l->count; i++) {
		json_t *f = shape_file(&l->files[i]);
		if (f == NULL || json_array_append_new(files, f) != 0)
			bad = 1;
	}
	put(o, "files", files, &bad);
	put(o, "total", json_integer((json_int_t)l->total), &bad);
	return finish(o, bad);
}

json_t *shape_chunk_map(const struct pp_chunk_map *m)
{
	int bad = 0;
	json_t *o = json_object();
	fill_file(o, &m->file, &bad);
	json_t *chunks = json_array();
	for (size_t i = 0; chunks != NULL && i < m->chunk_count; i++) {
		const struct pp_chunk *c = &m->chunks[i];
		json_t *co = json_object();
		json_t *reps = json_array();
		for (size_t j = 0; reps != NULL && j < c->replica_count; j++) {
			const struct pp_replica *r = &c->replicas[j];
			json_t *ro = json_object();
			put(ro, "node", json_string(r->node), &bad);
			put(ro, "address", json_string(r->address), &bad);
			put(ro, "state", json_string(pp_replica_state_name(r->state)), &bad);
			put(ro, "load", json_integer(r->load), &bad);
			if (ro == NULL || json_array_append_new(reps, ro) != 0)
				bad = 1;
		}
		put(co, "index", json_integer((json_int_t)c->index), &bad);
		put(co, "id", json_string(c->id), &bad);
		put(co, "size", json_integer(c->size), &bad);
		put(co, "offset", json_integer((json_int_t)c->offset), &bad);
		put(co, "replicas", reps, &bad);
		if (co == NULL || json_array_append_new(chunks, co) != 0)
			bad = 1;
	}
	put(o, "chunks", chunks, &bad);
	return finish(o, bad);
}

json_t *shape_node(const struct pp_node *n)
{
	int bad = 0;
	json_t *o = json_object();
	put(o, "id", json_string(n->id), &bad);
	put(o, "address", json_string(n->address), &bad);
	put(o, "zone", json_string(n->zone), &bad);
	put(o, "state", json_string(pp_node_state_name(n->state)), &bad);
	put(o, "capacity", json_integer((json_int_t)n->capacity), &bad);
	put(o, "used", json_integer((json_int_t)n->used), &bad);
	put(o, "chunks", json_integer((json_int_t)n->chunks), &bad);
	put(o, "last_heartbeat_ms", json_integer(n->last_heartbeat_ms), &bad);
	put(o, "inflight", json_integer(n->inflight), &bad);
	if (n->started_at_ms > 0) {
		char ts[40];
		shape_time_rfc3339(n->started_at_ms, ts, sizeof(ts));
		put(o, "started_at", json_string(ts), &bad);
	}
	put(o, "disk_full", json_boolean(n->disk_full), &bad);
	put(o, "drain_chunks_left", json_integer((json_int_t)n->drain_chunks_left), &bad);
	put(o, "drain_bytes_left", json_integer((json_int_t)n->drain_bytes_left), &bad);
	return finish(o, bad);
}

json_t *shape_nodes(const struct pp_node_list *l)
{
	int bad = 0;
	json_t *o = json_object();
	json_t *arr = json_array();
	for (size_t i = 0; arr != NULL && i < l->count; i++) {
		json_t *n = shape_node(&l->nodes[i]);
		if (n == NULL || json_array_append_new(arr, n) != 0)
			bad = 1;
	}
	put(o, "nodes", arr, &bad);
	return finish(o, bad);
}

json_t *shape_health(const struct pp_health *h)
{
	int bad = 0;
	json_t *o = json_object();
	put(o, "nodes_up", json_integer(h->nodes_up), &bad);
	put(o, "nodes_down", json_integer(h->nodes_down), &bad);
	put(o, "chunks", json_integer((json_int_t)h->chunks), &bad);
	put(o, "under_replicated", json_integer((json_int_t)h->under_replicated), &bad);
	put(o, "lost", json_integer((json_int_t)h->lost), &bad);
	put(o, "repairs_in_flight", json_integer(h->repairs_in_flight), &bad);
	put(o, "bytes_stored", json_integer((json_int_t)h->bytes_stored), &bad);
	put(o, "files", json_integer((json_int_t)h->files), &bad);
	put(o, "repairs_queued", json_integer((json_int_t)h->repairs_queued), &bad);
	put(o, "repairs_done", json_integer((json_int_t)h->repairs_done), &bad);
	put(o, "repair_bytes_done", json_integer((json_int_t)h->repair_bytes_done), &bad);
	put(o, "repair_bytes_left", json_integer((json_int_t)h->repair_bytes_left), &bad);
	put(o, "repair_eta_s", json_real(h->repair_eta_s), &bad);
	put(o, "repair_rate_bps", json_real(h->repair_rate_bps), &bad);
	return finish(o, bad);
}

json_t *shape_error(const struct pp_error *e)
{
	static const char *const codes[] = {"ok", "invalid", "not_found", "unavailable", "integrity",
					    "auth_refused", "conflict", "no_space", "internal", "too_large"};
	int i = -e->code;
	int bad = 0;
	json_t *o = json_object();
	put(o, "error", json_string(e->message[0] ? e->message : pp_strerror(e->code)), &bad);
	put(o, "code", json_string(i >= 0 && i < 10 ? codes[i] : "internal"), &bad);
	return finish(o, bad);
}
