/*
 * backend_store.c: the broker's questions answered by the governance store
 * (store/) and the policy (policy/); the CA signs here, nowhere else.
 *
 * These run in the provostd monitor (monitor_srv.c dispatches the session
 * processes' requests to them); SQLite is opened there lazily and reopened
 * when the file is moved or replaced.  The monitor wraps each poll round
 * of requests in one store batch (sb_batch): one commit for many.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "broker/monitor/monitor.h"
#include "pvt/pvt.h"
#include "plugins/plugins.h"
#include "policy/policy.h"
#include "store/store.h"

#define SB_ACTOR "broker"
/* a PostgreSQL server that is away is asked again at most this often */
#define SB_RECONNECT_MS 1000
/* a round trip to PostgreSQL: half of StoreStaleness, within these */
#define SB_LIMIT_MIN_MS 1000
#define SB_LIMIT_MAX_MS 5000

struct sb {
	const struct pv_config *conf;
	const char *db;
	int is_file;       /* SQLite; else PostgreSQL */
	uint64_t retry_ms; /* PostgreSQL away: no new connection before */
	struct store *st;  /* opened lazily, in the process that uses it */
	dev_t st_dev;      /* the file st has open: a store moved away or */
	ino_t st_ino;      /* replaced is not read through the old handle */
	int in_batch;      /* st stays the handle the batch is open on */
	uint64_t gen;      /* PostgreSQL connections opened (LISTEN each) */
	struct policy *pol;
	EVP_PKEY *ca;
	EVP_PKEY *audit;
	EVP_PKEY *token; /* token_ed25519, loaded when first needed */
	struct plugin_host *plugins; /* NULL: no Plugin lines */
	uint64_t event_cursor;       /* the last audit row handed on */
};

/* store_decide's veto: the plugins, when there are any. */
#define SB_VETO(b) ((b)->plugins != NULL ? plugin_host_veto : NULL)

static int
sb_path(const struct pv_config *c, const char *name, char *out, size_t len)
{
	int n = snprintf(out, len, "%s/%s", c->state_dir, name);

	return n > 0 && (size_t)n < len ? 0 : PV_ERR_RANGE;
}

/*
 * How long the monitor waits for PostgreSQL's answer (or a new
 * connection) before it gives the connection up: a server that stopped
 * answering with its TCP connection up would otherwise hold the monitor's
 * loop for ever.  Half of StoreStaleness, so the stale check still runs
 * about in time, and at least a second for a loaded server.
 */
static uint64_t
sb_limit_ms(const struct pv_config *c)
{
	uint64_t ms = c->store_staleness * 1000 / 2;

	if (ms < SB_LIMIT_MIN_MS)
		return SB_LIMIT_MIN_MS;
	return ms > SB_LIMIT_MAX_MS ? SB_LIMIT_MAX_MS : ms;
}

/*
 * The store, opened when first used after a fork.  A SQLite file moved or
 * replaced is not read through the old handle; a PostgreSQL connection
 * the server dropped is closed and opened again, at most once a second
 * while the server stays away (every answer until then is an error:
 * the caller fails closed, and StoreStaleness counts from the last good
 * read).
 */
static struct store *
sb_store(struct sb *b)
{
	char path[4096];
	uint64_t now;
	int r;

	struct stat sbuf;

	if (b->st != NULL) {
		if (b->in_batch)
			return b->st;
		if (!b->is_file) {
			if (store_alive(b->st))
				return b->st;
			pv_warn("store postgresql: the connection to the "
				"server was lost; reconnecting");
		} else if (stat(b->db, &sbuf) == 0 &&
		    sbuf.st_dev == b->st_dev && sbuf.st_ino == b->st_ino)
			return b->st;
		else
			pv_warn("store %s: the file was moved or replaced; "
				"reopening",
			    b->db);
		store_close(b->st);
		b->st = NULL;
	}
	if (b->is_file) {
		if (stat(b->db, &sbuf) != 0) {
			pv_error("store %s: %s", b->db, strerror(errno));
			return NULL;
		}
		b->st_dev = sbuf.st_dev;
		b->st_ino = sbuf.st_ino;
	} else {
		now = pv_mono_ms();
		if (b->retry_ms != 0 && now < b->retry_ms)
			return NULL;
	}
	/* never the connection string in the log: it may hold a password */
	if ((r = store_open_bounded(
		 b->db, b->is_file ? 0 : sb_limit_ms(b->conf), &b->st)) != 0) {
		pv_error("store %s: cannot open: %s",
		    b->is_file ? b->db : "postgresql", pv_err_str(r));
		/* a second from the failure: the attempt may have taken the bound */
		if (!b->is_file)
			b->retry_ms = pv_mono_ms() + SB_RECONNECT_MS;
		return NULL;
	}
	b->retry_ms = 0;
	/*
	 * Every connection listens for revocations (the scan stays the
	 * fallback: one lost here is read by it within half a second).
	 */
	if (!b->is_file) {
		b->gen++;
		if (store_listen(b->st) != 0)
			pv_warn("store postgresql: %s; revocations are read "
				"by the scan alone",
			    store_errmsg(b->st));
	}
	if (store_set_audit_key(b->st, b->audit) != 0 ||
	    sb_path(b->conf, "totp.key", path, sizeof(path)) != 0 ||
	    store_totp_key_load(b->st, path) != 0) {
		pv_error("store: %s", store_errmsg(b->st));
		store_close(b->st);
		b->st = NULL;
	}
	return b->st;
}

static int
sb_key_check(void *ctx, const char *engineer, const uint8_t *blob, size_t len)
{
	struct sb *b = ctx;
	struct store *st = sb_store(b);
	struct store_engineer *e = NULL;
	int r;

	if (st == NULL)
		return PV_ERR_STORE;
	if ((r = store_engineer_get_by_login(st, engineer, &e)) != 0)
		return r == PV_ERR_NOT_FOUND ? PV_DENY : r;
	/* Disabled engineers and blocked providers fail like strangers. */
	if (e->disabled_at != 0 || e->provider_blocked) {
		r = PV_DENY;
		/* after the provider's exit, every try is on the record */
		if (store_exit_of_engineer(st, engineer) == 1) {
			json_t *d = json_pack("{s:s, s:s, s:s}", "engineer",
			    engineer, "provider", e->provider, "what",
			    "a login with a key");
			char obj[128];

			(void)snprintf(
			    obj, sizeof(obj), "engineer:%s", engineer);
			/* store_audit_append takes its own reference */
			(void)store_audit_append(
			    st, "broker", "exit.violation", obj, d);
			json_decref(d);
			pv_warn("login by %s of provider %s after its exit "
				"(audited exit.violation)",
			    engineer, e->provider);
		}
	} else
		r = store_engineer_key_match(st, engineer, blob, len);
	store_engineer_free(e);
	return r;
}

/*
 * MFAGrace: in the store (schema 8), so every broker sharing it honours a
 * code accepted at another, with the same binding: this engineer, the key
 * the monitor approved and the address it saw.
 */
static int
sb_mfa_recent(void *ctx, const char *engineer, const uint8_t *blob, size_t len,
    const char *addr, uint64_t grace)
{
	struct store *st = sb_store(ctx);

	if (st == NULL)
		return PV_DENY;
	return store_mfa_grace_recent(st, engineer, blob, len, addr,
		   (int64_t)time(NULL), grace) == PV_ALLOW
	    ? PV_ALLOW
	    : PV_DENY;
}

static int
sb_fresh_mfa(
    void *ctx, const char *engineer, const char *target, const char *account)
{
	struct sb *b = ctx;
	struct store *st = sb_store(b);
	struct store_target *t = NULL;
	struct store_decision sd;
	size_t i;
	int r = PV_DENY;

	if (st == NULL)
		return PV_ERR_STORE;
	if (store_target_get(st, target, &t) != 0)
		return PV_DENY;
	/* Does the rule that would decide any of its accounts want a code? */
	for (i = 0; i < t->naccounts && r == PV_DENY; i++) {
		if (account[0] != '\0' && strcmp(account, t->accounts[i]) != 0)
			continue;
		struct store_decide_req q = {
			.engineer = engineer,
			.target = target,
			.account = t->accounts[i],
			.channel = POLICY_CH_SHELL,
			.now = (int64_t)time(NULL),
		};
		if (store_decide(st, b->pol, &q, &sd) >= 0 &&
		    sd.d.rule != NULL && sd.d.fresh_mfa)
			r = PV_ALLOW;
		store_decision_clear(&sd);
	}
	store_target_free(t);
	return r;
}

static int
sb_totp_check(void *ctx, const char *engineer, const char *code,
    const uint8_t *blob, size_t len, const char *addr)
{
	struct sb *b = ctx;
	struct store *st = sb_store(b);
	int r;

	if (st == NULL)
		return PV_ERR_STORE;
	r = store_totp_check(st, engineer, code, (int64_t)time(NULL));
	if (r != PV_ALLOW) {
		uint32_t fails;
		int64_t until;

		if (r == PV_DENY &&
		    store_engineer_lock_state(st, engineer, &fails, &until) ==
			0 &&
		    until > (int64_t)time(NULL))
			pv_warn(
			    "engineer %s is locked out after %u wrong codes "
			    "(%s)",
			    engineer, fails,
			    until == STORE_LOCK_FOREVER
				? "until an admin runs provostctl engineer "
				  "unlock"
				: "for a while");
		return r < 0 && r != PV_ERR_NOT_FOUND ? r : PV_DENY;
	}
	/*
	 * Noted whatever this broker's MFAGrace: the broker that is asked
	 * next (this one after a reload, or another on the store) bounds it
	 * by its own.  Not noted: the next login asks for a code.
	 */
	if (store_mfa_grace_note(
		st, engineer, blob, len, addr, (int64_t)time(NULL)) != 0)
		pv_warn("engineer %s: MFAGrace not noted: %s", engineer,
		    store_errmsg(st));
	return PV_ALLOW;
}

static int
sb_target_get(void *ctx, const char *engineer, const char *name,
    struct broker_target *out)
{
	struct store *st = sb_store(ctx);
	struct store_target *t = NULL;
	size_t i;
	int r, n;

	memset(out, 0, sizeof(*out));
	if (st == NULL)
		return PV_ERR_STORE;
	if ((r = store_target_get(st, name, &t)) != 0)
		return r;
	/* Nothing of a target no rule or grant opens to this engineer. */
	if (engineer != NULL &&
	    (r = broker_target_visible(st, ((struct sb *)ctx)->pol, engineer, t,
		 (int64_t)time(NULL))) != PV_ALLOW) {
		r = r < 0 ? r : PV_ERR_NOT_FOUND;
		goto out;
	}
	r = PV_ERR_RANGE;
	if ((t->auth != STORE_AUTH_CERT && t->auth != STORE_AUTH_PAM_TOKEN) ||
	    t->naccounts > BROKER_MAX_ACCOUNTS || t->port == 0 ||
	    t->port > 65535)
		goto out;
	(void)snprintf(out->name, sizeof(out->name), "%s", t->name);
	out->auth = t->auth == STORE_AUTH_PAM_TOKEN ? BROKER_AUTH_PAM_TOKEN
						    : BROKER_AUTH_CERT;
	n = snprintf(out->host, sizeof(out->host), "%s", t->host);
	if (n < 0 || (size_t)n >= sizeof(out->host))
		goto out;
	out->port = (uint16_t)t->port;
	(void)snprintf(out->classification, sizeof(out->classification), "%s",
	    t->classification);
	n = snprintf(out->hostkey, sizeof(out->hostkey), "%s",
	    t->hostkey ? t->hostkey : "");
	if (n < 0 || (size_t)n >= sizeof(out->hostkey))
		goto out;
	for (i = 0; i < t->naccounts; i++)
		(void)snprintf(out->accounts[i], sizeof(out->accounts[i]), "%s",
		    t->accounts[i]);
	out->naccounts = (int)t->naccounts;
	r = 0;
out:
	store_target_free(t);
	return r;
}

/*
 * The address alone out of the monitor's "ADDR port N" for a plugin's
 * veto (OperateFrom); NULL when there is none.
 */
static const char *
sb_source(const char *client, char *buf, size_t len)
{
	const char *p;

	if (client == NULL || client[0] == '\0' || strcmp(client, "?") == 0)
		return NULL;
	p = strstr(client, " port ");
	(void)snprintf(buf, len, "%.*s",
	    (int)(p != NULL ? (size_t)(p - client) : strlen(client)), client);
	return buf;
}

static int
sb_decide(
    void *ctx, const struct broker_decide_req *req, struct broker_decision *out)
{
	struct sb *b = ctx;
	struct store *st = sb_store(b);
	struct store_decision sd;
	const struct policy_decision *d = &sd.d;
	char src[80];
	int r;

	memset(out, 0, sizeof(*out));
	if (st == NULL)
		return PV_ERR_STORE;
	struct store_decide_req q = {
		.engineer = req->engineer,
		.target = req->target->name,
		.account = req->account,
		.channel = req->channel,
		.now = req->now,
		.source = sb_source(req->client_addr, src, sizeof(src)),
		.veto = SB_VETO(b),
		.veto_ctx = b->plugins,
	};
	r = store_decide(st, b->pol, &q, &sd);
	if (r < 0)
		goto out;
	/* the monitor's own word that a plugin refused (fail closed) */
	if (store_decide_audit(st, SB_ACTOR, &q, &sd) != 0) {
		r = PV_ERR_STORE;
		goto out;
	}
	(void)snprintf(
	    out->rule, sizeof(out->rule), "%s", d->rule != NULL ? d->rule : "");
	(void)snprintf(out->reason, sizeof(out->reason), "%s", sd.reason);
	/* A grant bounds the session unless the rule is standing access. */
	if (sd.g != NULL && d->outcome == POLICY_ALLOW &&
	    d->approval != POLICY_APPROVAL_NONE) {
		(void)snprintf(
		    out->grant_id, sizeof(out->grant_id), "%s", sd.g->id);
		out->grant_ends = sd.g->not_after;
	}
	/* A forward goes only where the rule's ForwardTo lets it. */
	if (r == PV_ALLOW && req->channel == POLICY_CH_FORWARD &&
	    (req->forward_host == NULL ||
		policy_forward_allowed(
		    d, req->forward_host, req->forward_port) != PV_ALLOW)) {
		int n = snprintf(out->reason, sizeof(out->reason),
		    "rule %s does not allow forwarding to %.100s:%u", out->rule,
		    req->forward_host != NULL ? req->forward_host : "?",
		    req->forward_port);

		if (n < 0)
			out->reason[0] = '\0';
		r = PV_DENY;
	}
	out->channels = d->channels;
	out->permit_pty = (d->channels & POLICY_CH_SHELL) != 0;
	/* ssh -R listens only where RemoteForwardListen lets it. */
	if (r == PV_ALLOW && req->channel == POLICY_CH_REMOTE_FORWARD &&
	    (req->forward_host == NULL ||
		policy_remote_forward_allowed(
		    d, req->forward_host, req->forward_port) != PV_ALLOW)) {
		int n = snprintf(out->reason, sizeof(out->reason),
		    "rule %s does not allow remote forwarding from "
		    "%.100s:%u",
		    out->rule,
		    req->forward_host != NULL ? req->forward_host : "?",
		    req->forward_port);

		if (n < 0)
			out->reason[0] = '\0';
		r = PV_DENY;
	}
	out->permit_forward =
	    (d->channels & (POLICY_CH_FORWARD | POLICY_CH_REMOTE_FORWARD)) != 0;
	out->transfer = d->transfer;
	out->record_file_contents = d->record_file_contents;
	(void)snprintf(out->moderated, sizeof(out->moderated), "%s",
	    r == PV_ALLOW && d->moderated != NULL ? d->moderated : "");
	(void)snprintf(out->notice, sizeof(out->notice), "%s",
	    r == PV_ALLOW ? sd.notice : "");
out:
	store_decision_clear(&sd);
	return r;
}

static int
sb_cert_mint(void *ctx, const char *target, struct broker_cert_req *req,
    struct pv_buf *out)
{
	struct sb *b = ctx;
	struct store *st = sb_store(b);
	char keyid[256];
	int r, n;

	if (st == NULL)
		return PV_ERR_STORE;
	n = snprintf(keyid, sizeof(keyid), "provost:%s:%s", req->session_id,
	    req->engineer);
	if (n < 0 || (size_t)n >= sizeof(keyid))
		return PV_ERR_RANGE;
	/* Recorded before it is signed: no certificate goes unaccounted. */
	if ((r = store_credential_record(st, SB_ACTOR, STORE_CRED_CERT, keyid,
		 req->principal, req->engineer, target, req->session_id,
		 req->now - BROKER_CERT_BACKDATE,
		 req->now + (int64_t)req->lifetime, &req->serial)) != 0) {
		pv_error("credential: %s", store_errmsg(st));
		return r;
	}
	return broker_cert_mint(b->ca, req, out);
}

/* A pvt1 token for a pam-token target: recorded first, then signed. */
static int
sb_token_mint(
    void *ctx, const char *target, struct broker_token_req *req, char **token)
{
	struct sb *b = ctx;
	struct store *st = sb_store(b);
	struct pvt_claims c;
	char keyid[256], path[4096];
	uint64_t life = req->lifetime;
	int r, n;

	*token = NULL;
	req->serial = 0;
	if (st == NULL)
		return PV_ERR_STORE;
	if (life == 0)
		return PV_ERR_INVALID;
	if (life > PVT_LIFETIME_MAX)
		life = PVT_LIFETIME_MAX;
	if (b->token == NULL &&
	    ((r = sb_path(b->conf, "token_ed25519", path, sizeof(path))) != 0 ||
		(r = pv_sshkey_load_private(path, &b->token)) != 0)) {
		pv_error("token key %s: %s", path, pv_err_str(r));
		return r;
	}
	n = snprintf(keyid, sizeof(keyid), "provost:%s:%s", req->session_id,
	    req->engineer);
	if (n < 0 || (size_t)n >= sizeof(keyid))
		return PV_ERR_RANGE;
	if ((r = store_credential_record(st, SB_ACTOR, STORE_CRED_TOKEN, keyid,
		 req->account, req->engineer, target, req->session_id, req->now,
		 req->now + (int64_t)life, &req->serial)) != 0) {
		pv_error("credential: %s", store_errmsg(st));
		return r;
	}
	if ((r = pvt_claims_init(&c, req->engineer, req->account, target,
		 req->session_id, req->grant_id, req->serial, req->now,
		 (uint32_t)life)) != 0)
		return r;
	r = pvt_issue(b->token, &c, token);
	OPENSSL_cleanse(&c, sizeof(c));
	return r;
}

struct sb_revoke {
	char objs[4][128];
	char *why;
	size_t whylen;
	int hit;
};

static int
sb_revoke_row(void *ctx, const struct store_revocation *r)
{
	struct sb_revoke *v = ctx;
	int i;

	for (i = 0; i < 4; i++) {
		if (v->objs[i][0] != '\0' &&
		    strcmp(r->object, v->objs[i]) == 0 && !v->hit) {
			(void)snprintf(v->why, v->whylen,
			    "access revoked (%s %s)%s%s%s%s", r->action,
			    r->object,
			    r->reason != NULL && r->reason[0] != '\0' ? ": "
								      : "",
			    r->reason != NULL ? r->reason : "",
			    r->actor != NULL ? "; asked by " : "",
			    r->actor != NULL ? r->actor : "");
			pv_str_printable(v->why);
			v->hit = 1;
		}
	}
	return 0;
}

static int
sb_revoked(void *ctx, const char *engineer, const char *grant_id,
    const char *session_id, uint64_t *cursor, char *why, size_t whylen)
{
	struct sb *b = ctx;
	struct store *st = sb_store(b);
	struct store_engineer *e = NULL;
	struct sb_revoke v;
	int r;

	if (st == NULL)
		return PV_ERR_STORE;
	if (*cursor == 0)
		return store_audit_head(st, cursor) == 0 ? PV_DENY
							 : PV_ERR_STORE;
	memset(&v, 0, sizeof(v));
	v.why = why;
	v.whylen = whylen;
	(void)snprintf(v.objs[0], sizeof(v.objs[0]), "engineer:%s", engineer);
	if (grant_id != NULL && grant_id[0] != '\0')
		(void)snprintf(
		    v.objs[1], sizeof(v.objs[1]), "grant:%s", grant_id);
	(void)snprintf(v.objs[2], sizeof(v.objs[2]), "session:%s", session_id);
	if (store_engineer_get_by_login(st, engineer, &e) == 0 &&
	    e->provider != NULL)
		(void)snprintf(
		    v.objs[3], sizeof(v.objs[3]), "provider:%s", e->provider);
	store_engineer_free(e);
	if ((r = store_revoked_since(st, cursor, sb_revoke_row, &v)) != 0)
		return r;
	return v.hit ? PV_ALLOW : PV_DENY;
}

static int
sb_revocation_count(void *ctx, const struct store_revocation *r)
{
	(void)r;
	(*(int *)ctx)++;
	return 0;
}

static int
sb_revocations(void *ctx, uint64_t *cursor)
{
	struct store *st = sb_store(ctx);
	int n = 0, r;

	if (st == NULL)
		return PV_ERR_STORE;
	if (*cursor == 0)
		return store_audit_head(st, cursor) == 0 ? 0 : PV_ERR_STORE;
	if ((r = store_revoked_since(st, cursor, sb_revocation_count, &n)) != 0)
		return r;
	return n;
}

static int
sb_notify_fd(void *ctx, uint64_t *gen)
{
	struct sb *b = ctx;

	*gen = b->gen;
	return b->is_file ? -1 : store_listen_fd(b->st);
}

/* Never opens the store: a connection that is not there heard nothing. */
static int
sb_notified(void *ctx, int read)
{
	struct sb *b = ctx;

	if (b->is_file || b->st == NULL || !store_alive(b->st))
		return 0;
	return store_heard(b->st, read);
}

struct sb_anchor {
	void (*cb)(void *cbctx, uint64_t seq, const char *json);
	void *cbctx;
	uint64_t *after;
};

static int
sb_anchor_one(void *ctx, const struct store_anchor *a)
{
	struct sb_anchor *x = ctx;
	char *j = store_anchor_json(a);

	if (j == NULL)
		return PV_ERR_ALLOC;
	x->cb(x->cbctx, a->seq, j);
	free(j);
	*x->after = a->seq;
	return 0;
}

static int
sb_audit_anchors(void *ctx, uint64_t *after,
    void (*cb)(void *cbctx, uint64_t seq, const char *json), void *cbctx)
{
	struct store *st = sb_store(ctx);
	struct sb_anchor x = { cb, cbctx, after };

	if (st == NULL)
		return PV_ERR_STORE;
	return store_audit_anchors(st, *after, sb_anchor_one, &x);
}

struct sb_sources {
	void (*cb)(void *cbctx, const char *addr, int64_t last);
	void *cbctx;
};

static int
sb_source_one(void *ctx, const char *addr, int64_t last)
{
	struct sb_sources *x = ctx;

	x->cb(x->cbctx, addr, last);
	return 0;
}

static int
sb_recent_sources(void *ctx, int64_t since,
    void (*cb)(void *cbctx, const char *addr, int64_t last), void *cbctx)
{
	struct store *st = sb_store(ctx);
	struct sb_sources x = { cb, cbctx };

	if (st == NULL)
		return PV_ERR_STORE;
	return store_recent_sources(st, since, sb_source_one, &x);
}

struct sb_member {
	const char *name, *group;
	int found;
};

static int
sb_member_one(void *ctx, const struct store_approver *a)
{
	struct sb_member *x = ctx;

	if (strcmp(a->name, x->name) == 0 && strcmp(a->group, x->group) == 0)
		x->found = 1;
	return 0;
}

static int
sb_approver_in_group(void *ctx, const char *name, const char *group)
{
	struct store *st = sb_store(ctx);
	struct sb_member x = { name, group, 0 };
	int r;

	if (st == NULL)
		return PV_ERR_STORE;
	if ((r = store_approver_list(st, sb_member_one, &x)) != 0)
		return r;
	return x.found ? PV_ALLOW : PV_DENY;
}

static int
sb_menu(void *ctx, const char *engineer, const char *client,
    const char *command, struct pv_buf *out)
{
	struct sb *b = ctx;
	struct store *st = sb_store(b);
	char src[80];

	if (st == NULL)
		return PV_ERR_STORE;
	struct broker_menu_ctx m = {
		.st = st,
		.pol = b->pol,
		.veto = SB_VETO(b),
		.veto_ctx = b->plugins,
		.source = sb_source(client, src, sizeof(src)),
	};
	return broker_menu_run(&m, engineer, command, (int64_t)time(NULL), out);
}

static int
sb_approver_key_check(
    void *ctx, const char *name, const uint8_t *blob, size_t len)
{
	struct store *st = sb_store(ctx);
	int r;

	if (st == NULL)
		return PV_ERR_STORE;
	r = store_approver_key_match(st, name, blob, len);
	return r == PV_ERR_NOT_FOUND ? PV_DENY : r;
}

static int
sb_approver_totp_check(
    void *ctx, const char *name, const char *code, const char *addr)
{
	struct store *st = sb_store(ctx);
	int r;

	if (st == NULL)
		return PV_ERR_STORE;
	r = store_approver_totp_check(st, name, code, (int64_t)time(NULL));
	if (r != PV_ALLOW) {
		pv_info("approver %s from %s: code refused", name, addr);
		return r < 0 && r != PV_ERR_NOT_FOUND ? r : PV_DENY;
	}
	return PV_ALLOW;
}

static int
sb_approver_menu(void *ctx, const char *approver, const char *addr,
    const char *session_id, const char *command, struct pv_buf *out)
{
	struct sb *b = ctx;
	struct store *st = sb_store(b);

	if (st == NULL)
		return PV_ERR_STORE;
	struct broker_menu_ctx m = {
		.st = st,
		.pol = b->pol,
	};
	return broker_menu_approver_run(
	    &m, approver, addr, session_id, command, (int64_t)time(NULL), out);
}

static int
sb_audit(
    void *ctx, const char *session_id, const char *event, const char *detail)
{
	struct store *st = sb_store(ctx);
	char object[64];
	json_t *j;
	int r;

	if (st == NULL)
		return PV_ERR_STORE;
	(void)snprintf(object, sizeof(object), "session:%s", session_id);
	if ((j = json_pack("{s:s}", "detail", detail)) == NULL)
		return PV_ERR_ALLOC;
	/* store_audit_append takes its own reference */
	if ((r = store_audit_append(st, SB_ACTOR, event, object, j)) != 0)
		pv_error("audit: %s", store_errmsg(st));
	json_decref(j);
	return r;
}

static int
sb_session_open(void *ctx, const struct broker_session_row *row)
{
	struct store *st = sb_store(ctx);
	char id[PV_UUID_LEN + 1];
	int r;

	if (st == NULL)
		return PV_ERR_STORE;
	struct store_session_info in = {
		.id = row->id,
		.engineer = row->engineer,
		.target = row->target,
		.account = row->account,
		.grant_id = row->grant_id,
		.rule = row->rule,
		.client_addr = row->client_addr,
		.recording_path = row->recording_path,
		.broker = ((struct sb *)ctx)->conf->broker_name,
		.recording_header_sha256 = row->recording_header_sha256,
	};
	if ((r = store_session_open(st, &in, (int64_t)time(NULL), id)) != 0)
		pv_error("session row: %s", store_errmsg(st));
	return r;
}

static int
sb_session_close(
    void *ctx, const char *session_id, const struct broker_session_end *end)
{
	struct store *st = sb_store(ctx);
	int r;

	if (st == NULL)
		return PV_ERR_STORE;
	struct store_session_end e = {
		.bytes_in = end->bytes_in,
		.bytes_out = end->bytes_out,
		.recording_sha256 = end->recording_sha256,
		.recording_size = end->recording_size,
		.reason = end->reason,
		.aborted = end->aborted,
	};
	if ((r = store_session_close(
		 st, session_id, &e, (int64_t)time(NULL))) != 0)
		pv_error("session row: %s", store_errmsg(st));
	return r;
}

static int
sb_batch(void *ctx, int begin)
{
	struct sb *b = ctx;
	struct store *st;
	int r;

	if (begin) {
		if (b->in_batch || (st = sb_store(b)) == NULL)
			return PV_ERR_STORE;
		if ((r = store_batch_begin(st)) != 0)
			return r;
		b->in_batch = 1;
		return 0;
	}
	if (!b->in_batch)
		return PV_ERR_INVALID;
	b->in_batch = 0;
	if ((r = store_batch_end(b->st)) != 0)
		pv_error("store: the batch was not committed: %s",
		    store_errmsg(b->st));
	return r;
}

static void
sb_free(void *ctx)
{
	struct sb *b = ctx;

	if (b == NULL)
		return;
	store_close(b->st);
	policy_free(b->pol);
	EVP_PKEY_free(b->audit);
	EVP_PKEY_free(b->token);
	plugin_host_free(b->plugins);
	free(b);
}

static const struct broker_backend_ops sb_ops = {
	.name = "store",
	.key_check = sb_key_check,
	.totp_check = sb_totp_check,
	.mfa_recent = sb_mfa_recent,
	.fresh_mfa = sb_fresh_mfa,
	.target_get = sb_target_get,
	.audit_anchors = sb_audit_anchors,
	.recent_sources = sb_recent_sources,
	.decide = sb_decide,
	.cert_mint = sb_cert_mint,
	.token_mint = sb_token_mint,
	.session_open = sb_session_open,
	.session_close = sb_session_close,
	.menu = sb_menu,
	.approver_key_check = sb_approver_key_check,
	.approver_totp_check = sb_approver_totp_check,
	.approver_menu = sb_approver_menu,
	.revoked = sb_revoked,
	.revocations = sb_revocations,
	.notify_fd = sb_notify_fd,
	.notified = sb_notified,
	.audit = sb_audit,
	.batch = sb_batch,
	.free = sb_free,
	.approver_in_group = sb_approver_in_group,
};

int
broker_backend_store_new(
    const struct pv_config *conf, EVP_PKEY *ca, struct broker_backend *out)
{
	struct sb *b;
	char path[4096], err[PV_CONF_ERR_MAX];
	uint64_t head = 0;
	int r;

	memset(out, 0, sizeof(*out));
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return PV_ERR_ALLOC;
	b->conf = conf;
	b->ca = ca;
	if ((r = pv_config_store_path(conf, &b->db)) != 0) {
		pv_error(
		    "Store %s: only sqlite: stores are supported", conf->store);
		goto fail;
	}
	b->is_file = store_where_is_file(b->db);
	if ((r = policy_load_file(
		 conf->policy_file, &b->pol, err, sizeof(err))) != 0) {
		pv_error("%s", err);
		goto fail;
	}
	if ((r = sb_path(conf, "audit_ed25519", path, sizeof(path))) != 0 ||
	    (r = pv_sshkey_load_private(path, &b->audit)) != 0) {
		pv_error("%s: %s", path, pv_err_str(r));
		goto fail;
	}
	/* Loaded before any fork or privilege drop; pam-token targets need it */
	if (sb_path(conf, "token_ed25519", path, sizeof(path)) == 0 &&
	    access(path, F_OK) == 0 &&
	    (r = pv_sshkey_load_private(path, &b->token)) != 0) {
		pv_error("%s: %s", path, pv_err_str(r));
		goto fail;
	}
	if (b->is_file && access(b->db, R_OK | W_OK) != 0) {
		pv_error("%s: no store (run provostctl init first)", b->db);
		r = PV_ERR_CONFIG;
		goto fail;
	}
	if (sb_store(b) == NULL) {
		r = PV_ERR_STORE;
		goto fail;
	}
	/* opening made the schema; provostctl init makes the store */
	if (!b->is_file &&
	    ((r = store_audit_head(b->st, &head)) != 0 || head == 0)) {
		pv_error("Store postgresql: %s",
		    r != 0 ? store_errmsg(b->st)
			   : "no store (run provostctl init first)");
		r = r != 0 ? r : PV_ERR_CONFIG;
		goto fail;
	}
	out->ops = &sb_ops;
	out->ctx = b;
	return 0;
fail:
	sb_free(b);
	return r;
}

/*
 * A reload: the policy every decision uses from now on (the backend owns
 * it), and the config.reload audit row.
 */
int
broker_backend_store_reload(
    struct broker_backend *bk, struct policy *pol, const char *detail)
{
	struct sb *b = bk->ctx;
	struct store *st;
	json_t *j;
	int r;

	if (pol != NULL) {
		policy_free(b->pol);
		b->pol = pol;
	}
	if ((st = sb_store(b)) == NULL)
		return PV_ERR_STORE;
	if ((j = json_pack("{s:s}", "detail", detail)) == NULL)
		return PV_ERR_ALLOC;
	if ((r = store_audit_append(
		 st, SB_ACTOR, "config.reload", "provostd", j)) != 0)
		pv_error("audit: %s", store_errmsg(st));
	json_decref(j);
	return r;
}

int
broker_backend_store_detach(struct broker_backend *bk)
{
	struct sb *b = bk->ctx;

	store_close(b->st);
	b->st = NULL;
	b->in_batch = 0;
	return 0;
}

/* At start-up: sessions a crash left open are marked aborted. */
int
broker_backend_store_recover(struct broker_backend *bk)
{
	struct store *st = sb_store(bk->ctx);
	int n = 0, r;

	if (st == NULL)
		return PV_ERR_STORE;
	if ((r = store_session_mark_aborted_open(st,
		 ((struct sb *)bk->ctx)->conf->broker_name, (int64_t)time(NULL),
		 &n)) != 0)
		return r;
	if (n > 0)
		pv_warn("%d session(s) left open by a crash marked aborted", n);
	return 0;
}

struct store *
broker_backend_store_handle(struct broker_backend *bk)
{
	return sb_store(bk->ctx);
}

int
broker_backend_store_set_plugins(
    struct broker_backend *bk, struct plugin_host *h)
{
	struct sb *b = bk->ctx;
	struct store *st;

	if ((st = sb_store(b)) == NULL)
		return PV_ERR_STORE;
	plugin_host_free(b->plugins);
	b->plugins = h;
	/* Events are what happens from now on. */
	return store_audit_head(st, &b->event_cursor);
}

void
broker_backend_store_wipe_keys(struct broker_backend *bk)
{
	struct sb *b = bk->ctx;

	EVP_PKEY_free(b->audit);
	EVP_PKEY_free(b->token);
	b->audit = NULL;
	b->token = NULL;
}

void
broker_backend_store_forget(struct broker_backend *bk)
{
	struct sb *b = bk->ctx;

	store_forget(b->st);
	b->st = NULL;
	b->in_batch = 0;
	broker_backend_store_wipe_keys(bk);
}

/* "session.open" -> PROVOST_EVENT_SESSION_START, ...; 0: not an event. */
static int
sb_event_kind(const char *action)
{
	static const struct {
		const char *action;
		enum provost_event_kind kind;
	} map[] = {
		{ "session.open", PROVOST_EVENT_SESSION_START },
		{ "session.close", PROVOST_EVENT_SESSION_END },
		{ "session.abort", PROVOST_EVENT_SESSION_END },
		{ "session.aborted", PROVOST_EVENT_SESSION_END },
		{ "session.recover", PROVOST_EVENT_SESSION_END },
		{ "engineer.disable", PROVOST_EVENT_REVOKE },
		{ "engineer.revoke", PROVOST_EVENT_REVOKE },
		{ "provider.revoke", PROVOST_EVENT_REVOKE },
		{ "provider.status", PROVOST_EVENT_REVOKE },
		{ "credential.revoke", PROVOST_EVENT_REVOKE },
		{ "session.kill", PROVOST_EVENT_REVOKE },
		{ "grant.revoke", PROVOST_EVENT_REVOKE },
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (strcmp(action, map[i].action) == 0)
			return (int)map[i].kind;
	}
	if (strncmp(action, "grant.", 6) == 0)
		return PROVOST_EVENT_GRANT;
	if (strncmp(action, "exit.", 5) == 0)
		return PROVOST_EVENT_EXIT;
	return 0;
}

static int
sb_event_row(void *ctx, const struct store_audit_row *row)
{
	struct sb *b = ctx;
	const char *colon;
	json_t *d, *full;
	char *text;
	int kind = row->action != NULL ? sb_event_kind(row->action) : 0;

	if (kind == 0)
		return 0;
	d = row->details != NULL ? json_loads(row->details, 0, NULL) : NULL;
	/* The plugin sees the action and actor with the details. */
	full = json_pack("{s:s, s:s?, s:s?, s:O?}", "action", row->action,
	    "actor", row->actor, "object", row->object, "details", d);
	text = full != NULL ? json_dumps(full, JSON_COMPACT | JSON_SORT_KEYS)
			    : NULL;
	colon = row->object != NULL ? strchr(row->object, ':') : NULL;
	struct provost_event ev = {
		.kind = (enum provost_event_kind)kind,
		.time = row->ts_ms / 1000,
		.provider = json_string_value(json_object_get(d, "provider")),
		.engineer = json_string_value(json_object_get(d, "engineer")),
		.target = json_string_value(json_object_get(d, "target")),
		.object_id = colon != NULL ? colon + 1 : row->object,
		.details_json = text,
	};
	plugin_host_event(b->plugins, &ev);
	free(text);
	json_decref(full);
	json_decref(d);
	return 0;
}

int
broker_backend_store_plugin_audit(void *ctx, const char *plugin,
    const char *action, const char *object, const char *details_json)
{
	struct broker_backend *bk = ctx;
	struct sb *b = bk->ctx;
	struct store *st = sb_store(b);
	char actor[80];
	json_t *d = NULL;
	int r;

	if (st == NULL)
		return PV_ERR_STORE;
	if (details_json != NULL &&
	    (d = json_loads(details_json, 0, NULL)) == NULL)
		return PV_ERR_INVALID;
	(void)snprintf(actor, sizeof(actor), "plugin:%.64s", plugin);
	if ((r = store_audit_append(
		 st, actor, action, object != NULL ? object : "", d)) != 0)
		pv_error("audit: %s", store_errmsg(st));
	json_decref(d);
	return r;
}

int
broker_backend_store_events(struct broker_backend *bk)
{
	struct sb *b = bk->ctx;
	struct store *st;

	if (b->plugins == NULL || b->in_batch)
		return 0;
	plugin_host_poll(b->plugins);
	if ((st = sb_store(b)) == NULL)
		return PV_ERR_STORE;
	return store_audit_since(st, &b->event_cursor, sb_event_row, b);
}
