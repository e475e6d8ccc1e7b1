/*
 * tz.c: time zones for Hours, turned at load time into a table of UTC
 * offsets so that deciding needs neither the C library's zone state nor I/O.
 *
 * The C library converts times through one process-wide zone (TZ, tzset).
 * We use it only while loading: for a named zone we set TZ, call tzset(),
 * sample the offset once a day from 1970 to 2100, find each change to the
 * second by bisection, then put TZ back as it was and call tzset() again.
 * That is safe for a single-threaded caller (provostd's monitor loads the
 * policy at start and on reload; provostctl is single-threaded).  After the
 * load, policy_decide reads only the table: pure and thread-safe.  Offset
 * changes less than a day apart would be missed (none in tzdata since 1970);
 * after 2100 the last offset holds.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/common.h"
#include "policy/policy-int.h"

#define TZ_SAMPLE_FROM 0LL        /* 1970-01-01 */
#define TZ_SAMPLE_TO 4102444800LL /* 2100-01-01 */
#define TZ_SAMPLE_STEP 86400LL
#define TZ_MAX_CHANGES 4096

int
policy_tz_name_valid(const char *name, char *err, size_t errlen)
{
	char path[512];
	const char *dir;
	unsigned char magic[4];
	struct stat st;
	size_t i, len = strlen(name);
	int fd, n;

	if (len == 0 || len > POLICY_NAME_MAX || name[0] == '/' ||
	    strstr(name, "..") != NULL)
		goto bad;
	for (i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			(c >= '0' && c <= '9') || c == '/' || c == '_' ||
			c == '-' || c == '+' || c == '.'))
			goto bad;
	}
	if ((dir = getenv("TZDIR")) == NULL || dir[0] != '/')
		dir = "/usr/share/zoneinfo";
	n = snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof(path))
		goto bad;
	/* The C library falls back to UTC silently: check the file. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		goto unknown;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    read(fd, magic, sizeof(magic)) != (ssize_t)sizeof(magic) ||
	    memcmp(magic, "TZif", 4) != 0) {
		close(fd);
		goto unknown;
	}
	close(fd);
	return 0;
bad:
	if (snprintf(err, errlen,
		"bad time zone name (use an IANA name "
		"such as Europe/Berlin or UTC)") < 0)
		err[0] = '\0';
	return PV_ERR_CONFIG;
unknown:
	if (snprintf(err, errlen, "unknown time zone \"%s\" (not in %s)", name,
		dir) < 0)
		err[0] = '\0';
	return PV_ERR_CONFIG;
}

static int32_t
tz_offset_libc(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (localtime_r(&tt, &tm) == NULL)
		return 0;
	return (int32_t)tm.tm_gmtoff;
}

static int
tz_push(struct policy_zone *z, size_t *cap, int64_t at, int32_t off)
{
	if (z->n == *cap) {
		size_t ncap = *cap == 0 ? 64 : *cap * 2;
		int64_t *a;
		int32_t *o;

		if (ncap > TZ_MAX_CHANGES)
			return PV_ERR_LIMIT;
		if ((a = reallocarray(z->at, ncap, sizeof(*a))) == NULL)
			return PV_ERR_ALLOC;
		z->at = a;
		if ((o = reallocarray(z->off, ncap, sizeof(*o))) == NULL)
			return PV_ERR_ALLOC;
		z->off = o;
		*cap = ncap;
	}
	z->at[z->n] = at;
	z->off[z->n] = off;
	z->n++;
	return 0;
}

/* Samples the C library's current zone into z. */
static int
tz_sample(struct policy_zone *z)
{
	int64_t t, lo, hi, mid;
	int32_t prev, cur;
	size_t cap = 0;
	int r;

	prev = tz_offset_libc(TZ_SAMPLE_FROM);
	if ((r = tz_push(z, &cap, INT64_MIN, prev)) != 0)
		return r;
	for (t = TZ_SAMPLE_FROM + TZ_SAMPLE_STEP; t <= TZ_SAMPLE_TO;
	     t += TZ_SAMPLE_STEP) {
		if ((cur = tz_offset_libc(t)) == prev)
			continue;
		lo = t - TZ_SAMPLE_STEP;
		hi = t;
		while (hi - lo > 1) {
			mid = lo + (hi - lo) / 2;
			if (tz_offset_libc(mid) == prev)
				lo = mid;
			else
				hi = mid;
		}
		if ((r = tz_push(z, &cap, hi, tz_offset_libc(hi))) != 0)
			return r;
		prev = z->off[z->n - 1];
		if (prev != cur && (r = tz_push(z, &cap, t, cur)) != 0)
			return r;
		prev = cur;
	}
	return 0;
}

/* Builds the table for name (NULL: the zone in effect now). */
static int
tz_build(const char *name, struct policy_zone *z)
{
	char *saved = NULL, *tzval = NULL;
	const char *old;
	int r = PV_ERR_INTERNAL, had = 0;

	if (name != NULL) {
		if ((old = getenv("TZ")) != NULL) {
			if ((saved = strdup(old)) == NULL)
				return PV_ERR_ALLOC;
			had = 1;
		}
		if (asprintf(&tzval, ":%s", name) < 0) {
			tzval = NULL;
			r = PV_ERR_ALLOC;
			goto out;
		}
		if (setenv("TZ", tzval, 1) != 0) {
			r = PV_ERR_ALLOC;
			goto out;
		}
	}
	tzset();
	r = tz_sample(z);
out:
	if (name != NULL) {
		if (had)
			(void)setenv("TZ", saved, 1);
		else
			(void)unsetenv("TZ");
		tzset();
	}
	free(saved);
	free(tzval);
	return r;
}

void
policy_zone_free(struct policy_zone *z)
{
	if (z == NULL)
		return;
	free(z->at);
	free(z->off);
	free(z);
}

int
policy_zone_get(struct policy *p, const char *name,
    const struct policy_zone **out, char *err, size_t errlen)
{
	struct policy_zone *z = NULL, **nz;
	size_t i;
	int r = PV_ERR_INTERNAL;

	*out = NULL;
	for (i = 0; i < p->nzones; i++) {
		const char *zn = p->zones[i]->name;

		if ((zn == NULL && name == NULL) ||
		    (zn != NULL && name != NULL && strcmp(zn, name) == 0)) {
			*out = p->zones[i];
			return 0;
		}
	}
	if ((z = calloc(1, sizeof(*z))) == NULL) {
		r = PV_ERR_ALLOC;
		goto out;
	}
	z->name = name;
	if ((r = tz_build(name, z)) != 0) {
		if (snprintf(err, errlen, "cannot build time zone table: %s",
			pv_err_str(r)) < 0)
			err[0] = '\0';
		goto out;
	}
	/* An array of pointers: each element is a pointer. */
	nz =
	    reallocarray(p->zones, p->nzones + 1, sizeof(struct policy_zone *));
	if (nz == NULL) {
		r = PV_ERR_ALLOC;
		goto out;
	}
	p->zones = nz;
	p->zones[p->nzones++] = z;
	*out = z;
	z = NULL;
	r = 0;
out:
	policy_zone_free(z);
	return r;
}

int32_t
policy_zone_offset(const struct policy_zone *z, int64_t t)
{
	size_t lo = 0, hi, mid;

	if (z == NULL || z->n == 0)
		return 0;
	/* The last entry with at <= t; at[0] is INT64_MIN. */
	hi = z->n;
	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		if (z->at[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	return z->off[lo];
}
