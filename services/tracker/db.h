/* The tracker's store: SQLite in WAL mode; commits and deletes of files
 * fsync (synchronous=FULL), the rest survives kill -9 (NORMAL).
 *
 * One connection guarded by db->lock; every function here takes the lock
 * itself, so callers never hold it across network calls. Files are
 * immutable rows: a new version is a new row that replaces the old one only
 * inside the commit transaction. chunks.refcount counts file_chunks rows.
 *
 * Replica rows name one copy: (chunk, node, gen), gen being the worker's
 * name for that copy (see services/worker/store.h). A copy the tracker
 * decided to delete stays as a tombstone row (deleting, then gone once the
 * worker acknowledged) until an inventory taken after the delete no longer
 * lists it; so a stale report cannot bring it back, and the worker's own
 * gen check keeps a copy written meanwhile. Which rows count for what is
 * policy.h's business. */
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
enum replica_state {
	REPLICA_ST_OK = 0,
	REPLICA_ST_CORRUPT = 3,  /* quarantined by its worker */
	REPLICA_ST_PENDING = 4,  /* a copy being made (gen 0) */
	REPLICA_ST_DELETING = 5, /* delete decided; (re)sent until acknowledged */
	REPLICA_ST_GONE = 6,     /* acknowledged; kept until an inventory agrees */
};
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
	unsigned roles;                  /* policy_node_roles; stored for SQL */
	bool heard;                      /* heart-beaten to this process; not stored */
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
	uint64_t seq; /* commit sequence number (for a delete: the tombstone's) */
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
	uint64_t gen;
};

/* A copy as a worker reports it. */
struct copy_ref {
	char id[PP_SHA256_HEX];
	uint32_t size;
	uint64_t gen;
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
/* Makes the upload visible; PP_EUNAVAIL/PP_EINVAL/PP_ENOTFOUND with a reason.
 * Chunks only a replaced version referenced are collected after gc_after_ms. */
int db_upload_commit(struct db *db, int64_t upload_id, uint64_t size, const char *sha256,
		     uint64_t chunk_count, int64_t now_ms, int64_t gc_after_ms,
		     struct file_rec *out, char *err, size_t err_len);
/* The same, returning once the commit is visible, before it is durable: the
 * caller acknowledges it only after db_wait_durable(db, *ticket). */
int db_upload_commit_visible(struct db *db, int64_t upload_id, uint64_t size, const char *sha256,
			     uint64_t chunk_count, int64_t now_ms, int64_t gc_after_ms,
			     struct file_rec *out, char *err, size_t err_len, uint64_t *ticket);
/* Returns once every commit up to ticket survives power loss (one shared
 * fsync covers every waiter; see db_query.c). */
int db_wait_durable(struct db *db, uint64_t ticket);
/* The client is still there: restart the idle clock. PP_ENOTFOUND if gone. */
int db_upload_touch(struct db *db, int64_t upload_id, int64_t now_ms);

/* Files whose names start with prefix, in name order, after `after`; at
 * most limit (*out malloc'd); *more when another page follows. */
int db_files_by_prefix(struct db *db, const char *prefix, const char *after, uint32_t limit,
		       struct file_rec **out, size_t *n, bool *more);

/* --- batches of one-chunk uploads (db_batch.c, db_commit.c) --- */
struct chunk_node;
struct batch_upload {
	const char *name;
	uint64_t size;        /* 0: no chunk */
	const char *chunk_id; /* the one chunk when size > 0 */
	int64_t upload_id;    /* out */
	int rc;               /* out: PP_OK or why this one failed */
};
/* Opens a session per item and places its chunk 0, in one transaction; an
 * item that fails is rolled back alone (its rc). */
int db_upload_begin_batch(struct db *db, struct batch_upload *items, size_t n,
			  uint32_t replication, uint32_t chunk_size, int64_t now_ms,
			  int64_t gc_after_ms);
/* Records (chunk, node) pairs as pending copies in one transaction. */
int db_replicas_pending(struct db *db, const struct chunk_node *list, size_t n, int64_t now_ms);
/* db_upload_commit for n uploads at once, all in the same group (one
 * transaction, one fsync): rcs[i], outs[i] and errs[i] per upload. */
struct commit_one {
	int64_t upload_id;
	uint64_t size;
	const char *sha256;
	uint64_t chunk_count;
	struct file_rec out;  /* out */
	int rc;               /* out */
	char err[DB_ERR_MAX]; /* out */
};
void db_upload_commit_many(struct db *db, struct commit_one *items, size_t n, int64_t now_ms,
			   int64_t gc_after_ms);
int db_upload_abort(struct db *db, int64_t upload_id);
/* Deletes uploads idle since before cutoff_ms; *n = how many. */
int db_uploads_expire(struct db *db, int64_t cutoff_ms, int *n);
int db_file_get(struct db *db, const char *name, struct file_rec *out);
int db_file_health(struct db *db, struct file_rec *f);
/* Removes the file; chunks it alone referenced are collected after
 * gc_after_ms (downloads already streaming them finish first). */
int db_file_delete(struct db *db, const char *name, int64_t now_ms, int64_t gc_after_ms,
		   struct file_rec *out);
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
/* Every replica row of the chunk, tombstones included. */
int db_chunk_replicas(struct db *db, const char *chunk_id, struct replica_rec **out, size_t *n);
/* A worker holds copy ref->gen durably. Unknown ids become refcount-0 chunks
 * collectable after gc_after_ms. A report of an older copy than the row
 * names, or of a copy being deleted, changes nothing. */
int db_replica_added(struct db *db, const char *node_id, const struct copy_ref *ref,
		     int64_t now_ms, int64_t gc_after_ms);
/* The same for n copies of node_id in one transaction (all or none). */
int db_replicas_added(struct db *db, const char *node_id, const struct copy_ref *refs, size_t n,
		      int64_t now_ms, int64_t gc_after_ms);
int db_replica_pending(struct db *db, const char *node_id, const char *chunk_id, int64_t now_ms);
/* The worker quarantined copy gen (0: whichever the row names). */
int db_replica_corrupt(struct db *db, const char *node_id, const char *chunk_id, uint64_t gen);
/* Reconciles a node's full inventory taken at snapshot_seq: records what it
 * holds, forgets rows of copies it no longer holds (except those with a gen
 * above snapshot_seq: stored since) and resolves tombstones. PP_ECONFLICT
 * (nothing changed) when a report with a higher snapshot_seq was already
 * reconciled. *removed = regular copies found missing. */
int db_inventory_reconcile(struct db *db, const char *node_id, const struct copy_ref *refs,
			   size_t n, uint64_t snapshot_seq, int64_t now_ms, int64_t gc_after_ms,
			   int *removed);
int db_health(struct db *db, struct health_counts *out);

int db_node_save(struct db *db, const struct node_rec *nodes, size_t n);
int db_nodes_load(struct db *db, struct node_rec **out, size_t *n);
int db_node_usage(struct db *db, const char *node_id, uint64_t *chunks, uint64_t *bytes);

/* --- metadata records (db_records.c; DESIGN.md "Metadata recovery") --- */
/* What the store knows of a name: its newest seq, whether that is a delete,
 * and whether its record is durable on workers. PP_ENOTFOUND: nothing. */
struct record_head {
	uint64_t seq;
	bool tombstone;
	bool durable;
};
int db_record_state(struct db *db, const char *name, struct record_head *out);
/* The record of (name, seq) is durable on `replication` workers. */
int db_record_durable(struct db *db, const char *name, uint64_t seq);
/* Names whose newest record is not yet durable, oldest first. */
int db_records_pending(struct db *db, size_t max, char (**names)[PP_NAME_MAX + 1], size_t *n);
int db_commit_seq(struct db *db, uint64_t *seq);
/* No file, tombstone or commit was ever recorded here. */
int db_is_empty(struct db *db, bool *empty);

/* A whole record (every page's chunks together) read back from a worker. */
struct merge_record {
	char name[PP_NAME_MAX + 1];
	uint64_t seq;
	bool tombstone;
	uint64_t version, size, chunk_count;
	char sha256[PP_SHA256_HEX];
	uint32_t replication, chunk_size;
	int64_t created_at_ms; /* for a tombstone: when deleted */
	struct copy_ref *chunks; /* id and size; chunk_count of them */
	size_t n_chunks;
};
enum merge_outcome {
	MERGE_OLDER,     /* the store knew as much or more: nothing changed */
	MERGE_RESTORED,  /* a file the store did not have */
	MERGE_REPLACED,  /* a newer version of a file the store had */
	MERGE_DELETED,   /* a delete of a file the store had */
	MERGE_TOMBSTONE, /* a delete of a name the store did not have */
};
/* Applies the record if its seq is newer than what the store knows of its
 * name; chunks a replaced or deleted version alone held are collected after
 * gc_after_ms. Raises the commit sequence to the record's seq. */
int db_merge_record(struct db *db, const struct merge_record *r, int64_t gc_after_ms,
		    enum merge_outcome *outcome);
/* The same for n records in one transaction; outcomes[i] for recs[i]. */
int db_merge_records(struct db *db, const struct merge_record *recs, size_t n,
		     int64_t gc_after_ms, enum merge_outcome *outcomes);
/* Names whose newest record (file or tombstone) has seq > after_seq, by
 * seq: what a standby following this tracker has not seen yet. */
struct name_seq {
	char name[PP_NAME_MAX + 1];
	uint64_t seq;
};
int db_names_after(struct db *db, uint64_t after_seq, size_t max, struct name_seq **out, size_t *n);
/* Small durable settings (the tracker's term). Missing keys read as 0. */
int db_kv_get(struct db *db, const char *key, uint64_t *value);
int db_kv_set(struct db *db, const char *key, uint64_t value);
/* Nodes whose records were read since this start: a chunk no file
 * references is collected only when every node holding it was read. */
int db_scans_reset(struct db *db);
int db_scan_done(struct db *db, const char *node_id);

/* --- snapshots (db_backup.c) --- */
/* Writes a consistent copy of the store to dest (replaced), while the store
 * keeps serving; *commit_seq = the newest commit it holds. */
int db_snapshot(struct db *db, const char *dest, uint64_t *commit_seq);

/* --- background work (db_work.c) --- */
struct repair_need {
	char id[PP_SHA256_HEX];
	uint32_t size;
	uint32_t replication;
	int live; /* copies that hold (policy.h) */
};
/* Chunks with fewer holding copies than their factor, fewest first (at
 * most max of them); totals over all of them in *copies and *bytes. */
int db_repair_needs(struct db *db, size_t max, struct repair_need **out, size_t *n,
		    uint64_t *copies, uint64_t *bytes);

struct chunk_node {
	char chunk_id[PP_SHA256_HEX];
	char node_id[NODE_ID_MAX];
	uint32_t size;
	uint64_t gen;
};
/* Chunks with refcount 0 past their gc time and no open upload: their
 * copies become tombstones (deleting) and chunks with no rows left go. */
int db_gc_collect(struct db *db, int64_t now_ms, size_t max, int *retired, int *dropped);
/* Tombstones whose delete is due: never sent, or sent before resend_before
 * (wall ms). Marks them sent at now_ms. */
int db_deletes_due(struct db *db, int64_t now_ms, int64_t resend_before_ms, size_t max,
		   struct chunk_node **out, size_t *n);
/* The worker acknowledged that copy gen of the chunk is not on it. */
int db_delete_acked(struct db *db, const char *node_id, const char *chunk_id, uint64_t gen);
/* Retires one regular copy (it becomes a tombstone) only if, at this
 * moment, the chunk keeps its factor in keeping copies on other nodes (or is
 * referenced by no file). PP_ECONFLICT when it would not. */
int db_replica_retire(struct db *db, const char *node_id, const char *chunk_id);
/* Chunks with more keeping copies than their factor. */
int db_surplus_chunks(struct db *db, size_t max, struct chunk_node **out, size_t *n);
/* Copies on draining nodes whose chunk keeps its factor elsewhere. */
int db_drained_replicas(struct db *db, size_t max, struct chunk_node **out, size_t *n);
/* Forgets corrupt rows of chunks that hold their factor again and pending
 * ones older than cutoff_ms. */
int db_replicas_tidy(struct db *db, int64_t pending_cutoff_ms);
/* Up to max regular copies on `from` of chunks `to` has no row of. */
int db_balance_candidates(struct db *db, const char *from, const char *to, size_t max,
			  struct chunk_node **out, size_t *n);

#endif
