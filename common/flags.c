/* Table-driven flag parser with environment fallbacks; see flags.h. */
#define _GNU_SOURCE
#include "flags.h"
#include "errors.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int flags_parse_bytes(const char *text, uint64_t *out)
{
	if (text == NULL || !isdigit((unsigned char)text[0]))
		return PP_EINVAL;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(text, &end, 10);
	if (errno != 0)
		return PP_EINVAL;
	static const struct {
		const char *suffix;
		unsigned long long mult;
	} units[] = {
		{"", 1},
		{"B", 1},
		{"K", 1000ULL},
		{"KB", 1000ULL},
		{"KiB", 1ULL << 10},
		{"M", 1000000ULL},
		{"MB", 1000000ULL},
		{"MiB", 1ULL << 20},
		{"G", 1000000000ULL},
		{"GB", 1000000000ULL},
		{"GiB", 1ULL << 30},
		{"T", 1000000000000ULL},
		{"TB", 1000000000000ULL},
		{"TiB", 1ULL << 40},
	};
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcasecmp(end, units[i].suffix) != 0)
			continue;
		if (v > UINT64_MAX / units[i].mult)
			return PP_EINVAL;
		*out = v * units[i].mult;
		return PP_OK;
	}
	return PP_EINVAL;
}

static int flag_set(const struct flags_program *prog, const struct flag_spec *f,
		    const char *value, const char *source)
{
	uint64_t v;
	switch (f->kind) {
	case FLAG_STRING:
		*(const char **)f->dest = value;
		return 0;
	case FLAG_BOOL:
		*(bool *)f->dest = value == NULL || strcmp(value, "1") == 0 ||
				   strcasecmp(value, "true") == 0 || strcasecmp(value, "yes") == 0;
		return 0;
	case FLAG_BYTES:
		if (flags_parse_bytes(value, &v) == 0) {
			*(uint64_t *)f->dest = v;
			return 0;
		}
		break;
	case FLAG_UINT: {
		char *end;
		errno = 0;
		v = strtoull(value, &end, 10);
		if (errno == 0 && *end == '\0' && isdigit((unsigned char)value[0])) {
			*(uint64_t *)f->dest = v;
			return 0;
		}
		break;
	}
	}
	fprintf(stderr, "%s: invalid value '%s' for %s%s\n", prog->name, value, source,
		f->kind == FLAG_BYTES ? " (expected bytes, e.g. 4194304 or 4MiB)" : " (expected a number)");
	return FLAGS_ERROR;
}

void flags_print_help(const struct flags_program *prog, const struct flag_spec *specs)
{
	printf("Usage: %s %s\n\n%s\n\nFlags:\n", prog->name, prog->usage, prog->summary);
	for (const struct flag_spec *f = specs; f->name != NULL; f++) {
		char left[64];
		if (f->short_name)
			snprintf(left, sizeof(left), "-%c, --%s%s", f->short_name, f->name,
				 f->kind == FLAG_BOOL ? "" : " VALUE");
		else
			snprintf(left, sizeof(left), "--%s%s", f->name, f->kind == FLAG_BOOL ? "" : " VALUE");
		printf("  %-28s %s%s%s%s%s\n", left, f->help, f->required ? " (required)" : "",
		       f->env ? " [env " : "", f->env ? f->env : "", f->env ? "]" : "");
	}
	printf("  %-28s %s\n  %-28s %s\n", "--help", "show this help", "--version",
	       "show the version");
}

static const struct flag_spec *flag_find(const struct flag_spec *specs, const char *name,
					 size_t name_len, char short_name)
{
	for (const struct flag_spec *f = specs; f->name != NULL; f++) {
		if (short_name != 0 ? f->short_name == short_name
				    : strlen(f->name) == name_len && strncmp(f->name, name, name_len) == 0)
			return f;
	}
	return NULL;
}

static bool flag_seen(const struct flag_spec *specs, const struct flag_spec *f, const bool *seen)
{
	return seen[f - specs];
}

int flags_parse(const struct flags_program *prog, const struct flag_spec *specs, int argc,
		char **argv, int start, int *next)
{
	size_t nspecs = 0;
	while (specs[nspecs].name != NULL)
		nspecs++;
	bool seen[64] = {false};
	if (nspecs > 64)
		return FLAGS_ERROR;

	int i = start;
	for (; i < argc; i++) {
		const char *arg = argv[i];
		if (strcmp(arg, "--") == 0) {
			i++;
			break;
		}
		if (arg[0] != '-' || arg[1] == '\0')
			break;
		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			flags_print_help(prog, specs);
			return FLAGS_EXIT_OK;
		}
		if (strcmp(arg, "--version") == 0) {
			printf("%s %s\n", prog->name, PP_VERSION);
			return FLAGS_EXIT_OK;
		}
		const struct flag_spec *f;
		const char *value = NULL;
		if (arg[1] == '-') {
			const char *name = arg + 2;
			const char *eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name);
			f = flag_find(specs, name, len, 0);
			if (eq)
				value = eq + 1;
		} else {
			f = arg[2] == '\0' ? flag_find(specs, NULL, 0, arg[1]) : NULL;
		}
		if (f == NULL) {
			fprintf(stderr, "%s: unknown flag '%s' (see --help)\n", prog->name, arg);
			return FLAGS_ERROR;
		}
		if (f->kind != FLAG_BOOL && value == NULL) {
			if (i + 1 >= argc) {
				fprintf(stderr, "%s: flag --%s needs a value\n", prog->name, f->name);
				return FLAGS_ERROR;
			}
			value = argv[++i];
		}
		char source[80];
		snprintf(source, sizeof(source), "--%s", f->name);
		if (flag_set(prog, f, value, source) != 0)
			return FLAGS_ERROR;
		seen[f - specs] = true;
	}
	for (const struct flag_spec *f = specs; f->name != NULL; f++) {
		if (flag_seen(specs, f, seen) || f->env == NULL)
			continue;
		const char *env = getenv(f->env);
		if (env == NULL || env[0] == '\0')
			continue;
		if (flag_set(prog, f, env, f->env) != 0)
			return FLAGS_ERROR;
		seen[f - specs] = true;
	}
	for (const struct flag_spec *f = specs; f->name != NULL; f++) {
		if (f->required && !seen[f - specs] &&
		    !(f->kind == FLAG_STRING && *(const char **)f->dest != NULL)) {
			if (f->env)
				fprintf(stderr, "%s: missing required flag --%s (or env %s)\n", prog->name,
					f->name, f->env);
			else
				fprintf(stderr, "%s: missing required flag --%s\n", prog->name, f->name);
			return FLAGS_ERROR;
		}
	}
	if (next)
		*next = i;
	return FLAGS_CONTINUE;
}

int flags_split_list(const char *text, size_t max, char ***items, size_t *n)
{
	*items = NULL;
	*n = 0;
	if (text == NULL || text[0] == '\0')
		return PP_EINVAL;
	char **out = calloc(max ? max : 1, sizeof(*out));
	if (out == NULL)
		return PP_EINTERNAL;
	size_t k = 0;
	for (const char *s = text;;) {
		const char *comma = strchr(s, ',');
		size_t len = comma ? (size_t)(comma - s) : strlen(s);
		if (len == 0 || k == max) {
			flags_list_free(out, k);
			return PP_EINVAL;
		}
		out[k] = strndup(s, len);
		if (out[k++] == NULL) {
			flags_list_free(out, k - 1);
			return PP_EINTERNAL;
		}
		if (comma == NULL)
			break;
		s = comma + 1;
	}
	*items = out;
	*n = k;
	return PP_OK;
}

void flags_list_free(char **items, size_t n)
{
	for (size_t i = 0; items && i < n; i++)
		free(items[i]);
	free(items);
}
