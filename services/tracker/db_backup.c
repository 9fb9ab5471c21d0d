/* Consistent online snapshots of the tracker's store (`ppctl backup`,
 * DESIGN.md "Metadata recovery"). SQLite's backup API copies the database
 * through a second, read-only connection inside one read transaction: the
 * copy is one consistent moment, and in WAL mode the tracker's own
 * connection keeps committing while it runs. */
#define _GNU_SOURCE
#include "db_impl.h"
#include "errors.h"
#include "log.h"

#include <stdio.h>
#include <unistd.h>

int db_snapshot(struct db *db, const char *dest, uint64_t *commit_seq)
{
	sqlite3 *src = NULL, *dst = NULL;
	int rc = PP_EINTERNAL;
	*commit_seq = 0;
	unlink(dest);
	if (sqlite3_open_v2(db->path, &src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_open_v2(dest, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
		    SQLITE_OK) {
		log_error("snapshot_failed", "dest=%s err=%s", log_q(dest),
			  log_q(src ? sqlite3_errmsg(src) : "cannot open"));
		goto out;
	}
	sqlite3_busy_timeout(src, 5000);
	sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
	if (b == NULL) {
		log_error("snapshot_failed", "dest=%s err=%s", log_q(dest), log_q(sqlite3_errmsg(dst)));
		goto out;
	}
	int rv = sqlite3_backup_step(b, -1); /* every page, one read transaction */
	sqlite3_backup_finish(b);
	if (rv != SQLITE_DONE) {
		log_error("snapshot_failed", "dest=%s err=%s", log_q(dest), log_q(sqlite3_errstr(rv)));
		goto out;
	}
	/* A standalone file: no WAL to carry around, synced before use. */
	if (sqlite3_exec(dst, "PRAGMA journal_mode=DELETE", NULL, NULL, NULL) != SQLITE_OK)
		goto out;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(dst, "SELECT value FROM kv WHERE key = 'commit_seq'", -1, &st,
			       NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			*commit_seq = (uint64_t)sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	rc = PP_OK;
out:
	sqlite3_close(src);
	sqlite3_close(dst);
	if (rc != PP_OK)
		unlink(dest);
	return rc;
}
