/*
 * main.c: provostctl's entry point: global options, the command table,
 * and the helpers every command uses (store, policy, options, output).
 */
#include "config.h"

#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctl/ctl.h"
#include "plugins/plugins.h"

#define DEFAULT_CONFIG "/etc/provost/provostd.conf"

static const struct ctl_cmd commands[] = {
	{ NULL, "init", ctl_cmd_init, "init" },
	{ "provider", "add", ctl_cmd_provider_add,
	    "provider add NAME [--contract-start TIME] [--contract-end TIME]" },
	{ "provider", "list", ctl_cmd_provider_list, "provider list [--json]" },
	{ "provider", "show", ctl_cmd_provider_show,
	    "provider show NAME [--json]" },
	{ "provider", "exit", ctl_cmd_provider_exit,
	    "provider exit NAME [--dry-run] [--resume] [--reverify] "
	    "[--contract-end TIME] [--erasure-certificate FILE] [--json]" },
	{ "engineer", "add", ctl_cmd_engineer_add,
	    "engineer add LOGIN --provider P [--clearance LEVEL]" },
	{ "engineer", "list", ctl_cmd_engineer_list,
	    "engineer list [--provider P] [--json]" },
	{ "engineer", "show", ctl_cmd_engineer_show,
	    "engineer show LOGIN [--json]" },
	{ "engineer", "key add", ctl_cmd_engineer_key_add,
	    "engineer key add LOGIN FILE.pub" },
	{ "engineer", "totp", ctl_cmd_engineer_totp,
	    "engineer totp LOGIN [--qr] [--json]" },
	{ "engineer", "disable", ctl_cmd_engineer_disable,
	    "engineer disable LOGIN [--reason R]" },
	{ "engineer", "unlock", ctl_cmd_engineer_unlock,
	    "engineer unlock LOGIN [--reason R]" },
	{ "approver", "add", ctl_cmd_approver_add,
	    "approver add NAME --group G [--engineer LOGIN | --not-engineer]" },
	{ "approver", "list", ctl_cmd_approver_list, "approver list [--json]" },
	{ "approver", "key add", ctl_cmd_approver_key_add,
	    "approver key add NAME FILE.pub" },
	{ "approver", "key list", ctl_cmd_approver_key_list,
	    "approver key list NAME [--json]" },
	{ "approver", "key remove", ctl_cmd_approver_key_remove,
	    "approver key remove NAME SHA256:FINGERPRINT" },
	{ "approver", "totp", ctl_cmd_approver_totp,
	    "approver totp NAME [--qr] [--json]" },
	{ "approver", "unlock", ctl_cmd_approver_unlock,
	    "approver unlock NAME [--reason R]" },
	{ "target", "add", ctl_cmd_target_add,
	    "target add NAME --host H [--port P] --classification LEVEL "
	    "--accounts a,b --hostkey FILE [--auth cert|pam-token] "
	    "[--region R]" },
	{ "target", "set", ctl_cmd_target_set,
	    "target set NAME --region R|--no-region" },
	{ "target", "admin", ctl_cmd_target_admin,
	    "target admin NAME --account ACCOUNT [--root DIR] [--krl PATH] "
	    "[--json]" },
	{ "target", "baseline", ctl_cmd_target_baseline,
	    "target baseline NAME [--json]" },
	{ "target", "import", ctl_cmd_target_import,
	    "target import FILE.json" },
	{ "target", "list", ctl_cmd_target_list, "target list [--json]" },
	{ "target", "show", ctl_cmd_target_show, "target show NAME [--json]" },
	{ "grant", "request", ctl_cmd_grant_request,
	    "grant request ENGINEER TARGET --account A --duration 2h "
	    "[--ticket T] [--reason R] [--json]" },
	{ "grant", "approve", ctl_cmd_grant_approve,
	    "grant approve ID --as APPROVER [--json]" },
	{ "grant", "deny", ctl_cmd_grant_deny,
	    "grant deny ID --as APPROVER [--reason R]" },
	{ "grant", "revoke", ctl_cmd_grant_revoke,
	    "grant revoke ID [--reason R]" },
	{ "grant", "list", ctl_cmd_grant_list,
	    "grant list [--pending] [--engineer LOGIN] [--json]" },
	{ "grant", "show", ctl_cmd_grant_show, "grant show ID [--json]" },
	{ "grant", "expire", ctl_cmd_grant_expire, "grant expire [--json]" },
	{ "revoke", "engineer", ctl_cmd_revoke_engineer,
	    "revoke engineer LOGIN [--reason R]" },
	{ "revoke", "provider", ctl_cmd_revoke_provider,
	    "revoke provider NAME [--reason R]" },
	{ "revoke", "grant", ctl_cmd_revoke_grant,
	    "revoke grant ID [--reason R]" },
	{ "token", "issue", ctl_cmd_token_issue,
	    "token issue ENGINEER TARGET ACCOUNT [--lifetime 2m] [--json]" },
	{ "revocations", "export", ctl_cmd_revocations_export,
	    "revocations export FILE [--json]" },
	{ "exposure", "add", ctl_cmd_exposure_add,
	    "exposure add --provider P (--target T | --system S) [--account A] "
	    "--kind K --reference R [--engineer E] [--note N] [--json]" },
	{ "exposure", "list", ctl_cmd_exposure_list,
	    "exposure list [--provider P] [--json]" },
	{ "exposure", "import", ctl_cmd_exposure_import,
	    "exposure import FILE.csv|FILE.jsonl [--json]" },
	{ "exit", "verify", ctl_cmd_exit_verify,
	    "exit verify CERT BUNDLE [--signer PUBKEY] [--json]" },
	{ "exit", "due", ctl_cmd_exit_due, "exit due" },
	{ "exit", "secrets", ctl_cmd_exit_secrets,
	    "exit secrets BUNDLE --key KEY" },
	{ "exit", "hold", ctl_cmd_exit_hold,
	    "exit hold PROVIDER --lift|--restore --reason R" },
	{ "incidents", "import", ctl_cmd_incidents_import,
	    "incidents import FILE.csv|FILE.jsonl [--json]" },
	{ "outages", "import", ctl_cmd_outages_import,
	    "outages import FILE.csv|FILE.jsonl [--json]" },
	{ "krl", "export", ctl_cmd_krl_export,
	    "krl export FILE [--provider P] [--json]" },
	{ "session", "list", ctl_cmd_session_list,
	    "session list [--live] [--json]" },
	{ "session", "show", ctl_cmd_session_show, "session show ID [--json]" },
	{ "session", "kill", ctl_cmd_session_kill,
	    "session kill ID [--reason R]" },
	{ "session", "watch", ctl_cmd_session_watch,
	    "session watch ID | --follow-engineer LOGIN [--as APPROVER]" },
	{ "session", "verify", ctl_cmd_session_verify,
	    "session verify ID [--recording FILE] [--json]" },
	{ "audit", "verify", ctl_cmd_audit_verify,
	    "audit verify [--anchors FILE] [--json]" },
	{ "audit", "anchors export", ctl_cmd_audit_anchors_export,
	    "audit anchors export [--after SEQ]" },
	{ "audit", "export", ctl_cmd_audit_export,
	    "audit export --format jsonl [--since TIME]" },
	{ "audit", "checkpoint", ctl_cmd_audit_checkpoint,
	    "audit checkpoint [--json]" },
	{ "policy", "check", ctl_cmd_policy_check, "policy check FILE" },
	{ "store", "migrate", ctl_cmd_store_migrate, "store migrate [--json]" },
	{ "store", "copy", ctl_cmd_store_copy, "store copy FROM TO [--json]" },
	{ NULL, "report", ctl_cmd_report, "report KIND [ARGS...]" },
	{ "policy", "explain", ctl_cmd_policy_explain,
	    "policy explain ENGINEER TARGET ACCOUNT [--channel C] [--at TIME] "
	    "[--json]" },
	{ NULL, NULL, NULL, NULL },
};

int
ctl_fail(int r, const char *fmt, ...)
{
	char line[PV_LOG_LINE_MAX], esc[PV_LOG_LINE_MAX];
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(line, sizeof(line), fmt, ap) < 0)
		line[0] = '\0';
	va_end(ap);
	(void)pv_log_escape(esc, sizeof(esc), line);
	fprintf(stderr, "provostctl: %s\n", esc);
	return ctl_exit_code(r);
}

int
ctl_exit_code(int r)
{
	switch (r) {
	case 0:
		return CTL_EXIT_OK;
	case PV_ERR_NOT_FOUND:
		return CTL_EXIT_NOTFOUND;
	case PV_ERR_EXISTS:
		return CTL_EXIT_EXISTS;
	case PV_ERR_DENIED:
	case PV_ERR_PERM:
		return CTL_EXIT_DENIED;
	case PV_ERR_CONFIG:
		return CTL_EXIT_CONFIG;
	case PV_ERR_AUTH:
		return CTL_EXIT_TAMPERED;
	case PV_ERR_INVALID:
	case PV_ERR_RANGE:
	case PV_ERR_UNSUPPORTED:
		return CTL_EXIT_USAGE;
	default:
		return CTL_EXIT_FAIL;
	}
}

const struct ctl_cmd *
ctl_cmd_find(const char *group, const char *name)
{
	const struct ctl_cmd *k;

	for (k = commands; k->name != NULL; k++)
		if (((group == NULL && k->group == NULL) ||
			(group != NULL && k->group != NULL &&
			    strcmp(group, k->group) == 0)) &&
		    strcmp(name, k->name) == 0)
			return k;
	return NULL;
}

static void
usage_all(FILE *f, const char *group)
{
	const struct ctl_cmd *k;

	fprintf(f, "usage: provostctl [-f CONFIG] [--json] COMMAND ...\n");
	for (k = commands; k->name != NULL; k++)
		if (group == NULL ||
		    (k->group != NULL && strcmp(k->group, group) == 0))
			fprintf(f, "       provostctl %s\n", k->usage);
}

int
ctl_usage(const struct ctl_cmd *cmd, const char *why)
{
	if (why != NULL)
		fprintf(stderr, "provostctl: %s\n", why);
	fprintf(stderr, "usage: provostctl %s\n", cmd->usage);
	return CTL_EXIT_USAGE;
}

int
ctl_parse(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv,
    const struct ctl_opt *opts, int *first)
{
	struct option lo[24];
	int n = 0, i, ch, help = 0, idx;

	for (i = 0; opts != NULL && opts[i].name != NULL && n < 20; i++)
		lo[n++] = (struct option){ opts[i].name,
			opts[i].has_arg ? required_argument : no_argument, NULL,
			1000 + i };
	lo[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	lo[n++] = (struct option){ "json", no_argument, NULL, 'j' };
	lo[n] = (struct option){ NULL, 0, NULL, 0 };
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", lo, &idx)) != -1) {
		if (ch == 'h')
			help = 1;
		else if (ch == 'j')
			c->json = 1;
		else if (ch >= 1000 && opts != NULL) {
			const struct ctl_opt *o = &opts[ch - 1000];

			if (o->value != NULL)
				*o->value = optarg;
			if (o->flag != NULL)
				*o->flag = 1;
		} else if (ch == ':')
			return ctl_usage(cmd, "an option needs a value");
		else
			return ctl_usage(cmd, "unknown option");
	}
	if (help) {
		printf("usage: provostctl %s\n", cmd->usage);
		return -1;
	}
	*first = optind;
	return 0;
}

int
ctl_state_path(const struct ctl *c, const char *name, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s", c->cfg->state_dir, name);

	return n < 0 || (size_t)n >= len ? PV_ERR_LIMIT : 0;
}

int
ctl_open_store(struct ctl *c)
{
	char path[4096];
	const char *db;
	EVP_PKEY *key = NULL;
	int r;

	/* once: a plugin's audit row may come during a command's own use */
	if (c->st != NULL)
		return 0;
	if (pv_config_store_path(c->cfg, &db) != 0)
		return ctl_fail(PV_ERR_UNSUPPORTED,
		    "Store %s: only sqlite: stores are supported",
		    c->cfg->store);
	if ((r = ctl_state_path(c, "audit_ed25519", path, sizeof(path))) != 0)
		return ctl_fail(r, "state directory path too long");
	if ((r = pv_sshkey_load_private(path, &key)) != 0)
		return ctl_fail(PV_ERR_CONFIG,
		    "%s: %s (run provostctl init first)", path, pv_err_str(r));
	if (!c->create && store_where_is_file(db) && access(db, F_OK) != 0) {
		EVP_PKEY_free(key);
		return ctl_fail(PV_ERR_CONFIG,
		    "%s: no store (run provostctl init first)", db);
	}
	if ((r = store_open(db, &c->st)) != 0) {
		EVP_PKEY_free(key);
		/* PostgreSQL's one line (why it cannot connect) is out */
		if (!store_where_is_file(db))
			return ctl_exit_code(r);
		return ctl_fail(r, "%s: cannot open the store", db);
	}
	r = store_set_audit_key(c->st, key);
	EVP_PKEY_free(key);
	if (r != 0)
		return ctl_fail(r, "audit key: %s", store_errmsg(c->st));
	return 0;
}

int
ctl_load_policy(struct ctl *c, int needed)
{
	char err[PV_CONF_ERR_MAX];
	int r;

	if (c->pol != NULL)
		return 0;
	if (access(c->cfg->policy_file, F_OK) != 0 && errno == ENOENT) {
		c->policy_missing = 1;
		if (needed)
			return ctl_fail(PV_ERR_CONFIG, "%s: no policy file",
			    c->cfg->policy_file);
		return 0;
	}
	r = policy_load_file(c->cfg->policy_file, &c->pol, err, sizeof(err));
	if (r != 0)
		return ctl_fail(PV_ERR_CONFIG, "%s", err);
	return 0;
}

/* A plugin's audit row, appended with provostctl's store and key. */
static int
ctl_plugin_audit(void *ctx, const char *plugin, const char *action,
    const char *object, const char *details_json)
{
	struct ctl *c = ctx;
	char actor[80];
	json_t *d = NULL;
	int r;

	if (ctl_open_store(c) != 0)
		return PV_ERR_STORE;
	if (details_json != NULL &&
	    (d = json_loads(details_json, 0, NULL)) == NULL)
		return PV_ERR_INVALID;
	(void)snprintf(actor, sizeof(actor), "plugin:%.64s", plugin);
	r = store_audit_append(
	    c->st, actor, action, object != NULL ? object : "", d);
	json_decref(d);
	return r;
}

/* A plugin asks for a provider's exit: exit due's to act on, else logged. */
static void
ctl_plugin_exit(
    void *ctx, const char *plugin, const char *provider, const char *reason)
{
	struct ctl *c = ctx;

	if (c->exit_asks == NULL ||
	    json_array_append_new(c->exit_asks,
		json_pack("{s:s, s:s, s:s}", "plugin", plugin, "provider",
		    provider, "reason", reason)) != 0)
		pv_warn("plugin %.64s asks for the exit of provider %.64s: "
			"%.200s (provostctl exit due starts it)",
		    plugin, provider, reason);
}

int
ctl_plugins(struct ctl *c)
{
	const char *db = NULL;
	struct plugin_host_opts o = {
		.timeout_ms = PLUGIN_CHECK_TIMEOUT_MS,
		.audit = ctl_plugin_audit,
		.audit_ctx = c,
		.exit = ctl_plugin_exit,
		.exit_ctx = c,
	};
	char err[512];

	if (pv_config_store_path(c->cfg, &db) == 0) {
		o.query = plugin_host_store_query;
		o.query_ctx = db;
	}
	if (c->plugins_started)
		return c->plugins_failed ? PV_ERR_CONFIG : 0;
	c->plugins_started = 1;
	if (plugin_host_start_config(
		c->cfg, &o, &c->plugins, err, sizeof(err)) != 0) {
		c->plugins_failed = 1;
		(void)ctl_fail(PV_ERR_CONFIG, "Plugin: %s", err);
		return PV_ERR_CONFIG;
	}
	return 0;
}

int
ctl_decide(struct ctl *c, struct store_decide_req *q, struct store_decision *sd)
{
	if (ctl_plugins(c) != 0) {
		memset(sd, 0, sizeof(*sd));
		return PV_ERR_CONFIG;
	}
	if (c->plugins != NULL) {
		q->veto = plugin_host_veto;
		q->veto_ctx = c->plugins;
	}
	return store_decide(c->st, c->pol, q, sd);
}

int
ctl_print_json(json_t *v)
{
	char *s;

	if (v == NULL)
		return ctl_fail(PV_ERR_ALLOC, "out of memory");
	s = json_dumps(v, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(v);
	if (s == NULL)
		return ctl_fail(PV_ERR_ALLOC, "out of memory");
	printf("%s\n", s);
	free(s);
	return CTL_EXIT_OK;
}

const char *
ctl_time(int64_t t, char *buf, size_t len)
{
	if (t == 0 || pv_time_format(t, buf, len) != 0)
		return "-";
	return buf;
}

int
ctl_parse_time(const char *s, int64_t now, int64_t *out)
{
	struct tm tm = { 0 };
	uint64_t d;
	const char *end;
	int64_t v;

	*out = 0;
	if (pv_parse_i64(s, 0, INT64_MAX / 1000, &v) == 0) {
		*out = v;
		return 0;
	}
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (end != NULL && *end == '\0') {
		*out = (int64_t)timegm(&tm);
		return 0;
	}
	end = strptime(s, "%Y-%m-%d", &tm);
	if (end != NULL && *end == '\0') {
		*out = (int64_t)timegm(&tm);
		return 0;
	}
	if (pv_duration_parse(s, &d) == 0 && (int64_t)d <= now) {
		*out = now - (int64_t)d;
		return 0;
	}
	return PV_ERR_INVALID;
}

int
ctl_read_line_file(const char *path, char **out)
{
	uint8_t *d = NULL;
	size_t len = 0;
	char *s;
	int r;

	*out = NULL;
	if ((r = pv_file_read(path, 16384, &d, &len)) != 0)
		return r;
	while (len > 0 && (d[len - 1] == '\n' || d[len - 1] == '\r'))
		len--;
	if (memchr(d, '\0', len) != NULL || memchr(d, '\n', len) != NULL) {
		free(d);
		return PV_ERR_INVALID;
	}
	if ((s = malloc(len + 1)) == NULL) {
		free(d);
		return PV_ERR_ALLOC;
	}
	memcpy(s, d, len);
	s[len] = '\0';
	free(d);
	*out = s;
	return 0;
}

static void
set_actor(struct ctl *c)
{
	const char *who = getenv("SUDO_USER");
	struct passwd pwbuf, *pw = NULL;
	char buf[4096];

	if (who == NULL || getuid() != 0 || !store_name_valid(who)) {
		if (getpwuid_r(getuid(), &pwbuf, buf, sizeof(buf), &pw) != 0)
			pw = NULL;
		who = pw != NULL && store_name_valid(pw->pw_name) ? pw->pw_name
								  : NULL;
	}
	if (who != NULL)
		(void)snprintf(c->actor, sizeof(c->actor), "admin:%s", who);
	else
		(void)snprintf(c->actor, sizeof(c->actor), "admin:uid%u",
		    (unsigned int)getuid());
}

static int
load_config(struct ctl *c)
{
	char err[PV_CONF_ERR_MAX];
	const char *path = c->config_path;
	int r;

	if ((r = pv_config_new(&c->cfg)) != 0)
		return ctl_fail(r, "out of memory");
	if (path == NULL && access(DEFAULT_CONFIG, F_OK) == 0)
		path = DEFAULT_CONFIG;
	if (path == NULL)
		r = pv_config_load_mem(
		    c->cfg, "(defaults)", "", 0, err, sizeof(err));
	else
		r = pv_config_load_file(c->cfg, path, err, sizeof(err));
	if (r != 0)
		return ctl_fail(PV_ERR_CONFIG, "%s", err);
	return 0;
}

int
main(int argc, char **argv)
{
	struct ctl c = { 0 };
	const struct ctl_cmd *cmd = NULL;
	char two[64];
	int i = 1, rc;

	pv_log_init("provostctl", PV_LOG_STDERR, PV_LOG_WARN);
	umask(077);
	while (i < argc && argv[i][0] == '-') {
		if (strcmp(argv[i], "-f") == 0 && i + 1 < argc) {
			c.config_path = argv[i + 1];
			i += 2;
		} else if (strcmp(argv[i], "--json") == 0) {
			c.json = 1;
			i++;
		} else if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0) {
			usage_all(stdout, NULL);
			return CTL_EXIT_OK;
		} else {
			usage_all(stderr, NULL);
			return CTL_EXIT_USAGE;
		}
	}
	if (i >= argc) {
		usage_all(stderr, NULL);
		return CTL_EXIT_USAGE;
	}
	if ((cmd = ctl_cmd_find(NULL, argv[i])) == NULL && i + 1 < argc) {
		if (strcmp(argv[i + 1], "--help") == 0 ||
		    strcmp(argv[i + 1], "-h") == 0) {
			usage_all(stdout, argv[i]);
			return CTL_EXIT_OK;
		}
		if (i + 2 < argc &&
		    snprintf(two, sizeof(two), "%s %s", argv[i + 1],
			argv[i + 2]) > 0 &&
		    (cmd = ctl_cmd_find(argv[i], two)) != NULL)
			i += 2;
		else if ((cmd = ctl_cmd_find(argv[i], argv[i + 1])) != NULL)
			i += 1;
	}
	if (cmd == NULL) {
		fprintf(stderr, "provostctl: unknown command \"%s%s%s\"\n",
		    argv[i], i + 1 < argc ? " " : "",
		    i + 1 < argc ? argv[i + 1] : "");
		usage_all(stderr, ctl_cmd_find(NULL, argv[i]) ? NULL : argv[i]);
		return CTL_EXIT_USAGE;
	}
	set_actor(&c);
	if ((rc = load_config(&c)) != 0)
		goto out;
	rc = cmd->run(&c, argc - i, argv + i);
	/* A revocation reaches live sessions now, not at the next poll. */
	if (rc == CTL_EXIT_OK && cmd->group != NULL &&
	    (strcmp(cmd->group, "revoke") == 0 ||
		strcmp(cmd->name, "revoke") == 0 ||
		strcmp(cmd->name, "disable") == 0))
		ctl_control_nudge(&c);
out:
	plugin_host_free(c.plugins);
	store_close(c.st);
	policy_free(c.pol);
	pv_config_free(c.cfg);
	if (fflush(stdout) != 0 && rc == 0)
		rc = ctl_fail(PV_ERR_IO, "writing the output failed");
	return rc;
}
