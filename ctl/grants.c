/*
 * grants.c: provostctl grant request/approve/deny/revoke/list/show and
 * revoke engineer/provider/grant, deciding requests with the policy.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"

/* One line on stderr saying where the grant stands. */
static void
grant_status(const struct store_grant *g)
{
	char t[32], d[32];

	if (pv_duration_format(g->duration, d, sizeof(d)) != 0)
		d[0] = '\0';
	if (g->state == STORE_GRANT_ACTIVE)
		fprintf(stderr, "provostctl: grant %s active until %s (%s)%s\n",
		    g->id, ctl_time(g->not_after, t, sizeof(t)), d,
		    g->capped ? ", duration capped by the rule's MaxDuration"
			      : "");
	else if (g->state == STORE_GRANT_PENDING)
		fprintf(stderr,
		    "provostctl: grant %s pending: %d of %d approvals from "
		    "group %s%s\n",
		    g->id, g->approvals, g->approvals_needed,
		    g->group ? g->group : "-",
		    g->capped ? "; duration capped by the rule's MaxDuration"
			      : "");
	else
		fprintf(stderr, "provostctl: grant %s is %s\n", g->id,
		    store_grant_state_name(g->state));
}

int
ctl_cmd_grant_request(struct ctl *c, int argc, char **argv)
{
	const char *account = NULL, *dur = NULL, *ticket = NULL, *why = NULL;
	const struct ctl_opt opts[] = {
		{ "account", 1, &account, NULL },
		{ "duration", 1, &dur, NULL },
		{ "ticket", 1, &ticket, NULL },
		{ "reason", 1, &why, NULL },
		{ NULL, 0, NULL, NULL },
	};
	struct store_engineer *e = NULL;
	struct store_target *t = NULL;
	struct store_grant *g = NULL;
	struct store_decision sd = { 0 };
	struct store_decide_req q;
	struct store_grant_req req;
	int64_t now = pv_wall_ms() / 1000;
	uint64_t secs;
	int r;
	PARSE("grant", "request", opts);

	if (argc - first != 2 || account == NULL || dur == NULL)
		return ctl_usage(cmd,
		    "ENGINEER TARGET, --account and --duration are required");
	if (pv_duration_parse(dur, &secs) != 0 || secs == 0)
		return ctl_usage(cmd, "--duration: like 30m, 2h, 1h30m");
	if ((rc = ctl_load_policy(c, 1)) != 0 || (rc = ctl_open_store(c)) != 0)
		return rc;
	if ((r = store_engineer_get_by_login(c->st, argv[first], &e)) != 0 ||
	    (r = store_target_get(c->st, argv[first + 1], &t)) != 0) {
		rc = STORE_FAIL(r);
		goto out;
	}
	q = (struct store_decide_req){
		.engineer = e->login,
		.target = t->name,
		.account = account,
		.channel = 0,
		.now = now,
		.no_grant = 1,
		.what = "request",
	};
	if ((r = ctl_decide(c, &q, &sd)) < 0) {
		rc = r == PV_ERR_CONFIG
		    ? ctl_exit_code(r)
		    : ctl_fail(r, "policy: %s", pv_err_str(r));
		goto out;
	}
	/* the rows' own refusals and the plugins' before the grant's rules */
	if ((r = store_decide_audit(c->st, c->actor, &q, &sd)) != 0) {
		rc = STORE_FAIL(r);
		goto out;
	}
	if (sd.refused || sd.vetoed) {
		rc = ctl_fail(sd.refused ? sd.refused : PV_ERR_DENIED,
		    "refused: %s", sd.reason);
		goto out;
	}
	req = (struct store_grant_req){
		.engineer = e->login,
		.target = t->name,
		.account = account,
		.duration = secs,
		.ticket = ticket,
		.reason = why,
	};
	if ((r = store_grant_request(c->st, c->actor, &req, &sd.d, now, &g)) !=
	    0) {
		rc = STORE_FAIL(r);
		goto out;
	}
	if (c->json)
		rc = ctl_print_json(store_grant_json(g));
	else {
		printf("%s\n", g->id);
		grant_status(g);
		rc = 0;
	}
out:
	store_decision_clear(&sd);
	store_engineer_free(e);
	store_target_free(t);
	store_grant_free(g);
	return rc;
}

int
ctl_cmd_grant_approve(struct ctl *c, int argc, char **argv)
{
	const char *as = NULL;
	const struct ctl_opt opts[] = {
		{ "as", 1, &as, NULL },
		{ NULL, 0, NULL, NULL },
	};
	struct store_grant *g = NULL;
	int r;
	PARSE("grant", "approve", opts);

	if (argc - first != 1 || as == NULL)
		return ctl_usage(cmd, "ID and --as APPROVER are required");
	if ((rc = ctl_open_store(c)) != 0)
		return rc;
	if ((r = store_grant_approve(
		 c->st, as, argv[first], pv_wall_ms() / 1000, &g)) != 0)
		return STORE_FAIL(r);
	if (c->json)
		rc = ctl_print_json(store_grant_json(g));
	else {
		printf("grant %s approved by %s: %s\n", g->id, as,
		    store_grant_state_name(g->state));
		grant_status(g);
		fprintf(stderr,
		    "provostctl: break-glass: recorded and audited as not "
		    "authenticated by %s (rule %s allows it)\n",
		    as, g->rule);
	}
	store_grant_free(g);
	return rc;
}

int
ctl_cmd_grant_deny(struct ctl *c, int argc, char **argv)
{
	const char *as = NULL, *why = NULL;
	const struct ctl_opt opts[] = {
		{ "as", 1, &as, NULL },
		{ "reason", 1, &why, NULL },
		{ NULL, 0, NULL, NULL },
	};
	int r;
	PARSE("grant", "deny", opts);

	if (argc - first != 1 || as == NULL)
		return ctl_usage(cmd, "ID and --as APPROVER are required");
	if ((rc = ctl_open_store(c)) != 0)
		return rc;
	if ((r = store_grant_deny(
		 c->st, as, argv[first], why, pv_wall_ms() / 1000)) != 0)
		return STORE_FAIL(r);
	if (c->json)
		return ctl_print_json(json_pack(
		    "{s:s, s:s}", "id", argv[first], "state", "denied"));
	printf("grant %s denied by %s\n", argv[first], as);
	return 0;
}

static int
revoke_grant(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv)
{
	const char *why = NULL;
	const struct ctl_opt opts[] = {
		{ "reason", 1, &why, NULL },
		{ NULL, 0, NULL, NULL },
	};
	int first, rc, r;

	if ((rc = ctl_parse(c, cmd, argc, argv, opts, &first)) != 0)
		return rc < 0 ? 0 : rc;
	if (argc - first != 1)
		return ctl_usage(cmd, "one grant ID please");
	if ((rc = ctl_open_store(c)) != 0)
		return rc;
	if ((r = store_grant_revoke(
		 c->st, c->actor, argv[first], why, pv_wall_ms() / 1000)) != 0)
		return STORE_FAIL(r);
	if ((rc = ctl_revlist_refresh(c)) != 0)
		return rc;
	if (c->json)
		return ctl_print_json(json_pack(
		    "{s:s, s:s}", "id", argv[first], "state", "revoked"));
	printf("grant %s revoked\n", argv[first]);
	return 0;
}

int
ctl_cmd_grant_revoke(struct ctl *c, int argc, char **argv)
{
	return revoke_grant(c, ctl_cmd_find("grant", "revoke"), argc, argv);
}

int
ctl_cmd_revoke_grant(struct ctl *c, int argc, char **argv)
{
	return revoke_grant(c, ctl_cmd_find("revoke", "grant"), argc, argv);
}

struct glist {
	json_t *arr;
};

static int
grant_cb(void *ctx, const struct store_grant *g)
{
	struct glist *l = ctx;
	char t[32];

	if (l->arr != NULL)
		return json_array_append_new(l->arr, store_grant_json(g)) != 0;
	printf("%-36s %-8s %-14s %-14s %-10s %-14s %d/%-3d %s\n", g->id,
	    store_grant_state_name(g->state), g->engineer, g->target,
	    g->account, g->rule, g->approvals, g->approvals_needed,
	    ctl_time(g->not_after, t, sizeof(t)));
	return 0;
}

int
ctl_cmd_grant_list(struct ctl *c, int argc, char **argv)
{
	const char *eng = NULL;
	int pending = 0;
	const struct ctl_opt opts[] = {
		{ "pending", 0, NULL, &pending },
		{ "engineer", 1, &eng, NULL },
		{ NULL, 0, NULL, NULL },
	};
	struct glist l = { NULL };
	int r;
	PARSE("grant", "list", opts);

	if (argc != first)
		return ctl_usage(cmd, "no arguments please");
	if ((rc = ctl_open_store(c)) != 0)
		return rc;
	if (c->json && (l.arr = json_array()) == NULL)
		return ctl_fail(PV_ERR_ALLOC, "out of memory");
	if (!c->json)
		printf("%-36s %-8s %-14s %-14s %-10s %-14s %-5s %s\n", "ID",
		    "STATE", "ENGINEER", "TARGET", "ACCOUNT", "RULE", "APPR",
		    "UNTIL");
	if ((r = store_grant_list(c->st, eng,
		 pending ? STORE_GRANTS_PENDING : 0, pv_wall_ms() / 1000,
		 grant_cb, &l)) != 0) {
		json_decref(l.arr);
		return STORE_FAIL(r);
	}
	return c->json ? ctl_print_json(l.arr) : 0;
}

int
ctl_cmd_grant_show(struct ctl *c, int argc, char **argv)
{
	struct store_grant *g = NULL;
	char a[32], b[32], d[32];
	int r;
	PARSE("grant", "show", NULL);

	if (argc - first != 1)
		return ctl_usage(cmd, "one grant ID please");
	if ((rc = ctl_open_store(c)) != 0)
		return rc;
	if ((r = store_grant_get(
		 c->st, argv[first], pv_wall_ms() / 1000, &g)) != 0)
		return STORE_FAIL(r);
	if (c->json) {
		rc = ctl_print_json(store_grant_json(g));
		store_grant_free(g);
		return rc;
	}
	if (pv_duration_format(g->duration, d, sizeof(d)) != 0)
		d[0] = '\0';
	printf("id:         %s\n", g->id);
	printf("state:      %s\n", store_grant_state_name(g->state));
	printf("engineer:   %s\n", g->engineer);
	printf("target:     %s account %s\n", g->target, g->account);
	printf("rule:       %s\n", g->rule);
	printf("approvals:  %d of %d (group %s)\n", g->approvals,
	    g->approvals_needed, g->group ? g->group : "-");
	printf("duration:   %s%s\n", d, g->capped ? " (capped)" : "");
	printf("window:     %s .. %s\n", ctl_time(g->not_before, a, sizeof(a)),
	    ctl_time(g->not_after, b, sizeof(b)));
	printf("ticket:     %s\n", g->ticket ? g->ticket : "-");
	printf("reason:     %s\n", g->reason ? g->reason : "-");
	printf("requested:  %s by %s\n",
	    ctl_time(g->requested_at, a, sizeof(a)), g->requested_by);
	store_grant_free(g);
	return 0;
}

int
ctl_cmd_revoke_engineer(struct ctl *c, int argc, char **argv)
{
	const char *why = NULL;
	const struct ctl_opt opts[] = {
		{ "reason", 1, &why, NULL },
		{ NULL, 0, NULL, NULL },
	};
	int r;
	PARSE("revoke", "engineer", opts);

	if (argc - first != 1)
		return ctl_usage(cmd, "one login please");
	if ((rc = ctl_open_store(c)) != 0)
		return rc;
	if ((r = store_engineer_revoke(c->st, c->actor, argv[first], why)) != 0)
		return STORE_FAIL(r);
	if ((rc = ctl_revlist_refresh(c)) != 0)
		return rc;
	if (c->json)
		return ctl_print_json(json_pack(
		    "{s:s, s:s}", "engineer", argv[first], "state", "revoked"));
	printf("engineer %s revoked: disabled, grants, keys, TOTP and live "
	       "credentials revoked\n",
	    argv[first]);
	return 0;
}

int
ctl_cmd_revoke_provider(struct ctl *c, int argc, char **argv)
{
	const char *why = NULL;
	const struct ctl_opt opts[] = {
		{ "reason", 1, &why, NULL },
		{ NULL, 0, NULL, NULL },
	};
	int r;
	PARSE("revoke", "provider", opts);

	if (argc - first != 1)
		return ctl_usage(cmd, "one provider name please");
	if ((rc = ctl_open_store(c)) != 0)
		return rc;
	if ((r = store_provider_revoke(c->st, c->actor, argv[first], why)) != 0)
		return STORE_FAIL(r);
	if ((rc = ctl_revlist_refresh(c)) != 0)
		return rc;
	if (c->json)
		return ctl_print_json(json_pack(
		    "{s:s, s:s}", "provider", argv[first], "state", "revoked"));
	printf("provider %s revoked: its engineers disabled, their grants, "
	       "keys, TOTP and live credentials revoked\n",
	    argv[first]);
	return 0;
}

/* For provost-sweep.timer: active grants past their end become expired. */
int
ctl_cmd_grant_expire(struct ctl *c, int argc, char **argv)
{
	int r, n = 0;
	PARSE("grant", "expire", NULL);

	if (argc != first)
		return ctl_usage(cmd, "no arguments please");
	if ((rc = ctl_open_store(c)) != 0)
		return rc;
	if ((r = store_grant_expire_due(c->st, pv_wall_ms() / 1000, &n)) != 0)
		return STORE_FAIL(r);
	/*
	 * The sweep (every minute) also keeps RevocationList fresh: re-signed
	 * when an hour old, so that pam_provost's revoked_maxage (1d by
	 * default) never refuses a list only because nothing was revoked.
	 */
	if ((rc = ctl_revlist_refresh_old(c, 3600)) != 0)
		return rc;
	if (c->json)
		return ctl_print_json(json_pack("{s:i}", "expired", n));
	printf("%d grant%s expired\n", n, n == 1 ? "" : "s");
	return 0;
}
