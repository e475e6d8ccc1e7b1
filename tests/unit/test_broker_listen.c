/*
 * test_broker_listen.c: ListenAddress values into host and port, one table
 * line per case (the rest of provostd.conf is tested with store/).
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "broker/broker.h"

struct listen_case {
	const char *in;
	const char *host;
	unsigned int port;
	int ok;
};

static const struct listen_case cases[] = {
	{ "0.0.0.0:2222", "0.0.0.0", 2222, 1 },
	{ "127.0.0.1:1", "127.0.0.1", 1, 1 },
	{ "[::1]:2201", "::1", 2201, 1 },
	{ "[::]", "::", 2222, 1 },
	{ "localhost", "localhost", 2222, 1 },
	{ "bastion.example:65535", "bastion.example", 65535, 1 },
	{ "1.2.3.4:0", NULL, 0, 0 },
	{ "1.2.3.4:65536", NULL, 0, 0 },
	{ "1.2.3.4:22x", NULL, 0, 0 },
	{ "1.2.3.4:", NULL, 0, 0 },
	{ ":22", NULL, 0, 0 },
	{ "::1", NULL, 0, 0 },
	{ "[::1", NULL, 0, 0 },
	{ "[::1]x", NULL, 0, 0 },
	{ "[]:22", NULL, 0, 0 },
	{ "", NULL, 0, 0 },
};

static void
test_listen_table(void **state)
{
	struct broker_listen l;
	size_t i;
	int r;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = broker_listen_parse(cases[i].in, &l);
		if ((r == 0) != cases[i].ok)
			fail_msg("case %zu \"%s\": got %d", i, cases[i].in, r);
		if (r != 0)
			continue;
		assert_string_equal(l.host, cases[i].host);
		assert_int_equal(l.port, cases[i].port);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_listen_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
