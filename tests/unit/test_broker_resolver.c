/*
 * test_broker_resolver.c: the resolver's answers as the monitor checks
 * them (one table line per malformed case), and a real resolver process:
 * a lookup, a deadline, a cancelled owner, the process killed mid-lookup.
 */
#include "config.h"

#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "broker/broker.h"
#include "broker/monitor/resolver.h"

/* A good answer with one IPv4 address, then edited per case. */
static size_t
good_v4(uint8_t *m)
{
	static const uint8_t g[] = { 'A', 0, 0, 0, 7, 1, 0, 4, 127, 0, 0, 1, 0,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };

	memcpy(m, g, sizeof(g));
	return sizeof(g);
}

static size_t
good_err(uint8_t *m)
{
	static const uint8_t g[] = { 'A', 0, 0, 0, 9, 0, 4, 'o', 'o', 'p',
		's' };

	memcpy(m, g, sizeof(g));
	return sizeof(g);
}

struct bad_case {
	const char *what;
	size_t (*base)(uint8_t *m);
	int at;       /* byte to set, -1: none */
	uint8_t to;   /* ... to this */
	int lendelta; /* and the length changed by this */
};

static const struct bad_case bad[] = {
	{ "empty", good_v4, -1, 0, -24 },
	{ "header cut", good_v4, -1, 0, -20 },
	{ "an address cut", good_v4, -1, 0, -1 },
	{ "a stray byte after it", good_v4, -1, 0, 1 },
	{ "not an answer", good_v4, 0, 'Q', 0 },
	{ "request id 0", good_v4, 4, 0, 0 },
	{ "two addresses counted, one sent", good_v4, 5, 2, 0 },
	{ "nine addresses", good_v4, 5, 9, 0 },
	{ "no address and no error", good_v4, 5, 0, 0 },
	{ "an address and an error", good_v4, 6, 1, 0 },
	{ "family 0", good_v4, 7, 0, 0 },
	{ "family AF_UNIX", good_v4, 7, 1, 0 },
	{ "family 5", good_v4, 7, 5, 0 },
	{ "family AF_INET6 number", good_v4, 7, 10, 0 },
	{ "IPv4 with stray bytes", good_v4, 20, 1, 0 },
	{ "error with a NUL", good_err, 8, 0, 0 },
	{ "error with a newline", good_err, 8, '\n', 0 },
	{ "error with a high byte", good_err, 10, 0xc3, 0 },
	{ "error longer than sent", good_err, 6, 5, 0 },
	{ "error shorter than sent", good_err, 6, 3, 0 },
	{ "error too long", good_err, 6, BROKER_RES_ERR_MAX + 1, 0 },
};

static void
test_answer_refused(void **state)
{
	uint8_t m[BROKER_RES_ANSWER_MAX + 8];
	struct broker_res_answer a;
	char why[128];
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(m, 0, sizeof(m));
		n = bad[i].base(m);
		if (bad[i].at >= 0)
			m[bad[i].at] = bad[i].to;
		n = (size_t)((long)n + bad[i].lendelta);
		if (broker_res_answer_parse(m, n, &a, why, sizeof(why)) !=
		    PV_ERR_PROTOCOL)
			fail_msg("case %zu (%s) accepted", i, bad[i].what);
		/* one line saying why, nothing kept */
		assert_true(why[0] != '\0' && strchr(why, '\n') == NULL);
		assert_int_equal(a.id, 0);
		assert_int_equal(a.naddr, 0);
	}
	/* longer than any answer can be */
	assert_int_equal(broker_res_answer_parse(m, BROKER_RES_ANSWER_MAX + 1,
			     &a, why, sizeof(why)),
	    PV_ERR_PROTOCOL);
}

static void
test_answer_good(void **state)
{
	uint8_t m[BROKER_RES_ANSWER_MAX], again[BROKER_RES_ANSWER_MAX];
	struct broker_res_answer a, b;
	char why[128];
	size_t n, n2, i;

	(void)state;
	n = good_v4(m);
	assert_int_equal(
	    broker_res_answer_parse(m, n, &a, why, sizeof(why)), 0);
	assert_int_equal(a.id, 7);
	assert_int_equal(a.naddr, 1);
	assert_int_equal(a.addr[0].family, AF_INET);
	assert_memory_equal(a.addr[0].addr, "\x7f\0\0\1", 4);
	assert_string_equal(a.err, "");
	n = good_err(m);
	assert_int_equal(
	    broker_res_answer_parse(m, n, &a, why, sizeof(why)), 0);
	assert_int_equal(a.id, 9);
	assert_int_equal(a.naddr, 0);
	assert_string_equal(a.err, "oops");
	/* the most an answer holds: eight IPv6 addresses, built and read */
	memset(&b, 0, sizeof(b));
	b.id = 0xfffffffe;
	b.naddr = BROKER_RES_ADDRS_MAX;
	for (i = 0; i < b.naddr; i++) {
		b.addr[i].family = AF_INET6;
		memset(b.addr[i].addr, (int)i + 1, 16);
	}
	assert_int_equal(broker_res_answer_build(&b, m, sizeof(m), &n), 0);
	assert_int_equal(
	    broker_res_answer_parse(m, n, &a, why, sizeof(why)), 0);
	assert_memory_equal(&a, &b, sizeof(a));
	assert_int_equal(
	    broker_res_answer_build(&a, again, sizeof(again), &n2), 0);
	assert_int_equal(n, n2);
	assert_memory_equal(m, again, n);
}

/* ---- a real resolver process ---- */

struct got {
	int n;
	void *owner[8];
	struct broker_res_answer a[8];
};

static void
on_done(void *ctx, void *owner, const struct broker_res_answer *a)
{
	struct got *g = ctx;

	if (g->n < 8) {
		g->owner[g->n] = owner;
		g->a[g->n] = *a;
	}
	g->n++;
}

/* Reads answers until want have come (or ms). */
static void
wait_for(struct broker_resolver *r, struct got *g, int want, int ms)
{
	struct pollfd p;
	int i;

	for (i = 0; i < ms / 10 && g->n < want; i++) {
		p.fd = broker_resolver_fd(r);
		p.events = POLLIN;
		if (p.fd < 0)
			break;
		if (poll(&p, 1, 10) == 1)
			(void)broker_resolver_read(r);
	}
}

static void
test_process(void **state)
{
	struct broker_resolver *r = NULL;
	struct got g = { 0 };
	char why[128];
	uint32_t id, id2;
	int x = 1, y = 2, status;
	pid_t pid;

	(void)state;
	assert_int_equal(
	    broker_resolver_new(NULL, NULL, on_done, NULL, &g, &r), 0);
	/* none before the first lookup */
	assert_true(broker_resolver_pid(r) == -1 && broker_resolver_fd(r) < 0);
	/* /etc/hosts: an address, for the right owner */
	assert_int_equal(
	    broker_resolver_ask(r, "localhost", 22, &x, &id, why, sizeof(why)),
	    0);
	pid = broker_resolver_pid(r);
	assert_true(pid > 0 && broker_resolver_fd(r) >= 0);
	wait_for(r, &g, 1, 5000);
	assert_int_equal(g.n, 1);
	assert_ptr_equal(g.owner[0], &x);
	assert_int_equal(g.a[0].id, id);
	assert_true(g.a[0].naddr >= 1);
	assert_true(g.a[0].addr[0].family == AF_INET ||
	    g.a[0].addr[0].family == AF_INET6);
	/* not a host name at all: refused before it is sent */
	assert_int_not_equal(
	    broker_resolver_ask(r, "bad\nname", 22, &x, &id2, why, sizeof(why)),
	    0);
	assert_string_equal(why, "not a host name");
	/* the owner gone: its answer is dropped, nobody is told */
	assert_int_equal(
	    broker_resolver_ask(r, "localhost", 22, &y, &id2, why, sizeof(why)),
	    0);
	broker_resolver_cancel(r, id2);
	wait_for(r, &g, 2, 300);
	assert_int_equal(g.n, 1);
	/* a deadline passed: "name lookup timed out", once */
	assert_int_equal(
	    broker_resolver_ask(r, "localhost", 22, &y, &id2, why, sizeof(why)),
	    0);
	assert_false(broker_resolver_due(r, pv_mono_ms()));
	assert_true(
	    broker_resolver_due(r, pv_mono_ms() + BROKER_RES_DEADLINE_MS + 1));
	broker_resolver_tick(r, pv_mono_ms() + BROKER_RES_DEADLINE_MS + 1);
	assert_int_equal(g.n, 2);
	assert_ptr_equal(g.owner[1], &y);
	assert_string_equal(g.a[1].err, "name lookup timed out");
	assert_int_equal(g.a[1].naddr, 0);
	wait_for(r, &g, 3, 300); /* the late answer: dropped */
	assert_int_equal(g.n, 2);
	/* killed with a lookup in flight: it fails at once, fail closed */
	assert_int_equal(kill(pid, SIGSTOP), 0);
	assert_int_equal(
	    broker_resolver_ask(r, "localhost", 22, &x, &id2, why, sizeof(why)),
	    0);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(broker_resolver_reaped(r, pid, status), 1);
	wait_for(r, &g, 3, 5000);
	assert_int_equal(g.n, 3);
	assert_string_equal(g.a[2].err, "the resolver process ended");
	assert_int_equal(broker_resolver_fd(r), -1);
	/* started again, at most once a second */
	assert_int_not_equal(
	    broker_resolver_ask(r, "localhost", 22, &x, &id2, why, sizeof(why)),
	    0);
	assert_string_equal(why, "the resolver process is restarting");
	(void)poll(NULL, 0, BROKER_RES_RESTART_MS + 50);
	assert_int_equal(
	    broker_resolver_ask(r, "localhost", 22, &x, &id2, why, sizeof(why)),
	    0);
	assert_true(broker_resolver_pid(r) != pid);
	wait_for(r, &g, 4, 5000);
	assert_int_equal(g.n, 4);
	assert_true(g.a[3].naddr >= 1);
	broker_resolver_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answer_refused),
		cmocka_unit_test(test_answer_good),
		cmocka_unit_test(test_process),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
