/*
 * parse.c: policy.conf on the shared tokenizer: Levels, then Rule blocks
 * with their keywords; every fault is one "FILE:LINE: what" line.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/common.h"
#include "policy/policy-int.h"

#define SELECTOR_NAME_MAX 256

struct parse_ctx {
	struct policy *p;
	int cur; /* index of the rule being read, -1 before the first */
};

static int perr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes "what" for the tokenizer, which adds FILE:LINE; PV_ERR_CONFIG. */
static int
perr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	if (n < 0 && errlen > 0)
		err[0] = '\0';
	return PV_ERR_CONFIG;
}

/* A printable copy of untrusted text for an error message. */
static const char *
esc(char *buf, size_t len, const char *s)
{
	(void)pv_log_escape(buf, len, s);
	return buf;
}

int
policy_intern(struct policy *p, const char *s, size_t len, char **out)
{
	char *c, **ns;

	*out = NULL;
	if (p->nstrs == p->capstrs) {
		size_t ncap = p->capstrs == 0 ? 64 : p->capstrs * 2;

		if ((ns = reallocarray(p->strs, ncap, sizeof(*ns))) == NULL)
			return PV_ERR_ALLOC;
		p->strs = ns;
		p->capstrs = ncap;
	}
	if ((c = strndup(s, len)) == NULL)
		return PV_ERR_ALLOC;
	p->strs[p->nstrs++] = c;
	*out = c;
	return 0;
}

static int
intern_str(struct policy *p, const char *s, const char **out)
{
	char *c = NULL;
	int r;

	r = policy_intern(p, s, strlen(s), &c);
	*out = c;
	return r;
}

/* Rule, level and group names: [A-Za-z0-9._-], 1 to 64 bytes. */
static int
name_valid(const char *s)
{
	size_t i, len = strlen(s);

	if (len == 0 || len > POLICY_NAME_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			(c >= '0' && c <= '9') || c == '.' || c == '_' ||
			c == '-'))
			return 0;
	}
	return 1;
}

static void
levels_list(const struct policy *p, char *buf, size_t len)
{
	size_t i, o = 0;
	int n;

	buf[0] = '\0';
	for (i = 0; i < p->nlevels && o < len; i++) {
		n = snprintf(
		    buf + o, len - o, "%s%s", i ? " " : "", p->levels[i]);
		if (n < 0)
			break;
		o += (size_t)n;
	}
}

static int
unknown_level(const struct policy *p, const char *what, const char *s,
    char *err, size_t errlen)
{
	char list[256], e[80];

	levels_list(p, list, sizeof(list));
	return perr(err, errlen, "%s of unknown level \"%s\" (Levels: %s)",
	    what, esc(e, sizeof(e), s), list);
}

static int
h_levels(void *vctx, const struct pv_conf_line *l, char *err, size_t errlen)
{
	struct parse_ctx *ctx = vctx;
	struct policy *p = ctx->p;
	char e[80];
	int i, r;

	if (p->nrules > 0)
		return perr(
		    err, errlen, "Levels must come before the first Rule");
	if (p->have_levels)
		return perr(err, errlen, "Levels given twice");
	for (i = 0; i < l->nargs; i++) {
		if (!name_valid(l->args[i]))
			return perr(err, errlen,
			    "bad level name \"%s\" (letters, digits, . _ -)",
			    esc(e, sizeof(e), l->args[i]));
		if (policy_level_rank(p, l->args[i]) >= 0)
			return perr(err, errlen, "level \"%s\" listed twice",
			    l->args[i]);
		if (p->nlevels == POLICY_MAX_LEVELS)
			return perr(err, errlen, "more than %d levels",
			    POLICY_MAX_LEVELS);
		if ((r = intern_str(p, l->args[i], &p->levels[p->nlevels])) !=
		    0)
			return r;
		p->nlevels++;
	}
	p->have_levels = 1;
	return 0;
}

static int
h_rule(void *vctx, const struct pv_conf_line *l, char *err, size_t errlen)
{
	struct parse_ctx *ctx = vctx;
	struct policy *p = ctx->p;
	struct policy_rule *nr, *rule;
	char e[80];
	size_t i;
	int r;

	if (!p->have_levels)
		return perr(err, errlen,
		    "Rule before Levels (the Levels line "
		    "comes first)");
	if (!name_valid(l->args[0]))
		return perr(err, errlen,
		    "bad rule name \"%s\" (1 to %d letters, digits, . _ -)",
		    esc(e, sizeof(e), l->args[0]), POLICY_NAME_MAX);
	for (i = 0; i < p->nrules; i++)
		if (strcmp(p->rules[i].name, l->args[0]) == 0)
			return perr(err, errlen,
			    "duplicate rule name \"%s\" (first at line %u)",
			    l->args[0], p->rules[i].lineno);
	if (p->nrules == POLICY_MAX_RULES)
		return perr(
		    err, errlen, "more than %d rules", POLICY_MAX_RULES);
	if (p->nrules == p->caprules) {
		size_t ncap = p->caprules == 0 ? 16 : p->caprules * 2;

		if ((nr = reallocarray(p->rules, ncap, sizeof(*nr))) == NULL)
			return PV_ERR_ALLOC;
		p->rules = nr;
		p->caprules = ncap;
	}
	rule = &p->rules[p->nrules];
	*rule = (struct policy_rule){
		.lineno = l->lineno,
		.clearance = -1,
		.approval = POLICY_APPROVAL_NONE,
		.channels = POLICY_CH_DEFAULT,
		.record_file_contents = 0, /* metadata + hash only (issue 7) */
		.transfer = POLICY_TRANSFER_BOTH,
		.provider = { .any = 1 },
		.engineer = { .any = 1 },
		.target = { .any = 1 },
		.account = { .any = 1 },
	};
	p->nrules++;
	ctx->cur = (int)(p->nrules - 1);
	if ((r = intern_str(p, l->args[0], &rule->name)) != 0)
		return r;
	return 0;
}

/* The rule being read, or NULL with an error for a keyword outside one. */
static struct policy_rule *
rule_get(struct parse_ctx *ctx, const struct pv_conf_line *l, unsigned int bit,
    char *err, size_t errlen)
{
	struct policy_rule *rule;

	if (ctx->cur < 0) {
		(void)perr(err, errlen,
		    "%s outside a Rule block (start one with \"Rule NAME\")",
		    l->keyword);
		return NULL;
	}
	rule = &ctx->p->rules[ctx->cur];
	if ((rule->seen & bit) != 0) {
		(void)perr(err, errlen, "%s given twice in rule \"%s\"",
		    l->keyword, rule->name);
		return NULL;
	}
	rule->seen |= bit;
	return rule;
}

static int
h_classification(
    void *vctx, const struct pv_conf_line *l, char *err, size_t errlen)
{
	struct parse_ctx *ctx = vctx;
	struct policy_rule *rule;
	int i, rank;

	if ((rule = rule_get(ctx, l, RK_CLASSIFICATION, err, errlen)) == NULL)
		return PV_ERR_CONFIG;
	for (i = 0; i < l->nargs; i++) {
		if (strcmp(l->args[i], "*") == 0) {
			rule->classes = ~(uint64_t)0;
			continue;
		}
		if ((rank = policy_level_rank(ctx->p, l->args[i])) < 0)
			return unknown_level(
			    ctx->p, "Classification", l->args[i], err, errlen);
		rule->classes |= (uint64_t)1 << rank;
	}
	return 0;
}

static int
h_approval(void *vctx, const struct pv_conf_line *l, char *err, size_t errlen)
{
	struct parse_ctx *ctx = vctx;
	struct policy_rule *rule;
	uint32_t n;
	char e[80];
	int r;

	if ((rule = rule_get(ctx, l, RK_APPROVAL, err, errlen)) == NULL)
		return PV_ERR_CONFIG;
	if (l->nargs == 1 && strcasecmp(l->args[0], "none") == 0) {
		rule->approval = POLICY_APPROVAL_NONE;
		return 0;
	}
	if (l->nargs == 1 && strcasecmp(l->args[0], "auto") == 0) {
		rule->approval = POLICY_APPROVAL_AUTO;
		return 0;
	}
	if ((l->nargs != 3 && l->nargs != 4) ||
	    strcasecmp(l->args[1], "group") != 0)
		return perr(err, errlen,
		    "Approval takes none, auto or \"N group GROUP "
		    "[break-glass]\"");
	/*
	 * break-glass: root's provostctl grant approve --as counts too;
	 * without it only approvers signed in to the broker count.
	 */
	if (l->nargs == 4) {
		if (strcasecmp(l->args[3], "break-glass") != 0)
			return perr(err, errlen,
			    "after the group, Approval takes only "
			    "\"break-glass\", not \"%s\"",
			    esc(e, sizeof(e), l->args[3]));
		rule->approval_break_glass = 1;
	}
	if (pv_parse_u32(l->args[0], 0, UINT32_MAX, &n) != 0)
		return perr(err, errlen, "bad approval count \"%s\"",
		    esc(e, sizeof(e), l->args[0]));
	if (n < 1 || n > POLICY_APPROVALS_MAX)
		return perr(err, errlen,
		    "approval count must be 1 to %d, not %u",
		    POLICY_APPROVALS_MAX, n);
	if (!name_valid(l->args[2]))
		return perr(err, errlen, "bad group name \"%s\"",
		    esc(e, sizeof(e), l->args[2]));
	rule->approval = POLICY_APPROVAL_GROUP;
	rule->approvals_needed = (int)n;
	if ((r = intern_str(ctx->p, l->args[2], &rule->group)) != 0)
		return r;
	return 0;
}

static int
yesno(struct parse_ctx *ctx, const struct pv_conf_line *l, unsigned int bit,
    int *out, char *err, size_t errlen)
{
	char e[80];

	if (rule_get(ctx, l, bit, err, errlen) == NULL)
		return PV_ERR_CONFIG;
	if (pv_conf_yesno(l->args[0], out) != 0)
		return perr(err, errlen, "%s takes yes or no, not \"%s\"",
		    l->keyword, esc(e, sizeof(e), l->args[0]));
	return 0;
}

static struct policy_rule *
cur_rule(struct parse_ctx *ctx)
{
	return &ctx->p->rules[ctx->cur];
}

static int
h_ticket(void *vctx, const struct pv_conf_line *l, char *err, size_t errlen)
{
	struct parse_ctx *ctx = vctx;
	int v = 0, r;

	if ((r = yesno(ctx, l, RK_TICKET, &v, err, errlen)) != 0)
		return r;
	cur_rule(ctx)->require_ticket = v;
	return 0;
}

/* Moderated GROUP: the session waits for, and runs only under, a watcher of GROUP. */
static int
h_moderated(void *vctx, const struct pv_conf_line *l, char *err, size_t errlen)
{
	struct parse_ctx *ctx = vctx;
	struct policy_rule *rule;
	char e[80];

	if ((rule = rule_get(ctx, l, RK_MODERATED, err, errlen)) == NULL)
		return PV_ERR_CONFIG;
	if (!name_valid(l->args[0]))
		return perr(err, errlen, "bad group name \"%s\"",
		    esc(e, sizeof(e), l->args[0]));
	return intern_str(ctx->p, l->args[0], &rule->moderated);
}

static int
h_freshmfa(void *vctx, const struct pv_conf_line *l, char *err, size_t errlen)
{
	struct parse_ctx *ctx = vctx;
	int v = 0, r;

	if ((r = yesno(ctx, l, RK_FRESHMFA, &v, err, errlen)) != 0)
		return r;
	cur_rule(ctx)->fresh_mfa = v;
	return 0;
}

static int
h_recordfiles(
    void *vctx, const struct pv_conf_line *l, char *err, size_t errlen)
{
	struct parse_ctx *ctx = vctx;
	int v = 0, r;

	if ((r = yesno(ctx, l, RK_RECORDFILES, &v, err, errlen)) != 0)
		return r;
	cur_rule(ctx)->record_file_contents = v;
	return 0;
}

static int
h_maxduration(
    void *vctx, const struct pv_conf_line *l, char *err, size_t errlen)
{
	struct parse_ctx *ctx = vctx;
	struct policy_rule *rule;
	uint64_t secs;
	char e[80];

	if ((rule = rule_get(ctx, l, RK_MAXDURATION, err, errlen)) == NULL)
		return PV_ERR_CONFIG;
	if (pv_duration_parse(l->args[0], &secs) != 0 || secs == 0)
		return perr(err, errlen,
		    "bad MaxDuration \"%s\" (a duration above 0 such as 30m, "
		    "8h, 1h30m)",
		    esc(e, sizeof(e), l->args[0]));
	rule->max_duration = secs;
	return 0;
}

static int
h_channels(void *vctx, const struct pv_conf_line *l, char *err, size_t errlen)
{
	struct parse_ctx *ctx = vctx;
	struct policy_rule *rule;
	unsigned int ch;
	char e[80];
	int i;

	if ((rule = rule_get(ctx, l, RK_CHANNELS, err, errlen)) == NULL)
		return PV_ERR_CONFIG;
	rule->channels = 0;
	for (i = 0; i < l->nargs; i++) {
		if ((ch = policy_channel_parse(l->args[i])) == 0)
			return perr(err, errlen,
			    "unknown channel \"%s\" (shell exec sftp scp "
			    "forward remote-forward)",
			    esc(e, sizeof(e), l->args[i]));
		rule->channels |= ch;
	}
	return 0;
}

static int
h_clearance(void *vctx, const struct pv_conf_line *l, char *err, size_t errlen)
{
	struct parse_ctx *ctx = vctx;
	struct policy_rule *rule;
	int rank;

	if ((rule = rule_get(ctx, l, RK_CLEARANCE, err, errlen)) == NULL)
		return PV_ERR_CONFIG;
	if (l->nargs == 0) {
		rule->clearance_target = 1;
		return 0;
	}
	if ((rank = policy_level_rank(ctx->p, l->args[0])) < 0)
		return unknown_level(
		    ctx->p, "Clearance", l->args[0], err, errlen);
	rule->clearance = rank;
	return 0;
}

static int
h_tz(void *vctx, const struct pv_conf_line *l, char *err, size_t errlen)
{
	struct parse_ctx *ctx = vctx;
	struct policy_rule *rule;
	int r;

	if ((rule = rule_get(ctx, l, RK_TZ, err, errlen)) == NULL)
		return PV_ERR_CONFIG;
	if ((r = policy_tz_name_valid(l->args[0], err, errlen)) != 0)
		return r;
	return intern_str(ctx->p, l->args[0], &rule->tz_name);
}

static int
h_transfer(void *vctx, const struct pv_conf_line *l, char *err, size_t errlen)
{
	struct parse_ctx *ctx = vctx;
	struct policy_rule *rule;
	char e[80];

	if ((rule = rule_get(ctx, l, RK_TRANSFER, err, errlen)) == NULL)
		return PV_ERR_CONFIG;
	if (strcasecmp(l->args[0], "upload") == 0)
		rule->transfer = POLICY_TRANSFER_UPLOAD;
	else if (strcasecmp(l->args[0], "download") == 0)
		rule->transfer = POLICY_TRANSFER_DOWNLOAD;
	else if (strcasecmp(l->args[0], "both") == 0)
		rule->transfer = POLICY_TRANSFER_BOTH;
	else
		return perr(err, errlen,
		    "Transfer takes upload, download or both, not \"%s\"",
		    esc(e, sizeof(e), l->args[0]));
	return 0;
}

/* "host:port", "[v6]:port", port a number 1-65535 or "*". */
static int
parse_forward(struct policy *p, const char *s, struct policy_forward *f)
{
	const char *colon, *host = s;
	size_t hostlen;
	uint32_t port;
	char *h = NULL;
	int r;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL || close[1] != ':')
			return PV_ERR_INVALID;
		host = s + 1;
		hostlen = (size_t)(close - host);
		colon = close + 1;
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			return PV_ERR_INVALID;
		hostlen = (size_t)(colon - s);
		if (memchr(s, ':', hostlen) != NULL)
			return PV_ERR_INVALID; /* IPv6 needs brackets */
	}
	if (hostlen == 0 || hostlen > SELECTOR_NAME_MAX)
		return PV_ERR_INVALID;
	if (strcmp(colon + 1, "*") == 0)
		port = 0;
	else if (pv_parse_u32(colon + 1, 1, 65535, &port) != 0)
		return PV_ERR_INVALID;
	if ((r = policy_intern(p, host, hostlen, &h)) != 0)
		return r;
	f->host = h;
	f->port = port;
	return 0;
}

/* ForwardTo and RemoteForwardListen: lists of HOST:PORT, appended. */
static int
forward_list(struct parse_ctx *ctx, const struct pv_conf_line *l,
    const char *kw, struct policy_forward **list, size_t *n, char *err,
    size_t errlen)
{
	struct policy_forward *nf;
	char e[80];
	int i, r;

	if (*n + (size_t)l->nargs > 1024)
		return perr(err, errlen, "more than 1024 %s entries", kw);
	if ((nf = reallocarray(*list, *n + (size_t)l->nargs, sizeof(*nf))) ==
	    NULL)
		return PV_ERR_ALLOC;
	*list = nf;
	for (i = 0; i < l->nargs; i++) {
		r = parse_forward(ctx->p, l->args[i], &nf[*n]);
		if (r == PV_ERR_ALLOC)
			return r;
		if (r != 0)
			return perr(err, errlen,
			    "bad %s \"%s\" (HOST:PORT, [IPV6]:PORT; "
			    "HOST may be a glob, PORT may be *)",
			    kw, esc(e, sizeof(e), l->args[i]));
		(*n)++;
	}
	return 0;
}

static int
h_forwardto(void *vctx, const struct pv_conf_line *l, char *err, size_t errlen)
{
	struct parse_ctx *ctx = vctx;
	struct policy_rule *rule;

	if ((rule = rule_get(ctx, l, 0, err, errlen)) == NULL)
		return PV_ERR_CONFIG;
	rule->seen |= RK_FORWARDTO;
	return forward_list(ctx, l, "ForwardTo", &rule->forward_to,
	    &rule->nforward_to, err, errlen);
}

static int
h_remotelisten(
    void *vctx, const struct pv_conf_line *l, char *err, size_t errlen)
{
	struct parse_ctx *ctx = vctx;
	struct policy_rule *rule;

	if ((rule = rule_get(ctx, l, 0, err, errlen)) == NULL)
		return PV_ERR_CONFIG;
	rule->seen |= RK_REMOTELISTEN;
	return forward_list(ctx, l, "RemoteForwardListen", &rule->remote_listen,
	    &rule->nremote_listen, err, errlen);
}

static void
pat_classify(struct policy_pat *pat)
{
	size_t len = strlen(pat->s);

	pat->len = len;
	pat->kind = POLICY_PAT_EXACT;
	if (strpbrk(pat->s, "*?[\\") == NULL)
		return;
	if (len > 0 && pat->s[len - 1] == '*' &&
	    strpbrk(pat->s, "?[\\") == NULL &&
	    memchr(pat->s, '*', len - 1) == NULL) {
		pat->kind = POLICY_PAT_PREFIX;
		pat->len = len - 1;
		return;
	}
	pat->kind = POLICY_PAT_GLOB;
}

static int
selector(struct parse_ctx *ctx, const struct pv_conf_line *l, unsigned int bit,
    struct policy_names *sel, char *err, size_t errlen)
{
	struct policy_pat *v;
	size_t len;
	char e[80];
	int i, r;

	/* sel is NULL outside a Rule, where rule_get reports the error. */
	if (rule_get(ctx, l, bit, err, errlen) == NULL || sel == NULL)
		return PV_ERR_CONFIG;
	sel->any = 0;
	if ((v = calloc((size_t)l->nargs, sizeof(*v))) == NULL)
		return PV_ERR_ALLOC;
	sel->v = v;
	for (i = 0; i < l->nargs; i++) {
		len = strlen(l->args[i]);
		if (len == 0 || len > SELECTOR_NAME_MAX)
			return perr(err, errlen, "bad %s name \"%s\"",
			    l->keyword, esc(e, sizeof(e), l->args[i]));
		if (strcmp(l->args[i], "*") == 0)
			sel->any = 1;
		if ((r = intern_str(ctx->p, l->args[i], &v[i].s)) != 0)
			return r;
		pat_classify(&v[i]);
		sel->n++;
	}
	return 0;
}

#define SELECTOR_HANDLER(fn, bit, field)                                      \
	static int fn(                                                        \
	    void *vctx, const struct pv_conf_line *l, char *err, size_t en)   \
	{                                                                     \
		struct parse_ctx *ctx = vctx;                                 \
		if (ctx->cur < 0)                                             \
			return selector(ctx, l, bit, NULL, err, en);          \
		return selector(ctx, l, bit, &cur_rule(ctx)->field, err, en); \
	}
SELECTOR_HANDLER(h_provider, RK_PROVIDER, provider)
SELECTOR_HANDLER(h_engineer, RK_ENGINEER, engineer)
SELECTOR_HANDLER(h_target, RK_TARGET, target)
SELECTOR_HANDLER(h_account, RK_ACCOUNT, account)
#undef SELECTOR_HANDLER

static int
h_hours(void *vctx, const struct pv_conf_line *l, char *err, size_t errlen)
{
	struct parse_ctx *ctx = vctx;
	struct policy_rule *rule;

	if ((rule = rule_get(ctx, l, 0, err, errlen)) == NULL)
		return PV_ERR_CONFIG;
	rule->seen |= RK_HOURS;
	return policy_hours_parse(ctx->p, rule, l, err, errlen);
}

static const struct pv_conf_keyword policy_keywords[] = {
	{ "Levels", 1, POLICY_MAX_LEVELS, h_levels },
	{ "Rule", 1, 1, h_rule },
	{ "Classification", 1, -1, h_classification },
	{ "Approval", 1, 4, h_approval },
	{ "RequireTicket", 1, 1, h_ticket },
	{ "MaxDuration", 1, 1, h_maxduration },
	{ "Channels", 1, -1, h_channels },
	{ "Clearance", 0, 1, h_clearance },
	{ "Hours", 1, -1, h_hours },
	{ "TZ", 1, 1, h_tz },
	{ "FreshMFA", 1, 1, h_freshmfa },
	{ "Moderated", 1, 1, h_moderated },
	{ "RecordFileContents", 1, 1, h_recordfiles },
	{ "Transfer", 1, 1, h_transfer },
	{ "ForwardTo", 1, -1, h_forwardto },
	{ "RemoteForwardListen", 1, -1, h_remotelisten },
	{ "Provider", 1, -1, h_provider },
	{ "Engineer", 1, -1, h_engineer },
	{ "Target", 1, -1, h_target },
	{ "Account", 1, -1, h_account },
	{ NULL, 0, 0, NULL },
};

static int rule_err(const struct policy *p, const struct policy_rule *rule,
    char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* "FILE:LINE: rule "x" what" at the line of the Rule keyword. */
static int
rule_err(const struct policy *p, const struct policy_rule *rule, char *err,
    size_t errlen, const char *fmt, ...)
{
	char what[PV_CONF_ERR_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (n < 0)
		what[0] = '\0';
	if (err != NULL && errlen > 0 &&
	    snprintf(err, errlen, "%s:%u: rule \"%s\" %s", p->name,
		rule->lineno, rule->name, what) < 0)
		err[0] = '\0';
	return PV_ERR_CONFIG;
}

/* Checks made once a rule is complete, and time zones resolved. */
static int
rule_finish(
    struct policy *p, struct policy_rule *rule, char *err, size_t errlen)
{
	char what[PV_CONF_ERR_MAX];
	int r;

	if ((rule->seen & RK_CLASSIFICATION) == 0)
		return rule_err(p, rule, err, errlen, "has no Classification");
	if ((rule->seen & RK_APPROVAL) == 0)
		return rule_err(p, rule, err, errlen,
		    "has no Approval (none, auto or N group GROUP)");
	if ((rule->channels & POLICY_CH_FORWARD) != 0 && rule->nforward_to == 0)
		return rule_err(p, rule, err, errlen,
		    "allows forward but has no ForwardTo (ForwardTo *:* "
		    "allows any destination)");
	if ((rule->channels & POLICY_CH_FORWARD) == 0 && rule->nforward_to > 0)
		return rule_err(p, rule, err, errlen,
		    "has ForwardTo but no forward channel");
	if ((rule->channels & POLICY_CH_REMOTE_FORWARD) != 0 &&
	    rule->nremote_listen == 0)
		return rule_err(p, rule, err, errlen,
		    "allows remote-forward but has no RemoteForwardListen "
		    "(ADDRESS:PORT on the target)");
	if ((rule->channels & POLICY_CH_REMOTE_FORWARD) == 0 &&
	    rule->nremote_listen > 0)
		return rule_err(p, rule, err, errlen,
		    "has RemoteForwardListen but no remote-forward channel");
	if ((rule->seen & RK_TRANSFER) != 0 &&
	    (rule->channels & (POLICY_CH_SFTP | POLICY_CH_SCP)) == 0)
		return rule_err(p, rule, err, errlen,
		    "has Transfer but neither sftp nor scp in Channels");
	if ((rule->seen & RK_TZ) != 0 && rule->hours == NULL)
		return rule_err(p, rule, err, errlen, "has TZ but no Hours");
	if (rule->hours != NULL) {
		size_t i;

		rule->hours_always = 1;
		for (i = 0; i < POLICY_WEEK_MINUTES / 8; i++)
			if (rule->hours[i] != 0xff)
				rule->hours_always = 0;
		what[0] = '\0';
		if ((r = policy_zone_get(p, rule->tz_name, &rule->zone, what,
			 sizeof(what))) != 0) {
			if (r == PV_ERR_ALLOC)
				return r;
			return rule_err(p, rule, err, errlen, "%s", what);
		}
	}
	return 0;
}

static int
policy_finish(struct policy *p, char *err, size_t errlen)
{
	size_t i;
	int r;

	if (!p->have_levels) {
		if (err != NULL && errlen > 0 &&
		    snprintf(err, errlen,
			"%s: empty policy: no Levels line (it comes first, "
			"e.g. \"Levels public internal confidential\")",
			p->name) < 0)
			err[0] = '\0';
		return PV_ERR_CONFIG;
	}
	for (i = 0; i < p->nrules; i++)
		if ((r = rule_finish(p, &p->rules[i], err, errlen)) != 0)
			return r;
	return policy_index_build(p);
}

static int
policy_new(const char *name, struct policy **out)
{
	struct policy *p;
	int r;

	*out = NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return PV_ERR_ALLOC;
	if ((r = intern_str(p, name, &p->name)) != 0) {
		policy_free(p);
		return r;
	}
	*out = p;
	return 0;
}

static int
alloc_err(int r, const char *name, char *err, size_t errlen)
{
	if (r == PV_ERR_ALLOC && err != NULL && errlen > 0 &&
	    snprintf(err, errlen, "%s: out of memory", name) < 0)
		err[0] = '\0';
	return r;
}

int
policy_load_mem(const char *name, const char *data, size_t len,
    struct policy **out, char *err, size_t errlen)
{
	struct parse_ctx ctx = { .cur = -1 };
	struct policy *p = NULL;
	int r = PV_ERR_INTERNAL;

	if (out != NULL)
		*out = NULL;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (out == NULL || (data == NULL && len > 0))
		return PV_ERR_INVALID;
	if (name == NULL)
		name = "(policy)";
	if ((r = policy_new(name, &p)) != 0) {
		(void)alloc_err(r, name, err, errlen);
		goto out;
	}
	ctx.p = p;
	if ((r = pv_conf_parse_mem(name, data == NULL ? "" : data, len,
		 policy_keywords, &ctx, err, errlen)) != 0)
		goto out;
	if ((r = policy_finish(p, err, errlen)) != 0) {
		(void)alloc_err(r, name, err, errlen);
		goto out;
	}
	*out = p;
	p = NULL;
	r = 0;
out:
	policy_free(p);
	return r;
}

int
policy_load_file(
    const char *path, struct policy **out, char *err, size_t errlen)
{
	uint8_t *data = NULL;
	size_t len = 0;
	int r;

	if (out != NULL)
		*out = NULL;
	if (path == NULL || out == NULL)
		return PV_ERR_INVALID;
	if ((r = pv_file_read(path, PV_CONF_MAX_FILE, &data, &len)) != 0) {
		if (err != NULL && errlen > 0 &&
		    snprintf(err, errlen, "%s: cannot read: %s", path,
			r == PV_ERR_LIMIT         ? "file too large"
			    : r == PV_ERR_INVALID ? "not a regular file"
						  : pv_err_str(r)) < 0)
			err[0] = '\0';
		return r;
	}
	r = policy_load_mem(path, (const char *)data, len, out, err, errlen);
	free(data);
	return r;
}

void
policy_free(struct policy *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nrules; i++) {
		struct policy_rule *rule = &p->rules[i];

		free(rule->provider.v);
		free(rule->engineer.v);
		free(rule->target.v);
		free(rule->account.v);
		free(rule->forward_to);
		free(rule->remote_listen);
		free(rule->hours);
	}
	free(p->rules);
	free(p->keys);
	for (i = 0; i < p->nzones; i++)
		policy_zone_free(p->zones[i]);
	free(p->zones);
	for (i = 0; i < p->nstrs; i++)
		free(p->strs[i]);
	free(p->strs);
	free(p);
}

int
policy_level_rank(const struct policy *p, const char *level)
{
	size_t i;

	if (p == NULL || level == NULL)
		return -1;
	for (i = 0; i < p->nlevels; i++)
		if (strcmp(p->levels[i], level) == 0)
			return (int)i;
	return -1;
}

size_t
policy_level_count(const struct policy *p)
{
	return p == NULL ? 0 : p->nlevels;
}

const char *
policy_level_name(const struct policy *p, size_t rank)
{
	if (p == NULL || rank >= p->nlevels)
		return NULL;
	return p->levels[rank];
}

size_t
policy_rule_count(const struct policy *p)
{
	return p == NULL ? 0 : p->nrules;
}
