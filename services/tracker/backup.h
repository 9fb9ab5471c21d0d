/* Online backups (`ppctl backup -o FILE`, DESIGN.md "Metadata recovery"):
 * a snapshot of the store is taken into a file beside the database and
 * read out in pages; it is removed once its last page was read, after
 * BACKUP_IDLE_MS unread, or when the tracker stops. */
#ifndef PP_TRACKER_BACKUP_H
#define PP_TRACKER_BACKUP_H

#include "tracker.h"

#include <stddef.h>
#include <stdint.h>

#define BACKUP_IDLE_MS (10 * 60 * 1000)
#define BACKUP_PAGE_MAX (4u << 20)

int backup_take(struct tracker *t, uint64_t *id, uint64_t *size, uint64_t *commit_seq);
/* Up to len bytes at offset into buf; PP_ENOTFOUND for an unknown or
 * expired id. */
int backup_read(uint64_t id, uint64_t offset, uint8_t *buf, size_t len, size_t *got);
void backup_cleanup(void);

#endif
