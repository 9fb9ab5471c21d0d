/* Chunk transfers between nodes: registering stored replicas with the
 * tracker, forwarding a put down its pipeline, and pulling a chunk from
 * peers (repair, balance, drain, direct access). Every chunk that arrives
 * from the network is verified against its id before it is kept. */
#ifndef PP_WORKER_TRANSFER_H
#define PP_WORKER_TRANSFER_H

#include "rpc_client.h"
#include "store.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TRANSFER_PULL_ROUNDS 3

struct worker;

/* replicas_added for one copy held here (its gen and extra flag tell the
 * tracker which copy and whether it counts); waits for the answer. */
int transfer_register(struct worker *w, const char *chunk_id, const struct store_copy *copy);
/* The same for n copies in one call. */
int transfer_register_many(struct worker *w, const char *const *chunk_ids,
			   const struct store_copy *copies, size_t n);

/* A put forwarded to the next node of the pipeline, run on its own thread
 * so the local write proceeds in parallel. The payload must stay valid
 * until transfer_forward_join returns. */
struct transfer_forward {
	struct worker *w;
	const char *chunk_id;
	char **forward;     /* forward[0] is the target; the rest its list */
	size_t n_forward;
	const void *payload;
	size_t payload_len;
	/* put_chunks: the chunks sent on with the payload (NULL: a put_chunk
	 * of chunk_id). */
	Pp__V1__ChunkRef **chunks;
	size_t n_chunks;
	/* The received frame holding the payload, sent on as it is (no copy);
	 * owned by the forward once started. NULL: the payload is copied. */
	nng_msg *msg;
	pthread_t thread;
	bool started;
	int rc;
	struct rpc_reply reply; /* downstream answer; freed by join's caller */
};
int transfer_forward_start(struct transfer_forward *f);
/* Waits; returns the downstream result (f->reply holds stored_on). */
int transfer_forward_join(struct transfer_forward *f);

/* Copies the chunk from the first source that serves a verified copy
 * (several rounds), stores it (as an extra copy when `extra`) and
 * registers it. With no sources, asks the tracker where it lives. */
int transfer_pull(struct worker *w, const char *chunk_id, char *const *sources, size_t n_sources,
		  bool extra);

/* One round of fetching: tries the sources least busy first (this worker's
 * own requests to each; with none given, the tracker's list), verifies
 * what arrives against the id and asks a source that sent bad bytes to
 * verify_chunk its copy. On PP_OK `out` holds the verified bytes (its
 * payload) and `from` (may be NULL) the source's address; free `out` with
 * rpc_reply_free whatever the result. */
int transfer_fetch(struct worker *w, const char *chunk_id, char *const *sources, size_t n_sources,
		   struct rpc_reply *out, char *from, size_t from_len);

/* Asks `address` to re-verify its copy of chunk_id after it sent bytes that
 * did not hash to the id (it quarantines a bad copy itself); best effort. */
void transfer_report_bad_source(struct worker *w, const char *address, const char *chunk_id);

/* In-flight requests per source address, so concurrent fetches spread over
 * every holder of a file (a direct get pulls from several at once). */
#define TRANSFER_SOURCES_MAX 64
struct transfer_loads {
	pthread_mutex_t lock; /* guards the table */
	struct transfer_load {
		char address[128];
		int inflight;
	} table[TRANSFER_SOURCES_MAX];
	size_t n;
};
void transfer_loads_init(struct transfer_loads *l);
void transfer_loads_destroy(struct transfer_loads *l);

#endif
