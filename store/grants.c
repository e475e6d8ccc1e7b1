/*
 * grants.c: just-in-time grants: request under a policy rule, N-of-M
 * approval by distinct approvers (never the requester), deny, revoke, expiry.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "store/store-int.h"

static const char *const state_names[] = {
	[STORE_GRANT_PENDING] = "pending",
	[STORE_GRANT_ACTIVE] = "active",
	[STORE_GRANT_DENIED] = "denied",
	[STORE_GRANT_REVOKED] = "revoked",
	[STORE_GRANT_EXPIRED] = "expired",
};

const char *
store_grant_state_name(enum store_grant_state s)
{
	if ((unsigned int)s > STORE_GRANT_EXPIRED)
		return "unknown";
	return state_names[s];
}

static enum store_grant_state
state_parse(const char *s)
{
	size_t i;

	for (i = 0; s != NULL && i <= STORE_GRANT_EXPIRED; i++)
		if (strcmp(s, state_names[i]) == 0)
			return (enum store_grant_state)i;
	return STORE_GRANT_REVOKED; /* unknown: fail closed */
}

#define GRANT_COLS                                                          \
	"g.id, e.login, t.name, g.account, g.rule, g.approval_group, "      \
	"g.ticket, g.reason, g.requested_by, g.state, (SELECT count(*) "    \
	"FROM grant_approvals a WHERE a.grant_id = g.id AND a.decision = "  \
	"'approve' AND (a.authenticated = 1 OR g.break_glass = 1)), "       \
	"g.approvals_needed, g.duration, g.capped, "                        \
	"g.requested_at, coalesce(g.not_before, 0), coalesce(g.not_after, " \
	"0), coalesce(g.decided_at, 0), (SELECT count(*) FROM "             \
	"grant_approvals a WHERE a.grant_id = g.id AND a.decision = "       \
	"'approve' AND a.authenticated = 1), (SELECT count(*) FROM "        \
	"grant_approvals a WHERE a.grant_id = g.id AND a.decision = "       \
	"'approve' AND a.authenticated = 0), g.break_glass"
#define GRANT_FROM                                                      \
	" FROM grants g JOIN engineers e ON e.id = g.engineer_id JOIN " \
	"targets t ON t.id = g.target_id"

static int
grant_from_row(struct st_q *s, int64_t now, struct store_grant **out)
{
	struct store_grant *g;
	const char *id = st_col_text(s, 0);

	*out = NULL;
	if ((g = calloc(1, sizeof(*g))) == NULL)
		return PV_ERR_ALLOC;
	if (id == NULL || strlen(id) >= sizeof(g->id)) {
		free(g);
		return PV_ERR_STORE;
	}
	memcpy(g->id, id, strlen(id) + 1);
	if (st_col_dup(s, 1, &g->engineer) != 0 ||
	    st_col_dup(s, 2, &g->target) != 0 ||
	    st_col_dup(s, 3, &g->account) != 0 ||
	    st_col_dup(s, 4, &g->rule) != 0 ||
	    st_col_dup(s, 5, &g->group) != 0 ||
	    st_col_dup(s, 6, &g->ticket) != 0 ||
	    st_col_dup(s, 7, &g->reason) != 0 ||
	    st_col_dup(s, 8, &g->requested_by) != 0) {
		store_grant_free(g);
		return PV_ERR_ALLOC;
	}
	g->state = state_parse(st_col_text(s, 9));
	g->approvals = st_col_int(s, 10);
	g->approvals_needed = st_col_int(s, 11);
	g->duration = (uint64_t)st_col_i64(s, 12);
	g->capped = st_col_int(s, 13);
	g->requested_at = st_col_i64(s, 14);
	g->not_before = st_col_i64(s, 15);
	g->not_after = st_col_i64(s, 16);
	g->decided_at = st_col_i64(s, 17);
	g->approvals_auth = st_col_int(s, 18);
	g->approvals_break_glass = st_col_int(s, 19);
	g->break_glass = st_col_int(s, 20);
	if (g->state == STORE_GRANT_ACTIVE && now >= g->not_after)
		g->state = STORE_GRANT_EXPIRED;
	*out = g;
	return 0;
}

void
store_grant_free(struct store_grant *g)
{
	if (g == NULL)
		return;
	free(g->engineer);
	free(g->target);
	free(g->account);
	free(g->rule);
	free(g->group);
	free(g->ticket);
	free(g->reason);
	free(g->requested_by);
	free(g);
}

void
store_grant_to_policy(const struct store_grant *g, struct policy_grant *out)
{
	*out = (struct policy_grant){
		.id = g->id,
		.engineer = g->engineer,
		.target = g->target,
		.account = g->account,
		.not_before = g->not_before,
		.not_after = g->not_after,
		.approvals = g->approvals_auth,
		.approvals_break_glass = g->approvals_break_glass,
		.denied = g->state == STORE_GRANT_DENIED,
		.revoked = g->state == STORE_GRANT_REVOKED,
	};
	/* A pending grant shows the window it asked for, so the policy
	 * answers "needs approval" rather than "expired". */
	if (g->state == STORE_GRANT_PENDING && g->not_after == 0) {
		out->not_before = g->requested_at;
		out->not_after = g->requested_at + (int64_t)g->duration;
	}
}

int
store_grant_get(
    struct store *st, const char *id, int64_t now, struct store_grant **out)
{
	struct st_q *s;
	int r;

	*out = NULL;
	if (id == NULL || !pv_uuid_valid(id))
		return st_fail(st, PV_ERR_INVALID, "grant id: not a UUID");
	if ((r = st_prep(st, "SELECT " GRANT_COLS GRANT_FROM " WHERE g.id = ?",
		 &s)) != 0)
		return r;
	if ((r = st_bind_text(st, s, 1, id)) != 0 ||
	    (r = st_step_row(st, s, "grant get")) < 0)
		goto out;
	if (r == 0) {
		r = st_fail(st, PV_ERR_NOT_FOUND, "grant %s: not found", id);
		goto out;
	}
	r = grant_from_row(s, now, out);
out:
	st_done(s);
	if (r == 0 && *out == NULL)
		r = PV_ERR_INTERNAL;
	return r;
}

static int
text_ok(const char *s)
{
	size_t i, n;

	if (s == NULL)
		return 1;
	if ((n = strlen(s)) > STORE_TEXT_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

static int
grant_check_request(struct store *st, const struct store_grant_req *req,
    const struct policy_decision *rule)
{
	if (req == NULL || rule == NULL)
		return st_fail(st, PV_ERR_INVALID, "grant request: no rule");
	if (!store_name_valid(req->engineer) || !store_name_valid(req->target))
		return st_fail(st, PV_ERR_INVALID, "grant request: bad name");
	if (req->account == NULL || req->account[0] == '\0')
		return st_fail(st, PV_ERR_INVALID, "--account is required");
	if (req->duration == 0 || req->duration > PV_DURATION_MAX)
		return st_fail(st, PV_ERR_INVALID,
		    "duration must be positive and at most 10 years");
	if (!text_ok(req->ticket) || !text_ok(req->reason))
		return st_fail(st, PV_ERR_INVALID,
		    "ticket and reason: one line of at most %d bytes",
		    STORE_TEXT_MAX);
	if (rule->outcome == POLICY_DENY)
		return st_fail(st, PV_ERR_DENIED, "denied%s%s: %s",
		    rule->rule ? " by rule " : "", rule->rule ? rule->rule : "",
		    rule->reason[0] ? rule->reason : "no rule allows it");
	if (rule->rule == NULL)
		return st_fail(st, PV_ERR_DENIED, "no rule allows it");
	if (rule->approval == POLICY_APPROVAL_NONE)
		return st_fail(st, PV_ERR_INVALID,
		    "rule %s gives standing access: no grant is needed",
		    rule->rule);
	if (rule->approval == POLICY_APPROVAL_GROUP &&
	    (rule->approvals_needed < 1 ||
		!store_name_valid(rule->approval_group)))
		return st_fail(st, PV_ERR_INVALID,
		    "rule %s: approval needs a count and a group", rule->rule);
	if (rule->require_ticket &&
	    (req->ticket == NULL || req->ticket[0] == '\0'))
		return st_fail(st, PV_ERR_DENIED,
		    "rule %s requires a ticket (--ticket)", rule->rule);
	return 0;
}

int
store_grant_request(struct store *st, const char *actor,
    const struct store_grant_req *req, const struct policy_decision *rule,
    int64_t now, struct store_grant **out)
{
	static const char chk[] =
	    "SELECT e.id, e.disabled_at IS NOT NULL, p.status, p.revoked_at IS "
	    "NOT NULL FROM engineers e JOIN providers p ON p.id = "
	    "e.provider_id WHERE e.login = ?";
	static const char acc[] = "SELECT 1 FROM target_accounts WHERE "
				  "target_id = ? AND account = ?";
	static const char ins[] =
	    "INSERT INTO grants(id, engineer_id, target_id, account, rule, "
	    "approval, approvals_needed, approval_group, ticket, reason, "
	    "requested_by, requested_at, duration, capped, state, not_before, "
	    "not_after, break_glass) VALUES "
	    "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
	char id[PV_UUID_LEN + 1], obj[128];
	uint64_t duration;
	int64_t eid, tid;
	struct st_q *s = NULL;
	int r, capped = 0, autogrant;

	if (out != NULL)
		*out = NULL;
	if ((r = grant_check_request(st, req, rule)) != 0)
		return r;
	duration = req->duration;
	if (rule->max_duration != 0 && duration > rule->max_duration) {
		duration = rule->max_duration;
		capped = 1;
	}
	autogrant = rule->approval == POLICY_APPROVAL_AUTO;
	if ((r = pv_uuid_new(id)) != 0)
		return r;
	if ((r = st_begin(st, 1)) != 0)
		return r;
	if ((r = st_prep(st, chk, &s)) != 0 ||
	    (r = st_bind_text(st, s, 1, req->engineer)) != 0 ||
	    (r = st_step_row(st, s, "grant request")) < 0)
		goto out;
	if (r == 0) {
		r = st_fail(st, PV_ERR_NOT_FOUND, "engineer %s: not found",
		    req->engineer);
		goto out;
	}
	eid = st_col_i64(s, 0);
	if (st_col_int(s, 1)) {
		r = st_fail(st, PV_ERR_DENIED, "engineer %s is disabled",
		    req->engineer);
		goto out;
	}
	if (st_col_int(s, 3) ||
	    strcmp(st_col_text(s, 2) ? st_col_text(s, 2) : "", "active") != 0) {
		r = st_fail(st, PV_ERR_DENIED,
		    "the provider of %s is revoked or exiting: no new grants",
		    req->engineer);
		goto out;
	}
	st_done(s);
	s = NULL;
	if ((r = st_target_id(st, req->target, &tid)) != 0)
		goto out;
	if ((r = st_prep(st, acc, &s)) != 0 ||
	    (r = st_bind_i64(st, s, 1, tid)) != 0 ||
	    (r = st_bind_text(st, s, 2, req->account)) != 0 ||
	    (r = st_step_row(st, s, "grant request")) < 0)
		goto out;
	if (r == 0) {
		r = st_fail(st, PV_ERR_NOT_FOUND, "target %s has no account %s",
		    req->target, req->account);
		goto out;
	}
	st_done(s);
	s = NULL;
	if ((r = st_prep(st, ins, &s)) != 0)
		goto out;
	if ((r = st_bind_text(st, s, 1, id)) != 0 ||
	    (r = st_bind_i64(st, s, 2, eid)) != 0 ||
	    (r = st_bind_i64(st, s, 3, tid)) != 0 ||
	    (r = st_bind_text(st, s, 4, req->account)) != 0 ||
	    (r = st_bind_text(st, s, 5, rule->rule)) != 0 ||
	    (r = st_bind_text(st, s, 6, autogrant ? "auto" : "group")) != 0 ||
	    (r = st_bind_i64(
		 st, s, 7, autogrant ? 0 : rule->approvals_needed)) != 0 ||
	    (r = st_bind_text(
		 st, s, 8, autogrant ? NULL : rule->approval_group)) != 0 ||
	    (r = st_bind_text(st, s, 9, req->ticket)) != 0 ||
	    (r = st_bind_text(st, s, 10, req->reason)) != 0 ||
	    (r = st_bind_text(st, s, 11, actor)) != 0 ||
	    (r = st_bind_i64(st, s, 12, now)) != 0 ||
	    (r = st_bind_i64(st, s, 13, (int64_t)duration)) != 0 ||
	    (r = st_bind_i64(st, s, 14, capped)) != 0 ||
	    (r = st_bind_text(st, s, 15, autogrant ? "active" : "pending")) !=
		0 ||
	    (autogrant && (r = st_bind_i64(st, s, 16, now)) != 0) ||
	    (autogrant &&
		(r = st_bind_i64(st, s, 17, now + (int64_t)duration)) != 0) ||
	    (r = st_bind_i64(
		 st, s, 18, !autogrant && rule->approval_break_glass)) != 0 ||
	    (r = st_step_done(st, s, "grant request")) != 0)
		goto out;
	st_done(s);
	s = NULL;
	if ((r = st_object(obj, sizeof(obj), "grant", id)) != 0 ||
	    (r = st_audit(st, actor, "grant.request", obj,
		 json_pack("{s:s, s:s, s:s, s:s, s:I, s:b, s:s?, s:s?, s:s, "
			   "s:i, s:s?, s:b}",
		     "engineer", req->engineer, "target", req->target,
		     "account", req->account, "rule", rule->rule, "duration",
		     (json_int_t)duration, "capped", capped, "ticket",
		     req->ticket, "reason", req->reason, "state",
		     autogrant ? "active" : "pending", "approvals_needed",
		     autogrant ? 0 : rule->approvals_needed, "group",
		     autogrant ? NULL : rule->approval_group, "break_glass",
		     !autogrant && rule->approval_break_glass))) != 0)
		goto out;
	if ((r = st_commit(st)) != 0)
		return r;
	if (out != NULL)
		return store_grant_get(st, id, now, out);
	return 0;
out:
	st_done(s);
	st_rollback(st);
	return r;
}

/*
 * The approver's id if they may decide on g: in g's group, not disabled,
 * and not the requester (by link to the same engineer or by name).
 */
static int
approver_may_decide(struct store *st, const char *approver,
    const struct store_grant *g, int64_t *aid)
{
	static const char sql[] =
	    "SELECT a.id, a.disabled_at IS NOT NULL, e.login, EXISTS(SELECT 1 "
	    "FROM approver_groups x WHERE x.approver_id = a.id AND x.grp = ?2) "
	    "FROM approvers a LEFT JOIN engineers e ON e.id = a.engineer_id "
	    "WHERE a.name = ?1";
	struct st_q *s;
	char self[128];
	const char *linked;
	int r;

	*aid = 0;
	if ((r = st_prep(st, sql, &s)) != 0)
		return r;
	if ((r = st_bind_text(st, s, 1, approver)) != 0 ||
	    (r = st_bind_text(st, s, 2, g->group)) != 0 ||
	    (r = st_step_row(st, s, "approver")) < 0)
		goto out;
	if (r == 0) {
		r = st_fail(st, PV_ERR_NOT_FOUND, "approver %s: not found",
		    approver ? approver : "");
		goto out;
	}
	linked = st_col_text(s, 2);
	if (st_col_int(s, 1)) {
		r = st_fail(
		    st, PV_ERR_DENIED, "approver %s is disabled", approver);
		goto out;
	}
	if ((linked != NULL && strcmp(linked, g->engineer) == 0) ||
	    (st_object(self, sizeof(self), "approver", approver) == 0 &&
		g->requested_by != NULL &&
		strcmp(self, g->requested_by) == 0)) {
		r = st_fail(st, PV_ERR_DENIED,
		    "approver %s is the requester of grant %s: separation of "
		    "duties forbids deciding one's own request",
		    approver, g->id);
		goto out;
	}
	if (g->group == NULL || !st_col_int(s, 3)) {
		r = st_fail(st, PV_ERR_DENIED,
		    "approver %s is not in group %s that grant %s needs",
		    approver, g->group ? g->group : "(none)", g->id);
		goto out;
	}
	*aid = st_col_i64(s, 0);
	r = 0;
out:
	st_done(s);
	return r;
}

/*
 * A decision by approver: authenticated to the broker (how set: its
 * address and session) or, how NULL, entered by root with provostctl
 * --as: break-glass, which approves only a grant whose rule accepts it.
 */
static int
grant_decide(struct store *st, const char *approver,
    const struct store_approver_auth *how, const char *id, int approve,
    const char *why, int64_t now, struct store_grant **out)
{
	static const char ins[] = "INSERT INTO grant_approvals(grant_id, "
				  "approver_id, decision, reason, decided_at, "
				  "authenticated, client_addr) "
				  "VALUES (?,?,?,?,?,?,?)";
	static const char act[] =
	    "UPDATE grants SET state = 'active', not_before = ?1, not_after = "
	    "?1 + duration, decided_at = ?1 WHERE id = ?2 AND state = "
	    "'pending'";
	static const char den[] =
	    "UPDATE grants SET state = 'denied', decided_at = ?1 WHERE id = ?2 "
	    "AND state = 'pending'";
	struct store_grant *g = NULL;
	struct st_q *s = NULL;
	char actor[128], obj[128], err[sizeof(st->err)];
	int64_t aid;
	int r, activated = 0, refused = 0;

	if (out != NULL)
		*out = NULL;
	if (!text_ok(why))
		return st_fail(st, PV_ERR_INVALID, "reason: one line please");
	if ((r = st_begin(st, 1)) != 0)
		return r;
	if ((r = store_grant_get(st, id, now, &g)) != 0 || g == NULL) {
		if (r == 0)
			r = PV_ERR_INTERNAL;
		goto out;
	}
	if (g->state != STORE_GRANT_PENDING) {
		r = st_fail(st, PV_ERR_INVALID, "grant %s is %s, not pending",
		    id, store_grant_state_name(g->state));
		goto out;
	}
	if ((r = approver_may_decide(st, approver, g, &aid)) != 0)
		goto out;
	if (approve && how == NULL && !g->break_glass) {
		r = st_fail(st, PV_ERR_DENIED,
		    "rule %s of grant %s does not accept break-glass "
		    "approvals (grant approve --as): %s approves with their "
		    "own key and code through the broker (ssh %s@BROKER "
		    "approve %s)",
		    g->rule, id, approver, approver, id);
		refused = 1;
		goto out;
	}
	if ((r = st_prep(st, ins, &s)) != 0 ||
	    (r = st_bind_text(st, s, 1, id)) != 0 ||
	    (r = st_bind_i64(st, s, 2, aid)) != 0 ||
	    (r = st_bind_text(st, s, 3, approve ? "approve" : "deny")) != 0 ||
	    (r = st_bind_text(st, s, 4, why)) != 0 ||
	    (r = st_bind_i64(st, s, 5, now)) != 0 ||
	    (r = st_bind_i64(st, s, 6, how != NULL)) != 0 ||
	    (r = st_bind_text(st, s, 7, how ? how->addr : NULL)) != 0)
		goto out;
	if ((r = st_step_done(st, s, "grant decision")) != 0) {
		if (r == PV_ERR_EXISTS)
			r = st_fail(st, r,
			    "approver %s already decided on grant %s", approver,
			    id);
		goto out;
	}
	st_done(s);
	s = NULL;
	if (!approve || g->approvals + 1 >= g->approvals_needed) {
		if ((r = st_prep(st, approve ? act : den, &s)) != 0 ||
		    (r = st_bind_i64(st, s, 1, now)) != 0 ||
		    (r = st_bind_text(st, s, 2, id)) != 0 ||
		    (r = st_step_done(st, s, "grant decision")) != 0)
			goto out;
		st_done(s);
		s = NULL;
		activated = approve;
	}
	if ((r = st_object(actor, sizeof(actor), "approver", approver)) != 0 ||
	    (r = st_object(obj, sizeof(obj), "grant", id)) != 0 ||
	    (r = st_audit(st, actor, approve ? "grant.approve" : "grant.deny",
		 obj,
		 json_pack("{s:i, s:i, s:b, s:s?, s:b, s:s, s:s?, s:s?}",
		     "approvals", g->approvals + (approve ? 1 : 0), "needed",
		     g->approvals_needed, "active", activated, "reason", why,
		     "authenticated", how != NULL, "via",
		     how != NULL ? "broker"
				 : "provostctl --as (break-glass, not "
				   "authenticated by the approver)",
		     "addr", how ? how->addr : NULL, "session",
		     how ? how->session : NULL))) != 0)
		goto out;
	store_grant_free(g);
	g = NULL;
	if ((r = st_commit(st)) != 0)
		return r;
	if (out != NULL)
		return store_grant_get(st, id, now, out);
	return 0;
out:
	store_grant_free(g);
	st_done(s);
	st_rollback(st);
	/*
	 * A break-glass approval refused is on the record too, in its own
	 * transaction (the refusal's message is kept for the caller).
	 */
	if (refused &&
	    st_object(actor, sizeof(actor), "approver", approver) == 0 &&
	    st_object(obj, sizeof(obj), "grant", id) == 0) {
		json_t *d = json_pack("{s:b, s:s}", "authenticated", 0, "why",
		    "the rule does not accept break-glass approvals");

		memcpy(err, st->err, sizeof(err));
		if (store_audit_append(
			st, actor, "grant.approve.refused", obj, d) != 0)
			pv_error("audit: %s", store_errmsg(st));
		json_decref(d);
		memcpy(st->err, err, sizeof(err));
	}
	return r;
}

int
store_grant_approve(struct store *st, const char *approver, const char *id,
    int64_t now, struct store_grant **out)
{
	return grant_decide(st, approver, NULL, id, 1, NULL, now, out);
}

int
store_grant_approve_auth(struct store *st, const char *approver,
    const struct store_approver_auth *how, const char *id, const char *why,
    int64_t now, struct store_grant **out)
{
	if (how == NULL || how->addr == NULL)
		return st_fail(st, PV_ERR_INVALID, "approval: no address");
	return grant_decide(st, approver, how, id, 1, why, now, out);
}

int
store_grant_deny_auth(struct store *st, const char *approver,
    const struct store_approver_auth *how, const char *id, const char *why,
    int64_t now)
{
	if (how == NULL || how->addr == NULL)
		return st_fail(st, PV_ERR_INVALID, "denial: no address");
	return grant_decide(st, approver, how, id, 0, why, now, NULL);
}

int
store_grant_deny(struct store *st, const char *approver, const char *id,
    const char *why, int64_t now)
{
	return grant_decide(st, approver, NULL, id, 0, why, now, NULL);
}

int
store_grant_revoke(struct store *st, const char *actor, const char *id,
    const char *why, int64_t now)
{
	static const char upd[] =
	    "UPDATE grants SET state = 'revoked', revoked_at = ?, revoked_by = "
	    "? WHERE id = ?";
	struct store_grant *g = NULL;
	struct st_q *s = NULL;
	char obj[128];
	int r;

	if (!text_ok(why))
		return st_fail(st, PV_ERR_INVALID, "reason: one line please");
	if ((r = st_begin(st, 1)) != 0)
		return r;
	if ((r = store_grant_get(st, id, now, &g)) != 0 || g == NULL) {
		if (r == 0)
			r = PV_ERR_INTERNAL;
		goto out;
	}
	if (g->state != STORE_GRANT_PENDING && g->state != STORE_GRANT_ACTIVE) {
		r = st_fail(st, PV_ERR_INVALID, "grant %s is already %s", id,
		    store_grant_state_name(g->state));
		goto out;
	}
	if ((r = st_prep(st, upd, &s)) != 0 ||
	    (r = st_bind_i64(st, s, 1, now)) != 0 ||
	    (r = st_bind_text(st, s, 2, actor)) != 0 ||
	    (r = st_bind_text(st, s, 3, id)) != 0 ||
	    (r = st_step_done(st, s, "grant revoke")) != 0)
		goto out;
	st_done(s);
	s = NULL;
	if ((r = st_object(obj, sizeof(obj), "grant", id)) != 0 ||
	    (r = st_audit(st, actor, "grant.revoke", obj,
		 json_pack("{s:s, s:s, s:s?}", "engineer", g->engineer,
		     "target", g->target, "reason", why))) != 0)
		goto out;
	store_grant_free(g);
	return st_commit(st);
out:
	store_grant_free(g);
	st_done(s);
	st_rollback(st);
	return r;
}

int
store_grant_list(struct store *st, const char *engineer, unsigned int flags,
    int64_t now, store_grant_cb cb, void *ctx)
{
	struct store_grant *g = NULL;
	struct st_q *s;
	int r;

	if ((r = st_prep_once(st,
		 "SELECT " GRANT_COLS GRANT_FROM
		 " WHERE (CAST(?1 AS TEXT) IS NULL OR e.login = ?1) AND (?2 = "
		 "0 OR g.state = "
		 "'pending') AND (?3 = 0 OR g.state = 'pending' OR (g.state = "
		 "'active' AND g.not_after > ?4)) ORDER BY g.requested_at, "
		 "g.id",
		 &s)) != 0)
		return r;
	if ((r = st_bind_text(st, s, 1, engineer)) != 0 ||
	    (r = st_bind_i64(st, s, 2, (flags & STORE_GRANTS_PENDING) != 0)) !=
		0 ||
	    (r = st_bind_i64(st, s, 3, (flags & STORE_GRANTS_CURRENT) != 0)) !=
		0 ||
	    (r = st_bind_i64(st, s, 4, now)) != 0)
		goto out;
	while ((r = st_step_row(st, s, "grant list")) == 1) {
		if ((r = grant_from_row(s, now, &g)) != 0)
			break;
		r = cb(ctx, g);
		store_grant_free(g);
		if (r != 0) {
			r = 0;
			break;
		}
	}
out:
	st_free(s);
	return r < 0 ? r : 0;
}

int
store_grant_best_for(struct store *st, const char *engineer, const char *target,
    const char *account, int64_t now, struct store_grant **out)
{
	struct st_q *s;
	int r;

	*out = NULL;
	if ((r = st_prep(st,
		 "SELECT " GRANT_COLS GRANT_FROM
		 " WHERE e.login = ?1 AND t.name = ?2 AND g.account = ?3 AND "
		 "((g.state = 'active' AND g.not_before <= ?4 AND g.not_after "
		 "> "
		 "?4) OR g.state = 'pending') ORDER BY g.state = 'active' "
		 "DESC, "
		 "g.not_after DESC, g.requested_at DESC LIMIT 1",
		 &s)) != 0)
		return r;
	if ((r = st_bind_text(st, s, 1, engineer)) != 0 ||
	    (r = st_bind_text(st, s, 2, target)) != 0 ||
	    (r = st_bind_text(st, s, 3, account)) != 0 ||
	    (r = st_bind_i64(st, s, 4, now)) != 0 ||
	    (r = st_step_row(st, s, "grant lookup")) < 0)
		goto out;
	if (r == 0) {
		r = PV_ERR_NOT_FOUND;
		goto out;
	}
	r = grant_from_row(s, now, out);
out:
	st_done(s);
	return r;
}

int
store_grant_expire_due(struct store *st, int64_t now, int *count)
{
	struct st_q *s = NULL, *u = NULL;
	char obj[128];
	int r, n = 0;

	if (count != NULL)
		*count = 0;
	if ((r = st_begin(st, 1)) != 0)
		return r;
	if ((r = st_prep_once(st,
		 "SELECT id FROM grants WHERE state = 'active' AND not_after "
		 "<= ?",
		 &s)) != 0 ||
	    (r = st_bind_i64(st, s, 1, now)) != 0)
		goto out;
	while ((r = st_step_row(st, s, "grant expiry")) == 1) {
		const char *id = st_col_text(s, 0);

		if ((r = st_prep(st,
			 "UPDATE grants SET state = 'expired' WHERE id = ?",
			 &u)) != 0 ||
		    (r = st_bind_text(st, u, 1, id)) != 0 ||
		    (r = st_step_done(st, u, "grant expiry")) != 0)
			goto out;
		st_done(u);
		u = NULL;
		if ((r = st_object(obj, sizeof(obj), "grant", id)) != 0 ||
		    (r = st_audit(st, "store", "grant.expire", obj, NULL)) != 0)
			goto out;
		n++;
	}
	if (r < 0)
		goto out;
	st_free(s);
	s = NULL;
	if ((r = st_commit(st)) != 0)
		return r;
	if (count != NULL)
		*count = n;
	return 0;
out:
	st_done(u);
	st_free(s);
	st_rollback(st);
	return r;
}
