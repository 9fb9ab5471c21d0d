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

/* Room for every byte escaped as \xNN, the quotes and the cut mark. */
#define LOG_Q_BUF (LOG_Q_MAX * 4 + 8)

const char *log_q(const char *s)
{
	static _Thread_local char ring[LOG_Q_SLOTS][LOG_Q_BUF];
	static _Thread_local unsigned next;
	char *out = ring[next++ % LOG_Q_SLOTS];
	size_t n = 0;
	out[n++] = '"';
	size_t i = 0;
	for (; s != NULL && s[i] != '\0' && i < LOG_Q_MAX; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			out[n++] = '\\';
			out[n++] = (char)c;
		} else if (c == '\n') {
			out[n++] = '\\';
			out[n++] = 'n';
		} else if (c == '\r') {
			out[n++] = '\\';
			out[n++] = 'r';
		} else if (c == '\t') {
			out[n++] = '\\';
			out[n++] = 't';
		} else if (c < 0x20 || c == 0x7f) {
			n += (size_t)snprintf(out + n, LOG_Q_BUF - n, "\\x%02x", c);
		} else {
			out[n++] = (char)c;
		}
	}
	if (s != NULL && s[i] != '\0') {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n++] = '"';
	out[n] = '\0';
	return out;
}

/* A control character in the formatted pairs (a value that skipped log_q)
 * is replaced, so the event stays on its line. */
static void strip_controls(char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
			p[i] = '?';
}

void log_event(enum log_level level, const char *msg, const char *kv_fmt, ...)
{
	if (level < log_min_level)
		return;
	char line[LOG_LINE_MAX];
	char ts[32];
	time_format_rfc3339(time_wall_ms(), ts, sizeof(ts));
	int n = snprintf(line, sizeof(line), "ts=%s level=%s component=%s msg=%s", ts,
			 level_names[level], log_component, msg);
	if (kv_fmt != NULL && kv_fmt[0] != '\0' && n < (int)sizeof(line) - 2) {
		line[n++] = ' ';
		va_list ap;
		va_start(ap, kv_fmt);
		int m = vsnprintf(line + n, sizeof(line) - (size_t)n, kv_fmt, ap);
		va_end(ap);
		if (m > 0) {
			size_t got = (size_t)m < sizeof(line) - (size_t)n ? (size_t)m
									 : sizeof(line) - (size_t)n - 1;
			strip_controls(line + n, got);
			n += (int)got;
		}
	}
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	ssize_t w = write(STDERR_FILENO, line, (size_t)n);
	(void)w;
}
