/*
 * calc.c: a month of incidents against an SLA: the clocks (24x7 or
 * business hours, maintenance windows excluded), means and p90, breaches
 * and what they earn, availability from outages, the service credit.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <fnmatch.h>
#include <jansson.h>

#include "plugins/sla/sla.h"

#define DAYS_MAX 800 /* a clock looks at most this many days ahead */

/* Seconds of [a, b) inside a maintenance window. */
static int64_t
maint(const struct sla *s, int64_t a, int64_t b)
{
	int64_t t = 0;
	size_t lo = 0, hi = s->nwin, i;

	/* the first window ending after a */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (s->win[mid].end <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (i = lo; i < s->nwin && s->win[i].start < b; i++) {
		int64_t x = s->win[i].start > a ? s->win[i].start : a;
		int64_t y = s->win[i].end < b ? s->win[i].end : b;

		if (y > x)
			t += y - x;
	}
	return t;
}

static int64_t
span(const struct sla *s, int64_t a, int64_t b)
{
	return b > a ? (b - a) - maint(s, a, b) : 0;
}

/* TZ switched to the SLA's zone for a business-hours walk. */
struct tzsave {
	char old[256];
	int had;
};

static void
tz_enter(const char *zone, struct tzsave *sv)
{
	const char *o = getenv("TZ");
	char tz[128];

	sv->had = o != NULL;
	if (sv->had)
		(void)snprintf(sv->old, sizeof(sv->old), "%s", o);
	(void)snprintf(
	    tz, sizeof(tz), "%s%s", strcmp(zone, "UTC") == 0 ? "" : ":", zone);
	(void)setenv("TZ", tz, 1);
	tzset();
}

static void
tz_leave(struct tzsave *sv)
{
	if (sv->had)
		(void)setenv("TZ", sv->old, 1);
	else
		(void)unsetenv("TZ");
	tzset();
}

int64_t
sla_clock(const struct sla *s, enum sla_clock c, int64_t t0, int64_t t1)
{
	struct tzsave sv;
	struct tm day;
	time_t tt = (time_t)t0;
	int64_t total = 0;
	int i;

	if (t1 <= t0)
		return 0;
	if (c == SLA_CLOCK_24X7 || s->days == 0)
		return span(s, t0, t1);
	tz_enter(s->zone, &sv);
	if (localtime_r(&tt, &day) == NULL) {
		tz_leave(&sv);
		return -1;
	}
	day.tm_hour = day.tm_min = day.tm_sec = 0;
	for (i = 0; i < DAYS_MAX; i++, day.tm_mday++) {
		struct tm a = day, b = day;
		time_t ta, tb;
		int64_t x, y;

		a.tm_min = s->from;
		a.tm_isdst = -1;
		b.tm_min = s->to;
		b.tm_isdst = -1;
		if ((ta = mktime(&a)) == (time_t)-1 ||
		    (tb = mktime(&b)) == (time_t)-1) {
			total = -1;
			break;
		}
		if ((int64_t)ta >= t1)
			break;
		/* a's weekday: the day itself (minutes never pass 24:00) */
		if ((s->days & (1U << a.tm_wday)) == 0)
			continue;
		x = (int64_t)ta > t0 ? (int64_t)ta : t0;
		y = (int64_t)tb < t1 ? (int64_t)tb : t1;
		total += span(s, x, y);
	}
	tz_leave(&sv);
	return total;
}

static int
cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static void
stats(int64_t *v, size_t n, struct sla_stats *out)
{
	int64_t sum = 0;
	size_t i, rank;

	out->n = n;
	if (n == 0 || v == NULL)
		return;
	for (i = 0; i < n; i++)
		sum += v[i];
	out->mean = (sum + (int64_t)n / 2) / (int64_t)n;
	qsort(v, n, sizeof(*v), cmp64);
	/* nearest rank: the ceil(0.9 n)-th smallest */
	rank = (9 * n + 9) / 10;
	out->p90 = v[rank - 1];
}

static int
in_scope(const struct sla *s, const char *target)
{
	size_t i;

	if (s->ntargets == 0)
		return 1;
	for (i = 0; i < s->ntargets; i++)
		if (fnmatch(s->targets[i], target, 0) == 0)
			return 1;
	return 0;
}

static int __attribute__((format(printf, 3, 4)))
cfail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static int
add_breach(struct sla_result *r, const char *id, size_t prio, enum sla_metric m,
    int64_t measured, int open)
{
	const struct sla *s = r->sla;
	struct sla_breach *nb, *b;
	int64_t over = measured - s->prio[prio].target[m];

	if ((nb = reallocarray(r->b, r->nb + 1, sizeof(*nb))) == NULL)
		return -1;
	r->b = nb;
	b = &nb[r->nb++];
	*b = (struct sla_breach){
		.prio = prio,
		.metric = m,
		.measured = measured,
		.open = open,
		.credit_mpct =
		    over > s->threshold ? s->prio[prio].credit_mpct : 0,
	};
	(void)snprintf(b->id, sizeof(b->id), "%s", id);
	r->p[prio].breaches++;
	return 0;
}

/* Availability of the targets in scope over the month, outages merged. */
static int
availability(struct sla_result *r, json_t *targets, json_t *outages)
{
	const struct sla *s = r->sla;
	size_t i, j;
	json_t *t, *o;

	r->period = span(s, r->from, r->until);
	r->avail_mpct = 100000;
	json_array_foreach(targets, i, t)
	{
		const char *name =
		    json_string_value(json_object_get(t, "name"));
		int64_t *iv = NULL, down = 0, end = 0;
		size_t n = 0, k;

		if (name == NULL || !in_scope(s, name))
			continue;
		r->ntargets++;
		/* this target's outages clipped to the month, then merged */
		json_array_foreach(outages, j, o)
		{
			const char *on =
			    json_string_value(json_object_get(o, "target"));
			int64_t a =
			    json_integer_value(json_object_get(o, "start"));
			int64_t b =
			    json_integer_value(json_object_get(o, "end"));
			int64_t *nv;

			if (on == NULL || strcmp(on, name) != 0)
				continue;
			a = a > r->from ? a : r->from;
			b = b < r->until ? b : r->until;
			if (b <= a)
				continue;
			if ((nv = reallocarray(iv, 2 * (n + 1), sizeof(*nv))) ==
			    NULL) {
				free(iv);
				return -1;
			}
			iv = nv;
			iv[2 * n] = a;
			iv[2 * n + 1] = b;
			n++;
		}
		if (n > 1)
			qsort(iv, n, 2 * sizeof(*iv), cmp64);
		for (k = 0; k < n; k++) {
			int64_t a = iv[2 * k] > end ? iv[2 * k] : end;

			if (iv[2 * k + 1] > a)
				down += span(s, a, iv[2 * k + 1]);
			if (iv[2 * k + 1] > end)
				end = iv[2 * k + 1];
		}
		free(iv);
		r->outage += down;
	}
	if (r->ntargets > 0 && r->period > 0) {
		int64_t all = (int64_t)r->ntargets * r->period;

		/* floor of 100000 * up / all: never rounded up to the target */
		r->avail_mpct = (uint32_t)(((all - r->outage) * 100000) / all);
	}
	for (i = 0; i < s->nbands; i++)
		if (r->avail_mpct < s->band[i].below_mpct &&
		    s->band[i].credit_mpct > r->avail_credit_mpct)
			r->avail_credit_mpct = s->band[i].credit_mpct;
	return 0;
}

static int
one(struct sla_result *r, json_t *inc, int64_t **vals, char *err, size_t errlen)
{
	const struct sla *s = r->sla;
	const char *id = json_string_value(json_object_get(inc, "id"));
	const char *pn = json_string_value(json_object_get(inc, "priority"));
	int64_t opened = json_integer_value(json_object_get(inc, "opened"));
	json_t *ack = json_object_get(inc, "acknowledged");
	json_t *res = json_object_get(inc, "resolved");
	json_t *eng = json_object_get(inc, "engaged");
	struct sla_prio_result *pr;
	size_t p;
	int m;

	if (id == NULL || pn == NULL || opened <= 0)
		return cfail(err, errlen,
		    "an incident without id, priority "
		    "or opened time");
	r->incidents++;
	for (p = 0; p < s->nprio; p++)
		if (strcmp(s->prio[p].name, pn) == 0)
			break;
	if (p == s->nprio) {
		r->unknown_priority++;
		return 0;
	}
	pr = &r->p[p];
	pr->incidents++;
	if (res != NULL)
		pr->resolved++;
	else
		pr->open++;
	for (m = 0; m < SLA_NMETRICS; m++) {
		json_t *endj = m == SLA_MTTA ? (ack != NULL ? ack : res)
		    : m == SLA_MTTR          ? res
					     : eng;
		int64_t end = endj != NULL ? json_integer_value(endj) : 0;
		int64_t v, target = s->prio[p].target[m];
		int open = endj == NULL;

		if (open) {
			/* a session is not owed: no engage breach without one */
			pr->m[m].pending++;
			if (m == SLA_ENGAGE || target == 0)
				continue;
			end = r->until;
		}
		if (end < opened)
			end = opened;
		if ((v = sla_clock(s, s->prio[p].clock, opened, end)) < 0)
			return cfail(err, errlen,
			    "time zone %s: cannot be read", s->zone);
		if (!open && vals[p * SLA_NMETRICS + (size_t)m] != NULL)
			vals[p * SLA_NMETRICS + (size_t)m][pr->m[m].n++] = v;
		if (target != 0 && v > target &&
		    add_breach(r, id, p, (enum sla_metric)m, v, open) != 0)
			return cfail(err, errlen, "out of memory");
	}
	return 0;
}

int
sla_compute(const struct sla *s, const char *month, int64_t now,
    const char *incidents_json, const char *targets_json,
    const char *outages_json, struct sla_result *out, char *err, size_t errlen)
{
	json_t *inc = NULL, *tg = NULL, *ou = NULL, *it;
	int64_t *vals[SLA_PRIORITIES_MAX * SLA_NMETRICS] = { NULL };
	uint64_t bsum = 0;
	size_t i, k, n;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	out->sla = s;
	if (sla_month(s, month, &out->from, &out->to) != 0)
		return cfail(
		    err, errlen, "month: YYYY-MM please (not %.20s)", month);
	(void)snprintf(out->month, sizeof(out->month), "%s", month);
	out->until = now < out->to ? now : out->to;
	if (out->until < out->from)
		return cfail(err, errlen, "month %s has not begun", month);
	if ((inc = json_loads(incidents_json, 0, NULL)) == NULL ||
	    !json_is_array(inc) ||
	    (tg = json_loads(targets_json ? targets_json : "[]", 0, NULL)) ==
		NULL ||
	    !json_is_array(tg) ||
	    (ou = json_loads(outages_json ? outages_json : "[]", 0, NULL)) ==
		NULL ||
	    !json_is_array(ou)) {
		(void)cfail(
		    err, errlen, "the store's answer is not a JSON array");
		goto out;
	}
	n = json_array_size(inc);
	for (i = 0; i < s->nprio * SLA_NMETRICS; i++)
		if ((vals[i] = calloc(n + 1, sizeof(int64_t))) == NULL) {
			(void)cfail(err, errlen, "out of memory");
			goto out;
		}
	json_array_foreach(inc, i, it)
	{
		if (one(out, it, vals, err, errlen) != 0)
			goto out;
	}
	for (i = 0; i < s->nprio; i++)
		for (k = 0; k < SLA_NMETRICS; k++)
			stats(vals[i * SLA_NMETRICS + k], out->p[i].m[k].n,
			    &out->p[i].m[k]);
	if (availability(out, tg, ou) != 0) {
		(void)cfail(err, errlen, "out of memory");
		goto out;
	}
	for (i = 0; i < out->nb; i++)
		bsum += out->b[i].credit_mpct;
	out->breach_credit_mpct = bsum > 100000 ? 100000 : (uint32_t)bsum;
	bsum += out->avail_credit_mpct;
	out->credit_mpct = bsum > s->cap_mpct ? s->cap_mpct : (uint32_t)bsum;
	/* cents, rounded down: fee * credit / 100 % */
	out->credit_cents = s->fee_cents * out->credit_mpct / 100000;
	rc = 0;
out:
	for (i = 0; i < SLA_PRIORITIES_MAX * SLA_NMETRICS; i++)
		free(vals[i]);
	json_decref(inc);
	json_decref(tg);
	json_decref(ou);
	if (rc != 0)
		sla_result_clear(out);
	return rc;
}

void
sla_result_clear(struct sla_result *r)
{
	free(r->b);
	r->b = NULL;
	r->nb = 0;
}
