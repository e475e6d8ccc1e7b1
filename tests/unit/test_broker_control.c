/*
 * test_broker_control.c: provostd's pre-auth limits (MaxStartups,
 * PerSourceMaxStartups, PerSourcePenalty) and their configuration keywords;
 * a session process forgets the daemon's table without copying it, and
 * drops the store's page cache.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "broker/monitor/monitor.h"
#include "broker/monitor/control-int.h"
#include "store/store.h"

static int audits;

static int
fake_audit(
    void *ctx, const char *session_id, const char *event, const char *detail)
{
	if (strcmp(event, "preauth.penalty") == 0)
		audits++;
	return 0;
}

static const struct broker_backend_ops fake_ops = {
	.name = "fake",
	.audit = fake_audit,
};

struct fixture {
	struct pv_config *conf;
	struct broker_ctx bx;
	struct broker_ctl c;
};

static void
fixture_init(struct fixture *f, const char *text)
{
	char err[PV_CONF_ERR_MAX];

	memset(f, 0, sizeof(*f));
	assert_int_equal(pv_config_new(&f->conf), 0);
	assert_int_equal(pv_config_load_mem(f->conf, "t.conf", text,
			     strlen(text), err, sizeof(err)),
	    0);
	f->bx.conf = f->conf;
	f->bx.backend.ops = &fake_ops;
	f->c.bx = &f->bx;
	f->c.lfd = -1;
	f->c.pending_fd = -1;
}

static void
fixture_done(struct fixture *f)
{
	free(f->c.kids);
	free(f->c.src);
	free(f->c.linkidx); /* the links' map, by descriptor */
	pv_config_free(f->conf);
}

/* One connection through admit and (if allowed) into the table. */
static int
admit(struct fixture *f, const char *addr, pid_t pid)
{
	int cfd = -1, r;

	r = broker_ctl_admit(&f->c, addr, addr, &cfd);
	if (r == PV_ALLOW) {
		assert_true(cfd >= 0);
		close(cfd);
		broker_ctl_child_add(&f->c, pid, addr, NULL);
	} else
		assert_int_equal(cfd, -1);
	return r;
}

static void
test_per_source(void **state)
{
	struct fixture f;
	pid_t pid = 100;
	uint64_t in, out;
	int i;

	fixture_init(&f, "PerSourceMaxStartups 3\nMaxStartups 50:30:100\n");
	for (i = 0; i < 3; i++)
		assert_int_equal(admit(&f, "10.0.0.1", pid++), PV_ALLOW);
	for (i = 0; i < 20; i++)
		assert_int_equal(admit(&f, "10.0.0.1", pid++), PV_DENY);
	/* Another address is not affected. */
	assert_int_equal(admit(&f, "10.0.0.2", pid++), PV_ALLOW);
	/* Once one authenticates, its slot is free again. */
	f.c.kids[0].authenticated = 1;
	assert_int_equal(admit(&f, "10.0.0.1", pid++), PV_ALLOW);
	assert_int_equal(admit(&f, "10.0.0.1", pid++), PV_DENY);
	/* A process that exits leaves the table. */
	broker_ctl_child_gone(&f.c, f.c.kids[1].pid, &in, &out);
	assert_int_equal(admit(&f, "10.0.0.1", pid++), PV_ALLOW);
	fixture_done(&f);
}

static void
test_max_startups(void **state)
{
	struct fixture f;
	char addr[32];
	int i, allowed = 0, dropped = 0;
	pid_t pid = 100;

	fixture_init(&f, "MaxStartups 4:50:8\nPerSourceMaxStartups 1000\n");
	/* Below START everything passes. */
	for (i = 0; i < 4; i++)
		assert_int_equal(admit(&f, "10.0.0.1", pid++), PV_ALLOW);
	/* Between START and FULL some pass, and never beyond FULL. */
	for (i = 0; i < 400; i++) {
		(void)snprintf(
		    addr, sizeof(addr), "10.1.%d.%d", i / 250, i % 250);
		if (admit(&f, addr, pid++) == PV_ALLOW)
			allowed++;
		else
			dropped++;
	}
	assert_int_equal(f.c.nkids, 8);
	assert_int_equal(allowed, 4);
	assert_int_equal(dropped, 396);
	assert_true(f.c.drops == 396);
	fixture_done(&f);
}

static void
test_penalty(void **state)
{
	struct fixture f;
	struct ctl_source *e;
	pid_t pid = 100;
	int i;

	fixture_init(&f, "PerSourcePenalty 3:1m\n");
	audits = 0;
	assert_int_equal(admit(&f, "10.0.0.9", pid++), PV_ALLOW);
	assert_int_equal(f.c.verdict_delay_ms, 0);
	/* Failures as the session process reports them. */
	f.c.nsrc = 1;
	f.c.srccap = 1;
	f.c.src = calloc(1, sizeof(*f.c.src));
	assert_non_null(f.c.src);
	e = &f.c.src[0];
	(void)snprintf(e->addr, sizeof(e->addr), "10.0.0.9");
	e->failures = 2;
	e->last_ms = pv_wall_ms();
	assert_int_equal(admit(&f, "10.0.0.9", pid++), PV_ALLOW);
	assert_int_equal(f.c.verdict_delay_ms, 500);
	e->failures = 3;
	for (i = 0; i < 3; i++)
		assert_int_equal(admit(&f, "10.0.0.9", pid++), PV_DENY);
	assert_int_equal(audits, 1); /* audited once, not per connection */
	assert_int_equal(admit(&f, "10.0.0.10", pid++), PV_ALLOW);
	/* DURATION after the last failure, the address is forgiven. */
	e->last_ms = pv_wall_ms() - 61 * 1000;
	assert_int_equal(admit(&f, "10.0.0.9", pid++), PV_ALLOW);
	assert_int_equal(e->failures, 0);
	fixture_done(&f);
}

/*
 * A source an engineer got in from has its own start capacity: a flood
 * from unknown addresses fills MaxStartups, and she still gets in; and a
 * burst from her host may hold 4 x PerSourceMaxStartups.
 */
static void
test_known_sources(void **state)
{
	struct fixture f;
	char addr[32];
	pid_t pid = 100;
	int i;

	fixture_init(&f, "MaxStartups 4:100:4\nPerSourceMaxStartups 2\n");
	assert_int_equal(admit(&f, "10.9.9.9", pid), PV_ALLOW);
	broker_ctl_child_identity(&f.c, pid++, "alice", NULL, NULL, NULL);
	for (i = 0; i < 4; i++) {
		(void)snprintf(addr, sizeof(addr), "10.2.0.%d", i + 1);
		assert_int_equal(admit(&f, addr, pid++), PV_ALLOW);
	}
	assert_int_equal(admit(&f, "10.2.0.99", pid++), PV_DENY);
	/* her own pool (MaxStartups counts it apart): the flood cannot fill it */
	for (i = 0; i < 4; i++)
		assert_int_equal(admit(&f, "10.9.9.9", pid++), PV_ALLOW);
	assert_int_equal(admit(&f, "10.9.9.9", pid++), PV_DENY);
	fixture_done(&f);
}

/* An IPv6 client is its /64: a host picks addresses in it at will. */
static void
test_penalty_v6(void **state)
{
	struct fixture f;
	pid_t pid = 100;

	fixture_init(&f, "PerSourcePenalty 3:1m\nPerSourceMaxStartups 2\n");
	broker_ctl_auth_failed(&f.c, "2001:db8:1:2::1", 1);
	broker_ctl_auth_failed(&f.c, "2001:db8:1:2::2", 1);
	broker_ctl_auth_failed(&f.c, "2001:db8:1:2:ffff::3", 1);
	assert_int_equal(admit(&f, "2001:db8:1:2::4", pid++), PV_DENY);
	assert_int_equal(admit(&f, "2001:db8:1:3::1", pid++), PV_ALLOW);
	assert_int_equal(admit(&f, "2001:db8:1:3::2", pid++), PV_ALLOW);
	/* PerSourceMaxStartups counts the /64 too */
	assert_int_equal(admit(&f, "2001:db8:1:3::3", pid++), PV_DENY);
	/* IPv4 addresses stay their own */
	broker_ctl_auth_failed(&f.c, "10.0.0.1", 3);
	assert_int_equal(admit(&f, "10.0.0.2", pid++), PV_ALLOW);
	assert_int_equal(admit(&f, "10.0.0.1", pid++), PV_DENY);
	fixture_done(&f);
}

struct kw_case {
	const char *text;
	int ok;
};

static const struct kw_case kw_cases[] = {
	{ "MaxStartups 10:30:100\n", 1 },
	{ "MaxStartups 20\n", 1 },
	{ "MaxStartups 10:30\n", 0 },
	{ "MaxStartups 100:30:10\n", 0 },
	{ "MaxStartups 10:101:100\n", 0 },
	{ "MaxStartups 0:30:100\n", 0 },
	{ "MaxStartups x:y:z\n", 0 },
	{ "MaxStartups 1:2:3\nMaxStartups 1:2:3\n", 0 },
	{ "PerSourcePenalty 10:5m\n", 1 },
	{ "PerSourcePenalty 10\n", 0 },
	{ "PerSourcePenalty 0:5m\n", 0 },
	{ "PerSourcePenalty 5:0s\n", 0 },
	{ "PerSourcePenalty 5:2d\n", 0 },
	{ "PerSourceMaxStartups 0\n", 0 },
	{ "PerSourceMaxStartups 5\n", 1 },
	{ "StoreStaleness 2s\n", 1 },
	{ "StoreStaleness 0s\n", 0 },
	{ "StoreStaleness soon\n", 0 },
};

static void
test_keywords(void **state)
{
	char err[PV_CONF_ERR_MAX];
	struct pv_config *c;
	size_t i;

	for (i = 0; i < sizeof(kw_cases) / sizeof(kw_cases[0]); i++) {
		assert_int_equal(pv_config_new(&c), 0);
		err[0] = '\0';
		if ((pv_config_load_mem(c, "t.conf", kw_cases[i].text,
			 strlen(kw_cases[i].text), err, sizeof(err)) == 0) !=
		    kw_cases[i].ok)
			fail_msg("%s: %s", kw_cases[i].text, err);
		if (!kw_cases[i].ok)
			assert_non_null(strstr(err, "t.conf:"));
		pv_config_free(c);
	}
	assert_int_equal(pv_config_new(&c), 0);
	assert_int_equal(
	    pv_config_load_mem(c, "t.conf", "", 0, err, sizeof(err)), 0);
	assert_int_equal(c->store_staleness, 60);
	assert_int_equal(c->startups_begin, 10);
	assert_int_equal(c->startups_rate, 30);
	assert_int_equal(c->startups_full, 100);
	pv_config_free(c);
}

/* This process's Private_Dirty (kB, /proc/self/smaps_rollup), -1: unknown. */
static long
private_dirty_kb(void)
{
	FILE *f = fopen("/proc/self/smaps_rollup", "r");
	char line[256];
	long kb = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "Private_Dirty:", 14) == 0) {
			kb = strtol(line + 14, NULL, 10);
			break;
		}
	(void)fclose(f);
	return kb;
}

/*
 * A forked session process closes the daemon's links to every other
 * session without writing to the table that holds them: each page of it
 * is shared with the daemon after the fork, and a write (fd = -1 in
 * every row, as before) copies it into the child, 0.5 kB per session the
 * daemon holds, in every session process.  4,000 rows (2 MB) here: the
 * child's private memory may not grow by an eighth of that; it grew by
 * the whole table before the change.
 */
static void
test_forget_unwritten(void **state)
{
	enum { ROWS = 4000 };
	struct fixture f;
	long grew = -1, table_kb;
	int p[2], fd, status;
	size_t i;
	pid_t pid;

	fixture_init(&f, "");
	f.c.epfd = -1;
	assert_non_null(f.c.kids = calloc(ROWS, sizeof(*f.c.kids)));
	f.c.nkids = f.c.kidcap = ROWS;
	/* one descriptor for all rows: the first close takes it */
	assert_true((fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0);
	for (i = 0; i < ROWS; i++) {
		f.c.kids[i].pid = (pid_t)(1000 + i);
		f.c.kids[i].fd = fd;
		(void)snprintf(f.c.kids[i].addr, sizeof(f.c.kids[i].addr),
		    "10.0.%zu.%zu", i / 250, i % 250);
	}
	table_kb = (long)(ROWS * sizeof(*f.c.kids) / 1024);
	assert_true(private_dirty_kb() > 0);
	assert_int_equal(pipe(p), 0);
	assert_true((pid = fork()) >= 0);
	if (pid == 0) {
		long before = private_dirty_kb(), after;

		broker_ctl_forget(&f.c);
		after = private_dirty_kb();
		grew = before < 0 || after < 0 ? -1 : after - before;
		_exit(write(p[1], &grew, sizeof(grew)) == sizeof(grew) ? 0 : 1);
	}
	(void)close(p[1]);
	assert_int_equal(read(p[0], &grew, sizeof(grew)), sizeof(grew));
	(void)close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	print_message("table %ld kB; the child's private memory grew %ld kB "
		      "forgetting it\n",
	    table_kb, grew);
	assert_true(grew >= 0);
	assert_true(grew < table_kb / 8);
	/* the daemon's copy is untouched */
	assert_int_equal(f.c.nkids, ROWS);
	assert_int_equal(f.c.kids[ROWS - 1].fd, fd);
	(void)close(fd);
	fixture_done(&f);
}

/*
 * The store's page cache lives in pages of its own, which a session
 * process unmaps (store_cache_forget): the monitor closes the store before
 * every fork and reads it anew after, so each session process would keep
 * a private copy of every cache page the monitor fills after its fork.
 * Here: a store opened (created and migrated) fills some of those pages;
 * a forked child that forgets them no longer has them mapped, and the
 * parent still has them.
 */
static void
test_store_cache_dropped(void **state)
{
	const char *tmp = getenv("TMPDIR");
	char dir[4096], path[4200];
	size_t len = (size_t)1024 * 1024, i, resident = 0;
	unsigned char vec[256];
	struct store *st = NULL;
	void *base = NULL;
	int status;
	pid_t pid;

	(void)snprintf(dir, sizeof(dir), "%s/pv-cache.XXXXXX",
	    tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));
	(void)snprintf(path, sizeof(path), "%s/provost.db", dir);
	assert_int_equal(store_cache_private(len, &base), 0);
	assert_non_null(base);
	/* once only: SQLite is configured before its first use */
	assert_int_not_equal(store_cache_private(len, NULL), 0);
	assert_int_equal(store_open(path, &st), 0);
	assert_int_equal(mincore(base, len, vec), 0);
	for (i = 0; i < len / 4096 && i < sizeof(vec); i++)
		resident += vec[i] & 1;
	print_message(
	    "%zu of the cache's pages filled by opening a store\n", resident);
	assert_true(resident > 0);
	assert_true((pid = fork()) >= 0);
	if (pid == 0) {
		store_cache_forget();
		/* unmapped: mincore says ENOMEM */
		_exit(mincore(base, 4096, vec) != 0 && errno == ENOMEM ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(mincore(base, 4096, vec), 0);
	store_close(st);
	(void)snprintf(path, sizeof(path), "%s/provost.db", dir);
	(void)unlink(path);
	(void)snprintf(path, sizeof(path), "%s/provost.db-wal", dir);
	(void)unlink(path);
	(void)snprintf(path, sizeof(path), "%s/provost.db-shm", dir);
	(void)unlink(path);
	assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_per_source),
		cmocka_unit_test(test_max_startups),
		cmocka_unit_test(test_penalty),
		cmocka_unit_test(test_penalty_v6),
		cmocka_unit_test(test_known_sources),
		cmocka_unit_test(test_keywords),
		cmocka_unit_test(test_forget_unwritten),
		cmocka_unit_test(test_store_cache_dropped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
