/*
 * hours.c: the Hours keyword: weekday sets and HH:MM-HH:MM ranges kept as
 * one bit per minute of the week, and the local time of an instant.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "policy/policy-int.h"

static int
two_digits(const char *s, int *out)
{
	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
		return PV_ERR_INVALID;
	*out = (s[0] - '0') * 10 + (s[1] - '0');
	return 0;
}

/* "HH:MM-HH:MM" in minutes of the day; end exclusive, "24:00" allowed. */
static int
range_parse(const char *s, int *start, int *end)
{
	int h1, m1, h2, m2;

	if (strlen(s) != 11 || s[2] != ':' || s[5] != '-' || s[8] != ':' ||
	    two_digits(s, &h1) != 0 || two_digits(s + 3, &m1) != 0 ||
	    two_digits(s + 6, &h2) != 0 || two_digits(s + 9, &m2) != 0)
		return PV_ERR_INVALID;
	if (h1 > 23 || m1 > 59 || h2 > 24 || m2 > 59 || (h2 == 24 && m2 != 0))
		return PV_ERR_INVALID;
	*start = h1 * 60 + m1;
	*end = h2 * 60 + m2;
	if (*start >= *end)
		return PV_ERR_INVALID;
	return 0;
}

int
policy_hours_parse(struct policy *p, struct policy_rule *rule,
    const struct pv_conf_line *l, char *err, size_t errlen)
{
	char text[PV_CONF_MAX_LINE], e[80];
	unsigned int days = 0x7f;
	int i = 0, d, m, start, end, n, r;
	size_t o = 0;
	char *t = NULL;

	if (l->args[0][0] < '0' || l->args[0][0] > '9') {
		if (pv_days_parse(l->args[0], &days) != 0) {
			(void)pv_log_escape(e, sizeof(e), l->args[0]);
			(void)snprintf(err, errlen,
			    "bad weekday \"%s\" (Sun Mon Tue Wed Thu Fri Sat, "
			    "ranges like Mon-Fri, lists like Mon,Wed or *)",
			    e);
			return PV_ERR_CONFIG;
		}
		i = 1;
	}
	if (i == l->nargs) {
		(void)snprintf(
		    err, errlen, "Hours needs at least one HH:MM-HH:MM range");
		return PV_ERR_CONFIG;
	}
	if (rule->hours == NULL &&
	    (rule->hours = calloc(POLICY_WEEK_MINUTES / 8, 1)) == NULL)
		return PV_ERR_ALLOC;
	for (; i < l->nargs; i++) {
		if (range_parse(l->args[i], &start, &end) != 0) {
			(void)pv_log_escape(e, sizeof(e), l->args[i]);
			(void)snprintf(err, errlen,
			    "bad time range \"%s\" (HH:MM-HH:MM, start before "
			    "end, up to 24:00; split a range that crosses "
			    "midnight in two)",
			    e);
			return PV_ERR_CONFIG;
		}
		for (d = 0; d < 7; d++) {
			if ((days & (1U << d)) == 0)
				continue;
			for (m = start; m < end; m++) {
				int bit = d * 1440 + m;

				rule->hours[bit / 8] |=
				    (uint8_t)(1U << (bit % 8));
			}
		}
	}
	/* Keep the text for explain: "Mon-Fri 07:00-19:00; Sat 09:00-12:00". */
	text[0] = '\0';
	if (rule->hours_text != NULL) {
		n = snprintf(text, sizeof(text), "%s; ", rule->hours_text);
		if (n < 0 || (size_t)n >= sizeof(text))
			return PV_ERR_LIMIT;
		o = (size_t)n;
	}
	for (i = 0; i < l->nargs; i++) {
		n = snprintf(text + o, sizeof(text) - o, "%s%s", i ? " " : "",
		    l->args[i]);
		if (n < 0 || (size_t)n >= sizeof(text) - o)
			break; /* a long text is cut; the bits are complete */
		o += (size_t)n;
	}
	if ((r = policy_intern(p, text, strlen(text), &t)) != 0)
		return r;
	rule->hours_text = t;
	return 0;
}

/* The local minute of the week (Sunday 00:00 = 0) for unix time t. */
int
policy_week_minute(const struct policy_zone *z, int64_t t, int64_t *local)
{
	int64_t l, days, wday, sod;

	if (t > INT64_MAX / 2 || t < INT64_MIN / 2)
		return -1;
	l = t + policy_zone_offset(z, t);
	days = l / 86400;
	sod = l % 86400;
	if (sod < 0) {
		sod += 86400;
		days--;
	}
	wday = (days + 4) % 7; /* 1970-01-01 was a Thursday */
	if (wday < 0)
		wday += 7;
	if (local != NULL)
		*local = l;
	return (int)(wday * 1440 + sod / 60);
}

static int
hours_bit(const uint8_t *hours, int minute)
{
	return (hours[minute / 8] >> (minute % 8)) & 1;
}

int
policy_hours_allow(const struct policy_rule *rule, int64_t t)
{
	int wm;

	if (rule->hours == NULL || rule->hours_always)
		return 1;
	if ((wm = policy_week_minute(rule->zone, t, NULL)) < 0)
		return 0;
	return hours_bit(rule->hours, wm);
}

/*
 * The end of the Hours window that holds t (which must be inside one):
 * unix seconds, or 0 when the window never closes.
 */
int64_t
policy_hours_end(const struct policy_rule *rule, int64_t t)
{
	int64_t local, lend, u;
	int wm, k;

	if (rule->hours == NULL || rule->hours_always)
		return 0;
	if ((wm = policy_week_minute(rule->zone, t, &local)) < 0)
		return t;
	for (k = 0; k < POLICY_WEEK_MINUTES;) {
		int m = (wm + k) % POLICY_WEEK_MINUTES;

		/* Whole bytes of open minutes at a time. */
		if (m % 8 == 0 && k + 8 <= POLICY_WEEK_MINUTES &&
		    rule->hours[m / 8] == 0xff) {
			k += 8;
			continue;
		}
		if (!hours_bit(rule->hours, m))
			break;
		k++;
	}
	if (k == POLICY_WEEK_MINUTES)
		return 0;
	lend = local - (((local % 60) + 60) % 60) + (int64_t)k * 60;
	/* Local to UTC: the offset at the end, found in two steps. */
	u = lend - policy_zone_offset(rule->zone, t);
	u = lend - policy_zone_offset(rule->zone, u);
	return u > t ? u : t;
}
