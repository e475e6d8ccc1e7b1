/*
 * test_store_pgbound.c: store_open_bounded against PostgreSQL servers
 * that stop answering, played by a process on a unix socket where libpq
 * looks for the server: one that never answers the connection (a stopped
 * postmaster), one that lets the connection in and never answers a query
 * (a stopped backend).  Each must fail within the bound with one line
 * naming it (one that hangs up mid-query at once, with libpq's), where libpq alone would wait for ever (a query) or for its
 * connect_timeout.  The real server stopped mid-session is
 * t_broker_pghang.sh.
 */
#include "config.h"

#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "store_test_util.h"

#define BOUND_MS 300
#define SLACK_MS 2000 /* a loaded machine, a sanitizer build */

enum mute { MUTE_CONNECT, MUTE_QUERY, HANGUP_QUERY };

static const struct {
	enum mute mute;
	int at_once;      /* fails before the bound (the server hung up) */
	const char *says; /* in the one line logged */
} cases[] = {
	{ MUTE_CONNECT, 0,
	    "cannot connect: the server did not answer within 300 ms" },
	{ MUTE_QUERY, 0,
	    "the server did not answer within 300 ms; connection dropped" },
	{ HANGUP_QUERY, 1, "server closed the connection unexpectedly" },
};

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* Appends one backend message (type, length, body) to b at *n. */
static void
msg(unsigned char *b, size_t *n, char type, const void *body, size_t len)
{
	b[(*n)++] = (unsigned char)type;
	put32(b + *n, (uint32_t)(len + 4));
	*n += 4;
	memcpy(b + *n, body, len);
	*n += len;
}

/*
 * The server's side, in a child: listens at dir/.s.PGSQL.5432; with
 * MUTE_QUERY accepts, reads the startup packet, says authentication ok
 * and ready, then reads and never answers; with HANGUP_QUERY it closes
 * the connection when the first query comes.
 */
static void
serve(const char *dir, enum mute mute, int ready)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	static const char version[] = "server_version\0"
				      "15.0";
	static const char enc[] = "client_encoding\0"
				  "UTF8";
	static const char scs[] = "standard_conforming_strings\0"
				  "on";
	unsigned char b[512], zero[4] = { 0 };
	size_t n = 0;
	int l, c;

	if (strlen(dir) + sizeof("/.s.PGSQL.5432") > sizeof(sa.sun_path))
		_exit(1);
	memcpy(sa.sun_path, dir, strlen(dir));
	memcpy(sa.sun_path + strlen(dir), "/.s.PGSQL.5432",
	    sizeof("/.s.PGSQL.5432"));
	if ((l = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
	    bind(l, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(l, 4) != 0)
		_exit(1);
	if (write(ready, "r", 1) != 1)
		_exit(1);
	if (mute == MUTE_CONNECT)
		for (;;)
			pause();
	if ((c = accept(l, NULL, NULL)) < 0 || read(c, b, sizeof(b)) <= 0)
		_exit(1);
	msg(b, &n, 'R', zero, sizeof(zero));
	msg(b, &n, 'S', version, sizeof(version));
	msg(b, &n, 'S', enc, sizeof(enc));
	msg(b, &n, 'S', scs, sizeof(scs));
	msg(b, &n, 'Z', "I", 1);
	if (write(c, b, n) != (ssize_t)n)
		_exit(1);
	if (mute == HANGUP_QUERY) {
		/* the query arrives; the server goes away without a word */
		if (read(c, b, sizeof(b)) <= 0)
			_exit(1);
		close(c);
		for (;;)
			pause();
	}
	while (read(c, b, sizeof(b)) > 0)
		;
	_exit(0);
}

static void
test_bound(void **state)
{
	char dir[256], where[512], log[512], line[1024];
	int p[2], saved, fd, found = 0;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct store *st = NULL;
		uint64_t t0, took;
		pid_t pid;
		char c;
		FILE *f;

		assert_int_equal(tsu_tmpdir(dir, sizeof(dir)), 0);
		assert_int_equal(pipe(p), 0);
		assert_true((pid = fork()) >= 0);
		if (pid == 0) {
			/* never outlives a test that failed or hung */
			(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
			close(p[0]);
			serve(dir, cases[i].mute, p[1]);
		}
		close(p[1]);
		assert_int_equal(read(p[0], &c, 1), 1);
		close(p[0]);
		(void)snprintf(where, sizeof(where),
		    "postgresql:///db?host=%s&user=u", dir);
		(void)snprintf(log, sizeof(log), "%s/stderr", dir);
		/* the one line goes to stderr: kept in a file to be read */
		assert_true((fd = open(log, O_WRONLY | O_CREAT, 0600)) >= 0);
		saved = dup(2);
		assert_true(dup2(fd, 2) == 2);
		t0 = pv_mono_ms();
		assert_int_not_equal(
		    store_open_bounded(where, BOUND_MS, &st), 0);
		took = pv_mono_ms() - t0;
		assert_true(dup2(saved, 2) == 2);
		close(saved);
		close(fd);
		assert_null(st);
		print_message("case %zu: failed after %llu ms\n", i,
		    (unsigned long long)took);
		if (cases[i].at_once)
			assert_true(took < BOUND_MS);
		else {
			assert_true(took >= BOUND_MS - 10);
			assert_true(took < BOUND_MS + SLACK_MS);
		}
		assert_non_null(f = fopen(log, "r"));
		found = 0;
		while (fgets(line, sizeof(line), f) != NULL)
			if (strstr(line, cases[i].says) != NULL)
				found = 1;
		(void)fclose(f);
		assert_true(found);
		(void)kill(pid, SIGKILL);
		(void)waitpid(pid, NULL, 0);
		tsu_rmdir(dir);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
