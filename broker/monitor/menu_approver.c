/*
 * menu_approver.c: what an approver signed in to the broker (their own
 * key and code, checked by the monitor) can do: pending, approve, deny.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/monitor/monitor.h"
#include "store/store.h"

#define AMENU_MAX_ARGS 16

static const char amenu_help[] =
    "provost approver menu commands:\n"
    "  pending                   grants waiting for your group's approval\n"
    "  approve ID [--reason R]   approve a grant as yourself\n"
    "  deny ID --reason R        deny a grant, saying why\n"
    "  help                      this text\n"
    "Watching and moderating live sessions are not in this menu yet:\n"
    "provostctl session watch ID on the broker host.\n";

struct amenu {
	const struct broker_menu_ctx *mc;
	const char *approver;
	struct pv_buf *out;
	int64_t now;
	int shown;
};

static int
amenu_pending_one(void *ctx, const struct store_grant *g)
{
	struct amenu *m = ctx;
	char d[32];

	/* only what this approver's groups are asked for */
	if (g->group == NULL ||
	    store_approver_in_group(m->mc->st, m->approver, g->group) !=
		PV_ALLOW)
		return 0;
	if (pv_duration_format(g->duration, d, sizeof(d)) != 0)
		d[0] = '\0';
	(void)pv_buf_putf(m->out,
	    "%s\t%s+%s@%s\tfor %s, %d of %d approvals from %s, rule %s, "
	    "ticket %s, reason %s\n",
	    g->id, g->engineer, g->account, g->target, d, g->approvals,
	    g->approvals_needed, g->group, g->rule, g->ticket ? g->ticket : "-",
	    g->reason ? g->reason : "-");
	m->shown++;
	return 0;
}

static int
amenu_decide(struct amenu *m, const char *addr, const char *session_id,
    int approve, int argc, char **argv)
{
	const struct store_approver_auth how = {
		.addr = addr,
		.session = session_id,
	};
	struct store_grant *g = NULL;
	char *why = NULL;
	int i = 2, r;

	while (i < argc) {
		if (strcmp(argv[i], "--reason") == 0 && why == NULL &&
		    broker_menu_reason(argv, i + 1, argc, &why, &i) == 0)
			continue;
		break;
	}
	if (argc < 2 || i != argc || (!approve && why == NULL)) {
		(void)pv_buf_putf(m->out, "usage: %s\n",
		    approve ? "approve ID [--reason R]" : "deny ID --reason R");
		free(why);
		return 2;
	}
	if (approve)
		r = store_grant_approve_auth(
		    m->mc->st, m->approver, &how, argv[1], why, m->now, &g);
	else
		r = store_grant_deny_auth(
		    m->mc->st, m->approver, &how, argv[1], why, m->now);
	free(why);
	if (r != 0) {
		(void)pv_buf_putf(m->out, "%s refused: %s\n",
		    approve ? "approval" : "denial", store_errmsg(m->mc->st));
		store_grant_free(g);
		return 1;
	}
	if (!approve)
		(void)pv_buf_putf(m->out, "grant %s denied\n", argv[1]);
	else if (g != NULL && g->state == STORE_GRANT_ACTIVE)
		(void)pv_buf_putf(
		    m->out, "grant %s approved: active now\n", g->id);
	else if (g != NULL)
		(void)pv_buf_putf(m->out,
		    "grant %s approved: %d of %d approvals\n", g->id,
		    g->approvals, g->approvals_needed);
	store_grant_free(g);
	return 0;
}

int
broker_menu_approver_run(const struct broker_menu_ctx *mc, const char *approver,
    const char *addr, const char *session_id, const char *command, int64_t now,
    struct pv_buf *out)
{
	char *line = NULL, *argv[AMENU_MAX_ARGS];
	int argc, rc = 2;
	struct amenu m = {
		.mc = mc,
		.approver = approver,
		.out = out,
		.now = now,
	};

	if ((line = strdup(command != NULL ? command : "help")) == NULL)
		return 2;
	if ((argc = broker_menu_split(line, argv, AMENU_MAX_ARGS)) <= 0 ||
	    strcmp(argv[0], "help") == 0) {
		(void)pv_buf_put(out, amenu_help, sizeof(amenu_help) - 1);
		rc = argc < 0 ? 2 : 0;
	} else if (strcmp(argv[0], "pending") == 0 && argc == 1) {
		rc = store_grant_list(mc->st, NULL, STORE_GRANTS_PENDING, now,
			 amenu_pending_one, &m) == 0
		    ? 0
		    : 1;
		if (rc == 0 && m.shown == 0)
			(void)pv_buf_putf(out, "nothing is waiting for you\n");
	} else if (strcmp(argv[0], "approve") == 0) {
		rc = amenu_decide(&m, addr, session_id, 1, argc, argv);
	} else if (strcmp(argv[0], "deny") == 0) {
		rc = amenu_decide(&m, addr, session_id, 0, argc, argv);
	} else if (strcmp(argv[0], "watch") == 0 ||
	    strcmp(argv[0], "moderate") == 0) {
		(void)pv_buf_putf(out,
		    "%s is not in the approver menu yet: provostctl session "
		    "watch ID on the broker host\n",
		    argv[0]);
		rc = 2;
	} else {
		(void)pv_buf_putf(out, "unknown command; try help\n");
		rc = 2;
	}
	free(line);
	return rc;
}
