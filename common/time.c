/*
 * time.c: clocks.  Deadlines use CLOCK_MONOTONIC (a wall clock step must
 * not end or extend a session); records use wall time in UTC.
 */
#include "config.h"

#include <stdio.h>
#include <time.h>

#include "common/common.h"

uint64_t
pv_mono_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int64_t
pv_wall_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
pv_time_format(int64_t unix_secs, char *buf, size_t buflen)
{
	struct tm tm;
	time_t t = (time_t)unix_secs;

	if (buflen == 0)
		return PV_ERR_LIMIT;
	buf[0] = '\0';
	if (gmtime_r(&t, &tm) == NULL)
		return PV_ERR_RANGE;
	if (strftime(buf, buflen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return PV_ERR_LIMIT;
	return 0;
}
