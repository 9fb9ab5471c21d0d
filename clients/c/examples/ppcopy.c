/* ppcopy: a minimal program using libppclient, meant to be copied.
 *
 * Stores a local file in a Peer Pressure cluster under a name, reads it back
 * into another local file and checks that both have the same SHA-256 as the
 * cluster recorded. Build it against an installed library with:
 *
 *   cc ppcopy.c $(pkg-config --cflags --libs ppclient) -o ppcopy
 *
 * Usage: ppcopy TRACKER_ADDR LOCAL_FILE NAME COPY_PATH
 *   e.g. ppcopy tcp://127.0.0.1:7000 photo.jpg photos/photo.jpg /tmp/back.jpg
 * Set PP_KEY_FILE when the cluster uses a key. Exit status 0 on success. */
#include <ppclient.h>

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void show_progress(void *arg, uint64_t done, uint64_t total)
{
	fprintf(stderr, "%s: %" PRIu64 " / %" PRIu64 " bytes\n", (const char *)arg, done, total);
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: %s TRACKER_ADDR LOCAL_FILE NAME COPY_PATH\n", argv[0]);
		return 1;
	}
	struct pp_client_options opt;
	memset(&opt, 0, sizeof(opt));
	opt.tracker = argv[1];
	opt.key_file = getenv("PP_KEY_FILE");

	struct pp_error err;
	pp_client *c = NULL;
	if (pp_client_open(&opt, &c, &err) != PP_OK) {
		fprintf(stderr, "ppcopy: %s\n", err.message);
		return 1;
	}
	int status = 1;

	/* 1. Upload: nothing is visible under NAME until the whole file is stored. */
	struct pp_put_options put;
	memset(&put, 0, sizeof(put));
	put.name = argv[3];
	put.progress = show_progress;
	put.progress_arg = "put";
	struct pp_file stored;
	if (pp_put_path(c, argv[2], &put, &stored, &err) != PP_OK) {
		fprintf(stderr, "ppcopy: put failed (%s): %s\n", pp_strerror(err.code), err.message);
		goto out;
	}
	printf("stored %s: %" PRIu64 " bytes, %" PRIu64 " chunks, version %" PRIu64 ", sha256 %s\n",
	       stored.name, stored.size, stored.chunk_count, stored.version, stored.sha256);

	/* 2. Where do its chunks live? */
	struct pp_chunk_map *map = NULL;
	if (pp_stat(c, argv[3], &map, &err) != PP_OK) {
		fprintf(stderr, "ppcopy: stat failed: %s\n", err.message);
		goto out;
	}
	for (size_t i = 0; i < map->chunk_count; i++) {
		printf("chunk %" PRIu64 " %.12s...", map->chunks[i].index, map->chunks[i].id);
		for (size_t j = 0; j < map->chunks[i].replica_count; j++)
			printf(" %s(%s)", map->chunks[i].replicas[j].node,
			       pp_replica_state_name(map->chunks[i].replicas[j].state));
		printf("\n");
	}
	pp_chunk_map_free(map);

	/* 3. Download: every chunk and the whole file are SHA-256 checked. */
	int fd = open(argv[4], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		perror(argv[4]);
		goto out;
	}
	struct pp_get_options get;
	memset(&get, 0, sizeof(get));
	struct pp_file info;
	int rc = pp_get_fd(c, argv[3], fd, &get, &info, &err);
	if (close(fd) != 0 && rc == PP_OK) {
		perror(argv[4]);
		goto out;
	}
	if (rc != PP_OK) {
		fprintf(stderr, "ppcopy: get failed (%s): %s\n", pp_strerror(err.code), err.message);
		unlink(argv[4]);
		goto out;
	}
	printf("read back %" PRIu64 " bytes into %s, sha256 %s verified\n", info.size, argv[4],
	       info.sha256);
	status = strcmp(info.sha256, stored.sha256) == 0 ? 0 : 1;
out:
	pp_client_close(c);
	return status;
}
