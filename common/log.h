/* One line per event on stderr, in logfmt:
 *
 *   ts=2026-12-01T05:26:41.567Z level=info component=tracker msg=file_committed name="a b" size=7
 *
 * `msg` is a short snake_case event name ("chunk_stored"); details go in
 * key=value pairs. A value that is not a number, an id or a fixed word (a
 * file name, an error text, an address from the network) goes through
 * log_q, the one quoting helper: it returns the value in double quotes
 * with `"`, `\` and control characters escaped, so no value can end a line
 * or a pair early. Each line is written with a single write(2) so lines
 * from threads never mix; a control character that reaches the line any
 * other way is escaped there too. */
#ifndef PP_COMMON_LOG_H
#define PP_COMMON_LOG_H

enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };

/* Sets the component name; the level comes from PP_LOG_LEVEL (debug, info,
 * warn, error; default info). */
void log_init(const char *component);
void log_set_level(enum log_level level);
int log_enabled(enum log_level level);

void log_event(enum log_level level, const char *msg, const char *kv_fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* s quoted and escaped for a logfmt value ("" for NULL). The result lives
 * in a per-thread ring of LOG_Q_SLOTS buffers: use it in the log call it
 * was made for (up to that many log_q values per call). Values longer than
 * LOG_Q_MAX bytes are cut, marked with a trailing `...`. */
#define LOG_Q_SLOTS 8
#define LOG_Q_MAX 1100
const char *log_q(const char *s);

#define log_debug(msg, ...) log_event(LOG_DEBUG, msg, __VA_ARGS__)
#define log_info(msg, ...) log_event(LOG_INFO, msg, __VA_ARGS__)
#define log_warn(msg, ...) log_event(LOG_WARN, msg, __VA_ARGS__)
#define log_error(msg, ...) log_event(LOG_ERROR, msg, __VA_ARGS__)

#endif
