/*
 * test_store_misc.c: the store's small parts: names, lists, key types
 * (the provostd.conf loader's tests are in test_common_conf.c).
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <sys/wait.h>

#include "store/store-int.h"
#include "store_test_util.h"

static int
approver_count(void *ctx, const struct store_approver *a)
{
	(*(int *)ctx)++;
	if (strcmp(a->name, "sec1") == 0)
		assert_null(a->engineer);
	else
		assert_string_equal(a->engineer, "alice");
	return 0;
}

static int
key_count(void *ctx, const struct store_key *k)
{
	(*(int *)ctx)++;
	assert_string_equal(k->type, "ssh-ed25519");
	assert_string_equal(k->comment, "test-5");
	return 0;
}

static void
test_names_and_small_parts(void **state)
{
	static const struct {
		const char *name;
		int ok;
	} names[] = {
		{ "alice", 1 },
		{ "db-01.prod_x", 1 },
		{ "a", 1 },
		{ "", 0 },
		{ "Alice", 0 },
		{ "al ice", 0 },
		{ "-x", 0 },
		{ ".x", 0 },
		{ "a/b", 0 },
		{ "a@b", 0 },
		{ "a+b", 0 },
		{ "012345678901234567890123456789012345678901234567890123456789"
		  "0123",
		    1 },
		{ "012345678901234567890123456789012345678901234567890123456789"
		  "01234",
		    0 },
	};
	struct store *st;
	char *line = tsu_keyline(5, NULL);
	EVP_PKEY *rsa;
	size_t i;
	int n = 0;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (store_name_valid(names[i].name) != names[i].ok)
			fail_msg("name \"%s\"", names[i].name);
	assert_int_equal(store_name_valid(NULL), 0);
	assert_string_equal(store_auth_name(STORE_AUTH_PAM_TOKEN), "pam-token");
	assert_string_equal(
	    store_grant_state_name(STORE_GRANT_EXPIRED), "expired");
	assert_string_equal(store_grant_state_name(99), "unknown");
	assert_int_equal(store_open(tsu_mem(), &st), 0);
	assert_string_equal(store_errmsg(st), "no details");
	assert_int_equal(tsu_populate(st), 0);
	/* Only Ed25519 signs the audit chain. */
	assert_non_null(
	    rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048));
	assert_int_equal(store_set_audit_key(st, rsa), PV_ERR_INVALID);
	EVP_PKEY_free(rsa);
	assert_int_equal(
	    store_approver_add(st, "admin:t", "sec1", "security", NULL), 0);
	assert_int_equal(
	    store_approver_add(st, "admin:t", "sec2", "security", "alice"), 0);
	assert_int_equal(
	    store_approver_add(st, "admin:t", "sec2", "change", NULL), 0);
	assert_int_equal(
	    store_approver_add(st, "admin:t", "sec2", "change", NULL),
	    PV_ERR_EXISTS);
	assert_int_equal(
	    store_approver_add(st, "admin:t", "sec3", "security", "nobody"),
	    PV_ERR_NOT_FOUND);
	assert_int_equal(store_approver_list(st, approver_count, &n), 0);
	assert_int_equal(n, 3);
	n = 0;
	assert_int_equal(
	    store_engineer_key_add(st, "admin:t", "alice", line, NULL), 0);
	assert_int_equal(
	    store_engineer_key_list(st, "alice", key_count, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_engineer_key_list(st, "nobody", key_count, &n),
	    PV_ERR_NOT_FOUND);
	free(line);
	store_close(st);
}

/* What this process holds of path: descriptors and mappings. */
static int
held(const char *path)
{
	char link[64], target[4096], *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int fd, n = 0;
	FILE *f;

	for (fd = 0; fd < 1024; fd++) {
		(void)snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		if ((len = readlink(link, target, sizeof(target) - 1)) <= 0)
			continue;
		target[len] = '\0';
		if (strncmp(target, path, strlen(path)) == 0)
			n++;
	}
	if ((f = fopen("/proc/self/maps", "r")) == NULL)
		return -1;
	while (getline(&line, &cap, f) > 0)
		if (strstr(line, path) != NULL)
			n++;
	free(line);
	(void)fclose(f);
	return n;
}

/* Forks; the child runs store_forget when forget, says what it holds. */
static int
child_holds(struct store *st, const char *path, int pgfd, int forget)
{
	int status, n;
	pid_t pid;

	assert_true((pid = fork()) >= 0);
	if (pid == 0) {
		if (forget)
			store_forget(st);
		n = pgfd >= 0 ? fcntl(pgfd, F_GETFD) != -1 : held(path);
		_exit(n > 100 ? 100 : n);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/*
 * A process forked from the store's owner lets go of it (store_forget)
 * without a call into SQLite or libpq: it keeps no descriptor of the
 * file, its -wal or its -shm and no mapping of the shared -shm index (a
 * taken-over session process could write the store through them), or no
 * socket to the PostgreSQL server; and the owner's handle goes on, its
 * statements prepared once (a close in the child would checkpoint or
 * delete the WAL, or end the server session).
 */
static void
test_forget_in_child(void **state)
{
	char dir[] = "/tmp/pv-forget.XXXXXX", path[512], *real;
	struct store *st = NULL;
	json_t *j = json_object();
	uint64_t seq0 = 0, seq1 = 0;
	int pgfd = -1, i;

	(void)state;
	assert_non_null(mkdtemp(dir));
	(void)snprintf(path, sizeof(path), "%s/store.db", dir);
	assert_int_equal(store_open(tsu_pg() ? tsu_mem() : path, &st), 0);
	assert_int_equal(
	    store_audit_append(st, "admin:t", "test.before", "x", j), 0);
	if (tsu_pg()) {
		assert_int_equal(store_listen(st), 0);
		pgfd = store_listen_fd(st);
		assert_true(pgfd >= 0);
	}
	assert_non_null(real = tsu_pg() ? strdup(dir) : realpath(path, NULL));
	/* the check can fail: a child that keeps the handle holds it */
	assert_true(child_holds(st, real, pgfd, 0) > 0);
	for (i = 0; i < 3; i++) {
		assert_int_equal(child_holds(st, real, pgfd, 1), 0);
		assert_int_equal(store_audit_head(st, &seq0), 0);
		assert_int_equal(
		    store_audit_append(st, "admin:t", "test.after", "x", j), 0);
		assert_int_equal(store_audit_head(st, &seq1), 0);
		assert_true(seq1 > seq0);
	}
	if (!tsu_pg()) {
		/* the WAL and its index are still the owner's */
		(void)snprintf(path, sizeof(path), "%s-wal", real);
		assert_int_equal(access(path, F_OK), 0);
		(void)snprintf(path, sizeof(path), "%s-shm", real);
		assert_int_equal(access(path, F_OK), 0);
	}
	store_close(st);
	json_decref(j);
	(void)snprintf(path, sizeof(path), "rm -rf %s", dir);
	assert_int_equal(system(path), 0);
	free(real);
}

struct seen {
	int n;
	char addr[4][64];
	int64_t last[4];
};

static int
source_seen(void *ctx, const char *addr, int64_t last)
{
	struct seen *v = ctx;

	assert_true(v->n < 4);
	(void)snprintf(v->addr[v->n], sizeof(v->addr[0]), "%s", addr);
	v->last[v->n++] = last;
	return 0;
}

/*
 * store_recent_sources, what a restarted provostd learns its known-good
 * addresses from (broker/monitor/control.c): each address a session was
 * opened from (so its engineer authenticated and was allowed) since the
 * time given, with its latest start.  A login 20 hours ago counts, one
 * before the window does not, and a failed login (auth.fail, a wrong
 * code counted against the engineer, no session) never does.
 */
static void
test_recent_sources(void **state)
{
	const int64_t now = 1800000000, day = 86400;
	struct store_session_info in = {
		.engineer = "alice",
		.target = "db01",
		.account = "postgres",
	};
	char id[PV_UUID_LEN + 1];
	struct store *st = NULL;
	struct seen v = { 0 };
	json_t *j;

	(void)state;
	assert_int_equal(store_open(tsu_mem(), &st), 0);
	assert_int_equal(tsu_populate(st), 0);
	in.client_addr = "198.51.100.20"; /* yesterday, and the day before */
	assert_int_equal(store_session_open(st, &in, now - 30 * 3600, id), 0);
	assert_int_equal(store_session_open(st, &in, now - 20 * 3600, id), 0);
	in.client_addr = "198.51.100.8"; /* eight days ago */
	assert_int_equal(store_session_open(st, &in, now - 8 * day, id), 0);
	in.client_addr = NULL; /* a session with no address */
	assert_int_equal(store_session_open(st, &in, now - 3600, id), 0);
	/* a failed login from 203.0.113.9, as the monitor records it */
	assert_non_null(j = json_pack("{s:s}", "detail",
			    "engineer=alice from=203.0.113.9 factor=code "
			    "failure=1 of 3"));
	assert_int_equal(store_audit_append(st, "broker", "auth.fail",
			     "session:203.0.113.9", j),
	    0);
	json_decref(j);
	assert_true(
	    store_totp_check(st, "alice", "000000", now - 600) != PV_ALLOW);
	assert_int_equal(
	    store_recent_sources(st, now - 7 * day, source_seen, &v), 0);
	assert_int_equal(v.n, 1);
	assert_string_equal(v.addr[0], "198.51.100.20");
	assert_int_equal(v.last[0], now - 20 * 3600);
	/* a wider window reaches the older one */
	v.n = 0;
	assert_int_equal(
	    store_recent_sources(st, now - 9 * day, source_seen, &v), 0);
	assert_int_equal(v.n, 2);
	store_close(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_and_small_parts),
		cmocka_unit_test(test_forget_in_child),
		cmocka_unit_test(test_recent_sources),
	};

	pv_log_init("test_store_misc", PV_LOG_STDERR, PV_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
