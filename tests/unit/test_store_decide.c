/*
 * test_store_decide.c: the one decision path.  A table of cases (engineer,
 * target, account, channel, a veto's answer) runs through store_decide,
 * which the broker, the menu, provostctl grant request, token issue and
 * policy explain all call: the rows' own refusals come first whatever the
 * policy says, the veto is asked only when the policy does not refuse, and
 * a veto's refusal is final and audited.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "store/store-int.h"
#include "store_test_util.h"

#define NOW 1800000000LL

static const char policy_text[] =
    "Levels public internal confidential restricted\n"
    "Rule conf\n"
    "    Classification confidential\n"
    "    Clearance confidential\n"
    "    Approval none\n"
    "    Channels shell exec\n"
    "Rule jit\n"
    "    Classification internal\n"
    "    Approval 1 group security break-glass\n"
    "    MaxDuration 4h\n"
    "    Channels shell exec\n";

struct fixture {
	struct store *st;
	struct policy *pol;
};

/* The veto: counts its calls, keeps what it was asked, may refuse. */
struct veto {
	int calls;
	int refuse;
	struct store_veto last;
	char what[32];
};

static int
veto_fn(void *ctx, const struct store_veto *v, char *reason, size_t len)
{
	struct veto *x = ctx;

	/* as plugin_host_check does: the buffer is its own */
	if (len > 0)
		reason[0] = '\0';
	x->calls++;
	x->last = *v;
	(void)snprintf(x->what, sizeof(x->what), "%s", v->what);
	if (!x->refuse)
		return PV_ALLOW;
	(void)snprintf(reason, len, "plugin t denies: %s", "out of contract");
	return PV_DENY;
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];

	if (f == NULL || store_open(tsu_mem(), &f->st) != 0 ||
	    tsu_populate(f->st) != 0 ||
	    policy_load_mem("t.conf", policy_text, sizeof(policy_text) - 1,
		&f->pol, err, sizeof(err)) != 0)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	policy_free(f->pol);
	store_close(f->st);
	free(f);
	return 0;
}

struct row {
	const char *engineer, *target, *account;
	unsigned int channel;
	int refuse;       /* the veto's answer */
	int want;         /* PV_ALLOW, PV_DENY or a PV_ERR_* */
	int want_refused; /* sd.refused */
	int want_vetoed;
	int want_calls;     /* the veto asked? */
	const char *reason; /* a substring of sd.reason, or NULL */
};

static void
table(void **state)
{
	static const struct row rows[] = {
		{ "alice", "db01", "postgres", POLICY_CH_SHELL, 0, PV_ALLOW, 0,
		    0, 1, "allowed by rule conf" },
		{ "alice", "db01", "postgres", 0, 0, PV_ALLOW, 0, 0, 1, NULL },
		/* the policy refuses: the veto is not asked */
		{ "alice", "db01", "postgres", POLICY_CH_SFTP, 0, PV_DENY, 0, 0,
		    0, NULL },
		{ "bob", "db01", "postgres", POLICY_CH_SHELL, 0, PV_DENY, 0, 0,
		    0, NULL },
		/* an account the target lacks: whatever the rules say */
		{ "alice", "db01", "oracle", POLICY_CH_SHELL, 0, PV_DENY,
		    PV_ERR_NOT_FOUND, 0, 0, "db01 has no account oracle" },
		/* the veto takes the yes away, with its reason */
		{ "alice", "db01", "root", POLICY_CH_EXEC, 1, PV_DENY, 0, 1, 1,
		    "plugin t denies: out of contract" },
		{ "alice", "db01", "root", 0, 1, PV_DENY, 0, 1, 1,
		    "out of contract" },
		/* a policy refusal stays one (the veto cannot change it) */
		{ "bob", "db01", "root", POLICY_CH_SHELL, 1, PV_DENY, 0, 0, 0,
		    NULL },
		{ "nobody", "db01", "root", POLICY_CH_SHELL, 0,
		    PV_ERR_NOT_FOUND, 0, 0, 0, NULL },
		{ "alice", "db99", "root", POLICY_CH_SHELL, 0, PV_ERR_NOT_FOUND,
		    0, 0, 0, NULL },
	};
	struct fixture *f = *state;
	struct store_decision sd;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *w = &rows[i];
		struct veto v = { .refuse = w->refuse };
		struct store_decide_req q = {
			.engineer = w->engineer,
			.target = w->target,
			.account = w->account,
			.channel = w->channel,
			.now = NOW,
			.veto = veto_fn,
			.veto_ctx = &v,
		};
		int r = store_decide(f->st, f->pol, &q, &sd);

		print_message("row %zu: %s %s %s -> %d %s\n", i, w->engineer,
		    w->target, w->account, r, sd.reason);
		assert_int_equal(r, w->want);
		assert_int_equal(v.calls, w->want_calls);
		if (r >= 0) {
			assert_int_equal(sd.refused, w->want_refused);
			assert_int_equal(sd.vetoed, w->want_vetoed);
			/* a refusal is a refusal in the outcome too */
			if (r == PV_DENY)
				assert_int_not_equal(
				    sd.d.outcome, POLICY_ALLOW);
		}
		if (w->reason != NULL)
			assert_non_null(strstr(sd.reason, w->reason));
		if (v.calls > 0) {
			assert_string_equal(v.last.provider, "acme");
			assert_string_equal(
			    v.last.classification, "confidential");
			assert_string_equal(
			    v.what, store_decide_what(w->channel));
		}
		store_decision_clear(&sd);
	}
}

/* A disabled engineer is refused before anything, explain still explains. */
static void
disabled(void **state)
{
	struct fixture *f = *state;
	struct pv_buf *b = pv_buf_new(PV_BUF_DEFAULT_MAX);
	struct store_decision sd;
	struct veto v = { 0 };
	struct store_decide_req q = {
		.engineer = "alice",
		.target = "db01",
		.account = "postgres",
		.channel = POLICY_CH_SHELL,
		.now = NOW,
		.explain = b,
		.veto = veto_fn,
		.veto_ctx = &v,
	};

	assert_non_null(b);
	assert_int_equal(
	    store_engineer_disable(f->st, "admin:t", "alice", "left"), 0);
	assert_int_equal(store_decide(f->st, f->pol, &q, &sd), PV_DENY);
	assert_int_equal(sd.refused, PV_ERR_DENIED);
	assert_string_equal(sd.reason, "engineer alice is disabled");
	assert_int_equal(v.calls, 0);
	/* the policy alone would allow: explain shows its rule */
	assert_string_equal(sd.d.rule, "conf");
	assert_true(pv_buf_len(b) > 0);
	store_decision_clear(&sd);
	pv_buf_free(b);
}

/* A grant request (no_grant, what): the veto hears "request"; audited. */
static void
request_audited(void **state)
{
	struct fixture *f = *state;
	struct store_decision sd;
	struct veto v = { .refuse = 1 };
	struct store_decide_req q = {
		.engineer = "alice",
		.target = "db01",
		.account = "postgres",
		.now = NOW,
		.no_grant = 1,
		.what = "request",
		.veto = veto_fn,
		.veto_ctx = &v,
	};
	uint64_t h0, h1;

	assert_int_equal(store_audit_head(f->st, &h0), 0);
	assert_int_equal(store_decide(f->st, f->pol, &q, &sd), PV_DENY);
	assert_string_equal(v.what, "request");
	assert_null(v.last.grant_id);
	assert_int_equal(store_decide_audit(f->st, "admin:t", &q, &sd), 0);
	assert_int_equal(store_audit_head(f->st, &h1), 0);
	assert_int_equal(h1, h0 + 1);
	store_decision_clear(&sd);
	/* an allow is not audited by it */
	v.refuse = 0;
	assert_int_equal(store_decide(f->st, f->pol, &q, &sd), PV_ALLOW);
	assert_int_equal(store_decide_audit(f->st, "admin:t", &q, &sd), 0);
	assert_int_equal(store_audit_head(f->st, &h0), 0);
	assert_int_equal(h0, h1);
	store_decision_clear(&sd);
}

/* store_decide's word on engineer@target as root, for a shell at at */
static int
decide(struct fixture *f, const char *engineer, const char *target, int64_t at,
    struct veto *v, struct store_decision *sd)
{
	struct store_decide_req q = {
		.engineer = engineer,
		.target = target,
		.account = "root",
		.channel = POLICY_CH_SHELL,
		.now = at,
		.veto = veto_fn,
		.veto_ctx = v,
	};

	return store_decide(f->st, f->pol, &q, sd);
}

/*
 * The provider's state is the engineer's: exiting refuses with its own
 * reason (before the policy and the veto), active again allows, revoked
 * disables its engineers.
 */
static void
provider_blocked(void **state)
{
	struct fixture *f = *state;
	struct store_decision sd;
	struct veto v = { 0 };

	assert_int_equal(store_provider_set_status(
			     f->st, "admin:t", "acme", STORE_PROVIDER_EXITING),
	    0);
	assert_int_equal(decide(f, "alice", "db01", NOW, &v, &sd), PV_DENY);
	assert_int_equal(sd.refused, PV_ERR_DENIED);
	assert_string_equal(
	    sd.reason, "provider acme of engineer alice is revoked or exiting");
	assert_int_equal(sd.d.outcome, POLICY_DENY);
	assert_int_equal(v.calls, 0);
	store_decision_clear(&sd);
	assert_int_equal(store_provider_set_status(
			     f->st, "admin:t", "acme", STORE_PROVIDER_EXITED),
	    0);
	assert_int_equal(decide(f, "alice", "db01", NOW, &v, &sd), PV_DENY);
	assert_int_equal(sd.refused, PV_ERR_DENIED);
	store_decision_clear(&sd);
	assert_int_equal(store_provider_set_status(
			     f->st, "admin:t", "acme", STORE_PROVIDER_ACTIVE),
	    0);
	assert_int_equal(decide(f, "alice", "db01", NOW, &v, &sd), PV_ALLOW);
	assert_int_equal(v.calls, 1);
	store_decision_clear(&sd);
	assert_int_equal(
	    store_provider_revoke(f->st, "admin:t", "acme", "ended"), 0);
	assert_int_equal(decide(f, "alice", "db01", NOW, &v, &sd), PV_DENY);
	assert_int_equal(sd.refused, PV_ERR_DENIED);
	assert_non_null(strstr(sd.reason, "alice"));
	assert_int_equal(v.calls, 1);
	store_decision_clear(&sd);
}

/*
 * One grant through its life, under a rule that needs one: none, pending,
 * approved (allowed: the grant named to the veto), past its end, revoked.
 */
static void
grant_states(void **state)
{
	static const char *const accts[] = { "root" };
	struct fixture *f = *state;
	struct store_target_spec t = {
		.name = "jit01",
		.host = "127.0.0.1",
		.port = 2200,
		.classification = "internal",
		.naccounts = 1,
		.accounts = accts,
	};
	struct store_grant_req gq = {
		.engineer = "bob",
		.target = "jit01",
		.account = "root",
		.duration = 3600,
	};
	struct store_decide_req rq = {
		.engineer = "bob",
		.target = "jit01",
		.account = "root",
		.now = NOW,
		.no_grant = 1,
		.what = "request",
	};
	struct store_decision sd;
	struct store_grant *g = NULL;
	struct veto v = { 0 };
	char *hk = tsu_keyline(0x43, NULL), id[64];

	assert_non_null(hk);
	t.hostkey = hk;
	assert_int_equal(store_target_add(f->st, "admin:t", &t), 0);
	free(hk);
	assert_int_equal(
	    store_approver_add(f->st, "admin:t", "sec1", "security", NULL), 0);
	/* no grant */
	assert_int_equal(decide(f, "bob", "jit01", NOW, &v, &sd), PV_DENY);
	assert_int_equal(sd.d.outcome, POLICY_NEEDS_GRANT);
	assert_int_equal(sd.refused, 0);
	assert_null(sd.g);
	assert_non_null(strstr(sd.reason, "needs a grant"));
	store_decision_clear(&sd);
	/* the request: the policy alone, as grant request asks */
	assert_int_equal(store_decide(f->st, f->pol, &rq, &sd), PV_DENY);
	assert_int_equal(sd.d.outcome, POLICY_NEEDS_GRANT);
	assert_int_equal(
	    store_grant_request(f->st, "engineer:bob", &gq, &sd.d, NOW + 1, &g),
	    0);
	store_decision_clear(&sd);
	(void)snprintf(id, sizeof(id), "%s", g->id);
	store_grant_free(g);
	g = NULL;
	/* pending */
	assert_int_equal(decide(f, "bob", "jit01", NOW + 2, &v, &sd), PV_DENY);
	assert_int_equal(sd.d.outcome, POLICY_NEEDS_APPROVAL);
	assert_non_null(strstr(sd.reason, "0 of 1 approvals"));
	store_decision_clear(&sd);
	/* approved: allowed, and the veto hears which grant */
	assert_int_equal(
	    store_grant_approve(f->st, "sec1", id, NOW + 3, &g), 0);
	store_grant_free(g);
	assert_int_equal(decide(f, "bob", "jit01", NOW + 4, &v, &sd), PV_ALLOW);
	assert_non_null(sd.g);
	assert_string_equal(sd.g->id, id);
	assert_non_null(v.last.grant_id);
	assert_string_equal(v.last.grant_id, id);
	store_decision_clear(&sd);
	/* past its end */
	assert_int_equal(
	    decide(f, "bob", "jit01", NOW + 3 + 3600 + 1, &v, &sd), PV_DENY);
	assert_int_equal(sd.d.outcome, POLICY_NEEDS_GRANT);
	store_decision_clear(&sd);
	/* revoked */
	assert_int_equal(
	    store_grant_revoke(f->st, "admin:t", id, "done", NOW + 5), 0);
	assert_int_equal(decide(f, "bob", "jit01", NOW + 6, &v, &sd), PV_DENY);
	assert_int_equal(sd.d.outcome, POLICY_NEEDS_GRANT);
	assert_null(sd.g);
	store_decision_clear(&sd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(table, setup, teardown),
		cmocka_unit_test_setup_teardown(disabled, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    request_audited, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    provider_blocked, setup, teardown),
		cmocka_unit_test_setup_teardown(grant_states, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
