/*
 * decide.c: the one decision path.  Every question "may this engineer use
 * this account of this target (for this channel) now?" -- a login and each
 * channel at the broker, the engineer's list and request, provostctl's
 * grant request, token issue and policy explain -- is answered here, from
 * the store's own rows: the engineer must be enabled and her provider not
 * blocked, the account must be one the target has, the best grant counts
 * (unless the question is a grant request), the policy decides, and a veto
 * (the plugins) may only take a yes away.
 */
#include "config.h"

#include <stdio.h>

#include <jansson.h>
#include <string.h>

#include "store/store-int.h"

const char *
store_decide_what(unsigned int channel)
{
	switch (channel) {
	case POLICY_CH_SHELL:
		return "shell";
	case POLICY_CH_EXEC:
		return "exec";
	case POLICY_CH_SFTP:
		return "sftp";
	case POLICY_CH_SCP:
		return "scp";
	case POLICY_CH_FORWARD:
		return "forward";
	case POLICY_CH_REMOTE_FORWARD:
		return "remote-forward";
	default:
		return "login";
	}
}

void
store_decision_clear(struct store_decision *out)
{
	store_engineer_free(out->e);
	store_target_free(out->t);
	store_grant_free(out->g);
	out->e = NULL;
	out->t = NULL;
	out->g = NULL;
}

int
store_decide(struct store *st, const struct policy *pol,
    const struct store_decide_req *req, struct store_decision *out)
{
	struct policy_grant pg;
	struct store_veto v;
	char why[POLICY_REASON_MAX];
	int r, refused = 0;

	memset(out, 0, sizeof(*out));
	if ((r = store_engineer_get_by_login(st, req->engineer, &out->e)) !=
		0 ||
	    (r = store_target_get(st, req->target, &out->t)) != 0)
		return r;
	if (!req->no_grant) {
		r = store_grant_best_for(st, out->e->login, out->t->name,
		    req->account, req->now, &out->g);
		if (r != 0 && r != PV_ERR_NOT_FOUND)
			return r;
		if (out->g != NULL)
			store_grant_to_policy(out->g, &pg);
	}
	struct policy_request pr = {
		.engineer = out->e->login,
		.provider = out->e->provider,
		.clearance = out->e->clearance,
		.target = out->t->name,
		.classification = out->t->classification,
		.account = req->account,
		.channel = req->channel,
		.now = req->now,
		.grant = out->g != NULL ? &pg : NULL,
	};
	/* The policy is asked even when a check below refuses: explain. */
	r = req->explain != NULL
	    ? policy_explain(pol, &pr, req->explain, &out->d)
	    : policy_decide(pol, &pr, &out->d);
	if (r < 0)
		return r;
	if (out->e->disabled_at != 0) {
		(void)snprintf(out->reason, sizeof(out->reason),
		    "engineer %s is disabled", out->e->login);
		refused = PV_ERR_DENIED;
	} else if (out->e->provider_blocked) {
		(void)snprintf(out->reason, sizeof(out->reason),
		    "provider %s of engineer %s is revoked or exiting",
		    out->e->provider, out->e->login);
		refused = PV_ERR_DENIED;
	} else if (!store_target_has_account(out->t, req->account)) {
		(void)snprintf(out->reason, sizeof(out->reason),
		    "%s has no account %s", out->t->name, req->account);
		refused = PV_ERR_NOT_FOUND;
	}
	if (refused) {
		out->refused = refused;
		out->d.outcome = POLICY_DENY;
		out->d.valid_until = 0;
		return PV_DENY;
	}
	(void)snprintf(out->reason, sizeof(out->reason), "%s", out->d.reason);
	if (out->d.outcome == POLICY_DENY || req->veto == NULL)
		return r;
	v = (struct store_veto){
		.engineer = out->e->login,
		.provider = out->e->provider,
		.target = out->t->name,
		.classification = out->t->classification,
		.account = req->account,
		.what = req->what != NULL ? req->what
					  : store_decide_what(req->channel),
		.grant_id =
		    out->g != NULL && out->d.approval != POLICY_APPROVAL_NONE
		    ? out->g->id
		    : NULL,
		.now = req->now,
		.source = req->source,
	};
	/* the policy's reason stays unless the veto refuses */
	why[0] = '\0';
	if (req->veto(req->veto_ctx, &v, why, sizeof(why)) == PV_ALLOW) {
		(void)snprintf(out->notice, sizeof(out->notice), "%s", why);
		return r;
	}
	/* A plugin may only take a yes away; it has the last word. */
	out->d.outcome = POLICY_DENY;
	out->d.valid_until = 0;
	out->vetoed = 1;
	(void)snprintf(out->reason, sizeof(out->reason), "%s",
	    why[0] != '\0' ? why : "refused by a plugin");
	return PV_DENY;
}

int
store_decide_audit(struct store *st, const char *actor,
    const struct store_decide_req *req, const struct store_decision *sd)
{
	char object[128];
	json_t *j;
	int r;

	if (!sd->vetoed)
		return 0;
	(void)snprintf(object, sizeof(object), "engineer:%s", req->engineer);
	j = json_pack("{s:s, s:s, s:s, s:s, s:s?}", "target", req->target,
	    "account", req->account, "what",
	    req->what != NULL ? req->what : store_decide_what(req->channel),
	    "reason", sd->reason, "provider",
	    sd->e != NULL ? sd->e->provider : NULL);
	if (j == NULL)
		return PV_ERR_ALLOC;
	r = store_audit_append(st, actor, "plugin.deny", object, j);
	json_decref(j);
	return r;
}
