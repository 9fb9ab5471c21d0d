/* The worker's trackers; see trackers.h. */
#define _GNU_SOURCE
#include "trackers.h"
#include "errors.h"
#include "fsutil.h"
#include "inventory.h"
#include "log.h"
#include "rpc_server.h"
#include "worker.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TERM_PATH_MAX 4096

int trackers_call(struct worker *w, const Pp__V1__Request *req, int timeout_ms,
		  struct rpc_reply *reply)
{
	size_t first = atomic_load(&w->preferred);
	int rc = PP_EUNAVAIL;
	for (size_t k = 0; k < w->n_trackers; k++) {
		size_t i = (first + k) % w->n_trackers;
		rc = rpc_call(w->peers, w->trackers[i], &w->auth, req, NULL, 0, timeout_ms, reply);
		if (rc != PP_EUNAVAIL && rc != PP_ENOTPRIMARY) {
			if (i != first)
				atomic_store(&w->preferred, i);
			return rc;
		}
		if (k + 1 < w->n_trackers)
			rpc_reply_free(reply);
	}
	return rc;
}

void trackers_inventory_request(struct worker *w)
{
	for (size_t i = 0; i < w->n_trackers; i++)
		inventory_request(w->inventories[i]);
}

void trackers_report_corrupt(struct worker *w, const char *chunk_id, uint64_t gen)
{
	for (size_t i = 0; i < w->n_trackers; i++)
		inventory_report_corrupt(w->inventories[i], chunk_id, gen);
}

void trackers_queue_added(struct worker *w, size_t except, const Pp__V1__ChunkRef *ref)
{
	for (size_t i = 0; i < w->n_trackers; i++)
		if (i != except)
			inventory_queue_added(w->inventories[i], ref);
}

static void term_path(struct worker *w, char *out)
{
	snprintf(out, TERM_PATH_MAX, "%s/term", w->cfg.data_dir);
}

int trackers_term_load(struct worker *w, char *err, size_t err_len)
{
	char path[TERM_PATH_MAX];
	term_path(w, path);
	uint64_t term = 0;
	if (fs_read_u64(path, &term) < 0) {
		snprintf(err, err_len, "cannot read %s: %s", path, strerror(errno));
		return PP_EINVAL;
	}
	atomic_store(&w->term, term);
	return PP_OK;
}

/* term_lock held: writes the term durably. */
static int term_save(struct worker *w, uint64_t term)
{
	char path[TERM_PATH_MAX], tmp[TERM_PATH_MAX + 8], text[32];
	term_path(w, path);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	snprintf(text, sizeof(text), "%llu\n", (unsigned long long)term);
	return fs_replace_small(path, tmp, text) == 0 ? PP_OK : PP_EINTERNAL;
}

bool trackers_term_ok(struct worker *w, struct rpc_call *call)
{
	uint64_t term = call->req->term, seen = atomic_load(&w->term);
	if (term < seen) {
		rpc_call_fail(call, PP_ENOTPRIMARY,
			      "refused: a tracker of term %llu took over (this request has term %llu)",
			      (unsigned long long)seen, (unsigned long long)term);
		return false;
	}
	if (term == seen)
		return true;
	pthread_mutex_lock(&w->term_lock);
	seen = atomic_load(&w->term);
	int rc = term > seen ? term_save(w, term) : PP_OK;
	if (rc == PP_OK && term > seen) {
		atomic_store(&w->term, term);
		log_info("tracker_term", "term=%llu was=%llu", (unsigned long long)term,
			 (unsigned long long)seen);
	}
	pthread_mutex_unlock(&w->term_lock);
	if (rc != PP_OK) {
		rpc_call_fail(call, PP_EINTERNAL, "cannot record tracker term %llu",
			      (unsigned long long)term);
		return false;
	}
	return true;
}
