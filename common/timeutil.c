/* Clock helpers; see timeutil.h. */
#define _POSIX_C_SOURCE 200809L
#include "timeutil.h"

#include <stdio.h>
#include <time.h>

static int64_t clock_ms(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t time_wall_ms(void) { return clock_ms(CLOCK_REALTIME); }
int64_t time_mono_ms(void) { return clock_ms(CLOCK_MONOTONIC); }

void time_sleep_ms(int64_t ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) != 0)
		;
}

int time_cond_init(pthread_cond_t *cv)
{
	pthread_condattr_t attr;
	int rv = pthread_condattr_init(&attr);
	if (rv != 0)
		return rv;
	rv = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (rv == 0)
		rv = pthread_cond_init(cv, &attr);
	pthread_condattr_destroy(&attr);
	return rv;
}

int time_cond_wait_ms(pthread_cond_t *cv, pthread_mutex_t *m, int64_t ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (ms < 0)
		ms = 0;
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return pthread_cond_timedwait(cv, m, &ts);
}

void time_format_rfc3339(int64_t unix_ms, char *buf, size_t len)
{
	time_t secs = (time_t)(unix_ms / 1000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	char base[24];
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03dZ", base, (int)(unix_ms % 1000));
}
