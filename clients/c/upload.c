/* Uploads (DESIGN.md, "Flows: Upload"): begin, then per chunk hash, place,
 * pipeline put to the targets, re-place what is still missing; then commit.
 *
 * Memory is bounded: `parallel` chunk buffers exist at most. The caller's
 * thread fills one buffer at a time (and hashes the whole file in order);
 * full buffers go to `parallel` sender threads. The first error sticks: later
 * writes return it, senders drop queued chunks, and commit turns into abort,
 * so nothing half-written ever becomes visible. A keepalive thread touches
 * the session while the caller's input is slow (a pipe that pauses longer
 * than the tracker's idle timeout must not lose the upload).
 *
 * An upload whose size is known to fit one chunk (a small regular file)
 * starts no thread at all: its chunk is hashed, placed and stored on the
 * caller's thread at commit, and its buffer is the size of the data. The
 * threads start only if more than one chunk turns up after all. */
#define _GNU_SOURCE
#include "client_internal.h"
#include "frame.h"
#include "hash.h"
#include "timeutil.h"
#include "wire.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define UPLOAD_ATTEMPTS 4       /* place + put rounds per chunk */
#define UPLOAD_RETRY_BASE_MS 200
#define PROGRESS_EVERY_MS 100
/* Touch the session this often relative to the tracker's idle timeout. */
#define KEEPALIVE_FRACTION 4
#define KEEPALIVE_MIN_MS 500
#define KEEPALIVE_DEFAULT_MS 10000

enum slot_state { SLOT_FREE, SLOT_FILLING, SLOT_QUEUED, SLOT_BUSY };

struct up_slot {
	enum slot_state state;
	uint8_t *buf; /* cap bytes (at most chunk_size), owned; grown on use */
	size_t cap;
	size_t len;
	uint64_t index;
};

struct pp_upload {
	pp_client *c;
	char name[PP_NAME_MAX + 1];
	uint64_t upload_id;
	uint32_t chunk_size;
	uint32_t replication;
	pp_progress_fn progress;
	void *progress_arg;
	uint64_t size_hint;
	int64_t last_progress_ms;

	pthread_mutex_t lock; /* guards everything below */
	pthread_cond_t cond;  /* slot state changes, errors, stop */
	struct up_slot *slots;
	int nslots;
	struct up_slot *filling; /* slot the caller fills, or NULL */
	uint64_t next_index;
	uint64_t size;
	uint64_t done_bytes;
	bool stop;
	int err_code;
	struct pp_error err;

	pthread_t *threads;
	int nthreads;
	bool threads_started; /* senders (and keepalive) run; see ensure_threads */
	pthread_t keepalive;
	bool keepalive_started;
	int64_t keepalive_ms;
	int64_t last_contact_ms; /* the tracker last heard of this upload (mono) */
	struct sha256_stream *whole; /* caller's thread only */
};

static void up_set_error(struct pp_upload *u, const struct pp_error *e)
{
	if (u->err_code == PP_OK) {
		u->err_code = e->code ? e->code : PP_EINTERNAL;
		u->err = *e;
		u->err.code = u->err_code;
	}
	pthread_cond_broadcast(&u->cond);
}

static int copy_error(struct pp_upload *u, struct pp_error *err)
{
	if (err != NULL)
		*err = u->err;
	return u->err_code;
}

struct place_result {
	bool already_stored;
	struct wire_vec targets; /* struct pp_replica */
};

static int place_chunk(struct pp_upload *u, uint64_t index, const char *id, size_t len,
		       struct place_result *pr, struct pp_error *e)
{
	pp_v1_Request req = pp_v1_Request_init_zero;
	pp_v1_Response *resp = calloc(1, sizeof(*resp));
	if (resp == NULL)
		return pp_fail(e, PP_EINTERNAL, "out of memory");
	req.has_place = true;
	req.place.upload_id = u->upload_id;
	req.place.index = index;
	snprintf(req.place.chunk_id, sizeof(req.place.chunk_id), "%s", id);
	req.place.size = (uint32_t)len;
	memset(pr, 0, sizeof(*pr));
	pr->targets.limit = PP_REPLICAS_MAX;
	resp->place.targets.funcs.decode = wire_decode_replicas;
	resp->place.targets.arg = &pr->targets;
	int rc = client_meta_call(u->c, &req, resp, NULL, u->c->timeout_ms, e);
	if (rc == PP_OK) {
		pr->already_stored = resp->place.already_stored;
		pthread_mutex_lock(&u->lock);
		u->last_contact_ms = time_mono_ms();
		pthread_mutex_unlock(&u->lock);
	} else {
		wire_vec_free(&pr->targets);
	}
	free(resp);
	return rc;
}

/* Pipeline put: the chunk goes to targets[0], which forwards it along the
 * rest. *stored gets how many nodes confirmed it durably stored. */
static int put_chunk(struct pp_upload *u, const char *id, const uint8_t *data, size_t len,
		     const struct wire_vec *targets, size_t *stored, struct pp_error *e)
{
	const struct pp_replica *t = targets->items;
	char *forward[PP_REPLICAS_MAX + 1];
	size_t nf = 0;
	for (size_t i = 1; i < targets->n; i++)
		forward[nf++] = (char *)t[i].address;
	forward[nf] = NULL;
	pp_v1_Request *req = calloc(1, sizeof(*req));
	pp_v1_Response *resp = calloc(1, sizeof(*resp));
	int rc;
	if (req == NULL || resp == NULL) {
		rc = pp_fail(e, PP_EINTERNAL, "out of memory");
		goto out;
	}
	req->has_put_chunk = true;
	snprintf(req->put_chunk.chunk_id, sizeof(req->put_chunk.chunk_id), "%s", id);
	req->put_chunk.forward.funcs.encode = wire_encode_strings;
	req->put_chunk.forward.arg = forward;
	*stored = 0;
	resp->put_chunk.stored_on.funcs.decode = wire_decode_count;
	resp->put_chunk.stored_on.arg = stored;
	rc = wire_call(u->c, t[0].address, req, data, len, resp, NULL, RPC_TIMEOUT_DATA_MS, e);
out:
	free(req);
	free(resp);
	return rc;
}

/* Stores one chunk on enough workers, or fails with PP_EUNAVAIL. */
static int store_chunk(struct pp_upload *u, struct up_slot *s, struct pp_error *e)
{
	char id[PP_SHA256_HEX];
	if (sha256_hex(s->buf, s->len, id) != 0)
		return pp_fail(e, PP_EINTERNAL, "cannot hash chunk %llu", (unsigned long long)s->index);
	struct pp_error last = {0};
	for (int attempt = 0; attempt < UPLOAD_ATTEMPTS; attempt++) {
		if (attempt > 0)
			time_sleep_ms(UPLOAD_RETRY_BASE_MS * attempt);
		struct place_result pr;
		int rc = place_chunk(u, s->index, id, s->len, &pr, e);
		if (rc != PP_OK)
			return rc; /* the tracker's answer is final (e.g. too few workers) */
		if (pr.already_stored || pr.targets.n == 0) {
			wire_vec_free(&pr.targets);
			return PP_OK;
		}
		size_t stored = 0;
		rc = put_chunk(u, id, s->buf, s->len, &pr.targets, &stored, &last);
		size_t wanted = pr.targets.n;
		wire_vec_free(&pr.targets);
		if (rc == PP_OK && stored >= wanted)
			return PP_OK;
		if (rc == PP_OK)
			pp_fail(&last, PP_EUNAVAIL, "chunk %llu reached %zu of %zu workers",
				(unsigned long long)s->index, stored, wanted);
		if (rc == PP_EAUTH || rc == PP_EINVAL)
			break;
	}
	return pp_fail(e, last.code == PP_EAUTH ? PP_EAUTH : PP_EUNAVAIL,
		       "chunk %llu could not be stored on enough workers: %s",
		       (unsigned long long)s->index, last.message);
}

static void *sender_main(void *arg)
{
	struct pp_upload *u = arg;
	pthread_mutex_lock(&u->lock);
	for (;;) {
		struct up_slot *s = NULL;
		for (int i = 0; i < u->nslots; i++) {
			struct up_slot *q = &u->slots[i];
			if (q->state == SLOT_QUEUED && (s == NULL || q->index < s->index))
				s = q;
		}
		if (s == NULL) {
			if (u->stop)
				break;
			pthread_cond_wait(&u->cond, &u->lock);
			continue;
		}
		s->state = SLOT_BUSY;
		bool skip = u->err_code != PP_OK;
		pthread_mutex_unlock(&u->lock);
		struct pp_error e = {0};
		int rc = skip ? PP_OK : store_chunk(u, s, &e);
		pthread_mutex_lock(&u->lock);
		if (rc != PP_OK)
			up_set_error(u, &e);
		else if (!skip)
			u->done_bytes += s->len;
		s->state = SLOT_FREE;
		s->len = 0;
		pthread_cond_broadcast(&u->cond);
	}
	pthread_mutex_unlock(&u->lock);
	return NULL;
}

static void report_progress(struct pp_upload *u, bool force)
{
	if (u->progress == NULL)
		return;
	int64_t now = time_mono_ms();
	if (!force && now - u->last_progress_ms < PROGRESS_EVERY_MS)
		return;
	u->last_progress_ms = now;
	pthread_mutex_lock(&u->lock);
	uint64_t done = u->done_bytes;
	pthread_mutex_unlock(&u->lock);
	u->progress(u->progress_arg, done, u->size_hint);
}

static void send_touch(struct pp_upload *u)
{
	pp_v1_Request req = pp_v1_Request_init_zero;
	pp_v1_Response *resp = calloc(1, sizeof(*resp));
	if (resp == NULL)
		return;
	req.has_upload_touch = true;
	req.upload_touch.upload_id = u->upload_id;
	struct pp_error e;
	/* A lost touch is retried at the next tick; an expired session shows
	 * up as the next place failing. */
	client_meta_call(u->c, &req, resp, NULL, u->c->timeout_ms, &e);
	free(resp);
}

/* Touches the session whenever the tracker has not heard of the upload for
 * keepalive_ms: while the caller's input pauses, nothing else would. */
static void *keepalive_main(void *arg)
{
	struct pp_upload *u = arg;
	pthread_mutex_lock(&u->lock);
	while (!u->stop) {
		int64_t due = u->last_contact_ms + u->keepalive_ms - time_mono_ms();
		if (due > 0) {
			time_cond_wait_ms(&u->cond, &u->lock, due);
			continue;
		}
		u->last_contact_ms = time_mono_ms();
		pthread_mutex_unlock(&u->lock);
		send_touch(u);
		pthread_mutex_lock(&u->lock);
	}
	pthread_mutex_unlock(&u->lock);
	return NULL;
}

/* Joins the senders and the keepalive once; after it no chunk of u is in
 * flight and nothing talks to the tracker for it. */
static void stop_senders(struct pp_upload *u)
{
	pthread_mutex_lock(&u->lock);
	u->stop = true;
	pthread_cond_broadcast(&u->cond);
	pthread_mutex_unlock(&u->lock);
	if (u->keepalive_started)
		pthread_join(u->keepalive, NULL);
	u->keepalive_started = false;
	if (u->threads == NULL)
		return;
	for (int i = 0; i < u->nthreads; i++)
		pthread_join(u->threads[i], NULL);
	free(u->threads);
	u->threads = NULL;
}

static void upload_free(struct pp_upload *u)
{
	stop_senders(u);
	for (int i = 0; u->slots != NULL && i < u->nslots; i++)
		free(u->slots[i].buf);
	free(u->slots);
	sha256_stream_free(u->whole);
	pthread_cond_destroy(&u->cond);
	pthread_mutex_destroy(&u->lock);
	free(u);
}

/* Starts the senders and the keepalive once. Caller's thread, no lock. */
static int ensure_threads(struct pp_upload *u, struct pp_error *err)
{
	if (u->threads_started)
		return PP_OK;
	u->threads_started = true;
	for (; u->nthreads < u->nslots; u->nthreads++) {
		if (pthread_create(&u->threads[u->nthreads], NULL, sender_main, u) != 0)
			return pp_fail(err, PP_EINTERNAL, "cannot start upload threads");
	}
	if (pthread_create(&u->keepalive, NULL, keepalive_main, u) != 0)
		return pp_fail(err, PP_EINTERNAL, "cannot start the upload keepalive");
	u->keepalive_started = true;
	return PP_OK;
}

int pp_upload_begin(pp_client *c, const struct pp_put_options *opt, uint64_t size_hint,
		    pp_upload **out, struct pp_error *err)
{
	pp_error_clear(err);
	if (c == NULL || opt == NULL || out == NULL)
		return pp_fail(err, PP_EINVAL, "client, options and out are required");
	*out = NULL;
	int rc = pp_name_valid(opt->name, err);
	if (rc != PP_OK)
		return rc;
	if (opt->replication != 0 && (opt->replication < 2 || opt->replication > 16))
		return pp_fail(err, PP_EINVAL, "replication must be 2..16 (got %u)", opt->replication);
	if (c->direct)
		return pp_fail(err, PP_EINVAL, "uploads need the tracker (not available through a node)");

	struct pp_upload *u = calloc(1, sizeof(*u));
	if (u == NULL)
		return pp_fail(err, PP_EINTERNAL, "out of memory");
	pthread_mutex_init(&u->lock, NULL);
	time_cond_init(&u->cond);
	u->c = c;
	snprintf(u->name, sizeof(u->name), "%s", opt->name);
	u->progress = opt->progress;
	u->progress_arg = opt->progress_arg;
	u->size_hint = size_hint;
	if (sha256_stream_new(&u->whole) != PP_OK) {
		rc = pp_fail(err, PP_EINTERNAL, "cannot start SHA-256");
		goto fail;
	}

	pp_v1_Request *req = calloc(1, sizeof(*req));
	pp_v1_Response *resp = calloc(1, sizeof(*resp));
	if (req == NULL || resp == NULL) {
		free(req);
		free(resp);
		rc = pp_fail(err, PP_EINTERNAL, "out of memory");
		goto fail;
	}
	req->has_upload_begin = true;
	snprintf(req->upload_begin.name, sizeof(req->upload_begin.name), "%s", opt->name);
	req->upload_begin.replication = opt->replication;
	req->upload_begin.size = size_hint;
	rc = client_meta_call(c, req, resp, NULL, c->timeout_ms, err);
	if (rc == PP_OK) {
		u->upload_id = resp->upload_begin.upload_id;
		u->chunk_size = resp->upload_begin.chunk_size;
		u->replication = resp->upload_begin.replication;
		uint32_t idle = resp->upload_begin.idle_timeout_ms;
		u->keepalive_ms = idle ? idle / KEEPALIVE_FRACTION : KEEPALIVE_DEFAULT_MS;
		if (u->keepalive_ms < KEEPALIVE_MIN_MS)
			u->keepalive_ms = KEEPALIVE_MIN_MS;
		u->last_contact_ms = time_mono_ms();
	}
	free(req);
	free(resp);
	if (rc != PP_OK)
		goto fail;
	if (u->chunk_size == 0 || u->chunk_size > PP_CHUNK_SIZE_MAX) {
		rc = pp_fail(err, PP_EINTERNAL, "tracker gave an invalid chunk size %u", u->chunk_size);
		goto abort;
	}
	u->nslots = c->parallel;
	u->slots = calloc((size_t)u->nslots, sizeof(*u->slots));
	u->threads = calloc((size_t)c->parallel, sizeof(*u->threads));
	if (u->slots == NULL || u->threads == NULL) {
		rc = pp_fail(err, PP_EINTERNAL, "out of memory");
		goto abort;
	}
	bool one_chunk = size_hint > 0 && size_hint <= u->chunk_size;
	if (!one_chunk && (rc = ensure_threads(u, err)) != PP_OK)
		goto abort;
	*out = u;
	return PP_OK;
abort:
	pp_upload_abort(u);
	return rc;
fail:
	upload_free(u);
	return rc;
}

/* Hands the filling slot to the senders (started now if this upload was
 * to fit one chunk but did not). Called with u->lock held. */
static void submit_filling(struct pp_upload *u)
{
	struct up_slot *s = u->filling;
	s->index = u->next_index++;
	s->state = SLOT_QUEUED;
	u->filling = NULL;
	struct pp_error e;
	if (!u->threads_started && ensure_threads(u, &e) != PP_OK)
		up_set_error(u, &e);
	pthread_cond_broadcast(&u->cond);
}

/* Lock held: the filling slot can take `more` bytes (it is grown to a whole
 * chunk when its first, exact-size buffer is too small). */
static int slot_room(struct pp_upload *u, struct up_slot *s, size_t more)
{
	if (s->len + more <= s->cap)
		return PP_OK;
	size_t cap = u->chunk_size;
	if (s->buf == NULL && u->size_hint > 0 && u->size_hint < cap && s->len + more <= u->size_hint)
		cap = (size_t)u->size_hint;
	uint8_t *p = realloc(s->buf, cap);
	if (p == NULL) {
		struct pp_error e;
		pp_fail(&e, PP_EINTERNAL, "out of memory for a %zu-byte chunk", cap);
		up_set_error(u, &e);
		return PP_EINTERNAL;
	}
	s->buf = p;
	s->cap = cap;
	return PP_OK;
}

int pp_upload_write(pp_upload *u, const void *data, size_t len, struct pp_error *err)
{
	pp_error_clear(err);
	if (u == NULL || (data == NULL && len > 0))
		return pp_fail(err, PP_EINVAL, "NULL upload or data");
	const uint8_t *p = data;
	int rc = PP_OK;
	if (len > 0 && sha256_stream_update(u->whole, data, len) != 0)
		return pp_fail(err, PP_EINTERNAL, "SHA-256 failed");
	pthread_mutex_lock(&u->lock);
	while (len > 0) {
		if (u->err_code != PP_OK)
			break;
		if (u->filling == NULL) {
			struct up_slot *free_slot = NULL;
			for (int i = 0; i < u->nslots && free_slot == NULL; i++)
				if (u->slots[i].state == SLOT_FREE)
					free_slot = &u->slots[i];
			if (free_slot == NULL) {
				pthread_cond_wait(&u->cond, &u->lock);
				continue;
			}
			free_slot->state = SLOT_FILLING;
			free_slot->len = 0;
			u->filling = free_slot;
		}
		struct up_slot *s = u->filling;
		size_t n = u->chunk_size - s->len;
		if (n > len)
			n = len;
		if (slot_room(u, s, n) != PP_OK)
			break;
		/* Copying without the lock: only this thread touches a FILLING slot. */
		pthread_mutex_unlock(&u->lock);
		memcpy(s->buf + s->len, p, n);
		pthread_mutex_lock(&u->lock);
		s->len += n;
		u->size += n;
		p += n;
		len -= n;
		if (s->len == u->chunk_size)
			submit_filling(u);
	}
	if (u->err_code != PP_OK)
		rc = copy_error(u, err);
	pthread_mutex_unlock(&u->lock);
	report_progress(u, false);
	return rc;
}

static void send_abort(struct pp_upload *u)
{
	pp_v1_Request req = pp_v1_Request_init_zero;
	pp_v1_Response *resp = calloc(1, sizeof(*resp));
	if (resp == NULL)
		return;
	req.has_upload_abort = true;
	req.upload_abort.upload_id = u->upload_id;
	struct pp_error ignored;
	/* Best effort: an abandoned session also expires on the tracker. */
	client_meta_call(u->c, &req, resp, NULL, u->c->timeout_ms, &ignored);
	free(resp);
}

int pp_upload_commit(pp_upload *u, struct pp_file *out, struct pp_error *err)
{
	pp_error_clear(err);
	if (u == NULL)
		return pp_fail(err, PP_EINVAL, "NULL upload");
	int rc;
	pthread_mutex_lock(&u->lock);
	if (u->filling != NULL && u->filling->len > 0 && !u->threads_started) {
		/* The whole upload is this one chunk: store it right here. */
		struct up_slot *s = u->filling;
		u->filling = NULL;
		s->index = u->next_index++;
		s->state = SLOT_BUSY;
		pthread_mutex_unlock(&u->lock);
		struct pp_error e = {0};
		rc = u->err_code == PP_OK ? store_chunk(u, s, &e) : PP_OK;
		pthread_mutex_lock(&u->lock);
		if (rc != PP_OK)
			up_set_error(u, &e);
		else
			u->done_bytes += s->len;
		s->state = SLOT_FREE;
	}
	if (u->filling != NULL) {
		if (u->filling->len > 0) {
			submit_filling(u);
		} else {
			u->filling->state = SLOT_FREE;
			u->filling = NULL;
		}
	}
	for (;;) {
		bool busy = false;
		for (int i = 0; i < u->nslots; i++)
			busy |= u->slots[i].state != SLOT_FREE;
		if (!busy)
			break;
		time_cond_wait_ms(&u->cond, &u->lock, PROGRESS_EVERY_MS);
		pthread_mutex_unlock(&u->lock);
		report_progress(u, false);
		pthread_mutex_lock(&u->lock);
	}
	bool failed = u->err_code != PP_OK;
	pthread_mutex_unlock(&u->lock);
	if (failed) {
		rc = copy_error(u, err);
		pp_upload_abort(u);
		return rc;
	}
	report_progress(u, true);

	char sha[PP_SHA256_HEX];
	pp_v1_Request *req = calloc(1, sizeof(*req));
	pp_v1_Response *resp = calloc(1, sizeof(*resp));
	if (req == NULL || resp == NULL || sha256_stream_final_hex(u->whole, sha) != 0) {
		rc = pp_fail(err, PP_EINTERNAL, "out of memory");
		goto out;
	}
	req->has_commit = true;
	req->commit.upload_id = u->upload_id;
	req->commit.size = u->size;
	snprintf(req->commit.sha256, sizeof(req->commit.sha256), "%s", sha);
	req->commit.chunk_count = u->next_index;
	rc = client_meta_call(u->c, req, resp, NULL, u->c->timeout_ms, err);
	if (rc == PP_OK && out != NULL) {
		if (resp->has_file) {
			wire_file_from_pb(&resp->file, out);
		} else {
			memset(out, 0, sizeof(*out));
			snprintf(out->name, sizeof(out->name), "%s", u->name);
			snprintf(out->sha256, sizeof(out->sha256), "%s", sha);
			out->size = u->size;
			out->chunk_size = u->chunk_size;
			out->chunk_count = u->next_index;
			out->replication = u->replication;
		}
	}
out:
	free(req);
	free(resp);
	if (rc != PP_OK) {
		pp_upload_abort(u);
		return rc;
	}
	upload_free(u);
	return PP_OK;
}

void pp_upload_abort(pp_upload *u)
{
	if (u == NULL)
		return;
	pthread_mutex_lock(&u->lock);
	if (u->err_code == PP_OK) {
		struct pp_error e;
		pp_fail(&e, PP_EINVAL, "upload aborted");
		up_set_error(u, &e);
	}
	pthread_mutex_unlock(&u->lock);
	stop_senders(u);
	if (u->upload_id != 0)
		send_abort(u);
	upload_free(u);
}

#define PUT_READ_BYTES (256u << 10)

int pp_put_fd(pp_client *c, int fd, const struct pp_put_options *opt, struct pp_file *out,
	      struct pp_error *err)
{
	pp_error_clear(err);
	if (fd < 0)
		return pp_fail(err, PP_EINVAL, "invalid file descriptor");
	struct stat st;
	uint64_t hint = 0;
	if (fstat(fd, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return pp_fail(err, PP_EINVAL, "is a directory");
		if (S_ISREG(st.st_mode))
			hint = (uint64_t)st.st_size;
	}
	uint8_t *buf = malloc(PUT_READ_BYTES);
	if (buf == NULL)
		return pp_fail(err, PP_EINTERNAL, "out of memory");
	pp_upload *u = NULL;
	int rc = pp_upload_begin(c, opt, hint, &u, err);
	if (rc != PP_OK)
		goto out;
	for (;;) {
		ssize_t n = read(fd, buf, PUT_READ_BYTES);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = pp_fail(err, PP_EINVAL, "read failed: %s", strerror(errno));
			pp_upload_abort(u);
			goto out;
		}
		if (n == 0)
			break;
		rc = pp_upload_write(u, buf, (size_t)n, err);
		if (rc != PP_OK) {
			pp_upload_abort(u);
			goto out;
		}
	}
	rc = pp_upload_commit(u, out, err);
out:
	free(buf);
	return rc;
}

int pp_put_path(pp_client *c, const char *path, const struct pp_put_options *opt,
		struct pp_file *out, struct pp_error *err)
{
	pp_error_clear(err);
	if (path == NULL)
		return pp_fail(err, PP_EINVAL, "no path given");
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return pp_fail(err, errno == ENOENT ? PP_ENOTFOUND : PP_EINVAL, "%s: %s", path,
			       strerror(errno));
	int rc = pp_put_fd(c, fd, opt, out, err);
	close(fd);
	return rc;
}
