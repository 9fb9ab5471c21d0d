/* The worker's metrics; see metrics.h.
 *
 * The quarantine gauge counts the files in DATA/quarantine (store.h's
 * layout) at each scrape, so copies quarantined before a restart count too;
 * pp_chunk_verify_failures_total counts since this process started. */
#define _GNU_SOURCE
#include "metrics.h"
#include "errors.h"
#include "scrub.h"
#include "store.h"
#include "worker.h"

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <sys/statvfs.h>

struct worker_metrics {
	struct worker *w;
	struct scrub *const *scrub;
	struct prom_family *chunks, *used, *capacity, *free, *full, *fs_size, *fs_free,
		*quarantined, *verify_failures;
	struct prom_family *in_flight, *slots;
	struct prom_family *scrub_passes, *scrub_chunks, *scrub_bytes, *scrub_corrupt,
		*scrub_progress, *scrub_last_end;
};

/* One worker per process; the registry and on_corrupt reach it here. */
static struct worker_metrics wm;

void worker_metrics_chunk_corrupt(void) { prom_add(wm.verify_failures, NULL, 1); }

static long count_files(const char *dir)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return -1;
	long n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void collect_store(struct worker_metrics *m)
{
	struct worker *w = m->w;
	if (w->store == NULL)
		return;
	struct store_stats s;
	store_get_stats(w->store, &s);
	prom_set(m->chunks, NULL, (double)s.chunks);
	prom_set(m->used, NULL, (double)s.used_bytes);
	prom_set(m->capacity, NULL, (double)s.capacity_bytes);
	prom_set(m->free, NULL, s.capacity_bytes > s.used_bytes ? (double)(s.capacity_bytes - s.used_bytes) : 0);
	prom_set(m->full, NULL, s.disk_full);
	struct statvfs fs;
	if (statvfs(w->cfg.data_dir, &fs) == 0) {
		prom_set(m->fs_size, NULL, (double)fs.f_blocks * (double)fs.f_frsize);
		prom_set(m->fs_free, NULL, (double)fs.f_bavail * (double)fs.f_frsize);
	}
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/quarantine", w->cfg.data_dir);
	long q = count_files(path);
	if (q >= 0)
		prom_set(m->quarantined, NULL, (double)q);
}

static void collect(void *arg)
{
	struct worker_metrics *m = arg;
	collect_store(m);
	prom_set(m->in_flight, NULL, atomic_load(&m->w->inflight));
	pthread_mutex_lock(&m->w->slots_lock);
	int slots = m->w->slots_free;
	pthread_mutex_unlock(&m->w->slots_lock);
	prom_set(m->slots, NULL, slots);
	struct scrub_stats s;
	scrub_stats_get(*m->scrub, &s);
	prom_set(m->scrub_passes, NULL, (double)s.passes);
	prom_set(m->scrub_chunks, NULL, (double)s.chunks_checked);
	prom_set(m->scrub_bytes, NULL, (double)s.bytes_checked);
	prom_set(m->scrub_corrupt, NULL, (double)s.corrupt);
	prom_set(m->scrub_progress, NULL, s.pass_chunks ? (double)s.pass_done / (double)s.pass_chunks : 0);
	prom_set(m->scrub_last_end, NULL, (double)s.last_pass_end_wall_ms / 1000.0);
}

int worker_metrics_register(struct worker *w, struct scrub *const *scrub, struct prom_registry *r)
{
	struct worker_metrics *m = &wm;
	m->w = w;
	m->scrub = scrub;
	m->chunks = prom_gauge(r, "pp_store_chunks", "Chunks held in this worker's store.", NULL);
	m->used = prom_gauge(r, "pp_store_used_bytes", "Bytes of chunks held in this worker's store.", NULL);
	m->capacity = prom_gauge(r, "pp_store_capacity_bytes", "Bytes this worker may store (--capacity, or used plus the disk's free space).", NULL);
	m->free = prom_gauge(r, "pp_store_free_bytes", "Capacity left for new chunks.", NULL);
	m->full = prom_gauge(r, "pp_store_full", "1 when the last write found the store full (capacity or ENOSPC).", NULL);
	m->fs_size = prom_gauge(r, "pp_store_filesystem_size_bytes", "Size of the filesystem holding --data.", NULL);
	m->fs_free = prom_gauge(r, "pp_store_filesystem_free_bytes", "Bytes free for this process on the filesystem holding --data.", NULL);
	m->quarantined = prom_gauge(r, "pp_store_quarantined_chunks", "Copies in the quarantine directory (failed verification).", NULL);
	m->verify_failures = prom_counter(r, "pp_chunk_verify_failures_total", "Stored copies that failed their hash on a read or scrub and were quarantined.", NULL);
	m->in_flight = prom_gauge(r, "pp_transfers_in_flight", "Chunk transfers to or from this worker in progress.", NULL);
	m->slots = prom_gauge(r, "pp_transfer_slots_available", "Free slots for transfers that wait on another node.", NULL);
	m->scrub_passes = prom_counter(r, "pp_scrub_passes_total", "Completed scrub passes over the whole store.", NULL);
	m->scrub_chunks = prom_counter(r, "pp_scrub_checked_chunks_total", "Chunks re-read and verified by the scrubber.", NULL);
	m->scrub_bytes = prom_counter(r, "pp_scrub_checked_bytes_total", "Bytes re-read and verified by the scrubber.", NULL);
	m->scrub_corrupt = prom_counter(r, "pp_scrub_corrupt_chunks_total", "Chunks the scrubber found corrupt (and quarantined).", NULL);
	m->scrub_progress = prom_gauge(r, "pp_scrub_pass_progress_ratio", "Fraction of the current scrub pass done.", NULL);
	m->scrub_last_end = prom_gauge(r, "pp_scrub_last_pass_end_timestamp_seconds", "When the last complete scrub pass ended (0: none yet).", NULL);
	struct prom_family *info = prom_gauge(r, "pp_worker_info", "This worker's node id and zone; always 1.", "node,zone");
	if (!m->chunks || !m->used || !m->capacity || !m->free || !m->full || !m->fs_size ||
	    !m->fs_free || !m->quarantined || !m->verify_failures || !m->in_flight || !m->slots ||
	    !m->scrub_passes || !m->scrub_chunks || !m->scrub_bytes || !m->scrub_corrupt ||
	    !m->scrub_progress || !m->scrub_last_end || !info)
		return PP_EINTERNAL;
	prom_set(info, PROM_L(w->cfg.id, w->cfg.zone), 1);
	return prom_collector_add(r, collect, m);
}
