/* Tables, sizes and the progress bar for ppctl; see ppctl_output.h. */
#define _GNU_SOURCE
#include "ppctl_output.h"
#include "timeutil.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void out_size(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	if (bytes < 1024) {
		snprintf(buf, len, "%llu B", (unsigned long long)bytes);
		return;
	}
	double v = (double)bytes;
	int u = 0;
	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, "%.1f %s", v, units[u]);
}

void out_duration(double secs, char *buf, size_t len)
{
	if (secs < 0 || secs > 360000)
		secs = 0;
	int s = (int)(secs + 0.5);
	if (s >= 3600)
		snprintf(buf, len, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60);
	else
		snprintf(buf, len, "%d:%02d", s / 60, s % 60);
}

void table_init(struct table *t, int ncols, const char *const *headers, const bool *right)
{
	memset(t, 0, sizeof(*t));
	t->ncols = ncols > TABLE_MAX_COLS ? TABLE_MAX_COLS : ncols;
	for (int i = 0; right != NULL && i < t->ncols; i++)
		t->right[i] = right[i];
	table_row(t, headers);
}

void table_row(struct table *t, const char *const *cells)
{
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		char **p = realloc(t->cells, cap * (size_t)t->ncols * sizeof(*p));
		if (p == NULL)
			return; /* the row is dropped; ppctl is about to run out anyway */
		t->cells = p;
		t->cap = cap;
	}
	for (int i = 0; i < t->ncols; i++)
		t->cells[t->nrows * (size_t)t->ncols + (size_t)i] = strdup(cells[i] ? cells[i] : "");
	t->nrows++;
}

void table_print(struct table *t, FILE *f)
{
	size_t w[TABLE_MAX_COLS] = {0};
	for (size_t r = 0; r < t->nrows; r++)
		for (int c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * (size_t)t->ncols + (size_t)c];
			size_t n = s ? strlen(s) : 0;
			if (n > w[c])
				w[c] = n;
		}
	for (size_t r = 0; r < t->nrows; r++) {
		for (int c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * (size_t)t->ncols + (size_t)c];
			s = s ? s : "";
			bool last = c == t->ncols - 1;
			if (t->right[c])
				fprintf(f, "%*s", (int)w[c], s);
			else if (last)
				fputs(s, f);
			else
				fprintf(f, "%-*s", (int)w[c], s);
			fputs(last ? "\n" : "  ", f);
		}
	}
}

void table_free(struct table *t)
{
	for (size_t i = 0; i < t->nrows * (size_t)t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	memset(t, 0, sizeof(*t));
}

void progress_init(struct progress *p, const char *label)
{
	memset(p, 0, sizeof(*p));
	p->enabled = isatty(STDERR_FILENO) == 1;
	p->label = label;
	p->start_ms = time_mono_ms();
}

void progress_update(void *arg, uint64_t done, uint64_t total)
{
	struct progress *p = arg;
	if (!p->enabled)
		return;
	int64_t now = time_mono_ms();
	if (p->drawn && now - p->last_ms < 200 && (total == 0 || done < total))
		return;
	p->last_ms = now;
	double secs = (double)(now - p->start_ms) / 1000.0;
	double rate = secs > 0 ? (double)done / secs : 0;
	char d[16], tot[16], r[16], eta[32];
	out_size(done, d, sizeof(d));
	out_size((uint64_t)rate, r, sizeof(r));
	char bar[31];
	int pct = total ? (int)(done * 100 / total) : 0;
	int fill = total ? (int)(done * 30 / total) : 0;
	for (int i = 0; i < 30; i++)
		bar[i] = i < fill ? '#' : '-';
	bar[30] = '\0';
	if (total) {
		out_size(total, tot, sizeof(tot));
		out_duration(rate > 0 ? (double)(total - done) / rate : 0, eta, sizeof(eta));
		fprintf(stderr, "\r\033[K%s [%s] %3d%% %s / %s  %s/s  ETA %s", p->label, bar, pct, d, tot,
			r, eta);
	} else {
		fprintf(stderr, "\r\033[K%s %s  %s/s", p->label, d, r);
	}
	fflush(stderr);
	p->drawn = true;
}

void progress_end(struct progress *p)
{
	if (p->enabled && p->drawn) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
	}
}
