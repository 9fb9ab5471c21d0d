/* The state one pp-worker process shares between its parts: configuration,
 * the chunk store, the cluster key, the peer cache and the transfer slots.
 *
 * Ownership: main.c creates and frees everything here; the other modules
 * borrow it for their lifetime and stop before main.c frees it. */
#ifndef PP_WORKER_WORKER_H
#define PP_WORKER_WORKER_H

#include "auth.h"
#include "rpc_peer.h"
#include "store.h"
#include "transfer.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#define WORKER_RPC_CONTEXTS 32
#define WORKER_RPC_THREADS 16
/* Transfers that may block a handler thread on another node (forwarding
 * puts, pulls). Kept below WORKER_RPC_THREADS so some threads always serve
 * reads and pipeline tails, which never wait on anyone: no cycle of workers
 * forwarding to each other can take every thread. */
#define WORKER_TRANSFER_SLOTS 12
#define WORKER_SLOT_WAIT_MS 10000
#define WORKER_TRACKERS_MAX 4

struct worker_config {
	const char *id;
	const char *listen;
	const char *advertise;
	const char *tracker;  /* comma-separated: primary, then standbys */
	const char *bus;      /* the matching bus addresses */
	const char *data_dir;
	const char *zone;
	uint64_t capacity_bytes;
	uint64_t scrub_rate_bps;      /* 0 disables the scrubber */
	uint64_t heartbeat_ms;
	uint64_t inventory_interval_s;
	uint64_t scrub_pass_interval_s; /* pause between full scrub passes */
};

struct inventory;
struct keeper;
struct reg_waiter;
struct meta_log;

struct worker {
	struct worker_config cfg;
	struct auth auth;
	struct store *store;
	struct meta_log *meta;        /* metadata records kept for the tracker */
	struct rpc_peers *peers;      /* the trackers and other workers */
	char **trackers;              /* cfg.tracker split; owned */
	size_t n_trackers;
	char **buses;                 /* cfg.bus split; owned */
	size_t n_buses;
	atomic_size_t preferred;      /* the tracker that last took a write */
	struct keeper *keeper;        /* direct-get copies made durable */
	/* one report loop per tracker, same index */
	struct inventory *inventories[WORKER_TRACKERS_MAX];
	pthread_mutex_t term_lock;    /* guards persisting term */
	_Atomic uint64_t term;        /* highest tracker term seen */
	int64_t started_at_ms;        /* wall clock */
	atomic_uint inflight;         /* chunk transfers in progress */
	struct transfer_loads loads;  /* requests in flight per source peer */
	pthread_mutex_t reg_lock;     /* guards reg_queue, reg_busy (transfer_register) */
	pthread_cond_t reg_cond;
	struct reg_waiter *reg_queue; /* registrations waiting for the next replicas_added */
	bool reg_busy;
	pthread_mutex_t slots_lock;   /* guards slots_free */
	pthread_cond_t slots_cond;
	int slots_free;
};

/* Takes a transfer slot, waiting at most wait_ms; PP_EUNAVAIL when busy. */
int worker_slot_take(struct worker *w, int wait_ms);
void worker_slot_give(struct worker *w);
void worker_slots_init(struct worker *w);
void worker_slots_destroy(struct worker *w);

#endif
