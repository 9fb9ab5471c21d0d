/* A process-wide memory budget: bytes that buffers (a download's chunks)
 * take before they are allocated and give back when freed, so many slow
 * clients cannot hold more than the budget between them.
 *
 * Takers that must wait queue in FIFO order (a large request is not starved
 * by small ones) for at most the budget's wait_ms; a request larger than the
 * whole budget is granted when nothing else is held, so every request can
 * eventually be served. */
#ifndef PP_COMMON_MEM_BUDGET_H
#define PP_COMMON_MEM_BUDGET_H

#include <stdbool.h>
#include <stdint.h>

#define MEM_BUDGET_FALLBACK_BYTES (256ull << 20) /* no container memory limit */
#define MEM_BUDGET_MIN_BYTES (1ull << 20)

struct mem_budget;

int mem_budget_new(uint64_t capacity_bytes, int wait_ms, struct mem_budget **out);
/* Only once nothing is held or waiting. */
void mem_budget_free(struct mem_budget *b);
/* Takes n bytes, waiting up to wait_ms; PP_EUNAVAIL (counted as a refusal)
 * when they did not come in time. */
int mem_budget_take(struct mem_budget *b, uint64_t n);
/* Takes n bytes only if that needs no wait and nobody is queued. */
bool mem_budget_try_take(struct mem_budget *b, uint64_t n);
void mem_budget_give(struct mem_budget *b, uint64_t n);

struct mem_budget_stats {
	uint64_t capacity_bytes, used_bytes, peak_bytes, refused;
	uint32_t waiting;
};
void mem_budget_stats(struct mem_budget *b, struct mem_budget_stats *out);

/* A default for a process that may run in a container: half the cgroup
 * memory limit (v2 memory.max, else v1 memory.limit_in_bytes) when there is
 * one, else MEM_BUDGET_FALLBACK_BYTES; never below MEM_BUDGET_MIN_BYTES. */
uint64_t mem_budget_default(void);

#endif
