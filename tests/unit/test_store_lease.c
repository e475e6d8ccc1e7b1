/*
 * test_store_lease.c: brokers sharing a store: leases taken, renewed and
 * expired, a dead broker's rows aborted only after its lease expired and
 * once when two brokers race to it, and kills pending for the owner.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <poll.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "store_test_util.h"

#define LEASE_MS 30000
#define T0 1700000000000LL /* ms */

struct fix {
	char dir[256];
	char where[512];
	struct store *st;
};

/* A store two handles can share: a file, or PV_TEST_STORE's database. */
static int
setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	EVP_PKEY *k;

	assert_non_null(f);
	if (tsu_pg()) {
		(void)snprintf(f->where, sizeof(f->where), "%s", tsu_mem());
	} else {
		assert_int_equal(tsu_tmpdir(f->dir, sizeof(f->dir)), 0);
		(void)snprintf(
		    f->where, sizeof(f->where), "%s/provost.db", f->dir);
	}
	assert_int_equal(store_open(f->where, &f->st), 0);
	assert_non_null(k = tsu_audit_key());
	assert_int_equal(store_set_audit_key(f->st, k), 0);
	EVP_PKEY_free(k);
	assert_int_equal(tsu_populate(f->st), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fix *f = *state;

	store_close(f->st);
	if (f->dir[0] != '\0')
		tsu_rmdir(f->dir);
	free(f);
	return 0;
}

static struct store_lease_req
req(const char *name, const char *holder, int64_t pid)
{
	return (struct store_lease_req){
		.name = name,
		.holder = holder,
		.host = "bastion",
		.pid = pid,
		.duration_ms = LEASE_MS,
	};
}

/* A session owned by broker (NULL: a row from before schema 9). */
static void
open_session(struct store *st, const char *broker, char id[PV_UUID_LEN + 1])
{
	struct store_session_info in = {
		.engineer = "alice",
		.target = "db01",
		.account = "postgres",
		.client_addr = "127.0.0.1",
		.recording_path = "/rec/x.pvrec",
		.broker = broker,
	};

	if (store_session_open(st, &in, T0 / 1000, id) != 0)
		fail_msg("%s", store_errmsg(st));
}

static enum store_session_state
state_of(struct store *st, const char *id)
{
	struct store_session *s = NULL;
	enum store_session_state v;

	assert_int_equal(store_session_get(st, id, &s), 0);
	v = s->state;
	store_session_free(s);
	return v;
}

struct rows {
	int n;
	char last[1024];
	char actor[80];
};

static int
row_cb(void *ctx, const struct store_audit_row *row)
{
	struct rows *x = ctx;

	x->n++;
	(void)snprintf(x->last, sizeof(x->last), "%s",
	    row->details != NULL ? row->details : "");
	(void)snprintf(x->actor, sizeof(x->actor), "%s", row->actor);
	return 0;
}

static int
rows_of(struct store *st, const char *action, struct rows *x)
{
	uint64_t cursor = 0;

	memset(x, 0, sizeof(*x));
	assert_int_equal(
	    store_audit_action_since(st, action, &cursor, row_cb, x), 0);
	return x->n;
}

static void
test_lease_take_renew(void **state)
{
	struct fix *f = *state;
	struct store_lease_req a = req("bastion-a", "holder-1", 100);
	struct store_lease_req a2 = req("bastion-a", "holder-2", 200);
	struct store_lease *l = NULL;
	struct rows x;

	assert_int_equal(store_lease_take(f->st, &a, T0, 0), 0);
	assert_int_equal(store_lease_get(f->st, "bastion-a", &l), 0);
	assert_string_equal(l->holder, "holder-1");
	assert_int_equal(l->expires_ms, T0 + LEASE_MS);
	store_lease_free(l);
	/* another process under the same name: refused while it runs */
	assert_int_equal(
	    store_lease_take(f->st, &a2, T0 + 1000, 0), PV_ERR_EXISTS);
	assert_non_null(strstr(store_errmsg(f->st), "held by provostd 100"));
	/* the holder renews: its lease runs from then on, pid updated */
	assert_int_equal(store_lease_renew(f->st, "bastion-a", "holder-1", 101,
			     T0 + 20000, LEASE_MS),
	    0);
	assert_int_equal(store_lease_get(f->st, "bastion-a", &l), 0);
	assert_int_equal(l->expires_ms, T0 + 20000 + LEASE_MS);
	assert_int_equal(l->pid, 101);
	store_lease_free(l);
	assert_int_equal(
	    store_lease_take(f->st, &a2, T0 + 20000 + LEASE_MS - 1, 0),
	    PV_ERR_EXISTS);
	/* expired: taken; the old holder's renewal is refused from then on */
	assert_int_equal(
	    store_lease_take(f->st, &a2, T0 + 20000 + LEASE_MS, 0), 0);
	assert_int_equal(store_lease_renew(f->st, "bastion-a", "holder-1", 101,
			     T0 + 60000, LEASE_MS),
	    PV_ERR_NOT_FOUND);
	/* the others' running leases: none but b, and only while it runs */
	struct store_lease_req b = req("bastion-b", "holder-b", 300);
	int others = -1;
	assert_int_equal(store_lease_take(f->st, &b, T0 + 60000, 0), 0);
	assert_int_equal(
	    store_lease_others(f->st, "bastion-a", T0 + 60000, &others), 0);
	assert_int_equal(others, 1);
	assert_int_equal(
	    store_lease_others(f->st, "bastion-b", T0 + 60000, &others), 0);
	assert_int_equal(others, 1); /* bastion-a's, taken by holder-2 */
	assert_int_equal(store_lease_others(f->st, "bastion-a",
			     T0 + 60000 + LEASE_MS, &others),
	    0);
	assert_int_equal(others, 0);
	/* force (the holder's process is known gone) takes a running one */
	assert_int_equal(store_lease_take(f->st, &a, T0 + 60001, 1), 0);
	assert_int_equal(rows_of(f->st, "broker.lease", &x), 4);
	assert_non_null(strstr(x.last, "\"taken_over\":true"));
	/* names as the store's other names; a lease of a second or more */
	struct store_lease_req bad = req("Bastion A", "h", 1);
	assert_int_equal(store_lease_take(f->st, &bad, T0, 0), PV_ERR_INVALID);
	bad = req("b", "h", 1);
	bad.duration_ms = 10;
	assert_int_equal(store_lease_take(f->st, &bad, T0, 0), PV_ERR_RANGE);
	assert_int_equal(
	    store_lease_renew(f->st, "nobody", "h", 1, T0, LEASE_MS),
	    PV_ERR_NOT_FOUND);
}

static void
test_reap_after_expiry_only(void **state)
{
	struct fix *f = *state;
	struct store_lease_req a = req("bastion-a", "ha", 100);
	struct store_lease_req b = req("bastion-b", "hb", 200);
	char sa[PV_UUID_LEN + 1], sb[PV_UUID_LEN + 1], old[PV_UUID_LEN + 1];
	struct store_session *s = NULL;
	struct rows x;
	int n = -1;

	assert_int_equal(store_lease_take(f->st, &a, T0, 0), 0);
	assert_int_equal(store_lease_take(f->st, &b, T0, 0), 0);
	open_session(f->st, "bastion-a", sa);
	open_session(f->st, "bastion-b", sb);
	open_session(f->st, NULL, old);
	/* a's lease runs to T0 + LEASE_MS: nothing is aborted before */
	assert_int_equal(store_lease_reap(f->st, "bastion-b", T0, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(
	    store_lease_reap(f->st, "bastion-b", T0 + LEASE_MS - 1, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(state_of(f->st, sa), STORE_SESSION_OPEN);
	assert_int_equal(rows_of(f->st, "session.aborted", &x), 0);
	/* b renewed; a did not: at expiry a's row, and only it, is aborted */
	assert_int_equal(store_lease_renew(f->st, "bastion-b", "hb", 200,
			     T0 + 20000, LEASE_MS),
	    0);
	assert_int_equal(
	    store_lease_reap(f->st, "bastion-b", T0 + LEASE_MS, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(state_of(f->st, sa), STORE_SESSION_ABORTED);
	assert_int_equal(state_of(f->st, sb), STORE_SESSION_OPEN);
	assert_int_equal(state_of(f->st, old), STORE_SESSION_OPEN);
	assert_int_equal(store_session_get(f->st, sa, &s), 0);
	assert_non_null(
	    strstr(s->end_reason, "broker bastion-a lost its lease"));
	assert_string_equal(s->broker, "bastion-a");
	store_session_free(s);
	assert_int_equal(rows_of(f->st, "session.aborted", &x), 1);
	assert_string_equal(x.actor, "broker:bastion-b");
	assert_non_null(strstr(x.last, "\"broker\":\"bastion-a\""));
	assert_non_null(strstr(x.last, "\"recording_state\":\"incomplete\""));
	assert_non_null(strstr(x.last, "/rec/x.pvrec"));
	/* a broker never reaps its own rows: b's lease expired, b asks */
	assert_int_equal(
	    store_lease_reap(f->st, "bastion-b", T0 + 3600000, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(state_of(f->st, sb), STORE_SESSION_OPEN);
	/* a again: the second look finds nothing (idempotent) */
	assert_int_equal(
	    store_lease_reap(f->st, "bastion-a", T0 + 3600000, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(
	    store_lease_reap(f->st, "bastion-a", T0 + 3600001, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(rows_of(f->st, "session.aborted", &x), 2);
	/* a restarted under its name aborts its own stale rows and old ones */
	open_session(f->st, "bastion-a", sa);
	assert_int_equal(
	    store_session_mark_aborted_open(f->st, "bastion-a", T0, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(state_of(f->st, sa), STORE_SESSION_ABORTED);
	assert_int_equal(state_of(f->st, old), STORE_SESSION_ABORTED);
}

/*
 * Two brokers reap the same dead broker's rows at the same moment, each
 * through its own connection in its own process: every row is aborted
 * and audited once.
 */
static void
test_reap_race(void **state)
{
	struct fix *f = *state;
	struct store_lease_req a = req("bastion-a", "ha", 100);
	char ids[20][PV_UUID_LEN + 1];
	const char *who[2] = { "bastion-b", "bastion-c" };
	int go[2], i, total = 0, st;
	pid_t pid[2];
	struct rows x;

	assert_int_equal(store_lease_take(f->st, &a, T0, 0), 0);
	for (i = 0; i < 20; i++)
		open_session(f->st, "bastion-a", ids[i]);
	/* no handle crosses a fork */
	store_close(f->st);
	f->st = NULL;
	assert_int_equal(pipe(go), 0);
	for (i = 0; i < 2; i++) {
		assert_true((pid[i] = fork()) >= 0);
		if (pid[i] == 0) {
			struct store *c = NULL;
			EVP_PKEY *k = tsu_audit_key();
			char b;
			int n = -1;

			close(go[1]);
			if (store_open(f->where, &c) != 0 || k == NULL ||
			    store_set_audit_key(c, k) != 0)
				_exit(100);
			if (read(go[0], &b, 1) != 0)
				_exit(101);
			if (store_lease_reap(
				c, who[i], T0 + LEASE_MS + 5, &n) != 0) {
				fprintf(stderr, "%s\n", store_errmsg(c));
				_exit(102);
			}
			store_close(c);
			EVP_PKEY_free(k);
			_exit(n);
		}
	}
	close(go[0]);
	close(go[1]); /* both read EOF at once */
	for (i = 0; i < 2; i++) {
		assert_int_equal(waitpid(pid[i], &st, 0), pid[i]);
		assert_true(WIFEXITED(st));
		assert_true(WEXITSTATUS(st) <= 20);
		total += WEXITSTATUS(st);
	}
	assert_int_equal(total, 20);
	assert_int_equal(store_open(f->where, &f->st), 0);
	for (i = 0; i < 20; i++)
		assert_int_equal(
		    state_of(f->st, ids[i]), STORE_SESSION_ABORTED);
	assert_int_equal(rows_of(f->st, "session.aborted", &x), 20);
}

struct seen {
	const char *object;
	int n;
};

static int
seen_cb(void *ctx, const struct store_revocation *r)
{
	struct seen *y = ctx;

	if (strcmp(r->action, "session.kill") == 0 &&
	    strcmp(r->object, y->object) == 0 && r->actor != NULL &&
	    strcmp(r->actor, "admin:root") == 0 && r->reason != NULL &&
	    strcmp(r->reason, "left the company") == 0)
		y->n++;
	return 0;
}

static void
test_kill_pending(void **state)
{
	struct fix *f = *state;
	struct store_session_end end = { .reason = "killed", .aborted = 1 };
	char sa[PV_UUID_LEN + 1], obj[64];
	char *owner = NULL;
	uint64_t cursor = 0;
	struct rows x;
	struct seen y = { 0 };

	open_session(f->st, "bastion-a", sa);
	assert_int_equal(store_audit_head(f->st, &cursor), 0);
	assert_int_equal(store_session_kill_request(f->st, "admin:root", sa,
			     "left the company", T0 / 1000, &owner),
	    0);
	assert_string_equal(owner, "bastion-a");
	free(owner);
	owner = NULL;
	/* what every monitor's once-a-second sweep reads */
	(void)snprintf(obj, sizeof(obj), "session:%s", sa);
	y.object = obj;
	assert_int_equal(store_revoked_since(f->st, &cursor, seen_cb, &y), 0);
	assert_int_equal(y.n, 1);
	/* the owner's monitor reads session.kill with the revocations */
	assert_int_equal(rows_of(f->st, "session.kill", &x), 1);
	assert_string_equal(x.actor, "admin:root");
	assert_non_null(strstr(x.last, "left the company"));
	assert_non_null(strstr(x.last, "\"pending\":true"));
	assert_int_equal(
	    store_session_close(f->st, sa, &end, T0 / 1000 + 1), 0);
	/* a session that is not open, or not a session: refused */
	assert_int_equal(store_session_kill_request(f->st, "admin:root", sa,
			     "again", T0 / 1000, &owner),
	    PV_ERR_NOT_FOUND);
	assert_null(owner);
	assert_int_equal(store_session_kill_request(f->st, "admin:root",
			     "not-a-uuid", "x", T0 / 1000, &owner),
	    PV_ERR_INVALID);
	assert_int_equal(
	    store_session_kill_request(f->st, "admin:root",
		"00000000-0000-4000-8000-000000000000", "x", T0 / 1000, &owner),
	    PV_ERR_NOT_FOUND);
}

/* What st heard within ms (what libpq holds already, else the socket). */
static int
heard_within(struct store *st, int ms)
{
	struct pollfd p = { .fd = store_listen_fd(st), .events = POLLIN };
	int n;

	if ((n = store_heard(st, 0)) != 0)
		return n;
	if (poll(&p, 1, ms) < 0)
		return -1;
	return store_heard(st, 1);
}

/*
 * A revocation or a kill written through one handle is announced to
 * another that listens (a second broker's monitor), as its transaction
 * commits; an audit row that revokes nothing is not.  SQLite announces
 * nothing: its brokers (one) rely on the scan.
 */
static void
test_announce(void **state)
{
	struct fix *f = *state;
	struct store *b = NULL;
	char id[PV_UUID_LEN + 1], *owner = NULL;

	if (!tsu_pg()) {
		assert_int_equal(store_listen(f->st), PV_ERR_UNSUPPORTED);
		assert_int_equal(store_listen_fd(f->st), -1);
		return;
	}
	assert_int_equal(store_open(f->where, &b), 0);
	assert_int_equal(store_listen(b), 0);
	assert_true(store_listen_fd(b) >= 0);
	assert_int_equal(heard_within(b, 100), 0);
	assert_int_equal(store_audit_append(f->st, "admin:root",
			     "engineer.note", "engineer:alice", NULL),
	    0);
	assert_int_equal(heard_within(b, 300), 0);
	assert_int_equal(
	    store_engineer_revoke(f->st, "admin:root", "bob", "left"), 0);
	assert_true(heard_within(b, 5000) >= 1);
	assert_int_equal(heard_within(b, 100), 0);
	open_session(f->st, "b1", id);
	assert_int_equal(store_session_kill_request(
			     f->st, "admin:root", id, "x", T0 / 1000, &owner),
	    0);
	free(owner);
	assert_true(heard_within(b, 5000) >= 1);
	store_close(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_lease_take_renew, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_reap_after_expiry_only, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_reap_race, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_kill_pending, setup, teardown),
		cmocka_unit_test_setup_teardown(test_announce, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
