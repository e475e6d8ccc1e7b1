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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(table, setup, teardown),
		cmocka_unit_test_setup_teardown(disabled, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    request_audited, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
