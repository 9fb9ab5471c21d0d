/* Durable small-file primitives; see fsutil.h. */
#define _GNU_SOURCE
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int fs_fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rv = fsync(fd);
	int saved = errno;
	close(fd);
	errno = saved;
	return rv;
}

int fs_replace_small(const char *path, const char *tmp_path, const char *text)
{
	size_t len = strlen(text);
	int fd = open(tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	int rv = write(fd, text, len) == (ssize_t)len && fsync(fd) == 0 ? 0 : -1;
	int saved = errno;
	if (close(fd) != 0 && rv == 0) {
		rv = -1;
		saved = errno;
	}
	if (rv == 0 && rename(tmp_path, path) != 0) {
		rv = -1;
		saved = errno;
	}
	if (rv != 0) {
		unlink(tmp_path);
		errno = saved;
		return -1;
	}
	char *copy = strdup(path);
	if (copy == NULL)
		return -1;
	rv = fs_fsync_dir(dirname(copy));
	free(copy);
	return rv;
}

int fs_read_u64(const char *path, uint64_t *out)
{
	*out = 0;
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return errno == ENOENT ? 0 : -1;
	unsigned long long v = 0;
	int got = fscanf(f, "%llu", &v);
	fclose(f);
	if (got != 1) {
		errno = EINVAL;
		return -1;
	}
	*out = v;
	return 1;
}
