/* Process-wide set-up; see process.h. */
#define _GNU_SOURCE
#include "process.h"
#include "log.h"

#include <malloc.h>
#include <signal.h>

#define PROCESS_MMAP_THRESHOLD (1 << 20) /* below a chunk, above protobuf parts */
#define PROCESS_ARENA_MAX 4

void process_setup(const char *component)
{
	log_init(component);
	signal(SIGPIPE, SIG_IGN);
	mallopt(M_MMAP_THRESHOLD, PROCESS_MMAP_THRESHOLD);
	mallopt(M_ARENA_MAX, PROCESS_ARENA_MAX);
}
