/* Process-wide set-up; see process.h. */
#define _GNU_SOURCE
#include "process.h"
#include "log.h"

#include <malloc.h>
#include <signal.h>

#define PROCESS_MMAP_THRESHOLD (32 << 20) /* glibc's maximum: chunks stay on the heap */
#define PROCESS_TRIM_THRESHOLD (64 << 20) /* keep freed chunk pages for reuse */
#define PROCESS_ARENA_MAX 1

void process_setup(const char *component)
{
	log_init(component);
	signal(SIGPIPE, SIG_IGN);
	mallopt(M_MMAP_THRESHOLD, PROCESS_MMAP_THRESHOLD);
	mallopt(M_TRIM_THRESHOLD, PROCESS_TRIM_THRESHOLD);
	mallopt(M_ARENA_MAX, PROCESS_ARENA_MAX);
}
