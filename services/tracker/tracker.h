/* The tracker as a whole: its configuration and the modules every handler
 * and background thread reaches through one struct tracker.
 *
 * Ownership: main.c creates and frees every member; modules keep a pointer
 * to the tracker and never free what they did not create. */
#ifndef PP_TRACKER_TRACKER_H
#define PP_TRACKER_TRACKER_H

#include "auth.h"
#include "rpc_peer.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct tracker_config {
	const char *listen_url;
	const char *bus_url;
	const char *events_url;
	const char *db_path;
	const char *key_file;
	uint64_t chunk_size;
	uint64_t replication;      /* cluster default factor */
	uint64_t heartbeat_ms;
	uint64_t suspect_ms;       /* no heartbeat this long: suspect */
	uint64_t dead_ms;          /* no heartbeat this long: dead */
	uint64_t dead_grace_ms;    /* bus connection dropped: dead after this */
	uint64_t repair_per_node;  /* concurrent repair transfers per worker */
	uint64_t gc_grace_s;       /* unknown chunks, abandoned uploads */
	uint64_t maintenance_timeout_s;
	double balance_spread;     /* fraction of capacity */
	bool rebuild;              /* read back every metadata record */
	const char *follow_url;    /* --follow: a standby of the tracker there */
	uint64_t s3_upload_expiry_s; /* idle S3 multipart uploads are aborted after this */
};

struct db;
struct events;
struct liveness;
struct repair;
struct gc;
struct balance;
struct records;
struct multipart_expiry;

struct tracker {
	struct tracker_config cfg;
	struct auth auth;
	struct db *db;
	struct events *events;
	struct liveness *live;
	struct repair *repair;
	struct gc *gc;
	struct balance *balance;
	struct records *records;
	struct multipart_expiry *mpu_expiry; /* S3 multipart collector */
	struct rpc_peers *peers; /* workers, by address */
	int64_t started_mono_ms;
	/* Role (DESIGN.md, "Metadata recovery": standby). A standby serves
	 * reads and refuses writes; its background work (repair, collection,
	 * balance, writing records) waits. `term` stamps what this tracker asks
	 * of workers; a heartbeat showing a higher term means another tracker
	 * was promoted, and this one steps down. */
	atomic_bool standby;
	_Atomic uint64_t term;
	_Atomic uint64_t term_seen; /* the highest in any worker's heartbeat */
};

/* Stamps a request to a worker with this tracker's term. */
#define TRACKER_STAMP(t, req) ((req)->term = atomic_load(&(t)->term))

#define TRACKER_REPLICATION_MIN 2
#define TRACKER_REPLICATION_MAX 16

#endif
