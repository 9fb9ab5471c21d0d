/* The tracker's store: SQLite in WAL mode with synchronous=FULL, so a
 * committed file and every replica record survive kill -9 at any moment.
 *
 * One connection guarded by db->lock; every function here takes the lock
 * itself, so callers never hold it across network calls. Files are
 * immutable rows: a new version is a new row that replaces the old one only
 * inside the commit transaction. chunks.refcount counts file_chunks rows. */
#ifndef PP_TRACKER_DB_H
#define PP_TRACKER_DB_H

#include "hash.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NODE_ID_MAX 129
#define NODE_ADDR_MAX 257
#define NODE_ZONE_MAX 65
#define DB_ERR_MAX 256

enum liveness_state { LIVE_UP = 0, LIVE_SUSPECT = 1, LIVE_DEAD = 2 };
enum replica_state { REPLICA_ST_OK = 0, REPLICA_ST_CORRUPT = 3, REPLICA_ST_PENDING = 4 };
enum file_health { FILE_OK = 0, FILE_UNDER = 1, FILE_LOST = 2 };

struct db;

struct node_rec {
	char id[NODE_ID_MAX];
	char address[NODE_ADDR_MAX];
	char zone[NODE_ZONE_MAX];
	uint64_t capacity, used, chunks; /* bytes, bytes, count */
	int liveness;                    /* enum liveness_state */
	int64_t last_heartbeat_ms;       /* wall clock */
	int64_t maintenance_until_ms;    /* wall clock; 0 = not in maintenance */
	bool draining;
	bool disk_full;
	uint32_t inflight;               /* not stored */
	int64_t started_at_ms;           /* not stored */
};

struct file_rec {
	int64_t id;
	char name[PP_NAME_MAX + 1];
	uint64_t version, size, chunk_count;
	char sha256[PP_SHA256_HEX];
	uint32_t replication, chunk_size;
	int64_t created_at_ms;
	int health; /* enum file_health, filled by db_file_health */
};

struct upload_rec {
	int64_t id;
	char name[PP_NAME_MAX + 1];
	uint32_t replication, chunk_size;
};

struct replica_rec {
	char node_id[NODE_ID_MAX];
	int state; /* enum replica_state */
	bool extra;
};

struct chunk_rec {
	char id[PP_SHA256_HEX];
	uint64_t index;
	uint32_t size;
	uint32_t replication;
};

struct health_counts {
	uint64_t files, chunks, under_replicated, lost, bytes_stored;
};

int db_open(const char *path, struct db **out);
void db_close(struct db *db);
/* fn is called as each transaction ends (COMMIT or ROLLBACK) with its
 * length in seconds from BEGIN; it runs with the store's lock held, so it
 * must be quick and take no lock that is ever held around a db_ call. */
typedef void (*db_tx_observer_fn)(void *arg, double seconds, bool committed);
void db_set_tx_observer(struct db *db, db_tx_observer_fn fn, void *arg);

/* --- uploads and files (db.c) --- */
int db_upload_begin(struct db *db, const char *name, uint32_t replication, uint32_t chunk_size,
		    uint64_t expected_size, int64_t now_ms, int64_t *upload_id);
int db_upload_get(struct db *db, int64_t upload_id, struct upload_rec *out);
/* Records chunk idx of the upload; creates the chunk row (refcount 0,
 * collectable after gc_after_ms unless committed first). */
int db_upload_place(struct db *db, int64_t upload_id, uint64_t idx, const char *chunk_id,
		    uint32_t size, int64_t now_ms, int64_t gc_after_ms);
/* Makes the upload visible; PP_EUNAVAIL/PP_EINVAL/PP_ENOTFOUND with a reason. */
int db_upload_commit(struct db *db, int64_t upload_id, uint64_t size, const char *sha256,
		     uint64_t chunk_count, int64_t now_ms, struct file_rec *out, char *err,
		     size_t err_len);
int db_upload_abort(struct db *db, int64_t upload_id);
/* Deletes uploads idle since before cutoff_ms; *n = how many. */
int db_uploads_expire(struct db *db, int64_t cutoff_ms, int *n);
int db_file_get(struct db *db, const char *name, struct file_rec *out);
int db_file_health(struct db *db, struct file_rec *f);
int db_file_delete(struct db *db, const char *name, int64_t now_ms, struct file_rec *out);
int db_file_chunks(struct db *db, int64_t file_id, uint64_t first, uint32_t max,
		   struct chunk_rec **out, size_t *n);
/* Newest first. query "" = all; >= 3 characters: FTS5 trigram; 1-2
 * characters: the name_grams index (every 1- and 2-character substring). */
int db_list(struct db *db, const char *query, uint32_t limit, uint32_t offset,
	    struct file_rec **out, size_t *n, uint64_t *total);
/* For tests: the query plan of a list query, one line per step. */
int db_list_plan(struct db *db, const char *query, char *buf, size_t len);

/* --- chunks, replicas, nodes (db_chunks.c) --- */
int db_chunk_get(struct db *db, const char *chunk_id, struct chunk_rec *out);
int db_chunk_replicas(struct db *db, const char *chunk_id, struct replica_rec **out, size_t *n);
/* ok replicas of the chunk on nodes with liveness up. */
int db_chunk_ok_up(struct db *db, const char *chunk_id, int *count);
/* A worker stored the chunk durably. Unknown ids become refcount-0 chunks
 * collectable after gc_after_ms. extra = a direct-access copy nobody asked for. */
int db_replica_added(struct db *db, const char *node_id, const char *chunk_id, uint32_t size,
		     int64_t now_ms, int64_t gc_after_ms);
int db_replica_pending(struct db *db, const char *node_id, const char *chunk_id, int64_t now_ms);
int db_replica_set_state(struct db *db, const char *node_id, const char *chunk_id, int state);
int db_replica_remove(struct db *db, const char *node_id, const char *chunk_id);
/* Reconciles a node's full inventory (ids[i], sizes[i]): records what it
 * holds, forgets replicas it no longer holds (unless recorded after
 * since_ms). *removed = replicas forgotten. */
int db_inventory_reconcile(struct db *db, const char *node_id, char (*ids)[PP_SHA256_HEX],
			   const uint32_t *sizes, size_t n, int64_t since_ms, int64_t now_ms,
			   int64_t gc_after_ms, int *removed);
int db_health(struct db *db, struct health_counts *out);

int db_node_save(struct db *db, const struct node_rec *nodes, size_t n);
int db_nodes_load(struct db *db, struct node_rec **out, size_t *n);
int db_node_usage(struct db *db, const char *node_id, uint64_t *chunks, uint64_t *bytes);

/* --- background work (db_work.c) --- */
struct repair_need {
	char id[PP_SHA256_HEX];
	uint32_t size;
	uint32_t replication;
	int live; /* ok replicas on live, non-draining nodes */
};
/* Chunks with fewer live ok replicas than their factor, fewest first (at
 * most max of them); totals over all of them in *copies and *bytes. */
int db_repair_needs(struct db *db, size_t max, struct repair_need **out, size_t *n,
		    uint64_t *copies, uint64_t *bytes);

struct chunk_node {
	char chunk_id[PP_SHA256_HEX];
	char node_id[NODE_ID_MAX];
	uint32_t size;
};
/* Drops chunks with refcount 0 past their gc time and no open upload; returns
 * the replicas they had, to be deleted from the workers. */
int db_gc_collect(struct db *db, int64_t now_ms, size_t max, struct chunk_node **out, size_t *n);
/* Chunks with more ok, non-extra replicas on up nodes than their factor. */
int db_surplus_chunks(struct db *db, size_t max, struct chunk_node **out, size_t *n);
/* Replicas on draining nodes whose chunk is fully held elsewhere. */
int db_drained_replicas(struct db *db, size_t max, struct chunk_node **out, size_t *n);
/* Forgets corrupt replicas of fully repaired chunks and pending ones older
 * than cutoff_ms. */
int db_replicas_tidy(struct db *db, int64_t pending_cutoff_ms);
/* Up to max ok chunks on `from` that `to` does not hold (balance moves). */
int db_balance_candidates(struct db *db, const char *from, const char *to, size_t max,
			  struct chunk_node **out, size_t *n);

#endif
