/*
 * decide.c: the evaluator.  A pure function of the parsed policy and the
 * request: the first rule that selects the request decides; default deny.
 */
#include "config.h"

#include <fnmatch.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/common.h"
#include "policy/policy-int.h"

static const struct {
	unsigned int bit;
	const char *name;
} channel_names[] = {
	{ POLICY_CH_SHELL, "shell" },
	{ POLICY_CH_EXEC, "exec" },
	{ POLICY_CH_SFTP, "sftp" },
	{ POLICY_CH_SCP, "scp" },
	{ POLICY_CH_FORWARD, "forward" },
	{ POLICY_CH_REMOTE_FORWARD, "remote-forward" },
};

unsigned int
policy_channel_parse(const char *name)
{
	size_t i;

	if (name == NULL)
		return 0;
	for (i = 0; i < sizeof(channel_names) / sizeof(channel_names[0]); i++)
		if (strcasecmp(name, channel_names[i].name) == 0)
			return channel_names[i].bit;
	return 0;
}

const char *
policy_channel_name(unsigned int channel)
{
	size_t i;

	for (i = 0; i < sizeof(channel_names) / sizeof(channel_names[0]); i++)
		if (channel == channel_names[i].bit)
			return channel_names[i].name;
	return NULL;
}

const char *
policy_outcome_name(enum policy_outcome o)
{
	switch (o) {
	case POLICY_ALLOW:
		return "allow";
	case POLICY_DENY:
		return "deny";
	case POLICY_NEEDS_GRANT:
		return "needs-grant";
	case POLICY_NEEDS_APPROVAL:
		return "needs-approval";
	}
	return "deny";
}

const char *
policy_approval_name(enum policy_approval a)
{
	switch (a) {
	case POLICY_APPROVAL_NONE:
		return "none";
	case POLICY_APPROVAL_AUTO:
		return "auto";
	case POLICY_APPROVAL_GROUP:
		return "group";
	}
	return "group";
}

static int why_set(char *why, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Formats a one-line text; control bytes become '?'.  Returns 0. */
static int
why_set(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;
	size_t i;
	int n;

	if (why == NULL || len == 0)
		return 0;
	va_start(ap, fmt);
	n = vsnprintf(why, len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		why[0] = '\0';
		return 0;
	}
	/* A cut text is still a fine reason; make it safe to print. */
	for (i = 0; why[i] != '\0'; i++)
		if ((unsigned char)why[i] < 0x20 || why[i] == 0x7f)
			why[i] = '?';
	return 0;
}

static const char *
nz(const char *s)
{
	return s == NULL ? "(none)" : s;
}

static int
pattern_match(const struct policy_pat *pat, const char *s)
{
	switch (pat->kind) {
	case POLICY_PAT_EXACT: /* the first byte inline: most names differ */
		return pat->s[0] == s[0] &&
		    (s[0] == '\0' ||
			(pat->s[1] == s[1] && strcmp(pat->s, s) == 0));
	case POLICY_PAT_PREFIX:
		return pat->len == 0 ||
		    (pat->s[0] == s[0] && strncmp(pat->s, s, pat->len) == 0);
	case POLICY_PAT_GLOB:
		return fnmatch(pat->s, s, 0) == 0;
	}
	return 0;
}

static int
names_match(const struct policy_names *sel, const char *s)
{
	size_t i;

	if (sel->any)
		return 1;
	if (s == NULL)
		return 0;
	for (i = 0; i < sel->n; i++)
		if (pattern_match(&sel->v[i], s))
			return 1;
	return 0;
}

/* Two bits of a 64-bit Bloom filter for a name (FNV-1a). */
static uint64_t
bloom_bits(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	if (s == NULL)
		return 0;
	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return ((uint64_t)1 << (h & 63)) | ((uint64_t)1 << ((h >> 6) & 63));
}

static uint64_t
bloom_of(const struct policy_names *sel)
{
	uint64_t b = 0;
	size_t i;

	if (sel->any)
		return 0;
	for (i = 0; i < sel->n; i++) {
		if (sel->v[i].kind != POLICY_PAT_EXACT)
			return 0;
		b |= bloom_bits(sel->v[i].s);
	}
	return b;
}

int
policy_index_build(struct policy *p)
{
	size_t i;

	free(p->keys);
	p->keys = NULL;
	if (p->nrules == 0)
		return 0;
	if ((p->keys = calloc(p->nrules, sizeof(*p->keys))) == NULL)
		return PV_ERR_ALLOC;
	for (i = 0; i < p->nrules; i++) {
		const struct policy_rule *r = &p->rules[i];

		p->keys[i] = (struct policy_key){
			.classes = r->classes,
			.bloom = { bloom_of(&r->provider),
			    bloom_of(&r->engineer), bloom_of(&r->target),
			    bloom_of(&r->account) },
		};
	}
	return 0;
}

/* No false negatives: 0 means the rule cannot select the request. */
static int
key_may_select(const struct policy_key *k, uint64_t cbit, const uint64_t q[4])
{
	int i;

	if ((k->classes & cbit) == 0)
		return 0;
	for (i = 0; i < 4; i++)
		if (k->bloom[i] != 0 && (k->bloom[i] & q[i]) != q[i])
			return 0;
	return 1;
}

int
policy_class_rank(const struct policy *p, const char *classification)
{
	int rank = policy_level_rank(p, classification);

	/* Unknown or missing: the highest level, so only its rules match. */
	return rank < 0 ? (int)p->nlevels - 1 : rank;
}

const struct policy_rule *
policy_rule_by_name(const struct policy *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->nrules; i++)
		if (strcmp(p->rules[i].name, name) == 0)
			return &p->rules[i];
	return NULL;
}

int
policy_rule_selects(const struct policy *p, const struct policy_rule *r,
    const struct policy_request *req, int rank, char *why, size_t whylen)
{
	/* why == NULL (deciding): no text, no varargs call per rule. */
	if (rank < 0 || rank >= 64 || (r->classes & ((uint64_t)1 << rank)) == 0)
		return why == NULL
		    ? 0
		    : why_set(why, whylen, "Classification does not include %s",
			  rank >= 0 && (size_t)rank < p->nlevels
			      ? p->levels[rank]
			      : "(none)");
	if (!names_match(&r->provider, req->provider))
		return why == NULL
		    ? 0
		    : why_set(why, whylen, "Provider does not include %s",
			  nz(req->provider));
	if (!names_match(&r->engineer, req->engineer))
		return why == NULL
		    ? 0
		    : why_set(why, whylen, "Engineer does not include %s",
			  nz(req->engineer));
	if (!names_match(&r->target, req->target))
		return why == NULL
		    ? 0
		    : why_set(why, whylen, "Target does not include %s",
			  nz(req->target));
	if (!names_match(&r->account, req->account))
		return why == NULL
		    ? 0
		    : why_set(why, whylen, "Account does not include %s",
			  nz(req->account));
	return 1;
}

static int
one_channel(unsigned int ch)
{
	return ch == 0 ||
	    ((ch & ~(unsigned int)POLICY_CH_ALL) == 0 && (ch & (ch - 1)) == 0);
}

static void
decision_from_rule(struct policy_decision *out, const struct policy_rule *r)
{
	out->rule = r->name;
	out->rule_line = r->lineno;
	out->approval = r->approval;
	out->approvals_needed = r->approvals_needed;
	out->approval_group = r->group;
	out->approval_break_glass = r->approval_break_glass;
	out->require_ticket = r->require_ticket;
	out->max_duration = r->max_duration;
	out->channels = r->channels;
	out->fresh_mfa = r->fresh_mfa;
	out->record_file_contents = r->record_file_contents;
	out->transfer = r->transfer;
	out->forward_to = r->forward_to;
	out->nforward_to = r->nforward_to;
	out->remote_listen = r->remote_listen;
	out->nremote_listen = r->nremote_listen;
	out->moderated = r->moderated;
}

static void
fmt_time(int64_t t, char *buf, size_t len)
{
	if (pv_time_format(t, buf, len) != 0 &&
	    snprintf(buf, len, "@%lld", (long long)t) < 0)
		buf[0] = '\0';
}

static int64_t
min_end(int64_t a, int64_t b)
{
	if (a == 0)
		return b;
	if (b == 0)
		return a;
	return a < b ? a : b;
}

/* The grant checks of a rule with Approval auto or group. */
static void
decide_grant(const struct policy_rule *r, const struct policy_request *req,
    struct policy_decision *out)
{
	const struct policy_grant *g = req->grant;
	char when[64], need[128];
	int64_t end;
	int capped = 0, counted;

	if (r->approval == POLICY_APPROVAL_GROUP)
		why_set(need, sizeof(need), " approved by %d of group %s",
		    r->approvals_needed, r->group);
	else
		need[0] = '\0';
	if (g == NULL) {
		out->outcome = POLICY_NEEDS_GRANT;
		why_set(out->reason, sizeof(out->reason),
		    "rule %s needs a grant%s%s: request one", r->name,
		    r->require_ticket ? " with a ticket" : "", need);
		return;
	}
	if (g->engineer == NULL || req->engineer == NULL ||
	    strcmp(g->engineer, req->engineer) != 0 || g->target == NULL ||
	    req->target == NULL || strcmp(g->target, req->target) != 0 ||
	    g->account == NULL || req->account == NULL ||
	    strcmp(g->account, req->account) != 0) {
		out->outcome = POLICY_NEEDS_GRANT;
		why_set(out->reason, sizeof(out->reason),
		    "grant %s is for %s as %s on %s, not %s as %s on %s: "
		    "request one",
		    nz(g->id), nz(g->engineer), nz(g->account), nz(g->target),
		    nz(req->engineer), nz(req->account), nz(req->target));
		return;
	}
	if (g->revoked) {
		why_set(out->reason, sizeof(out->reason),
		    "grant %s was revoked", nz(g->id));
		return;
	}
	if (g->denied) {
		why_set(out->reason, sizeof(out->reason), "grant %s was denied",
		    nz(g->id));
		return;
	}
	end = g->not_after;
	if (r->max_duration > 0 && g->not_before < INT64_MAX / 2 &&
	    r->max_duration < (uint64_t)INT64_MAX / 2 &&
	    g->not_before + (int64_t)r->max_duration < end) {
		end = g->not_before + (int64_t)r->max_duration;
		capped = 1;
	}
	if (req->now < g->not_before) {
		fmt_time(g->not_before, when, sizeof(when));
		why_set(out->reason, sizeof(out->reason),
		    "grant %s is not valid before %s", nz(g->id), when);
		return;
	}
	if (req->now >= end) {
		fmt_time(end, when, sizeof(when));
		out->outcome = POLICY_NEEDS_GRANT;
		why_set(out->reason, sizeof(out->reason),
		    "grant %s expired at %s%s: request a new one", nz(g->id),
		    when, capped ? " (MaxDuration of rule)" : "");
		return;
	}
	/* root's --as approvals only where this rule says break-glass */
	counted = g->approvals < 0 ? 0 : g->approvals;
	if (r->approval_break_glass && g->approvals_break_glass > 0)
		counted += g->approvals_break_glass;
	if (r->approval == POLICY_APPROVAL_GROUP &&
	    counted < r->approvals_needed) {
		out->outcome = POLICY_NEEDS_APPROVAL;
		why_set(out->reason, sizeof(out->reason),
		    "grant %s has %d of %d approvals from group %s%s",
		    nz(g->id), counted, r->approvals_needed, r->group,
		    g->approvals_break_glass > 0 && !r->approval_break_glass
			? " (break-glass approvals do not count under this "
			  "rule)"
			: "");
		return;
	}
	out->outcome = POLICY_ALLOW;
	out->valid_until = min_end(end, policy_hours_end(r, req->now));
	why_set(out->reason, sizeof(out->reason),
	    "allowed by rule %s, grant %s", r->name, nz(g->id));
}

/* The checks of the deciding rule; the decision's rule fields are set. */
static void
decide_rule(const struct policy *p, const struct policy_rule *r,
    const struct policy_request *req, int rank, struct policy_decision *out)
{
	int need = r->clearance, have;

	if (r->clearance_target && rank > need)
		need = rank;
	have = policy_level_rank(p, req->clearance);
	if (need >= 0 && have < need) {
		why_set(out->reason, sizeof(out->reason),
		    "clearance %s is below %s, which rule %s requires",
		    req->clearance == NULL ? "(none)" : req->clearance,
		    p->levels[need], r->name);
		return;
	}
	if (req->channel != 0 && (req->channel & r->channels) == 0) {
		why_set(out->reason, sizeof(out->reason),
		    "rule %s does not allow %s channels", r->name,
		    policy_channel_name(req->channel));
		return;
	}
	if (!policy_hours_allow(r, req->now)) {
		why_set(out->reason, sizeof(out->reason),
		    "outside the hours of rule %s (%s, %s)", r->name,
		    r->hours_text,
		    r->tz_name != NULL ? r->tz_name : "broker time");
		return;
	}
	if (r->approval == POLICY_APPROVAL_NONE) {
		out->outcome = POLICY_ALLOW;
		out->valid_until = policy_hours_end(r, req->now);
		why_set(out->reason, sizeof(out->reason),
		    "allowed by rule %s (standing access)", r->name);
		return;
	}
	decide_grant(r, req, out);
}

int
policy_decide(const struct policy *p, const struct policy_request *req,
    struct policy_decision *out)
{
	const struct policy_rule *r = NULL;
	uint64_t q[4], cbit;
	size_t i;
	int rank;

	if (out == NULL)
		return PV_ERR_INVALID;
	*out = (struct policy_decision){ .outcome = POLICY_DENY };
	if (p == NULL || req == NULL || !one_channel(req->channel)) {
		why_set(out->reason, sizeof(out->reason),
		    "internal error: bad policy request");
		return PV_ERR_INVALID;
	}
	if (p->nlevels == 0) {
		why_set(out->reason, sizeof(out->reason), "empty policy");
		return PV_DENY;
	}
	rank = policy_class_rank(p, req->classification);
	q[POLICY_SEL_PROVIDER] = bloom_bits(req->provider);
	q[POLICY_SEL_ENGINEER] = bloom_bits(req->engineer);
	q[POLICY_SEL_TARGET] = bloom_bits(req->target);
	q[POLICY_SEL_ACCOUNT] = bloom_bits(req->account);
	cbit = rank >= 0 && rank < 64 ? (uint64_t)1 << rank : 0;
	for (i = 0; i < p->nrules; i++) {
		if (!key_may_select(&p->keys[i], cbit, q))
			continue;
		if (policy_rule_selects(p, &p->rules[i], req, rank, NULL, 0)) {
			r = &p->rules[i];
			break;
		}
	}
	if (r == NULL) {
		why_set(out->reason, sizeof(out->reason),
		    "no rule allows %s (provider %s) to reach %s (%s) as %s",
		    nz(req->engineer), nz(req->provider), nz(req->target),
		    p->levels[rank], nz(req->account));
		return PV_DENY;
	}
	decision_from_rule(out, r);
	decide_rule(p, r, req, rank, out);
	return out->outcome == POLICY_ALLOW ? PV_ALLOW : PV_DENY;
}

int
policy_forward_allowed(
    const struct policy_decision *d, const char *host, unsigned int port)
{
	size_t i;

	if (d == NULL || host == NULL || port == 0 || port > 65535 ||
	    d->outcome != POLICY_ALLOW ||
	    (d->channels & POLICY_CH_FORWARD) == 0)
		return PV_DENY;
	for (i = 0; i < d->nforward_to; i++) {
		const struct policy_forward *f = &d->forward_to[i];

		if (f->port != 0 && f->port != port)
			continue;
		if (fnmatch(f->host, host, FNM_CASEFOLD) == 0)
			return PV_ALLOW;
	}
	return PV_DENY;
}

int
policy_remote_forward_allowed(
    const struct policy_decision *d, const char *addr, unsigned int port)
{
	size_t i;

	if (d == NULL || addr == NULL || port > 65535 ||
	    d->outcome != POLICY_ALLOW ||
	    (d->channels & POLICY_CH_REMOTE_FORWARD) == 0)
		return PV_DENY;
	for (i = 0; i < d->nremote_listen; i++) {
		const struct policy_forward *f = &d->remote_listen[i];

		if (f->port != 0 && f->port != port)
			continue;
		if (fnmatch(f->host, addr, FNM_CASEFOLD) == 0)
			return PV_ALLOW;
	}
	return PV_DENY;
}
