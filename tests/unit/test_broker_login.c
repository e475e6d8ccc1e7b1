/*
 * test_broker_login.c: the login string parser, one table line per case:
 * the three accepted forms, the caps, and every shape that must be refused.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "broker/broker.h"

#define A32 "abcdefghijklmnopqrstuvwxyz012345"
#define A64 A32 A32

struct login_case {
	const char *in;
	int want; /* 0 or the PV_ERR_* */
	enum broker_login_kind kind;
	const char *engineer, *account, *target;
};

static const struct login_case cases[] = {
	{ "alice", 0, BROKER_LOGIN_MENU, "alice", "", "" },
	{ "alice+db01", 0, BROKER_LOGIN_TARGET, "alice", "", "db01" },
	{ "alice+postgres@db01", 0, BROKER_LOGIN_ACCOUNT, "alice", "postgres",
	    "db01" },
	{ "a.b_c-d+x.y@web-1.prod", 0, BROKER_LOGIN_ACCOUNT, "a.b_c-d", "x.y",
	    "web-1.prod" },
	{ "0day+1@2", 0, BROKER_LOGIN_ACCOUNT, "0day", "1", "2" },
	{ A32, 0, BROKER_LOGIN_MENU, A32, "", "" },
	{ A32 "+" A32 "@" A64, 0, BROKER_LOGIN_ACCOUNT, A32, A32, A64 },
	{ A32 "x", PV_ERR_RANGE, 0, NULL, NULL, NULL },
	{ "alice+" A64 "x", PV_ERR_RANGE, 0, NULL, NULL, NULL },
	{ "alice+" A32 "x@db", PV_ERR_RANGE, 0, NULL, NULL, NULL },
	{ "", PV_ERR_INVALID, 0, NULL, NULL, NULL },
	{ "Alice", PV_ERR_INVALID, 0, NULL, NULL, NULL },
	{ "alice@db01", PV_ERR_INVALID, 0, NULL, NULL, NULL },
	{ "alice+", PV_ERR_INVALID, 0, NULL, NULL, NULL },
	{ "+db01", PV_ERR_INVALID, 0, NULL, NULL, NULL },
	{ "alice++db01", PV_ERR_INVALID, 0, NULL, NULL, NULL },
	{ "alice+db+01", PV_ERR_INVALID, 0, NULL, NULL, NULL },
	{ "alice+@db01", PV_ERR_INVALID, 0, NULL, NULL, NULL },
	{ "alice+pg@", PV_ERR_INVALID, 0, NULL, NULL, NULL },
	{ "alice+pg@db@x", PV_ERR_INVALID, 0, NULL, NULL, NULL },
	{ "alice+pg@@db", PV_ERR_INVALID, 0, NULL, NULL, NULL },
	{ "al ice", PV_ERR_INVALID, 0, NULL, NULL, NULL },
	{ "alice\n", PV_ERR_INVALID, 0, NULL, NULL, NULL },
	{ "-alice", PV_ERR_INVALID, 0, NULL, NULL, NULL },
	{ ".alice", PV_ERR_INVALID, 0, NULL, NULL, NULL },
	{ "alice+-db", PV_ERR_INVALID, 0, NULL, NULL, NULL },
	{ "alice+..@db", PV_ERR_INVALID, 0, NULL, NULL, NULL },
	{ "alice+pg@../etc", PV_ERR_INVALID, 0, NULL, NULL, NULL },
	{ "alice+pg@db/01", PV_ERR_INVALID, 0, NULL, NULL, NULL },
	{ "alice+*@db", PV_ERR_INVALID, 0, NULL, NULL, NULL },
	{ "alice+r?ot@db", PV_ERR_INVALID, 0, NULL, NULL, NULL },
	{ "al%ce", PV_ERR_INVALID, 0, NULL, NULL, NULL },
	{ "alicé", PV_ERR_INVALID, 0, NULL, NULL, NULL },
	{ "alice+pg@db01\x1b[2J", PV_ERR_INVALID, 0, NULL, NULL, NULL },
};

static void
test_login_table(void **state)
{
	struct broker_login l;
	size_t i;
	int r;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct login_case *c = &cases[i];

		memset(&l, 0x5a, sizeof(l));
		r = broker_login_parse(c->in, strlen(c->in), &l);
		if (r != c->want)
			fail_msg("case %zu \"%s\": got %d want %d", i, c->in, r,
			    c->want);
		if (r != 0) {
			/* Nothing of a refused string may be left behind. */
			assert_int_equal(l.engineer[0], '\0');
			assert_int_equal(l.target[0], '\0');
			assert_int_equal(l.account[0], '\0');
			continue;
		}
		assert_int_equal(l.kind, c->kind);
		assert_string_equal(l.engineer, c->engineer);
		assert_string_equal(l.account, c->account);
		assert_string_equal(l.target, c->target);
	}
}

static void
test_login_embedded_nul(void **state)
{
	struct broker_login l;
	static const char s[] = "alice\0+db01";

	(void)state;
	assert_int_equal(
	    broker_login_parse(s, sizeof(s) - 1, &l), PV_ERR_INVALID);
	assert_int_equal(broker_login_parse(NULL, 3, &l), PV_ERR_INVALID);
	assert_int_equal(broker_login_parse("abc", 3, NULL), PV_ERR_INVALID);
	/* A length beyond every cap is refused before the scan. */
	assert_int_equal(
	    broker_login_parse("a", BROKER_LOGIN_MAX + 1, &l), PV_ERR_RANGE);
}

static void
test_name_valid(void **state)
{
	(void)state;
	assert_int_equal(broker_name_valid("db01", 4, 64), 1);
	assert_int_equal(broker_name_valid("db01", 4, 3), 0);
	assert_int_equal(broker_name_valid("", 0, 3), 0);
	assert_int_equal(broker_name_valid("a*", 2, 3), 0);
	assert_int_equal(broker_name_valid("A", 1, 3), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_login_table),
		cmocka_unit_test(test_login_embedded_nul),
		cmocka_unit_test(test_name_valid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
