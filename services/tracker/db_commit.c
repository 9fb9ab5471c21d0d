/* Group commit of uploads (db_upload_commit; DESIGN.md, "Flows: Upload").
 *
 * A commit must be durable (its WAL frames fsynced) before it is
 * acknowledged. One fsync per small file, taken under the connection's
 * lock (synchronous=FULL), capped the tracker at a few hundred commits a
 * second while every other request (placements, replica records) waited
 * behind it. Now commits that arrive while a group is being written wait;
 * the next group takes all of them (up to COMMIT_GROUP_MAX) into one
 * transaction, each in its own savepoint so one that fails (not yet
 * replicated, say) is rolled back alone. The transaction commits at
 * synchronous=NORMAL (frames written, no fsync) and the lock is released;
 * then one fsync of the WAL makes the whole group durable, and only then
 * is any of it acknowledged.
 *
 * Invariants: an acknowledged commit is durable; durability is in WAL
 * order (an fsync covers every frame written before it, and a checkpoint
 * fsyncs the WAL before it copies or reuses it), so nothing written later
 * can survive a power loss that a group before it did not. A group is
 * visible to readers from its COMMIT, a few ms before its fsync returns:
 * only a power loss in that window can take back something a reader saw,
 * and it was never acknowledged to its uploader. kill -9 loses nothing
 * (the frames are in the page cache).
 *
 * The first waiting thread becomes the leader and writes the group; the
 * others sleep on group_cond until their request is marked done. One group
 * is in flight at a time (group_busy spans its fsync). */
#define _GNU_SOURCE
#include "db_impl.h"
#include "errors.h"
#include "log.h"
#include "timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define COMMIT_GROUP_MAX 128

struct commit_req {
	const struct commit_args *args;
	struct file_rec *out;
	char *err;
	size_t err_len;
	int rc;
	bool done;
	struct commit_req *next;
};

void commit_group_init(struct db *db)
{
	pthread_mutex_init(&db->group_lock, NULL);
	time_cond_init(&db->group_cond);
	db->group_queue = NULL;
	db->group_busy = false;
	db->wal_fd = -1;
}

void commit_group_destroy(struct db *db)
{
	if (db->wal_fd >= 0)
		close(db->wal_fd);
	pthread_cond_destroy(&db->group_cond);
	pthread_mutex_destroy(&db->group_lock);
}

/* Makes every WAL frame written so far durable. Leader only (group_busy).
 * The WAL file is opened once (and again if SQLite ever made a new one);
 * the first time, its directory is fsynced too, so the file itself stays. */
static int wal_sync(struct db *db)
{
	char path[4096];
	pthread_mutex_lock(&db->lock);
	const char *main_path = sqlite3_db_filename(db->conn, "main");
	int n = snprintf(path, sizeof(path), "%s-wal", main_path ? main_path : "");
	pthread_mutex_unlock(&db->lock);
	if (main_path == NULL || main_path[0] == '\0' || n >= (int)sizeof(path))
		return PP_EINTERNAL;
	struct stat now, held;
	if (db->wal_fd >= 0 && (stat(path, &now) != 0 || fstat(db->wal_fd, &held) != 0 ||
				now.st_ino != held.st_ino || now.st_dev != held.st_dev)) {
		close(db->wal_fd);
		db->wal_fd = -1;
	}
	if (db->wal_fd < 0) {
		db->wal_fd = open(path, O_RDONLY | O_CLOEXEC);
		if (db->wal_fd < 0) {
			log_error("wal_sync_failed", "op=open path=%s err=\"%s\"", path, strerror(errno));
			return PP_EINTERNAL;
		}
		char *slash = strrchr(path, '/');
		if (slash != NULL) {
			*slash = '\0';
			int dfd = open(slash == path ? "/" : path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (dfd >= 0) {
				fsync(dfd);
				close(dfd);
			}
		}
	}
	if (fsync(db->wal_fd) != 0) {
		log_error("wal_sync_failed", "op=fsync err=\"%s\"", strerror(errno));
		return PP_EINTERNAL;
	}
	return PP_OK;
}

/* Writes one group in one transaction, then makes it durable; sets every
 * request's rc. */
static void group_write(struct db *db, struct commit_req *group)
{
	pthread_mutex_lock(&db->lock);
	int rc = dbq_begin(db);
	size_t n = 0, ok = 0;
	for (struct commit_req *r = group; r != NULL; r = r->next, n++) {
		if (rc != PP_OK) {
			r->rc = rc;
			continue;
		}
		r->err[0] = '\0';
		r->rc = dbq_exec(db, "SAVEPOINT one_commit", NULL);
		if (r->rc == PP_OK)
			r->rc = db_commit_locked(db, r->args, r->out, r->err, r->err_len);
		if (r->rc != PP_OK)
			dbq_exec(db, "ROLLBACK TO one_commit", NULL);
		dbq_exec(db, "RELEASE one_commit", NULL);
		ok += r->rc == PP_OK;
	}
	if (rc == PP_OK)
		rc = dbq_commit(db);
	if (rc != PP_OK)
		dbq_rollback(db);
	pthread_mutex_unlock(&db->lock);
	/* Outside the lock: placements and replica records go on meanwhile. */
	if (rc == PP_OK && ok > 0)
		rc = wal_sync(db);
	if (rc != PP_OK) {
		for (struct commit_req *r = group; r != NULL; r = r->next) {
			if (r->rc == PP_OK)
				r->rc = rc;
		}
	}
	for (struct commit_req *r = group; r != NULL; r = r->next)
		if (r->rc != PP_OK && r->err[0] == '\0')
			snprintf(r->err, r->err_len, "database error during commit");
	log_debug("commit_group", "commits=%zu ok=%zu", n, ok);
}

/* Queues the n requests (linked through next) and returns once all are
 * done, leading groups while none is being written. */
static void commit_wait(struct db *db, struct commit_req *reqs, size_t n)
{
	pthread_mutex_lock(&db->group_lock);
	/* Join the queue at its end, so groups keep arrival order. */
	struct commit_req **tail = &db->group_queue;
	while (*tail != NULL)
		tail = &(*tail)->next;
	for (size_t i = 0; i < n; i++) {
		reqs[i].next = i + 1 < n ? &reqs[i + 1] : NULL;
		reqs[i].err[0] = '\0';
	}
	*tail = &reqs[0];
	for (;;) {
		bool all = true;
		for (size_t i = 0; i < n && all; i++)
			all = reqs[i].done;
		if (all)
			break;
		if (db->group_busy) {
			pthread_cond_wait(&db->group_cond, &db->group_lock);
			continue;
		}
		/* Lead: take up to COMMIT_GROUP_MAX waiting commits. */
		db->group_busy = true;
		struct commit_req *group = db->group_queue, *last = group;
		for (int k = 1; k < COMMIT_GROUP_MAX && last->next != NULL; k++)
			last = last->next;
		db->group_queue = last->next;
		last->next = NULL;
		pthread_mutex_unlock(&db->group_lock);
		group_write(db, group);
		pthread_mutex_lock(&db->group_lock);
		for (struct commit_req *r = group; r != NULL;) {
			struct commit_req *next = r->next;
			r->done = true; /* a waiter may return (and its request vanish) now */
			r = next;
		}
		db->group_busy = false;
		pthread_cond_broadcast(&db->group_cond);
	}
	pthread_mutex_unlock(&db->group_lock);
}

int db_upload_commit(struct db *db, int64_t upload_id, uint64_t size, const char *sha256,
		     uint64_t chunk_count, int64_t now_ms, int64_t gc_after_ms,
		     struct file_rec *out, char *err, size_t err_len)
{
	struct commit_args a = {.upload_id = upload_id, .size = size, .sha256 = sha256,
				.chunk_count = chunk_count, .now_ms = now_ms,
				.gc_after_ms = gc_after_ms};
	struct commit_req me = {.args = &a, .out = out, .err = err, .err_len = err_len};
	commit_wait(db, &me, 1);
	return me.rc;
}

void db_upload_commit_many(struct db *db, struct commit_one *items, size_t n, int64_t now_ms,
			   int64_t gc_after_ms)
{
	if (n == 0)
		return;
	struct commit_args *args = calloc(n, sizeof(*args));
	struct commit_req *reqs = calloc(n, sizeof(*reqs));
	if (args == NULL || reqs == NULL) {
		for (size_t i = 0; i < n; i++) {
			items[i].rc = PP_EINTERNAL;
			snprintf(items[i].err, sizeof(items[i].err), "out of memory");
		}
		free(args);
		free(reqs);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		args[i] = (struct commit_args){.upload_id = items[i].upload_id, .size = items[i].size,
					       .sha256 = items[i].sha256,
					       .chunk_count = items[i].chunk_count,
					       .now_ms = now_ms, .gc_after_ms = gc_after_ms};
		reqs[i] = (struct commit_req){.args = &args[i], .out = &items[i].out,
					      .err = items[i].err, .err_len = sizeof(items[i].err)};
	}
	commit_wait(db, reqs, n);
	for (size_t i = 0; i < n; i++)
		items[i].rc = reqs[i].rc;
	free(reqs);
	free(args);
}
