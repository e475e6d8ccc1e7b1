/*
 * ctl.h: what provostctl's command files share: the run context (config,
 * store, policy), option parsing, errors with exit codes, and output.
 */
#ifndef PROVOST_CTL_H
#define PROVOST_CTL_H

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "common/common.h"
#include "policy/policy.h"
#include "store/store.h"

/* Exit codes, documented in provostctl(8). */
#define CTL_EXIT_OK 0
#define CTL_EXIT_FAIL 1     /* an operation failed (store, I/O, crypto) */
#define CTL_EXIT_USAGE 2    /* bad command line */
#define CTL_EXIT_NOTFOUND 3 /* no such engineer, target, grant, ... */
#define CTL_EXIT_EXISTS 4   /* it exists already (init, add) */
#define CTL_EXIT_DENIED 5   /* refused: policy, separation of duties */
#define CTL_EXIT_CONFIG 6   /* configuration, policy or state dir invalid */
#define CTL_EXIT_TAMPERED 7 /* audit verify found tampering */

struct ctl {
	const char *config_path; /* NULL: the default, if it exists */
	struct pv_config *cfg;
	struct store *st;
	struct policy *pol;
	int json;
	int policy_missing;          /* PolicyFile does not exist */
	int create;                  /* init: the store may be created */
	char actor[128];             /* "admin:USER" */
	struct plugin_host *plugins; /* started by ctl_decide when needed */
	int plugins_started;
	int plugins_failed;
	/* exit due: the exits plugins ask for ({plugin, provider, reason}) */
	json_t *exit_asks;
};

/* A command: argv[0] is its name ("add"); returns an exit code. */
struct ctl_cmd {
	const char *group; /* "engineer", NULL for top-level */
	const char *name;
	int (*run)(struct ctl *c, int argc, char **argv);
	const char *usage;
};

/* Prints "provostctl: what" to stderr and returns the exit code for r. */
int ctl_fail(int r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The exit code for a PV_ERR_* (0 for 0). */
int ctl_exit_code(int r);
/* Usage error for a command. */
int ctl_usage(const struct ctl_cmd *cmd, const char *why);
/* The command table entry of group/name (for usage). */
const struct ctl_cmd *ctl_cmd_find(const char *group, const char *name);

/* Opens the store (and audit key) as config says; store errors -> exit. */
int ctl_open_store(struct ctl *c);
/* Loads PolicyFile; missing file -> policy_missing and 0 unless needed. */
int ctl_load_policy(struct ctl *c, int needed);
/*
 * The one decision path (store_decide) with the plugins of the config's
 * Plugin lines as its veto (their host started on first use: a plugin
 * that cannot load is a config error).  Returns what store_decide does,
 * or the exit code of a failed start as a PV_ERR_CONFIG.
 */
int ctl_decide(
    struct ctl *c, struct store_decide_req *q, struct store_decision *sd);
/* Starts the plugin host once (c->plugins stays NULL without Plugin lines). */
int ctl_plugins(struct ctl *c);
/* STATE/name into buf. */
int ctl_state_path(
    const struct ctl *c, const char *name, char *buf, size_t len);

/*
 * Options: parses argv with getopt_long, handles --help and --json,
 * and leaves positional arguments at argv[*first..argc).
 */
struct ctl_opt {
	const char *name;
	int has_arg;
	const char **value; /* string option */
	int *flag;          /* flag option */
};
int ctl_parse(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv,
    const struct ctl_opt *opts, int *first);

/*
 * A command's first lines: its table entry (cmd), its options parsed
 * (first: the first positional argument; rc declared), --help handled.
 * Needs c, argc and argv in scope.
 */
#define PARSE(grp, nm, opts)                                         \
	const struct ctl_cmd *cmd = ctl_cmd_find(grp, nm);           \
	int first, rc;                                               \
	if ((rc = ctl_parse(c, cmd, argc, argv, opts, &first)) != 0) \
		return rc < 0 ? 0 : rc;
/* One line with the store's last error; the exit code for r. */
#define STORE_FAIL(r) ctl_fail((r), "%s", store_errmsg(c->st))

/* Output: a JSON value to stdout (stolen); returns an exit code. */
int ctl_print_json(json_t *v);
/* Time as RFC 3339 or "-" for 0 into buf. */
const char *ctl_time(int64_t t, char *buf, size_t len);
/* Parses TIME: RFC 3339 UTC, unix seconds, or a duration meaning "ago". */
int ctl_parse_time(const char *s, int64_t now, int64_t *out);
/* Reads a small text file (a public key line) with its newline trimmed. */
int ctl_read_line_file(const char *path, char **out);

/* The command groups. */
int ctl_cmd_init(struct ctl *c, int argc, char **argv);
int ctl_cmd_provider_add(struct ctl *c, int argc, char **argv);
int ctl_cmd_provider_list(struct ctl *c, int argc, char **argv);
int ctl_cmd_provider_show(struct ctl *c, int argc, char **argv);
int ctl_cmd_engineer_add(struct ctl *c, int argc, char **argv);
int ctl_cmd_engineer_list(struct ctl *c, int argc, char **argv);
int ctl_cmd_engineer_show(struct ctl *c, int argc, char **argv);
int ctl_cmd_engineer_key_add(struct ctl *c, int argc, char **argv);
int ctl_cmd_engineer_totp(struct ctl *c, int argc, char **argv);
int ctl_cmd_engineer_disable(struct ctl *c, int argc, char **argv);
int ctl_cmd_engineer_unlock(struct ctl *c, int argc, char **argv);
int ctl_cmd_audit_anchors_export(struct ctl *c, int argc, char **argv);
/* RevocationList rewritten if it is missing or at least age seconds old. */
int ctl_revlist_refresh_old(struct ctl *c, int64_t age);
int ctl_cmd_approver_add(struct ctl *c, int argc, char **argv);
int ctl_cmd_approver_list(struct ctl *c, int argc, char **argv);
int ctl_cmd_approver_key_add(struct ctl *c, int argc, char **argv);
int ctl_cmd_approver_key_list(struct ctl *c, int argc, char **argv);
int ctl_cmd_approver_key_remove(struct ctl *c, int argc, char **argv);
int ctl_cmd_approver_totp(struct ctl *c, int argc, char **argv);
int ctl_cmd_approver_unlock(struct ctl *c, int argc, char **argv);
int ctl_cmd_target_add(struct ctl *c, int argc, char **argv);
int ctl_cmd_target_import(struct ctl *c, int argc, char **argv);
int ctl_cmd_target_list(struct ctl *c, int argc, char **argv);
int ctl_cmd_target_show(struct ctl *c, int argc, char **argv);
int ctl_cmd_target_set(struct ctl *c, int argc, char **argv);
int ctl_cmd_incidents_import(struct ctl *c, int argc, char **argv);
int ctl_cmd_outages_import(struct ctl *c, int argc, char **argv);
int ctl_cmd_grant_request(struct ctl *c, int argc, char **argv);
int ctl_cmd_grant_approve(struct ctl *c, int argc, char **argv);
int ctl_cmd_grant_deny(struct ctl *c, int argc, char **argv);
int ctl_cmd_grant_revoke(struct ctl *c, int argc, char **argv);
int ctl_cmd_grant_list(struct ctl *c, int argc, char **argv);
int ctl_cmd_grant_show(struct ctl *c, int argc, char **argv);
int ctl_cmd_grant_expire(struct ctl *c, int argc, char **argv);
int ctl_cmd_revoke_engineer(struct ctl *c, int argc, char **argv);
int ctl_cmd_revoke_provider(struct ctl *c, int argc, char **argv);
int ctl_cmd_revoke_grant(struct ctl *c, int argc, char **argv);
int ctl_cmd_token_issue(struct ctl *c, int argc, char **argv);
int ctl_cmd_revocations_export(struct ctl *c, int argc, char **argv);
/* krl.c: the OpenSSH KRL of provider (NULL: every ended engineer) to path,
 * written atomically and audited krl.export; an exit code. */
int ctl_krl_export(struct ctl *c, const char *provider, const char *path,
    size_t *serials, size_t *keys);
int ctl_cmd_krl_export(struct ctl *c, int argc, char **argv);
/* exit.c: provider exit (--dry-run: the plan); exit_run.c: the run. */
int ctl_cmd_provider_exit(struct ctl *c, int argc, char **argv);
struct ctl_exit_opts {
	const char *provider;
	int64_t contract_end; /* 0: the provider's own */
	const char *erasure;  /* --erasure-certificate FILE, or NULL */
	int resume;
	int reverify;
};
int ctl_exit_run(struct ctl *c, const struct ctl_exit_opts *o);
int ctl_cmd_exit_due(struct ctl *c, int argc, char **argv);
/*
 * remote.c: provost's own connection to a target as its admin account
 * (target admin): script on stdin of "sh -s -- ARG", its output in *out
 * (malloc'd); the exchange recorded to rec (NULL: not) sealed to the
 * RecordingRecipient keys; audited target.connect.  0, or a PV_ERR_*
 * with one line in err.  _look runs the sweep script and parses it.
 */
int ctl_remote_run(struct ctl *c, const char *target, const char *why,
    const char *script, const char *arg, const char *rec, char **out,
    size_t *outlen, char *err, size_t errlen);
int ctl_remote_look(struct ctl *c, const char *target, const char *why,
    const char *rec, char **text, size_t *len, json_t **state, char *err,
    size_t errlen);
/*
 * Tries a certificate at target, for account, with serial and the key id
 * provost:SESSION:ENGINEER (session_id NULL: a new one), over a fresh key
 * valid for a minute from this host only, running "true": *accepted is 1
 * if sshd let it in, 0 if it refused the key (Permission denied); any
 * other end (unreachable, host key) is an error with one line in err.
 */
int ctl_remote_probe(struct ctl *c, const char *target, const char *account,
    uint64_t serial, const char *session_id, const char *engineer,
    const char *why, int *accepted, char *err, size_t errlen);
int ctl_cmd_target_admin(struct ctl *c, int argc, char **argv);
int ctl_cmd_target_baseline(struct ctl *c, int argc, char **argv);
/* exit_bundle.c: the evidence bundle and the signed certificate. */
int ctl_cmd_exit_verify(struct ctl *c, int argc, char **argv);
int ctl_cmd_exit_hold(struct ctl *c, int argc, char **argv);
int ctl_cmd_exit_secrets(struct ctl *c, int argc, char **argv);
/* exposures.c */
int ctl_cmd_exposure_add(struct ctl *c, int argc, char **argv);
int ctl_cmd_exposure_list(struct ctl *c, int argc, char **argv);
int ctl_cmd_exposure_import(struct ctl *c, int argc, char **argv);
/* An exposure as JSON (NULL: out of memory); "account@place" into buf. */
json_t *ctl_exposure_json(const struct store_exposure *x);
const char *ctl_exposure_where(
    const struct store_exposure *x, char *buf, size_t len);
/* After a revocation: rewrites RevocationList if set (exit code). */
int ctl_revlist_refresh(struct ctl *c);
int ctl_cmd_audit_verify(struct ctl *c, int argc, char **argv);
int ctl_cmd_audit_export(struct ctl *c, int argc, char **argv);
int ctl_cmd_audit_checkpoint(struct ctl *c, int argc, char **argv);
int ctl_cmd_store_migrate(struct ctl *c, int argc, char **argv);
int ctl_cmd_store_copy(struct ctl *c, int argc, char **argv);
int ctl_cmd_policy_check(struct ctl *c, int argc, char **argv);
int ctl_cmd_policy_explain(struct ctl *c, int argc, char **argv);
int ctl_cmd_report(struct ctl *c, int argc, char **argv);
/* sessions.c: live sessions through provostd's control socket. */
int ctl_cmd_session_list(struct ctl *c, int argc, char **argv);
int ctl_cmd_session_show(struct ctl *c, int argc, char **argv);
int ctl_cmd_session_kill(struct ctl *c, int argc, char **argv);
int ctl_cmd_session_verify(struct ctl *c, int argc, char **argv);
int ctl_cmd_session_watch(struct ctl *c, int argc, char **argv);
/*
 * One request to provostd's control socket, one answer.  PV_ERR_CLOSED if
 * no daemon listens; "ok": false is PV_ERR_DENIED with the answer in *ans.
 */
int ctl_control_call(struct ctl *c, json_t *req, json_t **ans);
/* Asks a running provostd to check revocations now (quiet if none). */
void ctl_control_nudge(struct ctl *c);

#endif /* PROVOST_CTL_H */
