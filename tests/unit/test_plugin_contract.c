/*
 * test_plugin_contract.c: the contract plugin's file and evaluator: each
 * clause refuses with its name and line, the term is inclusive in the
 * contract's zone, the notice period counts down, and malformed files are
 * refused with NAME:LINE.
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

#include "plugins/contract/contract.h"

static const char good[] = "# acme's managed services\n"
			   "Contract acme-msa\n"
			   "    Provider acme\n"
			   "    Start 2026-01-01\n"
			   "    End 2026-12-31\n"
			   "    Notice 30d\n"
			   "    TimeZone Europe/Berlin\n"
			   "    Days Mon-Fri\n"
			   "    Hours 08:00-18:00\n"
			   "    Targets db* web0?\n"
			   "    Classifications public internal\n"
			   "    Exclude target db-vault*\n"
			   "    Exclude account root@db*\n"
			   "Contract globex-1\n"
			   "    Provider globex\n"
			   "    Start 2026-06-01\n"
			   "    End 2026-06-30\n";

/* Unix seconds of a UTC date and time. */
static int64_t
utc(int y, int mo, int d, int h, int mi)
{
	struct tm tm = { .tm_year = y - 1900,
		.tm_mon = mo - 1,
		.tm_mday = d,
		.tm_hour = h,
		.tm_min = mi };

	return (int64_t)timegm(&tm);
}

static int
ask(const struct contracts *c, const char *provider, const char *target,
    const char *cls, const char *account, int64_t now, char *why, int *notice)
{
	struct contract_ask a = { provider, target, cls, account, now, NULL,
		NULL };

	return contracts_check(c, &a, why, CONTRACT_ERR_MAX, notice);
}

static void
clauses(void **state)
{
	struct contracts *c = NULL;
	char err[CONTRACT_ERR_MAX], why[CONTRACT_ERR_MAX];
	/* Wednesday 2026-03-11 10:00 in Berlin (CET, UTC+1) */
	int64_t wed = utc(2026, 3, 11, 9, 0);
	int notice;

	(void)state;
	assert_int_equal(contracts_parse("c.conf", good, sizeof(good) - 1, &c,
			     err, sizeof(err)),
	    0);
	assert_int_equal(contracts_count(c), 2);
	assert_int_equal(
	    ask(c, "acme", "db01", "internal", "postgres", wed, why, &notice),
	    1);
	assert_int_equal(notice, -1);
	assert_int_equal(
	    ask(c, "acme", "app01", "internal", "x", wed, why, &notice), 0);
	assert_string_equal(why,
	    "contract acme-msa (c.conf:10, Targets): app01 is outside the "
	    "service scope");
	assert_int_equal(
	    ask(c, "acme", "db01", "restricted", "x", wed, why, &notice), 0);
	assert_non_null(strstr(why, "(c.conf:11, Classifications)"));
	assert_int_equal(
	    ask(c, "acme", "db-vault1", "public", "x", wed, why, &notice), 0);
	assert_non_null(strstr(why, "(c.conf:12, Exclude): target db-vault1"));
	assert_int_equal(
	    ask(c, "acme", "db01", "public", "root", wed, why, &notice), 0);
	assert_non_null(
	    strstr(why, "(c.conf:13, Exclude): account root on db01"));
	/* root on a web target is not excluded */
	assert_int_equal(
	    ask(c, "acme", "web01", "public", "root", wed, why, &notice), 1);
	/* Saturday, and Wednesday 18:30 Berlin (17:30 UTC) */
	assert_int_equal(ask(c, "acme", "db01", "public", "x",
			     utc(2026, 3, 14, 10, 0), why, &notice),
	    0);
	assert_non_null(strstr(why, "(c.conf:8, Days): not on a Sat"));
	assert_int_equal(ask(c, "acme", "db01", "public", "x",
			     utc(2026, 3, 11, 17, 30), why, &notice),
	    0);
	assert_non_null(
	    strstr(why, "outside 08:00-18:00 Europe/Berlin (now 18:30)"));
	/* 07:30 UTC is 08:30 in Berlin: open */
	assert_int_equal(ask(c, "acme", "db01", "public", "x",
			     utc(2026, 3, 11, 7, 30), why, &notice),
	    1);
	/* a provider without a contract */
	assert_int_equal(
	    ask(c, "initech", "db01", "public", "x", wed, why, &notice), 0);
	assert_string_equal(why, "no contract for provider initech (c.conf)");
	contracts_free(c);
}

/* Regions: the target's region (target set --region) must be listed. */
static void
regions(void **state)
{
	static const char conf[] = "Contract r\n"
				   "    Provider acme\n"
				   "    Start 2026-01-01\n"
				   "    End 2026-12-31\n"
				   "    Regions eu-west eu-central\n";
	static const char bad[] = "Contract r\n    Provider acme\n"
				  "    Regions eu west!\n";
	struct contracts *c = NULL;
	char err[CONTRACT_ERR_MAX], why[CONTRACT_ERR_MAX];
	struct contract_ask a = { .provider = "acme",
		.target = "db01",
		.classification = "public",
		.account = "root",
		.now = utc(2026, 3, 11, 9, 0) };
	int notice;

	(void)state;
	assert_int_equal(contracts_parse("c.conf", conf, sizeof(conf) - 1, &c,
			     err, sizeof(err)),
	    0);
	assert_int_equal(contracts_wants_region(c, "acme"), 1);
	assert_int_equal(contracts_wants_region(c, "globex"), 0);
	a.region = "eu-central";
	assert_int_equal(contracts_check(c, &a, why, sizeof(why), &notice), 1);
	a.region = "us-east";
	assert_int_equal(contracts_check(c, &a, why, sizeof(why), &notice), 0);
	assert_string_equal(why,
	    "contract r (c.conf:5, Regions): db01 is in region us-east, "
	    "outside the scope");
	/* a target without a region is outside a scope of regions */
	a.region = NULL;
	assert_int_equal(contracts_check(c, &a, why, sizeof(why), &notice), 0);
	assert_string_equal(
	    why, "contract r (c.conf:5, Regions): db01 has no region");
	contracts_free(c);
	c = NULL;
	assert_int_equal(contracts_parse("c.conf", bad, sizeof(bad) - 1, &c,
			     err, sizeof(err)),
	    -1);
	assert_string_equal(
	    err, "c.conf:3: Regions: \"west!\" is not a region");
}

static void
term_and_notice(void **state)
{
	struct contracts *c = NULL;
	char err[CONTRACT_ERR_MAX], why[CONTRACT_ERR_MAX];
	int notice;

	(void)state;
	assert_int_equal(contracts_parse("c.conf", good, sizeof(good) - 1, &c,
			     err, sizeof(err)),
	    0);
	/* globex: 2026-06-01 to 2026-06-30 inclusive, UTC, every day */
	assert_int_equal(ask(c, "globex", "any", "restricted", "root",
			     utc(2026, 5, 31, 23, 59), why, &notice),
	    0);
	assert_string_equal(why,
	    "contract globex-1 (c.conf:16, Start): it begins on 2026-06-01");
	assert_int_equal(ask(c, "globex", "any", "x", "root",
			     utc(2026, 6, 1, 0, 0), why, &notice),
	    1);
	assert_int_equal(ask(c, "globex", "any", "x", "root",
			     utc(2026, 6, 30, 23, 59), why, &notice),
	    1);
	assert_int_equal(ask(c, "globex", "any", "x", "root",
			     utc(2026, 7, 1, 0, 0), why, &notice),
	    0);
	assert_string_equal(
	    why, "contract globex-1 (c.conf:17, End): it ended on 2026-06-30");
	/* acme's last day: 31 Dec 2026 (Thursday) in Berlin; notice 0 */
	assert_int_equal(ask(c, "acme", "db01", "public", "x",
			     utc(2026, 12, 31, 9, 0), why, &notice),
	    1);
	assert_int_equal(notice, 0);
	/* the notice is the last 30 days: 2 Dec to 31 Dec */
	assert_int_equal(ask(c, "acme", "db01", "public", "x",
			     utc(2026, 12, 1, 9, 0), why, &notice),
	    1);
	assert_int_equal(notice, -1);
	assert_int_equal(ask(c, "acme", "db01", "public", "x",
			     utc(2026, 12, 2, 9, 0), why, &notice),
	    1);
	assert_int_equal(notice, 29);
	/* the engineer's banner names the contract, its end and days left */
	assert_int_equal(contracts_banner(c, "acme", 29, why, sizeof(why)), 0);
	assert_string_equal(
	    why, "contract acme-msa ends 2026-12-31: 29 days left");
	assert_int_equal(contracts_banner(c, "acme", 1, why, sizeof(why)), 0);
	assert_string_equal(
	    why, "contract acme-msa ends 2026-12-31: 1 day left");
	assert_int_equal(
	    contracts_banner(c, "initech", 1, why, sizeof(why)), -1);
	/* 23:30 UTC on 31 Dec is 00:30 on 1 Jan in Berlin: ended */
	assert_int_equal(ask(c, "acme", "db01", "public", "x",
			     utc(2026, 12, 31, 23, 30), why, &notice),
	    0);
	contracts_free(c);
}

/* OperateFrom: where the provider's engineers may connect from. */
static void
operate_from(void **state)
{
	static const char conf[] = "Contract o\n"
				   "    Provider acme\n"
				   "    Start 2026-01-01\n"
				   "    End 2026-12-31\n"
				   "    OperateFrom eu-office 192.0.2.0/24 "
				   "2001:db8:1::/48\n"
				   "    OperateFrom eu-vpn 198.51.100.7\n";
	static const struct {
		const char *source;
		int want;
	} cases[] = {
		{ "192.0.2.1", 1 },
		{ "192.0.2.255", 1 },
		{ "192.0.3.1", 0 },
		{ "198.51.100.7", 1 },
		{ "198.51.100.8", 0 },
		{ "::ffff:192.0.2.9", 1 }, /* v4-mapped: IPv4 */
		{ "::ffff:10.0.0.1", 0 },
		{ "2001:db8:1:ffff::1", 1 },
		{ "2001:db8:2::1", 0 },
		{ "not an address", 0 },
	};
	struct contracts *c = NULL;
	char err[CONTRACT_ERR_MAX], why[CONTRACT_ERR_MAX];
	struct contract_ask a = { .provider = "acme",
		.target = "db01",
		.classification = "public",
		.account = "root",
		.now = utc(2026, 3, 11, 9, 0) };
	FILE *f;
	char *text = NULL;
	size_t i, len = 0;
	int notice;

	(void)state;
	assert_int_equal(contracts_parse("c.conf", conf, sizeof(conf) - 1, &c,
			     err, sizeof(err)),
	    0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		a.source = cases[i].source;
		assert_int_equal(
		    contracts_check(c, &a, why, sizeof(why), &notice),
		    cases[i].want);
	}
	a.source = "203.0.113.5";
	assert_int_equal(contracts_check(c, &a, why, sizeof(why), &notice), 0);
	assert_string_equal(why,
	    "contract o (c.conf:5, OperateFrom): 203.0.113.5 is outside "
	    "eu-office, eu-vpn");
	/* no connection, no address: refused, not waved through */
	a.source = NULL;
	assert_int_equal(contracts_check(c, &a, why, sizeof(why), &notice), 0);
	assert_string_equal(why,
	    "contract o (c.conf:5, OperateFrom): the engineer's address is "
	    "not known here");
	/* the terms name every network */
	assert_non_null(f = open_memstream(&text, &len));
	assert_int_equal(contracts_print(c, "acme", f, NULL, NULL), 0);
	assert_int_equal(fclose(f), 0);
	assert_non_null(strstr(text,
	    "operate from: eu-office 192.0.2.0/24 2001:db8:1::/48\n"
	    "operate from: eu-vpn 198.51.100.7/32\n"));
	free(text);
	contracts_free(c);
}

static void
malformed(void **state)
{
	static const struct {
		const char *text, *want;
	} bad[] = {
		{ "Provider acme\n", "m.conf:1: Provider before the first" },
		{ "Contract a\nProvider acme\nStart 2026-01-01\n",
		    "m.conf:1: contract a needs Provider, Start and End" },
		{ "Contract a\nProvider acme\nStart 2026-02-29\nEnd "
		  "2026-03-01\n",
		    "m.conf:3: Start: not a date" },
		{ "Contract a\nProvider acme\nStart 2026-03-01\nEnd "
		  "2026-01-01\n",
		    "m.conf:4: End is before Start" },
		{ "Contract a\nProvider acme\nProvider acme\n",
		    "m.conf:3: Provider given twice (line 2)" },
		{ "Contract a\nProvider acme\nStart 2026-01-01\nEnd "
		  "2026-12-31\nContract b\nProvider acme\n",
		    "m.conf:6: provider acme already has contract a (line 1)" },
		{ "Contract a\nHours 18:00-08:00\n", "m.conf:2: Hours:" },
		{ "Contract a\nDays Mon-Funday\n", "m.conf:2: Days:" },
		{ "Contract a\nNotice 30\n", "m.conf:2: Notice:" },
		{ "Contract a\nTimeZone ../../etc/passwd\n",
		    "m.conf:2: TimeZone:" },
		{ "Contract a\nTargets db;rm\n", "m.conf:2: Targets:" },
		{ "Contract a\nExclude host x\n", "m.conf:2: Exclude:" },
		{ "Contract a\nColour red\n",
		    "m.conf:2: unknown keyword \"Colour\"" },
		{ "Contract a b\n", "m.conf:1: Contract takes one id" },
		{ "Contract a\nProvider ac\001me\n",
		    "m.conf:2: a control character" },
		{ "", "m.conf:0: no Contract" },
		{ "Contract a\nOperateFrom eu\n",
		    "m.conf:2: OperateFrom: NAME" },
		{ "Contract a\nOperateFrom eu 192.0.2.1/24\n",
		    "m.conf:2: OperateFrom: \"192.0.2.1/24\" is not a "
		    "network" },
		{ "Contract a\nOperateFrom eu 192.0.2.0/33\n",
		    "m.conf:2: OperateFrom: \"192.0.2.0/33\"" },
		{ "Contract a\nOperateFrom eu 192.0.2.0/024\n",
		    "m.conf:2: OperateFrom: \"192.0.2.0/024\"" },
		{ "Contract a\nOperateFrom eu 2001:db8::/129\n",
		    "m.conf:2: OperateFrom: \"2001:db8::/129\"" },
		{ "Contract a\nOperateFrom eu db01\n",
		    "m.conf:2: OperateFrom: \"db01\"" },
		{ "Contract a\nOperateFrom eu 10.0.0.0/8\nOperateFrom eu "
		  "10.0.0.0/8\n",
		    "m.conf:3: OperateFrom eu given twice (line 2)" },
	};
	struct contracts *c;
	char err[CONTRACT_ERR_MAX];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = (struct contracts *)&c;
		assert_int_equal(contracts_parse("m.conf", bad[i].text,
				     strlen(bad[i].text), &c, err, sizeof(err)),
		    -1);
		assert_null(c);
		print_message("%s\n", err);
		assert_non_null(strstr(err, bad[i].want));
	}
	/* a NUL inside a line */
	assert_int_equal(contracts_parse("m.conf", "Contract a\0b\n", 13, &c,
			     err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "m.conf:1: a NUL byte"));
}

static int
ended_one(void *ctx, const char *provider, const char *why)
{
	char *seen = ctx;

	(void)snprintf(
	    seen + strlen(seen), 512 - strlen(seen), "%s: %s|", provider, why);
	return 0;
}

/*
 * Whose contract has ended (exit due): the day after End in the
 * contract's zone, not before.
 */
static void
ended(void **state)
{
	struct contracts *c = NULL;
	char err[CONTRACT_ERR_MAX], seen[512];

	(void)state;
	assert_int_equal(
	    contracts_parse("c.conf", good, strlen(good), &c, err, sizeof(err)),
	    0);
	seen[0] = '\0';
	/* globex ends 2026-06-30 (UTC): the last second of that day */
	assert_int_equal(
	    contracts_ended(c, utc(2026, 6, 30, 23, 59), ended_one, seen), 0);
	assert_string_equal(seen, "");
	assert_int_equal(
	    contracts_ended(c, utc(2026, 7, 1, 0, 0), ended_one, seen), 0);
	assert_string_equal(seen,
	    "globex: contract globex-1 (c.conf:17, End) ended on 2026-06-30|");
	/* acme ends 2026-12-31 in Berlin: 23:30 UTC is already the 1st */
	seen[0] = '\0';
	assert_int_equal(
	    contracts_ended(c, utc(2026, 12, 31, 22, 59), ended_one, seen), 0);
	assert_null(strstr(seen, "acme"));
	assert_int_equal(
	    contracts_ended(c, utc(2026, 12, 31, 23, 30), ended_one, seen), 0);
	assert_non_null(strstr(seen,
	    "acme: contract acme-msa (c.conf:5, End) ended on 2026-12-31|"));
	contracts_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(clauses),
		cmocka_unit_test(regions),
		cmocka_unit_test(operate_from),
		cmocka_unit_test(term_and_notice),
		cmocka_unit_test(ended),
		cmocka_unit_test(malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
