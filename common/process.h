/* Process-wide set-up every binary does first in main(): logging identity,
 * SIGPIPE ignored (a peer closing a socket is an error return, not a death),
 * and malloc tuned for chunk-sized buffers.
 *
 * Why malloc: by default glibc gives each thread its own arena and moves its
 * mmap threshold around, so a worker's handler pool kept ~150 MiB of chunk
 * buffers. Forcing every chunk buffer through mmap fixed RSS but made each
 * 4 MiB buffer 1024 fresh page faults, which on virtualised machines cost
 * more CPU than hashing. One arena with chunk buffers on the heap and a high
 * trim threshold reuses the same pages: bounded RSS and no faults. */
#ifndef PP_COMMON_PROCESS_H
#define PP_COMMON_PROCESS_H

void process_setup(const char *component);

#endif
