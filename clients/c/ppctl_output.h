/* ppctl's human output: aligned tables, human sizes and durations, and the
 * progress bar (stderr, only when it is a terminal). JSON output is
 * shapes.h's job; nothing here is meant to be parsed. */
#ifndef PPCTL_OUTPUT_H
#define PPCTL_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* "0 B", "1023 B", "1.5 KiB", "300.0 MiB"; buf >= 16. */
void out_size(uint64_t bytes, char *buf, size_t len);
/* "0:03", "1:02:03"; buf >= 16. */
void out_duration(double secs, char *buf, size_t len);

#define TABLE_MAX_COLS 12
struct table {
	int ncols;
	bool right[TABLE_MAX_COLS]; /* right-align (numbers) */
	size_t nrows, cap;
	char **cells; /* nrows * ncols strdup'ed cells; row 0 is the header */
};
void table_init(struct table *t, int ncols, const char *const *headers, const bool *right);
void table_row(struct table *t, const char *const *cells);
void table_print(struct table *t, FILE *f);
void table_free(struct table *t);

struct progress {
	bool enabled; /* stderr is a terminal */
	const char *label;
	int64_t start_ms;
	int64_t last_ms;
	bool drawn;
};
void progress_init(struct progress *p, const char *label);
/* A pp_progress_fn: arg is a struct progress. */
void progress_update(void *arg, uint64_t done, uint64_t total);
void progress_end(struct progress *p);

#endif
