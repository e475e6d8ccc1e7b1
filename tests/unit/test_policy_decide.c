/*
 * test_policy_decide.c: the evaluator as a table of requests and the
 * outcome, deciding rule and reason each must get; then the fields.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/common.h"
#include "policy/policy.h"

/* Hours without TZ are in the broker's zone, which main() sets to UTC. */
static const char test_policy[] =
    "Levels public internal confidential restricted\n"
    "\n"
    "Rule acme-db-readonly\n" /* line 3 */
    "  Classification confidential\n"
    "  Provider acme\n"
    "  Target db*\n"
    "  Account readonly\n"
    "  Approval none\n"
    "  Channels exec\n"
    "\n"
    "Rule standing-public\n" /* line 11 */
    "  Classification public\n"
    "  Approval none\n"
    "  Channels shell exec sftp\n"
    "  Transfer download\n"
    "  RecordFileContents no\n"
    "\n"
    "Rule oncall\n" /* line 18 */
    "  Classification internal\n"
    "  Engineer carol dave\n"
    "  Approval none\n"
    "  Channels shell\n"
    "\n"
    "Rule internal-jit\n" /* line 24 */
    "  Classification internal\n"
    "  Approval auto\n"
    "  RequireTicket yes\n"
    "  MaxDuration 8h\n"
    "  Channels shell exec sftp scp forward\n"
    "  ForwardTo localhost:5432 *.internal:*\n"
    "  FreshMFA yes\n"
    "\n"
    "Rule confidential\n" /* line 33 */
    "  Classification confidential\n"
    "  Clearance\n"
    "  Approval 1 group security\n"
    "  RequireTicket yes\n"
    "  MaxDuration 4h\n"
    "  Channels shell exec\n"
    "\n"
    "Rule berlin-weekend\n" /* line 41 */
    "  Classification restricted\n"
    "  Target berlin-*\n"
    "  Approval none\n"
    "  Hours Sat,Sun 00:00-12:00 14:00-16:00\n"
    "  TZ Europe/Berlin\n"
    "  Channels shell\n"
    "\n"
    "Rule restricted\n" /* line 49 */
    "  Classification restricted\n"
    "  Provider acme globex\n"
    "  Clearance restricted\n"
    "  Approval 2 group security\n"
    "  MaxDuration 1h\n"
    "  Hours Mon-Fri 07:00-19:00\n"
    "  Channels shell\n";

#define H 3600
#define MIN 60
#define MON 1783296000LL      /* 2026-07-06T00:00:00Z, a Monday */
#define FRI (MON + 4 * 86400) /* 2026-07-10 */
#define SAT (MON + 5 * 86400) /* 2026-07-11 */
#define SUN (MON + 6 * 86400) /* 2026-07-12 */
#define WSAT 1768003200LL     /* 2026-01-10T00:00:00Z, a Saturday (CET) */
#define DSTSUN 1774742400LL   /* 2026-03-29T00:00:00Z, CET -> CEST at 01:00Z */

/* Grants, their window relative to the request's now. */
enum {
	G_NONE = 0,
	G_OK,     /* alice as root on the case's target, now-10m..now+2h */
	G_OK_ACC, /* as postgres */
	G_OK_ENG, /* for bob */
	G_OK_TGT, /* for db99 */
	G_REVOKED,
	G_DENIED,
	G_EXPIRED,  /* ended at now */
	G_LAST_SEC, /* ends at now + 1 */
	G_FUTURE,   /* starts at now + 1 */
	G_STARTS_NOW,
	G_LONG_4H,   /* began now-4h, ends now+1h: capped by MaxDuration 4h */
	G_LONG_4H_1, /* began now-4h+1 */
};

struct dcase {
	const char *engineer, *provider, *clearance, *target, *cls, *account;
	const char *channel; /* NULL: 0 (not checked) */
	int64_t now;
	int grant;
	int approvals;
	enum policy_outcome want;
	const char *rule;   /* NULL: no rule */
	const char *reason; /* a substring of the reason */
};

#define A "alice", "acme", "restricted"
#define DENY POLICY_DENY
#define ALLOW POLICY_ALLOW
#define NGRANT POLICY_NEEDS_GRANT
#define NAPPR POLICY_NEEDS_APPROVAL
#define NOON (MON + 12 * H)

static const struct dcase cases[] = {
	/* 0: selectors narrow a rule; a selected rule decides, no fall-through */
	{ A, "db01", "confidential", "readonly", "exec", NOON, G_NONE, 0, ALLOW,
	    "acme-db-readonly", "standing access" },
	{ A, "db01", "confidential", "readonly", "shell", NOON, G_NONE, 0, DENY,
	    "acme-db-readonly", "does not allow shell channels" },
	{ "alice", "globex", "restricted", "db01", "confidential", "readonly",
	    "exec", NOON, G_NONE, 0, NGRANT, "confidential",
	    "needs a grant with a ticket approved by 1 of group security" },
	{ A, "web01", "confidential", "readonly", "exec", NOON, G_NONE, 0,
	    NGRANT, "confidential", "request one" },
	{ A, "db01", "confidential", "postgres", "exec", NOON, G_NONE, 0,
	    NGRANT, "confidential", "request one" },
	/* 5: standing access, channels */
	{ A, "www", "public", "web", "shell", NOON, G_NONE, 0, ALLOW,
	    "standing-public", "allowed by rule standing-public" },
	{ A, "www", "public", "web", "sftp", NOON, G_NONE, 0, ALLOW,
	    "standing-public", NULL },
	{ A, "www", "public", "web", "scp", NOON, G_NONE, 0, DENY,
	    "standing-public", "does not allow scp channels" },
	{ A, "www", "public", "web", "forward", NOON, G_NONE, 0, DENY,
	    "standing-public", "does not allow forward channels" },
	{ A, "www", "public", "web", NULL, NOON, G_NONE, 0, ALLOW,
	    "standing-public", NULL },
	/* 10: Approval none ignores grants, even a revoked one */
	{ A, "www", "public", "web", "shell", NOON, G_REVOKED, 0, ALLOW,
	    "standing-public", NULL },
	/* Engineer selector */
	{ "carol", "acme", NULL, "app1", "internal", "root", "shell", NOON,
	    G_NONE, 0, ALLOW, "oncall", NULL },
	{ "carol", "acme", NULL, "app1", "internal", "root", "exec", NOON,
	    G_NONE, 0, DENY, "oncall", "does not allow exec" },
	{ "eve", "acme", NULL, "app1", "internal", "root", "shell", NOON,
	    G_NONE, 0, NGRANT, "internal-jit",
	    "rule internal-jit needs a grant with a ticket: request one" },
	/* auto approval: a matching, valid grant is enough */
	{ A, "app1", "internal", "root", "shell", NOON, G_OK, 0, ALLOW,
	    "internal-jit", "allowed by rule internal-jit, grant g-1" },
	/* 15: grants for something else */
	{ A, "app1", "internal", "root", "shell", NOON, G_OK_ACC, 0, NGRANT,
	    "internal-jit",
	    "is for alice as postgres on app1, not alice as "
	    "root on app1" },
	{ A, "app1", "internal", "root", "shell", NOON, G_OK_ENG, 0, NGRANT,
	    "internal-jit", "is for bob as root" },
	{ A, "app1", "internal", "root", "shell", NOON, G_OK_TGT, 0, NGRANT,
	    "internal-jit", "on db99, not" },
	{ A, "app1", "internal", "root", "shell", NOON, G_REVOKED, 0, DENY,
	    "internal-jit", "grant g-1 was revoked" },
	{ A, "app1", "internal", "root", "shell", NOON, G_EXPIRED, 0, NGRANT,
	    "internal-jit", "expired at 2026-07-06T12:00:00Z: request a new" },
	/* 20: grant window boundaries: not_before inclusive, not_after not */
	{ A, "app1", "internal", "root", "shell", NOON, G_LAST_SEC, 0, ALLOW,
	    "internal-jit", NULL },
	{ A, "app1", "internal", "root", "shell", NOON, G_FUTURE, 0, DENY,
	    "internal-jit", "not valid before 2026-07-06T12:00:01Z" },
	{ A, "app1", "internal", "root", "shell", NOON, G_STARTS_NOW, 0, ALLOW,
	    "internal-jit", NULL },
	{ A, "app1", "internal", "root", "remote-forward", NOON, G_OK, 0, DENY,
	    "internal-jit", "does not allow remote-forward" },
	{ A, "app1", "internal", "root", "forward", NOON, G_OK, 0, ALLOW,
	    "internal-jit", NULL },
	/* 25: group approval and clearance at least the target's level */
	{ "alice", "acme", "confidential", "db01", "confidential", "root",
	    "shell", NOON, G_OK, 0, NAPPR, "confidential",
	    "grant g-1 has 0 of 1 approvals from group security" },
	{ "alice", "acme", "confidential", "db01", "confidential", "root",
	    "shell", NOON, G_OK, 1, ALLOW, "confidential", NULL },
	{ "alice", "acme", "internal", "db01", "confidential", "root", "shell",
	    NOON, G_OK, 1, DENY, "confidential",
	    "clearance internal is below confidential, which rule "
	    "confidential requires" },
	{ "alice", "acme", NULL, "db01", "confidential", "root", "shell", NOON,
	    G_OK, 1, DENY, "confidential", "clearance (none) is below" },
	{ "alice", "acme", "topsecret", "db01", "confidential", "root", "shell",
	    NOON, G_OK, 1, DENY, "confidential",
	    "clearance topsecret is below" },
	/* 30 */
	{ "alice", "acme", "restricted", "db01", "confidential", "root",
	    "shell", NOON, G_DENIED, 1, DENY, "confidential",
	    "grant g-1 was denied" },
	/* MaxDuration caps a longer grant: 4h after not_before it ends */
	{ "alice", "acme", "confidential", "db01", "confidential", "root",
	    "shell", NOON, G_LONG_4H, 1, NGRANT, "confidential",
	    "(MaxDuration of rule)" },
	{ "alice", "acme", "confidential", "db01", "confidential", "root",
	    "shell", NOON, G_LONG_4H_1, 1, ALLOW, "confidential", NULL },
	/* restricted: four eyes, Hours Mon-Fri 07:00-19:00 broker time (UTC) */
	{ A, "vault", "restricted", "root", "shell", MON + 7 * H, G_OK, 1,
	    NAPPR, "restricted", "has 1 of 2 approvals" },
	{ A, "vault", "restricted", "root", "shell", MON + 7 * H, G_OK, 2,
	    ALLOW, "restricted", NULL },
	/* 35 */
	{ A, "vault", "restricted", "root", "shell", MON + 7 * H - 1, G_OK, 2,
	    DENY, "restricted",
	    "outside the hours of rule restricted (Mon-Fri 07:00-19:00, "
	    "broker time)" },
	{ A, "vault", "restricted", "root", "shell", MON + 19 * H - 1, G_OK, 3,
	    ALLOW, "restricted", NULL },
	{ A, "vault", "restricted", "root", "shell", MON + 19 * H, G_OK, 2,
	    DENY, "restricted", "outside the hours" },
	{ A, "vault", "restricted", "root", "shell", FRI + 19 * H - 1, G_OK, 2,
	    ALLOW, "restricted", NULL },
	{ A, "vault", "restricted", "root", "shell", SAT + 10 * H, G_OK, 2,
	    DENY, "restricted", "outside the hours" },
	/* 40 */
	{ A, "vault", "restricted", "root", "shell", MON - 1, G_OK, 2, DENY,
	    "restricted", "outside the hours" }, /* Sunday 23:59:59 */
	{ "alice", "acme", "confidential", "vault", "restricted", "root",
	    "shell", MON + 8 * H, G_OK, 2, DENY, "restricted",
	    "clearance confidential is below restricted" },
	{ A, "vault", "restricted", "root", "exec", MON + 8 * H, G_OK, 2, DENY,
	    "restricted", "does not allow exec" },
	/* default deny: no rule for this provider at restricted */
	{ "ivan", "initech", "restricted", "vault", "restricted", "root",
	    "shell", MON + 8 * H, G_OK, 2, DENY, NULL,
	    "no rule allows ivan (provider initech) to reach vault "
	    "(restricted) as root" },
	/* unknown classification = the highest level */
	{ A, "vault", "secret", "root", "shell", MON + 8 * H, G_OK, 2, ALLOW,
	    "restricted", NULL },
	/* 45 */
	{ A, "vault", NULL, "root", "shell", MON + 8 * H, G_OK, 1, NAPPR,
	    "restricted", NULL },
	{ "ivan", "initech", "restricted", "vault", "bogus", "root", "shell",
	    MON + 8 * H, G_OK, 2, DENY, NULL, "no rule allows" },
	/* Hours in Europe/Berlin: Sat,Sun 00:00-12:00 14:00-16:00 */
	{ A, "berlin-1", "restricted", "root", "shell", SAT + 7 * H, G_NONE, 0,
	    ALLOW, "berlin-weekend", NULL }, /* 09:00 CEST */
	{ A, "berlin-1", "restricted", "root", "shell", SAT + 10 * H - 1,
	    G_NONE, 0, ALLOW, "berlin-weekend", NULL }, /* 11:59:59 */
	{ A, "berlin-1", "restricted", "root", "shell", SAT + 10 * H, G_NONE, 0,
	    DENY, "berlin-weekend",
	    "outside the hours of rule berlin-weekend (Sat,Sun 00:00-12:00 "
	    "14:00-16:00, Europe/Berlin)" }, /* 12:00 */
	/* 50 */
	{ A, "berlin-1", "restricted", "root", "shell", SAT + 12 * H, G_NONE, 0,
	    ALLOW, "berlin-weekend", NULL }, /* 14:00 */
	{ A, "berlin-1", "restricted", "root", "shell", SAT + 14 * H, G_NONE, 0,
	    DENY, "berlin-weekend", NULL }, /* 16:00 */
	/* the weekday is Berlin's: Friday 22:00Z is Saturday 00:00 there */
	{ A, "berlin-1", "restricted", "root", "shell", SAT - 2 * H, G_NONE, 0,
	    ALLOW, "berlin-weekend", NULL },
	{ A, "berlin-1", "restricted", "root", "shell", SAT - 2 * H - 1, G_NONE,
	    0, DENY, "berlin-weekend", NULL },
	{ A, "berlin-1", "restricted", "root", "shell", SUN + 22 * H, G_NONE, 0,
	    DENY, "berlin-weekend", NULL }, /* Monday 00:00 Berlin */
	/* 55: winter (CET, +1) */
	{ A, "berlin-1", "restricted", "root", "shell", WSAT + 11 * H - 1,
	    G_NONE, 0, ALLOW, "berlin-weekend", NULL }, /* 11:59:59 CET */
	{ A, "berlin-1", "restricted", "root", "shell", WSAT + 11 * H, G_NONE,
	    0, DENY, "berlin-weekend", NULL }, /* 12:00 CET */
	{ A, "berlin-1", "restricted", "root", "shell", WSAT - H, G_NONE, 0,
	    ALLOW, "berlin-weekend", NULL }, /* Sat 00:00 CET */
	/* the day DST starts: 01:00Z is 03:00 CEST */
	{ A, "berlin-1", "restricted", "root", "shell", DSTSUN + 10 * H - 1,
	    G_NONE, 0, ALLOW, "berlin-weekend", NULL }, /* 11:59:59 CEST */
	{ A, "berlin-1", "restricted", "root", "shell", DSTSUN + 10 * H, G_NONE,
	    0, DENY, "berlin-weekend", NULL },
	/* 60 */
	{ A, "berlin-1", "restricted", "root", "shell", DSTSUN + 11 * H - 1,
	    G_NONE, 0, DENY, "berlin-weekend", NULL }, /* CET would allow */
	{ A, "berlin-1", "restricted", "root", "exec", SAT + 7 * H, G_NONE, 0,
	    DENY, "berlin-weekend", "does not allow exec" },
};

static struct policy *pol;

static int
setup(void **state)
{
	char err[512];

	(void)state;
	if (policy_load_mem("test.conf", test_policy, strlen(test_policy), &pol,
		err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	policy_free(pol);
	pol = NULL;
	return 0;
}

static void
make_grant(const struct dcase *c, struct policy_grant *g)
{
	*g = (struct policy_grant){
		.id = "g-1",
		.engineer = c->engineer,
		.target = c->target,
		.account = c->account,
		.not_before = c->now - 10 * MIN,
		.not_after = c->now + 2 * H,
		.approvals = c->approvals,
	};
	switch (c->grant) {
	case G_OK_ACC:
		g->account = "postgres";
		break;
	case G_OK_ENG:
		g->engineer = "bob";
		break;
	case G_OK_TGT:
		g->target = "db99";
		break;
	case G_REVOKED:
		g->revoked = 1;
		break;
	case G_DENIED:
		g->denied = 1;
		break;
	case G_EXPIRED:
		g->not_after = c->now;
		break;
	case G_LAST_SEC:
		g->not_after = c->now + 1;
		break;
	case G_FUTURE:
		g->not_before = c->now + 1;
		break;
	case G_STARTS_NOW:
		g->not_before = c->now;
		break;
	case G_LONG_4H:
		g->not_before = c->now - 4 * H;
		g->not_after = c->now + H;
		break;
	case G_LONG_4H_1:
		g->not_before = c->now - 4 * H + 1;
		g->not_after = c->now + H;
		break;
	default:
		break;
	}
}

static void
request_of(
    const struct dcase *c, struct policy_grant *g, struct policy_request *req)
{
	make_grant(c, g);
	*req = (struct policy_request){
		.engineer = c->engineer,
		.provider = c->provider,
		.clearance = c->clearance,
		.target = c->target,
		.classification = c->cls,
		.account = c->account,
		.channel =
		    c->channel == NULL ? 0 : policy_channel_parse(c->channel),
		.now = c->now,
		.grant = c->grant == G_NONE ? NULL : g,
	};
}

static void
test_table(void **state)
{
	struct policy_decision d;
	struct policy_request req;
	struct policy_grant g;
	size_t i;
	int r;

	(void)state;
	assert_true(sizeof(cases) / sizeof(cases[0]) >= 40);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct dcase *c = &cases[i];

		request_of(c, &g, &req);
		r = policy_decide(pol, &req, &d);
		if (r != (c->want == ALLOW ? PV_ALLOW : PV_DENY) ||
		    d.outcome != c->want)
			fail_msg("case %zu: got %s (%d), want %s: %s", i,
			    policy_outcome_name(d.outcome), r,
			    policy_outcome_name(c->want), d.reason);
		if (c->rule == NULL && d.rule != NULL)
			fail_msg(
			    "case %zu: decided by %s, want no rule", i, d.rule);
		if (c->rule != NULL &&
		    (d.rule == NULL || strcmp(d.rule, c->rule) != 0))
			fail_msg("case %zu: decided by %s, want %s", i,
			    d.rule == NULL ? "(none)" : d.rule, c->rule);
		if (c->reason != NULL && strstr(d.reason, c->reason) == NULL)
			fail_msg("case %zu: reason \"%s\" lacks \"%s\"", i,
			    d.reason, c->reason);
		if (d.reason[0] == '\0')
			fail_msg("case %zu: empty reason", i);
	}
}

static void
decide1(const char *eng, const char *cls, const char *target, const char *chan,
    int64_t now, const struct policy_grant *g, struct policy_decision *d)
{
	struct policy_request req = {
		.engineer = eng,
		.provider = "acme",
		.clearance = "restricted",
		.target = target,
		.classification = cls,
		.account = "root",
		.channel = chan == NULL ? 0 : policy_channel_parse(chan),
		.now = now,
		.grant = g,
	};

	(void)policy_decide(pol, &req, d);
}

/* Every decision field comes from the deciding rule. */
static void
test_fields(void **state)
{
	struct policy_grant g = { .id = "g",
		.engineer = "alice",
		.target = "app1",
		.account = "root",
		.not_before = NOON - H,
		.not_after = NOON + 20 * H };
	struct policy_decision d;

	(void)state;
	decide1("alice", "internal", "app1", "shell", NOON, &g, &d);
	assert_int_equal(d.outcome, POLICY_ALLOW);
	assert_string_equal(d.rule, "internal-jit");
	assert_int_equal(d.rule_line, 24);
	assert_int_equal(d.approval, POLICY_APPROVAL_AUTO);
	assert_int_equal(d.approvals_needed, 0);
	assert_null(d.approval_group);
	assert_int_equal(d.require_ticket, 1);
	assert_int_equal(d.max_duration, 8 * H);
	assert_int_equal(d.channels,
	    POLICY_CH_SHELL | POLICY_CH_EXEC | POLICY_CH_SFTP | POLICY_CH_SCP |
		POLICY_CH_FORWARD);
	assert_int_equal(d.fresh_mfa, 1);
	/* No RecordFileContents line: metadata and hashes only. */
	assert_int_equal(d.record_file_contents, 0);
	assert_int_equal(d.transfer, POLICY_TRANSFER_BOTH);
	assert_int_equal(d.nforward_to, 2);
	/* The grant began at NOON-1h: MaxDuration 8h ends it at NOON+7h. */
	assert_int_equal(d.valid_until, NOON + 7 * H);

	decide1("alice", "public", "www", "sftp", NOON, NULL, &d);
	assert_string_equal(d.rule, "standing-public");
	assert_int_equal(d.approval, POLICY_APPROVAL_NONE);
	assert_int_equal(d.require_ticket, 0);
	assert_int_equal(d.max_duration, 0);
	assert_int_equal(d.fresh_mfa, 0);
	assert_int_equal(d.record_file_contents, 0);
	assert_int_equal(d.transfer, POLICY_TRANSFER_DOWNLOAD);
	assert_int_equal(d.nforward_to, 0);
	assert_int_equal(d.valid_until, 0);

	/* Fields are filled for a needs-grant too (grant requests use them). */
	decide1("alice", "confidential", "db01", NULL, NOON, NULL, &d);
	assert_int_equal(d.outcome, POLICY_NEEDS_GRANT);
	assert_string_equal(d.rule, "confidential");
	assert_int_equal(d.approval, POLICY_APPROVAL_GROUP);
	assert_int_equal(d.approvals_needed, 1);
	assert_string_equal(d.approval_group, "security");
	assert_int_equal(d.max_duration, 4 * H);
	assert_int_equal(d.channels, POLICY_CH_SHELL | POLICY_CH_EXEC);
	assert_int_equal(d.valid_until, 0);
}

/* valid_until: the earlier of grant end (capped) and the Hours window. */
static void
test_valid_until(void **state)
{
	struct policy_grant g = { .id = "g",
		.engineer = "alice",
		.target = "vault",
		.account = "root",
		.approvals = 2 };
	struct policy_decision d;

	(void)state;
	/* 18:30, grant from 18:29: MaxDuration 1h says 19:29, Hours 19:00. */
	g.not_before = MON + 18 * H + 29 * MIN;
	g.not_after = MON + 30 * H;
	decide1("alice", "restricted", "vault", "shell",
	    MON + 18 * H + 30 * MIN, &g, &d);
	assert_int_equal(d.outcome, POLICY_ALLOW);
	assert_int_equal(d.valid_until, MON + 19 * H);
	/* Grant from 17:50: capped at 18:50, before the Hours end. */
	g.not_before = MON + 17 * H + 50 * MIN;
	decide1("alice", "restricted", "vault", "shell",
	    MON + 18 * H + 30 * MIN, &g, &d);
	assert_int_equal(d.valid_until, MON + 18 * H + 50 * MIN);
	/* Berlin: Saturday 09:00 CEST, the window ends 12:00 CEST = 10:00Z. */
	decide1(
	    "alice", "restricted", "berlin-2", "shell", SAT + 7 * H, NULL, &d);
	assert_int_equal(d.outcome, POLICY_ALLOW);
	assert_int_equal(d.valid_until, SAT + 10 * H);
	/* Saturday 00:30 Berlin (Friday 22:30Z): also 12:00 CEST. */
	decide1("alice", "restricted", "berlin-2", "shell", SAT - 90 * MIN,
	    NULL, &d);
	assert_int_equal(d.valid_until, SAT + 10 * H);
	/* Not allowed: no valid_until. */
	decide1(
	    "alice", "restricted", "berlin-2", "shell", SAT + 10 * H, NULL, &d);
	assert_int_equal(d.outcome, POLICY_DENY);
	assert_int_equal(d.valid_until, 0);
}

/* Hours that cover the whole week never end a session. */
static void
test_hours_always(void **state)
{
	static const char in[] = "Levels a\nRule r\n Classification a\n"
				 " Approval none\n Hours * 00:00-24:00\n"
				 " TZ Asia/Kolkata\n";
	struct policy_request req = {
		.engineer = "e", .classification = "a", .now = NOON
	};
	struct policy_decision d;
	struct policy *p = NULL;
	char err[256];
	int64_t t;

	(void)state;
	assert_int_equal(
	    policy_load_mem("a.conf", in, strlen(in), &p, err, sizeof(err)), 0);
	for (t = MON; t < MON + 8 * 86400; t += 7 * 3600 + 1) {
		req.now = t;
		assert_int_equal(policy_decide(p, &req, &d), PV_ALLOW);
		assert_int_equal(d.valid_until, 0);
	}
	policy_free(p);
}

static void
test_forward_allowed(void **state)
{
	struct policy_grant g = { .id = "g",
		.engineer = "alice",
		.target = "app1",
		.account = "root",
		.not_before = NOON - H,
		.not_after = NOON + H };
	struct policy_decision d;

	(void)state;
	decide1("alice", "internal", "app1", "forward", NOON, &g, &d);
	assert_int_equal(d.outcome, POLICY_ALLOW);
	assert_int_equal(
	    policy_forward_allowed(&d, "localhost", 5432), PV_ALLOW);
	assert_int_equal(
	    policy_forward_allowed(&d, "LOCALHOST", 5432), PV_ALLOW);
	assert_int_equal(policy_forward_allowed(&d, "localhost", 22), PV_DENY);
	assert_int_equal(
	    policy_forward_allowed(&d, "db.internal", 1234), PV_ALLOW);
	assert_int_equal(
	    policy_forward_allowed(&d, "db.internal.evil.com", 1234), PV_DENY);
	assert_int_equal(policy_forward_allowed(&d, "localhost", 0), PV_DENY);
	assert_int_equal(policy_forward_allowed(&d, NULL, 5432), PV_DENY);
	assert_int_equal(
	    policy_forward_allowed(NULL, "localhost", 5432), PV_DENY);
	/* A decision that is not allow allows no forward. */
	g.revoked = 1;
	decide1("alice", "internal", "app1", "forward", NOON, &g, &d);
	assert_int_equal(
	    policy_forward_allowed(&d, "localhost", 5432), PV_DENY);
	/* Nor one whose rule has no forward channel. */
	decide1("alice", "public", "www", "shell", NOON, NULL, &d);
	assert_int_equal(
	    policy_forward_allowed(&d, "localhost", 5432), PV_DENY);
}

/* RemoteForwardListen: where ssh -R may listen on the target. */
static void
test_remote_forward_allowed(void **state)
{
	static const char conf[] =
	    "Levels public internal\n"
	    "Rule rfwd\n"
	    "  Target app1\n"
	    "  Classification internal\n"
	    "  Approval auto\n"
	    "  Channels shell forward remote-forward\n"
	    "  ForwardTo localhost:5432\n"
	    "  RemoteForwardListen localhost:8080 \"*:9000\" 127.0.0.1:*\n"
	    "Rule plain\n"
	    "  Classification public\n"
	    "  Approval none\n";
	struct policy_grant g = { .id = "g",
		.engineer = "alice",
		.target = "app1",
		.account = "root",
		.not_before = NOON - H,
		.not_after = NOON + H };
	struct policy_request req = {
		.engineer = "alice",
		.target = "app1",
		.classification = "internal",
		.account = "root",
		.channel = POLICY_CH_REMOTE_FORWARD,
		.now = NOON,
		.grant = &g,
	};
	struct policy *rp = NULL;
	struct policy_decision d;
	char err[256];
	static const struct {
		const char *addr;
		unsigned int port;
		int want;
	} t[] = {
		{ "localhost", 8080, PV_ALLOW },
		{ "LocalHost", 8080, PV_ALLOW },
		{ "localhost", 8081, PV_DENY },
		{ "localhost", 0, PV_DENY }, /* the target picks: only "*" */
		{ "", 9000, PV_ALLOW },      /* every address: "*" matches */
		{ "10.1.2.3", 9000, PV_ALLOW },
		{ "", 8080, PV_DENY },
		{ "127.0.0.1", 0, PV_ALLOW },
		{ "127.0.0.1", 65535, PV_ALLOW },
		{ "127.0.0.1", 65536, PV_DENY },
		{ NULL, 8080, PV_DENY },
	};
	size_t i;

	(void)state;
	assert_int_equal(policy_load_mem("r.conf", conf, strlen(conf), &rp, err,
			     sizeof(err)),
	    0);
	(void)policy_decide(rp, &req, &d);
	assert_int_equal(d.outcome, POLICY_ALLOW);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (policy_remote_forward_allowed(&d, t[i].addr, t[i].port) !=
		    t[i].want)
			fail_msg("case %zu: %s:%u", i,
			    t[i].addr ? t[i].addr : "(null)", t[i].port);
	assert_int_equal(
	    policy_remote_forward_allowed(NULL, "localhost", 8080), PV_DENY);
	/* ForwardTo does not let -R listen, nor the reverse. */
	assert_int_equal(
	    policy_remote_forward_allowed(&d, "localhost", 5432), PV_DENY);
	assert_int_equal(
	    policy_forward_allowed(&d, "localhost", 8080), PV_DENY);
	/* Not for a rule without remote-forward, nor a denied decision. */
	req.target = "www";
	req.classification = "public";
	req.channel = POLICY_CH_SHELL;
	(void)policy_decide(rp, &req, &d);
	assert_int_equal(d.outcome, POLICY_ALLOW);
	assert_int_equal(
	    policy_remote_forward_allowed(&d, "localhost", 8080), PV_DENY);
	req.target = "app1";
	req.classification = "internal";
	req.channel = POLICY_CH_REMOTE_FORWARD;
	g.revoked = 1;
	(void)policy_decide(rp, &req, &d);
	assert_int_equal(
	    policy_remote_forward_allowed(&d, "localhost", 8080), PV_DENY);
	policy_free(rp);
}

/* Bad calls are errors, and the decision still says deny. */
static void
test_bad_requests(void **state)
{
	struct policy_request req = { .engineer = "alice",
		.classification = "public",
		.channel = POLICY_CH_SHELL,
		.now = NOON };
	struct policy_decision d;

	(void)state;
	assert_int_equal(policy_decide(pol, &req, &d), PV_ALLOW);
	req.channel = POLICY_CH_SHELL | POLICY_CH_EXEC;
	assert_int_equal(policy_decide(pol, &req, &d), PV_ERR_INVALID);
	assert_int_equal(d.outcome, POLICY_DENY);
	assert_null(d.rule);
	req.channel = 0x40;
	assert_int_equal(policy_decide(pol, &req, &d), PV_ERR_INVALID);
	assert_int_equal(policy_decide(NULL, &req, &d), PV_ERR_INVALID);
	assert_int_equal(d.outcome, POLICY_DENY);
	assert_int_equal(policy_decide(pol, NULL, &d), PV_ERR_INVALID);
	assert_int_equal(policy_decide(pol, &req, NULL), PV_ERR_INVALID);
	/* NULL names match only "*" selectors and never a grant. */
	req = (struct policy_request){ .classification = "confidential",
		.now = NOON };
	assert_int_equal(policy_decide(pol, &req, &d), PV_DENY);
	assert_string_equal(d.rule, "confidential");
	/* Control bytes in names never reach the reason. */
	req = (struct policy_request){ .engineer = "x\n\x1b[31m",
		.provider = "initech",
		.classification = "restricted",
		.now = NOON };
	assert_int_equal(policy_decide(pol, &req, &d), PV_DENY);
	assert_null(strchr(d.reason, '\n'));
	assert_null(strchr(d.reason, '\x1b'));
}

static void
test_explain(void **state)
{
	struct policy_grant g = { .id = "g-7",
		.engineer = "alice",
		.target = "db01",
		.account = "root",
		.not_before = NOON - H,
		.not_after = NOON + H,
		.approvals = 0 };
	struct policy_request req = { .engineer = "alice",
		.provider = "acme",
		.clearance = "confidential",
		.target = "db01",
		.classification = "confidential",
		.account = "root",
		.channel = POLICY_CH_SHELL,
		.now = NOON,
		.grant = &g };
	struct policy_decision d;
	struct pv_buf *b;
	char *text = NULL;

	(void)state;
	assert_non_null(b = pv_buf_new(0));
	assert_int_equal(policy_explain(pol, &req, b, &d), PV_DENY);
	assert_int_equal(d.outcome, POLICY_NEEDS_APPROVAL);
	assert_int_equal(pv_buf_dup_cstring(b, &text), 0);
	assert_string_equal(text,
	    "request: engineer alice (provider acme, clearance confidential)\n"
	    "  target db01 (classification confidential) account root\n"
	    "  channel shell at 2026-07-06T12:00:00Z\n"
	    "  grant g-7: alice as root on db01, 2026-07-06T11:00:00Z to "
	    "2026-07-06T13:00:00Z, 0 approvals\n"
	    "rule acme-db-readonly (line 3): skipped: Account does not "
	    "include root\n"
	    "rule standing-public (line 11): skipped: Classification does not "
	    "include confidential\n"
	    "rule oncall (line 18): skipped: Classification does not include "
	    "confidential\n"
	    "rule internal-jit (line 24): skipped: Classification does not "
	    "include confidential\n"
	    "rule confidential (line 33): selects the request\n"
	    "  terms: classification confidential; approval 1 of group "
	    "security; ticket; max 4h; clearance >= target; channels shell "
	    "exec\n"
	    "  (the 2 rules after it are not considered)\n"
	    "decision: needs-approval\n"
	    "reason: grant g-7 has 0 of 1 approvals from group security\n");
	free(text);
	text = NULL;

	/* Unknown classification, Hours and the local time, no rule. */
	pv_buf_reset(b);
	req.classification = "secret";
	req.target = "berlin-3";
	req.grant = NULL;
	req.channel = 0;
	req.now = SAT + 7 * H;
	assert_int_equal(policy_explain(pol, &req, b, NULL), PV_ALLOW);
	assert_int_equal(pv_buf_dup_cstring(b, &text), 0);
	assert_non_null(strstr(
	    text, "(classification secret, unknown: treated as restricted)"));
	assert_non_null(strstr(text, "channel (any: not checked)"));
	assert_non_null(strstr(text, "  grant: none\n"));
	assert_non_null(
	    strstr(text, "  local time: Sat 09:00 Europe/Berlin\n"));
	assert_non_null(strstr(text, "valid until: 2026-07-11T10:00:00Z\n"));
	free(text);
	text = NULL;

	pv_buf_reset(b);
	req.provider = "initech";
	req.target = "vault";
	assert_int_equal(policy_explain(pol, &req, b, NULL), PV_DENY);
	assert_int_equal(pv_buf_dup_cstring(b, &text), 0);
	assert_non_null(strstr(text,
	    "rule restricted (line 49): skipped: "
	    "Provider does not include initech\n"
	    "no rule selects the request\n"
	    "decision: deny\n"));
	free(text);
	assert_int_equal(policy_explain(NULL, &req, b, NULL), PV_ERR_INVALID);
	pv_buf_free(b);
}

/* The text between the first "```" fence after heading and the next. */
static char *
doc_block(const char *doc, const char *heading)
{
	const char *h, *a, *z;

	if ((h = strstr(doc, heading)) == NULL ||
	    (a = strstr(h, "```\n")) == NULL ||
	    (z = strstr(a + 4, "```\n")) == NULL)
		return NULL;
	return strndup(a + 4, (size_t)(z - a - 4));
}

/* docs/policy.md: its example parses and its explain text is the code's. */
static void
test_doc_example(void **state)
{
	struct policy_grant g = { .id = "g-7",
		.engineer = "alice",
		.target = "db01",
		.account = "root",
		.not_before = NOON - H,
		.not_after = NOON + H };
	struct policy_request req = { .engineer = "alice",
		.provider = "acme",
		.clearance = "confidential",
		.target = "db01",
		.classification = "confidential",
		.account = "root",
		.channel = POLICY_CH_SHELL,
		.now = NOON,
		.grant = &g };
	const char *top = getenv("top_srcdir");
	char path[4096], err[512], *ex = NULL, *want = NULL, *got = NULL;
	uint8_t *doc = NULL;
	struct policy *p = NULL;
	struct pv_buf *b;
	size_t len;

	(void)state;
	if (top == NULL)
		skip();
	assert_true(snprintf(path, sizeof(path), "%s/docs/policy.md", top) > 0);
	/* pv_file_read NUL-terminates what it returns. */
	assert_int_equal(pv_file_read(path, 1 << 20, &doc, &len), 0);
	assert_non_null(ex = doc_block((const char *)doc, "## Example"));
	assert_non_null(
	    want = doc_block((const char *)doc, "## explain and check"));
	if (policy_load_mem("example", ex, strlen(ex), &p, err, sizeof(err)) !=
	    0)
		fail_msg("docs/policy.md example: %s", err);
	assert_non_null(b = pv_buf_new(0));
	assert_int_equal(policy_explain(p, &req, b, NULL), PV_DENY);
	assert_int_equal(pv_buf_dup_cstring(b, &got), 0);
	assert_string_equal(got, want);
	free(got);
	free(want);
	free(ex);
	free(doc);
	pv_buf_free(b);
	policy_free(p);
}

/* Moderated GROUP reaches the decision; other rules leave it NULL. */
static void
test_moderated(void **state)
{
	static const char in[] = "Levels low high\n"
				 "Rule watched\n"
				 "  Classification high\n"
				 "  Approval none\n"
				 "  Moderated soc\n"
				 "Rule plain\n"
				 "  Classification low\n"
				 "  Approval none\n";
	struct policy_request req = {
		.engineer = "alice",
		.provider = "acme",
		.target = "t",
		.classification = "high",
		.account = "root",
		.channel = POLICY_CH_SHELL,
		.now = NOON,
	};
	struct policy_decision d;
	struct policy *p = NULL;
	char err[256];

	(void)state;
	assert_int_equal(
	    policy_load_mem("m.conf", in, strlen(in), &p, err, sizeof(err)), 0);
	assert_int_equal(policy_decide(p, &req, &d), PV_ALLOW);
	assert_string_equal(d.moderated, "soc");
	req.classification = "low";
	assert_int_equal(policy_decide(p, &req, &d), PV_ALLOW);
	assert_string_equal(d.rule, "plain");
	assert_null(d.moderated);
	policy_free(p);
}

/*
 * Approval N group G break-glass: root's --as approvals count; without
 * it they do not, however many, and the reason says so.
 */
static void
test_break_glass(void **state)
{
	static const char in[] = "Levels low high\n"
				 "Rule glass\n"
				 "  Classification high\n"
				 "  Approval 2 group soc break-glass\n"
				 "Rule strict\n"
				 "  Classification low\n"
				 "  Approval 2 group soc\n";
	struct policy_grant g = {
		.id = "g-1",
		.engineer = "alice",
		.target = "t",
		.account = "root",
		.not_before = NOON - H,
		.not_after = NOON + H,
		.approvals = 1,
		.approvals_break_glass = 1,
	};
	struct policy_request req = {
		.engineer = "alice",
		.provider = "acme",
		.target = "t",
		.classification = "high",
		.account = "root",
		.channel = POLICY_CH_SHELL,
		.now = NOON,
		.grant = &g,
	};
	struct policy_decision d;
	struct policy *p = NULL;
	char err[256];

	(void)state;
	assert_int_equal(
	    policy_load_mem("b.conf", in, strlen(in), &p, err, sizeof(err)), 0);
	assert_int_equal(policy_decide(p, &req, &d), PV_ALLOW);
	assert_string_equal(d.rule, "glass");
	assert_int_equal(d.approval_break_glass, 1);
	req.classification = "low";
	assert_int_equal(policy_decide(p, &req, &d), PV_DENY);
	assert_int_equal(d.outcome, POLICY_NEEDS_APPROVAL);
	assert_int_equal(d.approval_break_glass, 0);
	assert_non_null(strstr(d.reason, "has 1 of 2 approvals"));
	assert_non_null(strstr(d.reason, "break-glass approvals do not count"));
	g.approvals_break_glass = 5;
	assert_int_equal(policy_decide(p, &req, &d), PV_DENY);
	g.approvals = 2;
	g.approvals_break_glass = 0;
	assert_int_equal(policy_decide(p, &req, &d), PV_ALLOW);
	policy_free(p);
}

int
main(void)
{
	static const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_break_glass),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_moderated),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_valid_until),
		cmocka_unit_test(test_hours_always),
		cmocka_unit_test(test_forward_allowed),
		cmocka_unit_test(test_remote_forward_allowed),
		cmocka_unit_test(test_bad_requests),
		cmocka_unit_test(test_explain),
		cmocka_unit_test(test_doc_example),
	};

	if (setenv("TZ", "UTC", 1) != 0)
		return 1;
	unsetenv("TZDIR");
	return cmocka_run_group_tests(tests, setup, teardown);
}
