/*
 * backend_monitor.c: the backend of a privilege-separated session process:
 * every call is one request to the monitor (provostd's parent) over the
 * session's socketpair (broker/privsep/protocol.h, docs/privsep.md).  No
 * store, no key: the monitor answers, or refuses and kills this process.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "broker/session/session.h"
#include "broker/privsep/protocol.h"
#include "policy/policy.h"
#include "recorder/recorder.h"

/* A slow store (busy SQLite) is waited for; a dead monitor is not. */
#define BM_DEADLINE_MS 60000

struct bm {
	int sock;
	int lost; /* the monitor closed or failed: every call refuses */
	char addr[MON_ADDR_MAX + 1];
};

/*
 * One request and its answer, of the type the protocol's table says
 * (or MON_ERROR: its code).
 * 0, or a PV_ERR_*; the transport failing marks the monitor lost.
 */
static int
bm_call(struct bm *b, const struct mon_msg *req, struct mon_msg *ans, int *fd)
{
	int want = broker_mon_type_answer((int)req->type);
	uint64_t deadline = pv_mono_ms() + BM_DEADLINE_MS;
	int r;

	if (fd != NULL)
		*fd = -1;
	if (b->lost)
		return PV_ERR_CLOSED;
	if ((r = broker_mon_send(b->sock, req, -1, deadline)) != 0) {
		/* our own encoder refused a field: that request only */
		if (r == PV_ERR_INVALID || r == PV_ERR_LIMIT)
			return r;
		goto lost;
	}
	if ((r = broker_mon_recv(b->sock, ans, fd, deadline)) != 0)
		goto lost;
	if (ans->type == MON_ERROR)
		return ans->u.error.code < 0 ? ans->u.error.code
					     : PV_ERR_INTERNAL;
	if ((int)ans->type != want) {
		if (fd != NULL && *fd >= 0) {
			(void)close(*fd);
			*fd = -1;
		}
		r = PV_ERR_PROTOCOL;
		goto lost;
	}
	return 0;
lost:
	if (!b->lost)
		pv_error("monitor: %s", pv_err_str(r));
	b->lost = 1;
	return r;
}

/* The two messages of a call live on the heap (they are large). */
static int
bm_msgs(struct mon_msg **req, struct mon_msg **ans)
{
	*req = calloc(1, sizeof(**req));
	*ans = calloc(1, sizeof(**ans));
	if (*req == NULL || *ans == NULL) {
		free(*req);
		free(*ans);
		*req = *ans = NULL;
		return PV_ERR_ALLOC;
	}
	return 0;
}

static void
bm_done(struct mon_msg *req, struct mon_msg *ans)
{
	broker_mon_msg_wipe(req);
	broker_mon_msg_wipe(ans);
	free(req);
	free(ans);
}

/* snprintf into a field; PV_ERR_RANGE if it does not fit. */
static int
bm_set(char *dst, size_t len, const char *src)
{
	size_t n = src != NULL ? strlen(src) : 0;

	if (len == 0 || n >= len)
		return PV_ERR_RANGE;
	if (n > 0)
		memcpy(dst, src, n);
	dst[n] = '\0';
	return 0;
}

static int
bm_key_check(void *ctx, const char *engineer, const uint8_t *blob, size_t len)
{
	struct bm *b = ctx;
	struct mon_msg *q, *a;
	int r;

	if (len == 0 || len > MON_BLOB_MAX)
		return PV_DENY;
	if ((r = bm_msgs(&q, &a)) != 0)
		return r;
	q->type = MON_AUTH_PUBKEY;
	if ((r = bm_set(q->u.auth_pubkey.login, sizeof(q->u.auth_pubkey.login),
		 engineer)) != 0 ||
	    (r = bm_set(q->u.auth_pubkey.addr, sizeof(q->u.auth_pubkey.addr),
		 b->addr)) != 0)
		goto out;
	memcpy(q->u.auth_pubkey.blob, blob, len);
	q->u.auth_pubkey.bloblen = len;
	if ((r = bm_call(b, q, a, NULL)) == 0)
		r = (a->u.auth_ans.flags & MON_AUTH_OK) ? PV_ALLOW : PV_DENY;
out:
	bm_done(q, a);
	return r == PV_ERR_INVALID ? PV_DENY : r;
}

static int
bm_totp_check(void *ctx, const char *engineer, const char *code,
    const uint8_t *blob, size_t len, const char *addr)
{
	struct bm *b = ctx;
	struct mon_msg *q, *a;
	int r;

	(void)blob; /* the monitor uses the key it approved, and its address */
	(void)len;
	(void)addr;
	if ((r = bm_msgs(&q, &a)) != 0)
		return r;
	q->type = MON_AUTH_TOTP;
	if ((r = bm_set(q->u.auth_totp.login, sizeof(q->u.auth_totp.login),
		 engineer)) != 0 ||
	    (r = bm_set(
		 q->u.auth_totp.code, sizeof(q->u.auth_totp.code), code)) != 0)
		goto out;
	if ((r = bm_call(b, q, a, NULL)) == 0)
		r = (a->u.auth_ans.flags & MON_AUTH_DONE) ? PV_ALLOW : PV_DENY;
out:
	bm_done(q, a);
	/* not digits, too long: not a code (refused here, not sent) */
	return r == PV_ERR_INVALID || r == PV_ERR_RANGE ? PV_DENY : r;
}

static int
bm_fresh_mfa(
    void *ctx, const char *engineer, const char *target, const char *account)
{
	struct mon_msg *q, *a;
	int r;

	if ((r = bm_msgs(&q, &a)) != 0)
		return r;
	q->type = MON_FRESH_MFA;
	if ((r = bm_set(q->u.fresh_mfa.engineer,
		 sizeof(q->u.fresh_mfa.engineer), engineer)) != 0 ||
	    (r = bm_set(q->u.fresh_mfa.target, sizeof(q->u.fresh_mfa.target),
		 target)) != 0 ||
	    (r = bm_set(q->u.fresh_mfa.account, sizeof(q->u.fresh_mfa.account),
		 account)) != 0)
		goto out;
	if ((r = bm_call(ctx, q, a, NULL)) == 0)
		r = a->u.verdict.allow ? PV_ALLOW : PV_DENY;
out:
	bm_done(q, a);
	/* unsure: ask for the code */
	return r < 0 ? PV_ALLOW : r;
}

static int
bm_mfa_recent(void *ctx, const char *engineer, const uint8_t *blob, size_t len,
    const char *addr, uint64_t grace)
{
	struct bm *b = ctx;
	struct mon_msg *q, *a;
	int r;

	(void)grace; /* the monitor's MFAGrace decides */
	if (len == 0 || len > MON_BLOB_MAX)
		return PV_DENY;
	if ((r = bm_msgs(&q, &a)) != 0)
		return r;
	q->type = MON_MFA_GRACE;
	if ((r = bm_set(q->u.mfa_grace.engineer,
		 sizeof(q->u.mfa_grace.engineer), engineer)) != 0 ||
	    (r = bm_set(q->u.mfa_grace.addr, sizeof(q->u.mfa_grace.addr),
		 addr != NULL ? addr : b->addr)) != 0)
		goto out;
	memcpy(q->u.mfa_grace.blob, blob, len);
	q->u.mfa_grace.bloblen = len;
	if ((r = bm_call(b, q, a, NULL)) == 0)
		r = (a->u.auth_ans.flags & MON_AUTH_DONE) ? PV_ALLOW : PV_DENY;
out:
	bm_done(q, a);
	return r < 0 ? PV_DENY : r;
}

static int
bm_target_get(void *ctx, const char *engineer, const char *name,
    struct broker_target *out)
{
	struct mon_msg *q, *a;
	uint32_t i;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = bm_msgs(&q, &a)) != 0)
		return r;
	q->type = MON_TARGET_GET;
	if ((r = bm_set(q->u.target_get.engineer,
		 sizeof(q->u.target_get.engineer), engineer)) != 0 ||
	    (r = bm_set(q->u.target_get.name, sizeof(q->u.target_get.name),
		 name)) != 0)
		goto out;
	if ((r = bm_call(ctx, q, a, NULL)) != 0)
		goto out;
	const struct mon_target *t = &a->u.target;
	r = PV_ERR_NOT_FOUND;
	if (!t->found || t->naccounts > BROKER_MAX_ACCOUNTS)
		goto out;
	r = PV_ERR_RANGE;
	if (bm_set(out->name, sizeof(out->name), t->name) != 0 ||
	    bm_set(out->host, sizeof(out->host), t->host) != 0 ||
	    bm_set(out->classification, sizeof(out->classification),
		t->classification) != 0 ||
	    bm_set(out->hostkey, sizeof(out->hostkey), t->hostkey) != 0)
		goto out;
	out->auth = t->auth ? BROKER_AUTH_PAM_TOKEN : BROKER_AUTH_CERT;
	out->port = t->port;
	for (i = 0; i < t->naccounts; i++)
		if (bm_set(out->accounts[i], sizeof(out->accounts[i]),
			t->accounts[i]) != 0)
			goto out;
	out->naccounts = (int)t->naccounts;
	r = 0;
out:
	if (r != 0)
		memset(out, 0, sizeof(*out));
	bm_done(q, a);
	return r;
}

static int
bm_decide(
    void *ctx, const struct broker_decide_req *req, struct broker_decision *out)
{
	struct mon_msg *q, *a;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = bm_msgs(&q, &a)) != 0)
		return r;
	struct mon_decide_ch *d = &q->u.decide_ch;
	q->type = MON_DECIDE_CH;
	if ((r = bm_set(d->engineer, sizeof(d->engineer), req->engineer)) !=
		0 ||
	    (r = bm_set(d->target, sizeof(d->target), req->target->name)) !=
		0 ||
	    (r = bm_set(d->account, sizeof(d->account), req->account)) != 0 ||
	    (r = bm_set(d->client, sizeof(d->client), req->client_addr)) != 0 ||
	    (r = bm_set(d->fwd_host, sizeof(d->fwd_host), req->forward_host)) !=
		0)
		goto out;
	d->channel = req->channel;
	d->fwd_port = req->forward_port;
	if ((r = bm_call(ctx, q, a, NULL)) != 0)
		goto out;
	const struct mon_decision_ch *c = &a->u.decision_ch;
	out->permit_pty = c->permit_pty;
	out->permit_forward = c->permit_forward;
	out->channels = c->channels;
	(void)bm_set(out->rule, sizeof(out->rule), c->rule);
	(void)bm_set(out->grant_id, sizeof(out->grant_id), c->grant_id);
	out->grant_ends = c->grant_ends;
	(void)bm_set(out->reason, sizeof(out->reason), c->reason);
	out->transfer = c->transfer;
	out->record_file_contents = c->record_file_contents;
	(void)bm_set(out->moderated, sizeof(out->moderated), c->moderated);
	(void)bm_set(out->notice, sizeof(out->notice), c->notice);
	r = c->outcome == PV_ALLOW ? PV_ALLOW : PV_DENY;
out:
	if (r < 0)
		(void)snprintf(out->reason, sizeof(out->reason),
		    "the decision failed (%s)", pv_err_str(r));
	bm_done(q, a);
	return r;
}

static int
bm_cert_mint(void *ctx, const char *target, struct broker_cert_req *req,
    struct pv_buf *out)
{
	struct mon_msg *q, *a;
	int r;

	if ((r = bm_msgs(&q, &a)) != 0)
		return r;
	struct mon_mint_cert *m = &q->u.mint_cert;
	q->type = MON_MINT_CERT;
	if ((r = bm_set(
		 m->session_id, sizeof(m->session_id), req->session_id)) != 0 ||
	    (r = bm_set(m->target, sizeof(m->target), target)) != 0 ||
	    (r = bm_set(m->principal, sizeof(m->principal), req->principal)) !=
		0 ||
	    (r = bm_set(m->source_address, sizeof(m->source_address),
		 req->source_address)) != 0)
		goto out;
	memcpy(m->pubkey, req->pubkey, sizeof(m->pubkey));
	if ((r = bm_call(ctx, q, a, NULL)) != 0)
		goto out;
	req->serial = a->u.cert_serial.serial;
	r = pv_buf_put(out, a->u.cert_serial.blob, a->u.cert_serial.bloblen);
out:
	bm_done(q, a);
	return r;
}

static int
bm_token_mint(
    void *ctx, const char *target, struct broker_token_req *req, char **token)
{
	struct mon_msg *q, *a;
	int r;

	*token = NULL;
	req->serial = 0;
	if ((r = bm_msgs(&q, &a)) != 0)
		return r;
	q->type = MON_MINT_TOKEN;
	if ((r = bm_set(q->u.mint_token.session_id,
		 sizeof(q->u.mint_token.session_id), req->session_id)) != 0 ||
	    (r = bm_set(q->u.mint_token.target, sizeof(q->u.mint_token.target),
		 target)) != 0 ||
	    (r = bm_set(q->u.mint_token.account,
		 sizeof(q->u.mint_token.account), req->account)) != 0)
		goto out;
	if ((r = bm_call(ctx, q, a, NULL)) != 0)
		goto out;
	req->serial = a->u.token.serial;
	if ((*token = strdup(a->u.token.token)) == NULL)
		r = PV_ERR_ALLOC;
out:
	bm_done(q, a); /* wipes the token's copy in the message */
	return r;
}

static int
bm_session_open(void *ctx, const struct broker_session_row *row)
{
	struct mon_msg *q, *a;
	int r;

	if ((r = bm_msgs(&q, &a)) != 0)
		return r;
	q->type = MON_SESSION_OPEN;
	if ((r = bm_set(q->u.session_open.session_id,
		 sizeof(q->u.session_open.session_id), row->id)) == 0 &&
	    (r = bm_set(q->u.session_open.target,
		 sizeof(q->u.session_open.target), row->target)) == 0 &&
	    (r = bm_set(q->u.session_open.account,
		 sizeof(q->u.session_open.account), row->account)) == 0)
		r = bm_call(ctx, q, a, NULL);
	bm_done(q, a);
	return r;
}

static int
bm_session_close(
    void *ctx, const char *session_id, const struct broker_session_end *end)
{
	struct mon_msg *q, *a;
	int r;

	(void)session_id; /* the monitor knows this session's id */
	if ((r = bm_msgs(&q, &a)) != 0)
		return r;
	struct mon_session_end *e = &q->u.session_end;
	q->type = MON_SESSION_END;
	e->bytes_in = end->bytes_in;
	e->bytes_out = end->bytes_out;
	e->size = end->recording_size;
	e->aborted = end->aborted;
	(void)bm_set(e->reason, sizeof(e->reason),
	    end->reason != NULL && end->reason[0] != '\0' ? end->reason
							  : "ended");
	r = bm_call(ctx, q, a, NULL);
	bm_done(q, a);
	return r;
}

static int
bm_menu(void *ctx, const char *engineer, const char *client,
    const char *command, struct pv_buf *out)
{
	struct mon_msg *q, *a;
	int r;

	(void)engineer; /* the monitor's authenticated engineer */
	(void)client;   /* and the address it accepted */
	if ((r = bm_msgs(&q, &a)) != 0)
		return r;
	q->type = MON_MENU;
	if ((r = bm_set(
		 q->u.menu.command, sizeof(q->u.menu.command), command)) == 0 &&
	    (r = bm_call(ctx, q, a, NULL)) == 0) {
		r = pv_buf_put(out, a->u.menu_out.out, a->u.menu_out.outlen);
		if (r == 0)
			r = (int)a->u.menu_out.status;
	}
	bm_done(q, a);
	return r;
}

static int
bm_audit(
    void *ctx, const char *session_id, const char *event, const char *detail)
{
	struct mon_msg *q, *a;
	json_t *j = NULL;
	char *text = NULL;
	int r;

	if ((r = bm_msgs(&q, &a)) != 0)
		return r;
	q->type = MON_AUDIT;
	r = PV_ERR_ALLOC;
	if ((j = json_pack("{s:s}", "detail", detail)) == NULL ||
	    (text = json_dumps(j, JSON_COMPACT)) == NULL)
		goto out;
	if ((r = bm_set(q->u.audit.action, sizeof(q->u.audit.action), event)) !=
		0 ||
	    (r = bm_set(
		 q->u.audit.details, sizeof(q->u.audit.details), text)) != 0)
		goto out;
	(void)snprintf(q->u.audit.object, sizeof(q->u.audit.object),
	    "session:%s", session_id);
	r = bm_call(ctx, q, a, NULL);
out:
	free(text);
	json_decref(j);
	bm_done(q, a);
	return r;
}

static int
bm_target_connect(void *ctx, const char *engineer, const char *target, int *fd,
    char *why, size_t whylen)
{
	struct mon_msg *q, *a;
	int r;

	*fd = -1;
	why[0] = '\0';
	if ((r = bm_msgs(&q, &a)) != 0)
		return r;
	q->type = MON_TARGET_CONNECT;
	if ((r = bm_set(q->u.target_connect.engineer,
		 sizeof(q->u.target_connect.engineer), engineer)) != 0 ||
	    (r = bm_set(q->u.target_connect.target,
		 sizeof(q->u.target_connect.target), target)) != 0)
		goto out;
	r = bm_call(ctx, q, a, fd);
	if (r != 0 && a->type == MON_ERROR)
		(void)snprintf(why, whylen, "%s", a->u.error.msg);
out:
	bm_done(q, a);
	return r;
}

static int
bm_target_failed(void *ctx, int stage, const char *reason)
{
	struct mon_msg *q, *a;
	size_t i, n;
	int r;

	if ((r = bm_msgs(&q, &a)) != 0)
		return r;
	q->type = MON_TARGET_FAILED;
	q->u.target_failed.stage = stage;
	/* libssh's words, printable and cut to fit */
	n = reason != NULL ? strlen(reason) : 0;
	if (n > MON_REASON_MAX)
		n = MON_REASON_MAX;
	for (i = 0; i < n; i++)
		q->u.target_failed.reason[i] =
		    (unsigned char)reason[i] < 0x20 || reason[i] == 0x7f
		    ? '?'
		    : reason[i];
	if (n == 0)
		(void)snprintf(q->u.target_failed.reason,
		    sizeof(q->u.target_failed.reason), "unknown");
	r = bm_call(ctx, q, a, NULL);
	bm_done(q, a);
	return r;
}

static void
bm_free(void *ctx)
{
	struct bm *b = ctx;

	if (b == NULL)
		return;
	if (b->sock >= 0)
		(void)close(b->sock);
	free(b);
}

static const struct broker_backend_ops bm_ops = {
	.name = "monitor",
	.key_check = bm_key_check,
	.totp_check = bm_totp_check,
	.mfa_recent = bm_mfa_recent,
	.fresh_mfa = bm_fresh_mfa,
	.target_get = bm_target_get,
	.decide = bm_decide,
	.cert_mint = bm_cert_mint,
	.token_mint = bm_token_mint,
	.session_open = bm_session_open,
	.session_close = bm_session_close,
	.menu = bm_menu,
	.audit = bm_audit,
	.free = bm_free,
	.target_connect = bm_target_connect,
	.target_failed = bm_target_failed,
};

int
broker_backend_monitor_new(
    int sock, const char *client_addr, struct broker_backend *out)
{
	struct bm *b;

	memset(out, 0, sizeof(*out));
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return PV_ERR_ALLOC;
	b->sock = sock;
	(void)bm_set(b->addr, sizeof(b->addr), client_addr);
	out->ops = &bm_ops;
	out->ctx = b;
	return 0;
}

int
broker_backend_monitor_rec_open(void *arg, const struct broker_rec_info *info,
    char *path, size_t pathlen, int *fd, struct rec_resume *res)
{
	struct broker_backend *bk = arg;
	struct mon_rec_open_ans *o;
	struct mon_msg *q, *a;
	size_t i, tl;
	int r;

	*fd = -1;
	memset(res, 0, sizeof(*res));
	if (bk->ops != &bm_ops)
		return PV_ERR_INVALID;
	if ((r = bm_msgs(&q, &a)) != 0)
		return r;
	q->type = MON_REC_OPEN;
	q->u.rec_open.cols = info->cols;
	q->u.rec_open.rows = info->rows;
	/* a TERM the protocol cannot carry goes unrecorded, not refused */
	tl = info->term != NULL ? strlen(info->term) : 0;
	for (i = 0; i < tl; i++)
		if ((unsigned char)info->term[i] < 0x20 ||
		    (unsigned char)info->term[i] == 0x7f)
			tl = 0;
	if (tl > 0 && tl <= MON_TERM_MAX)
		memcpy(q->u.rec_open.term, info->term, tl + 1);
	if ((r = bm_set(q->u.rec_open.session_id,
		 sizeof(q->u.rec_open.session_id), info->session_id)) == 0 &&
	    (r = bm_call(bk->ctx, q, a, fd)) == 0 &&
	    (r = bm_set(path, pathlen, a->u.rec_open_ans.path)) != 0) {
		(void)close(*fd);
		*fd = -1;
	}
	if (r == 0) {
		o = &a->u.rec_open_ans;
		memcpy(res->dk, o->dk, sizeof(res->dk));
		memcpy(res->nonce_prefix, o->nonce_prefix,
		    sizeof(res->nonce_prefix));
		memcpy(res->header_sha256, o->header_sha256,
		    sizeof(res->header_sha256));
		res->header_len = o->header_len;
	}
	bm_done(q, a); /* wipes the data key in a */
	return r;
}

int
broker_backend_monitor_sock(const struct broker_backend *bk)
{
	const struct bm *b = bk->ctx;

	return bk->ops == &bm_ops && !b->lost ? b->sock : -1;
}
