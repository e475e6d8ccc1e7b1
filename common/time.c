/*
 * time.c: clocks.  Deadlines use CLOCK_MONOTONIC (a wall clock step must
 * not end or extend a session); records use wall time in UTC.  And the
 * weekday sets the policy's Hours and the contract plugin's Days share.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
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

static const char *const day_names[7] = { "Sun", "Mon", "Tue", "Wed", "Thu",
	"Fri", "Sat" };

static int
day_parse(const char *s, size_t len)
{
	int i;

	if (len != 3)
		return -1;
	for (i = 0; i < 7; i++)
		if (strncasecmp(s, day_names[i], 3) == 0)
			return i;
	return -1;
}

/* "*", "Mon", "Mon-Fri", "Sat-Mon" (wraps), "Mon,Wed,Fri-Sun". */
int
pv_days_parse(const char *s, unsigned int *days)
{
	const char *item = s, *end, *dash;
	int a, b;

	*days = 0;
	if (strcmp(s, "*") == 0) {
		*days = 0x7f;
		return 0;
	}
	for (;;) {
		if ((end = strchr(item, ',')) == NULL)
			end = item + strlen(item);
		dash = memchr(item, '-', (size_t)(end - item));
		if (dash == NULL) {
			if ((a = day_parse(item, (size_t)(end - item))) < 0)
				return PV_ERR_INVALID;
			b = a;
		} else {
			if ((a = day_parse(item, (size_t)(dash - item))) < 0 ||
			    (b = day_parse(
				 dash + 1, (size_t)(end - dash - 1))) < 0)
				return PV_ERR_INVALID;
		}
		for (;;) {
			*days |= 1U << a;
			if (a == b)
				break;
			a = (a + 1) % 7;
		}
		if (*end == '\0')
			return 0;
		item = end + 1;
	}
}
