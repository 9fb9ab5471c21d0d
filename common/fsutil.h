/* Durable small-file primitives shared by the worker's stores: fsync of a
 * directory (after a rename or create in it) and a whole small file
 * replaced atomically (temp, fsync, rename, fsync of the directory). */
#ifndef PP_COMMON_FSUTIL_H
#define PP_COMMON_FSUTIL_H

#include <stddef.h>
#include <stdint.h>

/* 0 or -1 with errno. */
int fs_fsync_dir(const char *path);
/* Replaces path with `text` durably, through tmp_path (same directory).
 * 0 or -1 with errno; path is untouched on failure. */
int fs_replace_small(const char *path, const char *tmp_path, const char *text);
/* Reads a file holding one unsigned decimal number: 1 when read, 0 when the
 * file does not exist (*out = 0), -1 with errno on other errors (EINVAL for
 * a file that is not a number). */
int fs_read_u64(const char *path, uint64_t *out);

#endif
