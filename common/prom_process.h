/* The metrics every Peer Pressure process exports: the standard process_*
 * set (CPU seconds, resident and virtual memory, open and maximum file
 * descriptors, start time; read from /proc/self at each scrape) and
 * pp_build_info{version,component} = 1. */
#ifndef PP_COMMON_PROM_PROCESS_H
#define PP_COMMON_PROM_PROCESS_H

#include "prom.h"

/* component: "tracker", "worker", "gateway" (a static string). */
int prom_process_register(struct prom_registry *r, const char *component);

#endif
