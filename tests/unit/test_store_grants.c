/*
 * test_store_grants.c: grants under policy rules: auto grants, tickets,
 * MaxDuration caps, N-of-M distinct approvers, separation of duties,
 * deny, revoke, expiry, and the best grant for a connection.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "store/db_sqlite.h"
#include "store/store-int.h"
#include "store_test_util.h"

#define NOW 1800000000LL

static struct policy_decision
rule(const char *name, enum policy_approval a, int n, const char *group,
    int ticket, uint64_t maxdur)
{
	struct policy_decision d = {
		.outcome = a == POLICY_APPROVAL_NONE ? POLICY_ALLOW
						     : POLICY_NEEDS_GRANT,
		.rule = name,
		.approval = a,
		.approvals_needed = n,
		.approval_group = group,
		.require_ticket = ticket,
		.max_duration = maxdur,
		/* the tests of --as (store_grant_approve) need break-glass */
		.approval_break_glass = 1,
	};
	return d;
}

static int
setup(void **state)
{
	struct store *st;

	if (store_open(tsu_mem(), &st) != 0 || tsu_populate(st) != 0)
		return -1;
	if (store_approver_add(st, "admin:t", "sec1", "security", NULL) != 0 ||
	    store_approver_add(st, "admin:t", "sec2", "security", NULL) != 0 ||
	    store_approver_add(st, "admin:t", "sec3", "security", NULL) != 0 ||
	    store_approver_add(st, "admin:t", "ops1", "ops", NULL) != 0 ||
	    /* alice is also on the security team under another name */
	    store_approver_add(
		st, "admin:t", "alice-sec", "security", "alice") != 0)
		return -1;
	*state = st;
	return 0;
}

static int
teardown(void **state)
{
	store_close(*state);
	return 0;
}

static const struct store_grant_req req_alice = {
	.engineer = "alice",
	.target = "db01",
	.account = "postgres",
	.duration = 7200,
	.ticket = "INC-1",
	.reason = "disk full",
};

static void
test_auto(void **state)
{
	struct store *st = *state;
	struct policy_decision d =
	    rule("internal-jit", POLICY_APPROVAL_AUTO, 0, NULL, 1, 8 * 3600);
	struct store_grant *g, *b;
	struct policy_grant pg;

	assert_int_equal(
	    store_grant_request(st, "engineer:alice", &req_alice, &d, NOW, &g),
	    0);
	assert_true(pv_uuid_valid(g->id));
	assert_int_equal(g->state, STORE_GRANT_ACTIVE);
	assert_int_equal(g->not_before, NOW);
	assert_int_equal(g->not_after, NOW + 7200);
	assert_int_equal(g->capped, 0);
	assert_string_equal(g->rule, "internal-jit");
	assert_int_equal(
	    store_grant_best_for(st, "alice", "db01", "postgres", NOW + 10, &b),
	    0);
	assert_string_equal(b->id, g->id);
	store_grant_to_policy(b, &pg);
	assert_string_equal(pg.account, "postgres");
	assert_int_equal(pg.not_after, NOW + 7200);
	assert_false(pg.revoked);
	store_grant_free(b);
	/* Another account, another target: no grant. */
	assert_int_equal(
	    store_grant_best_for(st, "alice", "db01", "root", NOW + 10, &b),
	    PV_ERR_NOT_FOUND);
	assert_int_equal(
	    store_grant_best_for(st, "bob", "db01", "postgres", NOW + 10, &b),
	    PV_ERR_NOT_FOUND);
	store_grant_free(g);
}

static void
test_request_checks(void **state)
{
	struct store *st = *state;
	struct policy_decision d =
	    rule("confidential", POLICY_APPROVAL_GROUP, 1, "security", 1, 3600);
	struct store_grant_req r = req_alice;
	struct store_grant *g;

	r.ticket = NULL;
	assert_int_equal(
	    store_grant_request(st, "engineer:alice", &r, &d, NOW, &g),
	    PV_ERR_DENIED);
	assert_non_null(strstr(store_errmsg(st), "requires a ticket"));
	r.ticket = "INC-2";
	r.account = "oracle";
	assert_int_equal(
	    store_grant_request(st, "engineer:alice", &r, &d, NOW, &g),
	    PV_ERR_NOT_FOUND);
	r.account = "postgres";
	r.duration = 0;
	assert_int_equal(
	    store_grant_request(st, "engineer:alice", &r, &d, NOW, &g),
	    PV_ERR_INVALID);
	r.duration = 4 * 3600;
	r.reason = "line\nbreak";
	assert_int_equal(
	    store_grant_request(st, "engineer:alice", &r, &d, NOW, &g),
	    PV_ERR_INVALID);
	r.reason = NULL;
	/* Capped at MaxDuration. */
	assert_int_equal(
	    store_grant_request(st, "engineer:alice", &r, &d, NOW, &g), 0);
	assert_int_equal(g->duration, 3600);
	assert_int_equal(g->capped, 1);
	assert_int_equal(g->state, STORE_GRANT_PENDING);
	store_grant_free(g);
	/* Standing access needs no grant; a deny stays a deny. */
	d = rule("public", POLICY_APPROVAL_NONE, 0, NULL, 0, 0);
	assert_int_equal(
	    store_grant_request(st, "engineer:alice", &r, &d, NOW, &g),
	    PV_ERR_INVALID);
	d = rule("restricted", POLICY_APPROVAL_GROUP, 2, "security", 0, 0);
	d.outcome = POLICY_DENY;
	assert_int_equal(
	    store_grant_request(st, "engineer:alice", &r, &d, NOW, &g),
	    PV_ERR_DENIED);
	assert_null(g);
	/* A disabled engineer and an exiting provider get no grants. */
	d = rule("internal-jit", POLICY_APPROVAL_AUTO, 0, NULL, 0, 0);
	assert_int_equal(store_provider_set_status(
			     st, "admin:t", "acme", STORE_PROVIDER_EXITING),
	    0);
	assert_int_equal(
	    store_grant_request(st, "engineer:alice", &r, &d, NOW, &g),
	    PV_ERR_DENIED);
	assert_int_equal(store_provider_set_status(
			     st, "admin:t", "acme", STORE_PROVIDER_ACTIVE),
	    0);
	assert_int_equal(store_engineer_disable(st, "admin:t", "bob", NULL), 0);
	r.engineer = "bob";
	assert_int_equal(
	    store_grant_request(st, "engineer:bob", &r, &d, NOW, &g),
	    PV_ERR_DENIED);
}

static void
test_two_of_group(void **state)
{
	struct store *st = *state;
	struct policy_decision d =
	    rule("restricted", POLICY_APPROVAL_GROUP, 2, "security", 0, 3600);
	struct store_grant *g, *g2;
	char id[40];

	assert_int_equal(
	    store_grant_request(st, "engineer:alice", &req_alice, &d, NOW, &g),
	    0);
	memcpy(id, g->id, sizeof(id));
	assert_int_equal(g->state, STORE_GRANT_PENDING);
	assert_int_equal(g->approvals_needed, 2);
	store_grant_free(g);
	/* Pending is the best grant, but it does not allow yet. */
	assert_int_equal(
	    store_grant_best_for(st, "alice", "db01", "postgres", NOW + 1, &g),
	    0);
	assert_int_equal(g->state, STORE_GRANT_PENDING);
	/* The policy sees the window it asked for: "needs approval". */
	{
		struct policy_grant pg;

		store_grant_to_policy(g, &pg);
		assert_int_equal(pg.not_before, NOW);
		assert_int_equal(pg.not_after, NOW + 3600);
		assert_int_equal(pg.approvals, 0);
	}
	store_grant_free(g);
	assert_int_equal(store_grant_approve(st, "sec1", id, NOW + 10, &g), 0);
	assert_int_equal(g->state, STORE_GRANT_PENDING);
	assert_int_equal(g->approvals, 1);
	store_grant_free(g);
	/* The same approver twice still counts once. */
	assert_int_equal(
	    store_grant_approve(st, "sec1", id, NOW + 11, &g), PV_ERR_EXISTS);
	/* Not in the group. */
	assert_int_equal(
	    store_grant_approve(st, "ops1", id, NOW + 12, &g), PV_ERR_DENIED);
	assert_non_null(strstr(store_errmsg(st), "not in group security"));
	/* The requester under an approver name linked to her. */
	assert_int_equal(store_grant_approve(st, "alice-sec", id, NOW + 13, &g),
	    PV_ERR_DENIED);
	assert_non_null(strstr(store_errmsg(st), "separation of duties"));
	assert_int_equal(store_grant_approve(st, "nobody", id, NOW + 13, &g),
	    PV_ERR_NOT_FOUND);
	assert_int_equal(store_grant_approve(st, "sec2", id, NOW + 20, &g), 0);
	assert_int_equal(g->state, STORE_GRANT_ACTIVE);
	assert_int_equal(g->approvals, 2);
	/* The window starts at the final approval. */
	assert_int_equal(g->not_before, NOW + 20);
	assert_int_equal(g->not_after, NOW + 20 + 3600);
	store_grant_free(g);
	assert_int_equal(
	    store_grant_approve(st, "sec3", id, NOW + 30, &g2), PV_ERR_INVALID);
}

static void
test_requested_by_approver(void **state)
{
	struct store *st = *state;
	struct policy_decision d =
	    rule("restricted", POLICY_APPROVAL_GROUP, 1, "security", 0, 0);
	struct store_grant *g;
	char id[40];

	/* sec1 asked on alice's behalf: sec1 may not approve it. */
	assert_int_equal(
	    store_grant_request(st, "approver:sec1", &req_alice, &d, NOW, &g),
	    0);
	memcpy(id, g->id, sizeof(id));
	store_grant_free(g);
	assert_int_equal(
	    store_grant_approve(st, "sec1", id, NOW, NULL), PV_ERR_DENIED);
	assert_int_equal(store_grant_approve(st, "sec2", id, NOW, NULL), 0);
}

static void
test_deny_and_revoke(void **state)
{
	struct store *st = *state;
	struct policy_decision d =
	    rule("confidential", POLICY_APPROVAL_GROUP, 1, "security", 0, 0);
	struct store_grant *g;
	char id[40];

	assert_int_equal(
	    store_grant_request(st, "engineer:alice", &req_alice, &d, NOW, &g),
	    0);
	memcpy(id, g->id, sizeof(id));
	store_grant_free(g);
	assert_int_equal(store_grant_deny(st, "sec3", id, "no ticket", NOW), 0);
	assert_int_equal(store_grant_get(st, id, NOW, &g), 0);
	assert_int_equal(g->state, STORE_GRANT_DENIED);
	store_grant_free(g);
	assert_int_equal(
	    store_grant_approve(st, "sec1", id, NOW, NULL), PV_ERR_INVALID);
	assert_int_equal(
	    store_grant_best_for(st, "alice", "db01", "postgres", NOW, &g),
	    PV_ERR_NOT_FOUND);
	/* Revoke an active grant. */
	assert_int_equal(
	    store_grant_request(st, "engineer:alice", &req_alice, &d, NOW, &g),
	    0);
	memcpy(id, g->id, sizeof(id));
	store_grant_free(g);
	assert_int_equal(store_grant_approve(st, "sec1", id, NOW, NULL), 0);
	assert_int_equal(
	    store_grant_revoke(st, "admin:t", id, "done", NOW + 5), 0);
	assert_int_equal(store_grant_revoke(st, "admin:t", id, "done", NOW + 5),
	    PV_ERR_INVALID);
	assert_int_equal(
	    store_grant_best_for(st, "alice", "db01", "postgres", NOW + 6, &g),
	    PV_ERR_NOT_FOUND);
	assert_int_equal(
	    store_grant_get(st, "not-a-uuid", NOW, &g), PV_ERR_INVALID);
	assert_int_equal(store_grant_get(st,
			     "00000000-0000-4000-8000-000000000000", NOW, &g),
	    PV_ERR_NOT_FOUND);
}

static int
grant_count(void *ctx, const struct store_grant *g)
{
	(void)g;
	(*(int *)ctx)++;
	return 0;
}

static void
test_expiry(void **state)
{
	struct store *st = *state;
	struct policy_decision d =
	    rule("internal-jit", POLICY_APPROVAL_AUTO, 0, NULL, 0, 0);
	struct store_grant *g;
	struct store_grant_req r = req_alice;
	char id[40];
	int n = 0;

	r.duration = 60;
	assert_int_equal(
	    store_grant_request(st, "engineer:alice", &r, &d, NOW, &g), 0);
	memcpy(id, g->id, sizeof(id));
	store_grant_free(g);
	assert_int_equal(
	    store_grant_best_for(st, "alice", "db01", "postgres", NOW + 59, &g),
	    0);
	store_grant_free(g);
	/* not_after is exclusive. */
	assert_int_equal(
	    store_grant_best_for(st, "alice", "db01", "postgres", NOW + 60, &g),
	    PV_ERR_NOT_FOUND);
	assert_int_equal(store_grant_get(st, id, NOW + 60, &g), 0);
	assert_int_equal(g->state, STORE_GRANT_EXPIRED);
	store_grant_free(g);
	assert_int_equal(store_grant_list(st, "alice", STORE_GRANTS_CURRENT,
			     NOW + 60, grant_count, &n),
	    0);
	assert_int_equal(n, 0);
	assert_int_equal(store_grant_expire_due(st, NOW + 59, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_grant_expire_due(st, NOW + 60, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_grant_revoke(st, "admin:t", id, NULL, NOW + 70),
	    PV_ERR_INVALID);
}

static void
test_list_and_revoke_engineer(void **state)
{
	struct store *st = *state;
	struct policy_decision a =
	    rule("internal-jit", POLICY_APPROVAL_AUTO, 0, NULL, 0, 0);
	struct policy_decision p =
	    rule("confidential", POLICY_APPROVAL_GROUP, 1, "security", 0, 0);
	struct store_grant *g;
	int n = 0;

	assert_int_equal(
	    store_grant_request(st, "engineer:alice", &req_alice, &a, NOW, &g),
	    0);
	store_grant_free(g);
	assert_int_equal(store_grant_request(
			     st, "engineer:alice", &req_alice, &p, NOW + 1, &g),
	    0);
	store_grant_free(g);
	assert_int_equal(store_grant_list(st, NULL, STORE_GRANTS_PENDING, NOW,
			     grant_count, &n),
	    0);
	assert_int_equal(n, 1);
	n = 0;
	assert_int_equal(
	    store_grant_list(st, "alice", 0, NOW, grant_count, &n), 0);
	assert_int_equal(n, 2);
	/* The active grant beats the pending one. */
	assert_int_equal(
	    store_grant_best_for(st, "alice", "db01", "postgres", NOW + 2, &g),
	    0);
	assert_int_equal(g->state, STORE_GRANT_ACTIVE);
	store_grant_free(g);
	/* Revoking the engineer revokes both. */
	assert_int_equal(store_engineer_revoke(st, "admin:t", "alice", "x"), 0);
	n = 0;
	assert_int_equal(store_grant_list(st, "alice", STORE_GRANTS_CURRENT,
			     NOW + 2, grant_count, &n),
	    0);
	assert_int_equal(n, 0);
}

/* Rows of the audit chain with this action. */
/* Rows whose details say "authenticated": false. */
struct unauth {
	int count;
};

static int
unauth_row(void *ctx, const struct store_audit_row *r)
{
	struct unauth *n = ctx;
	json_t *d = r->details != NULL ? json_loads(r->details, 0, NULL) : NULL;

	if (json_is_false(json_object_get(d, "authenticated")))
		n->count++;
	json_decref(d);
	return 0;
}

static int
audit_count(struct store *st, const char *action)
{
	struct unauth n = { 0 };
	uint64_t cursor = 0;

	/* through the store, so that it counts on both engines */
	if (store_audit_action_since(st, action, &cursor, unauth_row, &n) != 0)
		return -1;
	return n.count;
}

/*
 * Approvers who signed in to the broker (store_grant_approve_auth) are
 * the only ones that count under a rule without break-glass; root's --as
 * is refused there, and counts (as not authenticated) under one with it.
 */
static void
test_authenticated_approvals(void **state)
{
	struct store *st = *state;
	struct policy_decision d =
	    rule("restricted", POLICY_APPROVAL_GROUP, 2, "security", 0, 0);
	const struct store_approver_auth how = { .addr = "192.0.2.9",
		.session = NULL };
	struct policy_grant pg;
	struct store_grant *g;
	char id[40];

	d.approval_break_glass = 0;
	assert_int_equal(
	    store_grant_request(st, "engineer:alice", &req_alice, &d, NOW, &g),
	    0);
	assert_int_equal(g->break_glass, 0);
	memcpy(id, g->id, sizeof(id));
	store_grant_free(g);
	/* root's word for sec1 does not count here: refused, nothing kept */
	assert_int_equal(
	    store_grant_approve(st, "sec1", id, NOW + 1, NULL), PV_ERR_DENIED);
	assert_non_null(strstr(store_errmsg(st), "break-glass"));
	/* and on the record, as not authenticated */
	assert_int_equal(audit_count(st, "grant.approve.refused"), 1);
	assert_int_equal(
	    store_grant_approve_auth(st, "sec1", &how, id, "ok", NOW + 2, &g),
	    0);
	assert_int_equal(g->state, STORE_GRANT_PENDING);
	assert_int_equal(g->approvals, 1);
	assert_int_equal(g->approvals_auth, 1);
	store_grant_free(g);
	/* the same approver twice counts once */
	assert_int_equal(
	    store_grant_approve_auth(st, "sec1", &how, id, NULL, NOW + 3, &g),
	    PV_ERR_EXISTS);
	assert_int_equal(store_grant_get(st, id, NOW + 3, &g), 0);
	assert_int_equal(g->approvals, 1);
	store_grant_free(g);
	/* separation of duties holds for signed-in approvers too */
	assert_int_equal(store_grant_approve_auth(
			     st, "alice-sec", &how, id, NULL, NOW + 4, &g),
	    PV_ERR_DENIED);
	assert_int_equal(
	    store_grant_approve_auth(st, "sec2", &how, id, NULL, NOW + 5, &g),
	    0);
	assert_int_equal(g->state, STORE_GRANT_ACTIVE);
	store_grant_to_policy(g, &pg);
	assert_int_equal(pg.approvals, 2);
	assert_int_equal(pg.approvals_break_glass, 0);
	store_grant_free(g);

	/* Under break-glass, --as counts, marked as not authenticated. */
	d.approval_break_glass = 1;
	assert_int_equal(
	    store_grant_request(st, "engineer:alice", &req_alice, &d, NOW, &g),
	    0);
	assert_int_equal(g->break_glass, 1);
	memcpy(id, g->id, sizeof(id));
	store_grant_free(g);
	assert_int_equal(store_grant_approve(st, "sec1", id, NOW + 1, &g), 0);
	assert_int_equal(g->approvals, 1);
	assert_int_equal(g->approvals_auth, 0);
	assert_int_equal(g->approvals_break_glass, 1);
	store_grant_to_policy(g, &pg);
	/* the policy counts it only while the rule says break-glass */
	assert_int_equal(pg.approvals, 0);
	assert_int_equal(pg.approvals_break_glass, 1);
	store_grant_free(g);
	assert_int_equal(
	    store_grant_approve_auth(st, "sec2", &how, id, NULL, NOW + 2, &g),
	    0);
	assert_int_equal(g->state, STORE_GRANT_ACTIVE);
	store_grant_free(g);
}

/*
 * A schema 6 store: its approvals were root's --as.  After the migration
 * they are kept as not authenticated and count only under break-glass.
 */
static void
test_migrate_v6(void **state)
{
	struct policy_decision d =
	    rule("restricted", POLICY_APPROVAL_GROUP, 1, "security", 0, 0);
	char dir[256], path[300], id[40];
	struct store *st = NULL;
	struct policy_grant pg;
	struct store_grant *g;
	int v;

	(void)state;
	assert_int_equal(tsu_tmpdir(dir, sizeof(dir)), 0);
	assert_true(snprintf(path, sizeof(path), "%s/v6.db", dir) > 0);
	assert_int_equal(store_open(path, &st), 0);
	assert_int_equal(tsu_populate(st), 0);
	assert_int_equal(
	    store_approver_add(st, "admin:t", "sec1", "security", NULL), 0);
	d.approval_break_glass = 0;
	assert_int_equal(
	    store_grant_request(st, "engineer:alice", &req_alice, &d, NOW, &g),
	    0);
	memcpy(id, g->id, sizeof(id));
	store_grant_free(g);
	assert_int_equal(sqlite3_exec(st_sqlite_db(st),
			     "DROP TABLE mfa_grace;"
			     "DROP TABLE session_kills;"
			     "DROP TABLE broker_leases;"
			     "DROP INDEX sessions_broker;"
			     "ALTER TABLE sessions DROP COLUMN broker;"
			     "DROP TABLE approver_keys;"
			     "DROP TABLE approver_totp;"
			     "ALTER TABLE approvers DROP COLUMN auth_failures;"
			     "ALTER TABLE approvers DROP COLUMN locked_until;"
			     "ALTER TABLE grant_approvals DROP COLUMN "
			     "authenticated;"
			     "ALTER TABLE grant_approvals DROP COLUMN "
			     "client_addr;"
			     "ALTER TABLE grants DROP COLUMN break_glass;"
			     "INSERT INTO grant_approvals SELECT id, 1, "
			     "'approve', NULL, 5 FROM grants;"
			     "UPDATE grants SET state = 'active', not_before = "
			     "0, not_after = 4000000000;"
			     "PRAGMA user_version = 6;",
			     NULL, NULL, NULL),
	    SQLITE_OK);
	store_close(st);
	assert_int_equal(store_open(path, &st), 0);
	assert_int_equal(store_schema_version(st, &v), 0);
	assert_int_equal(v, STORE_SCHEMA_VERSION);
	assert_int_equal(store_grant_get(st, id, NOW, &g), 0);
	assert_int_equal(g->approvals, 0);
	assert_int_equal(g->approvals_auth, 0);
	assert_int_equal(g->approvals_break_glass, 1);
	store_grant_to_policy(g, &pg);
	assert_int_equal(pg.approvals, 0);
	assert_int_equal(pg.approvals_break_glass, 1);
	store_grant_free(g);
	store_close(st);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_auto),
		T(test_request_checks),
		T(test_two_of_group),
		T(test_requested_by_approver),
		T(test_deny_and_revoke),
		T(test_expiry),
		T(test_list_and_revoke_engineer),
		T(test_authenticated_approvals),
		T(test_migrate_v6),
	};
#undef T

	pv_log_init("test_store_grants", PV_LOG_STDERR, PV_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
