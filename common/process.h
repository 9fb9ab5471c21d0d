/* Process-wide set-up every binary does first in main(): logging identity,
 * SIGPIPE ignored (a peer closing a socket is an error return, not a death),
 * and malloc tuned for chunk-sized buffers.
 *
 * Why malloc: glibc raises its mmap threshold after the first 4 MiB buffer is
 * freed, so later chunk buffers come from per-thread arenas that keep their
 * pages; with a handler pool that is ~150 MiB of RSS in a worker. A fixed
 * threshold returns every chunk buffer to the OS when it is freed. */
#ifndef PP_COMMON_PROCESS_H
#define PP_COMMON_PROCESS_H

void process_setup(const char *component);

#endif
