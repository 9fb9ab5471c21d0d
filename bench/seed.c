/* pp-bench-seed: builds a tracker database offline for the scale benchmark,
 * with the tracker's own schema (db_open) and statement helpers (db_impl.h):
 * file rows, their search grams (dbq_grams_insert), chunk rows, file_chunks
 * and replica rows whose triggers keep the copy counters, as a committed
 * upload leaves them. What it cannot know is written as a running tracker
 * would have saved it: nodes up with every role, records durable.
 *   seed DB FILES CHUNKS NODE,NODE,... [options]  fill an empty database
 *   verify DB   recount every counter from the rows, check keys and FTS
 *   words       the word list names are made of (search terms come from it)
 * Offline only: journal off and synchronous=OFF while seeding, so a crash
 * leaves a file to delete, never a tracker's database to trust. */
#define _GNU_SOURCE
#include "db.h"
#include "db_impl.h"
#include "errors.h"
#include "hash.h"
#include "log.h"
#include "policy.h"
#include "timeutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define NODES_MAX 256
#define BATCH_FILES_DEFAULT 5000
#define CACHE_MIB_DEFAULT 1024
#define CHUNK_SIZE_DEFAULT 4096
#define NAME_LEN_MAX 160

/* Names are three of these words, a number and an extension, so `ls WORD`
 * matches about 3/256 of the files (the selectivity is in the bench JSON). */
static const char *const WORDS[] = {
	"account", "action", "address", "agenda", "album", "alpha", "analysis", "animal",
	"annual", "answer", "apple", "april", "archive", "areas", "armor", "arrow",
	"asset", "audio", "august", "autumn", "backup", "badge", "baker", "balance",
	"banner", "basket", "battle", "beach", "berry", "binary", "birth", "blanket",
	"blue", "board", "bonus", "border", "bottle", "bridge", "brief", "bronze",
	"budget", "build", "bundle", "butter", "cabin", "cable", "camera", "campus",
	"candle", "canvas", "carbon", "cargo", "castle", "catalog", "cellar", "center",
	"chapter", "charter", "cherry", "choice", "circle", "client", "climate", "closet",
	"cloud", "coast", "cobalt", "coffee", "column", "comet", "concert", "contract",
	"copper", "corner", "cotton", "council", "course", "cradle", "credit", "crystal",
	"culture", "current", "custom", "damage", "dance", "dataset", "debate", "decade",
	"delta", "demand", "desert", "design", "detail", "diary", "digital", "dinner",
	"doctor", "domain", "draft", "dragon", "dream", "driver", "eagle", "earth",
	"echo", "editor", "effect", "elegant", "ember", "empire", "energy", "engine",
	"estate", "event", "export", "fabric", "factor", "falcon", "family", "farmer",
	"feature", "festival", "figure", "filter", "finance", "flight", "flower", "forest",
	"format", "fossil", "frame", "friday", "galaxy", "garden", "gather", "genome",
	"glacier", "global", "golden", "gospel", "grade", "granite", "graph", "gravity",
	"harbor", "harvest", "health", "helmet", "heritage", "highway", "history", "holiday",
	"horizon", "hotel", "house", "hunter", "image", "import", "income", "index",
	"island", "ivory", "jacket", "journal", "journey", "jungle", "kernel", "kitchen",
	"ladder", "lagoon", "lantern", "laptop", "launch", "leader", "ledger", "lemon",
	"letter", "library", "license", "lighthouse", "linen", "lion", "listing", "lobby",
	"magnet", "mailbox", "manual", "marble", "market", "meadow", "medal", "memo",
	"mercury", "meteor", "metric", "minute", "mirror", "module", "monday", "monitor",
	"mosaic", "motion", "mountain", "museum", "native", "network", "notes", "number",
	"object", "ocean", "office", "orange", "orbit", "orchard", "outline", "oxygen",
	"packet", "palace", "panel", "paper", "parade", "patent", "pepper", "phoenix",
	"photo", "pilot", "planet", "plaza", "poem", "policy", "portal", "poster",
	"prairie", "prism", "profile", "project", "quarter", "quartz", "rabbit", "radar",
	"record", "region", "report", "resume", "ribbon", "river", "rocket", "salary",
	"sample", "satellite", "schedule", "script", "season", "sketch", "summit", "survey",
};
#define WORDS_N (sizeof(WORDS) / sizeof(WORDS[0]))
static const char *const EXTS[] = {"pdf", "txt", "jpg", "png", "csv", "log", "tar", "mp4"};

static uint64_t splitmix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* File i's name: deterministic, so the bench and tests can rebuild it. */
static void file_name(uint64_t i, char *out, size_t len)
{
	uint64_t h = splitmix(i ^ 0x5eedULL);
	snprintf(out, len, "%s/%s/%s-%07llu.%s", WORDS[h % WORDS_N], WORDS[(h >> 16) % WORDS_N],
		 WORDS[(h >> 32) % WORDS_N], (unsigned long long)i, EXTS[(h >> 48) % 8]);
}

/* Chunk k of file i: 64 hex digits, uniformly spread like a SHA-256. */
static void chunk_id(uint64_t i, uint64_t k, char out[PP_SHA256_HEX])
{
	uint64_t x = splitmix(i * 0x10000ULL + k + 0xc0ffeeULL);
	for (int w = 0; w < 4; w++) {
		x = splitmix(x);
		snprintf(out + 16 * w, 17, "%016llx", (unsigned long long)x);
	}
}

struct seed_opts {
	const char *path;
	uint64_t files, chunks;
	char *node_list; /* owned copy; nodes point into it */
	const char *nodes[NODES_MAX];
	size_t n_nodes;
	uint32_t replication, chunk_size;
	uint64_t gen_base, batch;
	int64_t cache_mib;
	const char *names_out;
	uint64_t names_sample;
};

struct pending_chunk {
	char id[PP_SHA256_HEX];
	int64_t created_ms;
	uint32_t first_node;
};

static int by_id(const void *a, const void *b)
{
	return strcmp(((const struct pending_chunk *)a)->id, ((const struct pending_chunk *)b)->id);
}

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int exec_sql(struct db *db, const char *sql)
{
	char *err = NULL;
	if (sqlite3_exec(db->conn, sql, NULL, NULL, &err) != SQLITE_OK) {
		fprintf(stderr, "pp-bench-seed: %s: %s\n", sql, err ? err : "?");
		sqlite3_free(err);
		return PP_EINTERNAL;
	}
	return PP_OK;
}

static int step_done(struct db *db, sqlite3_stmt *st, const char *what)
{
	int rv = sqlite3_step(st);
	sqlite3_reset(st);
	if (rv != SQLITE_DONE) {
		fprintf(stderr, "pp-bench-seed: %s: %s\n", what, sqlite3_errmsg(db->conn));
		return PP_EINTERNAL;
	}
	return PP_OK;
}

/* Node rows as a running tracker saves them for up, heard workers. */
static int seed_nodes(struct db *db, const struct seed_opts *o, int64_t now_ms)
{
	struct node_rec *recs = calloc(o->n_nodes, sizeof(*recs));
	if (recs == NULL)
		return PP_EINTERNAL;
	for (size_t i = 0; i < o->n_nodes; i++) {
		struct node_rec *r = &recs[i];
		snprintf(r->id, sizeof(r->id), "%s", o->nodes[i]);
		snprintf(r->zone, sizeof(r->zone), "default");
		r->capacity = 1ULL << 40;
		r->liveness = LIVE_UP;
		r->last_heartbeat_ms = now_ms;
		r->heard = true;
		r->roles = policy_node_roles(r, now_ms);
	}
	int rc = db_node_save(db, recs, o->n_nodes); /* takes db->lock */
	free(recs);
	return rc;
}

struct seed_stmts {
	sqlite3_stmt *file, *file_chunk, *chunk, *replica;
};

static void stmts_release(struct db *db, struct seed_stmts *s)
{
	dbq_release(db, s->file);
	dbq_release(db, s->file_chunk);
	dbq_release(db, s->chunk);
	dbq_release(db, s->replica);
}

static int stmts_prepare(struct db *db, struct seed_stmts *s)
{
	memset(s, 0, sizeof(*s));
	/* The same rows db_upload_commit_visible and db_replica_added write. */
	int rc = dbq_prep(db, &s->file,
			  "INSERT INTO files(name, version, size, sha256, replication, chunk_size,"
			  " chunk_count, created_at_ms, seq, record_state)"
			  " VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?, 1)", NULL);
	if (rc == PP_OK)
		rc = dbq_prep(db, &s->file_chunk,
			      "INSERT INTO file_chunks(file_id, idx, chunk_id) VALUES (?, ?, ?)", NULL);
	if (rc == PP_OK)
		rc = dbq_prep(db, &s->chunk,
			      "INSERT INTO chunks(id, size, refcount, replication, gc_after_ms)"
			      " VALUES (?, ?, 1, ?, ?)", NULL);
	if (rc == PP_OK)
		rc = dbq_prep(db, &s->replica,
			      "INSERT INTO replicas(chunk_id, node_id, state, extra, updated_ms, gen)"
			      " VALUES (?, ?, 0, 0, ?, ?)", NULL);
	return rc;
}

/* Files [first, last): rows, grams and file_chunks in file order, then the
 * batch's chunks and replicas in id order (one pass over each B-tree). */
static int seed_batch(struct db *db, const struct seed_opts *o, const struct seed_stmts *s,
		      uint64_t first, uint64_t last, int64_t base_ms, struct pending_chunk *pend,
		      uint64_t *gen, uint64_t *per_node, FILE *names)
{
	size_t np = 0;
	int rc = dbq_begin(db);
	for (uint64_t i = first; rc == PP_OK && i < last; i++) {
		char name[NAME_LEN_MAX], sha[PP_SHA256_HEX];
		file_name(i, name, sizeof(name));
		sha256_hex(name, strlen(name), sha);
		int64_t created = base_ms + (int64_t)i;
		uint64_t seq = 0;
		rc = dbq_next_seq(db, &seq);
		if (rc != PP_OK)
			break;
		sqlite3_bind_text(s->file, 1, name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s->file, 2, (int64_t)(o->chunks * o->chunk_size));
		sqlite3_bind_text(s->file, 3, sha, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s->file, 4, o->replication);
		sqlite3_bind_int64(s->file, 5, o->chunk_size);
		sqlite3_bind_int64(s->file, 6, (int64_t)o->chunks);
		sqlite3_bind_int64(s->file, 7, created);
		sqlite3_bind_int64(s->file, 8, (int64_t)seq);
		rc = step_done(db, s->file, "insert file");
		int64_t file_id = sqlite3_last_insert_rowid(db->conn);
		if (rc == PP_OK)
			rc = dbq_grams_insert(db, file_id, name, created);
		for (uint64_t k = 0; rc == PP_OK && k < o->chunks; k++) {
			struct pending_chunk *p = &pend[np++];
			chunk_id(i, k, p->id);
			p->created_ms = created;
			p->first_node = (uint32_t)(splitmix(i * 131 + k) % o->n_nodes);
			sqlite3_bind_int64(s->file_chunk, 1, file_id);
			sqlite3_bind_int64(s->file_chunk, 2, (int64_t)k);
			sqlite3_bind_text(s->file_chunk, 3, p->id, -1, SQLITE_STATIC);
			rc = step_done(db, s->file_chunk, "insert file_chunks");
		}
		if (names && rc == PP_OK && i % (o->files / o->names_sample) == 0)
			fprintf(names, "%s\n", name);
	}
	qsort(pend, np, sizeof(*pend), by_id);
	for (size_t j = 0; rc == PP_OK && j < np; j++) {
		const struct pending_chunk *p = &pend[j];
		sqlite3_bind_text(s->chunk, 1, p->id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s->chunk, 2, o->chunk_size);
		sqlite3_bind_int64(s->chunk, 3, o->replication);
		sqlite3_bind_int64(s->chunk, 4, p->created_ms + 60000); /* place time + grace */
		rc = step_done(db, s->chunk, "insert chunk");
		for (uint32_t c = 0; rc == PP_OK && c < o->replication; c++) {
			size_t node = (p->first_node + c) % o->n_nodes;
			sqlite3_bind_text(s->replica, 1, p->id, -1, SQLITE_STATIC);
			sqlite3_bind_text(s->replica, 2, o->nodes[node], -1, SQLITE_STATIC);
			sqlite3_bind_int64(s->replica, 3, p->created_ms);
			sqlite3_bind_int64(s->replica, 4, (int64_t)++*gen);
			rc = step_done(db, s->replica, "insert replica");
			per_node[node]++;
		}
	}
	if (rc == PP_OK)
		rc = dbq_commit(db);
	else
		dbq_rollback(db);
	return rc;
}

/* What each node holds, as its heartbeats would have told the tracker. */
static int nodes_usage(struct db *db, const struct seed_opts *o, const uint64_t *per_node)
{
	int rc = PP_OK;
	for (size_t i = 0; rc == PP_OK && i < o->n_nodes; i++)
		rc = dbq_exec(db, "UPDATE nodes SET chunks = ?, used = ? WHERE id = ?", "IIt",
			      per_node[i], per_node[i] * o->chunk_size, o->nodes[i]);
	return rc;
}

static int cmd_seed(struct seed_opts *o)
{
	struct db *db = NULL;
	FILE *names = NULL;
	struct pending_chunk *pend = calloc(o->batch * o->chunks, sizeof(*pend));
	uint64_t *per_node = calloc(o->n_nodes, sizeof(*per_node));
	struct seed_stmts s = {0};
	bool empty = false, locked = false;
	double t0 = mono_s();
	int rc = pend && per_node ? db_open(o->path, &db) : PP_EINTERNAL;
	if (rc == PP_OK)
		rc = db_is_empty(db, &empty);
	if (rc == PP_OK && !empty) {
		fprintf(stderr, "pp-bench-seed: %s already holds files; seed an empty database\n",
			o->path);
		rc = PP_EINVAL;
	}
	if (rc == PP_OK && o->names_out && (names = fopen(o->names_out, "w")) == NULL) {
		fprintf(stderr, "pp-bench-seed: %s: %s\n", o->names_out, strerror(errno));
		rc = PP_EINVAL;
	}
	int64_t now_ms = time_wall_ms();
	int64_t base_ms = now_ms - (int64_t)o->files; /* one file a millisecond, up to now */
	if (rc == PP_OK)
		rc = seed_nodes(db, o, now_ms);
	if (rc != PP_OK)
		goto out;
	pthread_mutex_lock(&db->lock);
	locked = true;
	char pragmas[256];
	snprintf(pragmas, sizeof(pragmas),
		 "PRAGMA journal_mode=DELETE; PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
		 " PRAGMA foreign_keys=OFF; PRAGMA cache_size=-%lld;",
		 (long long)o->cache_mib * 1024);
	rc = exec_sql(db, pragmas);
	if (rc == PP_OK)
		rc = stmts_prepare(db, &s);
	uint64_t gen = o->gen_base, done = 0;
	double last_report = mono_s();
	while (rc == PP_OK && done < o->files) {
		uint64_t last = done + o->batch < o->files ? done + o->batch : o->files;
		rc = seed_batch(db, o, &s, done, last, base_ms, pend, &gen, per_node, names);
		done = last;
		if (mono_s() - last_report >= 5 || done == o->files) {
			last_report = mono_s();
			fprintf(stderr, "pp-bench-seed: %llu/%llu files, %.0f files/s\n",
				(unsigned long long)done, (unsigned long long)o->files,
				(double)done / (last_report - t0));
		}
	}
	stmts_release(db, &s);
	if (rc == PP_OK)
		rc = nodes_usage(db, o, per_node);
	/* The tracker's own mode from here on (it sets WAL again on open). */
	if (rc == PP_OK)
		rc = exec_sql(db, "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON;");
out:
	if (locked)
		pthread_mutex_unlock(&db->lock);
	db_close(db);
	if (names && fclose(names) != 0 && rc == PP_OK)
		rc = PP_EINTERNAL;
	double secs = mono_s() - t0;
	struct stat sb;
	if (rc == PP_OK && stat(o->path, &sb) == 0) {
		uint64_t chunks = o->files * o->chunks;
		printf("{\"files\": %llu, \"chunks\": %llu, \"replicas\": %llu, \"nodes\": %zu,"
		       " \"seconds\": %.3f, \"files_per_s\": %.1f, \"chunk_records_per_s\": %.1f,"
		       " \"db_bytes\": %lld, \"gen_base\": %llu}\n",
		       (unsigned long long)o->files, (unsigned long long)chunks,
		       (unsigned long long)(chunks * o->replication), o->n_nodes, secs,
		       (double)o->files / secs, (double)chunks / secs, (long long)sb.st_size,
		       (unsigned long long)o->gen_base);
	}
	free(pend);
	free(per_node);
	return rc == PP_OK ? 0 : 1;
}

/* One check: the query returns 0 when the store is consistent. */
struct check {
	const char *what, *sql;
};

static const struct check CHECKS[] = {
	{"stats.files", "SELECT (SELECT files FROM stats) - (SELECT count(*) FROM files)"},
	{"stats.chunks",
	 "SELECT (SELECT chunks FROM stats) - (SELECT count(*) FROM chunks WHERE refcount > 0)"},
	{"stats.short", "SELECT (SELECT short FROM stats) - (SELECT count(*) FROM chunks"
			" WHERE refcount > 0 AND copies < replication)"},
	{"stats.none", "SELECT (SELECT none FROM stats) - (SELECT count(*) FROM chunks"
		       " WHERE refcount > 0 AND copies_any = 0)"},
	{"stats.bytes", "SELECT (SELECT bytes FROM stats) - (SELECT coalesce(sum(size * copies_any),"
			" 0) FROM chunks)"},
	{"chunks.copies", "SELECT count(*) FROM chunks c WHERE copies != (SELECT count(*) FROM"
			  " replicas r WHERE r.chunk_id = c.id AND r.state = 0 AND r.extra = 0)"},
	{"chunks.copies_any", "SELECT count(*) FROM chunks c WHERE copies_any != (SELECT count(*)"
			      " FROM replicas r WHERE r.chunk_id = c.id AND r.state = 0)"},
	{"chunks.refcount", "SELECT count(*) FROM chunks c WHERE refcount != (SELECT count(*) FROM"
			    " file_chunks fc WHERE fc.chunk_id = c.id)"},
	{"files.chunk_count", "SELECT count(*) FROM files f WHERE chunk_count != (SELECT count(*)"
			      " FROM file_chunks fc WHERE fc.file_id = f.id)"},
	{"replicas.node", "SELECT count(*) FROM replicas r WHERE NOT EXISTS (SELECT 1 FROM nodes n"
			  " WHERE n.id = r.node_id)"},
	{"name_grams.file", "SELECT count(*) FROM files f WHERE NOT EXISTS (SELECT 1 FROM"
			    " name_grams g WHERE g.file_id = f.id)"},
	{"foreign_keys", "SELECT count(*) FROM pragma_foreign_key_check"},
};

static int cmd_verify(const char *path)
{
	struct db *db = NULL;
	int bad = 0;
	if (db_open(path, &db) != PP_OK)
		return 1;
	pthread_mutex_lock(&db->lock);
	printf("{");
	for (size_t i = 0; i < sizeof(CHECKS) / sizeof(CHECKS[0]); i++) {
		int64_t v = -1;
		int rc = dbq_int(db, &v, CHECKS[i].sql, NULL);
		bad += rc != PP_OK || v != 0;
		printf("%s\"%s\": %lld", i ? ", " : "", CHECKS[i].what, rc == PP_OK ? (long long)v : -1LL);
	}
	/* FTS5's own check of the trigram index against the files table. */
	int rv = sqlite3_exec(db->conn,
			      "INSERT INTO files_fts(files_fts, rank) VALUES ('integrity-check', 1)",
			      NULL, NULL, NULL);
	printf(", \"files_fts\": \"%s\"", rv == SQLITE_OK ? "ok" : sqlite3_errmsg(db->conn));
	bad += rv != SQLITE_OK;
	sqlite3_stmt *st = NULL;
	rv = sqlite3_prepare_v2(db->conn, "PRAGMA integrity_check", -1, &st, NULL);
	const char *qc = rv == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW
				 ? (const char *)sqlite3_column_text(st, 0) : "failed";
	printf(", \"integrity_check\": \"%s\", \"ok\": %s}\n", qc ? qc : "?",
	       bad == 0 && qc && !strcmp(qc, "ok") ? "true" : "false");
	bad += !qc || strcmp(qc, "ok") != 0;
	sqlite3_finalize(st);
	pthread_mutex_unlock(&db->lock);
	db_close(db);
	return bad ? 1 : 0;
}

static int usage(void)
{
	fprintf(stderr,
		"usage: pp-bench-seed seed DB FILES CHUNKS_PER_FILE NODE,NODE,... [--replication R]\n"
		"           [--chunk-size BYTES] [--gen-base N] [--batch FILES] [--cache-mib MIB]\n"
		"           [--names-out FILE [--names-sample N]]\n"
		"       pp-bench-seed verify DB\n"
		"       pp-bench-seed words\n"
		"       pp-bench-seed name I     (the name of file I)\n");
	return 1;
}

static bool parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end = NULL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || end == s || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static int parse_seed(int argc, char **argv, struct seed_opts *o)
{
	uint64_t v;
	o->path = argv[2];
	o->replication = 2;
	o->chunk_size = CHUNK_SIZE_DEFAULT;
	o->gen_base = 0;
	o->batch = BATCH_FILES_DEFAULT;
	o->cache_mib = CACHE_MIB_DEFAULT;
	o->names_sample = 1000;
	if (!parse_u64(argv[3], 1, 100000000, &o->files) || !parse_u64(argv[4], 1, 4096, &o->chunks))
		return usage();
	o->node_list = strdup(argv[5]);
	char *save = NULL;
	for (char *t = strtok_r(o->node_list, ",", &save); t && o->n_nodes < NODES_MAX;
	     t = strtok_r(NULL, ",", &save))
		o->nodes[o->n_nodes++] = t;
	for (int i = 6; i < argc; i += 2) {
		const char *f = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		bool ok = val != NULL;
		if (ok && !strcmp(f, "--replication"))
			ok = parse_u64(val, 1, 16, &v) && (o->replication = (uint32_t)v);
		else if (ok && !strcmp(f, "--chunk-size"))
			ok = parse_u64(val, 1, 64u << 20, &v) && (o->chunk_size = (uint32_t)v);
		else if (ok && !strcmp(f, "--gen-base"))
			ok = parse_u64(val, 0, UINT64_MAX >> 1, &o->gen_base);
		else if (ok && !strcmp(f, "--batch"))
			ok = parse_u64(val, 1, 1000000, &o->batch);
		else if (ok && !strcmp(f, "--cache-mib"))
			ok = parse_u64(val, 1, 1 << 20, &v) && (o->cache_mib = (int64_t)v);
		else if (ok && !strcmp(f, "--names-out"))
			o->names_out = val;
		else if (ok && !strcmp(f, "--names-sample"))
			ok = parse_u64(val, 1, 10000000, &o->names_sample);
		else
			ok = false;
		if (!ok) {
			fprintf(stderr, "pp-bench-seed: bad flag or value: %s\n", f);
			return usage();
		}
	}
	if (o->n_nodes < o->replication) {
		fprintf(stderr, "pp-bench-seed: %zu nodes cannot hold %u copies of a chunk\n",
			o->n_nodes, o->replication);
		return usage();
	}
	if (o->names_sample > o->files)
		o->names_sample = o->files;
	return 0;
}

int main(int argc, char **argv)
{
	log_init("pp-bench-seed");
	if (argc == 2 && !strcmp(argv[1], "words")) {
		for (size_t i = 0; i < WORDS_N; i++)
			printf("%s\n", WORDS[i]);
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "name")) {
		uint64_t i;
		char name[NAME_LEN_MAX];
		if (!parse_u64(argv[2], 0, UINT64_MAX, &i))
			return usage();
		file_name(i, name, sizeof(name));
		printf("%s\n", name);
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "verify"))
		return cmd_verify(argv[2]);
	if (argc >= 6 && !strcmp(argv[1], "seed")) {
		struct seed_opts o = {0};
		int rc = parse_seed(argc, argv, &o);
		if (rc == 0)
			rc = cmd_seed(&o);
		free(o.node_list);
		return rc;
	}
	return usage();
}
