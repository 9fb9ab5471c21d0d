/* Process-wide memory budget; see mem_budget.h.
 *
 * b->lock guards every field; waiters live on their takers' stacks, linked
 * in arrival order, and are granted from the head only, so the queue is
 * FIFO. A waiter that times out unlinks itself unless it was granted first. */
#define _GNU_SOURCE
#include "mem_budget.h"
#include "errors.h"
#include "timeutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

struct mem_waiter {
	struct mem_waiter *next;
	uint64_t n;
	bool granted;
};

struct mem_budget {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* broadcast when waiters are granted */
	uint64_t capacity, used, peak, refused;
	int wait_ms;
	struct mem_waiter *head, *tail;
	uint32_t waiting;
};

int mem_budget_new(uint64_t capacity_bytes, int wait_ms, struct mem_budget **out)
{
	struct mem_budget *b = calloc(1, sizeof(*b));
	if (b == NULL)
		return PP_EINTERNAL;
	pthread_mutex_init(&b->lock, NULL);
	time_cond_init(&b->cond);
	b->capacity = capacity_bytes;
	b->wait_ms = wait_ms;
	*out = b;
	return PP_OK;
}

void mem_budget_free(struct mem_budget *b)
{
	if (b == NULL)
		return;
	pthread_cond_destroy(&b->cond);
	pthread_mutex_destroy(&b->lock);
	free(b);
}

static bool fits(const struct mem_budget *b, uint64_t n)
{
	return b->used == 0 || (n <= b->capacity && b->used <= b->capacity - n);
}

static void grant(struct mem_budget *b, uint64_t n)
{
	b->used += n;
	if (b->used > b->peak)
		b->peak = b->used;
}

/* Grants queued waiters from the head while they fit. Lock held. */
static void grant_queued(struct mem_budget *b)
{
	bool any = false;
	while (b->head != NULL && fits(b, b->head->n)) {
		struct mem_waiter *w = b->head;
		b->head = w->next;
		if (b->head == NULL)
			b->tail = NULL;
		b->waiting--;
		grant(b, w->n);
		w->granted = true;
		any = true;
	}
	if (any)
		pthread_cond_broadcast(&b->cond);
}

int mem_budget_take(struct mem_budget *b, uint64_t n)
{
	int rc = PP_OK;
	pthread_mutex_lock(&b->lock);
	if (b->head == NULL && fits(b, n)) {
		grant(b, n);
		goto out;
	}
	struct mem_waiter w = {.n = n};
	if (b->tail != NULL)
		b->tail->next = &w;
	else
		b->head = &w;
	b->tail = &w;
	b->waiting++;
	int64_t deadline = time_mono_ms() + b->wait_ms;
	while (!w.granted) {
		int64_t left = deadline - time_mono_ms();
		if (left <= 0)
			break;
		time_cond_wait_ms(&b->cond, &b->lock, left);
	}
	if (!w.granted) {
		struct mem_waiter **pp = &b->head, *prev = NULL;
		while (*pp != &w) {
			prev = *pp;
			pp = &(*pp)->next;
		}
		*pp = w.next;
		if (b->tail == &w)
			b->tail = prev;
		b->waiting--;
		b->refused++;
		rc = PP_EUNAVAIL;
		grant_queued(b); /* those behind may fit now that the head left */
	}
out:
	pthread_mutex_unlock(&b->lock);
	return rc;
}

bool mem_budget_try_take(struct mem_budget *b, uint64_t n)
{
	pthread_mutex_lock(&b->lock);
	bool ok = b->head == NULL && fits(b, n);
	if (ok)
		grant(b, n);
	pthread_mutex_unlock(&b->lock);
	return ok;
}

void mem_budget_give(struct mem_budget *b, uint64_t n)
{
	pthread_mutex_lock(&b->lock);
	b->used = n > b->used ? 0 : b->used - n;
	grant_queued(b);
	pthread_mutex_unlock(&b->lock);
}

void mem_budget_stats(struct mem_budget *b, struct mem_budget_stats *out)
{
	pthread_mutex_lock(&b->lock);
	*out = (struct mem_budget_stats){b->capacity, b->used, b->peak, b->refused, b->waiting};
	pthread_mutex_unlock(&b->lock);
}

static bool read_u64(const char *path, uint64_t *out)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return false;
	unsigned long long v = 0;
	bool ok = fscanf(f, "%llu", &v) == 1; /* "max" (no limit) does not parse */
	fclose(f);
	*out = v;
	return ok;
}

uint64_t mem_budget_default(void)
{
	uint64_t limit = 0;
	if (!read_u64("/sys/fs/cgroup/memory.max", &limit) &&
	    !read_u64("/sys/fs/cgroup/memory/memory.limit_in_bytes", &limit))
		limit = 0;
	/* cgroup v1 says "no limit" with a huge page-rounded number. */
	if (limit == 0 || limit >= (1ull << 60))
		return MEM_BUDGET_FALLBACK_BYTES;
	uint64_t half = limit / 2;
	return half < MEM_BUDGET_MIN_BYTES ? MEM_BUDGET_MIN_BYTES : half;
}
