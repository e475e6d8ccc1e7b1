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
    "  watch ID                  a live session's output, read-only\n"
    "                            (q stops watching; x ends the session\n"
    "                            when you moderate it)\n"
    "  moderate ID               the same: a moderated session runs while\n"
    "                            an approver of its group watches it\n"
    "  end ID [--reason R]       end a session you moderate\n"
    "  help                      this text\n";

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
	} else {
		(void)pv_buf_putf(out, "unknown command; try help\n");
		rc = 2;
	}
	free(line);
	return rc;
}

int
broker_menu_approver_live(const struct broker_menu_live *lv,
    const char *approver, const char *addr, pid_t apid, const char *asid,
    const char *command, struct pv_buf *out)
{
	char *line = NULL, *argv[AMENU_MAX_ARGS], *why = NULL, err[256];
	int argc, i = 2, rc = BROKER_MENU_NOT_LIVE;

	err[0] = '\0';
	if (command == NULL || (line = strdup(command)) == NULL)
		return BROKER_MENU_NOT_LIVE;
	if ((argc = broker_menu_split(line, argv, AMENU_MAX_ARGS)) <= 0)
		goto out;
	if (strcmp(argv[0], "watch") == 0 || strcmp(argv[0], "moderate") == 0) {
		if (argc != 2) {
			(void)pv_buf_putf(out, "usage: %s ID\n", argv[0]);
			rc = 2;
		} else if (lv->watch(lv->ctx, approver, addr, apid, asid,
			       argv[1], err, sizeof(err)) != 0) {
			(void)pv_buf_putf(out, "watch refused: %s\n", err);
			rc = 1;
		} else
			rc = 0;
	} else if (strcmp(argv[0], "end") == 0) {
		while (i < argc && strcmp(argv[i], "--reason") == 0 &&
		    why == NULL &&
		    broker_menu_reason(argv, i + 1, argc, &why, &i) == 0)
			;
		if (argc < 2 || i != argc) {
			(void)pv_buf_putf(out, "usage: end ID [--reason R]\n");
			rc = 2;
		} else if (lv->end(lv->ctx, approver, addr, argv[1],
			       why != NULL ? why : "no reason given", err,
			       sizeof(err)) != 0) {
			(void)pv_buf_putf(out, "end refused: %s\n", err);
			rc = 1;
		} else {
			(void)pv_buf_putf(
			    out, "session %s: told to end\n", argv[1]);
			rc = 0;
		}
	}
out:
	free(why);
	free(line);
	return rc;
}
