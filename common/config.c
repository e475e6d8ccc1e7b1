/*
 * config.c: provostd.conf (DESIGN.md "Configuration") read into struct
 * pv_config with one typed handler per keyword, shared by provostd and ctl.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ctype.h>
#include <unistd.h>

#include "common/common.h"

#define DEFAULT_STATE_DIR "/var/lib/provost"

static int cfg_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
cfg_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(err, errlen, fmt, ap) < 0 && errlen > 0)
		err[0] = '\0';
	va_end(ap);
	return PV_ERR_CONFIG;
}

static int
set_str(char **dst, const struct pv_conf_line *l, char *err, size_t errlen)
{
	if (*dst != NULL)
		return cfg_err(err, errlen, "%s given twice", l->keyword);
	if ((*dst = strdup(l->args[0])) == NULL)
		return PV_ERR_ALLOC;
	return 0;
}

static int
set_path(char **dst, const struct pv_conf_line *l, char *err, size_t errlen)
{
	if (l->args[0][0] != '/')
		return cfg_err(
		    err, errlen, "%s needs an absolute path", l->keyword);
	return set_str(dst, l, err, errlen);
}

static int
set_duration(uint64_t *dst, int *seen, const struct pv_conf_line *l, char *err,
    size_t errlen)
{
	if (*seen)
		return cfg_err(err, errlen, "%s given twice", l->keyword);
	if (pv_duration_parse(l->args[0], dst) != 0)
		return cfg_err(err, errlen, "%s: not a duration (like 2m, 1h)",
		    l->keyword);
	*seen = 1;
	return 0;
}

/* Which single-value keywords were seen (for "given twice"). */
struct cfg_ctx {
	struct pv_config *c;
	int seen_lifetime, seen_grace, seen_mfa, seen_sessions, seen_tries,
	    seen_loglevel, seen_stale, seen_startups, seen_psstartups,
	    seen_penalty, seen_minfree, seen_rekey, seen_revlist, seen_krl,
	    seen_hooktime, seen_sweep, seen_exitend, seen_notify, seen_lease;
};

static int
kw_listen(void *v, const struct pv_conf_line *l, char *err, size_t errlen)
{
	struct pv_config *c = ((struct cfg_ctx *)v)->c;
	const char *a;
	size_t len;

	if (c->nlisten == PV_CONFIG_MAX_LISTEN)
		return cfg_err(err, errlen, "too many %s lines", l->keyword);
	a = l->args[0];
	len = strlen(a);
	/* A bare HOST or [V6] listens on the default port, as sshd's. */
	if (strchr(a, ':') == NULL || (a[0] == '[' && a[len - 1] == ']')) {
		if (asprintf(&c->listen[c->nlisten], "%s:2222", a) < 0) {
			c->listen[c->nlisten] = NULL;
			return PV_ERR_ALLOC;
		}
	} else if ((c->listen[c->nlisten] = strdup(a)) == NULL)
		return PV_ERR_ALLOC;
	c->nlisten++;
	return 0;
}

static int
kw_state(void *v, const struct pv_conf_line *l, char *err, size_t errlen)
{
	return set_path(&((struct cfg_ctx *)v)->c->state_dir, l, err, errlen);
}

static int
kw_store(void *v, const struct pv_conf_line *l, char *err, size_t errlen)
{
	const char *a = l->args[0];

	if (strncmp(a, "sqlite:/", 8) != 0 &&
	    strncmp(a, "postgresql://", 13) != 0 &&
	    strcmp(a, "postgresql:") != 0)
		return cfg_err(err, errlen,
		    "%s wants sqlite:/ABSOLUTE/PATH, postgresql://... or "
		    "postgresql:",
		    l->keyword);
	return set_str(&((struct cfg_ctx *)v)->c->store, l, err, errlen);
}

static int
kw_policy(void *v, const struct pv_conf_line *l, char *err, size_t errlen)
{
	return set_path(&((struct cfg_ctx *)v)->c->policy_file, l, err, errlen);
}

static int
kw_recdir(void *v, const struct pv_conf_line *l, char *err, size_t errlen)
{
	return set_path(
	    &((struct cfg_ctx *)v)->c->recording_dir, l, err, errlen);
}

static int
kw_minfree(void *v, const struct pv_conf_line *l, char *err, size_t errlen)
{
	struct cfg_ctx *x = v;

	if (x->seen_minfree)
		return cfg_err(err, errlen, "%s given twice", l->keyword);
	if (pv_size_parse(l->args[0], &x->c->recording_min_free) != 0)
		return cfg_err(err, errlen,
		    "%s: not a size (like 64M, 1G; 0 for no check)",
		    l->keyword);
	x->seen_minfree = 1;
	return 0;
}

static int
kw_recipient(void *v, const struct pv_conf_line *l, char *err, size_t errlen)
{
	struct pv_config *c = ((struct cfg_ctx *)v)->c;

	if (c->nrecipients == PV_CONFIG_MAX_RECIPIENTS)
		return cfg_err(err, errlen, "too many %s lines", l->keyword);
	if (l->args[0][0] != '/')
		return cfg_err(
		    err, errlen, "%s needs an absolute path", l->keyword);
	if ((c->recipients[c->nrecipients] = strdup(l->args[0])) == NULL)
		return PV_ERR_ALLOC;
	c->nrecipients++;
	return 0;
}

static int
kw_lifetime(void *v, const struct pv_conf_line *l, char *err, size_t errlen)
{
	struct cfg_ctx *x = v;
	int r;

	if ((r = set_duration(
		 &x->c->cert_lifetime, &x->seen_lifetime, l, err, errlen)) != 0)
		return r;
	if (x->c->cert_lifetime < 10 || x->c->cert_lifetime > 86400)
		return cfg_err(err, errlen, "%s must be 10s..1d", l->keyword);
	return 0;
}

/* RekeyLimit DATA [TIME], as sshd_config: DATA "default" or a size,
 * TIME "none" or a duration. */
static int
kw_rekey(void *v, const struct pv_conf_line *l, char *err, size_t errlen)
{
	struct cfg_ctx *x = v;
	uint64_t data = 0, t = 0;

	if (x->seen_rekey)
		return cfg_err(err, errlen, "%s given twice", l->keyword);
	if (strcmp(l->args[0], "default") != 0 &&
	    (pv_size_parse(l->args[0], &data) != 0 || data < 65536))
		return cfg_err(err, errlen,
		    "%s: DATA is default or a size of at least 64K (like "
		    "1G)",
		    l->keyword);
	if (l->nargs > 1 && strcmp(l->args[1], "none") != 0 &&
	    (pv_duration_parse(l->args[1], &t) != 0 || t == 0 ||
		t > 30 * 86400))
		return cfg_err(err, errlen,
		    "%s: TIME is none or a duration of 1s..30d (like 1h)",
		    l->keyword);
	x->c->rekey_data = data;
	x->c->rekey_time = t;
	x->seen_rekey = 1;
	return 0;
}

static int
kw_control(void *v, const struct pv_conf_line *l, char *err, size_t errlen)
{
	return set_path(
	    &((struct cfg_ctx *)v)->c->control_socket, l, err, errlen);
}

static int
kw_revlist(void *v, const struct pv_conf_line *l, char *err, size_t errlen)
{
	struct cfg_ctx *x = v;

	if (x->seen_revlist)
		return cfg_err(err, errlen, "%s given twice", l->keyword);
	x->seen_revlist = 1;
	/* "none" (the default, as provostd -T prints it): not kept */
	if (strcmp(l->args[0], "none") == 0)
		return 0;
	return set_path(&x->c->revocation_list, l, err, errlen);
}

static int
kw_user(void *v, const struct pv_conf_line *l, char *err, size_t errlen)
{
	if (!pv_name_valid(l->args[0]))
		return cfg_err(err, errlen, "%s: not a user name", l->keyword);
	return set_str(&((struct cfg_ctx *)v)->c->sandbox_user, l, err, errlen);
}

static int
kw_u32(uint32_t *dst, int *seen, uint32_t max, const struct pv_conf_line *l,
    char *err, size_t errlen)
{
	if (*seen)
		return cfg_err(err, errlen, "%s given twice", l->keyword);
	if (pv_parse_u32(l->args[0], 1, max, dst) != 0)
		return cfg_err(
		    err, errlen, "%s: not a number in range", l->keyword);
	*seen = 1;
	return 0;
}

static int
kw_sessions(void *v, const struct pv_conf_line *l, char *err, size_t errlen)
{
	struct cfg_ctx *x = v;

	return kw_u32(
	    &x->c->max_sessions, &x->seen_sessions, 100000, l, err, errlen);
}

static int
kw_tries(void *v, const struct pv_conf_line *l, char *err, size_t errlen)
{
	struct cfg_ctx *x = v;

	return kw_u32(
	    &x->c->max_auth_tries, &x->seen_tries, 100, l, err, errlen);
}

static int
kw_grace(void *v, const struct pv_conf_line *l, char *err, size_t errlen)
{
	struct cfg_ctx *x = v;
	int r;

	if ((r = set_duration(
		 &x->c->login_grace, &x->seen_grace, l, err, errlen)) != 0)
		return r;
	if (x->c->login_grace == 0 || x->c->login_grace > 3600)
		return cfg_err(err, errlen, "%s must be 1s..1h", l->keyword);
	return 0;
}

static int
kw_mfa(void *v, const struct pv_conf_line *l, char *err, size_t errlen)
{
	struct cfg_ctx *x = v;
	int r;

	if ((r = set_duration(
		 &x->c->mfa_grace, &x->seen_mfa, l, err, errlen)) != 0)
		return r;
	if (x->c->mfa_grace > 86400)
		return cfg_err(
		    err, errlen, "%s must be at most 1d", l->keyword);
	return 0;
}

static int
kw_stale(void *v, const struct pv_conf_line *l, char *err, size_t errlen)
{
	struct cfg_ctx *x = v;
	int r;

	if ((r = set_duration(
		 &x->c->store_staleness, &x->seen_stale, l, err, errlen)) != 0)
		return r;
	if (x->c->store_staleness == 0 || x->c->store_staleness > 86400)
		return cfg_err(err, errlen, "%s must be 1s..1d", l->keyword);
	return 0;
}

/* BrokerName NAME: this provostd among the brokers of one store. */
static int
kw_broker(void *v, const struct pv_conf_line *l, char *err, size_t errlen)
{
	struct pv_config *c = ((struct cfg_ctx *)v)->c;

	if (!pv_name_valid(l->args[0]))
		return cfg_err(err, errlen,
		    "%s: 1-64 of a-z, 0-9, '.', '_' and '-', not '%.64s'",
		    l->keyword, l->args[0]);
	return set_str(&c->broker_name, l, err, errlen);
}

/* BrokerLease DURATION: renewed every third of it. */
static int
kw_lease(void *v, const struct pv_conf_line *l, char *err, size_t errlen)
{
	struct cfg_ctx *x = v;
	int r;

	if ((r = set_duration(
		 &x->c->broker_lease, &x->seen_lease, l, err, errlen)) != 0)
		return r;
	if (x->c->broker_lease < 3 || x->c->broker_lease > 3600)
		return cfg_err(err, errlen, "%s must be 3s..1h", l->keyword);
	return 0;
}

/* NotifyWatchers yes|no: the engineer reads a line when a watcher joins. */
static int
kw_notify(void *v, const struct pv_conf_line *l, char *err, size_t errlen)
{
	struct cfg_ctx *x = v;

	if (x->seen_notify)
		return cfg_err(err, errlen, "%s given twice", l->keyword);
	if (pv_conf_yesno(l->args[0], &x->c->notify_watchers) != 0)
		return cfg_err(err, errlen, "%s: yes or no, not '%.32s'",
		    l->keyword, l->args[0]);
	x->seen_notify = 1;
	return 0;
}

/* MaxStartups START:RATE:FULL (as sshd), or a single FULL. */
static int
kw_startups(void *v, const struct pv_conf_line *l, char *err, size_t errlen)
{
	struct cfg_ctx *x = v;
	char buf[64], *p1, *p2;
	uint32_t a, b, c;

	if (x->seen_startups)
		return cfg_err(err, errlen, "%s given twice", l->keyword);
	if (snprintf(buf, sizeof(buf), "%s", l->args[0]) >= (int)sizeof(buf))
		return cfg_err(err, errlen, "%s: too long", l->keyword);
	p1 = strchr(buf, ':');
	if (p1 == NULL) {
		if (pv_parse_u32(buf, 1, 100000, &c) != 0)
			return cfg_err(err, errlen,
			    "%s wants START:RATE:FULL (like 10:30:100)",
			    l->keyword);
		a = c;
		b = 100;
	} else {
		*p1++ = '\0';
		if ((p2 = strchr(p1, ':')) == NULL)
			return cfg_err(err, errlen,
			    "%s wants START:RATE:FULL (like 10:30:100)",
			    l->keyword);
		*p2++ = '\0';
		if (pv_parse_u32(buf, 1, 100000, &a) != 0 ||
		    pv_parse_u32(p1, 1, 100, &b) != 0 ||
		    pv_parse_u32(p2, 1, 100000, &c) != 0 || a > c)
			return cfg_err(err, errlen,
			    "%s: START:RATE:FULL with 1 <= START <= FULL and "
			    "RATE 1..100",
			    l->keyword);
	}
	x->c->startups_begin = a;
	x->c->startups_rate = b;
	x->c->startups_full = c;
	x->seen_startups = 1;
	return 0;
}

static int
kw_psstartups(void *v, const struct pv_conf_line *l, char *err, size_t errlen)
{
	struct cfg_ctx *x = v;

	return kw_u32(&x->c->per_source_startups, &x->seen_psstartups, 100000,
	    l, err, errlen);
}

/* PerSourcePenalty FAILURES:DURATION, e.g. 10:5m. */
static int
kw_penalty(void *v, const struct pv_conf_line *l, char *err, size_t errlen)
{
	struct cfg_ctx *x = v;
	char buf[64], *p;

	if (x->seen_penalty)
		return cfg_err(err, errlen, "%s given twice", l->keyword);
	if (snprintf(buf, sizeof(buf), "%s", l->args[0]) >= (int)sizeof(buf) ||
	    (p = strchr(buf, ':')) == NULL)
		return cfg_err(err, errlen,
		    "%s wants FAILURES:DURATION (like 10:5m)", l->keyword);
	*p++ = '\0';
	if (pv_parse_u32(buf, 1, 100000, &x->c->penalty_failures) != 0 ||
	    pv_duration_parse(p, &x->c->penalty_duration) != 0 ||
	    x->c->penalty_duration == 0 || x->c->penalty_duration > 86400)
		return cfg_err(err, errlen,
		    "%s: FAILURES 1..100000, DURATION 1s..1d", l->keyword);
	x->seen_penalty = 1;
	return 0;
}

static int
kw_plugin(void *v, const struct pv_conf_line *l, char *err, size_t errlen)
{
	struct pv_config *c = ((struct cfg_ctx *)v)->c;
	struct pv_config_plugin *p;

	if (c->nplugins == PV_CONFIG_MAX_PLUGINS)
		return cfg_err(err, errlen, "too many %s lines", l->keyword);
	if (l->args[0][0] != '/' || (l->nargs > 1 && l->args[1][0] != '/'))
		return cfg_err(
		    err, errlen, "%s needs absolute paths", l->keyword);
	p = &c->plugins[c->nplugins];
	if ((p->path = strdup(l->args[0])) == NULL)
		return PV_ERR_ALLOC;
	if (l->nargs > 1 && (p->config = strdup(l->args[1])) == NULL) {
		free(p->path);
		p->path = NULL;
		return PV_ERR_ALLOC;
	}
	c->nplugins++;
	return 0;
}

static int
kw_krl(void *v, const struct pv_conf_line *l, char *err, size_t errlen)
{
	struct cfg_ctx *x = v;

	if (x->seen_krl)
		return cfg_err(err, errlen, "%s given twice", l->keyword);
	x->seen_krl = 1;
	if (strcmp(l->args[0], "none") == 0)
		return 0;
	return set_path(&x->c->revoked_keys, l, err, errlen);
}

static int
kw_exitdir(void *v, const struct pv_conf_line *l, char *err, size_t errlen)
{
	return set_path(&((struct cfg_ctx *)v)->c->exit_dir, l, err, errlen);
}

/*
 * RotationHook KIND PROGRAM|builtin: one program per kind of exposure;
 * builtin only for unix-password (ctl/exit_unixpw.c).
 */
static int
kw_hook(void *v, const struct pv_conf_line *l, char *err, size_t errlen)
{
	struct pv_config *c = ((struct cfg_ctx *)v)->c;
	struct pv_config_hook *h;
	const char *k = l->args[0];
	size_t i, n = strlen(k);

	if (c->nhooks == PV_CONFIG_MAX_HOOKS)
		return cfg_err(err, errlen, "too many %s lines", l->keyword);
	if (n == 0 || n > PV_CONFIG_KIND_MAX || k[0] == '-')
		return cfg_err(err, errlen, "%s: KIND is [a-z0-9-], 1..%d",
		    l->keyword, PV_CONFIG_KIND_MAX);
	for (i = 0; i < n; i++)
		if (!((k[i] >= 'a' && k[i] <= 'z') ||
			(k[i] >= '0' && k[i] <= '9') || k[i] == '-'))
			return cfg_err(err, errlen,
			    "%s: KIND is [a-z0-9-], 1..%d", l->keyword,
			    PV_CONFIG_KIND_MAX);
	for (i = 0; i < c->nhooks; i++)
		if (strcmp(c->hooks[i].kind, k) == 0)
			return cfg_err(
			    err, errlen, "%s %s given twice", l->keyword, k);
	if (strcmp(l->args[1], "builtin") == 0) {
		if (strcmp(k, "unix-password") != 0)
			return cfg_err(err, errlen,
			    "%s %s builtin: only unix-password is built in",
			    l->keyword, k);
	} else if (l->args[1][0] != '/')
		return cfg_err(err, errlen,
		    "%s: PROGRAM needs an absolute path (or builtin for "
		    "unix-password)",
		    l->keyword);
	h = &c->hooks[c->nhooks];
	if ((h->kind = strdup(k)) == NULL)
		return PV_ERR_ALLOC;
	if ((h->program = strdup(l->args[1])) == NULL) {
		free(h->kind);
		h->kind = NULL;
		return PV_ERR_ALLOC;
	}
	c->nhooks++;
	return 0;
}

static int
kw_hooktime(void *v, const struct pv_conf_line *l, char *err, size_t errlen)
{
	struct cfg_ctx *x = v;
	int r;

	if ((r = set_duration(
		 &x->c->hook_timeout, &x->seen_hooktime, l, err, errlen)) != 0)
		return r;
	if (x->c->hook_timeout == 0 || x->c->hook_timeout > 3600)
		return cfg_err(err, errlen, "%s: 1s..1h", l->keyword);
	return 0;
}

static int
kw_exitend(void *v, const struct pv_conf_line *l, char *err, size_t errlen)
{
	struct cfg_ctx *x = v;

	if (x->seen_exitend)
		return cfg_err(err, errlen, "%s given twice", l->keyword);
	x->seen_exitend = 1;
	if (pv_conf_yesno(l->args[0], &x->c->exit_on_contract_end) != 0)
		return cfg_err(err, errlen, "%s: yes or no", l->keyword);
	return 0;
}

/* ExitSweep report|quarantine */
static int
kw_sweep(void *v, const struct pv_conf_line *l, char *err, size_t errlen)
{
	struct cfg_ctx *x = v;

	if (x->seen_sweep)
		return cfg_err(err, errlen, "%s given twice", l->keyword);
	x->seen_sweep = 1;
	if (strcmp(l->args[0], "quarantine") == 0)
		x->c->exit_quarantine = 1;
	else if (strcmp(l->args[0], "report") == 0)
		x->c->exit_quarantine = 0;
	else
		return cfg_err(
		    err, errlen, "%s: report or quarantine", l->keyword);
	return 0;
}

static int
kw_loglevel(void *v, const struct pv_conf_line *l, char *err, size_t errlen)
{
	struct cfg_ctx *x = v;
	enum pv_log_level lv;

	if (x->seen_loglevel)
		return cfg_err(err, errlen, "%s given twice", l->keyword);
	if (pv_log_level_parse(l->args[0], &lv) != 0)
		return cfg_err(err, errlen,
		    "%s: one of error, warn, info, verbose, debug", l->keyword);
	x->c->log_level = (int)lv;
	x->seen_loglevel = 1;
	return 0;
}

/*
 * KexAlgorithms, Ciphers, MACs, HostKeyAlgorithms: [+-^]NAME[,NAME...],
 * sshd_config's forms (broker/algos.c applies them); * and ? only in a
 * -LIST's patterns.
 */
static int
kw_algos(void *v, const struct pv_conf_line *l, char *err, size_t errlen)
{
	struct cfg_ctx *x = v;
	const char *s = l->args[0], *all = s;
	char **slot;
	size_t i, n;

	if (strcasecmp(l->keyword, "KexAlgorithms") == 0)
		slot = &x->c->kex_algos;
	else if (strcasecmp(l->keyword, "Ciphers") == 0)
		slot = &x->c->ciphers;
	else if (strcasecmp(l->keyword, "MACs") == 0)
		slot = &x->c->macs;
	else
		slot = &x->c->hostkey_algos;
	if (*slot != NULL)
		return cfg_err(err, errlen, "%s given twice", l->keyword);
	if (s[0] == '+' || s[0] == '-' || s[0] == '^')
		s++;
	n = strlen(s);
	if (n == 0 || n > 1024 || s[0] == ',' || s[n - 1] == ',' ||
	    strstr(s, ",,") != NULL)
		return cfg_err(err, errlen,
		    "%s: a comma-separated list of algorithm names",
		    l->keyword);
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
			(s[i] >= 'A' && s[i] <= 'Z') ||
			(s[i] >= '0' && s[i] <= '9') || s[i] == '@' ||
			s[i] == '.' || s[i] == '-' || s[i] == ',' ||
			(all[0] == '-' && (s[i] == '*' || s[i] == '?'))))
			return cfg_err(err, errlen,
			    "%s: '%c' is not part of an algorithm name",
			    l->keyword, s[i]);
	if ((*slot = strdup(all)) == NULL)
		return cfg_err(err, errlen, "out of memory");
	return 0;
}

static const struct pv_conf_keyword config_keywords[] = {
	{ "ListenAddress", 1, 1, kw_listen },
	{ "StateDirectory", 1, 1, kw_state },
	{ "Store", 1, 1, kw_store },
	{ "PolicyFile", 1, 1, kw_policy },
	{ "RecordingDirectory", 1, 1, kw_recdir },
	{ "RecordingRecipient", 1, 1, kw_recipient },
	{ "RecordingMinFree", 1, 1, kw_minfree },
	{ "CertificateLifetime", 1, 1, kw_lifetime },
	{ "RekeyLimit", 1, 2, kw_rekey },
	{ "ControlSocket", 1, 1, kw_control },
	{ "RevocationList", 1, 1, kw_revlist },
	{ "SandboxUser", 1, 1, kw_user },
	{ "MaxSessions", 1, 1, kw_sessions },
	{ "LoginGraceTime", 1, 1, kw_grace },
	{ "MaxAuthTries", 1, 1, kw_tries },
	{ "MFAGrace", 1, 1, kw_mfa },
	{ "StoreStaleness", 1, 1, kw_stale },
	{ "BrokerName", 1, 1, kw_broker },
	{ "BrokerLease", 1, 1, kw_lease },
	{ "MaxStartups", 1, 1, kw_startups },
	{ "PerSourceMaxStartups", 1, 1, kw_psstartups },
	{ "PerSourcePenalty", 1, 1, kw_penalty },
	{ "NotifyWatchers", 1, 1, kw_notify },
	{ "Plugin", 1, 2, kw_plugin },
	{ "RevokedKeys", 1, 1, kw_krl },
	{ "ExitDirectory", 1, 1, kw_exitdir },
	{ "RotationHook", 2, 2, kw_hook },
	{ "RotationHookTimeout", 1, 1, kw_hooktime },
	{ "ExitSweep", 1, 1, kw_sweep },
	{ "ExitOnContractEnd", 1, 1, kw_exitend },
	{ "LogLevel", 1, 1, kw_loglevel },
	{ "KexAlgorithms", 1, 1, kw_algos },
	{ "Ciphers", 1, 1, kw_algos },
	{ "MACs", 1, 1, kw_algos },
	{ "HostKeyAlgorithms", 1, 1, kw_algos },
	{ NULL, 0, 0, NULL },
};

int
pv_config_new(struct pv_config **out)
{
	struct pv_config *c;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return PV_ERR_ALLOC;
	c->cert_lifetime = 120;
	c->max_sessions = 500;
	c->login_grace = 30;
	c->max_auth_tries = 3;
	c->mfa_grace = 0; /* off: see MFAGrace in provost.conf(5) */
	c->store_staleness = 60;
	c->broker_lease = 30;
	c->notify_watchers = 1;
	c->startups_begin = 10;
	c->startups_rate = 30;
	c->startups_full = 100;
	c->per_source_startups = 10;
	c->penalty_failures = 10;
	c->penalty_duration = 300;
	c->recording_min_free = PV_CONFIG_MIN_FREE_DEFAULT;
	c->hook_timeout = 60;
	c->log_level = PV_LOG_INFO;
	*out = c;
	return 0;
}

/*
 * BrokerName's default: the host name and the first ListenAddress's port
 * ("bastion1-2222"), lower case, other characters as '-'.
 */
static int
config_broker_name(struct pv_config *c)
{
	char host[256], name[PV_NAME_MAX + 1];
	const char *port = strrchr(c->listen[0], ':');
	size_t i, n;

	if (gethostname(host, sizeof(host)) != 0)
		(void)snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	port = port != NULL ? port + 1 : "2222";
	/* the port is kept whole (up to 8): the host name is cut if need be */
	n = strnlen(port, 8);
	(void)snprintf(name, sizeof(name), "%.*s-%.*s",
	    (int)(PV_NAME_MAX - 1 - n), host, (int)n, port);
	for (i = 0; name[i] != '\0'; i++) {
		name[i] = (char)tolower((unsigned char)name[i]);
		if (!((name[i] >= 'a' && name[i] <= 'z') ||
			(name[i] >= '0' && name[i] <= '9') || name[i] == '.' ||
			name[i] == '_' || name[i] == '-'))
			name[i] = '-';
	}
	if (!pv_name_valid(name))
		(void)snprintf(name, sizeof(name), "provostd");
	if ((c->broker_name = strdup(name)) == NULL)
		return PV_ERR_ALLOC;
	return 0;
}

/* Fills what the file left out with the documented defaults. */
static int
config_finish(struct pv_config *c)
{
	const char *sd;

	if (c->nlisten == 0 &&
	    (c->listen[c->nlisten++] = strdup("0.0.0.0:2222")) == NULL)
		return PV_ERR_ALLOC;
	if (c->state_dir == NULL &&
	    (c->state_dir = strdup(DEFAULT_STATE_DIR)) == NULL)
		return PV_ERR_ALLOC;
	sd = c->state_dir;
	if (c->store == NULL &&
	    asprintf(&c->store, "sqlite:%s/provost.db", sd) < 0) {
		c->store = NULL;
		return PV_ERR_ALLOC;
	}
	if (c->recording_dir == NULL &&
	    asprintf(&c->recording_dir, "%s/recordings", sd) < 0) {
		c->recording_dir = NULL;
		return PV_ERR_ALLOC;
	}
	if (c->exit_dir == NULL && asprintf(&c->exit_dir, "%s/exits", sd) < 0) {
		c->exit_dir = NULL;
		return PV_ERR_ALLOC;
	}
	if (c->policy_file == NULL &&
	    (c->policy_file = strdup("/etc/provost/policy.conf")) == NULL)
		return PV_ERR_ALLOC;
	if (c->control_socket == NULL &&
	    (c->control_socket = strdup("/run/provost/control.sock")) == NULL)
		return PV_ERR_ALLOC;
	if (c->sandbox_user == NULL &&
	    (c->sandbox_user = strdup("provost")) == NULL)
		return PV_ERR_ALLOC;
	if (c->broker_name == NULL)
		return config_broker_name(c);
	return 0;
}

int
pv_config_load_file(
    struct pv_config *c, const char *path, char *err, size_t errlen)
{
	struct cfg_ctx x = { .c = c };
	int r;

	if ((r = pv_conf_parse_file(path, config_keywords, &x, err, errlen)) !=
	    0)
		return r;
	return config_finish(c);
}

int
pv_config_load_mem(struct pv_config *c, const char *name, const char *data,
    size_t len, char *err, size_t errlen)
{
	struct cfg_ctx x = { .c = c };
	int r;

	if ((r = pv_conf_parse_mem(
		 name, data, len, config_keywords, &x, err, errlen)) != 0)
		return r;
	return config_finish(c);
}

int
pv_config_store_path(const struct pv_config *c, const char **path)
{
	*path = NULL;
	if (c->store != NULL && strncmp(c->store, "postgresql:", 11) == 0) {
		*path = c->store;
		return 0;
	}
	if (c->store == NULL || strncmp(c->store, "sqlite:", 7) != 0)
		return PV_ERR_UNSUPPORTED;
	*path = c->store + 7;
	return 0;
}

void
pv_config_free(struct pv_config *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nlisten; i++)
		free(c->listen[i]);
	for (i = 0; i < c->nrecipients; i++)
		free(c->recipients[i]);
	for (i = 0; i < c->nplugins; i++) {
		free(c->plugins[i].path);
		free(c->plugins[i].config);
	}
	free(c->state_dir);
	free(c->store);
	free(c->policy_file);
	free(c->recording_dir);
	free(c->control_socket);
	free(c->revocation_list);
	free(c->revoked_keys);
	free(c->exit_dir);
	for (i = 0; i < c->nhooks; i++) {
		free(c->hooks[i].kind);
		free(c->hooks[i].program);
	}
	free(c->sandbox_user);
	free(c->broker_name);
	free(c->kex_algos);
	free(c->ciphers);
	free(c->macs);
	free(c->hostkey_algos);
	free(c);
}

/* restart += ", NAME" when a keyword that needs a restart differs. */
static void
reload_note(char *restart, size_t len, const char *name, int differs)
{
	size_t used = strlen(restart);

	if (!differs || used >= len)
		return;
	(void)snprintf(
	    restart + used, len - used, "%s%s", used ? ", " : "", name);
}

static int
str_differs(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a != b;
	return strcmp(a, b) != 0;
}

static int
strv_differs(char *const *a, size_t na, char *const *b, size_t nb)
{
	size_t i;

	if (na != nb)
		return 1;
	for (i = 0; i < na; i++) {
		if (str_differs(a[i], b[i]))
			return 1;
	}
	return 0;
}

static int
plugins_differ(const struct pv_config *a, const struct pv_config *b)
{
	size_t i;

	if (a->nplugins != b->nplugins)
		return 1;
	for (i = 0; i < a->nplugins; i++) {
		if (str_differs(a->plugins[i].path, b->plugins[i].path) ||
		    str_differs(a->plugins[i].config, b->plugins[i].config))
			return 1;
	}
	return 0;
}

void
pv_config_reload(struct pv_config *cur, struct pv_config *next, char *restart,
    size_t restartlen)
{
	char *t;

	restart[0] = '\0';
	/* These hold listeners, files and processes open since the start. */
	reload_note(restart, restartlen, "ListenAddress",
	    strv_differs(
		cur->listen, cur->nlisten, next->listen, next->nlisten));
	reload_note(restart, restartlen, "StateDirectory",
	    str_differs(cur->state_dir, next->state_dir));
	reload_note(
	    restart, restartlen, "Store", str_differs(cur->store, next->store));
	reload_note(restart, restartlen, "RecordingDirectory",
	    str_differs(cur->recording_dir, next->recording_dir));
	reload_note(restart, restartlen, "RecordingRecipient",
	    strv_differs(cur->recipients, cur->nrecipients, next->recipients,
		next->nrecipients));
	reload_note(restart, restartlen, "ControlSocket",
	    str_differs(cur->control_socket, next->control_socket));
	reload_note(restart, restartlen, "RevocationList",
	    str_differs(cur->revocation_list, next->revocation_list));
	reload_note(restart, restartlen, "BrokerName",
	    str_differs(cur->broker_name, next->broker_name));
	reload_note(restart, restartlen, "BrokerLease",
	    cur->broker_lease != next->broker_lease);
	reload_note(restart, restartlen, "SandboxUser",
	    str_differs(cur->sandbox_user, next->sandbox_user));
	reload_note(restart, restartlen, "Plugin", plugins_differ(cur, next));
	/* The listening socket's algorithms are set when it is made. */
	reload_note(restart, restartlen, "KexAlgorithms",
	    str_differs(cur->kex_algos, next->kex_algos));
	reload_note(restart, restartlen, "Ciphers",
	    str_differs(cur->ciphers, next->ciphers));
	reload_note(
	    restart, restartlen, "MACs", str_differs(cur->macs, next->macs));
	reload_note(restart, restartlen, "HostKeyAlgorithms",
	    str_differs(cur->hostkey_algos, next->hostkey_algos));
	/* The rest applies to every decision and connection from now on. */
	t = cur->policy_file;
	cur->policy_file = next->policy_file;
	next->policy_file = t;
	cur->recording_min_free = next->recording_min_free;
	cur->cert_lifetime = next->cert_lifetime;
	cur->rekey_data = next->rekey_data;
	cur->rekey_time = next->rekey_time;
	cur->max_sessions = next->max_sessions;
	cur->login_grace = next->login_grace;
	cur->max_auth_tries = next->max_auth_tries;
	cur->mfa_grace = next->mfa_grace;
	cur->store_staleness = next->store_staleness;
	cur->notify_watchers = next->notify_watchers;
	cur->startups_begin = next->startups_begin;
	cur->startups_rate = next->startups_rate;
	cur->startups_full = next->startups_full;
	cur->per_source_startups = next->per_source_startups;
	cur->penalty_failures = next->penalty_failures;
	cur->penalty_duration = next->penalty_duration;
	cur->log_level = next->log_level;
}

/* A duration as provost.conf takes it back: 0, or whole seconds. */
static void
print_secs(FILE *f, const char *kw, uint64_t secs)
{
	fprintf(f, "%s %llus\n", kw, (unsigned long long)secs);
}

void
pv_config_print(const struct pv_config *c, FILE *f)
{
	size_t i;

	for (i = 0; i < c->nlisten; i++)
		fprintf(f, "listenaddress %s\n", c->listen[i]);
	fprintf(f, "statedirectory %s\n", c->state_dir);
	fprintf(f, "store %s\n", c->store);
	fprintf(f, "policyfile %s\n", c->policy_file);
	fprintf(f, "recordingdirectory %s\n", c->recording_dir);
	for (i = 0; i < c->nrecipients; i++)
		fprintf(f, "recordingrecipient %s\n", c->recipients[i]);
	fprintf(f, "recordingminfree %llu\n",
	    (unsigned long long)c->recording_min_free);
	print_secs(f, "certificatelifetime", c->cert_lifetime);
	if (c->rekey_data != 0)
		fprintf(
		    f, "rekeylimit %llu", (unsigned long long)c->rekey_data);
	else
		fprintf(f, "rekeylimit default");
	if (c->rekey_time != 0)
		fprintf(f, " %llus\n", (unsigned long long)c->rekey_time);
	else
		fprintf(f, " none\n");
	fprintf(f, "controlsocket %s\n", c->control_socket);
	fprintf(f, "revocationlist %s\n",
	    c->revocation_list != NULL ? c->revocation_list : "none");
	fprintf(f, "revokedkeys %s\n",
	    c->revoked_keys != NULL ? c->revoked_keys : "none");
	fprintf(f, "exitdirectory %s\n", c->exit_dir);
	for (i = 0; i < c->nhooks; i++)
		fprintf(f, "rotationhook %s %s\n", c->hooks[i].kind,
		    c->hooks[i].program);
	print_secs(f, "rotationhooktimeout", c->hook_timeout);
	fprintf(
	    f, "exitsweep %s\n", c->exit_quarantine ? "quarantine" : "report");
	fprintf(f, "exitoncontractend %s\n",
	    c->exit_on_contract_end ? "yes" : "no");
	fprintf(f, "sandboxuser %s\n", c->sandbox_user);
	fprintf(f, "maxsessions %u\n", c->max_sessions);
	print_secs(f, "logingracetime", c->login_grace);
	fprintf(f, "maxauthtries %u\n", c->max_auth_tries);
	print_secs(f, "mfagrace", c->mfa_grace);
	print_secs(f, "storestaleness", c->store_staleness);
	fprintf(f, "brokername %s\n", c->broker_name);
	print_secs(f, "brokerlease", c->broker_lease);
	fprintf(f, "notifywatchers %s\n", c->notify_watchers ? "yes" : "no");
	fprintf(f, "maxstartups %u:%u:%u\n", c->startups_begin,
	    c->startups_rate, c->startups_full);
	fprintf(f, "persourcemaxstartups %u\n", c->per_source_startups);
	fprintf(f, "persourcepenalty %u:%llus\n", c->penalty_failures,
	    (unsigned long long)c->penalty_duration);
	for (i = 0; i < c->nplugins; i++)
		fprintf(f, "plugin %s%s%s\n", c->plugins[i].path,
		    c->plugins[i].config != NULL ? " " : "",
		    c->plugins[i].config != NULL ? c->plugins[i].config : "");
	fprintf(f, "loglevel %s\n",
	    c->log_level == PV_LOG_WARN
		? "warn"
		: pv_log_level_name((enum pv_log_level)c->log_level));
}
