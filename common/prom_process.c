/* process_* metrics from /proc/self and pp_build_info; see prom_process.h.
 *
 * Field numbers of /proc/self/stat are proc(5)'s (1-based): utime 14,
 * stime 15, starttime 22, vsize 23, rss 24. The command name (field 2) may
 * hold spaces and parentheses, so parsing starts after its last ')'. */
#define _GNU_SOURCE
#include "prom_process.h"
#include "errors.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#ifndef PP_VERSION
#error "PP_VERSION comes from the top-level CMakeLists.txt (project VERSION)"
#endif

#define STAT_FIELDS 24 /* the last one read: rss */

struct process_metrics {
	struct prom_family *cpu, *rss, *vsize, *open_fds, *max_fds, *start_time;
	double boot_time_s; /* btime of /proc/stat, 0 when unknown */
};

static double boot_time(void)
{
	FILE *f = fopen("/proc/stat", "r");
	if (f == NULL)
		return 0;
	char line[256];
	double bt = 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "btime %lf", &bt) == 1)
			break;
	fclose(f);
	return bt;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (d == NULL)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory stream's own descriptor */
}

static void collect(void *arg)
{
	struct process_metrics *m = arg;
	double tick = (double)sysconf(_SC_CLK_TCK);
	long page = sysconf(_SC_PAGESIZE);
	char buf[1024];
	FILE *f = fopen("/proc/self/stat", "r");
	if (f != NULL) {
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		/* field[k] = proc(5) field k, for k = 3..24 */
		unsigned long long field[STAT_FIELDS + 1] = {0};
		int k = 3;
		char *p = strrchr(buf, ')');
		char *save = NULL;
		for (char *tok = p ? strtok_r(p + 1, " ", &save) : NULL; tok && k <= STAT_FIELDS;
		     tok = strtok_r(NULL, " ", &save), k++)
			field[k] = strtoull(tok, NULL, 10);
		if (k > STAT_FIELDS && tick > 0) {
			prom_set(m->cpu, NULL, (double)(field[14] + field[15]) / tick);
			prom_set(m->vsize, NULL, (double)field[23]);
			prom_set(m->rss, NULL, (double)field[24] * (double)page);
			if (m->boot_time_s > 0)
				prom_set(m->start_time, NULL, m->boot_time_s + (double)field[22] / tick);
		}
	}
	int fds = count_fds();
	if (fds >= 0)
		prom_set(m->open_fds, NULL, fds);
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		prom_set(m->max_fds, NULL, rl.rlim_cur == RLIM_INFINITY ? -1 : (double)rl.rlim_cur);
}

int prom_process_register(struct prom_registry *r, const char *component)
{
	/* Lives as long as the process: the registry keeps a pointer to it. */
	static struct process_metrics m;
	m.boot_time_s = boot_time();
	m.cpu = prom_counter(r, "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", NULL);
	m.rss = prom_gauge(r, "process_resident_memory_bytes", "Resident memory size in bytes.", NULL);
	m.vsize = prom_gauge(r, "process_virtual_memory_bytes", "Virtual memory size in bytes.", NULL);
	m.open_fds = prom_gauge(r, "process_open_fds", "Number of open file descriptors.", NULL);
	m.max_fds = prom_gauge(r, "process_max_fds", "Maximum number of open file descriptors.", NULL);
	m.start_time = prom_gauge(r, "process_start_time_seconds", "Start time of the process since unix epoch in seconds.", NULL);
	struct prom_family *info = prom_gauge(r, "pp_build_info", "Peer Pressure version of this process; always 1.", "version,component");
	if (!m.cpu || !m.rss || !m.vsize || !m.open_fds || !m.max_fds || !m.start_time || !info)
		return PP_EINTERNAL;
	prom_set(info, PROM_L(PP_VERSION, component), 1);
	return prom_collector_add(r, collect, &m);
}
