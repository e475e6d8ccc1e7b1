/*
 * explain.c: text for people: why a request got its decision (provostctl
 * policy explain) and what a policy holds (provostctl policy check).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "common/common.h"
#include "policy/policy-int.h"

/* Appends s with control bytes shown as '?'. */
static int
put_safe(struct pv_buf *out, const char *s)
{
	size_t i;
	int r;

	if (s == NULL)
		s = "(none)";
	for (i = 0; s[i] != '\0'; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((r = pv_buf_put_u8(out, c < 0x20 || c == 0x7f ? '?' : c)) !=
		    0)
			return r;
	}
	return 0;
}

static int
put_channels(struct pv_buf *out, unsigned int channels)
{
	unsigned int bit;
	int r, first = 1;

	for (bit = 1; bit <= POLICY_CH_REMOTE_FORWARD; bit <<= 1) {
		if ((channels & bit) == 0)
			continue;
		if ((r = pv_buf_putf(out, "%s%s", first ? "" : " ",
			 policy_channel_name(bit))) != 0)
			return r;
		first = 0;
	}
	return first ? pv_buf_putf(out, "(none)") : 0;
}

static int
put_time(struct pv_buf *out, int64_t t)
{
	char buf[64];

	if (pv_time_format(t, buf, sizeof(buf)) != 0)
		return pv_buf_putf(out, "@%lld", (long long)t);
	return pv_buf_putf(out, "%s", buf);
}

static int
put_selector(
    struct pv_buf *out, const char *what, const struct policy_names *sel)
{
	size_t i;
	int r;

	if (sel->any)
		return 0;
	if ((r = pv_buf_putf(out, "%s", what)) != 0)
		return r;
	for (i = 0; i < sel->n; i++)
		if ((r = pv_buf_putf(out, "%s", i ? "," : " ")) != 0 ||
		    (r = put_safe(out, sel->v[i].s)) != 0)
			return r;
	return pv_buf_putf(out, "; ");
}

/* "; LABEL host:port [v6]:* ..." for a rule's ForwardTo or listen list. */
static int
put_dests(struct pv_buf *out, const char *label,
    const struct policy_forward *list, size_t n)
{
	size_t i;
	int r;

	if (n > 0 && (r = pv_buf_putf(out, "%s", label)) != 0)
		return r;
	for (i = 0; i < n; i++) {
		const struct policy_forward *f = &list[i];
		int v6 = strchr(f->host, ':') != NULL;

		if ((r = pv_buf_putf(out, " %s", v6 ? "[" : "")) != 0 ||
		    (r = put_safe(out, f->host)) != 0)
			return r;
		if (f->port == 0)
			r = pv_buf_putf(out, "%s:*", v6 ? "]" : "");
		else
			r = pv_buf_putf(out, "%s:%u", v6 ? "]" : "", f->port);
		if (r != 0)
			return r;
	}
	return 0;
}

static int
put_rule_terms(
    struct pv_buf *out, const struct policy *p, const struct policy_rule *rule)
{
	char dur[32];
	size_t i;
	int r, first = 1;

	if ((r = put_selector(out, "provider", &rule->provider)) != 0 ||
	    (r = put_selector(out, "engineer", &rule->engineer)) != 0 ||
	    (r = put_selector(out, "target", &rule->target)) != 0 ||
	    (r = put_selector(out, "account", &rule->account)) != 0)
		return r;
	if ((r = pv_buf_putf(out, "classification")) != 0)
		return r;
	for (i = 0; i < p->nlevels; i++) {
		if ((rule->classes & ((uint64_t)1 << i)) == 0)
			continue;
		if ((r = pv_buf_putf(out, " %s", p->levels[i])) != 0)
			return r;
		first = 0;
	}
	if (first && (r = pv_buf_putf(out, " (none)")) != 0)
		return r;
	if (rule->approval == POLICY_APPROVAL_GROUP)
		r = pv_buf_putf(out, "; approval %d of group %s%s",
		    rule->approvals_needed, rule->group,
		    rule->approval_break_glass ? " (break-glass counts)" : "");
	else
		r = pv_buf_putf(
		    out, "; approval %s", policy_approval_name(rule->approval));
	if (r != 0)
		return r;
	if (rule->require_ticket && (r = pv_buf_putf(out, "; ticket")) != 0)
		return r;
	if (rule->max_duration > 0) {
		if (pv_duration_format(rule->max_duration, dur, sizeof(dur)) !=
		    0)
			dur[0] = '\0';
		if ((r = pv_buf_putf(out, "; max %s", dur)) != 0)
			return r;
	}
	if (rule->clearance >= 0 &&
	    (r = pv_buf_putf(
		 out, "; clearance %s", p->levels[rule->clearance])) != 0)
		return r;
	if (rule->clearance_target &&
	    (r = pv_buf_putf(out, "; clearance >= target")) != 0)
		return r;
	if (rule->hours != NULL &&
	    (r = pv_buf_putf(out, "; hours %s (%s)", rule->hours_text,
		 rule->tz_name != NULL ? rule->tz_name : "broker time")) != 0)
		return r;
	if ((r = pv_buf_putf(out, "; channels ")) != 0 ||
	    (r = put_channels(out, rule->channels)) != 0)
		return r;
	if ((rule->channels & (POLICY_CH_SFTP | POLICY_CH_SCP)) != 0 &&
	    rule->transfer != POLICY_TRANSFER_BOTH &&
	    (r = pv_buf_putf(out, "; transfer %s",
		 rule->transfer == POLICY_TRANSFER_UPLOAD ? "upload only"
							  : "download only")) !=
		0)
		return r;
	if ((r = put_dests(out, "; forward to", rule->forward_to,
		 rule->nforward_to)) != 0 ||
	    (r = put_dests(out, "; remote forward listen on",
		 rule->remote_listen, rule->nremote_listen)) != 0)
		return r;
	if (rule->fresh_mfa && (r = pv_buf_putf(out, "; fresh MFA")) != 0)
		return r;
	if (rule->moderated != NULL &&
	    (r = pv_buf_putf(out, "; moderated by %s", rule->moderated)) != 0)
		return r;
	if (rule->record_file_contents &&
	    (r = pv_buf_putf(out, "; file contents recorded")) != 0)
		return r;
	return 0;
}

static int
put_request(struct pv_buf *out, const struct policy *p,
    const struct policy_request *req, int rank)
{
	int r;

	if ((r = pv_buf_putf(out, "request: engineer ")) != 0 ||
	    (r = put_safe(out, req->engineer)) != 0 ||
	    (r = pv_buf_putf(out, " (provider ")) != 0 ||
	    (r = put_safe(out, req->provider)) != 0 ||
	    (r = pv_buf_putf(out, ", clearance ")) != 0 ||
	    (r = put_safe(out, req->clearance)) != 0 ||
	    (r = pv_buf_putf(out, ")\n  target ")) != 0 ||
	    (r = put_safe(out, req->target)) != 0 ||
	    (r = pv_buf_putf(out, " (classification ")) != 0 ||
	    (r = put_safe(out, req->classification)) != 0)
		return r;
	if (policy_level_rank(p, req->classification) < 0 &&
	    (r = pv_buf_putf(
		 out, ", unknown: treated as %s", p->levels[rank])) != 0)
		return r;
	if ((r = pv_buf_putf(out, ") account ")) != 0 ||
	    (r = put_safe(out, req->account)) != 0 ||
	    (r = pv_buf_putf(out, "\n  channel %s at ",
		 req->channel == 0 ? "(any: not checked)"
				   : policy_channel_name(req->channel))) != 0 ||
	    (r = put_time(out, req->now)) != 0 ||
	    (r = pv_buf_putf(out, "\n")) != 0)
		return r;
	if (req->grant == NULL)
		return pv_buf_putf(out, "  grant: none\n");
	if ((r = pv_buf_putf(out, "  grant ")) != 0 ||
	    (r = put_safe(out, req->grant->id)) != 0 ||
	    (r = pv_buf_putf(out, ": ")) != 0 ||
	    (r = put_safe(out, req->grant->engineer)) != 0 ||
	    (r = pv_buf_putf(out, " as ")) != 0 ||
	    (r = put_safe(out, req->grant->account)) != 0 ||
	    (r = pv_buf_putf(out, " on ")) != 0 ||
	    (r = put_safe(out, req->grant->target)) != 0 ||
	    (r = pv_buf_putf(out, ", ")) != 0 ||
	    (r = put_time(out, req->grant->not_before)) != 0 ||
	    (r = pv_buf_putf(out, " to ")) != 0 ||
	    (r = put_time(out, req->grant->not_after)) != 0 ||
	    (r = pv_buf_putf(out, ", %d approval%s%s%s\n",
		 req->grant->approvals, req->grant->approvals == 1 ? "" : "s",
		 req->grant->revoked ? ", revoked" : "",
		 req->grant->denied ? ", denied" : "")) != 0)
		return r;
	return 0;
}

/* The local time the Hours of a rule see. */
static int
put_local(struct pv_buf *out, const struct policy_rule *rule, int64_t now)
{
	static const char *const days[7] = { "Sun", "Mon", "Tue", "Wed", "Thu",
		"Fri", "Sat" };
	int wm = policy_week_minute(rule->zone, now, NULL);

	if (wm < 0)
		return pv_buf_putf(out, "(out of range)");
	return pv_buf_putf(out, "%s %02d:%02d %s", days[wm / 1440],
	    (wm % 1440) / 60, wm % 60,
	    rule->tz_name != NULL ? rule->tz_name : "broker time");
}

int
policy_explain(const struct policy *p, const struct policy_request *req,
    struct pv_buf *out, struct policy_decision *dec)
{
	struct policy_decision d;
	const struct policy_rule *rule = NULL;
	char why[POLICY_REASON_MAX];
	size_t i;
	int r, ret, rank;

	if (dec != NULL)
		*dec = (struct policy_decision){ .outcome = POLICY_DENY };
	if (p == NULL || req == NULL || out == NULL)
		return PV_ERR_INVALID;
	if ((ret = policy_decide(p, req, &d)) < 0)
		return ret;
	rank = policy_class_rank(p, req->classification);
	if ((r = put_request(out, p, req, rank)) != 0)
		return r;
	for (i = 0; i < p->nrules; i++) {
		const struct policy_rule *x = &p->rules[i];

		why[0] = '\0';
		if (policy_rule_selects(p, x, req, rank, why, sizeof(why))) {
			rule = x;
			if ((r = pv_buf_putf(out,
				 "rule %s (line %u): selects the request\n",
				 x->name, x->lineno)) != 0)
				return r;
			break;
		}
		if ((r = pv_buf_putf(out, "rule %s (line %u): skipped: %s\n",
			 x->name, x->lineno, why)) != 0)
			return r;
	}
	if (rule == NULL) {
		if ((r = pv_buf_putf(out, "no rule selects the request\n")) !=
		    0)
			return r;
	} else {
		if ((r = pv_buf_putf(out, "  terms: ")) != 0 ||
		    (r = put_rule_terms(out, p, rule)) != 0 ||
		    (r = pv_buf_putf(out, "\n")) != 0)
			return r;
		if (rule->hours != NULL &&
		    ((r = pv_buf_putf(out, "  local time: ")) != 0 ||
			(r = put_local(out, rule, req->now)) != 0 ||
			(r = pv_buf_putf(out, "\n")) != 0))
			return r;
		if ((size_t)(rule - p->rules) + 1 < p->nrules &&
		    (r = pv_buf_putf(out,
			 "  (the %zu rule%s after it %s not considered)\n",
			 p->nrules - (size_t)(rule - p->rules) - 1,
			 p->nrules - (size_t)(rule - p->rules) - 1 == 1 ? ""
									: "s",
			 p->nrules - (size_t)(rule - p->rules) - 1 == 1
			     ? "is"
			     : "are")) != 0)
			return r;
	}
	if ((r = pv_buf_putf(out, "decision: %s\nreason: %s\n",
		 policy_outcome_name(d.outcome), d.reason)) != 0)
		return r;
	if (d.outcome == POLICY_ALLOW && d.valid_until != 0 &&
	    ((r = pv_buf_putf(out, "valid until: ")) != 0 ||
		(r = put_time(out, d.valid_until)) != 0 ||
		(r = pv_buf_putf(out, "\n")) != 0))
		return r;
	if (dec != NULL)
		*dec = d;
	return ret;
}

int
policy_summary(const struct policy *p, struct pv_buf *out)
{
	size_t i;
	int r;

	if (p == NULL || out == NULL)
		return PV_ERR_INVALID;
	if ((r = pv_buf_putf(out,
		 "%s: %zu level%s, %zu rule%s\nlevels "
		 "(lowest first):",
		 p->name, p->nlevels, p->nlevels == 1 ? "" : "s", p->nrules,
		 p->nrules == 1 ? "" : "s")) != 0)
		return r;
	for (i = 0; i < p->nlevels; i++)
		if ((r = pv_buf_putf(out, " %s", p->levels[i])) != 0)
			return r;
	if ((r = pv_buf_putf(out, "\n")) != 0)
		return r;
	if (p->nrules == 0)
		return pv_buf_putf(out, "no rules: every request is denied\n");
	for (i = 0; i < p->nrules; i++) {
		if ((r = pv_buf_putf(out, "rule %s (line %u): ",
			 p->rules[i].name, p->rules[i].lineno)) != 0 ||
		    (r = put_rule_terms(out, p, &p->rules[i])) != 0 ||
		    (r = pv_buf_putf(out, "\n")) != 0)
			return r;
	}
	return 0;
}
