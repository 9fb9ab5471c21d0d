/* ppctl get NAME... [-o FILE|DIR|-] and get --prefix P -o DIR (DESIGN.md,
 * "Binaries"), on the pool of ppctl_pool.h; --prefix goes page by page of
 * the listing, so memory does not grow with the number of files.
 *
 * Outputs: a regular file (or a new path) is written to a temp file next to
 * it and renamed into place only once every byte arrived verified, so a
 * failed get leaves nothing. A device, FIFO or socket (/dev/null, a pipe)
 * is written in place: renaming over it would replace the node itself with
 * a regular file. */
#define _GNU_SOURCE
#include "errors.h"
#include "ppctl_pool.h"
#include "shapes.h"
#include "timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILES_PREFIX_PAGE 256 /* files per prefix listing call */

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
