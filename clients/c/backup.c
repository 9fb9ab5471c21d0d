/* Online backups of the tracker's database (`ppctl backup -o FILE`,
 * DESIGN.md "Metadata recovery"): the tracker takes a consistent snapshot,
 * this reads it out page by page. */
#define _GNU_SOURCE
#include "client_internal.h"
#include "frame.h"
#include "timeutil.h"
#include "wire.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BACKUP_PAGE (4u << 20)

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int pp_backup_fd(pp_client *c, int fd, pp_progress_fn progress, void *progress_arg,
		 struct pp_backup_info *out, struct pp_error *err)
{
	pp_error_clear(err);
	if (c == NULL || fd < 0)
		return pp_fail(err, PP_EINVAL, "client and a file descriptor are required");
	if (c->direct)
		return pp_fail(err, PP_EINVAL, "backups need the tracker (not available through a node)");
	pp_v1_Request req = pp_v1_Request_init_zero;
	pp_v1_Response *resp = calloc(1, sizeof(*resp));
	if (resp == NULL)
		return pp_fail(err, PP_EINTERNAL, "out of memory");
	req.has_backup = true;
	/* A snapshot of a large database takes a while: no short timeout. */
	int rc = client_meta_call(c, &req, resp, NULL, RPC_TIMEOUT_DATA_MS, err);
	if (rc == PP_OK && !resp->has_backup)
		rc = pp_fail(err, PP_EINTERNAL, "backup reply without a snapshot");
	struct pp_backup_info info = {0};
	if (rc == PP_OK) {
		info.size = resp->backup.size;
		info.commit_seq = resp->backup.commit_seq;
	}
	uint64_t id = rc == PP_OK ? resp->backup.backup_id : 0;
	int64_t last_progress = 0;
	for (uint64_t off = 0; rc == PP_OK && off < info.size;) {
		pp_v1_Request rq = pp_v1_Request_init_zero;
		rq.has_backup_read = true;
		rq.backup_read.backup_id = id;
		rq.backup_read.offset = off;
		rq.backup_read.length = BACKUP_PAGE;
		struct wire_reply page = {0};
		memset(resp, 0, sizeof(*resp));
		rc = client_meta_call(c, &rq, resp, &page, RPC_TIMEOUT_DATA_MS, err);
		if (rc == PP_OK && (page.payload_len == 0 || page.payload_len > info.size - off))
			rc = pp_fail(err, PP_EINTERNAL, "backup page at %llu has %zu bytes",
				     (unsigned long long)off, page.payload_len);
		if (rc == PP_OK && write_all(fd, page.payload, page.payload_len) != 0)
			rc = pp_fail(err, PP_EINVAL, "write failed: %s", strerror(errno));
		if (rc == PP_OK)
			off += page.payload_len;
		wire_reply_free(&page);
		int64_t now = time_mono_ms();
		if (progress && rc == PP_OK && (now - last_progress >= 100 || off == info.size)) {
			progress(progress_arg, off, info.size);
			last_progress = now;
		}
	}
	free(resp);
	if (rc == PP_OK && out != NULL)
		*out = info;
	return rc;
}
