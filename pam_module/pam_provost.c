/*
 * pam_provost.c: the PAM module for target hosts: accepts broker-signed
 * one-time pvt1 tokens as the password and honours the revocation list.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "pvt/pvt.h"

#define PP_EXPORT __attribute__((visibility("default")))
#define PP_DATA "pam_provost_claims"
#define PP_ENV_TOKEN "PROVOST_TOKEN"
#define PP_ENV_SESSION "PROVOST_SESSION"
#define PP_PROMPT "Provost token: "
#define PP_DEFAULT_NONCE_DIR "/run/provost"
/*
 * The revocation list's sequence must survive a reboot (else an older
 * list put back after one is taken): kept on persistent storage.
 */
#define PP_DEFAULT_STATE_DIR "/var/lib/provost-pam"
/* A list not refreshed for this long refuses, unless told otherwise. */
#define PP_DEFAULT_MAXAGE (24 * 3600)
#define PP_DEFAULT_SKEW 60

struct pp_opts {
	const char *key;
	const char *target;
	const char *revoked;
	uint64_t revoked_maxage; /* seconds; 0 = no limit */
	const char *nonce_dir;
	const char *state_dir; /* revlist.seq */
	uint32_t skew;
	int debug;
};

/* PAM_USER, escaped for a log line (it comes from the network). */
static void
pp_user_esc(const char *user, char *out, size_t outlen)
{
	if (pv_log_escape(out, outlen, user == NULL ? "(none)" : user) != 0 &&
	    outlen > 4)
		memcpy(out + outlen - 4, "...", 4);
}

/* "name=value": 1 and *val if a is that option. */
static int
pp_opt(const char *a, const char *name, const char **val)
{
	size_t n = strlen(name);

	if (strncmp(a, name, n) != 0 || a[n] != '=')
		return 0;
	*val = a + n + 1;
	return 1;
}

/* An absolute path given once. */
static int
pp_opt_path(const char **slot, const char *v)
{
	if (*slot != NULL || v[0] != '/' || strlen(v) >= PATH_MAX)
		return 0;
	*slot = v;
	return 1;
}

/* Every option is known, well-formed and given once; else refuse. */
static int
pp_opts_parse(
    pam_handle_t *pamh, int argc, const char **argv, struct pp_opts *o)
{
	const char *v, *nonce_dir = NULL, *state_dir = NULL;
	char esc[128];
	int i, ok, have_skew = 0, have_maxage = 0;

	*o = (struct pp_opts){
		.nonce_dir = PP_DEFAULT_NONCE_DIR,
		.state_dir = PP_DEFAULT_STATE_DIR,
		.skew = PP_DEFAULT_SKEW,
		.revoked_maxage = PP_DEFAULT_MAXAGE,
	};
	for (i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (pp_opt(a, "key", &v))
			ok = pp_opt_path(&o->key, v);
		else if (pp_opt(a, "revoked", &v))
			ok = pp_opt_path(&o->revoked, v);
		else if (pp_opt(a, "nonce_dir", &v))
			ok = pp_opt_path(&nonce_dir, v);
		else if (pp_opt(a, "state_dir", &v))
			ok = pp_opt_path(&state_dir, v);
		else if (pp_opt(a, "target", &v)) {
			ok = o->target == NULL &&
			    pvt_name_valid(v, PVT_NAME_MAX);
			o->target = v;
		} else if (pp_opt(a, "skew", &v)) {
			ok = !have_skew &&
			    pv_parse_u32(v, 0, PVT_SKEW_MAX, &o->skew) == 0;
			have_skew = 1;
		} else if (pp_opt(a, "revoked_maxage", &v)) {
			/* 0 turns the limit off, and must be said */
			ok = !have_maxage &&
			    pv_duration_parse(v, &o->revoked_maxage) == 0;
			have_maxage = 1;
		} else if (strcmp(a, "debug") == 0) {
			ok = 1;
			o->debug = 1;
		} else {
			ok = 0;
		}
		if (!ok) {
			pp_user_esc(a, esc, sizeof(esc));
			pam_syslog(pamh, LOG_ERR,
			    "bad, repeated or unknown option \"%s\" (refusing)",
			    esc);
			return PAM_SERVICE_ERR;
		}
	}
	if (nonce_dir != NULL)
		o->nonce_dir = nonce_dir;
	if (state_dir != NULL)
		o->state_dir = state_dir;
	if (o->key == NULL || o->target == NULL) {
		pam_syslog(pamh, LOG_ERR,
		    "key=/path and target=NAME are required (refusing)");
		return PAM_SERVICE_ERR;
	}
	if (have_maxage && o->revoked == NULL) {
		pam_syslog(pamh, LOG_ERR,
		    "revoked_maxage needs revoked=/path (refusing)");
		return PAM_SERVICE_ERR;
	}
	if (o->debug)
		pam_syslog(pamh, LOG_DEBUG,
		    "key=%s target=%s revoked=%s nonce_dir=%s skew=%u", o->key,
		    o->target, o->revoked != NULL ? o->revoked : "(none)",
		    o->nonce_dir, (unsigned)o->skew);
	return PAM_SUCCESS;
}

static void
pp_claims_cleanup(pam_handle_t *pamh, void *data, int status)
{
	(void)pamh;
	(void)status;
	pv_secret_free(data, sizeof(struct pvt_claims));
}

/* Verifies a token against the key, user, target and clock. */
static int
pp_token_check(pam_handle_t *pamh, const struct pp_opts *o, const char *user,
    const char *tok, size_t len, struct pvt_claims *c, const char *what)
{
	EVP_PKEY *pub = NULL;
	enum pvt_reason why = PVT_E_INTERNAL;
	struct pvt_expect want = {
		.account = user,
		.target = o->target,
		.now = (int64_t)time(NULL),
		.skew = o->skew,
	};
	char esc[128];
	int r;

	pp_user_esc(user, esc, sizeof(esc));
	if ((r = pv_sshkey_load_public(o->key, &pub)) != 0) {
		pam_syslog(pamh, LOG_ERR,
		    "%s refused for %s: cannot load token key %s: %s", what,
		    esc, o->key, pv_err_str(r));
		return PV_DENY;
	}
	r = pvt_verify(tok, len, pub, &want, c, &why);
	EVP_PKEY_free(pub);
	if (r != PV_ALLOW) {
		pam_syslog(pamh, LOG_WARNING, "%s refused for %s: %s", what,
		    esc, pvt_reason_str(why));
		return PV_DENY;
	}
	return PV_ALLOW;
}

/* The revocation list, if one is configured: PV_ALLOW or PV_DENY. */
static int
pp_revocation_check(pam_handle_t *pamh, const struct pp_opts *o,
    const struct pvt_claims *c, const char *what)
{
	struct pvt_revlist *rl = NULL;
	EVP_PKEY *pub = NULL;
	enum pvt_reason why = PVT_E_INTERNAL;
	uint64_t seen = 0;
	char err[256];
	int r;

	if (o->revoked == NULL)
		return PV_ALLOW;
	if ((r = pv_sshkey_load_public(o->key, &pub)) != 0) {
		pam_syslog(pamh, LOG_ERR,
		    "%s refused for %s: cannot load token key %s: %s", what,
		    c->account, o->key, pv_err_str(r));
		return PV_DENY;
	}
	r = pvt_revlist_load(o->revoked, pub, &rl, err, sizeof(err));
	EVP_PKEY_free(pub);
	if (r != 0) {
		pam_syslog(pamh, LOG_ERR,
		    "%s refused for %s: revocation list %s: %s", what,
		    c->account, o->revoked, err);
		return PV_DENY;
	}
	/* A list that stopped being refreshed refuses, if asked to. */
	if (o->revoked_maxage > 0) {
		int64_t now = (int64_t)time(NULL);
		int64_t at = pvt_revlist_issued_at(rl);

		if (at > now + (int64_t)o->skew ||
		    (uint64_t)(now - at) > o->revoked_maxage) {
			pam_syslog(pamh, LOG_ERR,
			    "%s refused for %s: revocation list %s issued %lld "
			    "s ago, revoked_maxage is %llu s",
			    what, c->account, o->revoked, (long long)(now - at),
			    (unsigned long long)o->revoked_maxage);
			pvt_revlist_free(rl);
			return PV_DENY;
		}
	}
	/* An older list put back would hide later revocations. */
	r = pvt_revlist_seq_check(
	    o->state_dir, pvt_revlist_sequence(rl), &seen);
	if (r != PV_ALLOW) {
		if (r == PV_DENY)
			pam_syslog(pamh, LOG_ERR,
			    "%s refused for %s: revocation list %s rolled back "
			    "(sequence %llu, %llu seen before)",
			    what, c->account, o->revoked,
			    (unsigned long long)pvt_revlist_sequence(rl),
			    (unsigned long long)seen);
		else
			pam_syslog(pamh, LOG_ERR,
			    "%s refused for %s: %s/revlist.seq: %s", what,
			    c->account, o->state_dir, pv_err_str(r));
		pvt_revlist_free(rl);
		return PV_DENY;
	}
	r = pvt_revlist_check(rl, c, &why);
	pvt_revlist_free(rl);
	if (r != PV_ALLOW) {
		pam_syslog(pamh, LOG_WARNING,
		    "%s refused for %s: %s (engineer %s, session %s, serial "
		    "%llu)",
		    what, c->account, pvt_reason_str(why), c->engineer,
		    c->session_id, (unsigned long long)c->serial);
		return PV_DENY;
	}
	return PV_ALLOW;
}

/* Takes the token from PAM_AUTHTOK or asks for it; *tok must be wiped. */
static int
pp_get_token(pam_handle_t *pamh, char **tok)
{
	const void *item = NULL;
	char *resp = NULL;
	int r;

	*tok = NULL;
	r = pam_get_item(pamh, PAM_AUTHTOK, &item);
	if (r == PAM_SUCCESS && item != NULL) {
		/* Bounded copy: one byte past the limit shows "too long". */
		size_t n = strnlen(item, PVT_TOKEN_MAX + 1);

		if ((*tok = malloc(n + 1)) == NULL)
			return PAM_BUF_ERR;
		memcpy(*tok, item, n);
		(*tok)[n] = '\0';
		return PAM_SUCCESS;
	}
	r = pam_prompt(pamh, PAM_PROMPT_ECHO_OFF, &resp, "%s", PP_PROMPT);
	if (r != PAM_SUCCESS || resp == NULL) {
		if (resp != NULL)
			pv_secret_freestr(resp);
		return r == PAM_SUCCESS ? PAM_CONV_ERR : r;
	}
	*tok = resp;
	return PAM_SUCCESS;
}

PP_EXPORT int
pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct pp_opts o;
	struct pvt_claims c, *keep = NULL;
	enum pvt_reason why = PVT_E_INTERNAL;
	const char *user = NULL;
	char *tok = NULL, *env = NULL, esc[128];
	size_t len;
	int r, ret = PAM_AUTH_ERR;

	(void)flags;
	memset(&c, 0, sizeof(c));
	if ((ret = pp_opts_parse(pamh, argc, argv, &o)) != PAM_SUCCESS)
		return ret;
	ret = PAM_AUTH_ERR;
	if ((r = pam_get_user(pamh, &user, NULL)) != PAM_SUCCESS ||
	    user == NULL) {
		pam_syslog(pamh, LOG_ERR, "token refused: no user name");
		return r == PAM_SUCCESS ? PAM_AUTH_ERR : r;
	}
	pp_user_esc(user, esc, sizeof(esc));
	if ((r = pp_get_token(pamh, &tok)) != PAM_SUCCESS) {
		pam_syslog(pamh, LOG_ERR, "token refused for %s: no token: %s",
		    esc, pam_strerror(pamh, r));
		return r == PAM_BUF_ERR ? PAM_BUF_ERR : PAM_AUTH_ERR;
	}
	len = strnlen(tok, PVT_TOKEN_MAX + 1);
	if (pp_token_check(pamh, &o, user, tok, len, &c, "token") != PV_ALLOW)
		goto out;
	if (pp_revocation_check(pamh, &o, &c, "token") != PV_ALLOW)
		goto out;
	r = pvt_nonce_claim(
	    o.nonce_dir, c.nonce, c.not_after, (int64_t)time(NULL), &why);
	if (r != PV_ALLOW) {
		pam_syslog(pamh, LOG_WARNING,
		    "token refused for %s: %s (engineer %s, session %s%s%s)",
		    esc, pvt_reason_str(why), c.engineer, c.session_id,
		    r < 0 ? ", replay cache: " : "",
		    r < 0 ? pv_err_str(r) : "");
		goto out;
	}
	/*
	 * Hand the claims to the account and session phases: as PAM data in
	 * this process, and as the (now spent) token in the PAM environment,
	 * which is what survives sshd's separate authentication process.
	 */
	ret = PAM_SERVICE_ERR;
	if ((keep = malloc(sizeof(*keep))) == NULL)
		goto internal;
	*keep = c;
	if (pam_set_data(pamh, PP_DATA, keep, pp_claims_cleanup) !=
	    PAM_SUCCESS) {
		pv_secret_free(keep, sizeof(*keep));
		goto internal;
	}
	if (asprintf(&env, "%s=%s", PP_ENV_TOKEN, tok) < 0) {
		env = NULL; /* undefined after a failure */
		goto internal;
	}
	if (pam_putenv(pamh, env) != PAM_SUCCESS)
		goto internal;
	pam_syslog(pamh, LOG_NOTICE,
	    "token accepted for %s on %s: engineer %s, session %s, grant %s, "
	    "serial %llu",
	    c.account, c.target, c.engineer, c.session_id,
	    c.grant_id[0] != '\0' ? c.grant_id : "none",
	    (unsigned long long)c.serial);
	ret = PAM_SUCCESS;
	goto out;
internal:
	pam_syslog(pamh, LOG_ERR,
	    "token refused for %s: out of memory or PAM error", esc);
out:
	if (env != NULL)
		pv_secret_freestr(env);
	pv_secret_freestr(tok);
	OPENSSL_cleanse(&c, sizeof(c));
	return ret;
}

PP_EXPORT int
pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_SUCCESS;
}

/*
 * The claims of the token verified by this PAM transaction: PAM data from
 * auth in this process, or else the token that auth (possibly in another
 * process) left in the PAM environment, verified again and required to be
 * in the replay cache (so it did pass auth on this host).
 */
static int
pp_claims_get(pam_handle_t *pamh, const struct pp_opts *o, const char *user,
    struct pvt_claims *c, const char *what)
{
	const void *data = NULL;
	struct pvt_claims *keep;
	const char *tok;
	char esc[128];
	int r;

	memset(c, 0, sizeof(*c));
	pp_user_esc(user, esc, sizeof(esc));
	if (pam_get_data(pamh, PP_DATA, &data) == PAM_SUCCESS && data != NULL) {
		*c = *(const struct pvt_claims *)data;
		if (strcmp(c->account, user) != 0) {
			pam_syslog(pamh, LOG_WARNING,
			    "%s refused for %s: token was for account %s", what,
			    esc, c->account);
			return PV_DENY;
		}
		return PV_ALLOW;
	}
	if ((tok = pam_getenv(pamh, PP_ENV_TOKEN)) == NULL) {
		pam_syslog(pamh, LOG_WARNING,
		    "%s refused for %s: no provost token was verified", what,
		    esc);
		return PV_DENY;
	}
	if (pp_token_check(pamh, o, user, tok, strnlen(tok, PVT_TOKEN_MAX + 1),
		c, what) != PV_ALLOW)
		return PV_DENY;
	if ((r = pvt_nonce_seen(o->nonce_dir, c->nonce)) != PV_ALLOW) {
		pam_syslog(pamh, LOG_WARNING,
		    "%s refused for %s: token did not pass authentication "
		    "here%s%s",
		    what, esc, r < 0 ? ": " : "", r < 0 ? pv_err_str(r) : "");
		return PV_DENY;
	}
	if ((keep = malloc(sizeof(*keep))) == NULL) {
		pam_syslog(pamh, LOG_ERR, "%s refused for %s: out of memory",
		    what, esc);
		return PV_ERR_ALLOC;
	}
	*keep = *c;
	if (pam_set_data(pamh, PP_DATA, keep, pp_claims_cleanup) !=
	    PAM_SUCCESS) {
		pv_secret_free(keep, sizeof(*keep));
		pam_syslog(pamh, LOG_ERR,
		    "%s refused for %s: pam_set_data failed", what, esc);
		return PV_ERR_INTERNAL;
	}
	return PV_ALLOW;
}

PP_EXPORT int
pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct pp_opts o;
	struct pvt_claims c;
	const char *user = NULL;
	int64_t now = (int64_t)time(NULL);
	int r, ret;

	(void)flags;
	if ((ret = pp_opts_parse(pamh, argc, argv, &o)) != PAM_SUCCESS)
		return ret;
	if (pam_get_user(pamh, &user, NULL) != PAM_SUCCESS || user == NULL) {
		pam_syslog(pamh, LOG_ERR, "account refused: no user name");
		return PAM_PERM_DENIED;
	}
	if ((r = pp_claims_get(pamh, &o, user, &c, "account")) != PV_ALLOW) {
		ret = r < 0 ? PAM_SERVICE_ERR : PAM_PERM_DENIED;
		goto out;
	}
	if (now - (int64_t)o.skew >= c.not_after) {
		pam_syslog(pamh, LOG_WARNING,
		    "account refused for %s: token expired (session %s)",
		    c.account, c.session_id);
		ret = PAM_ACCT_EXPIRED;
		goto out;
	}
	if (pp_revocation_check(pamh, &o, &c, "account") != PV_ALLOW) {
		ret = PAM_PERM_DENIED;
		goto out;
	}
	/*
	 * PROVOST_TOKEN stays: sshd runs account inside its authentication
	 * process too, and the session phase in the parent still needs it.
	 * pam_sm_open_session removes it.
	 */
	ret = PAM_SUCCESS;
out:
	OPENSSL_cleanse(&c, sizeof(c));
	return ret;
}

PP_EXPORT int
pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct pp_opts o;
	struct pvt_claims c;
	const char *user = NULL;
	char env[sizeof(PP_ENV_SESSION) + PV_UUID_LEN + 1];
	int r, ret;

	(void)flags;
	if ((ret = pp_opts_parse(pamh, argc, argv, &o)) != PAM_SUCCESS)
		return ret;
	if (pam_get_user(pamh, &user, NULL) != PAM_SUCCESS || user == NULL) {
		pam_syslog(pamh, LOG_ERR, "session refused: no user name");
		return PAM_SESSION_ERR;
	}
	if (pp_claims_get(pamh, &o, user, &c, "session") != PV_ALLOW) {
		ret = PAM_SESSION_ERR;
		goto out;
	}
	r = snprintf(env, sizeof(env), "%s=%s", PP_ENV_SESSION, c.session_id);
	if (r < 0 || (size_t)r >= sizeof(env) ||
	    pam_putenv(pamh, env) != PAM_SUCCESS) {
		pam_syslog(
		    pamh, LOG_ERR, "session: cannot set %s", PP_ENV_SESSION);
		ret = PAM_SESSION_ERR;
		goto out;
	}
	if (pam_getenv(pamh, PP_ENV_TOKEN) != NULL)
		(void)pam_putenv(pamh, PP_ENV_TOKEN);
	pam_syslog(pamh, LOG_NOTICE,
	    "session opened for %s on %s: provost session %s, engineer %s",
	    c.account, c.target, c.session_id, c.engineer);
	ret = PAM_SUCCESS;
out:
	OPENSSL_cleanse(&c, sizeof(c));
	return ret;
}

PP_EXPORT int
pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	const struct pvt_claims *c;
	const void *data = NULL;
	struct pp_opts o;
	int ret;

	(void)flags;
	if ((ret = pp_opts_parse(pamh, argc, argv, &o)) != PAM_SUCCESS)
		return ret;
	if (pam_get_data(pamh, PP_DATA, &data) != PAM_SUCCESS || data == NULL) {
		pam_syslog(pamh, LOG_NOTICE,
		    "session closed (no provost session known)");
		return PAM_SUCCESS;
	}
	c = data;
	pam_syslog(pamh, LOG_NOTICE,
	    "session closed for %s on %s: provost session %s, engineer %s",
	    c->account, c->target, c->session_id, c->engineer);
	return PAM_SUCCESS;
}

PP_EXPORT int
pam_sm_chauthtok(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)flags;
	(void)argc;
	(void)argv;
	pam_syslog(pamh, LOG_ERR, "provost tokens cannot be changed");
	return PAM_SERVICE_ERR;
}
