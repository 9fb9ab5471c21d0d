/* Key=value line logger; see log.h. */
#define _GNU_SOURCE
#include "log.h"
#include "timeutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define LOG_LINE_MAX 4096

static const char *log_component = "pp";
static enum log_level log_min_level = LOG_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_init(const char *component)
{
	log_component = component;
	const char *env = getenv("PP_LOG_LEVEL");
	if (env == NULL)
		return;
	for (int i = 0; i < 4; i++)
		if (strcasecmp(env, level_names[i]) == 0)
			log_min_level = (enum log_level)i;
}

void log_set_level(enum log_level level) { log_min_level = level; }
int log_enabled(enum log_level level) { return level >= log_min_level; }

void log_event(enum log_level level, const char *msg, const char *kv_fmt, ...)
{
	if (level < log_min_level)
		return;
	char line[LOG_LINE_MAX];
	char ts[32];
	time_format_rfc3339(time_wall_ms(), ts, sizeof(ts));
	int n = snprintf(line, sizeof(line), "%s %s %s %s", ts, level_names[level],
			 log_component, msg);
	if (kv_fmt != NULL && kv_fmt[0] != '\0' && n < (int)sizeof(line) - 2) {
		line[n++] = ' ';
		va_list ap;
		va_start(ap, kv_fmt);
		int m = vsnprintf(line + n, sizeof(line) - (size_t)n, kv_fmt, ap);
		va_end(ap);
		n = m < 0 ? n : n + m;
	}
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	ssize_t w = write(STDERR_FILENO, line, (size_t)n);
	(void)w;
}
