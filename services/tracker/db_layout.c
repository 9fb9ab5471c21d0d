/* Chunk offsets within a file; see db_layout.h. */
#define _GNU_SOURCE
#include "db_layout.h"
#include "db_impl.h"
#include "errors.h"

int db_chunk_offset(struct db *db, int64_t file_id, uint64_t idx, uint64_t *offset)
{
	int64_t sum = 0;
	pthread_mutex_lock(&db->lock);
	int rc = dbq_int(db, &sum,
			 "SELECT coalesce(sum(c.size), 0) FROM file_chunks fc"
			 " JOIN chunks c ON c.id = fc.chunk_id WHERE fc.file_id = ? AND fc.idx < ?",
			 "iI", file_id, idx);
	pthread_mutex_unlock(&db->lock);
	if (rc == PP_OK)
		*offset = (uint64_t)sum;
	return rc;
}

int db_chunk_at_offset(struct db *db, int64_t file_id, uint64_t offset, uint64_t *idx,
		       uint64_t *chunk_offset)
{
	sqlite3_stmt *st;
	pthread_mutex_lock(&db->lock);
	/* Running sums in index order; the first chunk that ends past offset. */
	int rc = dbq_prep(db, &st,
			  "SELECT idx, start FROM (SELECT fc.idx AS idx, c.size AS size,"
			  " sum(c.size) OVER (ORDER BY fc.idx ROWS UNBOUNDED PRECEDING) - c.size AS start"
			  " FROM file_chunks fc JOIN chunks c ON c.id = fc.chunk_id WHERE fc.file_id = ?1)"
			  " WHERE start + size > ?2 ORDER BY idx LIMIT 1",
			  "iI", file_id, offset);
	if (rc == PP_OK) {
		if (sqlite3_step(st) == SQLITE_ROW) {
			*idx = (uint64_t)sqlite3_column_int64(st, 0);
			*chunk_offset = (uint64_t)sqlite3_column_int64(st, 1);
		} else {
			rc = PP_ENOTFOUND;
		}
		dbq_release(db, st);
	}
	pthread_mutex_unlock(&db->lock);
	return rc;
}
