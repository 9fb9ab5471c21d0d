/* Ordered reads of the worker's record log (ReadMeta pages them out to a
 * tracker) and its figures; see meta_log.h. */
#define _GNU_SOURCE
#include "errors.h"
#include "meta_log_impl.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int cmp_idx(const void *a, const void *b, void *arg)
{
	const struct meta_log *m = arg;
	return meta_cmp_key(&m->e[*(const uint32_t *)a], &m->e[*(const uint32_t *)b]);
}

/* Lock held: m->sorted lists every live entry in key order. */
static int ensure_sorted(struct meta_log *m)
{
	if (!m->unsorted)
		return PP_OK;
	uint32_t *g = realloc(m->sorted, (m->n ? m->n : 1) * sizeof(*g));
	if (g == NULL)
		return PP_EINTERNAL;
	m->sorted = g;
	m->cap_sorted = m->n ? m->n : 1;
	m->n_sorted = 0;
	for (size_t i = 0; i < m->n; i++)
		if (m->e[i].live)
			m->sorted[m->n_sorted++] = (uint32_t)i;
	qsort_r(m->sorted, m->n_sorted, sizeof(*m->sorted), cmp_idx, m);
	m->unsorted = false;
	return PP_OK;
}

int meta_log_read(struct meta_log *m, uint64_t after_seq, struct meta_cursor *cursor,
		  uint8_t *buf, size_t soft, size_t cap, size_t *used, uint32_t *count, bool *done)
{
	*used = 0;
	*count = 0;
	*done = false;
	struct mentry from = {.seq = cursor->seq, .page = cursor->page};
	memcpy(from.name_hash, cursor->name_hash, META_NAME_HASH_BYTES);
	bool at_start = cursor->seq == 0;
	if (at_start || from.seq < after_seq + 1) {
		memset(&from, 0, sizeof(from));
		from.seq = after_seq + 1;
		at_start = true;
	}
	pthread_mutex_lock(&m->lock);
	int rc = ensure_sorted(m);
	/* First entry strictly after the cursor (at or after the start key). */
	size_t lo = 0, hi = rc == PP_OK ? m->n_sorted : 0;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = meta_cmp_key(&m->e[m->sorted[mid]], &from);
		if (c < 0 || (c == 0 && !at_start))
			lo = mid + 1;
		else
			hi = mid;
	}
	int fd = -1;
	uint32_t fd_seg = 0;
	size_t i = lo;
	for (; rc == PP_OK && i < m->n_sorted; i++) {
		const struct mentry *e = &m->e[m->sorted[i]];
		if (!e->live)
			continue;
		if (*used + 4 + e->len > cap || (*count > 0 && *used + 4 + e->len > soft))
			break;
		if (fd < 0 || fd_seg != e->seg) {
			if (fd >= 0)
				close(fd);
			char path[META_PATH_MAX];
			meta_seg_path(m, e->seg, path);
			fd = open(path, O_RDONLY | O_CLOEXEC);
			fd_seg = e->seg;
		}
		if (fd < 0 || meta_read_full(fd, buf + *used + 4, e->len, e->off + ENTRY_HEADER_BYTES) != 0) {
			rc = PP_EINTERNAL;
			break;
		}
		meta_put_be32(buf + *used, e->len);
		*used += 4 + e->len;
		(*count)++;
		cursor->seq = e->seq;
		memcpy(cursor->name_hash, e->name_hash, META_NAME_HASH_BYTES);
		cursor->page = e->page;
	}
	if (rc == PP_OK) {
		while (i < m->n_sorted && !m->e[m->sorted[i]].live)
			i++;
		*done = i >= m->n_sorted;
	}
	if (fd >= 0)
		close(fd);
	pthread_mutex_unlock(&m->lock);
	return rc;
}

void meta_log_stats(struct meta_log *m, struct meta_stats *out)
{
	pthread_mutex_lock(&m->lock);
	out->records = 0;
	for (size_t i = 0; i < m->n; i++)
		out->records += m->e[i].live;
	out->live_bytes = m->live_bytes;
	out->dead_bytes = m->dead_bytes;
	out->segments = m->seg - m->first_seg + 1;
	pthread_mutex_unlock(&m->lock);
}
