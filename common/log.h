/* One line per event on stderr: `ts level component msg key=value ...`.
 *
 * `msg` is a short snake_case event name ("chunk_stored"); details go in
 * key=value pairs, values with spaces quoted by the caller (err="%s"). Each
 * line is written with a single write(2) so lines from threads never mix. */
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

#define log_debug(msg, ...) log_event(LOG_DEBUG, msg, __VA_ARGS__)
#define log_info(msg, ...) log_event(LOG_INFO, msg, __VA_ARGS__)
#define log_warn(msg, ...) log_event(LOG_WARN, msg, __VA_ARGS__)
#define log_error(msg, ...) log_event(LOG_ERROR, msg, __VA_ARGS__)

#endif
