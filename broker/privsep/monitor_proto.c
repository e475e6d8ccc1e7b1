/*
 * monitor_proto.c: the monitor protocol's frames and messages (encode and
 * decode through pv_buf, every field checked) and its order rules.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "broker/privsep/protocol.h"

/* Field classes: what bytes a string field may hold. */
enum mon_class {
	MC_NAME = 0, /* [a-z0-9._-], starts with a letter or digit */
	MC_NAME0,    /* as MC_NAME, may be empty */
	MC_HOST,     /* [A-Za-z0-9.:-] host name or address */
	MC_LOGIN,    /* names joined by '+' and '@' */
	MC_ADDR,     /* an IPv4/IPv6 address (with %scope) */
	MC_CODE,     /* digits */
	MC_TEXT,     /* printable: no control bytes */
	MC_TEXT0,    /* as MC_TEXT, may be empty */
	MC_JSON,     /* {...} without control bytes */
	MC_SHA256,   /* "" or 64 lower-case hex digits */
	MC_UUID,     /* a lower-case UUID */
	MC_HOST0,    /* as MC_HOST, may be empty */
	MC_BYTES0,   /* any bytes but NUL, may be empty */
};

static const char *const type_names[MON_TYPE_MAX_ + 1] = {
	[MON_AUTH_PUBKEY] = "auth-pubkey",
	[MON_AUTH_PUBKEY_ANS] = "auth-pubkey-answer",
	[MON_AUTH_TOTP] = "auth-totp",
	[MON_AUTH_TOTP_ANS] = "auth-totp-answer",
	[MON_DECIDE] = "decide",
	[MON_DECISION] = "decision",
	[MON_MINT] = "mint-certificate",
	[MON_CERT] = "certificate",
	[MON_REC_OPEN] = "open-recording",
	[MON_REC_OPEN_ANS] = "open-recording-answer",
	[MON_AUDIT] = "audit-append",
	[MON_AUDIT_ACK] = "audit-ack",
	[MON_SESSION_END] = "session-end",
	[MON_SESSION_END_ACK] = "session-end-ack",
	[MON_ERROR] = "error",
	[MON_MFA_GRACE] = "mfa-grace",
	[MON_MFA_GRACE_ANS] = "mfa-grace-answer",
	[MON_FRESH_MFA] = "fresh-mfa",
	[MON_FRESH_MFA_ANS] = "fresh-mfa-answer",
	[MON_TARGET_GET] = "target-get",
	[MON_TARGET] = "target",
	[MON_DECIDE_CH] = "decide-channel",
	[MON_DECISION_CH] = "channel-decision",
	[MON_MINT_CERT] = "mint-cert",
	[MON_CERT_SERIAL] = "cert-serial",
	[MON_MINT_TOKEN] = "mint-token",
	[MON_TOKEN] = "token",
	[MON_SESSION_OPEN] = "session-open",
	[MON_SESSION_OPEN_ACK] = "session-open-ack",
	[MON_MENU] = "menu",
	[MON_MENU_OUT] = "menu-output",
};

const char *
broker_mon_type_name(int type)
{
	return type >= 1 && type <= MON_TYPE_MAX_ ? type_names[type] : NULL;
}

int
broker_mon_type_is_request(int type)
{
	/* Requests are odd, their answers the next even number. */
	if (type >= MON_AUTH_PUBKEY && type <= MON_SESSION_END)
		return (type & 1) == 1;
	return type >= MON_MFA_GRACE && type <= MON_TYPE_MAX_ &&
	    (type & 1) == 1;
}

int
broker_mon_type_has_fd(int type)
{
	return type == MON_REC_OPEN_ANS;
}

static int
name_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
	    c == '_' || c == '-';
}

static int
class_ok(enum mon_class cl, const char *s, size_t len)
{
	size_t i;
	int c;

	if (len == 0)
		return cl == MC_TEXT0 || cl == MC_SHA256 || cl == MC_NAME0 ||
		    cl == MC_HOST0 || cl == MC_BYTES0;
	if (cl == MC_NAME0)
		cl = MC_NAME;
	if (cl == MC_HOST0)
		cl = MC_HOST;
	if (cl == MC_BYTES0)
		return 1; /* NUL was refused by the caller */
	switch (cl) {
	case MC_SHA256:
		if (len != MON_SHA256_HEX)
			return 0;
		for (i = 0; i < len; i++)
			if (!((s[i] >= '0' && s[i] <= '9') ||
				(s[i] >= 'a' && s[i] <= 'f')))
				return 0;
		return 1;
	case MC_UUID:
		return len == PV_UUID_LEN && pv_uuid_valid(s);
	case MC_JSON:
		if (s[0] != '{' || s[len - 1] != '}')
			return 0;
		break;
	case MC_NAME:
	case MC_LOGIN:
		if (!((s[0] >= 'a' && s[0] <= 'z') ||
			(s[0] >= '0' && s[0] <= '9')))
			return 0;
		break;
	default:
		break;
	}
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		switch (cl) {
		case MC_NAME:
			if (!name_char(c))
				return 0;
			break;
		case MC_LOGIN:
			if (!name_char(c) && c != '+' && c != '@')
				return 0;
			break;
		case MC_ADDR:
			if (!((c >= '0' && c <= '9') ||
				(c >= 'a' && c <= 'f') ||
				(c >= 'A' && c <= 'F') || c == '.' ||
				c == ':' || c == '%'))
				return 0;
			break;
		case MC_CODE:
			if (c < '0' || c > '9')
				return 0;
			break;
		case MC_HOST:
			if (!((c >= '0' && c <= '9') ||
				(c >= 'a' && c <= 'z') ||
				(c >= 'A' && c <= 'Z') || c == '.' ||
				c == ':' || c == '-'))
				return 0;
			break;
		default: /* text and JSON: no control bytes */
			if (c < 0x20 || c == 0x7f)
				return 0;
			break;
		}
	}
	return 1;
}

/* A string field into dst[max + 1], NUL-terminated, of class cl. */
static int
get_str(struct pv_buf *b, char *dst, size_t max, enum mon_class cl)
{
	const uint8_t *p;
	size_t len;

	if (pv_buf_get_string_direct(b, &p, &len) != 0 || len > max ||
	    memchr(p, '\0', len) != NULL)
		return PV_ERR_PROTOCOL;
	memcpy(dst, p, len);
	dst[len] = '\0';
	return class_ok(cl, dst, len) ? 0 : PV_ERR_PROTOCOL;
}

static int
get_blob(struct pv_buf *b, uint8_t *dst, size_t max, size_t *outlen)
{
	const uint8_t *p;
	size_t len;

	if (pv_buf_get_string_direct(b, &p, &len) != 0 || len == 0 || len > max)
		return PV_ERR_PROTOCOL;
	memcpy(dst, p, len);
	*outlen = len;
	return 0;
}

/* As get_blob, of exactly len bytes. */
static int
get_fixed(struct pv_buf *b, uint8_t *dst, size_t want)
{
	const uint8_t *p;
	size_t len;

	if (pv_buf_get_string_direct(b, &p, &len) != 0 || len != want)
		return PV_ERR_PROTOCOL;
	memcpy(dst, p, len);
	return 0;
}

/* As get_blob, may be empty. */
static int
get_blob0(struct pv_buf *b, uint8_t *dst, size_t max, size_t *outlen)
{
	const uint8_t *p;
	size_t len;

	if (pv_buf_get_string_direct(b, &p, &len) != 0 || len > max)
		return PV_ERR_PROTOCOL;
	if (len > 0)
		memcpy(dst, p, len);
	*outlen = len;
	return 0;
}

static int
get_bool(struct pv_buf *b, int *out)
{
	uint8_t v;

	if (pv_buf_get_u8(b, &v) != 0 || v > 1)
		return PV_ERR_PROTOCOL;
	*out = v;
	return 0;
}

/* The payload of one message type; every field checked. */
static int
decode_payload(struct pv_buf *b, struct mon_msg *m)
{
	uint32_t u32;
	uint64_t u64;
	uint8_t u8;
	int r = PV_ERR_PROTOCOL;

#define G(x)                      \
	do {                      \
		if ((x) != 0)     \
			goto out; \
	} while (0)
	switch (m->type) {
	case MON_AUTH_PUBKEY: {
		struct mon_auth_pubkey *a = &m->u.auth_pubkey;

		G(get_str(b, a->login, MON_LOGIN_MAX, MC_LOGIN));
		G(get_blob(b, a->blob, sizeof(a->blob), &a->bloblen));
		G(get_str(b, a->addr, MON_ADDR_MAX, MC_ADDR));
		break;
	}
	case MON_AUTH_TOTP:
		G(get_str(b, m->u.auth_totp.login, MON_LOGIN_MAX, MC_LOGIN));
		G(get_str(b, m->u.auth_totp.code, MON_CODE_MAX, MC_CODE));
		break;
	case MON_AUTH_PUBKEY_ANS:
	case MON_AUTH_TOTP_ANS:
		G(pv_buf_get_u32(b, &u32));
		/* known bits only; "done" only with "ok" */
		if ((u32 & ~(uint32_t)(MON_AUTH_OK | MON_AUTH_DONE)) != 0 ||
		    ((u32 & MON_AUTH_DONE) && !(u32 & MON_AUTH_OK)))
			goto out;
		m->u.auth_ans.flags = u32;
		break;
	case MON_DECIDE: {
		struct mon_decide *d = &m->u.decide;

		G(get_str(b, d->engineer, MON_NAME_MAX, MC_NAME));
		G(get_str(b, d->target, MON_NAME_MAX, MC_NAME));
		G(get_str(b, d->account, MON_NAME_MAX, MC_NAME0));
		G(pv_buf_get_u32(b, &d->channel));
		/* exactly one channel kind */
		if (d->channel == 0 || (d->channel & (d->channel - 1)) != 0)
			goto out;
		break;
	}
	case MON_DECISION: {
		struct mon_decision *d = &m->u.decision;

		G(get_bool(b, &d->outcome));
		G(get_str(b, d->rule, MON_NAME_MAX, MC_TEXT0));
		G(get_str(b, d->reason, MON_REASON_MAX, MC_TEXT0));
		G(pv_buf_get_u64(b, &u64));
		if (u64 > INT64_MAX)
			goto out;
		d->valid_until = (int64_t)u64;
		G(pv_buf_get_u32(b, &d->channels));
		G(pv_buf_get_u32(b, &d->flags));
		if ((d->flags & ~(uint32_t)MON_DECISION_PERMIT_PTY) != 0)
			goto out;
		if (d->outcome == PV_ALLOW) {
			G(get_str(b, d->account, MON_NAME_MAX, MC_NAME));
			G(get_str(b, d->host, MON_HOST_MAX, MC_HOST));
			G(pv_buf_get_u16(b, &d->port));
			G(get_str(b, d->hostkey, MON_HOSTKEY_MAX, MC_TEXT));
			if (d->port == 0)
				goto out;
		}
		break;
	}
	case MON_MINT: {
		struct mon_mint *mi = &m->u.mint;

		G(get_str(b, mi->session_id, PV_UUID_LEN, MC_UUID));
		G(get_str(b, mi->target, MON_NAME_MAX, MC_NAME));
		G(get_str(b, mi->account, MON_NAME_MAX, MC_NAME));
		G(get_blob(b, mi->pubkey, sizeof(mi->pubkey), &mi->pubkeylen));
		G(get_bool(b, &mi->permit_pty));
		break;
	}
	case MON_CERT:
		G(get_blob(b, m->u.cert.blob, sizeof(m->u.cert.blob),
		    &m->u.cert.bloblen));
		break;
	case MON_REC_OPEN:
		G(get_str(b, m->u.rec_open.session_id, PV_UUID_LEN, MC_UUID));
		G(get_str(b, m->u.rec_open.term, MON_TERM_MAX, MC_TEXT0));
		G(pv_buf_get_u16(b, &m->u.rec_open.cols));
		G(pv_buf_get_u16(b, &m->u.rec_open.rows));
		break;
	case MON_REC_OPEN_ANS: {
		struct mon_rec_open_ans *o = &m->u.rec_open_ans;

		G(get_str(b, o->path, MON_PATH_MAX, MC_TEXT));
		G(get_fixed(b, o->dk, sizeof(o->dk)));
		G(get_fixed(b, o->nonce_prefix, sizeof(o->nonce_prefix)));
		G(get_fixed(b, o->header_sha256, sizeof(o->header_sha256)));
		G(pv_buf_get_u64(b, &o->header_len));
		/* magic, version, length and a JSON object at least */
		if (o->header_len < 16 || o->header_len > MON_REC_HEADER_MAX)
			goto out;
		break;
	}
	case MON_AUDIT: {
		struct mon_audit *a = &m->u.audit;

		G(get_str(b, a->action, MON_ACTION_MAX, MC_TEXT));
		G(get_str(b, a->object, MON_OBJECT_MAX, MC_TEXT0));
		G(get_str(b, a->details, MON_DETAILS_MAX, MC_JSON));
		break;
	}
	case MON_SESSION_END: {
		struct mon_session_end *e = &m->u.session_end;

		G(pv_buf_get_u64(b, &e->bytes_in));
		G(pv_buf_get_u64(b, &e->bytes_out));
		G(get_str(b, e->reason, MON_REASON_MAX, MC_TEXT));
		G(pv_buf_get_u64(b, &e->size));
		G(get_bool(b, &e->aborted));
		break;
	}
	case MON_ERROR:
		G(pv_buf_get_u32(b, &u32));
		if (u32 == 0 || u32 > (uint32_t)-PV_ERR_MIN_)
			goto out;
		m->u.error.code = -(int)u32;
		G(get_str(b, m->u.error.msg, MON_REASON_MAX, MC_TEXT0));
		break;
	case MON_MFA_GRACE: {
		struct mon_mfa_grace *g = &m->u.mfa_grace;

		G(get_str(b, g->engineer, MON_NAME_MAX, MC_NAME));
		G(get_blob(b, g->blob, sizeof(g->blob), &g->bloblen));
		G(get_str(b, g->addr, MON_ADDR_MAX, MC_ADDR));
		break;
	}
	case MON_MFA_GRACE_ANS:
		G(pv_buf_get_u32(b, &u32));
		/* grace is all or nothing: 0 or OK|DONE */
		if (u32 != 0 && u32 != (MON_AUTH_OK | MON_AUTH_DONE))
			goto out;
		m->u.auth_ans.flags = u32;
		break;
	case MON_FRESH_MFA: {
		struct mon_fresh_mfa *f = &m->u.fresh_mfa;

		G(get_str(b, f->engineer, MON_NAME_MAX, MC_NAME));
		G(get_str(b, f->target, MON_NAME_MAX, MC_NAME));
		G(get_str(b, f->account, MON_NAME_MAX, MC_NAME0));
		break;
	}
	case MON_FRESH_MFA_ANS:
		G(get_bool(b, &m->u.verdict.allow));
		break;
	case MON_TARGET_GET:
		G(get_str(b, m->u.target_get.engineer, MON_NAME_MAX, MC_NAME));
		G(get_str(b, m->u.target_get.name, MON_NAME_MAX, MC_NAME));
		break;
	case MON_TARGET: {
		struct mon_target *t = &m->u.target;

		G(get_bool(b, &t->found));
		if (!t->found)
			break;
		G(get_str(b, t->name, MON_NAME_MAX, MC_NAME));
		G(pv_buf_get_u8(b, &u8));
		if (u8 > 1)
			goto out;
		t->auth = u8;
		G(get_str(b, t->host, MON_HOST_MAX, MC_HOST));
		G(pv_buf_get_u16(b, &t->port));
		if (t->port == 0)
			goto out;
		G(get_str(b, t->classification, MON_TCLASS_MAX, MC_TEXT0));
		G(get_str(b, t->hostkey, MON_HOSTKEY_MAX, MC_TEXT0));
		G(pv_buf_get_u32(b, &t->naccounts));
		if (t->naccounts > MON_ACCOUNTS_MAX)
			goto out;
		for (u32 = 0; u32 < t->naccounts; u32++)
			G(get_str(b, t->accounts[u32], MON_NAME_MAX, MC_NAME));
		break;
	}
	case MON_DECIDE_CH: {
		struct mon_decide_ch *d = &m->u.decide_ch;

		G(get_str(b, d->engineer, MON_NAME_MAX, MC_NAME));
		G(get_str(b, d->target, MON_NAME_MAX, MC_NAME));
		G(get_str(b, d->account, MON_NAME_MAX, MC_NAME));
		G(pv_buf_get_u32(b, &d->channel));
		if (d->channel == 0 || (d->channel & (d->channel - 1)) != 0)
			goto out;
		G(get_str(b, d->client, MON_CLIENT_MAX, MC_TEXT));
		G(get_str(b, d->fwd_host, MON_HOST_MAX, MC_HOST0));
		G(pv_buf_get_u32(b, &d->fwd_port));
		if (d->fwd_port > 65535)
			goto out;
		break;
	}
	case MON_DECISION_CH: {
		struct mon_decision_ch *d = &m->u.decision_ch;

		G(get_bool(b, &d->outcome));
		G(get_bool(b, &d->permit_pty));
		G(get_bool(b, &d->permit_forward));
		G(pv_buf_get_u32(b, &d->channels));
		G(get_str(b, d->rule, MON_NAME_MAX, MC_TEXT0));
		G(get_str(b, d->grant_id, MON_NAME_MAX, MC_TEXT0));
		G(pv_buf_get_u64(b, &u64));
		if (u64 > INT64_MAX)
			goto out;
		d->grant_ends = (int64_t)u64;
		G(get_str(b, d->reason, MON_REASON_MAX, MC_TEXT0));
		G(pv_buf_get_u32(b, &d->transfer));
		G(get_bool(b, &d->record_file_contents));
		G(get_str(b, d->moderated, MON_NAME_MAX, MC_NAME0));
		G(get_str(b, d->notice, MON_REASON_MAX, MC_TEXT0));
		break;
	}
	case MON_MINT_CERT: {
		struct mon_mint_cert *c = &m->u.mint_cert;

		G(get_str(b, c->session_id, PV_UUID_LEN, MC_UUID));
		G(get_str(b, c->target, MON_NAME_MAX, MC_NAME));
		G(get_str(b, c->principal, MON_NAME_MAX, MC_NAME));
		G(get_fixed(b, c->pubkey, sizeof(c->pubkey)));
		G(get_str(b, c->source_address, MON_SRCADDR_MAX, MC_TEXT));
		break;
	}
	case MON_CERT_SERIAL:
		G(pv_buf_get_u64(b, &m->u.cert_serial.serial));
		G(get_blob(b, m->u.cert_serial.blob,
		    sizeof(m->u.cert_serial.blob), &m->u.cert_serial.bloblen));
		break;
	case MON_MINT_TOKEN:
		G(get_str(b, m->u.mint_token.session_id, PV_UUID_LEN, MC_UUID));
		G(get_str(b, m->u.mint_token.target, MON_NAME_MAX, MC_NAME));
		G(get_str(b, m->u.mint_token.account, MON_NAME_MAX, MC_NAME));
		break;
	case MON_TOKEN:
		G(pv_buf_get_u64(b, &m->u.token.serial));
		G(get_str(b, m->u.token.token, MON_TOKEN_MAX, MC_TEXT));
		break;
	case MON_SESSION_OPEN:
		G(get_str(
		    b, m->u.session_open.session_id, PV_UUID_LEN, MC_UUID));
		G(get_str(b, m->u.session_open.target, MON_NAME_MAX, MC_NAME));
		G(get_str(b, m->u.session_open.account, MON_NAME_MAX, MC_NAME));
		break;
	case MON_MENU:
		G(get_str(b, m->u.menu.command, MON_COMMAND_MAX, MC_BYTES0));
		break;
	case MON_MENU_OUT:
		G(pv_buf_get_u32(b, &m->u.menu_out.status));
		if (m->u.menu_out.status > 255)
			goto out;
		G(get_blob0(b, m->u.menu_out.out, sizeof(m->u.menu_out.out),
		    &m->u.menu_out.outlen));
		break;
	case MON_AUDIT_ACK:
	case MON_SESSION_END_ACK:
	case MON_SESSION_OPEN_ACK:
		break;
	default:
		goto out;
	}
#undef G
	/* nothing may follow the last field */
	r = pv_buf_len(b) == 0 ? 0 : PV_ERR_PROTOCOL;
out:
	return r;
}

void
broker_mon_msg_clear(struct mon_msg *m)
{
	if (m != NULL)
		pv_secret_wipe(m, sizeof(*m));
}

void
broker_mon_msg_wipe(struct mon_msg *m)
{
	if (m == NULL)
		return;
	/* the union's members overlap: each secret field, whatever the type */
	pv_secret_wipe(m->u.auth_totp.code, sizeof(m->u.auth_totp.code));
	pv_secret_wipe(m->u.rec_open_ans.dk, sizeof(m->u.rec_open_ans.dk));
	pv_secret_wipe(m->u.rec_open_ans.nonce_prefix,
	    sizeof(m->u.rec_open_ans.nonce_prefix));
	pv_secret_wipe(m->u.token.token, sizeof(m->u.token.token));
}

int
broker_mon_msg_decode(const uint8_t *frame, size_t len, struct mon_msg *out)
{
	struct pv_buf *b = NULL;
	uint32_t flen;
	uint8_t type;
	int r = PV_ERR_PROTOCOL;

	broker_mon_msg_clear(out);
	if (frame == NULL || len < MON_HDR_LEN + 1 ||
	    len > MON_HDR_LEN + MON_FRAME_MAX)
		return PV_ERR_PROTOCOL;
	if ((b = pv_buf_from(frame, len)) == NULL)
		return PV_ERR_ALLOC;
	if (pv_buf_get_u32(b, &flen) != 0 || flen == 0 ||
	    flen > MON_FRAME_MAX || flen != pv_buf_len(b) ||
	    pv_buf_get_u8(b, &type) != 0 || broker_mon_type_name(type) == NULL)
		goto out;
	out->type = (enum mon_type)type;
	r = decode_payload(b, out);
out:
	pv_buf_free(b);
	if (r != 0)
		broker_mon_msg_clear(out);
	return r;
}

/* The payload of m, unchecked (the round trip in encode checks it). */
static int
encode_payload(const struct mon_msg *m, struct pv_buf *b)
{
	int r = 0;

#define P(x)                     \
	do {                     \
		if (r == 0)      \
			r = (x); \
	} while (0)
	switch (m->type) {
	case MON_AUTH_PUBKEY:
		P(pv_buf_put_cstring(b, m->u.auth_pubkey.login));
		P(pv_buf_put_string(
		    b, m->u.auth_pubkey.blob, m->u.auth_pubkey.bloblen));
		P(pv_buf_put_cstring(b, m->u.auth_pubkey.addr));
		break;
	case MON_AUTH_TOTP:
		P(pv_buf_put_cstring(b, m->u.auth_totp.login));
		P(pv_buf_put_cstring(b, m->u.auth_totp.code));
		break;
	case MON_AUTH_PUBKEY_ANS:
	case MON_AUTH_TOTP_ANS:
		P(pv_buf_put_u32(b, m->u.auth_ans.flags));
		break;
	case MON_DECIDE:
		P(pv_buf_put_cstring(b, m->u.decide.engineer));
		P(pv_buf_put_cstring(b, m->u.decide.target));
		P(pv_buf_put_cstring(b, m->u.decide.account));
		P(pv_buf_put_u32(b, m->u.decide.channel));
		break;
	case MON_DECISION:
		P(pv_buf_put_u8(b, m->u.decision.outcome == PV_ALLOW ? 1 : 0));
		P(pv_buf_put_cstring(b, m->u.decision.rule));
		P(pv_buf_put_cstring(b, m->u.decision.reason));
		P(pv_buf_put_u64(b, (uint64_t)m->u.decision.valid_until));
		P(pv_buf_put_u32(b, m->u.decision.channels));
		P(pv_buf_put_u32(b, m->u.decision.flags));
		if (m->u.decision.outcome == PV_ALLOW) {
			P(pv_buf_put_cstring(b, m->u.decision.account));
			P(pv_buf_put_cstring(b, m->u.decision.host));
			P(pv_buf_put_u16(b, m->u.decision.port));
			P(pv_buf_put_cstring(b, m->u.decision.hostkey));
		}
		break;
	case MON_MINT:
		P(pv_buf_put_cstring(b, m->u.mint.session_id));
		P(pv_buf_put_cstring(b, m->u.mint.target));
		P(pv_buf_put_cstring(b, m->u.mint.account));
		P(pv_buf_put_string(b, m->u.mint.pubkey, m->u.mint.pubkeylen));
		P(pv_buf_put_u8(b, m->u.mint.permit_pty ? 1 : 0));
		break;
	case MON_CERT:
		P(pv_buf_put_string(b, m->u.cert.blob, m->u.cert.bloblen));
		break;
	case MON_REC_OPEN:
		P(pv_buf_put_cstring(b, m->u.rec_open.session_id));
		P(pv_buf_put_cstring(b, m->u.rec_open.term));
		P(pv_buf_put_u16(b, m->u.rec_open.cols));
		P(pv_buf_put_u16(b, m->u.rec_open.rows));
		break;
	case MON_REC_OPEN_ANS: {
		const struct mon_rec_open_ans *o = &m->u.rec_open_ans;

		P(pv_buf_put_cstring(b, o->path));
		P(pv_buf_put_string(b, o->dk, sizeof(o->dk)));
		P(pv_buf_put_string(
		    b, o->nonce_prefix, sizeof(o->nonce_prefix)));
		P(pv_buf_put_string(
		    b, o->header_sha256, sizeof(o->header_sha256)));
		P(pv_buf_put_u64(b, o->header_len));
		break;
	}
	case MON_AUDIT:
		P(pv_buf_put_cstring(b, m->u.audit.action));
		P(pv_buf_put_cstring(b, m->u.audit.object));
		P(pv_buf_put_cstring(b, m->u.audit.details));
		break;
	case MON_SESSION_END:
		P(pv_buf_put_u64(b, m->u.session_end.bytes_in));
		P(pv_buf_put_u64(b, m->u.session_end.bytes_out));
		P(pv_buf_put_cstring(b, m->u.session_end.reason));
		P(pv_buf_put_u64(b, m->u.session_end.size));
		P(pv_buf_put_u8(b, m->u.session_end.aborted ? 1 : 0));
		break;
	case MON_ERROR:
		if (m->u.error.code >= 0 || m->u.error.code < PV_ERR_MIN_)
			return PV_ERR_INVALID;
		P(pv_buf_put_u32(b, (uint32_t)-m->u.error.code));
		P(pv_buf_put_cstring(b, m->u.error.msg));
		break;
	case MON_MFA_GRACE:
		P(pv_buf_put_cstring(b, m->u.mfa_grace.engineer));
		P(pv_buf_put_string(
		    b, m->u.mfa_grace.blob, m->u.mfa_grace.bloblen));
		P(pv_buf_put_cstring(b, m->u.mfa_grace.addr));
		break;
	case MON_MFA_GRACE_ANS:
		P(pv_buf_put_u32(b, m->u.auth_ans.flags));
		break;
	case MON_FRESH_MFA:
		P(pv_buf_put_cstring(b, m->u.fresh_mfa.engineer));
		P(pv_buf_put_cstring(b, m->u.fresh_mfa.target));
		P(pv_buf_put_cstring(b, m->u.fresh_mfa.account));
		break;
	case MON_FRESH_MFA_ANS:
		P(pv_buf_put_u8(b, m->u.verdict.allow ? 1 : 0));
		break;
	case MON_TARGET_GET:
		P(pv_buf_put_cstring(b, m->u.target_get.engineer));
		P(pv_buf_put_cstring(b, m->u.target_get.name));
		break;
	case MON_TARGET: {
		const struct mon_target *t = &m->u.target;
		uint32_t i;

		P(pv_buf_put_u8(b, t->found ? 1 : 0));
		if (!t->found)
			break;
		if (t->naccounts > MON_ACCOUNTS_MAX)
			return PV_ERR_INVALID;
		P(pv_buf_put_cstring(b, t->name));
		P(pv_buf_put_u8(b, (uint8_t)t->auth));
		P(pv_buf_put_cstring(b, t->host));
		P(pv_buf_put_u16(b, t->port));
		P(pv_buf_put_cstring(b, t->classification));
		P(pv_buf_put_cstring(b, t->hostkey));
		P(pv_buf_put_u32(b, t->naccounts));
		for (i = 0; i < t->naccounts; i++)
			P(pv_buf_put_cstring(b, t->accounts[i]));
		break;
	}
	case MON_DECIDE_CH:
		P(pv_buf_put_cstring(b, m->u.decide_ch.engineer));
		P(pv_buf_put_cstring(b, m->u.decide_ch.target));
		P(pv_buf_put_cstring(b, m->u.decide_ch.account));
		P(pv_buf_put_u32(b, m->u.decide_ch.channel));
		P(pv_buf_put_cstring(b, m->u.decide_ch.client));
		P(pv_buf_put_cstring(b, m->u.decide_ch.fwd_host));
		P(pv_buf_put_u32(b, m->u.decide_ch.fwd_port));
		break;
	case MON_DECISION_CH: {
		const struct mon_decision_ch *d = &m->u.decision_ch;

		P(pv_buf_put_u8(b, d->outcome == PV_ALLOW ? 1 : 0));
		P(pv_buf_put_u8(b, d->permit_pty ? 1 : 0));
		P(pv_buf_put_u8(b, d->permit_forward ? 1 : 0));
		P(pv_buf_put_u32(b, d->channels));
		P(pv_buf_put_cstring(b, d->rule));
		P(pv_buf_put_cstring(b, d->grant_id));
		P(pv_buf_put_u64(b, (uint64_t)d->grant_ends));
		P(pv_buf_put_cstring(b, d->reason));
		P(pv_buf_put_u32(b, d->transfer));
		P(pv_buf_put_u8(b, d->record_file_contents ? 1 : 0));
		P(pv_buf_put_cstring(b, d->moderated));
		P(pv_buf_put_cstring(b, d->notice));
		break;
	}
	case MON_MINT_CERT:
		P(pv_buf_put_cstring(b, m->u.mint_cert.session_id));
		P(pv_buf_put_cstring(b, m->u.mint_cert.target));
		P(pv_buf_put_cstring(b, m->u.mint_cert.principal));
		P(pv_buf_put_string(
		    b, m->u.mint_cert.pubkey, sizeof(m->u.mint_cert.pubkey)));
		P(pv_buf_put_cstring(b, m->u.mint_cert.source_address));
		break;
	case MON_CERT_SERIAL:
		P(pv_buf_put_u64(b, m->u.cert_serial.serial));
		P(pv_buf_put_string(
		    b, m->u.cert_serial.blob, m->u.cert_serial.bloblen));
		break;
	case MON_MINT_TOKEN:
		P(pv_buf_put_cstring(b, m->u.mint_token.session_id));
		P(pv_buf_put_cstring(b, m->u.mint_token.target));
		P(pv_buf_put_cstring(b, m->u.mint_token.account));
		break;
	case MON_TOKEN:
		P(pv_buf_put_u64(b, m->u.token.serial));
		P(pv_buf_put_cstring(b, m->u.token.token));
		break;
	case MON_SESSION_OPEN:
		P(pv_buf_put_cstring(b, m->u.session_open.session_id));
		P(pv_buf_put_cstring(b, m->u.session_open.target));
		P(pv_buf_put_cstring(b, m->u.session_open.account));
		break;
	case MON_MENU:
		P(pv_buf_put_cstring(b, m->u.menu.command));
		break;
	case MON_MENU_OUT:
		P(pv_buf_put_u32(b, m->u.menu_out.status));
		P(pv_buf_put_string(
		    b, m->u.menu_out.out, m->u.menu_out.outlen));
		break;
	case MON_AUDIT_ACK:
	case MON_SESSION_END_ACK:
	case MON_SESSION_OPEN_ACK:
		break;
	default:
		return PV_ERR_INVALID;
	}
#undef P
	return r;
}

int
broker_mon_msg_encode(const struct mon_msg *m, struct pv_buf *out)
{
	struct pv_buf *body = NULL, *frame = NULL;
	struct mon_msg *check = NULL;
	int r = PV_ERR_INTERNAL;

	if ((body = pv_buf_new(MON_FRAME_MAX)) == NULL ||
	    (frame = pv_buf_new(MON_HDR_LEN + MON_FRAME_MAX)) == NULL ||
	    (check = calloc(1, sizeof(*check))) == NULL) {
		r = PV_ERR_ALLOC;
		goto out;
	}
	if ((r = pv_buf_put_u8(body, (uint8_t)m->type)) != 0 ||
	    (r = encode_payload(m, body)) != 0) {
		r = r == PV_ERR_LIMIT || r == PV_ERR_ALLOC ? r : PV_ERR_INVALID;
		goto out;
	}
	if ((r = pv_buf_put_u32(frame, (uint32_t)pv_buf_len(body))) != 0 ||
	    (r = pv_buf_put(frame, pv_buf_ptr(body), pv_buf_len(body))) != 0)
		goto out;
	/* Never send what the other side must refuse. */
	if (broker_mon_msg_decode(
		pv_buf_ptr(frame), pv_buf_len(frame), check) != 0) {
		r = PV_ERR_INVALID;
		goto out;
	}
	r = pv_buf_put(out, pv_buf_ptr(frame), pv_buf_len(frame));
out:
	broker_mon_msg_wipe(check);
	free(check);
	pv_buf_free(body);
	pv_buf_free(frame);
	return r;
}

/* --- the order rules --- */

int
broker_mon_state_init(struct monitor_state *st, const char *session_id,
    unsigned int max_auth_tries)
{
	memset(st, 0, sizeof(*st));
	if (session_id == NULL || !pv_uuid_valid(session_id) ||
	    max_auth_tries == 0) {
		st->failed = 1;
		return PV_ERR_INVALID;
	}
	memcpy(st->session_id, session_id, PV_UUID_LEN);
	st->max_auth_tries = max_auth_tries;
	return 0;
}

static int
state_fail(struct monitor_state *st)
{
	st->failed = 1;
	st->pending = 0;
	return PV_ERR_PROTOCOL;
}

int
broker_mon_state_request(struct monitor_state *st, const struct mon_msg *m)
{
	if (st->failed || st->pending != 0 ||
	    !broker_mon_type_is_request((int)m->type))
		return state_fail(st);
	if (st->ended && m->type != MON_AUDIT)
		return state_fail(st);
	switch (m->type) {
	case MON_AUTH_PUBKEY:
		if (st->authenticated || st->auth_tries >= st->max_auth_tries)
			return state_fail(st);
		st->auth_tries++;
		memcpy(st->pend_login, m->u.auth_pubkey.login,
		    sizeof(st->pend_login));
		break;
	case MON_AUTH_TOTP:
		/* a code only after a good key, for the same login */
		if (st->authenticated || st->auth_tries >= st->max_auth_tries ||
		    !st->key_ok ||
		    strcmp(st->key_login, m->u.auth_totp.login) != 0)
			return state_fail(st);
		st->auth_tries++;
		break;
	case MON_DECIDE:
		if (!st->authenticated)
			return state_fail(st);
		/* a new decision replaces the last one's mint */
		st->mint_ok = 0;
		st->mint_pty = 0;
		st->dec_allowed = 0;
		memcpy(
		    st->dec_target, m->u.decide.target, sizeof(st->dec_target));
		memcpy(st->dec_account, m->u.decide.account,
		    sizeof(st->dec_account));
		break;
	case MON_MINT:
		if (!st->authenticated || !st->mint_ok ||
		    strcmp(st->session_id, m->u.mint.session_id) != 0 ||
		    strcmp(st->dec_target, m->u.mint.target) != 0 ||
		    strcmp(st->dec_account, m->u.mint.account) != 0 ||
		    (m->u.mint.permit_pty && !st->mint_pty))
			return state_fail(st);
		st->mint_ok = 0; /* once per decision, even if it fails */
		break;
	case MON_REC_OPEN:
		if (!st->allowed || st->rec_opened ||
		    strcmp(st->session_id, m->u.rec_open.session_id) != 0)
			return state_fail(st);
		st->rec_opened = 1;
		break;
	case MON_AUDIT:
		break;
	case MON_SESSION_END:
		st->ended = 1;
		break;
	case MON_MFA_GRACE:
		/* after the key, for its engineer; counts as an auth try */
		if (st->authenticated || st->auth_tries >= st->max_auth_tries ||
		    !st->key_ok ||
		    strcmp(st->key_login, m->u.mfa_grace.engineer) != 0)
			return state_fail(st);
		st->auth_tries++;
		break;
	case MON_FRESH_MFA:
		if (st->authenticated || !st->key_ok ||
		    strcmp(st->key_login, m->u.fresh_mfa.engineer) != 0)
			return state_fail(st);
		break;
	case MON_TARGET_GET:
		/*
		 * Once the key is the login's: the session pre-opens the
		 * target leg (TCP and key exchange, never authentication)
		 * while the code is typed.
		 */
		if (!(st->authenticated || st->key_ok) ||
		    strcmp(st->key_login, m->u.target_get.engineer) != 0)
			return state_fail(st);
		/* before the code: the one target the login names */
		if (!st->authenticated && st->pre_gets++ > 0)
			return state_fail(st);
		break;
	case MON_DECIDE_CH:
		if (!st->authenticated ||
		    strcmp(st->key_login, m->u.decide_ch.engineer) != 0)
			return state_fail(st);
		st->mint_ok = 0;
		st->mint_pty = 0;
		st->dec_allowed = 0;
		memcpy(st->dec_target, m->u.decide_ch.target,
		    sizeof(st->dec_target));
		memcpy(st->dec_account, m->u.decide_ch.account,
		    sizeof(st->dec_account));
		break;
	case MON_MINT_CERT:
		if (!st->mint_ok ||
		    strcmp(st->session_id, m->u.mint_cert.session_id) != 0 ||
		    strcmp(st->dec_target, m->u.mint_cert.target) != 0 ||
		    strcmp(st->dec_account, m->u.mint_cert.principal) != 0)
			return state_fail(st);
		st->mint_ok = 0;
		break;
	case MON_MINT_TOKEN:
		if (!st->mint_ok ||
		    strcmp(st->session_id, m->u.mint_token.session_id) != 0 ||
		    strcmp(st->dec_target, m->u.mint_token.target) != 0 ||
		    strcmp(st->dec_account, m->u.mint_token.account) != 0)
			return state_fail(st);
		st->mint_ok = 0;
		break;
	case MON_SESSION_OPEN:
		if (!st->dec_allowed || st->row_opened ||
		    strcmp(st->session_id, m->u.session_open.session_id) != 0 ||
		    strcmp(st->dec_target, m->u.session_open.target) != 0 ||
		    strcmp(st->dec_account, m->u.session_open.account) != 0)
			return state_fail(st);
		st->row_opened = 1;
		break;
	case MON_MENU:
		if (!st->authenticated)
			return state_fail(st);
		break;
	default:
		return state_fail(st);
	}
	st->pending = (int)m->type;
	return 0;
}

int
broker_mon_state_answer(struct monitor_state *st, const struct mon_msg *m)
{
	int pending = st->pending;

	if (st->failed || pending == 0)
		return state_fail(st);
	if (m->type == MON_ERROR) {
		st->pending = 0;
		return 0;
	}
	if ((int)m->type != pending + 1)
		return state_fail(st);
	switch (m->type) {
	case MON_AUTH_PUBKEY_ANS:
		if (m->u.auth_ans.flags & MON_AUTH_OK) {
			st->key_ok = 1;
			memcpy(st->key_login, st->pend_login,
			    sizeof(st->key_login));
		}
		if (m->u.auth_ans.flags & MON_AUTH_DONE)
			st->authenticated = 1;
		break;
	case MON_AUTH_TOTP_ANS:
		if (m->u.auth_ans.flags & MON_AUTH_DONE) {
			st->authenticated = 1;
			st->by_code = 1;
		}
		break;
	case MON_MFA_GRACE_ANS:
		if (m->u.auth_ans.flags & MON_AUTH_DONE)
			st->authenticated = 1;
		break;
	case MON_DECISION_CH:
		if (m->u.decision_ch.outcome == PV_ALLOW) {
			st->allowed = 1;
			st->dec_allowed = 1;
			st->mint_ok = 1;
			st->mint_pty = m->u.decision_ch.permit_pty;
		}
		break;
	case MON_DECISION:
		if (m->u.decision.outcome == PV_ALLOW) {
			/* the monitor's account, if the login named one */
			if (st->dec_account[0] != '\0' &&
			    strcmp(st->dec_account, m->u.decision.account) != 0)
				return state_fail(st);
			memcpy(st->dec_account, m->u.decision.account,
			    sizeof(st->dec_account));
			st->allowed = 1;
			st->mint_ok = 1;
			st->mint_pty = (m->u.decision.flags &
					   MON_DECISION_PERMIT_PTY) != 0;
		}
		break;
	default:
		break;
	}
	st->pending = 0;
	return 0;
}
