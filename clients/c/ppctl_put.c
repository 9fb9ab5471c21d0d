/* ppctl put FILE|DIR... [--name NAME] [--prefix P] [--replication N]
 * (DESIGN.md, "Binaries"): every name is worked out and checked before the
 * first byte moves; small regular files go in batches (pp_put_batch), the
 * rest one by one, all on the pool of ppctl_pool.h. */
#define _GNU_SOURCE
#include "errors.h"
#include "ppctl_pool.h"
#include "shapes.h"
#include "timeutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Batches of small files in flight: each fans out to every pipeline of the
 * cluster at once, so a few keep the workers busy without crowding out
 * their other requests. */
#define FILES_BATCHES 4

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

struct walk {
	struct item **items;
	size_t *n, *cap;
	const char *prefix;
	size_t skipped; /* neither a regular file nor a directory */
};


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
	p.run_batch = put_batch_task;
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
