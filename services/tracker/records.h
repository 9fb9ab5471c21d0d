/* Metadata records on the workers (DESIGN.md, "Metadata recovery").
 *
 * Writer: every commit, replacement and delete is also a sealed FileRecord
 * (common/meta_record.h) put durably on `replication` workers — chosen by
 * rendezvous hashing on the name, so a name's records keep landing on the
 * same workers, which then drop the superseded ones — before the commit is
 * acknowledged. A record that could not be written (no workers, a crash
 * between commit and record) stays pending in the store and a background
 * loop retries it.
 *
 * Reader: after every start the tracker reads back, from each worker as it
 * comes up, the records newer than its database (all of them when the
 * database is empty or --rebuild is given) and merges them: per name the
 * highest seq wins, a tombstone deletes. Until a worker's records were read,
 * no chunk it holds is collected as garbage (db_gc_collect). */
#ifndef PP_TRACKER_RECORDS_H
#define PP_TRACKER_RECORDS_H

#include "tracker.h"

#include <stdbool.h>
#include <stdint.h>

/* Chunk references per record page: ~75 bytes each, so a page stays far
 * below the frame's payload limit (a 256 GiB file at 4 MiB chunks). */
#define RECORD_PAGE_CHUNKS 65536

struct records;

/* rebuild: read every record back, not only those newer than the store. */
int records_start(struct tracker *t, bool rebuild, struct records **out);
/* A node changed state: one just heard may have records to read. */
void records_wake(struct records *r);
void records_stop(struct records *r);
void records_free(struct records *r);

/* Makes the newest record of `name` (at least seq min_seq) durable on
 * `replication` workers; returns when it is. PP_EUNAVAIL when too few
 * workers took it (the record stays pending and is retried). */
int records_write(struct tracker *t, const char *name, uint64_t min_seq);

/* True while some node that is not dead has not had its records read since
 * this start: the collector leaves unreferenced chunks alone until then. */
bool records_reading(struct records *r);

/* A standby about to be promoted: merges every record newer than its
 * database from the primary (if it answers) and from every worker; returns
 * how many changed the store. */
uint64_t records_catch_up(struct tracker *t);

/* The sealed pages of a name's current record (what a worker or a standby
 * is given); free with records_pages_free. PP_ENOTFOUND when the store knows
 * nothing of the name. */
struct record_head;
struct records_pages {
	uint8_t **pages;
	size_t *lens;
	size_t n;
};
int records_build(struct tracker *t, const char *name, struct record_head *head,
		  uint32_t *replication, struct records_pages *out);
void records_pages_free(struct records_pages *p);

struct records_stats {
	uint64_t written, merged;
	uint32_t nodes_read;    /* since start */
	uint32_t nodes_pending; /* up but not read yet */
};
void records_stats_get(struct records *r, struct records_stats *out);

#endif
