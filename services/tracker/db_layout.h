/* Where a file's chunks sit in its bytes. Chunks may differ in size (S3
 * multipart parts, DESIGN.md "Data model"), so a chunk's offset is the sum
 * of the sizes of the chunks before it, never index * chunk_size. Offsets
 * are derived from file_chunks and chunks.size on each call (nothing extra
 * is stored): O(index) per lookup, which the manifest pays once per page. */
#ifndef PP_TRACKER_DB_LAYOUT_H
#define PP_TRACKER_DB_LAYOUT_H

#include "db.h"

/* Byte offset of chunk idx of the file (the file's size when idx is past
 * its last chunk). */
int db_chunk_offset(struct db *db, int64_t file_id, uint64_t idx, uint64_t *offset);
/* The chunk holding byte `offset`: its index and where it starts.
 * PP_ENOTFOUND when offset is at or past the end of the file. */
int db_chunk_at_offset(struct db *db, int64_t file_id, uint64_t offset, uint64_t *idx,
		       uint64_t *chunk_offset);

#endif
