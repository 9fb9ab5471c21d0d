/* What ppctl's files share: the parsed global options and the helpers every
 * verb uses to parse its words, print JSON and report errors ("ppctl:
 * error: ..." on stderr, documented exit codes). */
#ifndef PPCTL_H
#define PPCTL_H

#include "flags.h"
#include "ppclient.h"

#include <jansson.h>
#include <stdbool.h>

#define EXIT_USAGE 1

struct ctl {
	const char *tracker;
	const char *node;
	const char *key_file;
	bool json;
	pp_client *c; /* owned by main */
};

#define VERB_FLAGS_END {NULL, NULL, FLAG_STRING, NULL, NULL, false, 0}

int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints the error and returns its exit code. */
int fail(const struct pp_error *e);
/* Prints j (consumed) on stdout; 0 or an exit code. */
int print_json(json_t *j);
/* Splits a verb's words into positionals (at most max_pos) and its flags
 * (anywhere). 0 to go on, -2 when --help was printed, -1 on a usage error
 * (already reported). */
int parse_verb(const struct flags_program *prog, const struct flag_spec *specs, int argc,
	       char **argv, const char **pos, int max_pos, int *npos);

/* ppctl_put.c, ppctl_get.c: put and get of one or many files. */
int cmd_put(struct ctl *x, int argc, char **argv);
int cmd_get(struct ctl *x, int argc, char **argv);

#endif
