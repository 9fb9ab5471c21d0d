/* Online backups; see backup.h. `lock` guards the table of snapshots; the
 * snapshot itself and page reads run outside it. */
#define _GNU_SOURCE
#include "backup.h"
#include "db.h"
#include "errors.h"
#include "log.h"
#include "timeutil.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BACKUPS_MAX 8
#define BACKUP_PATH_MAX 4096

struct snapshot {
	uint64_t id;
	char path[BACKUP_PATH_MAX];
	uint64_t size;
	int64_t last_use_mono;
	unsigned readers; /* page reads in progress */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct snapshot table[BACKUPS_MAX];

/* Lock held: forgets (and removes the file of) idle snapshots. */
static void expire_locked(int64_t now)
{
	for (int i = 0; i < BACKUPS_MAX; i++) {
		struct snapshot *s = &table[i];
		if (s->id && !s->readers && now - s->last_use_mono >= BACKUP_IDLE_MS) {
			unlink(s->path);
			log_info("backup_expired", "id=%llu", (unsigned long long)s->id);
			memset(s, 0, sizeof(*s));
		}
	}
}

int backup_take(struct tracker *t, uint64_t *id, uint64_t *size, uint64_t *commit_seq)
{
	uint64_t new_id;
	auth_random(&new_id, sizeof(new_id));
	new_id |= 1; /* never 0 */
	char path[BACKUP_PATH_MAX];
	if (snprintf(path, sizeof(path), "%s.backup-%016llx", t->cfg.db_path,
		     (unsigned long long)new_id) >= (int)sizeof(path))
		return PP_EINVAL;
	pthread_mutex_lock(&lock);
	expire_locked(time_mono_ms());
	struct snapshot *slot = NULL;
	for (int i = 0; i < BACKUPS_MAX && slot == NULL; i++)
		if (table[i].id == 0)
			slot = &table[i];
	if (slot != NULL) {
		slot->id = new_id;
		snprintf(slot->path, sizeof(slot->path), "%s", path);
		slot->readers = 1; /* being written */
		slot->last_use_mono = time_mono_ms();
	}
	pthread_mutex_unlock(&lock);
	if (slot == NULL)
		return PP_EUNAVAIL;
	int64_t t0 = time_mono_ms();
	int rc = db_snapshot(t->db, path, commit_seq);
	struct stat st;
	if (rc == PP_OK && stat(path, &st) != 0)
		rc = PP_EINTERNAL;
	pthread_mutex_lock(&lock);
	slot->readers = 0;
	slot->last_use_mono = time_mono_ms();
	if (rc == PP_OK) {
		slot->size = (uint64_t)st.st_size;
		*id = slot->id;
		*size = slot->size;
	} else {
		memset(slot, 0, sizeof(*slot));
	}
	pthread_mutex_unlock(&lock);
	if (rc == PP_OK)
		log_info("backup_taken", "id=%llu bytes=%llu commit_seq=%llu ms=%lld",
			 (unsigned long long)*id, (unsigned long long)*size,
			 (unsigned long long)*commit_seq, (long long)(time_mono_ms() - t0));
	return rc;
}

int backup_read(uint64_t id, uint64_t offset, uint8_t *buf, size_t len, size_t *got)
{
	*got = 0;
	char path[BACKUP_PATH_MAX];
	uint64_t size = 0;
	struct snapshot *s = NULL;
	pthread_mutex_lock(&lock);
	for (int i = 0; i < BACKUPS_MAX && s == NULL; i++)
		if (id != 0 && table[i].id == id && table[i].size > 0)
			s = &table[i];
	if (s != NULL) {
		s->readers++;
		s->last_use_mono = time_mono_ms();
		snprintf(path, sizeof(path), "%s", s->path);
		size = s->size;
	}
	pthread_mutex_unlock(&lock);
	if (s == NULL)
		return PP_ENOTFOUND;
	int rc = PP_OK;
	if (offset > size) {
		rc = PP_EINVAL;
	} else {
		if (len > size - offset)
			len = (size_t)(size - offset);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? pread(fd, buf, len, (off_t)offset) : -1;
		if (fd >= 0)
			close(fd);
		if (n < 0 || (size_t)n != len)
			rc = PP_EINTERNAL;
		else
			*got = len;
	}
	pthread_mutex_lock(&lock);
	s->readers--;
	/* The last page read: the snapshot has served its purpose. */
	if (rc == PP_OK && offset + *got >= size && s->readers == 0) {
		unlink(s->path);
		log_info("backup_read_out", "id=%llu bytes=%llu", (unsigned long long)id,
			 (unsigned long long)size);
		memset(s, 0, sizeof(*s));
	}
	pthread_mutex_unlock(&lock);
	return rc;
}

void backup_cleanup(void)
{
	pthread_mutex_lock(&lock);
	for (int i = 0; i < BACKUPS_MAX; i++) {
		if (table[i].id)
			unlink(table[i].path);
		memset(&table[i], 0, sizeof(table[i]));
	}
	pthread_mutex_unlock(&lock);
}
