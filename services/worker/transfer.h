/* Chunk transfers between nodes: registering stored replicas with the
 * tracker, forwarding a put down its pipeline, and pulling a chunk from
 * peers (repair, balance, drain, direct access). Every chunk that arrives
 * from the network is verified against its id before it is kept. */
#ifndef PP_WORKER_TRANSFER_H
#define PP_WORKER_TRANSFER_H

#include "rpc_client.h"
#include "store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TRANSFER_PULL_ROUNDS 3

struct worker;

/* replicas_added for one copy held here (its gen and extra flag tell the
 * tracker which copy and whether it counts); waits for the answer. */
int transfer_register(struct worker *w, const char *chunk_id, const struct store_copy *copy);

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

#endif
