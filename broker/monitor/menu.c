/*
 * menu.c: what an engineer can do logged in as plain ENGINEER: list what
 * they may reach and why, request a grant, see their grants, get help.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/monitor/monitor.h"
#include "policy/policy.h"
#include "store/store.h"

#define MENU_MAX_ARGS 16

static const char menu_help[] =
    "provost menu commands:\n"
    "  list                      targets and accounts you may reach, and "
    "why\n"
    "  request TARGET --account A --for 2h [--ticket T] [--reason R]\n"
    "                            ask for a grant; prints its id\n"
    "  status                    your pending and active grants\n"
    "  help                      this text\n"
    "To open a session: ssh -p PORT ENGINEER+ACCOUNT@TARGET@bastion\n";

/*
 * Splits a command line as sh would, without expanding anything: blanks
 * separate words, 'single quotes' keep everything, "double quotes" keep
 * all but \" \\ \$ and \` (escaped), a backslash outside quotes keeps the
 * next character.  ssh joins its arguments with blanks, so
 * `--reason "disk full"` arrives as --reason disk full and
 * `--reason "'disk full'"` as --reason 'disk full': both work.  Words are
 * written back into line.  The count, or -1 (too many words, an open
 * quote, a trailing backslash).
 */
int
broker_menu_split(char *line, char **argv, int max)
{
	char *p = line, *o = line;
	int n = 0;

	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			return n;
		if (n == max)
			return -1;
		argv[n++] = o;
		while (*p != '\0' && *p != ' ' && *p != '\t') {
			if (*p == '\'') {
				for (p++; *p != '\'' && *p != '\0'; p++)
					*o++ = *p;
				if (*p++ != '\'')
					return -1;
			} else if (*p == '"') {
				for (p++; *p != '"' && *p != '\0'; p++) {
					if (*p == '\\' && p[1] != '\0' &&
					    strchr("\"\\$`", p[1]) != NULL)
						p++;
					*o++ = *p;
				}
				if (*p++ != '"')
					return -1;
			} else if (*p == '\\') {
				if (*++p == '\0')
					return -1;
				*o++ = *p++;
			} else
				*o++ = *p++;
		}
		/* o never passes p: the word ends where the blank was */
		if (*p != '\0')
			p++;
		*o++ = '\0';
	}
}

struct menu_list {
	const struct broker_menu_ctx *mc;
	const struct store_engineer *e;
	struct pv_buf *out;
	int64_t now;
	int shown;
	char notice[256]; /* the plugins' banner for this engineer, or "" */
};

/*
 * What the one decision path says now of engineer on target as account
 * (her best grant counted): PV_ALLOW when a rule or grant could open it
 * (allowed, or needs a grant), PV_DENY, or < 0 when the store fails.
 * sd is filled either way (store_decision_clear it).
 */
static int
menu_decide(const struct broker_menu_ctx *mc, const char *engineer,
    const char *target, const char *account, int64_t now, int veto,
    struct store_decision *sd)
{
	struct store_decide_req q = {
		.engineer = engineer,
		.target = target,
		.account = account,
		.channel = 0,
		.now = now,
		.what = "list",
		.veto = veto ? mc->veto : NULL,
		.veto_ctx = mc->veto_ctx,
		.source = mc->source,
	};
	int r = store_decide(mc->st, mc->pol, &q, sd);

	/* a policy that cannot decide shows nothing (fail closed) */
	if (r < 0)
		return r == PV_ERR_NOT_FOUND ? PV_DENY : r;
	return sd->d.rule != NULL && sd->d.outcome != POLICY_DENY ? PV_ALLOW
								  : PV_DENY;
}

/* Before authentication: no plugin is asked for a stranger. */
int
broker_target_visible(struct store *st, const struct policy *pol,
    const char *engineer, const struct store_target *t, int64_t now)
{
	const struct broker_menu_ctx mc = { .st = st, .pol = pol };
	struct store_decision sd;
	size_t i;
	int r = PV_DENY;

	for (i = 0; i < t->naccounts && r == PV_DENY; i++) {
		r = menu_decide(
		    &mc, engineer, t->name, t->accounts[i], now, 0, &sd);
		store_decision_clear(&sd);
	}
	return r < 0 ? PV_DENY : r;
}

static int
menu_list_target(void *ctx, const struct store_target *t)
{
	struct menu_list *m = ctx;
	struct store_decision sd;
	size_t i;
	int r;

	for (i = 0; i < t->naccounts; i++) {
		r = menu_decide(m->mc, m->e->login, t->name, t->accounts[i],
		    m->now, 1, &sd);
		/* Nothing about targets no rule or grant opens. */
		if (r == PV_ALLOW) {
			(void)pv_buf_putf(m->out, "%s+%s@%s\t%s: %s\n",
			    m->e->login, t->accounts[i], t->name,
			    sd.d.outcome == POLICY_ALLOW ? "open"
				: sd.d.outcome == POLICY_NEEDS_GRANT
				? "needs a grant"
				: "pending",
			    sd.reason);
			m->shown++;
			if (sd.notice[0] != '\0' && m->notice[0] == '\0')
				(void)snprintf(m->notice, sizeof(m->notice),
				    "%s", sd.notice);
		}
		store_decision_clear(&sd);
		if (r < 0)
			return r;
	}
	return 0;
}

static int
menu_status_grant(void *ctx, const struct store_grant *g)
{
	struct menu_list *m = ctx;
	char d[32];

	if (pv_duration_format(g->duration, d, sizeof(d)) != 0)
		d[0] = '\0';
	(void)pv_buf_putf(m->out, "%s\t%s@%s\t%s", g->id, g->account, g->target,
	    store_grant_state_name(g->state));
	if (g->state == STORE_GRANT_ACTIVE)
		(void)pv_buf_putf(m->out, ", %lld min left\n",
		    (long long)((g->not_after - m->now + 59) / 60));
	else
		(void)pv_buf_putf(m->out, ", %d of %d approvals, for %s\n",
		    g->approvals, g->approvals_needed, d);
	m->shown++;
	return 0;
}

/*
 * ssh joins the words of its command with blanks, so the reason of
 * `ssh alice@bastion request ... --reason "disk full"` arrives as two words:
 * a reason runs from argv[from] to the next --option.  Sets *next to it.
 */
int
broker_menu_reason(char **argv, int from, int argc, char **out, int *next)
{
	struct pv_buf *b = NULL;
	int j, r = PV_ERR_INVALID;

	*out = NULL;
	if ((b = pv_buf_new(STORE_TEXT_MAX)) == NULL)
		return PV_ERR_ALLOC;
	for (j = from; j < argc && strncmp(argv[j], "--", 2) != 0; j++) {
		if ((r = pv_buf_putf(
			 b, "%s%s", j > from ? " " : "", argv[j])) != 0)
			goto out;
	}
	if (j == from) {
		r = PV_ERR_INVALID;
		goto out;
	}
	if ((r = pv_buf_dup_cstring(b, out)) != 0)
		goto out;
	*next = j;
	r = 0;
out:
	pv_buf_free(b);
	return r;
}

static int
menu_request(struct menu_list *m, int argc, char **argv)
{
	const char *account = NULL, *dur = NULL, *ticket = NULL;
	char *why = NULL;
	struct store_grant *g = NULL;
	struct store_decision sd = { 0 };
	uint64_t secs = 0;
	int i = 2, rc = 2, r;

	while (i + 1 < argc) {
		if (strcmp(argv[i], "--reason") == 0 && why == NULL) {
			if (broker_menu_reason(argv, i + 1, argc, &why, &i) !=
			    0)
				break;
			continue;
		}
		if (strcmp(argv[i], "--account") == 0)
			account = argv[i + 1];
		else if (strcmp(argv[i], "--for") == 0)
			dur = argv[i + 1];
		else if (strcmp(argv[i], "--ticket") == 0)
			ticket = argv[i + 1];
		else
			break;
		i += 2;
	}
	if (argc < 2 || i != argc || account == NULL || dur == NULL ||
	    pv_duration_parse(dur, &secs) != 0 || secs == 0 ||
	    !broker_name_valid(argv[1], strlen(argv[1]), BROKER_TARGET_MAX)) {
		(void)pv_buf_putf(m->out,
		    "usage: request TARGET --account A --for 2h [--ticket T] "
		    "[--reason R]\n");
		goto out;
	}
	struct store_decide_req q = {
		.engineer = m->e->login,
		.target = argv[1],
		.account = account,
		.channel = 0,
		.now = m->now,
		.no_grant = 1,
		.what = "request",
		.veto = m->mc->veto,
		.veto_ctx = m->mc->veto_ctx,
		.source = m->mc->source,
	};
	if ((r = store_decide(m->mc->st, m->mc->pol, &q, &sd)) ==
	    PV_ERR_NOT_FOUND) {
		(void)pv_buf_putf(
		    m->out, "request: access to %s denied\n", argv[1]);
		rc = 1;
		goto out;
	}
	struct store_grant_req req = {
		.engineer = m->e->login,
		.target = argv[1],
		.account = account,
		.duration = secs,
		.ticket = ticket,
		.reason = why,
	};
	char actor[64];

	(void)snprintf(actor, sizeof(actor), "engineer:%s", m->e->login);
	if (r >= 0 && store_decide_audit(m->mc->st, actor, &q, &sd) != 0)
		r = PV_ERR_STORE;
	if (r < 0 || sd.refused || sd.vetoed ||
	    store_grant_request(m->mc->st, actor, &req, &sd.d, m->now, &g) !=
		0) {
		(void)pv_buf_putf(m->out, "request refused: %s\n",
		    r >= 0 && (sd.refused || sd.vetoed)
			? sd.reason
			: store_errmsg(m->mc->st));
		rc = 1;
		goto out;
	}
	(void)pv_buf_putf(m->out, "%s\n", g->id);
	if (g->state == STORE_GRANT_ACTIVE)
		(void)pv_buf_putf(m->out, "active now%s\n",
		    g->capped ? " (duration capped by the rule)" : "");
	else
		(void)pv_buf_putf(m->out,
		    "needs approval: %d of %d from group %s\n", g->approvals,
		    g->approvals_needed, g->group ? g->group : "-");
	rc = 0;
out:
	free(why);
	store_decision_clear(&sd);
	store_grant_free(g);
	return rc;
}

int
broker_menu_run(const struct broker_menu_ctx *mc, const char *engineer,
    const char *command, int64_t now, struct pv_buf *out)
{
	struct store *st = mc->st;
	struct store_engineer *e = NULL;
	char *line = NULL, *argv[MENU_MAX_ARGS];
	int argc, rc = 2;

	if (store_engineer_get_by_login(st, engineer, &e) != 0)
		return 1;
	if ((line = strdup(command != NULL ? command : "help")) == NULL)
		goto out;
	struct menu_list m = {
		.mc = mc,
		.e = e,
		.out = out,
		.now = now,
	};
	if ((argc = broker_menu_split(line, argv, MENU_MAX_ARGS)) <= 0 ||
	    strcmp(argv[0], "help") == 0) {
		(void)pv_buf_put(out, menu_help, sizeof(menu_help) - 1);
		rc = argc < 0 ? 2 : 0;
	} else if (strcmp(argv[0], "list") == 0 && argc == 1) {
		rc = store_target_list(st, menu_list_target, &m) == 0 ? 0 : 1;
		if (rc == 0 && m.shown == 0)
			(void)pv_buf_putf(out,
			    "nothing yet: ask for a grant "
			    "with request\n");
		/* the monitor's plugins said it: a contract's notice period */
		if (rc == 0 && m.notice[0] != '\0')
			(void)pv_buf_putf(out, "provost: %s\n", m.notice);
	} else if (strcmp(argv[0], "status") == 0 && argc == 1) {
		rc = store_grant_list(st, e->login, STORE_GRANTS_CURRENT, now,
			 menu_status_grant, &m) == 0
		    ? 0
		    : 1;
		if (rc == 0 && m.shown == 0)
			(void)pv_buf_putf(out, "no pending or active grants\n");
	} else if (strcmp(argv[0], "request") == 0) {
		rc = menu_request(&m, argc, argv);
	} else {
		(void)pv_buf_putf(out, "unknown command; try help\n");
		rc = 2;
	}
out:
	free(line);
	store_engineer_free(e);
	return rc;
}
