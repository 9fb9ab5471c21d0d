/* Command-line flags with environment fallbacks (DESIGN.md, "Binaries").
 *
 * A program describes its flags in a table; flags_parse fills the targets
 * from `--name VALUE` / `--name=VALUE`, else from the flag's environment
 * variable, else leaves the default the caller stored. Parsing stops at the
 * first word that is not a flag, so ppctl can parse global flags, a verb and
 * then the verb's own flags with a second table. */
#ifndef PP_COMMON_FLAGS_H
#define PP_COMMON_FLAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum flag_kind {
	FLAG_STRING, /* dest: const char ** (points into argv or environ) */
	FLAG_BYTES,  /* dest: uint64_t *; accepts 4194304, 4MiB, 4M, 1GiB, 512K */
	FLAG_UINT,   /* dest: uint64_t * */
	FLAG_BOOL,   /* dest: bool *; takes no value (env: 1/true/yes) */
};

struct flag_spec {
	const char *name; /* without dashes: "listen" */
	const char *env;  /* "PP_LISTEN" or NULL */
	enum flag_kind kind;
	void *dest;
	const char *help;
	bool required;
	char short_name; /* 'o' for -o, or 0 */
};

struct flags_program {
	const char *name;    /* "pp-tracker" */
	const char *usage;   /* "[flags]" */
	const char *summary; /* one paragraph for --help */
};

enum {
	FLAGS_CONTINUE = 0, /* parsed; run the program */
	FLAGS_EXIT_OK = 1,  /* --help or --version printed */
	FLAGS_ERROR = -1,   /* message printed to stderr */
};

/* Parses argv[start..]; on FLAGS_CONTINUE *next is the index of the first
 * non-flag word (argc when none). */
int flags_parse(const struct flags_program *prog, const struct flag_spec *specs,
		int argc, char **argv, int start, int *next);
void flags_print_help(const struct flags_program *prog, const struct flag_spec *specs);
/* Parses "4MiB" style sizes; 0 or PP_EINVAL. */
int flags_parse_bytes(const char *text, uint64_t *out);
/* Splits a comma-separated list (tracker addresses: primary, standby) into
 * at most max malloc'd strings (*items malloc'd too; free with
 * flags_list_free). PP_EINVAL for an empty item or more than max. */
int flags_split_list(const char *text, size_t max, char ***items, size_t *n);
void flags_list_free(char **items, size_t n);

/* PP_VERSION ("0.1.0") is defined once, by project(VERSION) in the
 * top-level CMakeLists.txt, and passed to every compilation. */
#ifndef PP_VERSION
#error "PP_VERSION is set by CMake (project VERSION)"
#endif

#endif
