/* ppctl put and get of one or many files (DESIGN.md, "Binaries"):
 *
 *   put FILE|DIR... [--name NAME] [--prefix P] [--replication N]
 *   get NAME... [-o FILE|DIR|-]      get --prefix P -o DIR
 *
 * Every name is worked out and checked before the first byte moves; then a
 * pool of threads sharing the one pp_client moves the files, with one
 * progress bar over all their bytes. Memory stays bounded whatever the mix:
 * a file reserves chunk memory from one budget before it moves (twice its
 * size when it fits a chunk, the whole budget when it is larger, so large
 * files go one at a time while small ones go many at a time); reservations
 * are granted in order, so a large file is never starved.
 *
 * Outputs: a regular file (or a new path) is written to a temp file next to
 * it and renamed into place only once every byte arrived verified, so a
 * failed get leaves nothing. A device, FIFO or socket (/dev/null, a pipe)
 * is written in place: renaming over it would replace the node itself with
 * a regular file. */
#define _GNU_SOURCE
#include "errors.h"
#include "ppctl.h"
#include "ppctl_output.h"
#include "shapes.h"
#include "timeutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILES_THREADS 48                /* files moving at once */
#define FILES_BUDGET_BYTES (32u << 20)  /* chunk memory across those files */
#define FILES_SMALL_BYTES (4u << 20)    /* larger files take the whole budget */
#define FILES_PREFIX_PAGE 256           /* files per prefix listing call */
/* Batches of small files in flight: each fans out to every pipeline of the
 * cluster at once, so a few keep the workers busy without crowding out
 * their other requests. */
#define FILES_BATCHES 4

/* One file to move. `local` is the source (put) or the target path (get). */
struct item {
	struct pool *pool;
	char *local;          /* owned */
	char *name;           /* owned */
	uint64_t size;        /* put: from stat; get: once its manifest is read */
	uint64_t done;        /* progress so far; pool lock */
	int rc;
	struct pp_error err;
	struct pp_file file;
	const struct pp_chunk_map *map; /* get --prefix: its chunk map (not owned) */
};

struct pool {
	struct ctl *x;
	struct item *items;   /* owned, n of them */
	size_t n;
	void (*run)(struct item *it);
	/* put: small files go in batches (pp_put_batch); a task is a batch or
	 * one file. Without tasks, every item is a task of its own. */
	struct task {
		size_t first, count; /* items[first..first+count) */
		bool batch;
	} *tasks; /* owned */
	size_t ntasks;
	uint32_t replication; /* put */
	bool sync_each;       /* get: fsync each file before its rename */
	pthread_mutex_t lock; /* guards everything below */
	pthread_cond_t cond;
	size_t next;          /* next task (or item) to start */
	uint64_t budget;      /* chunk memory free */
	uint64_t ticket, serving; /* reservations are granted in order */
	int batches;          /* batches of small files in flight */
	size_t files_done;    /* get --prefix: files listed, over all pages */
	uint64_t total, done; /* bytes, for the progress bar */
	struct progress pr;
};

/* ---- the pool ---------------------------------------------------------- */

static int set_err(struct pp_error *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int set_err(struct pp_error *e, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	e->code = code;
	return code;
}

static uint64_t cost_of(uint64_t size)
{
	return size <= FILES_SMALL_BYTES ? 2 * size + 4096 : FILES_BUDGET_BYTES;
}

static void pool_reserve(struct pool *p, uint64_t bytes)
{
	pthread_mutex_lock(&p->lock);
	uint64_t mine = p->ticket++;
	while (mine != p->serving || p->budget < bytes)
		pthread_cond_wait(&p->cond, &p->lock);
	p->budget -= bytes;
	p->serving++;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

static void pool_release(struct pool *p, uint64_t bytes)
{
	pthread_mutex_lock(&p->lock);
	p->budget += bytes;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

/* A pp_progress_fn for one item: folds it into the pool's bar. */
static void item_progress(void *arg, uint64_t done, uint64_t total)
{
	(void)total;
	struct item *it = arg;
	struct pool *p = it->pool;
	pthread_mutex_lock(&p->lock);
	p->done += done - it->done;
	it->done = done;
	progress_update(&p->pr, p->done, p->total);
	pthread_mutex_unlock(&p->lock);
}

static void put_batch_task(struct pool *p, const struct task *t);

static void *pool_main(void *arg)
{
	struct pool *p = arg;
	size_t total = p->tasks ? p->ntasks : p->n;
	for (;;) {
		pthread_mutex_lock(&p->lock);
		size_t i = p->next < total ? p->next++ : total;
		pthread_mutex_unlock(&p->lock);
		if (i == total)
			return NULL;
		if (p->tasks == NULL)
			p->run(&p->items[i]);
		else if (p->tasks[i].batch)
			put_batch_task(p, &p->tasks[i]);
		else
			p->run(&p->items[p->tasks[i].first]);
	}
}

/* Runs every item (in parallel unless `serial`); returns the exit code of
 * the first failure in item order, 0 when all went well. */
static void pool_init(struct pool *p, const char *label)
{
	pthread_mutex_init(&p->lock, NULL);
	time_cond_init(&p->cond);
	p->budget = FILES_BUDGET_BYTES;
	progress_init(&p->pr, label);
}

static void pool_fini(struct pool *p)
{
	progress_end(&p->pr);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
}

/* Moves p->items (in parallel unless `serial`); returns the exit code of
 * the first failure in item order (each one reported), 0 when all went
 * well. Can run again on another set of items (a page of a listing). */
static int pool_exec(struct pool *p, bool serial)
{
	pthread_mutex_lock(&p->lock);
	p->next = 0;
	for (size_t i = 0; i < p->n; i++) {
		p->items[i].pool = p;
		p->total += p->items[i].size;
	}
	pthread_mutex_unlock(&p->lock);
	/* This thread is one of the FILES_THREADS. */
	size_t units = p->tasks ? p->ntasks : p->n;
	size_t nthreads = serial || units < 2 ? 0 : (units < FILES_THREADS ? units : FILES_THREADS) - 1;
	pthread_t threads[FILES_THREADS];
	size_t started = 0;
	while (started < nthreads &&
	       pthread_create(&threads[started], NULL, pool_main, p) == 0)
		started++;
	pool_main(p); /* this thread works too (alone when serial) */
	for (size_t i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	int code = 0;
	for (size_t i = 0; i < p->n; i++) {
		struct item *it = &p->items[i];
		if (it->rc == PP_OK)
			continue;
		int c = fail(&it->err);
		if (code == 0)
			code = c;
	}
	return code;
}

static int pool_run(struct pool *p, const char *label, bool serial)
{
	pool_init(p, label);
	int code = pool_exec(p, serial);
	pool_fini(p);
	return code;
}

static void items_free(struct item *items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(items[i].local);
		free(items[i].name);
	}
	free(items);
}

/* Appends an item; false when out of memory. */
static bool items_add(struct item **items, size_t *n, size_t *cap, const char *local,
		      const char *name, uint64_t size)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 64;
		struct item *grown = realloc(*items, c * sizeof(**items));
		if (grown == NULL)
			return false;
		*items = grown;
		*cap = c;
	}
	struct item *it = &(*items)[*n];
	memset(it, 0, sizeof(*it));
	it->local = strdup(local);
	it->name = strdup(name);
	it->size = size;
	if (it->local == NULL || it->name == NULL) {
		free(it->local);
		free(it->name);
		return false;
	}
	(*n)++;
	return true;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct item *)a)->name, ((const struct item *)b)->name);
}

/* Two sources with one name: refused before anything moves. */
static int check_unique(struct item *items, size_t n)
{
	if (n < 2)
		return 0;
	struct item *sorted = malloc(n * sizeof(*sorted));
	if (sorted == NULL)
		return usage_error("out of memory");
	memcpy(sorted, items, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), name_cmp);
	int rc = 0;
	for (size_t i = 1; i < n && rc == 0; i++)
		if (strcmp(sorted[i - 1].name, sorted[i].name) == 0)
			rc = usage_error("%s and %s would both be stored as '%s'", sorted[i - 1].local,
					 sorted[i].local, sorted[i].name);
	free(sorted);
	return rc;
}

/* ---- put ---------------------------------------------------------------- */

struct walk {
	struct item **items;
	size_t *n, *cap;
	const char *prefix;
	size_t skipped; /* neither a regular file nor a directory */
};

static int join(char **out, const char *a, const char *sep, const char *b)
{
	return asprintf(out, "%s%s%s", a, sep, b) < 0 ? -1 : 0;
}

/* Adds the regular files under dir (path on disk) as prefix + rel/... */
static int walk_dir(struct walk *w, const char *dir, const char *rel)
{
	struct dirent **ents = NULL;
	int k = scandir(dir, &ents, NULL, alphasort);
	if (k < 0) {
		fprintf(stderr, "ppctl: error: cannot read directory %s: %s\n", dir, strerror(errno));
		return EXIT_USAGE;
	}
	int rc = 0;
	for (int i = 0; i < k; i++) {
		const char *e = ents[i]->d_name;
		if (rc != 0 || strcmp(e, ".") == 0 || strcmp(e, "..") == 0)
			continue;
		char *path = NULL, *sub = NULL;
		struct stat st;
		if (join(&path, dir, "/", e) != 0 ||
		    join(&sub, rel, rel[0] ? "/" : "", e) != 0) {
			rc = usage_error("out of memory");
		} else if (lstat(path, &st) != 0) {
			fprintf(stderr, "ppctl: error: cannot stat %s: %s\n", path, strerror(errno));
			rc = EXIT_USAGE;
		} else if (S_ISDIR(st.st_mode)) {
			rc = walk_dir(w, path, sub);
		} else if (S_ISREG(st.st_mode)) {
			char *name = NULL;
			if (join(&name, w->prefix, "", sub) != 0 ||
			    !items_add(w->items, w->n, w->cap, path, name, (uint64_t)st.st_size))
				rc = usage_error("out of memory");
			free(name);
		} else {
			w->skipped++; /* symlinks, devices, sockets: not followed */
		}
		free(path);
		free(sub);
	}
	for (int i = 0; i < k; i++)
		free(ents[i]);
	free(ents);
	return rc;
}

static void put_one(struct item *it)
{
	struct pool *p = it->pool;
	bool in = strcmp(it->local, "-") == 0;
	int fd = in ? STDIN_FILENO : open(it->local, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		it->rc = set_err(&it->err, errno == ENOENT ? PP_ENOTFOUND : PP_EINVAL,
				 "cannot open %s: %s", it->local, strerror(errno));
		return;
	}
	/* Unknown (stdin): a pipe may be large. */
	uint64_t cost = in ? FILES_BUDGET_BYTES : cost_of(it->size);
	pool_reserve(p, cost);
	struct pp_put_options po = {.name = it->name, .replication = p->replication,
				    .progress = item_progress, .progress_arg = it};
	it->rc = pp_put_fd(p->x->c, fd, &po, &it->file, &it->err);
	pool_release(p, cost);
	if (it->rc != PP_OK && strncmp(it->err.message, it->local, strlen(it->local)) != 0) {
		char msg[sizeof(it->err.message)];
		snprintf(msg, sizeof(msg), "%s", it->err.message);
		set_err(&it->err, it->rc, "%.200s: %.300s", it->local, msg);
	}
	if (!in)
		close(fd);
}

/* Builds the list of files to upload from the command line. */
static int put_collect(const char **pos, int npos, const char *name, const char *prefix,
		       struct item **items, size_t *n)
{
	size_t cap = 0;
	struct walk w = {.items = items, .n = n, .cap = &cap, .prefix = prefix ? prefix : ""};
	for (int i = 0; i < npos; i++) {
		const char *src = pos[i];
		if (strcmp(src, "-") == 0) {
			if (npos != 1 || name == NULL)
				return usage_error("put - (stdin) needs --name and no other FILE");
			if (!items_add(items, n, &cap, "-", name, 0))
				return usage_error("out of memory");
			continue;
		}
		struct stat st;
		if (stat(src, &st) != 0) {
			int e = errno;
			fprintf(stderr, "ppctl: error: cannot open %s: %s\n", src, strerror(e));
			return e == ENOENT ? 2 : EXIT_USAGE;
		}
		if (S_ISDIR(st.st_mode)) {
			if (name != NULL)
				return usage_error("--name names one file; %s is a directory (use --prefix)", src);
			int rc = walk_dir(&w, src, "");
			if (rc != 0)
				return rc;
			continue;
		}
		if (name != NULL && npos != 1)
			return usage_error("--name names one file; give --prefix for several");
		char *copy = strdup(src), *full = NULL;
		if (copy == NULL || (name == NULL && join(&full, w.prefix, "", basename(copy)) != 0)) {
			free(copy);
			return usage_error("out of memory");
		}
		bool ok = items_add(items, n, &cap, src, name ? name : full,
				    S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0);
		free(copy);
		free(full);
		if (!ok)
			return usage_error("out of memory");
	}
	if (w.skipped)
		fprintf(stderr, "ppctl: skipped %zu entr%s that %s neither a regular file nor a directory\n",
			w.skipped, w.skipped == 1 ? "y" : "ies", w.skipped == 1 ? "is" : "are");
	for (size_t i = 0; i < *n; i++) {
		const char *why = pp_name_check((*items)[i].name);
		if (why != NULL) {
			fprintf(stderr, "ppctl: error: invalid name '%s' (from %s): %s\n", (*items)[i].name,
				(*items)[i].local, why);
			return EXIT_USAGE;
		}
	}
	return check_unique(*items, *n);
}

/* Reads whole small files into memory and stores them in one batch. */
static void put_batch_task(struct pool *p, const struct task *t)
{
	struct pp_put_item *pi = calloc(t->count, sizeof(*pi));
	uint8_t **bufs = calloc(t->count, sizeof(*bufs));
	uint64_t bytes = 0;
	for (size_t k = 0; k < t->count; k++)
		bytes += p->items[t->first + k].size;
	uint64_t cost = cost_of(bytes);
	pthread_mutex_lock(&p->lock);
	while (p->batches >= FILES_BATCHES)
		pthread_cond_wait(&p->cond, &p->lock);
	p->batches++;
	pthread_mutex_unlock(&p->lock);
	pool_reserve(p, cost);
	size_t ok = 0;
	for (size_t k = 0; pi != NULL && bufs != NULL && k < t->count; k++) {
		struct item *it = &p->items[t->first + k];
		int fd = open(it->local, O_RDONLY | O_CLOEXEC);
		bufs[k] = malloc(it->size ? it->size : 1);
		ssize_t got = fd >= 0 && bufs[k] ? read(fd, bufs[k], it->size) : -1;
		char extra;
		/* A file that changed size since the walk goes the one-file way. */
		if (got != (ssize_t)it->size || (fd >= 0 && read(fd, &extra, 1) != 0)) {
			if (fd >= 0)
				close(fd);
			free(bufs[k]);
			bufs[k] = NULL;
			put_one(it);
			continue;
		}
		close(fd);
		pi[ok++] = (struct pp_put_item){.name = it->name, .data = bufs[k], .len = it->size};
	}
	if (pi != NULL && ok > 0) {
		struct pp_error ignored;
		pp_put_batch(p->x->c, pi, ok, p->replication, &ignored);
	}
	for (size_t k = 0, j = 0; pi != NULL && bufs != NULL && k < t->count; k++) {
		struct item *it = &p->items[t->first + k];
		if (bufs[k] == NULL)
			continue; /* went alone */
		it->rc = pi[j].rc;
		it->err = pi[j].err;
		it->file = pi[j].file;
		j++;
		free(bufs[k]);
		item_progress(it, it->size, it->size);
	}
	for (size_t k = 0; (pi == NULL || bufs == NULL) && k < t->count; k++) {
		struct item *it = &p->items[t->first + k];
		it->rc = set_err(&it->err, PP_EINTERNAL, "out of memory");
	}
	pool_release(p, cost);
	pthread_mutex_lock(&p->lock);
	p->batches--;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	free(bufs);
	free(pi);
}

/* Small regular files first, in batches of PP_PUT_BATCH_MAX (and at most
 * FILES_BUDGET_BYTES / 4 of data), then every other file alone. Items are
 * reordered so each batch is a run of them. */
static int put_tasks(struct pool *p)
{
	struct item *sorted = malloc((p->n ? p->n : 1) * sizeof(*sorted));
	p->tasks = calloc(p->n ? p->n : 1, sizeof(*p->tasks));
	if (sorted == NULL || p->tasks == NULL) {
		free(sorted);
		return usage_error("out of memory");
	}
	size_t k = 0;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < p->n; i++) {
			const struct item *it = &p->items[i];
			bool small = strcmp(it->local, "-") != 0 && it->size <= PP_PUT_BATCH_FILE_MAX;
			if (small == (pass == 0))
				sorted[k++] = *it;
		}
	}
	memcpy(p->items, sorted, p->n * sizeof(*sorted));
	free(sorted);
	for (size_t i = 0; i < p->n;) {
		const struct item *it = &p->items[i];
		bool small = strcmp(it->local, "-") != 0 && it->size <= PP_PUT_BATCH_FILE_MAX;
		struct task *t = &p->tasks[p->ntasks++];
		t->first = i;
		t->count = 1;
		t->batch = small && p->n > 1;
		uint64_t bytes = it->size;
		while (t->batch && i + t->count < p->n && t->count < PP_PUT_BATCH_MAX) {
			const struct item *nx = &p->items[i + t->count];
			if (strcmp(nx->local, "-") == 0 || nx->size > PP_PUT_BATCH_FILE_MAX ||
			    bytes + nx->size > FILES_BUDGET_BYTES / 4)
				break;
			bytes += nx->size;
			t->count++;
		}
		i += t->count;
	}
	return 0;
}

static int put_report(struct ctl *x, struct pool *p, double secs)
{
	if (p->n == 1) {
		const struct pp_file *f = &p->items[0].file;
		if (x->json)
			return print_json(shape_file(f));
		char sz[16];
		out_size(f->size, sz, sizeof(sz));
		printf("stored %s: %s in %llu chunk%s, replication %u, version %llu, sha256 %s\n",
		       f->name, sz, (unsigned long long)f->chunk_count, f->chunk_count == 1 ? "" : "s",
		       f->replication, (unsigned long long)f->version, f->sha256);
		return 0;
	}
	if (x->json) {
		struct pp_file_list l = {.total = p->n, .count = p->n};
		l.files = calloc(p->n ? p->n : 1, sizeof(*l.files));
		if (l.files == NULL)
			return usage_error("out of memory");
		for (size_t i = 0; i < p->n; i++)
			l.files[i] = p->items[i].file;
		int rc = print_json(shape_list(&l));
		free(l.files);
		return rc;
	}
	char sz[16];
	out_size(p->total, sz, sizeof(sz));
	printf("stored %zu files (%s) in %.2f s\n", p->n, sz, secs);
	return 0;
}

int cmd_put(struct ctl *x, int argc, char **argv)
{
	const char *name = NULL, *prefix = NULL;
	uint64_t replication = 0;
	const struct flag_spec specs[] = {
		{"name", NULL, FLAG_STRING, &name, "name in the store of a single FILE (default: its basename)", false, 0},
		{"prefix", NULL, FLAG_STRING, &prefix, "prepended to every name (e.g. photos/)", false, 0},
		{"replication", NULL, FLAG_UINT, &replication, "copies of every chunk (2..16)", false, 0},
		VERB_FLAGS_END};
	const struct flags_program prog = {
		"ppctl put", "FILE|DIR... [--name NAME] [--prefix P] [--replication N]",
		"Uploads files ('-' for stdin, with --name). A DIR is uploaded whole: every regular\n"
		"file under it, named by its path relative to DIR. Files move in parallel."};
	const char **pos = calloc((size_t)argc + 1, sizeof(*pos));
	if (pos == NULL)
		return usage_error("out of memory");
	int npos, rc = parse_verb(&prog, specs, argc, argv, pos, argc, &npos);
	struct pool p = {.x = x};
	if (rc != 0) {
		rc = rc == -2 ? 0 : EXIT_USAGE;
		goto out;
	}
	if (npos == 0) {
		rc = usage_error("put needs a FILE or DIR");
		goto out;
	}
	if (replication != 0 && (replication < 2 || replication > 16)) {
		rc = usage_error("--replication must be 2..16");
		goto out;
	}
	rc = put_collect(pos, npos, name, prefix, &p.items, &p.n);
	if (rc != 0)
		goto out;
	if (p.n == 0) {
		fprintf(stderr, "ppctl: nothing to upload\n");
		goto out;
	}
	p.run = put_one;
	p.replication = (uint32_t)replication;
	rc = put_tasks(&p);
	if (rc != 0)
		goto out;
	int64_t t0 = time_mono_ms();
	rc = pool_run(&p, "put", false);
	if (rc == 0)
		rc = put_report(x, &p, (double)(time_mono_ms() - t0) / 1000.0);
out:
	items_free(p.items, p.n);
	free(p.tasks);
	free(pos);
	return rc;
}

/* ---- get ---------------------------------------------------------------- */

enum target_kind { TARGET_STDOUT, TARGET_REPLACE, TARGET_IN_PLACE };

/* Where one download goes; see the top of this file. */
struct target {
	enum target_kind kind;
	int fd;
	char *path; /* the file to replace (symlinks resolved); owned */
	char *tmp;  /* the temp file next to it; owned */
};

static mode_t new_file_mode(void)
{
	static mode_t mode = (mode_t)-1; /* set once in cmd_get, before threads */
	if (mode == (mode_t)-1) {
		mode_t mask = umask(0);
		umask(mask);
		mode = 0666 & ~mask;
	}
	return mode;
}

static int target_open(const char *path, struct target *t, struct pp_error *err)
{
	memset(t, 0, sizeof(*t));
	t->fd = -1;
	if (strcmp(path, "-") == 0) {
		t->kind = TARGET_STDOUT;
		t->fd = STDOUT_FILENO;
		return PP_OK;
	}
	struct stat st;
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		if (S_ISDIR(st.st_mode))
			return set_err(err, PP_EINVAL, "%s is a directory", path);
		/* A device, FIFO or socket: written in place, never replaced. */
		t->kind = TARGET_IN_PLACE;
		t->fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
		if (t->fd < 0)
			return set_err(err, PP_EINVAL, "cannot open %s: %s", path, strerror(errno));
		return PP_OK;
	}
	t->kind = TARGET_REPLACE;
	/* Through a symlink, the file it points at is replaced, not the link. */
	struct stat lst;
	char *real = lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode) ? realpath(path, NULL) : NULL;
	t->path = real ? real : strdup(path);
	char *d = t->path ? strdup(t->path) : NULL, *b = t->path ? strdup(t->path) : NULL;
	if (d == NULL || b == NULL || asprintf(&t->tmp, "%s/.%s.ppctl-XXXXXX", dirname(d), basename(b)) < 0)
		t->tmp = NULL;
	free(d);
	free(b);
	t->fd = t->tmp ? mkostemp(t->tmp, O_CLOEXEC) : -1;
	if (t->fd < 0) {
		int e = errno;
		free(t->path);
		free(t->tmp);
		t->path = t->tmp = NULL;
		return set_err(err, PP_EINVAL, "cannot create a file next to %s: %s", path, strerror(e));
	}
	return PP_OK;
}

static void target_abort(struct target *t)
{
	if (t->kind == TARGET_REPLACE) {
		close(t->fd);
		unlink(t->tmp);
	} else if (t->kind == TARGET_IN_PLACE) {
		close(t->fd);
	}
	free(t->path);
	free(t->tmp);
}

/* The download arrived whole and verified: make it visible. */
static int target_commit(struct target *t, bool sync, struct pp_error *err)
{
	int rc = PP_OK;
	if (t->kind == TARGET_REPLACE) {
		if (fchmod(t->fd, new_file_mode()) != 0 || (sync && fsync(t->fd) != 0) ||
		    close(t->fd) != 0 || rename(t->tmp, t->path) != 0) {
			rc = set_err(err, PP_EINVAL, "cannot write %s: %s", t->path, strerror(errno));
			unlink(t->tmp);
		}
	} else if (t->kind == TARGET_IN_PLACE) {
		close(t->fd);
	}
	free(t->path);
	free(t->tmp);
	return rc;
}

/* mkdir -p of the directory that will hold path. */
static int make_parents(const char *path, struct pp_error *err)
{
	char *d = strdup(path);
	if (d == NULL)
		return set_err(err, PP_EINTERNAL, "out of memory");
	int rc = PP_OK;
	for (char *p = d + 1; *p && rc == PP_OK; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(d, 0777) != 0 && errno != EEXIST)
			rc = set_err(err, PP_EINVAL, "cannot create directory %s: %s", d, strerror(errno));
		*p = '/';
	}
	free(d);
	return rc;
}

static void get_one(struct item *it)
{
	struct pool *p = it->pool;
	pp_download *d = NULL;
	if (it->map != NULL) {
		it->file = it->map->file;
		it->rc = pp_download_open_map(p->x->c, it->map, &d, &it->err);
	} else {
		it->rc = pp_download_open(p->x->c, it->name, 0, 0, &d, &it->file, &it->err);
	}
	if (it->rc != PP_OK)
		return;
	/* The size is known now: the bar learns what the listing did not say. */
	pthread_mutex_lock(&p->lock);
	p->total += it->file.size - it->size;
	it->size = it->file.size;
	pthread_mutex_unlock(&p->lock);
	uint64_t cost = cost_of(it->size);
	pool_reserve(p, cost);
	struct target t;
	it->rc = make_parents(it->local, &it->err);
	if (it->rc == PP_OK)
		it->rc = target_open(it->local, &t, &it->err);
	if (it->rc == PP_OK) {
		it->rc = pp_download_write_fd(d, t.fd, item_progress, it, &it->err);
		if (it->rc == PP_OK)
			it->rc = target_commit(&t, p->sync_each, &it->err);
		else
			target_abort(&t);
	}
	pool_release(p, cost);
	pp_download_close(d);
}

/* A name below the prefix as a path under the output directory; NULL when
 * it would leave the directory ("..", absolute) or is not a file name. */
static char *path_below(const char *dir, const char *rel)
{
	while (*rel == '/')
		rel++;
	if (*rel == '\0')
		return NULL;
	for (const char *s = rel; *s;) {
		const char *e = strchr(s, '/');
		size_t len = e ? (size_t)(e - s) : strlen(s);
		if (len == 0 || (len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.'))
			return NULL;
		s += len + (e ? 1 : 0);
		if (e && *s == '\0')
			return NULL; /* ends in '/' */
	}
	char *out = NULL;
	return join(&out, dir, "/", rel) == 0 ? out : NULL;
}

/* Every file whose name starts with prefix, written below dir: page by
 * page of the listing (each page's files in parallel), so memory does not
 * grow with the number of files. A name that would leave dir is refused
 * (that file only). With --json, *files collects every file's info. */
static int get_prefix(struct pool *p, const char *prefix, const char *dir,
		      struct pp_file_list *files)
{
	size_t plen = strlen(prefix), total = 0;
	char *after = strdup("");
	int code = 0;
	for (bool more = true; more && after != NULL;) {
		struct pp_chunk_map *maps = NULL;
		size_t n = 0, cap = 0;
		struct pp_error err;
		if (pp_list_prefix(p->x->c, prefix, after, FILES_PREFIX_PAGE, &maps, &n, &more, &err) !=
		    PP_OK) {
			code = code ? code : fail(&err);
			break;
		}
		for (size_t i = 0; i < n; i++) {
			const char *name = maps[i].file.name;
			char *path = path_below(dir, name + plen);
			if (!items_add(&p->items, &p->n, &cap, path ? path : "", name, maps[i].file.size)) {
				free(path);
				code = code ? code : usage_error("out of memory");
				break;
			}
			struct item *it = &p->items[p->n - 1];
			it->map = &maps[i];
			if (path == NULL) {
				it->rc = set_err(&it->err, PP_EINVAL,
						 "'%s' is not a path that stays inside %s", name, dir);
				it->map = NULL;
			}
			free(path);
		}
		/* Refused items are not moved; the rest are. */
		struct item *todo = p->items;
		size_t ntodo = p->n, k = 0;
		struct item *keep = malloc((ntodo ? ntodo : 1) * sizeof(*keep));
		for (size_t i = 0; keep != NULL && i < ntodo; i++)
			if (todo[i].rc == PP_OK)
				keep[k++] = todo[i];
		if (keep != NULL) {
			p->items = keep;
			p->n = k;
			int c = pool_exec(p, false);
			code = code ? code : c;
			memcpy(keep, p->items, k * sizeof(*keep));
			for (size_t i = 0, j = 0; i < ntodo; i++) {
				if (todo[i].rc == PP_OK)
					todo[i] = keep[j++];
				else
					code = code ? code : fail(&todo[i].err);
			}
			free(keep);
		}
		p->items = todo;
		p->n = ntodo;
		for (size_t i = 0; files != NULL && i < p->n; i++) {
			if (p->items[i].rc != PP_OK)
				continue;
			struct pp_file *grown = realloc(files->files, (files->count + 1) * sizeof(*grown));
			if (grown == NULL)
				break;
			files->files = grown;
			files->files[files->count++] = p->items[i].file;
		}
		total += p->n;
		free(after);
		after = n > 0 ? strdup(maps[n - 1].file.name) : NULL;
		items_free(p->items, p->n);
		p->items = NULL;
		p->n = 0;
		pp_chunk_maps_free(maps, n);
	}
	free(after);
	p->files_done = total;
	return code;
}

static int is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int get_collect_names(const char **pos, int npos, const char *out, struct item **items,
			     size_t *n)
{
	size_t cap = 0;
	bool to_stdout = out != NULL && strcmp(out, "-") == 0;
	bool into_dir = npos > 1 || (out != NULL && !to_stdout && is_dir(out));
	if (npos > 1 && out != NULL && !to_stdout && !is_dir(out))
		return usage_error("-o %s must be an existing directory (or -) for several NAMEs", out);
	for (int i = 0; i < npos; i++) {
		const char *name = pos[i];
		const char *why = pp_name_check(name);
		if (why != NULL) {
			fprintf(stderr, "ppctl: error: invalid name: %s\n", why);
			return EXIT_USAGE;
		}
		const char *slash = strrchr(name, '/');
		const char *base = slash ? slash + 1 : name;
		char *path = NULL;
		if (to_stdout) {
			path = strdup("-");
		} else if (out != NULL && !into_dir) {
			path = strdup(out);
		} else {
			if (base[0] == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
				return usage_error("cannot derive a file name from '%s'; use -o FILE", name);
			path = out ? path_below(out, base) : strdup(base);
		}
		bool ok = path != NULL && items_add(items, n, &cap, path, name, 0);
		free(path);
		if (!ok)
			return usage_error("out of memory");
	}
	if (to_stdout)
		return 0;
	/* Targets must differ (names may: a/x and b/x both go to x). */
	for (size_t i = 0; i < *n; i++)
		for (size_t j = i + 1; j < *n; j++)
			if (strcmp((*items)[i].local, (*items)[j].local) == 0)
				return usage_error("%s and %s would both be written to %s", (*items)[i].name,
						   (*items)[j].name, (*items)[i].local);
	return 0;
}

/* What a get says: --json the file shape (one file) or the list shape
 * (several: `files`), else one line on stderr. */
static int get_report(struct ctl *x, struct pool *p, const struct pp_file_list *files,
		      size_t nfiles, bool to_stdout, double secs)
{
	if (x->json && !to_stdout) {
		if (nfiles == 1 && p->n == 1)
			return print_json(shape_file(&p->items[0].file));
		return print_json(shape_list(files));
	}
	if (to_stdout)
		return 0;
	char sz[16];
	out_size(p->total, sz, sizeof(sz));
	if (nfiles == 1 && p->n == 1)
		fprintf(stderr, "ppctl: wrote %s (%s, sha256 verified)\n", p->items[0].local, sz);
	else
		fprintf(stderr, "ppctl: wrote %zu files (%s, every chunk verified) in %.2f s\n", nfiles,
			sz, secs);
	return 0;
}

/* Makes what a multi-file get wrote durable at once (one syncfs rather
 * than an fsync per file, as cp leaves it to the end). */
static void sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		syncfs(fd);
		close(fd);
	}
}

int cmd_get(struct ctl *x, int argc, char **argv)
{
	const char *out = NULL, *prefix = NULL;
	const struct flag_spec specs[] = {
		{"output", NULL, FLAG_STRING, &out, "file, directory or '-' (stdout) to write to", false, 'o'},
		{"prefix", NULL, FLAG_STRING, &prefix, "every file whose name starts with P (needs -o DIR)", false, 0},
		VERB_FLAGS_END};
	const struct flags_program prog = {
		"ppctl get", "NAME... [-o FILE|DIR|-]  |  --prefix P -o DIR",
		"Downloads files, every chunk verified. One NAME goes to FILE (default: its basename\n"
		"here); several go into DIR; --prefix P writes each file below DIR under its name\n"
		"without P, creating directories. Devices and FIFOs are written in place."};
	const char **pos = calloc((size_t)argc + 1, sizeof(*pos));
	if (pos == NULL)
		return usage_error("out of memory");
	int npos, rc = parse_verb(&prog, specs, argc, argv, pos, argc, &npos);
	struct pool p = {.x = x};
	bool to_stdout = out != NULL && strcmp(out, "-") == 0;
	if (rc != 0) {
		rc = rc == -2 ? 0 : EXIT_USAGE;
		goto out;
	}
	new_file_mode(); /* reads the umask before any thread runs */
	p.run = get_one;
	struct pp_file_list files = {0};
	int64_t t0 = time_mono_ms();
	size_t nfiles;
	if (prefix != NULL) {
		if (npos != 0 || out == NULL || to_stdout) {
			rc = usage_error("get --prefix P needs -o DIR and no NAME");
			goto out;
		}
		if (mkdir(out, 0777) != 0 && errno != EEXIST) {
			fprintf(stderr, "ppctl: error: cannot create directory %s: %s\n", out, strerror(errno));
			rc = EXIT_USAGE;
			goto out;
		}
		pool_init(&p, "get");
		rc = get_prefix(&p, prefix, out, x->json ? &files : NULL);
		pool_fini(&p);
		nfiles = p.files_done;
		if (nfiles > 0)
			sync_dir(out);
		if (rc == 0 && nfiles == 0)
			fprintf(stderr, "ppctl: no file name starts with '%s'\n", prefix);
	} else if (npos == 0) {
		rc = usage_error("get needs a NAME (or --prefix P -o DIR)");
		goto out;
	} else {
		rc = get_collect_names(pos, npos, out, &p.items, &p.n);
		if (rc != 0)
			goto out;
		/* One file is fsynced before it appears; several as with --prefix. */
		p.sync_each = p.n == 1;
		rc = pool_run(&p, "get", to_stdout);
		nfiles = p.n;
		if (p.n > 1 && !to_stdout)
			sync_dir(out ? out : ".");
		for (size_t i = 0; x->json && i < p.n; i++) {
			struct pp_file *grown = realloc(files.files, (files.count + 1) * sizeof(*grown));
			if (grown == NULL)
				break;
			files.files = grown;
			files.files[files.count++] = p.items[i].file;
		}
	}
	files.total = files.count;
	if (rc == 0 && nfiles > 0)
		rc = get_report(x, &p, &files, nfiles, to_stdout, (double)(time_mono_ms() - t0) / 1000.0);
	free(files.files);
out:
	items_free(p.items, p.n);
	free(pos);
	return rc;
}
