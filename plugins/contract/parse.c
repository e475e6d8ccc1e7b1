/*
 * parse.c: provost-contract(5) files and the question "is this access
 * inside the provider's contract?".  Strict: an unknown keyword, a
 * keyword outside a Contract block, a repeated one-off keyword, a bad
 * date, day, time or zone name, a second contract for one provider: each
 * is one line NAME:LINE: what, and nothing is loaded.
 */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/common.h"
#include "plugins/contract/contract.h"

#define LINE_MAX_LEN 1024
#define WORDS_MAX 64
#define VALUES_MAX 256 /* Targets, Classifications, Exclude per contract */
#define CONTRACTS_MAX 1000
#define ZONEINFO "/usr/share/zoneinfo/"

struct exclude {
	char *account; /* NULL: a target exclusion */
	char *target;  /* glob; NULL: every target (account only) */
	unsigned int line;
};

/* An OperateFrom clause: the networks a provider may work from. */
struct net {
	unsigned char a[16];
	int v6;
	unsigned int bits;
};
struct from {
	char *name;
	struct net *nets;
	size_t nnets;
	unsigned int line;
};

struct contract {
	char *id;
	unsigned int line;
	char *provider;
	unsigned int provider_line;
	long start, end; /* days since 1970-01-01, in the zone */
	unsigned int start_line, end_line;
	int notice_days; /* -1: none */
	unsigned int notice_line;
	char *zone; /* "UTC" or an Area/City of the zoneinfo tree */
	unsigned int zone_line;
	unsigned int days; /* bit 0 Sunday; 0: not set (every day) */
	unsigned int days_line;
	int from, to; /* minutes of the day; to == 0: not set */
	unsigned int hours_line;
	char **targets;
	size_t ntargets;
	unsigned int targets_line;
	char **classes;
	size_t nclasses;
	unsigned int classes_line;
	char **regions; /* the targets' regions in scope (data residency) */
	size_t nregions;
	unsigned int regions_line;
	struct exclude *ex;
	size_t nex;
	struct from *ops; /* OperateFrom, in the order given */
	size_t nfrom;
};

struct contracts {
	char *name;
	struct contract *v;
	size_t n;
};

static const char *const day_names[7] = { "Sun", "Mon", "Tue", "Wed", "Thu",
	"Fri", "Sat" };

static int __attribute__((format(printf, 5, 6))) fail(char *err, size_t errlen,
    const char *name, unsigned int line, const char *fmt, ...)
{
	char msg[CONTRACT_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	(void)snprintf(err, errlen, "%s:%u: %s", name, line, msg);
	return -1;
}

/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm). */
static long
days_from_civil(long y, unsigned int m, unsigned int d)
{
	long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* n digits at s, as a number; -1 if one is not a digit. */
static long
digits(const char *s, int n)
{
	long v = 0;
	int i;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static int
date_parse(const char *s, long *out)
{
	static const long mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
		30, 31 };
	long y, m, d;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-' ||
	    (y = digits(s, 4)) < 2000 || y > 2199 ||
	    (m = digits(s + 5, 2)) < 1 || m > 12 ||
	    (d = digits(s + 8, 2)) < 1 || d > mdays[m - 1])
		return -1;
	if (m == 2 && d == 29 &&
	    !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return -1;
	*out = days_from_civil(y, (unsigned int)m, (unsigned int)d);
	return 0;
}

static void
date_format(long days, char *out, size_t len)
{
	time_t t = (time_t)days * 86400;
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, len, "%Y-%m-%d", &tm) == 0)
		(void)snprintf(out, len, "?");
}

static int
hhmm(const char *s, int *min)
{
	if (strlen(s) != 5 || !isdigit((unsigned char)s[0]) ||
	    !isdigit((unsigned char)s[1]) || s[2] != ':' ||
	    !isdigit((unsigned char)s[3]) || !isdigit((unsigned char)s[4]))
		return -1;
	*min = ((s[0] - '0') * 10 + (s[1] - '0')) * 60 + (s[3] - '0') * 10 +
	    (s[4] - '0');
	return (s[3] - '0') < 6 && *min <= 24 * 60 ? 0 : -1;
}

/* "08:00-18:00": from < to, 24:00 only as the end; no wrap past midnight. */
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

/* "UTC" or names as in the zoneinfo tree: letters, digits, _ + - and /. */
static int
zone_valid(const char *z)
{
	const char *p;

	if (strcmp(z, "UTC") == 0)
		return 1;
	if (z[0] == '\0' || z[0] == '/' || strlen(z) > 64 ||
	    strstr(z, "..") != NULL || strstr(z, "//") != NULL)
		return 0;
	for (p = z; *p != '\0'; p++) {
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '+' &&
		    *p != '-' && *p != '/')
			return 0;
	}
	return 1;
}

static int
name_valid(const char *s)
{
	const char *p;

	if (s[0] == '\0' || strlen(s) > 64)
		return 0;
	for (p = s; *p != '\0'; p++) {
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '_' &&
		    *p != '-')
			return 0;
	}
	return 1;
}

static int
glob_valid(const char *s)
{
	const char *p;

	if (s[0] == '\0' || strlen(s) > 128)
		return 0;
	for (p = s; *p != '\0'; p++) {
		if (!isalnum((unsigned char)*p) &&
		    strchr("._-*?[]!", *p) == NULL)
			return 0;
	}
	return 1;
}

static void
contract_clear(struct contract *k)
{
	size_t i;

	free(k->id);
	free(k->provider);
	free(k->zone);
	for (i = 0; i < k->ntargets; i++)
		free(k->targets[i]);
	free(k->targets);
	for (i = 0; i < k->nclasses; i++)
		free(k->classes[i]);
	free(k->classes);
	for (i = 0; i < k->nregions; i++)
		free(k->regions[i]);
	free(k->regions);
	for (i = 0; i < k->nex; i++) {
		free(k->ex[i].account);
		free(k->ex[i].target);
	}
	free(k->ex);
	for (i = 0; i < k->nfrom; i++) {
		free(k->ops[i].name);
		free(k->ops[i].nets);
	}
	free(k->ops);
}

void
contracts_free(struct contracts *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n; i++)
		contract_clear(&c->v[i]);
	free(c->v);
	free(c->name);
	free(c);
}

size_t
contracts_count(const struct contracts *c)
{
	return c->n;
}

/*
 * "ADDRESS/BITS" or "ADDRESS" (a host), IPv4 or IPv6; bits past the
 * prefix must be zero, as a network is written.  0 or -1.
 */
static int
net_parse(const char *s, struct net *n)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash;
	unsigned int i, max;
	long bits;

	memset(n, 0, sizeof(*n));
	if (strlen(s) >= sizeof(buf))
		return -1;
	memcpy(buf, s, strlen(s) + 1);
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	n->v6 = strchr(buf, ':') != NULL;
	if (inet_pton(n->v6 ? AF_INET6 : AF_INET, buf, n->a) != 1)
		return -1;
	max = n->v6 ? 128 : 32;
	bits = max;
	if (slash != NULL) {
		if (*slash == '\0' || strlen(slash) > 3 ||
		    (bits = digits(slash, (int)strlen(slash))) < 0 ||
		    bits > (long)max || (slash[0] == '0' && slash[1] != '\0'))
			return -1;
	}
	n->bits = (unsigned int)bits;
	for (i = n->bits; i < max; i++) {
		if (n->a[i / 8] & (0x80 >> (i % 8)))
			return -1;
	}
	return 0;
}

/* Is the address text a inside network n?  A v4-mapped IPv6 is IPv4. */
static int
net_match(const struct net *n, const char *a)
{
	unsigned char x[16];
	int v6 = strchr(a, ':') != NULL;
	unsigned int i;

	if (inet_pton(v6 ? AF_INET6 : AF_INET, a, x) != 1)
		return 0;
	if (v6 && !n->v6 &&
	    memcmp(x, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0) {
		memmove(x, x + 12, 4);
		v6 = 0;
	}
	if (v6 != n->v6)
		return 0;
	for (i = 0; i < n->bits; i++) {
		if ((x[i / 8] ^ n->a[i / 8]) & (0x80 >> (i % 8)))
			return 0;
	}
	return 1;
}

/* OperateFrom NAME NET...: one more place the provider may work from. */
static int
from_add(struct contracts *c, struct contract *k, char **w, size_t nw,
    unsigned int line, size_t *total, char *err, size_t errlen)
{
	struct from *f;
	size_t i;

	if (nw < 3 || !name_valid(w[1]))
		return fail(err, errlen, c->name, line,
		    "OperateFrom: NAME and one or more networks "
		    "(ADDRESS/BITS)");
	for (i = 0; i < k->nfrom; i++) {
		if (strcmp(k->ops[i].name, w[1]) == 0)
			return fail(err, errlen, c->name, line,
			    "OperateFrom %.64s given twice (line %u)", w[1],
			    k->ops[i].line);
	}
	if (*total + nw - 2 > VALUES_MAX)
		return fail(err, errlen, c->name, line, "too many values");
	if ((f = realloc(k->ops, (k->nfrom + 1) * sizeof(*f))) == NULL)
		return fail(err, errlen, c->name, line, "out of memory");
	k->ops = f;
	f = &k->ops[k->nfrom];
	memset(f, 0, sizeof(*f));
	f->line = line;
	if ((f->name = strdup(w[1])) == NULL ||
	    (f->nets = calloc(nw - 2, sizeof(*f->nets))) == NULL) {
		free(f->name);
		return fail(err, errlen, c->name, line, "out of memory");
	}
	k->nfrom++;
	for (i = 2; i < nw; i++) {
		if (net_parse(w[i], &f->nets[f->nnets]) != 0)
			return fail(err, errlen, c->name, line,
			    "OperateFrom: \"%.64s\" is not a network "
			    "(ADDRESS/BITS, the host bits zero)",
			    w[i]);
		f->nnets++;
		(*total)++;
	}
	return 0;
}

/* Appends words[0..n) to *list (strdup); -1 on a limit or no memory. */
static int
list_add(char ***list, size_t *len, size_t *total, char **words, size_t n)
{
	char **v;
	size_t i;

	if (*total + n > VALUES_MAX)
		return -1;
	if ((v = realloc(*list, (*len + n) * sizeof(*v))) == NULL)
		return -1;
	*list = v;
	for (i = 0; i < n; i++) {
		if ((v[*len] = strdup(words[i])) == NULL)
			return -1;
		(*len)++;
		(*total)++;
	}
	return 0;
}

static int
keyword_line(struct contracts *c, struct contract *k, char **w, size_t nw,
    unsigned int line, size_t *total, char *err, size_t errlen)
{
	const char *kw = w[0], *name = c->name;
	struct exclude *ex;
	size_t i;

#define ONCE(field)                                                   \
	do {                                                          \
		if ((field) != 0)                                     \
			return fail(err, errlen, name, line,          \
			    "%s given twice (line %u)", kw, (field)); \
		(field) = line;                                       \
	} while (0)
#define ONE_VALUE()                                          \
	do {                                                 \
		if (nw != 2)                                 \
			return fail(err, errlen, name, line, \
			    "%s takes one value", kw);       \
	} while (0)

	if (strcasecmp(kw, "Provider") == 0) {
		ONE_VALUE();
		ONCE(k->provider_line);
		if (!name_valid(w[1]))
			return fail(err, errlen, name, line,
			    "Provider: not a provider name");
		for (i = 0; i < c->n; i++) {
			if (strcmp(c->v[i].provider, w[1]) == 0)
				return fail(err, errlen, name, line,
				    "provider %s already has contract %s "
				    "(line %u)",
				    w[1], c->v[i].id, c->v[i].line);
		}
		return (k->provider = strdup(w[1])) != NULL
		    ? 0
		    : fail(err, errlen, name, line, "out of memory");
	}
	if (strcasecmp(kw, "Start") == 0 || strcasecmp(kw, "End") == 0) {
		int start = strcasecmp(kw, "Start") == 0;

		ONE_VALUE();
		if (start)
			ONCE(k->start_line);
		else
			ONCE(k->end_line);
		if (date_parse(w[1], start ? &k->start : &k->end) != 0)
			return fail(err, errlen, name, line,
			    "%s: not a date YYYY-MM-DD", kw);
		return 0;
	}
	if (strcasecmp(kw, "Notice") == 0) {
		char *end;
		long d;

		ONE_VALUE();
		ONCE(k->notice_line);
		errno = 0;
		d = strtol(w[1], &end, 10);
		if (!isdigit((unsigned char)w[1][0]) || errno != 0 ||
		    strcmp(end, "d") != 0 || d < 1 || d > 3650)
			return fail(err, errlen, name, line,
			    "Notice: days, like 30d (1d to 3650d)");
		k->notice_days = (int)d;
		return 0;
	}
	if (strcasecmp(kw, "TimeZone") == 0) {
		ONE_VALUE();
		ONCE(k->zone_line);
		if (!zone_valid(w[1]))
			return fail(err, errlen, name, line,
			    "TimeZone: UTC or a zone like Europe/Berlin");
		free(k->zone);
		return (k->zone = strdup(w[1])) != NULL
		    ? 0
		    : fail(err, errlen, name, line, "out of memory");
	}
	if (strcasecmp(kw, "Days") == 0) {
		ONE_VALUE();
		ONCE(k->days_line);
		if (pv_days_parse(w[1], &k->days) != 0)
			return fail(err, errlen, name, line,
			    "Days: like Mon-Fri, Mon,Wed,Fri or *");
		return 0;
	}
	if (strcasecmp(kw, "Hours") == 0) {
		ONE_VALUE();
		ONCE(k->hours_line);
		if (hours_parse(w[1], &k->from, &k->to) != 0)
			return fail(err, errlen, name, line,
			    "Hours: HH:MM-HH:MM, the start before the end");
		return 0;
	}
	if (strcasecmp(kw, "Targets") == 0) {
		if (nw < 2)
			return fail(err, errlen, name, line,
			    "Targets: one or more name patterns");
		for (i = 1; i < nw; i++) {
			if (!glob_valid(w[i]))
				return fail(err, errlen, name, line,
				    "Targets: \"%.64s\" is not a target name "
				    "pattern",
				    w[i]);
		}
		if (k->targets_line == 0)
			k->targets_line = line;
		return list_add(
			   &k->targets, &k->ntargets, total, w + 1, nw - 1) == 0
		    ? 0
		    : fail(err, errlen, name, line, "too many values");
	}
	if (strcasecmp(kw, "Classifications") == 0) {
		if (nw < 2)
			return fail(err, errlen, name, line,
			    "Classifications: one or more levels");
		for (i = 1; i < nw; i++) {
			if (!name_valid(w[i]))
				return fail(err, errlen, name, line,
				    "Classifications: \"%.64s\" is not a "
				    "level",
				    w[i]);
		}
		if (k->classes_line == 0)
			k->classes_line = line;
		return list_add(
			   &k->classes, &k->nclasses, total, w + 1, nw - 1) == 0
		    ? 0
		    : fail(err, errlen, name, line, "too many values");
	}
	if (strcasecmp(kw, "Regions") == 0) {
		if (nw < 2)
			return fail(err, errlen, name, line,
			    "Regions: one or more regions");
		for (i = 1; i < nw; i++) {
			if (!name_valid(w[i]))
				return fail(err, errlen, name, line,
				    "Regions: \"%.64s\" is not a region", w[i]);
		}
		if (k->regions_line == 0)
			k->regions_line = line;
		return list_add(
			   &k->regions, &k->nregions, total, w + 1, nw - 1) == 0
		    ? 0
		    : fail(err, errlen, name, line, "too many values");
	}
	if (strcasecmp(kw, "OperateFrom") == 0)
		return from_add(c, k, w, nw, line, total, err, errlen);
	if (strcasecmp(kw, "Exclude") == 0) {
		char *at;

		if (nw != 3 ||
		    (strcmp(w[1], "target") != 0 &&
			strcmp(w[1], "account") != 0))
			return fail(err, errlen, name, line,
			    "Exclude: target PATTERN, or account "
			    "NAME[@PATTERN]");
		if (*total + 1 > VALUES_MAX)
			return fail(err, errlen, name, line, "too many values");
		if ((ex = realloc(k->ex, (k->nex + 1) * sizeof(*ex))) == NULL)
			return fail(err, errlen, name, line, "out of memory");
		k->ex = ex;
		ex = &k->ex[k->nex];
		memset(ex, 0, sizeof(*ex));
		ex->line = line;
		if (strcmp(w[1], "target") == 0) {
			if (!glob_valid(w[2]))
				return fail(err, errlen, name, line,
				    "Exclude target: not a name pattern");
			if ((ex->target = strdup(w[2])) == NULL)
				return fail(
				    err, errlen, name, line, "out of memory");
		} else {
			if ((at = strchr(w[2], '@')) != NULL)
				*at++ = '\0';
			if (!name_valid(w[2]) ||
			    (at != NULL && !glob_valid(at)))
				return fail(err, errlen, name, line,
				    "Exclude account: NAME or NAME@PATTERN");
			if ((ex->account = strdup(w[2])) == NULL ||
			    (at != NULL && (ex->target = strdup(at)) == NULL)) {
				free(ex->account);
				return fail(
				    err, errlen, name, line, "out of memory");
			}
		}
		k->nex++;
		(*total)++;
		return 0;
	}
#undef ONCE
#undef ONE_VALUE
	return fail(err, errlen, name, line, "unknown keyword \"%.40s\"", kw);
}

/* A block is complete: Provider, Start and End, Start not after End. */
static int
contract_done(struct contracts *c, unsigned int line, char *err, size_t errlen)
{
	struct contract *k = &c->v[c->n];

	if (k->provider_line == 0 || k->start_line == 0 || k->end_line == 0)
		return fail(err, errlen, c->name, k->line,
		    "contract %s needs Provider, Start and End", k->id);
	if (k->start > k->end)
		return fail(
		    err, errlen, c->name, k->end_line, "End is before Start");
	if (k->zone == NULL && (k->zone = strdup("UTC")) == NULL)
		return fail(err, errlen, c->name, line, "out of memory");
	c->n++;
	return 0;
}

int
contracts_parse(const char *name, const char *text, size_t len,
    struct contracts **out, char *err, size_t errlen)
{
	struct contracts *c;
	struct contract *k = NULL;
	char buf[LINE_MAX_LEN + 1], *w[WORDS_MAX], *p, *save;
	size_t pos = 0, nw, total = 0, ll;
	unsigned int line = 0;
	int in = 0;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->name = strdup(name)) == NULL) {
		free(c);
		(void)snprintf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	if (len > CONTRACT_FILE_MAX) {
		(void)fail(err, errlen, name, 0, "larger than %d bytes",
		    CONTRACT_FILE_MAX);
		goto bad;
	}
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);

		ll = nl != NULL ? (size_t)(nl - (text + pos)) : len - pos;
		line++;
		if (ll > LINE_MAX_LEN) {
			(void)fail(err, errlen, name, line,
			    "longer than %d bytes", LINE_MAX_LEN);
			goto bad;
		}
		memcpy(buf, text + pos, ll);
		buf[ll] = '\0';
		pos += ll + 1;
		if (strlen(buf) != ll) {
			(void)fail(err, errlen, name, line, "a NUL byte");
			goto bad;
		}
		if (ll > 0 && buf[ll - 1] == '\r')
			buf[--ll] = '\0';
		if ((p = strchr(buf, '#')) != NULL)
			*p = '\0';
		for (p = buf; *p != '\0'; p++) {
			if ((unsigned char)*p < 0x20 && *p != '\t') {
				(void)fail(err, errlen, name, line,
				    "a control character");
				goto bad;
			}
		}
		nw = 0;
		for (p = strtok_r(buf, " \t", &save); p != NULL;
		     p = strtok_r(NULL, " \t", &save)) {
			if (nw == WORDS_MAX) {
				(void)fail(err, errlen, name, line,
				    "more than %d words", WORDS_MAX);
				goto bad;
			}
			w[nw++] = p;
		}
		if (nw == 0)
			continue;
		if (strcasecmp(w[0], "Contract") == 0) {
			struct contract *v;

			if (nw != 2 || !name_valid(w[1])) {
				(void)fail(err, errlen, name, line,
				    "Contract takes one id (letters, digits, "
				    ". _ -)");
				goto bad;
			}
			if (in && contract_done(c, line, err, errlen) != 0)
				goto bad;
			if (c->n == CONTRACTS_MAX) {
				(void)fail(err, errlen, name, line,
				    "more than %d contracts", CONTRACTS_MAX);
				goto bad;
			}
			if ((v = realloc(c->v, (c->n + 1) * sizeof(*v))) ==
			    NULL) {
				(void)fail(
				    err, errlen, name, line, "out of memory");
				goto bad;
			}
			c->v = v;
			k = &c->v[c->n];
			memset(k, 0, sizeof(*k));
			k->notice_days = -1;
			k->line = line;
			total = 0;
			in = 1;
			if ((k->id = strdup(w[1])) == NULL) {
				(void)fail(
				    err, errlen, name, line, "out of memory");
				goto bad;
			}
			continue;
		}
		if (!in) {
			(void)fail(err, errlen, name, line,
			    "%.40s before the first Contract line", w[0]);
			goto bad;
		}
		if (keyword_line(c, k, w, nw, line, &total, err, errlen) != 0)
			goto bad;
	}
	if (in && contract_done(c, line, err, errlen) != 0)
		goto bad;
	if (c->n == 0) {
		(void)fail(err, errlen, name, line, "no Contract");
		goto bad;
	}
	*out = c;
	return 0;
bad:
	/* the block being read is not counted yet: free it too */
	if (in && k != NULL && k == &c->v[c->n])
		contract_clear(k);
	contracts_free(c);
	return -1;
}

int
contracts_load(
    const char *path, struct contracts **out, char *err, size_t errlen)
{
	struct stat st;
	char *text = NULL;
	ssize_t n;
	size_t i;
	int fd, r;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0 ||
	    fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > CONTRACT_FILE_MAX ||
	    (text = malloc((size_t)st.st_size + 1)) == NULL) {
		(void)snprintf(err, errlen, "%s: cannot read: %s", path,
		    fd < 0 ? strerror(errno)
			   : "not a regular file or too large");
		if (fd >= 0)
			close(fd);
		free(text);
		return -1;
	}
	n = read(fd, text, (size_t)st.st_size);
	close(fd);
	if (n != (ssize_t)st.st_size) {
		(void)snprintf(err, errlen, "%s: short read", path);
		free(text);
		return -1;
	}
	r = contracts_parse(path, text, (size_t)n, out, err, errlen);
	free(text);
	if (r != 0)
		return r;
	/* A zone the system lacks would read as UTC: refuse it now. */
	for (i = 0; i < (*out)->n; i++) {
		char zp[256];
		const struct contract *k = &(*out)->v[i];

		(void)snprintf(zp, sizeof(zp), ZONEINFO "%s", k->zone);
		if (strcmp(k->zone, "UTC") != 0 && access(zp, R_OK) != 0) {
			(void)snprintf(err, errlen,
			    "%s:%u: TimeZone %s: no such zone in " ZONEINFO,
			    path, k->zone_line, k->zone);
			contracts_free(*out);
			*out = NULL;
			return -1;
		}
	}
	return 0;
}

/* The local time of t in zone (the process is single-threaded: TZ). */
static int
local_tm(const char *zone, int64_t t, struct tm *out)
{
	char zp[256], tz[260];
	const char *old = getenv("TZ");
	char *saved = old != NULL ? strdup(old) : NULL;
	time_t tt = (time_t)t;
	int r;

	if (strcmp(zone, "UTC") == 0) {
		free(saved);
		return gmtime_r(&tt, out) != NULL ? 0 : -1;
	}
	(void)snprintf(zp, sizeof(zp), ZONEINFO "%s", zone);
	if (access(zp, R_OK) != 0) {
		free(saved);
		return -1;
	}
	(void)snprintf(tz, sizeof(tz), ":%s", zone);
	(void)setenv("TZ", tz, 1);
	tzset();
	r = localtime_r(&tt, out) != NULL ? 0 : -1;
	if (saved != NULL)
		(void)setenv("TZ", saved, 1);
	else
		(void)unsetenv("TZ");
	tzset();
	free(saved);
	return r;
}

/* "eu-office, eu-vpn": the OperateFrom names, for a refusal. */
static const char *
from_names(const struct contract *k, char *buf, size_t len)
{
	size_t i, o = 0;
	int n;

	buf[0] = '\0';
	for (i = 0; i < k->nfrom && o < len; i++) {
		n = snprintf(buf + o, len - o, "%s%s", i > 0 ? ", " : "",
		    k->ops[i].name);
		if (n < 0)
			break;
		o += (size_t)n;
	}
	return buf;
}

static int
any_glob(char *const *globs, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (fnmatch(globs[i], s, 0) == 0)
			return 1;
	}
	return 0;
}

int
contracts_check(const struct contracts *c, const struct contract_ask *a,
    char *why, size_t whylen, int *notice)
{
	const struct contract *k = NULL;
	char d1[16];
	struct tm tm;
	long today;
	size_t i;
	int min;

	*notice = -1;
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	for (i = 0; i < c->n; i++) {
		if (a->provider != NULL &&
		    strcmp(c->v[i].provider, a->provider) == 0)
			k = &c->v[i];
	}
	if (k == NULL) {
		(void)snprintf(why, whylen, "no contract for provider %s (%s)",
		    a->provider != NULL ? a->provider : "?", c->name);
		return 0;
	}
#define OUT(line, clause, ...)                                             \
	do {                                                               \
		char m_[256];                                              \
		(void)snprintf(m_, sizeof(m_), __VA_ARGS__);               \
		(void)snprintf(why, whylen, "contract %s (%s:%u, %s): %s", \
		    k->id, c->name, (line), (clause), m_);                 \
		return 0;                                                  \
	} while (0)
	if (local_tm(k->zone, a->now, &tm) != 0) {
		(void)snprintf(why, whylen,
		    "contract %s: the local time in %s cannot be read", k->id,
		    k->zone);
		return -1;
	}
	today = days_from_civil((long)tm.tm_year + 1900,
	    (unsigned int)tm.tm_mon + 1, (unsigned int)tm.tm_mday);
	if (today < k->start) {
		date_format(k->start, d1, sizeof(d1));
		OUT(k->start_line, "Start", "it begins on %s", d1);
	}
	if (today > k->end) {
		date_format(k->end, d1, sizeof(d1));
		OUT(k->end_line, "End", "it ended on %s", d1);
	}
	if (k->ntargets > 0 && !any_glob(k->targets, k->ntargets, a->target))
		OUT(k->targets_line, "Targets",
		    "%.64s is outside the service scope", a->target);
	if (k->nclasses > 0) {
		for (i = 0; i < k->nclasses; i++) {
			if (a->classification != NULL &&
			    strcmp(k->classes[i], a->classification) == 0)
				break;
		}
		if (i == k->nclasses)
			OUT(k->classes_line, "Classifications",
			    "classification %.64s is outside the scope",
			    a->classification != NULL ? a->classification
						      : "(none)");
	}
	if (k->nregions > 0) {
		for (i = 0; i < k->nregions; i++) {
			if (a->region != NULL &&
			    strcmp(k->regions[i], a->region) == 0)
				break;
		}
		if (i == k->nregions) {
			if (a->region == NULL)
				OUT(k->regions_line, "Regions",
				    "%.64s has no region", a->target);
			OUT(k->regions_line, "Regions",
			    "%.64s is in region %.64s, outside the scope",
			    a->target, a->region);
		}
	}
	if (k->nfrom > 0) {
		char names[160];
		size_t j;
		int in = 0;

		for (i = 0; a->source != NULL && i < k->nfrom && !in; i++)
			for (j = 0; j < k->ops[i].nnets && !in; j++)
				in = net_match(&k->ops[i].nets[j], a->source);
		if (a->source == NULL)
			OUT(k->ops[0].line, "OperateFrom",
			    "the engineer's address is not known here");
		if (!in)
			OUT(k->ops[0].line, "OperateFrom",
			    "%.64s is outside %s", a->source,
			    from_names(k, names, sizeof(names)));
	}
	for (i = 0; i < k->nex; i++) {
		const struct exclude *x = &k->ex[i];

		if (x->account == NULL && fnmatch(x->target, a->target, 0) == 0)
			OUT(x->line, "Exclude", "target %.64s is excluded",
			    a->target);
		if (x->account != NULL && a->account != NULL &&
		    strcmp(x->account, a->account) == 0 &&
		    (x->target == NULL ||
			fnmatch(x->target, a->target, 0) == 0))
			OUT(x->line, "Exclude",
			    "account %.64s on %.64s is "
			    "excluded",
			    a->account, a->target);
	}
	if (k->days != 0 && !(k->days & (1U << tm.tm_wday)))
		OUT(k->days_line, "Days", "not on a %s (%s)",
		    day_names[tm.tm_wday], k->zone);
	min = tm.tm_hour * 60 + tm.tm_min;
	if (k->to != 0 && (min < k->from || min >= k->to))
		OUT(k->hours_line, "Hours",
		    "outside %02d:%02d-%02d:%02d %s (now %02d:%02d)",
		    k->from / 60, k->from % 60, k->to / 60, k->to % 60, k->zone,
		    tm.tm_hour, tm.tm_min);
#undef OUT
	if (k->notice_days > 0 && k->end - today < k->notice_days)
		*notice = (int)(k->end - today);
	return 1;
}

int
contracts_ended(const struct contracts *c, int64_t now,
    int (*each)(void *ctx, const char *provider, const char *why), void *ctx)
{
	char d[16], why[CONTRACT_ERR_MAX];
	struct tm tm;
	size_t i;
	long today;
	int r, bad = 0;

	for (i = 0; i < c->n; i++) {
		const struct contract *k = &c->v[i];

		if (local_tm(k->zone, now, &tm) != 0) {
			bad = -1;
			continue;
		}
		today = days_from_civil((long)tm.tm_year + 1900,
		    (unsigned int)tm.tm_mon + 1, (unsigned int)tm.tm_mday);
		if (today <= k->end)
			continue;
		date_format(k->end, d, sizeof(d));
		(void)snprintf(why, sizeof(why),
		    "contract %s (%s:%u, End) ended on %s", k->id, c->name,
		    k->end_line, d);
		if ((r = each(ctx, k->provider, why)) != 0)
			return r;
	}
	return bad;
}

int
contracts_banner(const struct contracts *c, const char *provider, int days,
    char *buf, size_t len)
{
	char d[16];
	size_t i;

	for (i = 0; i < c->n; i++) {
		if (provider == NULL || strcmp(c->v[i].provider, provider) != 0)
			continue;
		date_format(c->v[i].end, d, sizeof(d));
		(void)snprintf(buf, len, "contract %s ends %s: %d day%s left",
		    c->v[i].id, d, days, days == 1 ? "" : "s");
		return 0;
	}
	return -1;
}

int
contracts_print(const struct contracts *c, const char *provider, FILE *out,
    int (*more)(void *ctx, FILE *out, const char *id), void *ctx)
{
	char d1[16], d2[16];
	size_t i, j, shown = 0;

	for (i = 0; i < c->n; i++) {
		const struct contract *k = &c->v[i];

		if (provider != NULL && strcmp(k->provider, provider) != 0)
			continue;
		date_format(k->start, d1, sizeof(d1));
		date_format(k->end, d2, sizeof(d2));
		fprintf(out, "contract %s (%s:%u)\nprovider: %s\n", k->id,
		    c->name, k->line, k->provider);
		fprintf(out, "term: %s to %s (%s)\n", d1, d2, k->zone);
		if (k->notice_days > 0)
			fprintf(out, "notice: %d days\n", k->notice_days);
		fprintf(out, "targets:");
		for (j = 0; j < k->ntargets; j++)
			fprintf(out, " %s", k->targets[j]);
		fprintf(out, "%s\nclassifications:",
		    k->ntargets == 0 ? " every target" : "");
		for (j = 0; j < k->nclasses; j++)
			fprintf(out, " %s", k->classes[j]);
		fprintf(out, "%s\n", k->nclasses == 0 ? " every one" : "");
		fprintf(out, "regions:");
		for (j = 0; j < k->nregions; j++)
			fprintf(out, " %s", k->regions[j]);
		fprintf(out, "%s\n", k->nregions == 0 ? " every one" : "");
		fprintf(out, "days:");
		for (j = 0; j < 7; j++) {
			if (k->days == 0 || (k->days & (1U << j)))
				fprintf(out, " %s", day_names[j]);
		}
		if (k->to != 0)
			fprintf(out, "\nhours: %02d:%02d-%02d:%02d",
			    k->from / 60, k->from % 60, k->to / 60, k->to % 60);
		fprintf(out, "\n");
		for (j = 0; j < k->nfrom; j++) {
			const struct from *f = &k->ops[j];
			char a[INET6_ADDRSTRLEN];
			size_t m;

			fprintf(out, "operate from: %s", f->name);
			for (m = 0; m < f->nnets; m++)
				fprintf(out, " %s/%u",
				    inet_ntop(
					f->nets[m].v6 ? AF_INET6 : AF_INET,
					f->nets[m].a, a, sizeof(a)) != NULL
					? a
					: "?",
				    f->nets[m].bits);
			fprintf(out, "\n");
		}
		for (j = 0; j < k->nex; j++)
			fprintf(out, "excluded: %s %s%s%s\n",
			    k->ex[j].account != NULL ? "account" : "target",
			    k->ex[j].account != NULL ? k->ex[j].account : "",
			    k->ex[j].account != NULL && k->ex[j].target != NULL
				? "@"
				: "",
			    k->ex[j].target != NULL ? k->ex[j].target : "");
		if (more != NULL && more(ctx, out, k->id) != 0)
			return -1;
		shown++;
	}
	return shown > 0 ? 0 : -1;
}

int
contracts_wants_region(const struct contracts *c, const char *provider)
{
	size_t i;

	for (i = 0; provider != NULL && i < c->n; i++)
		if (strcmp(c->v[i].provider, provider) == 0)
			return c->v[i].nregions > 0;
	return 0;
}
