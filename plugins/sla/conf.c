/*
 * conf.c: provost-sla(5) files.  Strict: an unknown keyword, a keyword
 * outside an Sla block, a repeated one-off keyword, a bad duration,
 * percentage, time or zone, a second SLA for one provider: each is one
 * line NAME:LINE: what, and nothing is loaded.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/common.h"
#include "plugins/sla/sla.h"

#define LINE_MAX_LEN 1024
#define WORDS_MAX 64
#define SLAS_MAX 1000
#define ZONEINFO "/usr/share/zoneinfo/"

/* A window as written, converted when the block's zone is known. */
struct rawwin {
	char a[32], b[32];
	unsigned int line;
};

struct pstate {
	const char *name;
	char *err;
	size_t errlen;
	struct sla_file *f;
	struct sla *cur;
	struct rawwin *raw;
	size_t nraw;
	/* the lines of one-off keywords in the current block */
	unsigned int provider_line, zone_line, hours_line, avail_line, thr_line,
	    cap_line, fee_line;
};

static int __attribute__((format(printf, 3, 4)))
fail(struct pstate *p, unsigned int line, const char *fmt, ...)
{
	char msg[SLA_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	(void)snprintf(p->err, p->errlen, "%s:%u: %s", p->name, line, msg);
	return -1;
}

static int
name_valid(const char *s)
{
	const char *q;

	if (s[0] == '\0' || strlen(s) > 64)
		return 0;
	for (q = s; *q != '\0'; q++)
		if (!isalnum((unsigned char)*q) && *q != '.' && *q != '_' &&
		    *q != '-')
			return 0;
	return 1;
}

/* "UTC" or a name of the zoneinfo tree that exists. */
static int
zone_valid(const char *z)
{
	char path[128];
	struct stat sb;
	const char *q;

	if (strcmp(z, "UTC") == 0)
		return 1;
	if (z[0] == '\0' || z[0] == '/' || strlen(z) > 64 ||
	    strstr(z, "..") != NULL || strstr(z, "//") != NULL)
		return 0;
	for (q = z; *q != '\0'; q++)
		if (!isalnum((unsigned char)*q) && *q != '_' && *q != '+' &&
		    *q != '-' && *q != '/')
			return 0;
	if (snprintf(path, sizeof(path), ZONEINFO "%s", z) < 0 ||
	    stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
		return 0;
	return 1;
}

/* "99.95%" -> 99950 (1/1000 %), at most 100%. */
static int
pct_parse(const char *s, uint32_t *out)
{
	uint32_t v = 0, frac = 0;
	int nd = 0, nf = -1;
	const char *q;

	for (q = s; *q != '%'; q++) {
		if (*q == '.' && nf < 0 && nd > 0) {
			nf = 0;
			continue;
		}
		if (!isdigit((unsigned char)*q))
			return -1;
		if (nf >= 0) {
			if (++nf > 3)
				return -1;
			frac = frac * 10 + (uint32_t)(*q - '0');
		} else {
			if (++nd > 3)
				return -1;
			v = v * 10 + (uint32_t)(*q - '0');
		}
	}
	if (nd == 0 || nf == 0 || q[1] != '\0')
		return -1;
	for (nf = nf < 0 ? 0 : nf; nf < 3; nf++)
		frac *= 10; /* thousandths */
	v = v * 1000 + frac;
	if (v > 100000)
		return -1;
	*out = v;
	return 0;
}

static int
dur_parse(const char *s, int64_t *out)
{
	uint64_t v;

	if (pv_duration_parse(s, &v) != 0 || v == 0)
		return -1;
	*out = (int64_t)v;
	return 0;
}

static int
hhmm(const char *s, int *min)
{
	if (strlen(s) != 5 || !isdigit((unsigned char)s[0]) ||
	    !isdigit((unsigned char)s[1]) || s[2] != ':' ||
	    !isdigit((unsigned char)s[3]) || !isdigit((unsigned char)s[4]) ||
	    s[3] > '5')
		return -1;
	*min = ((s[0] - '0') * 10 + (s[1] - '0')) * 60 + (s[3] - '0') * 10 +
	    (s[4] - '0');
	return *min <= 24 * 60 ? 0 : -1;
}

static int
hours_parse(const char *s, int *from, int *to)
{
	char a[6], b[6];
	const char *dash = strchr(s, '-');

	if (dash == NULL || dash - s != 5 || strlen(dash + 1) != 5)
		return -1;
	memcpy(a, s, 5);
	a[5] = '\0';
	memcpy(b, dash + 1, 5);
	b[5] = '\0';
	if (hhmm(a, from) != 0 || hhmm(b, to) != 0 || *from >= *to)
		return -1;
	return 0;
}

static int
num(const char *s, int n, int *out)
{
	int i, v = 0;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* The zone's local time as unix seconds (TZ switched and restored). */
static int
local_time(const char *zone, struct tm *tm, int64_t *out)
{
	char saved[256], tz[128];
	const char *old = getenv("TZ");
	int had = old != NULL;
	time_t t;

	if (had)
		(void)snprintf(saved, sizeof(saved), "%s", old);
	(void)snprintf(
	    tz, sizeof(tz), "%s%s", strcmp(zone, "UTC") == 0 ? "" : ":", zone);
	(void)setenv("TZ", tz, 1);
	tzset();
	tm->tm_isdst = -1;
	t = mktime(tm);
	if (had)
		(void)setenv("TZ", saved, 1);
	else
		(void)unsetenv("TZ");
	tzset();
	if (t == (time_t)-1)
		return -1;
	*out = (int64_t)t;
	return 0;
}

/* YYYY-MM-DDTHH:MM[:SS][Z]: without Z in the zone. */
int
sla_time_parse(const char *zone, const char *s, int64_t *out)
{
	static const int mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
		30, 31 };
	struct tm tm = { 0 };
	int y, mo, d, h, mi, se = 0, utc = 0;
	size_t n = strlen(s), k = 16;

	if (n < 16 || n > 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
	    s[13] != ':' || num(s, 4, &y) != 0 || num(s + 5, 2, &mo) != 0 ||
	    num(s + 8, 2, &d) != 0 || num(s + 11, 2, &h) != 0 ||
	    num(s + 14, 2, &mi) != 0)
		return -1;
	if (s[k] == ':') {
		if (num(s + k + 1, 2, &se) != 0 || se > 59)
			return -1;
		k += 3;
	}
	if (s[k] == 'Z') {
		utc = 1;
		k++;
	}
	if (s[k] != '\0' || y < 2000 || y > 2199 || mo < 1 || mo > 12 ||
	    d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59)
		return -1;
	if (mo == 2 && d == 29 &&
	    !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	return local_time(utc ? "UTC" : zone, &tm, out);
}

int
sla_month(const struct sla *s, const char *month, int64_t *from, int64_t *to)
{
	struct tm a = { 0 }, b = { 0 };
	int y, m;

	if (strlen(month) != 7 || month[4] != '-' || num(month, 4, &y) != 0 ||
	    num(month + 5, 2, &m) != 0 || y < 2000 || y > 2199 || m < 1 ||
	    m > 12)
		return -1;
	a.tm_year = y - 1900;
	a.tm_mon = m - 1;
	a.tm_mday = 1;
	b = a;
	b.tm_mon++;
	return local_time(s->zone, &a, from) == 0 &&
		local_time(s->zone, &b, to) == 0
	    ? 0
	    : -1;
}

static int
win_cmp(const void *a, const void *b)
{
	const struct sla_window *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* The block is complete: required keywords, windows converted. */
static int
block_end(struct pstate *p)
{
	struct sla *s = p->cur;
	size_t i, j, k;

	if (s == NULL)
		return 0;
	if (s->provider == NULL)
		return fail(p, s->line, "sla %s: Provider is missing", s->id);
	if (s->nprio == 0)
		return fail(p, s->line, "sla %s: no Priority line", s->id);
	for (i = 0; i < s->nprio; i++)
		if (s->prio[i].clock == SLA_CLOCK_BUSINESS && s->days == 0)
			return fail(p, s->prio[i].line,
			    "Clock business needs a BusinessHours line");
	if (s->zone == NULL && (s->zone = strdup("UTC")) == NULL)
		return fail(p, s->line, "out of memory");
	if (p->nraw > 0 && (s->win = calloc(p->nraw, sizeof(*s->win))) == NULL)
		return fail(p, s->line, "out of memory");
	for (i = 0; i < p->nraw; i++) {
		struct sla_window w;

		if (sla_time_parse(s->zone, p->raw[i].a, &w.start) != 0 ||
		    sla_time_parse(s->zone, p->raw[i].b, &w.end) != 0)
			return fail(p, p->raw[i].line,
			    "Maintenance: a time YYYY-MM-DDTHH:MM[:SS][Z] is "
			    "needed");
		if (w.end <= w.start)
			return fail(p, p->raw[i].line,
			    "Maintenance: the end is not after the start");
		s->win[i] = w;
	}
	if (p->nraw > 1)
		qsort(s->win, p->nraw, sizeof(*s->win), win_cmp);
	/* merged, so that no second is excluded twice */
	for (i = 0, k = 0; i < p->nraw; i = j) {
		struct sla_window w = s->win[i];

		for (j = i + 1; j < p->nraw && s->win[j].start <= w.end; j++)
			if (s->win[j].end > w.end)
				w.end = s->win[j].end;
		s->win[k++] = w;
	}
	s->nwin = k;
	p->nraw = 0;
	p->cur = NULL;
	return 0;
}

#define ONCE(l)                                                              \
	do {                                                                 \
		if ((l) != 0)                                                \
			return fail(                                         \
			    p, line, "%s given twice (line %u)", w[0], (l)); \
		(l) = line;                                                  \
	} while (0)

static int
priority_line(struct pstate *p, unsigned int line, char **w, size_t n)
{
	struct sla *s = p->cur;
	struct sla_priority *pr;
	size_t i;

	if (n < 2 || !name_valid(w[1]) || strlen(w[1]) > 16)
		return fail(p, line,
		    "Priority NAME (1-16 letters, digits, . _ -) KEY VALUE "
		    "...");
	for (i = 0; i < s->nprio; i++)
		if (strcmp(s->prio[i].name, w[1]) == 0)
			return fail(p, line,
			    "priority %s given twice (line %u)", w[1],
			    s->prio[i].line);
	if (s->nprio == SLA_PRIORITIES_MAX)
		return fail(
		    p, line, "more than %d priorities", SLA_PRIORITIES_MAX);
	if (n % 2 != 0)
		return fail(p, line,
		    "Priority %s: KEY VALUE pairs after "
		    "the name",
		    w[1]);
	pr = &s->prio[s->nprio];
	*pr = (struct sla_priority){ .line = line };
	for (i = 2; i < n; i += 2) {
		int m = -1;

		if (strcasecmp(w[i], "Acknowledge") == 0)
			m = SLA_MTTA;
		else if (strcasecmp(w[i], "Resolve") == 0)
			m = SLA_MTTR;
		else if (strcasecmp(w[i], "Engage") == 0)
			m = SLA_ENGAGE;
		if (m >= 0) {
			if (pr->target[m] != 0)
				return fail(p, line, "%s given twice", w[i]);
			if (dur_parse(w[i + 1], &pr->target[m]) != 0)
				return fail(p, line,
				    "%s: a duration (15m, 4h, 1d) is needed",
				    w[i]);
		} else if (strcasecmp(w[i], "Clock") == 0) {
			if (strcasecmp(w[i + 1], "24x7") == 0)
				pr->clock = SLA_CLOCK_24X7;
			else if (strcasecmp(w[i + 1], "business") == 0)
				pr->clock = SLA_CLOCK_BUSINESS;
			else
				return fail(p, line, "Clock: 24x7 or business");
		} else if (strcasecmp(w[i], "Credit") == 0) {
			if (pct_parse(w[i + 1], &pr->credit_mpct) != 0)
				return fail(p, line,
				    "Credit: a percentage (5%%, 2.5%%)");
		} else
			return fail(p, line,
			    "Priority %s: unknown key %s (Acknowledge, "
			    "Resolve, Engage, Clock, Credit)",
			    w[1], w[i]);
	}
	if ((pr->name = strdup(w[1])) == NULL)
		return fail(p, line, "out of memory");
	s->nprio++;
	return 0;
}

static int
fee_parse(const char *s, uint64_t *cents)
{
	uint64_t v = 0;
	int nf = -1, nd = 0;

	for (; *s != '\0'; s++) {
		if (*s == '.' && nf < 0 && nd > 0) {
			nf = 0;
			continue;
		}
		if (!isdigit((unsigned char)*s) || nd > 12 || nf >= 2)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
		if (nf >= 0)
			nf++;
		else
			nd++;
	}
	if (nd == 0 || nf == 0)
		return -1;
	for (nf = nf < 0 ? 0 : nf; nf < 2; nf++)
		v *= 10; /* cents */
	*cents = v;
	return 0;
}

static int
keyword(struct pstate *p, unsigned int line, char **w, size_t n)
{
	struct sla *s = p->cur;
	size_t i;

	if (strcasecmp(w[0], "Sla") == 0) {
		struct sla *nv;

		if (block_end(p) != 0)
			return -1;
		if (n != 2 || !name_valid(w[1]))
			return fail(p, line,
			    "Sla ID (letters, digits, . _ -) is needed");
		if (p->f->n == SLAS_MAX)
			return fail(p, line, "more than %d SLAs", SLAS_MAX);
		if ((nv = reallocarray(p->f->v, p->f->n + 1, sizeof(*nv))) ==
		    NULL)
			return fail(p, line, "out of memory");
		p->f->v = nv;
		s = p->cur = &nv[p->f->n++];
		*s = (struct sla){ .line = line, .cap_mpct = 100000 };
		p->provider_line = p->zone_line = p->hours_line = 0;
		p->avail_line = p->thr_line = p->cap_line = p->fee_line = 0;
		if ((s->id = strdup(w[1])) == NULL)
			return fail(p, line, "out of memory");
		return 0;
	}
	if (s == NULL)
		return fail(p, line, "%s outside an Sla block", w[0]);
	if (strcasecmp(w[0], "Provider") == 0) {
		ONCE(p->provider_line);
		if (n != 2 || !name_valid(w[1]))
			return fail(p, line, "Provider NAME");
		for (i = 0; i + 1 < p->f->n; i++)
			if (strcmp(p->f->v[i].provider, w[1]) == 0)
				return fail(p, line,
				    "provider %s has an SLA already (sla %s, "
				    "line %u)",
				    w[1], p->f->v[i].id, p->f->v[i].line);
		return (s->provider = strdup(w[1])) == NULL
		    ? fail(p, line, "out of memory")
		    : 0;
	}
	if (strcasecmp(w[0], "TimeZone") == 0) {
		ONCE(p->zone_line);
		if (n != 2 || !zone_valid(w[1]))
			return fail(
			    p, line, "TimeZone: UTC or a zone of " ZONEINFO);
		return (s->zone = strdup(w[1])) == NULL
		    ? fail(p, line, "out of memory")
		    : 0;
	}
	if (strcasecmp(w[0], "BusinessHours") == 0) {
		ONCE(p->hours_line);
		if (n != 3 || pv_days_parse(w[1], &s->days) != 0 ||
		    s->days == 0 || hours_parse(w[2], &s->from, &s->to) != 0)
			return fail(p, line,
			    "BusinessHours DAYS HH:MM-HH:MM (Mon-Fri "
			    "08:00-18:00)");
		return 0;
	}
	if (strcasecmp(w[0], "Priority") == 0)
		return priority_line(p, line, w, n);
	if (strcasecmp(w[0], "Maintenance") == 0) {
		struct rawwin *nr;

		if (n != 3 || strlen(w[1]) >= sizeof(nr->a) ||
		    strlen(w[2]) >= sizeof(nr->b))
			return fail(p, line, "Maintenance START END");
		if (p->nraw == SLA_WINDOWS_MAX)
			return fail(
			    p, line, "more than %d windows", SLA_WINDOWS_MAX);
		if ((nr = reallocarray(p->raw, p->nraw + 1, sizeof(*nr))) ==
		    NULL)
			return fail(p, line, "out of memory");
		p->raw = nr;
		nr = &nr[p->nraw++];
		(void)snprintf(nr->a, sizeof(nr->a), "%s", w[1]);
		(void)snprintf(nr->b, sizeof(nr->b), "%s", w[2]);
		nr->line = line;
		return 0;
	}
	if (strcasecmp(w[0], "Availability") == 0) {
		ONCE(p->avail_line);
		if (n != 2 || pct_parse(w[1], &s->avail_mpct) != 0 ||
		    s->avail_mpct == 0)
			return fail(p, line, "Availability PERCENT (99.9%%)");
		return 0;
	}
	if (strcasecmp(w[0], "Targets") == 0) {
		if (n < 2)
			return fail(p, line, "Targets PATTERN ...");
		for (i = 1; i < n; i++) {
			if (s->ntargets == SLA_PATTERNS_MAX)
				return fail(p, line, "more than %d patterns",
				    SLA_PATTERNS_MAX);
			if ((s->targets[s->ntargets] = strdup(w[i])) == NULL)
				return fail(p, line, "out of memory");
			s->ntargets++;
		}
		return 0;
	}
	if (strcasecmp(w[0], "Credit") == 0) {
		struct sla_band *b;

		if (n != 4 || strcasecmp(w[1], "availability") != 0)
			return fail(p, line,
			    "Credit availability BELOW%% CREDIT%% (a breach's "
			    "credit is the Priority's Credit)");
		if (s->nbands == SLA_BANDS_MAX)
			return fail(
			    p, line, "more than %d bands", SLA_BANDS_MAX);
		b = &s->band[s->nbands];
		if (pct_parse(w[2], &b->below_mpct) != 0 ||
		    pct_parse(w[3], &b->credit_mpct) != 0)
			return fail(
			    p, line, "Credit availability: two percentages");
		s->nbands++;
		return 0;
	}
	if (strcasecmp(w[0], "CreditThreshold") == 0) {
		ONCE(p->thr_line);
		if (n != 2 || dur_parse(w[1], &s->threshold) != 0)
			return fail(p, line, "CreditThreshold DURATION");
		return 0;
	}
	if (strcasecmp(w[0], "CreditCap") == 0) {
		ONCE(p->cap_line);
		if (n != 2 || pct_parse(w[1], &s->cap_mpct) != 0)
			return fail(p, line, "CreditCap PERCENT");
		return 0;
	}
	if (strcasecmp(w[0], "MonthlyFee") == 0) {
		ONCE(p->fee_line);
		if (n < 2 || n > 3 || fee_parse(w[1], &s->fee_cents) != 0 ||
		    s->fee_cents == 0 ||
		    (n == 3 &&
			(strlen(w[2]) != 3 ||
			    !isupper((unsigned char)w[2][0]) ||
			    !isupper((unsigned char)w[2][1]) ||
			    !isupper((unsigned char)w[2][2]))))
			return fail(p, line,
			    "MonthlyFee AMOUNT [CUR] (20000 EUR, 1234.50)");
		(void)snprintf(
		    s->currency, sizeof(s->currency), "%s", n == 3 ? w[2] : "");
		return 0;
	}
	return fail(p, line, "unknown keyword %s", w[0]);
}

int
sla_parse(const char *name, const char *text, size_t len, struct sla_file **out,
    char *err, size_t errlen)
{
	struct pstate p = { .name = name, .err = err, .errlen = errlen };
	char buf[LINE_MAX_LEN + 1], *w[WORDS_MAX], *save, *t;
	size_t off = 0, l, n;
	unsigned int line = 0;
	const char *nl;
	int r = -1;

	*out = NULL;
	if ((p.f = calloc(1, sizeof(*p.f))) == NULL ||
	    (p.f->name = strdup(name)) == NULL) {
		(void)snprintf(err, errlen, "%s: out of memory", name);
		goto out;
	}
	if (len > SLA_FILE_MAX) {
		(void)fail(&p, 1, "larger than %d bytes", SLA_FILE_MAX);
		goto out;
	}
	if (memchr(text, '\0', len) != NULL) {
		(void)fail(&p, 1, "a NUL byte in the file");
		goto out;
	}
	while (off < len) {
		line++;
		nl = memchr(text + off, '\n', len - off);
		l = nl != NULL ? (size_t)(nl - (text + off)) : len - off;
		if (l > LINE_MAX_LEN) {
			(void)fail(
			    &p, line, "longer than %d bytes", LINE_MAX_LEN);
			goto out;
		}
		memcpy(buf, text + off, l);
		buf[l] = '\0';
		off += l + (nl != NULL ? 1 : 0);
		n = 0;
		save = NULL;
		for (t = strtok_r(buf, " \t\r\f\v", &save); t != NULL;
		     t = strtok_r(NULL, " \t\r\f\v", &save)) {
			if (t[0] == '#')
				break;
			if (n == WORDS_MAX) {
				(void)fail(
				    &p, line, "more than %d words", WORDS_MAX);
				goto out;
			}
			w[n++] = t;
		}
		if (n == 0)
			continue;
		for (l = 0; l < n; l++) {
			const char *q;

			for (q = w[l]; *q != '\0'; q++)
				if ((unsigned char)*q < 0x20 ||
				    (unsigned char)*q >= 0x7f) {
					(void)fail(&p, line,
					    "a control or non-ASCII byte");
					goto out;
				}
		}
		if (keyword(&p, line, w, n) != 0)
			goto out;
	}
	if (block_end(&p) != 0)
		goto out;
	if (p.f->n == 0) {
		(void)fail(&p, line == 0 ? 1 : line, "no Sla block");
		goto out;
	}
	*out = p.f;
	p.f = NULL;
	r = 0;
out:
	free(p.raw);
	sla_free(p.f);
	return r;
}

int
sla_load(const char *path, struct sla_file **out, char *err, size_t errlen)
{
	uint8_t *data = NULL;
	size_t len = 0;
	int r;

	*out = NULL;
	if ((r = pv_file_read(path, SLA_FILE_MAX, &data, &len)) != 0) {
		(void)snprintf(err, errlen, "%s: %s", path, pv_err_str(r));
		return -1;
	}
	r = sla_parse(path, (const char *)data, len, out, err, errlen);
	free(data);
	return r;
}

void
sla_free(struct sla_file *f)
{
	size_t i, j;

	if (f == NULL)
		return;
	for (i = 0; i < f->n; i++) {
		struct sla *s = &f->v[i];

		free(s->id);
		free(s->provider);
		free(s->zone);
		free(s->win);
		for (j = 0; j < s->nprio; j++)
			free(s->prio[j].name);
		for (j = 0; j < s->ntargets; j++)
			free(s->targets[j]);
	}
	free(f->v);
	free(f->name);
	free(f);
}

const struct sla *
sla_find(const struct sla_file *f, const char *provider)
{
	size_t i;

	for (i = 0; f != NULL && i < f->n; i++)
		if (f->v[i].provider != NULL &&
		    strcmp(f->v[i].provider, provider) == 0)
			return &f->v[i];
	return NULL;
}
