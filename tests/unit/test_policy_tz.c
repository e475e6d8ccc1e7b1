/*
 * test_policy_tz.c: the zone tables built at load time agree with the C
 * library everywhere, and loading leaves the process's TZ as it found it.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "common/common.h"
#include "policy/policy-int.h"

/* Zones with odd rules: half-hour DST, 45-minute offsets, a skipped day. */
static const char *const zones[] = {
	"Europe/Berlin",
	"America/New_York",
	"America/Sao_Paulo",
	"Australia/Lord_Howe",
	"Asia/Kathmandu",
	"Pacific/Apia",
	"Africa/Casablanca",
	"UTC",
};

static int
load_one(const char *tz, struct policy **p)
{
	char in[256], err[512];
	int n;

	n = snprintf(in, sizeof(in),
	    "Levels a\nRule r\n Classification a\n Approval none\n"
	    " Hours Mon 09:00-17:00\n%s%s%s",
	    tz != NULL ? " TZ " : "", tz != NULL ? tz : "",
	    tz != NULL ? "\n" : "");
	if (n < 0 || (size_t)n >= sizeof(in))
		return -1;
	if (policy_load_mem("tz.conf", in, (size_t)n, p, err, sizeof(err)) !=
	    0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

static int32_t
libc_offset(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	assert_non_null(localtime_r(&tt, &tm));
	return (int32_t)tm.tm_gmtoff;
}

/* A small deterministic generator, so a failure can be repeated. */
static uint64_t
next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void
test_tables_match_libc(void **state)
{
	struct policy *p = NULL;
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	size_t z, i;
	int64_t t;

	(void)state;
	for (z = 0; z < sizeof(zones) / sizeof(zones[0]); z++) {
		const struct policy_zone *zone;

		assert_int_equal(load_one(zones[z], &p), 0);
		assert_non_null(p);
		if (p == NULL)
			return; /* cmocka's asserts are not noreturn to the analyzer */
		zone = p->rules[0].zone;
		assert_non_null(zone);
		assert_string_equal(zone->name, zones[z]);
		assert_int_equal(setenv("TZ", zones[z], 1), 0);
		tzset();
		/* Random instants 1970-2099, and each side of every change. */
		for (i = 0; i < 20000; i++) {
			t = (int64_t)(next(&seed) % 4102444800ULL);
			if (policy_zone_offset(zone, t) != libc_offset(t))
				fail_msg("%s at %lld: %d, libc %d", zones[z],
				    (long long)t, policy_zone_offset(zone, t),
				    libc_offset(t));
		}
		for (i = 1; i < zone->n; i++) {
			t = zone->at[i];
			assert_int_equal(
			    policy_zone_offset(zone, t), libc_offset(t));
			assert_int_equal(policy_zone_offset(zone, t - 1),
			    libc_offset(t - 1));
		}
		assert_int_equal(setenv("TZ", "UTC", 1), 0);
		tzset();
		policy_free(p);
		p = NULL;
	}
}

/* Loading a TZ rule puts TZ back: unset stays unset, a value stays. */
static void
test_env_restored(void **state)
{
	struct policy *p = NULL;

	(void)state;
	assert_int_equal(unsetenv("TZ"), 0);
	assert_int_equal(load_one("Asia/Tokyo", &p), 0);
	assert_null(getenv("TZ"));
	policy_free(p);

	assert_int_equal(setenv("TZ", "America/Chicago", 1), 0);
	assert_int_equal(load_one("Asia/Tokyo", &p), 0);
	assert_string_equal(getenv("TZ"), "America/Chicago");
	/* And the C library is back on Chicago. */
	tzset();
	assert_int_equal(libc_offset(1783296000), -5 * 3600);
	policy_free(p);
	assert_int_equal(setenv("TZ", "UTC", 1), 0);
	tzset();
}

/* Without TZ a rule uses the broker's zone as it was at load time. */
static void
test_local_zone(void **state)
{
	struct policy_request req = { .engineer = "e", .classification = "a" };
	struct policy_decision d;
	struct policy *p = NULL;

	(void)state;
	assert_int_equal(setenv("TZ", "America/New_York", 1), 0);
	tzset();
	assert_int_equal(load_one(NULL, &p), 0);
	assert_int_equal(setenv("TZ", "UTC", 1), 0);
	tzset();
	/* Monday 2026-07-06 09:00 EDT = 13:00Z; 17:00 EDT = 21:00Z. */
	req.now = 1783296000 + 13 * 3600;
	assert_int_equal(policy_decide(p, &req, &d), PV_ALLOW);
	assert_int_equal(d.valid_until, 1783296000 + 21 * 3600);
	req.now = 1783296000 + 13 * 3600 - 1;
	assert_int_equal(policy_decide(p, &req, &d), PV_DENY);
	req.now = 1783296000 + 21 * 3600;
	assert_int_equal(policy_decide(p, &req, &d), PV_DENY);
	/* Instants far outside 1970-2100 still decide (deny here). */
	req.now = INT64_MAX;
	assert_int_equal(policy_decide(p, &req, &d), PV_DENY);
	req.now = INT64_MIN;
	assert_int_equal(policy_decide(p, &req, &d), PV_DENY);
	policy_free(p);
}

/* Week minutes before 1970 and across a DST change. */
static void
test_week_minute(void **state)
{
	struct policy *p = NULL;
	const struct policy_zone *zone;
	int64_t local;

	(void)state;
	assert_int_equal(load_one("Europe/Berlin", &p), 0);
	assert_non_null(p);
	if (p == NULL)
		return; /* cmocka's asserts are not noreturn to the analyzer */
	zone = p->rules[0].zone;
	/* 1969-12-31T23:59:00Z is Wednesday 23:59 UTC, Thursday 00:59 CET. */
	assert_int_equal(policy_week_minute(zone, -60, &local), 4 * 1440 + 59);
	assert_int_equal(local, 3540);
	/* 2026-03-29T00:59:59Z = 01:59 CET; 01:00:00Z = 03:00 CEST (Sun). */
	assert_int_equal(policy_week_minute(zone, 1774745999, NULL), 119);
	assert_int_equal(policy_week_minute(zone, 1774746000, NULL), 180);
	assert_int_equal(policy_week_minute(zone, INT64_MAX, NULL), -1);
	policy_free(p);
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tables_match_libc),
		cmocka_unit_test(test_env_restored),
		cmocka_unit_test(test_local_zone),
		cmocka_unit_test(test_week_minute),
	};

	if (setenv("TZ", "UTC", 1) != 0)
		return 1;
	unsetenv("TZDIR");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
