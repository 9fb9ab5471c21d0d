/* The pool of ppctl's many-file verbs; see ppctl_pool.h. */
#define _GNU_SOURCE
#include "ppctl_pool.h"
#include "errors.h"
#include "timeutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int set_err(struct pp_error *e, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	e->code = code;
	return code;
}

uint64_t cost_of(uint64_t size)
{
	return size <= FILES_SMALL_BYTES ? 2 * size + 4096 : FILES_BUDGET_BYTES;
}

void pool_reserve(struct pool *p, uint64_t bytes)
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

void pool_release(struct pool *p, uint64_t bytes)
{
	pthread_mutex_lock(&p->lock);
	p->budget += bytes;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

void item_progress(void *arg, uint64_t done, uint64_t total)
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
			p->run_batch(p, &p->tasks[i]);
		else
			p->run(&p->items[p->tasks[i].first]);
	}
}

/* Runs every item (in parallel unless `serial`); returns the exit code of
 * the first failure in item order, 0 when all went well. */
void pool_init(struct pool *p, const char *label)
{
	pthread_mutex_init(&p->lock, NULL);
	time_cond_init(&p->cond);
	p->budget = FILES_BUDGET_BYTES;
	progress_init(&p->pr, label);
}

void pool_fini(struct pool *p)
{
	progress_end(&p->pr);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
}

int pool_exec(struct pool *p, bool serial)
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

int pool_run(struct pool *p, const char *label, bool serial)
{
	pool_init(p, label);
	int code = pool_exec(p, serial);
	pool_fini(p);
	return code;
}

void items_free(struct item *items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(items[i].local);
		free(items[i].name);
	}
	free(items);
}

bool items_add(struct item **items, size_t *n, size_t *cap, const char *local,
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

int name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct item *)a)->name, ((const struct item *)b)->name);
}



int join(char **out, const char *a, const char *sep, const char *b)
{
	return asprintf(out, "%s%s%s", a, sep, b) < 0 ? -1 : 0;
}
