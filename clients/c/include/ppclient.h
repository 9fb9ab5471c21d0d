/* libppclient: the public C API of Peer Pressure (DESIGN.md, "Flows").
 *
 * A pp_client talks to the tracker (or, in direct mode, to one worker) and
 * to the workers holding chunks. It has no global state; one client may be
 * used from several threads at once. Every call that can fail returns 0 or a
 * negative PP_E* code and, when `err` is not NULL, fills it with the code and
 * a sentence. Structures returned through `**out` pointers are owned by the
 * caller and freed with the matching *_free function.
 *
 * Streams are never held whole in memory: uploads and downloads move at most
 * `parallel` chunks at a time (options below). */
#ifndef PPCLIENT_H
#define PPCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Everything declared here is the library's exported API; the shared
 * library hides every other symbol (-fvisibility=hidden + a version script). */
#pragma GCC visibility push(default)

/* Error codes (same values as the services' PP_E* codes, common/errors.h). */
#ifndef PP_COMMON_ERRORS_H
#define PP_OK 0
#define PP_EINVAL (-1)     /* bad argument: name, range, flag */
#define PP_ENOTFOUND (-2)
#define PP_EUNAVAIL (-3)   /* cluster unavailable or not enough live workers */
#define PP_EINTEGRITY (-4) /* hash mismatch that no replica could repair */
#define PP_EAUTH (-5)      /* refused by the cluster key */
#define PP_ECONFLICT (-6)
#define PP_ENOSPACE (-7)
#define PP_EINTERNAL (-8)
#define PP_ETOOLARGE (-9)
#define PP_ENOTPRIMARY (-10) /* a standby tracker answered a write */
#endif

struct pp_error {
	int code;
	char message[512];
};

enum pp_node_state { PP_NODE_UP, PP_NODE_SUSPECT, PP_NODE_DEAD, PP_NODE_DRAINING, PP_NODE_MAINTENANCE };
enum pp_replica_state { PP_REPLICA_OK, PP_REPLICA_SUSPECT, PP_REPLICA_DEAD, PP_REPLICA_CORRUPT, PP_REPLICA_PENDING };
enum pp_file_health { PP_FILE_OK, PP_FILE_UNDER_REPLICATED, PP_FILE_LOST };

/* "up", "ok", "under_replicated"... as in the JSON shapes. */
const char *pp_node_state_name(int state);
const char *pp_replica_state_name(int state);
const char *pp_file_health_name(int health);
const char *pp_strerror(int code);

typedef struct pp_client pp_client;

struct pp_client_options {
	const char *tracker;  /* "tcp://127.0.0.1:7000"; NULL when node is set */
	const char *node;     /* direct mode: a worker's address, or NULL */
	const char *key_file; /* cluster key file, or NULL (open cluster) */
	int parallel;         /* chunks in flight per transfer; 0 = 4 */
	int timeout_ms;       /* metadata calls; 0 = 5000. ppctl gives up after it */
};

int pp_client_open(const struct pp_client_options *opt, pp_client **out, struct pp_error *err);
void pp_client_close(pp_client *c);

/* The file shape of DESIGN.md ("JSON shapes"). */
struct pp_file {
	char name[1025];
	uint64_t size;
	char sha256[65];
	uint32_t replication;
	uint32_t chunk_size;
	uint64_t chunk_count;
	int64_t created_at_ms; /* unix ms */
	uint64_t version;
	int health; /* enum pp_file_health */
};

struct pp_replica {
	char node[129];
	char address[257];
	int state; /* enum pp_replica_state */
	uint32_t load;
};

struct pp_chunk {
	uint64_t index;
	char id[65];
	uint32_t size;
	size_t replica_count;
	struct pp_replica *replicas;
};

struct pp_chunk_map {
	struct pp_file file;
	size_t chunk_count;
	struct pp_chunk *chunks;
};

struct pp_file_list {
	uint64_t total; /* matches overall, for paging */
	size_t count;
	struct pp_file *files;
};

struct pp_node {
	char id[129];
	char address[257];
	char zone[65];
	int state; /* enum pp_node_state */
	uint64_t capacity;
	uint64_t used;
	uint64_t chunks;
	int64_t last_heartbeat_ms; /* ms since the last heartbeat */
	uint32_t inflight;
	int64_t started_at_ms;
	bool disk_full;
	uint64_t drain_chunks_left;
	uint64_t drain_bytes_left;
};

struct pp_node_list {
	size_t count;
	struct pp_node *nodes;
};

struct pp_health {
	uint32_t nodes_up;
	uint32_t nodes_down;
	uint64_t chunks;
	uint64_t under_replicated;
	uint64_t lost;
	uint32_t repairs_in_flight;
	uint64_t bytes_stored;
	uint64_t files;
	uint64_t repairs_queued;
	uint64_t repairs_done;
	uint64_t repair_bytes_done;
	uint64_t repair_bytes_left;
	double repair_eta_s;
	double repair_rate_bps;
};

struct pp_ping {
	char node_id[129];
	char role[16];
	char version[32];
	int64_t uptime_ms;
	int64_t rtt_us;
	bool standby;  /* a tracker following another, read-only */
	uint64_t term; /* a tracker's term: it grows with each promotion */
};

struct pp_drain_status {
	struct pp_node node;
	uint64_t chunks_left;
	uint64_t bytes_left;
	double eta_s;
};

/* Progress: bytes done so far of total (total is 0 when unknown). Called
 * from the thread that called the transfer, at most every few ms. */
typedef void (*pp_progress_fn)(void *arg, uint64_t done, uint64_t total);

struct pp_put_options {
	const char *name;     /* required */
	uint32_t replication; /* 0 = cluster default */
	pp_progress_fn progress;
	void *progress_arg;
};

/* Uploads a whole file; *out (may be NULL) gets the committed file. */
int pp_put_path(pp_client *c, const char *path, const struct pp_put_options *opt,
		struct pp_file *out, struct pp_error *err);
int pp_put_fd(pp_client *c, int fd, const struct pp_put_options *opt, struct pp_file *out,
	      struct pp_error *err);

/* Many small files at once (ppctl put DIR): up to PP_PUT_BATCH_MAX files of
 * at most PP_PUT_BATCH_FILE_MAX bytes each, held in memory, in three round
 * trips for the whole batch instead of four per file. Every item gets its
 * own result; a file the batch could not store is uploaded alone, so an
 * item fails only for the reasons a single upload would. Returns PP_OK
 * when every item was stored, else the first failed item's code (and err). */
#define PP_PUT_BATCH_MAX 64
#define PP_PUT_BATCH_FILE_MAX (1u << 20)
struct pp_put_item {
	const char *name;
	const void *data;
	size_t len;
	/* results */
	int rc;
	struct pp_error err;
	struct pp_file file; /* the committed file when rc is PP_OK */
};
int pp_put_batch(pp_client *c, struct pp_put_item *items, size_t n, uint32_t replication,
		 struct pp_error *err);

/* Streaming upload, for callers that receive data piecewise (the gateway).
 * write() may block while `parallel` chunks are in flight. Nothing becomes
 * visible before commit; abort (or close without commit) leaves nothing. */
typedef struct pp_upload pp_upload;
int pp_upload_begin(pp_client *c, const struct pp_put_options *opt, uint64_t size_hint,
		    pp_upload **out, struct pp_error *err);
int pp_upload_write(pp_upload *u, const void *data, size_t len, struct pp_error *err);
/* Flushes, waits for every chunk, commits and frees u. */
int pp_upload_commit(pp_upload *u, struct pp_file *out, struct pp_error *err);
void pp_upload_abort(pp_upload *u);

struct pp_get_options {
	uint64_t offset;
	uint64_t length; /* 0 = to the end */
	pp_progress_fn progress;
	void *progress_arg;
};

/* Writes the file (or the range) to fd. Every chunk is checked against its
 * id (its SHA-256) before a byte of it is written, and the chunk ids are the
 * file's content as committed: one hash per byte verifies the whole file. A
 * chunk that fails is fetched from another replica (the worker that sent it
 * re-checks its copy); no unverified byte is ever written. */
int pp_get_fd(pp_client *c, const char *name, int fd, const struct pp_get_options *opt,
	      struct pp_file *info, struct pp_error *err);

/* Streaming sequential reader with read-ahead, for the gateway. Opening
 * reads the manifest only (info tells the size); chunks are fetched from
 * the first read on. */
typedef struct pp_download pp_download;
int pp_download_open(pp_client *c, const char *name, uint64_t offset, uint64_t length,
		     pp_download **out, struct pp_file *info, struct pp_error *err);
/* Fills up to len bytes; *got == 0 means the end of the range. */
int pp_download_read(pp_download *d, void *buf, size_t len, size_t *got, struct pp_error *err);
/* Writes the rest of the range to fd straight from the verified chunks (no
 * copy through a buffer); progress (may be NULL) as in pp_get_options. */
int pp_download_write_fd(pp_download *d, int fd, pp_progress_fn progress, void *progress_arg,
			 struct pp_error *err);
void pp_download_close(pp_download *d);

int pp_stat(pp_client *c, const char *name, struct pp_chunk_map **out, struct pp_error *err);
void pp_chunk_map_free(struct pp_chunk_map *m);

/* Files whose names start with prefix, in name order after `after` (NULL
 * or "" from the start; then the last name of the previous page), at most
 * limit (0 = 256) per call, each with its chunk map when it has one chunk
 * (chunk_count 0 in the map otherwise). *maps is an array of *n maps, freed
 * with pp_chunk_maps_free; *more says another page follows. */
int pp_list_prefix(pp_client *c, const char *prefix, const char *after, uint32_t limit,
		   struct pp_chunk_map **maps, size_t *n, bool *more, struct pp_error *err);
void pp_chunk_maps_free(struct pp_chunk_map *maps, size_t n);
/* pp_download_open of a whole file from a chunk map the caller has (from
 * pp_list_prefix or pp_stat): no manifest call when the map is complete. */
int pp_download_open_map(pp_client *c, const struct pp_chunk_map *m, pp_download **out,
			 struct pp_error *err);
/* Name substring search, newest first; limit 0 = 100. */
int pp_list(pp_client *c, const char *query, uint32_t limit, uint32_t offset,
	    struct pp_file_list **out, struct pp_error *err);
void pp_file_list_free(struct pp_file_list *l);
int pp_delete(pp_client *c, const char *name, struct pp_error *err);
int pp_nodes(pp_client *c, struct pp_node_list **out, struct pp_error *err);
void pp_node_list_free(struct pp_node_list *l);
int pp_health(pp_client *c, struct pp_health *out, struct pp_error *err);
int pp_ping(pp_client *c, struct pp_ping *out, struct pp_error *err);
int pp_drain(pp_client *c, const char *node_id, struct pp_drain_status *out,
	     struct pp_error *err);
int pp_maintenance(pp_client *c, const char *node_id, bool on, struct pp_node *out,
		   struct pp_error *err);

struct pp_backup_info {
	uint64_t size;       /* bytes written */
	uint64_t commit_seq; /* the newest commit the snapshot holds */
};
/* Writes a consistent online snapshot of the tracker's database (an SQLite
 * file a tracker can start on) to fd, while the cluster keeps serving. */
int pp_backup_fd(pp_client *c, int fd, pp_progress_fn progress, void *progress_arg,
		 struct pp_backup_info *out, struct pp_error *err);

struct pp_promote_result {
	uint64_t term;       /* the new primary's term */
	uint64_t commit_seq; /* its newest commit after catching up */
	uint64_t merged;     /* records it merged while catching up */
};
/* Makes the standby tracker the primary (the first address of the list
 * that answers): it catches up from the workers' records, takes a higher
 * term and fences the old primary out. PP_ECONFLICT: already primary. */
int pp_promote(pp_client *c, struct pp_promote_result *out, struct pp_error *err);

/* Checks a file name as the cluster does: NULL when valid, else why not. */
const char *pp_name_check(const char *name);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif
#endif
