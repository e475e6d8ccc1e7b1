/*
 * duration.c: "90s", "2m", "4h", "1d", "1w" and sums like "1h30m", as in
 * sshd_config's time format, parsed strictly and bounded.
 */
#include "config.h"

#include <stdio.h>

#include "common/common.h"

static uint64_t
unit_seconds(char c)
{
	switch (c) {
	case 's':
	case 'S':
		return 1;
	case 'm':
	case 'M':
		return 60;
	case 'h':
	case 'H':
		return 3600;
	case 'd':
	case 'D':
		return 86400;
	case 'w':
	case 'W':
		return 7 * 86400;
	default:
		return 0;
	}
}

int
pv_duration_parse(const char *s, uint64_t *secs)
{
	uint64_t total = 0, v, mult;
	int have_digits;

	if (s == NULL || *s == '\0')
		return PV_ERR_INVALID;
	while (*s != '\0') {
		v = 0;
		have_digits = 0;
		for (; *s >= '0' && *s <= '9'; s++) {
			have_digits = 1;
			v = v * 10 + (uint64_t)(*s - '0');
			if (v > PV_DURATION_MAX)
				return PV_ERR_RANGE;
		}
		if (!have_digits)
			return PV_ERR_INVALID;
		if (*s == '\0')
			mult = 1; /* a bare number is seconds */
		else if ((mult = unit_seconds(*s++)) == 0)
			return PV_ERR_INVALID;
		if (v > (PV_DURATION_MAX - total) / mult)
			return PV_ERR_RANGE;
		total += v * mult;
	}
	*secs = total;
	return 0;
}

int
pv_duration_format(uint64_t secs, char *buf, size_t buflen)
{
	static const struct {
		char unit;
		uint64_t secs;
	} units[] = {
		{ 'w', 7 * 86400 },
		{ 'd', 86400 },
		{ 'h', 3600 },
		{ 'm', 60 },
		{ 's', 1 },
	};
	size_t i, o = 0;
	int n;

	if (buflen == 0)
		return PV_ERR_LIMIT;
	buf[0] = '\0';
	if (secs == 0) {
		n = snprintf(buf, buflen, "0s");
		return n < 0 || (size_t)n >= buflen ? PV_ERR_LIMIT : 0;
	}
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (secs < units[i].secs)
			continue;
		n = snprintf(buf + o, buflen - o, "%llu%c",
		    (unsigned long long)(secs / units[i].secs), units[i].unit);
		if (n < 0 || (size_t)n >= buflen - o)
			return PV_ERR_LIMIT;
		o += (size_t)n;
		secs %= units[i].secs;
	}
	return 0;
}
