/* Clocks. Wall time (unix ms) is for records and signatures; monotonic time
 * is for every timeout and interval, so clock steps never fire them.
 *
 * Every condition variable that is waited on with a timeout is created with
 * time_cond_init (CLOCK_MONOTONIC) and waited on with time_cond_wait_ms: the
 * pair is written once here, as nng and libuv do it. */
#ifndef PP_COMMON_TIMEUTIL_H
#define PP_COMMON_TIMEUTIL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

int64_t time_wall_ms(void);
int64_t time_mono_ms(void);
void time_sleep_ms(int64_t ms);
/* pthread_cond_init on the monotonic clock; returns its result. */
int time_cond_init(pthread_cond_t *cv);
/* pthread_cond_timedwait for at most ms (negative = 0) from now on the
 * monotonic clock; cv must come from time_cond_init. Returns its result. */
int time_cond_wait_ms(pthread_cond_t *cv, pthread_mutex_t *m, int64_t ms);
/* RFC 3339 UTC with milliseconds ("2026-11-28T21:46:52.123Z"); buf >= 32. */
void time_format_rfc3339(int64_t unix_ms, char *buf, size_t len);

#endif
