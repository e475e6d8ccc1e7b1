/*
 * config.c: provostd.conf (DESIGN.md "Configuration"): a keyword table
 * with typed parsers over common's tokenizer; defaults first, then the file.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "broker/broker.h"

#define SEEN_LISTEN 0x0001
#define SEEN_RECIPIENT 0x0002

/* Parse state: the config and which keywords were already given. */
struct conf_ctx {
	struct broker_config *c;
	uint32_t seen_multi; /* repeatable keywords that replaced a default */
	char seen[32];       /* single keywords given, by table index */
};

static int
set_str(char **dst, const char *v, char *err, size_t errlen)
{
	char *s;

	if (v[0] == '\0') {
		(void)snprintf(err, errlen, "empty value");
		return PV_ERR_CONFIG;
	}
	if ((s = strdup(v)) == NULL)
		return PV_ERR_ALLOC;
	free(*dst);
	*dst = s;
	return 0;
}

int
broker_listen_parse(const char *s, struct broker_listen *out)
{
	const char *host = s, *colon, *end;
	size_t hlen;
	uint32_t port = 2222;

	memset(out, 0, sizeof(*out));
	if (s[0] == '[') {
		host = s + 1;
		if ((end = strchr(host, ']')) == NULL)
			return PV_ERR_INVALID;
		hlen = (size_t)(end - host);
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] != '\0' && colon == NULL)
			return PV_ERR_INVALID;
	} else {
		colon = strrchr(s, ':');
		if (colon != NULL && strchr(s, ':') != colon)
			return PV_ERR_INVALID; /* bare IPv6 needs brackets */
		hlen = colon ? (size_t)(colon - s) : strlen(s);
	}
	if (hlen == 0 || hlen >= sizeof(out->host))
		return PV_ERR_INVALID;
	if (colon != NULL && pv_parse_u32(colon + 1, 1, 65535, &port) != 0)
		return PV_ERR_INVALID;
	memcpy(out->host, host, hlen);
	out->host[hlen] = '\0';
	out->port = (uint16_t)port;
	return 0;
}

static int
kw_listen(void *ctx, const struct pv_conf_line *l, char *err, size_t errlen)
{
	struct conf_ctx *x = ctx;
	struct broker_config *c = x->c;

	if (!(x->seen_multi & SEEN_LISTEN)) {
		c->nlisten = 0; /* the first line replaces the default */
		x->seen_multi |= SEEN_LISTEN;
	}
	if (c->nlisten >= BROKER_CONF_MAX_LISTEN) {
		(void)snprintf(err, errlen, "more than %d ListenAddress lines",
		    BROKER_CONF_MAX_LISTEN);
		return PV_ERR_CONFIG;
	}
	if (broker_listen_parse(l->args[0], &c->listen[c->nlisten]) != 0) {
		(void)snprintf(err, errlen,
		    "ListenAddress: \"%s\" is not HOST:PORT", l->args[0]);
		return PV_ERR_CONFIG;
	}
	c->nlisten++;
	return 0;
}

static int
kw_recipient(void *ctx, const struct pv_conf_line *l, char *err, size_t errlen)
{
	struct conf_ctx *x = ctx;
	struct broker_config *c = x->c;
	int i;

	if (!(x->seen_multi & SEEN_RECIPIENT)) {
		for (i = 0; i < c->nrecipients; i++) {
			free(c->recipients[i]);
			c->recipients[i] = NULL;
		}
		c->nrecipients = 0;
		x->seen_multi |= SEEN_RECIPIENT;
	}
	if (c->nrecipients >= BROKER_CONF_MAX_RECIPIENTS) {
		(void)snprintf(
		    err, errlen, "too many RecordingRecipient lines");
		return PV_ERR_CONFIG;
	}
	return set_str(
	    &c->recipients[c->nrecipients++], l->args[0], err, errlen);
}

static int
kw_plugin(void *ctx, const struct pv_conf_line *l, char *err, size_t errlen)
{
	struct broker_config *c = ((struct conf_ctx *)ctx)->c;
	struct broker_plugin_conf *p;
	int r;

	if (c->nplugins >= BROKER_CONF_MAX_PLUGINS) {
		(void)snprintf(err, errlen, "too many Plugin lines");
		return PV_ERR_CONFIG;
	}
	p = &c->plugins[c->nplugins++];
	if ((r = set_str(&p->path, l->args[0], err, errlen)) != 0)
		return r;
	if (l->nargs == 2)
		return set_str(&p->config, l->args[1], err, errlen);
	return 0;
}

/* Single-valued keywords: a field and its type. */
enum conf_type { T_PATH, T_STORE, T_DURATION, T_U32, T_LOGLEVEL };

struct conf_single {
	const char *name;
	enum conf_type type;
	size_t off;
	uint32_t min, max; /* T_U32; T_DURATION: min, max seconds */
};

#define OFF(f) offsetof(struct broker_config, f)
static const struct conf_single singles[] = {
	{ "StateDirectory", T_PATH, OFF(state_dir), 0, 0 },
	{ "Store", T_STORE, OFF(store), 0, 0 },
	{ "PolicyFile", T_PATH, OFF(policy_file), 0, 0 },
	{ "RecordingDirectory", T_PATH, OFF(recording_dir), 0, 0 },
	{ "CertificateLifetime", T_DURATION, OFF(cert_lifetime), 10, 86400 },
	{ "ControlSocket", T_PATH, OFF(control_socket), 0, 0 },
	{ "SandboxUser", T_PATH, OFF(sandbox_user), 0, 0 },
	{ "MaxSessions", T_U32, OFF(max_sessions), 1, 100000 },
	{ "LoginGraceTime", T_DURATION, OFF(login_grace), 0, 3600 },
	{ "MaxAuthTries", T_U32, OFF(max_auth_tries), 1, 100 },
	{ "MFAGrace", T_DURATION, OFF(mfa_grace), 0, 86400 },
	{ "LogLevel", T_LOGLEVEL, OFF(log_level), 0, 0 },
};
#undef OFF
#define NSINGLES (sizeof(singles) / sizeof(singles[0]))

static int
kw_single(void *ctx, const struct pv_conf_line *l, char *err, size_t errlen)
{
	struct conf_ctx *x = ctx;
	const struct conf_single *s = NULL;
	char *base = (char *)x->c;
	const char *v = l->args[0];
	uint64_t secs;
	size_t i;

	for (i = 0; i < NSINGLES; i++) {
		if (strcasecmp(singles[i].name, l->keyword) == 0) {
			s = &singles[i];
			break;
		}
	}
	if (s == NULL)
		return PV_ERR_INTERNAL;
	if (x->seen[i]) {
		(void)snprintf(err, errlen, "%s given twice", s->name);
		return PV_ERR_CONFIG;
	}
	x->seen[i] = 1;
	switch (s->type) {
	case T_STORE:
		if (strncmp(v, "sqlite:", 7) != 0 &&
		    strncmp(v, "file:", 5) != 0) {
			(void)snprintf(err, errlen,
			    "Store: \"%s\" is not sqlite:PATH (or file:PATH, "
			    "the "
			    "test backend)",
			    v);
			return PV_ERR_CONFIG;
		}
		/* FALLTHROUGH */
	case T_PATH:
		return set_str(
		    (char **)(void *)(base + s->off), v, err, errlen);
	case T_DURATION:
		if (pv_duration_parse(v, &secs) != 0 || secs < s->min ||
		    secs > s->max) {
			(void)snprintf(err, errlen,
			    "%s: \"%s\" is not a duration from %us to %us",
			    s->name, v, s->min, s->max);
			return PV_ERR_CONFIG;
		}
		*(uint64_t *)(void *)(base + s->off) = secs;
		return 0;
	case T_U32:
		if (pv_parse_u32(v, s->min, s->max,
			(uint32_t *)(void *)(base + s->off)) != 0) {
			(void)snprintf(err, errlen,
			    "%s: \"%s\" is not a number from %u to %u", s->name,
			    v, s->min, s->max);
			return PV_ERR_CONFIG;
		}
		return 0;
	case T_LOGLEVEL:
		if (pv_log_level_parse(v, &x->c->log_level) != 0) {
			(void)snprintf(err, errlen,
			    "LogLevel: \"%s\" is not error, warn, info, "
			    "verbose "
			    "or debug",
			    v);
			return PV_ERR_CONFIG;
		}
		return 0;
	}
	return PV_ERR_INTERNAL;
}

static const struct pv_conf_keyword keywords[] = {
	{ "ListenAddress", 1, 1, kw_listen },
	{ "StateDirectory", 1, 1, kw_single },
	{ "Store", 1, 1, kw_single },
	{ "PolicyFile", 1, 1, kw_single },
	{ "RecordingDirectory", 1, 1, kw_single },
	{ "RecordingRecipient", 1, 1, kw_recipient },
	{ "CertificateLifetime", 1, 1, kw_single },
	{ "ControlSocket", 1, 1, kw_single },
	{ "SandboxUser", 1, 1, kw_single },
	{ "MaxSessions", 1, 1, kw_single },
	{ "LoginGraceTime", 1, 1, kw_single },
	{ "MaxAuthTries", 1, 1, kw_single },
	{ "MFAGrace", 1, 1, kw_single },
	{ "Plugin", 1, 2, kw_plugin },
	{ "LogLevel", 1, 1, kw_single },
	{ NULL, 0, 0, NULL },
};

void
broker_config_free(struct broker_config *c)
{
	int i;

	if (c == NULL)
		return;
	free(c->state_dir);
	free(c->store);
	free(c->policy_file);
	free(c->recording_dir);
	for (i = 0; i < c->nrecipients; i++)
		free(c->recipients[i]);
	free(c->control_socket);
	free(c->sandbox_user);
	for (i = 0; i < c->nplugins; i++) {
		free(c->plugins[i].path);
		free(c->plugins[i].config);
	}
	free(c);
}

int
broker_config_new(struct broker_config **out)
{
	struct broker_config *c;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return PV_ERR_ALLOC;
	(void)broker_listen_parse("0.0.0.0:2222", &c->listen[0]);
	c->nlisten = 1;
	c->nrecipients = 1;
	c->cert_lifetime = 120;
	c->max_sessions = 500;
	c->login_grace = 30;
	c->max_auth_tries = 3;
	c->mfa_grace = 600;
	c->log_level = PV_LOG_INFO;
	if ((c->state_dir = strdup("/var/lib/provost")) == NULL ||
	    (c->store = strdup("sqlite:/var/lib/provost/provost.db")) == NULL ||
	    (c->policy_file = strdup("/etc/provost/policy.conf")) == NULL ||
	    (c->recording_dir = strdup("/var/lib/provost/recordings")) ==
		NULL ||
	    (c->recipients[0] =
		    strdup("/etc/provost/recipients/security.pub")) == NULL ||
	    (c->control_socket = strdup("/run/provost/control.sock")) == NULL ||
	    (c->sandbox_user = strdup("provost")) == NULL) {
		broker_config_free(c);
		return PV_ERR_ALLOC;
	}
	*out = c;
	return 0;
}

static int
config_load(const char *name, const char *path, const char *data, size_t len,
    struct broker_config **out, char *err, size_t errlen)
{
	struct conf_ctx x;
	int r;

	*out = NULL;
	if (errlen > 0)
		err[0] = '\0';
	memset(&x, 0, sizeof(x));
	if ((r = broker_config_new(&x.c)) != 0)
		return r;
	if (path != NULL)
		r = pv_conf_parse_file(path, keywords, &x, err, errlen);
	else
		r = pv_conf_parse_mem(
		    name, data, len, keywords, &x, err, errlen);
	if (r != 0) {
		broker_config_free(x.c);
		return r;
	}
	*out = x.c;
	return 0;
}

int
broker_config_load(
    const char *path, struct broker_config **out, char *err, size_t errlen)
{
	return config_load(path, path, NULL, 0, out, err, errlen);
}

int
broker_config_load_mem(const char *name, const char *data, size_t len,
    struct broker_config **out, char *err, size_t errlen)
{
	return config_load(name, NULL, data, len, out, err, errlen);
}

static void
dump_duration(FILE *fp, const char *kw, uint64_t secs)
{
	char buf[64];

	if (pv_duration_format(secs, buf, sizeof(buf)) != 0)
		(void)snprintf(
		    buf, sizeof(buf), "%llus", (unsigned long long)secs);
	fprintf(fp, "%s %s\n", kw, buf);
}

int
broker_config_dump(const struct broker_config *c, FILE *fp)
{
	int i;

	for (i = 0; i < c->nlisten; i++) {
		if (strchr(c->listen[i].host, ':') != NULL)
			fprintf(fp, "ListenAddress [%s]:%u\n",
			    c->listen[i].host, c->listen[i].port);
		else
			fprintf(fp, "ListenAddress %s:%u\n", c->listen[i].host,
			    c->listen[i].port);
	}
	fprintf(fp, "StateDirectory %s\nStore %s\nPolicyFile %s\n",
	    c->state_dir, c->store, c->policy_file);
	fprintf(fp, "RecordingDirectory %s\n", c->recording_dir);
	for (i = 0; i < c->nrecipients; i++)
		fprintf(fp, "RecordingRecipient %s\n", c->recipients[i]);
	dump_duration(fp, "CertificateLifetime", c->cert_lifetime);
	fprintf(fp, "ControlSocket %s\nSandboxUser %s\nMaxSessions %u\n",
	    c->control_socket, c->sandbox_user, c->max_sessions);
	dump_duration(fp, "LoginGraceTime", c->login_grace);
	fprintf(fp, "MaxAuthTries %u\n", c->max_auth_tries);
	dump_duration(fp, "MFAGrace", c->mfa_grace);
	for (i = 0; i < c->nplugins; i++)
		fprintf(fp, "Plugin %s%s%s\n", c->plugins[i].path,
		    c->plugins[i].config ? " " : "",
		    c->plugins[i].config ? c->plugins[i].config : "");
	fprintf(fp, "LogLevel %s\n", pv_log_level_name(c->log_level));
	return ferror(fp) ? PV_ERR_IO : 0;
}
