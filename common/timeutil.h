/* Clocks. Wall time (unix ms) is for records and signatures; monotonic time
 * is for every timeout and interval, so clock steps never fire them. */
#ifndef PP_COMMON_TIMEUTIL_H
#define PP_COMMON_TIMEUTIL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

int64_t time_wall_ms(void);
int64_t time_mono_ms(void);
void time_sleep_ms(int64_t ms);
/* pthread_cond_timedwait for at most ms from now (the condvar uses the
 * default realtime clock); returns its result. */
int time_cond_wait_ms(pthread_cond_t *cv, pthread_mutex_t *m, int64_t ms);
/* RFC 3339 UTC with milliseconds ("2026-11-28T21:46:52.123Z"); buf >= 32. */
void time_format_rfc3339(int64_t unix_ms, char *buf, size_t len);

#endif
