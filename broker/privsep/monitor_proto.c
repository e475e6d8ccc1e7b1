/*
 * monitor_proto.c: the monitor protocol as a table (one entry per message
 * type: direction, phases, answer, fields and limits), one codec that
 * walks it through pv_buf, and the order rules that start from it.
 */
#include "config.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/privsep/protocol.h"

/* --- the fields of each type --- */

#define MSZ(mem) sizeof(((struct mon_msg *)0)->u.mem)
#define MOFF(mem) offsetof(struct mon_msg, u.mem)
/* A string's limit is its array's size: the two cannot drift apart. */
#define F_STR(nm, mem, c)                                                  \
	{                                                                  \
		.name = (nm), .kind = MF_STR, .cl = (c), .off = MOFF(mem), \
		.max = MSZ(mem) - 1                                        \
	}
#define F_BLOB(nm, k, mem, lenmem)                           \
	{                                                    \
		.name = (nm), .kind = (k), .off = MOFF(mem), \
		.aux = MOFF(lenmem), .max = MSZ(mem)         \
	}
#define F_FIXED(nm, mem)                                          \
	{                                                         \
		.name = (nm), .kind = MF_FIXED, .off = MOFF(mem), \
		.max = MSZ(mem)                                   \
	}
#define F_KIND(nm, k, mem)                                            \
	{                                                             \
		.name = (nm), .kind = (k), .off = MOFF(mem), .max = 1 \
	}
#define F_INT(nm, k, mem, lo, hi)                                         \
	{                                                                 \
		.name = (nm), .kind = (k), .off = MOFF(mem), .min = (lo), \
		.max = (hi)                                               \
	}
#define NFIELDS(a) (sizeof(a) / sizeof((a)[0]))

static const struct mon_field f_auth_pubkey[] = {
	F_STR("login", auth_pubkey.login, MC_LOGIN),
	F_BLOB("blob", MF_BLOB, auth_pubkey.blob, auth_pubkey.bloblen),
	F_STR("addr", auth_pubkey.addr, MC_ADDR),
};
static const struct mon_field f_auth_ans[] = {
	F_INT("flags", MF_U32, auth_ans.flags, 0, MON_AUTH_OK | MON_AUTH_DONE),
};
static const struct mon_field f_auth_totp[] = {
	F_STR("login", auth_totp.login, MC_LOGIN),
	F_STR("code", auth_totp.code, MC_CODE),
};
static const struct mon_field f_rec_open[] = {
	F_STR("session_id", rec_open.session_id, MC_UUID),
	F_STR("term", rec_open.term, MC_TEXT0),
	F_INT("cols", MF_U16, rec_open.cols, 0, UINT16_MAX),
	F_INT("rows", MF_U16, rec_open.rows, 0, UINT16_MAX),
};
static const struct mon_field f_rec_open_ans[] = {
	F_STR("path", rec_open_ans.path, MC_TEXT),
	F_FIXED("dk", rec_open_ans.dk),
	F_FIXED("nonce_prefix", rec_open_ans.nonce_prefix),
	F_FIXED("header_sha256", rec_open_ans.header_sha256),
	/* magic, version, length and a JSON object at least */
	F_INT("header_len", MF_U64, rec_open_ans.header_len, 16,
	    MON_REC_HEADER_MAX),
};
static const struct mon_field f_audit[] = {
	F_STR("action", audit.action, MC_TEXT),
	F_STR("object", audit.object, MC_TEXT0),
	F_STR("details", audit.details, MC_JSON),
};
static const struct mon_field f_session_end[] = {
	F_INT("bytes_in", MF_U64, session_end.bytes_in, 0, UINT64_MAX),
	F_INT("bytes_out", MF_U64, session_end.bytes_out, 0, UINT64_MAX),
	F_STR("reason", session_end.reason, MC_TEXT),
	F_INT("size", MF_U64, session_end.size, 0, UINT64_MAX),
	F_KIND("aborted", MF_BOOL, session_end.aborted),
};
static const struct mon_field f_error[] = {
	F_INT("code", MF_ERRNO, error.code, 1, (uint64_t)-PV_ERR_MIN_),
	F_STR("msg", error.msg, MC_TEXT0),
};
static const struct mon_field f_mfa_grace[] = {
	F_STR("engineer", mfa_grace.engineer, MC_NAME),
	F_BLOB("blob", MF_BLOB, mfa_grace.blob, mfa_grace.bloblen),
	F_STR("addr", mfa_grace.addr, MC_ADDR),
};
static const struct mon_field f_fresh_mfa[] = {
	F_STR("engineer", fresh_mfa.engineer, MC_NAME),
	F_STR("target", fresh_mfa.target, MC_NAME),
	F_STR("account", fresh_mfa.account, MC_NAME0),
};
static const struct mon_field f_verdict[] = {
	F_KIND("allow", MF_BOOL, verdict.allow),
};
static const struct mon_field f_target_get[] = {
	F_STR("engineer", target_get.engineer, MC_NAME),
	F_STR("name", target_get.name, MC_NAME),
};
static const struct mon_field f_target[] = {
	F_KIND("found", MF_PRESENT, target.found),
	F_STR("name", target.name, MC_NAME),
	F_INT("auth", MF_U8, target.auth, 0, 1),
	F_STR("host", target.host, MC_HOST),
	F_INT("port", MF_U16, target.port, 1, UINT16_MAX),
	F_STR("classification", target.classification, MC_TEXT0),
	F_STR("hostkey", target.hostkey, MC_TEXT0),
	{ .name = "accounts",
	    .kind = MF_NAMES,
	    .cl = MC_NAME,
	    .off = MOFF(target.accounts),
	    .aux = MOFF(target.naccounts),
	    .max = MSZ(target.accounts[0]) - 1,
	    .n = MSZ(target.accounts) / MSZ(target.accounts[0]) },
};
static const struct mon_field f_decide_ch[] = {
	F_STR("engineer", decide_ch.engineer, MC_NAME),
	F_STR("target", decide_ch.target, MC_NAME),
	F_STR("account", decide_ch.account, MC_NAME),
	/* exactly one channel kind */
	{ .name = "channel",
	    .kind = MF_U32,
	    .off = MOFF(decide_ch.channel),
	    .min = 1,
	    .max = UINT32_MAX,
	    .flags = MFF_ONE_BIT },
	F_STR("client", decide_ch.client, MC_TEXT),
	F_STR("fwd_host", decide_ch.fwd_host, MC_HOST0),
	F_INT("fwd_port", MF_U32, decide_ch.fwd_port, 0, 65535),
};
static const struct mon_field f_decision_ch[] = {
	{ .name = "outcome",
	    .kind = MF_BOOL,
	    .off = MOFF(decision_ch.outcome),
	    .max = 1,
	    .flags = MFF_ALLOW },
	F_KIND("permit_pty", MF_BOOL, decision_ch.permit_pty),
	F_KIND("permit_forward", MF_BOOL, decision_ch.permit_forward),
	F_INT("channels", MF_U32, decision_ch.channels, 0, UINT32_MAX),
	F_STR("rule", decision_ch.rule, MC_TEXT0),
	F_STR("grant_id", decision_ch.grant_id, MC_TEXT0),
	F_INT("grant_ends", MF_TIME, decision_ch.grant_ends, 0, INT64_MAX),
	F_STR("reason", decision_ch.reason, MC_TEXT0),
	F_INT("transfer", MF_U32, decision_ch.transfer, 0, UINT32_MAX),
	F_KIND(
	    "record_file_contents", MF_BOOL, decision_ch.record_file_contents),
	F_STR("moderated", decision_ch.moderated, MC_NAME0),
	F_STR("notice", decision_ch.notice, MC_TEXT0),
};
static const struct mon_field f_mint_cert[] = {
	F_STR("session_id", mint_cert.session_id, MC_UUID),
	F_STR("target", mint_cert.target, MC_NAME),
	F_STR("principal", mint_cert.principal, MC_NAME),
	F_FIXED("pubkey", mint_cert.pubkey),
	F_STR("source_address", mint_cert.source_address, MC_TEXT),
};
static const struct mon_field f_cert_serial[] = {
	F_INT("serial", MF_U64, cert_serial.serial, 0, UINT64_MAX),
	F_BLOB("blob", MF_BLOB, cert_serial.blob, cert_serial.bloblen),
};
static const struct mon_field f_mint_token[] = {
	F_STR("session_id", mint_token.session_id, MC_UUID),
	F_STR("target", mint_token.target, MC_NAME),
	F_STR("account", mint_token.account, MC_NAME),
};
static const struct mon_field f_token[] = {
	F_INT("serial", MF_U64, token.serial, 0, UINT64_MAX),
	F_STR("token", token.token, MC_TEXT),
};
static const struct mon_field f_session_open[] = {
	F_STR("session_id", session_open.session_id, MC_UUID),
	F_STR("target", session_open.target, MC_NAME),
	F_STR("account", session_open.account, MC_NAME),
};
static const struct mon_field f_menu[] = {
	F_STR("command", menu.command, MC_BYTES0),
};
static const struct mon_field f_menu_out[] = {
	F_INT("status", MF_U32, menu_out.status, 0, 255),
	F_BLOB("out", MF_BLOB0, menu_out.out, menu_out.outlen),
};
static const struct mon_field f_target_connect[] = {
	F_STR("engineer", target_connect.engineer, MC_NAME),
	F_STR("target", target_connect.target, MC_NAME),
};
static const struct mon_field f_target_socket[] = {
	F_STR("target", target_socket.target, MC_NAME),
	F_STR("host", target_socket.host, MC_HOST),
	F_INT("port", MF_U16, target_socket.port, 1, UINT16_MAX),
};
static const struct mon_field f_target_failed[] = {
	F_INT(
	    "stage", MF_U8, target_failed.stage, MON_LEG_CONNECT, MON_LEG_KEX),
	F_STR("reason", target_failed.reason, MC_TEXT),
};

/* --- rules between fields --- */

/* known bits only; "done" only with "ok" */
static int
c_auth_ans(const struct mon_msg *m)
{
	uint32_t f = m->u.auth_ans.flags;

	return (f & MON_AUTH_DONE) && !(f & MON_AUTH_OK) ? PV_ERR_PROTOCOL : 0;
}

/* grace is all or nothing: 0 or OK|DONE */
static int
c_grace_ans(const struct mon_msg *m)
{
	uint32_t f = m->u.auth_ans.flags;

	return f != 0 && f != (MON_AUTH_OK | MON_AUTH_DONE) ? PV_ERR_PROTOCOL
							    : 0;
}

/* --- the order rules past the phase, per type --- */

static int
o_pubkey(struct monitor_state *st, const struct mon_msg *m)
{
	if (st->auth_tries >= st->max_auth_tries)
		return PV_ERR_PROTOCOL;
	st->auth_tries++;
	memcpy(st->pend_login, m->u.auth_pubkey.login, sizeof(st->pend_login));
	return 0;
}

/* An auth check after the key, for its login; counts as a try. */
static int
o_after_key(struct monitor_state *st, const char *login)
{
	if (st->auth_tries >= st->max_auth_tries || !st->key_ok ||
	    strcmp(st->key_login, login) != 0)
		return PV_ERR_PROTOCOL;
	st->auth_tries++;
	return 0;
}

static int
o_totp(struct monitor_state *st, const struct mon_msg *m)
{
	return o_after_key(st, m->u.auth_totp.login);
}

static int
o_grace(struct monitor_state *st, const struct mon_msg *m)
{
	return o_after_key(st, m->u.mfa_grace.engineer);
}

static int
o_fresh(struct monitor_state *st, const struct mon_msg *m)
{
	return !st->key_ok ||
		strcmp(st->key_login, m->u.fresh_mfa.engineer) != 0
	    ? PV_ERR_PROTOCOL
	    : 0;
}

static int
o_target_get(struct monitor_state *st, const struct mon_msg *m)
{
	/*
	 * Once the key is the login's: the session pre-opens the target leg
	 * (TCP and key exchange, never authentication) while the code is
	 * typed; before the code, the one target the login names.
	 */
	if (!(st->authenticated || st->key_ok) ||
	    strcmp(st->key_login, m->u.target_get.engineer) != 0)
		return PV_ERR_PROTOCOL;
	if (!st->authenticated && st->pre_gets++ > 0)
		return PV_ERR_PROTOCOL;
	return 0;
}

static int
o_decide(struct monitor_state *st, const struct mon_msg *m)
{
	if (strcmp(st->key_login, m->u.decide_ch.engineer) != 0)
		return PV_ERR_PROTOCOL;
	/* a new decision replaces the last one's mint */
	st->decided = 1;
	st->mint_ok = 0;
	st->dec_allowed = 0;
	memcpy(st->dec_target, m->u.decide_ch.target, sizeof(st->dec_target));
	memcpy(
	    st->dec_account, m->u.decide_ch.account, sizeof(st->dec_account));
	return 0;
}

/* One credential per allow decision, for its target and account. */
static int
o_mint(struct monitor_state *st, const char *sid, const char *target,
    const char *account)
{
	if (!st->mint_ok || strcmp(st->session_id, sid) != 0 ||
	    strcmp(st->dec_target, target) != 0 ||
	    strcmp(st->dec_account, account) != 0)
		return PV_ERR_PROTOCOL;
	st->mint_ok = 0; /* once per decision, even if it fails */
	return 0;
}

static int
o_mint_cert(struct monitor_state *st, const struct mon_msg *m)
{
	return o_mint(st, m->u.mint_cert.session_id, m->u.mint_cert.target,
	    m->u.mint_cert.principal);
}

static int
o_mint_token(struct monitor_state *st, const struct mon_msg *m)
{
	return o_mint(st, m->u.mint_token.session_id, m->u.mint_token.target,
	    m->u.mint_token.account);
}

static int
o_rec_open(struct monitor_state *st, const struct mon_msg *m)
{
	if (!st->allowed || st->rec_opened ||
	    strcmp(st->session_id, m->u.rec_open.session_id) != 0)
		return PV_ERR_PROTOCOL;
	st->rec_opened = 1;
	return 0;
}

static int
o_session_open(struct monitor_state *st, const struct mon_msg *m)
{
	if (!st->dec_allowed || st->row_opened ||
	    strcmp(st->session_id, m->u.session_open.session_id) != 0 ||
	    strcmp(st->dec_target, m->u.session_open.target) != 0 ||
	    strcmp(st->dec_account, m->u.session_open.account) != 0)
		return PV_ERR_PROTOCOL;
	st->row_opened = 1;
	return 0;
}

/*
 * The monitor connects only for the login's engineer: before any
 * decision once, after the good key (the pre-opened leg, which the
 * monitor still checks against what the engineer may see); after one
 * only for the target of the last decision, and only if it allowed.
 */
static int
o_target_connect(struct monitor_state *st, const struct mon_msg *m)
{
	const struct mon_target_connect *t = &m->u.target_connect;

	if (!st->key_ok || strcmp(st->key_login, t->engineer) != 0 ||
	    st->connects >= MON_TARGET_CONNECTS_MAX)
		return PV_ERR_PROTOCOL;
	if (!st->decided) {
		if (st->pre_connects++ > 0)
			return PV_ERR_PROTOCOL;
	} else if (!st->dec_allowed || strcmp(st->dec_target, t->target) != 0)
		return PV_ERR_PROTOCOL;
	st->connects++;
	return 0;
}

static int
a_target_socket(struct monitor_state *st, const struct mon_msg *m)
{
	(void)m;
	st->leg_out = 1;
	return 0;
}

/* A failure of a leg handed out, told once. */
static int
o_target_failed(struct monitor_state *st, const struct mon_msg *m)
{
	(void)m;
	if (!st->leg_out)
		return PV_ERR_PROTOCOL;
	st->leg_out = 0;
	return 0;
}

static int
o_session_end(struct monitor_state *st, const struct mon_msg *m)
{
	(void)m;
	st->ended = 1;
	return 0;
}

/* What the monitor's answers change. */

static int
a_pubkey(struct monitor_state *st, const struct mon_msg *m)
{
	if (m->u.auth_ans.flags & MON_AUTH_OK) {
		st->key_ok = 1;
		memcpy(st->key_login, st->pend_login, sizeof(st->key_login));
	}
	if (m->u.auth_ans.flags & MON_AUTH_DONE)
		st->authenticated = 1;
	return 0;
}

static int
a_totp(struct monitor_state *st, const struct mon_msg *m)
{
	if (m->u.auth_ans.flags & MON_AUTH_DONE) {
		st->authenticated = 1;
		st->by_code = 1;
	}
	return 0;
}

static int
a_grace(struct monitor_state *st, const struct mon_msg *m)
{
	if (m->u.auth_ans.flags & MON_AUTH_DONE)
		st->authenticated = 1;
	return 0;
}

static int
a_decision(struct monitor_state *st, const struct mon_msg *m)
{
	if (m->u.decision_ch.outcome == PV_ALLOW) {
		st->allowed = 1;
		st->dec_allowed = 1;
		st->mint_ok = 1;
	}
	return 0;
}

/* --- the table --- */

#define PRE MON_PH_PRE
#define AUTH MON_PH_AUTH
#define ANY (MON_PH_PRE | MON_PH_AUTH)
#define REQ(t, nm, ph, ans, f, ord)     \
	[t] = { .type = (t),            \
		.name = (nm),           \
		.dir = MON_DIR_REQUEST, \
		.phases = (ph),         \
		.answer = (ans),        \
		.fields = (f),          \
		.nfields = NFIELDS(f),  \
		.order = (ord) }
#define REQ0(t, nm, ph, ans, ord)       \
	[t] = { .type = (t),            \
		.name = (nm),           \
		.dir = MON_DIR_REQUEST, \
		.phases = (ph),         \
		.answer = (ans),        \
		.order = (ord) }
#define ANS(t, nm, f, chk, ord)        \
	[t] = { .type = (t),           \
		.name = (nm),          \
		.dir = MON_DIR_ANSWER, \
		.fields = (f),         \
		.nfields = NFIELDS(f), \
		.check = (chk),        \
		.order = (ord) }
#define ANS0(t, nm) [t] = { .type = (t), .name = (nm), .dir = MON_DIR_ANSWER }

static const struct mon_type_def mon_types[MON_TYPE_MAX_ + 1] = {
	REQ(MON_AUTH_PUBKEY, "auth-pubkey", PRE, MON_AUTH_PUBKEY_ANS,
	    f_auth_pubkey, o_pubkey),
	ANS(MON_AUTH_PUBKEY_ANS, "auth-pubkey-answer", f_auth_ans, c_auth_ans,
	    a_pubkey),
	REQ(MON_AUTH_TOTP, "auth-totp", PRE, MON_AUTH_TOTP_ANS, f_auth_totp,
	    o_totp),
	ANS(MON_AUTH_TOTP_ANS, "auth-totp-answer", f_auth_ans, c_auth_ans,
	    a_totp),
	REQ(MON_REC_OPEN, "open-recording", AUTH, MON_REC_OPEN_ANS, f_rec_open,
	    o_rec_open),
	[MON_REC_OPEN_ANS] = { .type = MON_REC_OPEN_ANS,
	    .name = "open-recording-answer",
	    .dir = MON_DIR_ANSWER,
	    .has_fd = 1,
	    .fields = f_rec_open_ans,
	    .nfields = NFIELDS(f_rec_open_ans) },
	/* audit always, also after session-end; each action's own phases
	 * are in mon_audits below */
	REQ(MON_AUDIT, "audit-append", ANY | MON_PH_END, MON_AUDIT_ACK, f_audit,
	    NULL),
	ANS0(MON_AUDIT_ACK, "audit-ack"),
	REQ(MON_SESSION_END, "session-end", ANY, MON_SESSION_END_ACK,
	    f_session_end, o_session_end),
	ANS0(MON_SESSION_END_ACK, "session-end-ack"),
	ANS(MON_ERROR, "error", f_error, NULL, NULL),
	REQ(MON_MFA_GRACE, "mfa-grace", PRE, MON_MFA_GRACE_ANS, f_mfa_grace,
	    o_grace),
	ANS(MON_MFA_GRACE_ANS, "mfa-grace-answer", f_auth_ans, c_grace_ans,
	    a_grace),
	REQ(MON_FRESH_MFA, "fresh-mfa", PRE, MON_FRESH_MFA_ANS, f_fresh_mfa,
	    o_fresh),
	ANS(MON_FRESH_MFA_ANS, "fresh-mfa-answer", f_verdict, NULL, NULL),
	REQ(MON_TARGET_GET, "target-get", ANY, MON_TARGET, f_target_get,
	    o_target_get),
	ANS(MON_TARGET, "target", f_target, NULL, NULL),
	REQ(MON_DECIDE_CH, "decide-channel", AUTH, MON_DECISION_CH, f_decide_ch,
	    o_decide),
	ANS(MON_DECISION_CH, "channel-decision", f_decision_ch, NULL,
	    a_decision),
	REQ(MON_MINT_CERT, "mint-cert", AUTH, MON_CERT_SERIAL, f_mint_cert,
	    o_mint_cert),
	ANS(MON_CERT_SERIAL, "cert-serial", f_cert_serial, NULL, NULL),
	REQ(MON_MINT_TOKEN, "mint-token", AUTH, MON_TOKEN, f_mint_token,
	    o_mint_token),
	ANS(MON_TOKEN, "token", f_token, NULL, NULL),
	REQ(MON_SESSION_OPEN, "session-open", AUTH, MON_SESSION_OPEN_ACK,
	    f_session_open, o_session_open),
	ANS0(MON_SESSION_OPEN_ACK, "session-open-ack"),
	REQ(MON_MENU, "menu", AUTH, MON_MENU_OUT, f_menu, NULL),
	ANS(MON_MENU_OUT, "menu-output", f_menu_out, NULL, NULL),
	REQ(MON_TARGET_CONNECT, "target-connect", ANY, MON_TARGET_SOCKET,
	    f_target_connect, o_target_connect),
	[MON_TARGET_SOCKET] = { .type = MON_TARGET_SOCKET,
	    .name = "target-socket",
	    .dir = MON_DIR_ANSWER,
	    .has_fd = 1,
	    .fields = f_target_socket,
	    .nfields = NFIELDS(f_target_socket),
	    .order = a_target_socket },
	REQ(MON_TARGET_FAILED, "target-failed", AUTH, MON_TARGET_FAILED_ACK,
	    f_target_failed, o_target_failed),
	ANS0(MON_TARGET_FAILED_ACK, "target-failed-ack"),
};

/*
 * The session side's audit actions (MON_AUDIT): a refused key only before
 * authentication; auth.ok once it is complete; the rest after it, and
 * after session-end too (session.end follows the row's end; a transfer's
 * summary may too).
 */
#define AUD(a, nm, ph, fm) \
	[a] = { .action = (a), .name = (nm), .phases = (ph), .form = (fm) }
#define POST (MON_PH_AUTH | MON_PH_END)

static const struct mon_audit_def mon_audits[MON_AUD_MAX_ + 1] = {
	AUD(MON_AUD_AUTH_FAIL, "auth.fail", PRE, MON_AUDF_TEXT),
	AUD(MON_AUD_AUTH_OK, "auth.ok", AUTH, MON_AUDF_AUTH_OK),
	AUD(MON_AUD_DECISION, "decision", POST, MON_AUDF_DECISION),
	AUD(MON_AUD_CREDENTIAL_ISSUED, "credential.issued", POST,
	    MON_AUDF_CREDENTIAL),
	AUD(MON_AUD_TARGET_HOSTKEY_MISMATCH, "target.hostkey_mismatch", POST,
	    MON_AUDF_TEXT),
	AUD(MON_AUD_CHANNEL_START, "channel.start", POST, MON_AUDF_TEXT),
	AUD(MON_AUD_CHANNEL_END, "channel.end", POST, MON_AUDF_TEXT),
	AUD(MON_AUD_CHANNEL_REFUSED, "channel.refused", POST, MON_AUDF_TEXT),
	AUD(MON_AUD_CHANNEL_SIGNAL, "channel.signal", POST, MON_AUDF_TEXT),
	AUD(MON_AUD_CHANNEL_HELD, "channel.held", POST, MON_AUDF_TEXT),
	AUD(MON_AUD_MENU, "menu", POST, MON_AUDF_ENGINEER),
	AUD(MON_AUD_TRANSFER, "transfer", POST, MON_AUDF_TEXT),
	AUD(MON_AUD_TRANSFER_REFUSED, "transfer.refused", POST, MON_AUDF_TEXT),
	AUD(MON_AUD_TRANSFER_ERROR, "transfer.error", POST, MON_AUDF_TEXT),
	AUD(MON_AUD_FORWARD_START, "forward.start", POST, MON_AUDF_TEXT),
	AUD(MON_AUD_FORWARD_END, "forward.end", POST, MON_AUDF_TEXT),
	AUD(MON_AUD_FORWARD_REFUSED, "forward.refused", POST, MON_AUDF_TEXT),
	AUD(MON_AUD_RFORWARD_LISTEN, "rforward.listen", POST, MON_AUDF_TEXT),
	AUD(MON_AUD_RFORWARD_CANCEL, "rforward.cancel", POST, MON_AUDF_TEXT),
	AUD(MON_AUD_RFORWARD_START, "rforward.start", POST, MON_AUDF_TEXT),
	AUD(MON_AUD_RFORWARD_END, "rforward.end", POST, MON_AUDF_TEXT),
	AUD(MON_AUD_SESSION_GRANT_EXPIRED, "session.grant_expired", POST,
	    MON_AUDF_TEXT),
	AUD(MON_AUD_SESSION_END, "session.end", POST, MON_AUDF_TEXT),
};

const struct mon_audit_def *
broker_mon_audit_def(int action)
{
	if (action < 1 || action > MON_AUD_MAX_ ||
	    mon_audits[action].action == 0)
		return NULL;
	return &mon_audits[action];
}

const struct mon_audit_def *
broker_mon_audit_find(const char *name)
{
	int i;

	if (name == NULL)
		return NULL;
	for (i = 1; i <= MON_AUD_MAX_; i++)
		if (mon_audits[i].name != NULL &&
		    strcmp(mon_audits[i].name, name) == 0)
			return &mon_audits[i];
	return NULL;
}

const struct mon_type_def *
broker_mon_type_def(int type)
{
	if (type < 1 || type > MON_TYPE_MAX_ || mon_types[type].type == 0)
		return NULL;
	return &mon_types[type];
}

const char *
broker_mon_type_name(int type)
{
	const struct mon_type_def *d = broker_mon_type_def(type);

	return d != NULL ? d->name : NULL;
}

int
broker_mon_type_is_request(int type)
{
	const struct mon_type_def *d = broker_mon_type_def(type);

	return d != NULL && d->dir == MON_DIR_REQUEST;
}

int
broker_mon_type_has_fd(int type)
{
	const struct mon_type_def *d = broker_mon_type_def(type);

	return d != NULL && d->has_fd;
}

int
broker_mon_type_answer(int type)
{
	const struct mon_type_def *d = broker_mon_type_def(type);

	return d != NULL && d->dir == MON_DIR_REQUEST ? d->answer : 0;
}

/* --- the codec --- */

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
		return cl == MC_TEXT0 || cl == MC_NAME0 || cl == MC_HOST0 ||
		    cl == MC_BYTES0;
	if (cl == MC_NAME0)
		cl = MC_NAME;
	if (cl == MC_HOST0)
		cl = MC_HOST;
	if (cl == MC_BYTES0)
		return 1; /* NUL was refused by the caller */
	switch (cl) {
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

/* Does s start with p?  Returns what follows, or NULL. */
static const char *
aud_after(const char *s, const char *p)
{
	size_t n = strlen(p);

	return strncmp(s, p, n) == 0 ? s + n : NULL;
}

/*
 * The login of auth.ok: who's (who, who+ACCOUNT, who@TARGET, ...), of a
 * login's characters, len bytes.
 */
static int
aud_login_of(const char *l, size_t len, const char *who)
{
	size_t n = strlen(who), i;

	if (len < n || strncmp(l, who, n) != 0 ||
	    (len > n && l[n] != '+' && l[n] != '@'))
		return 0;
	for (i = 0; i < len; i++)
		if (!name_char((unsigned char)l[i]) && l[i] != '+' &&
		    l[i] != '@')
			return 0;
	return 1;
}

int
broker_mon_audit_detail_ok(const struct mon_audit_def *d,
    const struct mon_audit_facts *f, const char *detail)
{
	const char *how, *r;
	char p[3 * (MON_NAME_MAX + 1) + MON_ADDR_MAX + 64];
	size_t len, hl;
	int n;

	if (d == NULL || f == NULL || detail == NULL || f->who == NULL)
		return 0;
	switch (d->form) {
	case MON_AUDF_TEXT:
		return 1;
	case MON_AUDF_AUTH_OK:
		n = snprintf(p, sizeof(p), "engineer=%s from=%s login=", f->who,
		    f->addr != NULL ? f->addr : "");
		how = f->by_code ? " by=key and code"
				 : " by=key; code within MFAGrace";
		if (f->who[0] == '\0' || n < 0 || (size_t)n >= sizeof(p) ||
		    (r = aud_after(detail, p)) == NULL)
			return 0;
		len = strlen(r);
		hl = strlen(how);
		return len > hl && strcmp(r + len - hl, how) == 0 &&
		    aud_login_of(r, len - hl, f->who);
	case MON_AUDF_DECISION:
		if (aud_after(detail, "deny target=") != NULL)
			return 1; /* no such target: nothing was decided */
		if ((r = aud_after(detail, "deny ")) != NULL) {
			n = snprintf(p, sizeof(p), "engineer=%s ", f->who);
			return n > 0 && (size_t)n < sizeof(p) &&
			    aud_after(r, p) != NULL;
		}
		if (!f->dec_allowed || f->dec_target == NULL ||
		    f->dec_account == NULL)
			return 0;
		n = snprintf(p, sizeof(p),
		    "allow engineer=%s target=%s account=%s ", f->who,
		    f->dec_target, f->dec_account);
		return n > 0 && (size_t)n < sizeof(p) &&
		    aud_after(detail, p) != NULL;
	case MON_AUDF_CREDENTIAL:
		if (!f->cred_minted || f->cred_account == NULL)
			return 0;
		n = snprintf(p, sizeof(p), "serial=%llu principal=%s",
		    (unsigned long long)f->cred_serial, f->cred_account);
		return n > 0 && (size_t)n < sizeof(p) &&
		    (r = aud_after(detail, p)) != NULL &&
		    (*r == '\0' || *r == ' ');
	case MON_AUDF_ENGINEER:
		n = snprintf(p, sizeof(p), "engineer=%s ", f->who);
		return f->who[0] != '\0' && n > 0 && (size_t)n < sizeof(p) &&
		    aud_after(detail, p) != NULL;
	}
	return 0;
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

/* Where a field lives in m. */
static void *
at(struct mon_msg *m, size_t off)
{
	return (uint8_t *)m + off;
}

static const void *
cat(const struct mon_msg *m, size_t off)
{
	return (const uint8_t *)m + off;
}

/* One field off the wire into m; *stop once nothing more may follow. */
static int
field_get(
    struct pv_buf *b, const struct mon_field *f, struct mon_msg *m, int *stop)
{
	const uint8_t *p;
	size_t len;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32, i;
	uint64_t u64;

	switch (f->kind) {
	case MF_STR:
		return get_str(b, at(m, f->off), (size_t)f->max, f->cl);
	case MF_BLOB:
	case MF_BLOB0:
	case MF_FIXED:
		if (pv_buf_get_string_direct(b, &p, &len) != 0 ||
		    len > f->max || (f->kind == MF_BLOB && len == 0) ||
		    (f->kind == MF_FIXED && len != f->max))
			return PV_ERR_PROTOCOL;
		if (len > 0)
			memcpy(at(m, f->off), p, len);
		if (f->kind != MF_FIXED)
			memcpy(at(m, f->aux), &len, sizeof(len));
		return 0;
	case MF_BOOL:
	case MF_PRESENT:
	case MF_U8:
		if (pv_buf_get_u8(b, &u8) != 0 || u8 < f->min || u8 > f->max)
			return PV_ERR_PROTOCOL;
		*(int *)at(m, f->off) = u8;
		if (f->kind == MF_PRESENT && u8 == 0)
			*stop = 1;
		return 0;
	case MF_U16:
		if (pv_buf_get_u16(b, &u16) != 0 || u16 < f->min ||
		    u16 > f->max)
			return PV_ERR_PROTOCOL;
		memcpy(at(m, f->off), &u16, sizeof(u16));
		return 0;
	case MF_U32:
		if (pv_buf_get_u32(b, &u32) != 0 || u32 < f->min ||
		    u32 > f->max ||
		    ((f->flags & MFF_ONE_BIT) &&
			(u32 == 0 || (u32 & (u32 - 1)) != 0)))
			return PV_ERR_PROTOCOL;
		memcpy(at(m, f->off), &u32, sizeof(u32));
		return 0;
	case MF_U64:
	case MF_TIME:
		if (pv_buf_get_u64(b, &u64) != 0 || u64 < f->min ||
		    u64 > f->max || (f->kind == MF_TIME && u64 > INT64_MAX))
			return PV_ERR_PROTOCOL;
		if (f->kind == MF_TIME) {
			int64_t t = (int64_t)u64;

			memcpy(at(m, f->off), &t, sizeof(t));
		} else
			memcpy(at(m, f->off), &u64, sizeof(u64));
		return 0;
	case MF_ERRNO:
		if (pv_buf_get_u32(b, &u32) != 0 || u32 == 0 ||
		    u32 > (uint32_t)-PV_ERR_MIN_)
			return PV_ERR_PROTOCOL;
		*(int *)at(m, f->off) = -(int)u32;
		return 0;
	case MF_NAMES:
		if (pv_buf_get_u32(b, &u32) != 0 || u32 > f->n)
			return PV_ERR_PROTOCOL;
		for (i = 0; i < u32; i++)
			if (get_str(b, (char *)at(m, f->off) + i * (f->max + 1),
				(size_t)f->max, f->cl) != 0)
				return PV_ERR_PROTOCOL;
		memcpy(at(m, f->aux), &u32, sizeof(u32));
		return 0;
	}
	return PV_ERR_PROTOCOL;
}

/*
 * One field of m onto the wire: the lengths that say how much of m to
 * read are checked here; every value's limit by the round trip in
 * broker_mon_msg_encode.
 */
static int
field_put(struct pv_buf *b, const struct mon_field *f, const struct mon_msg *m,
    int *stop)
{
	const char *s;
	size_t len;
	uint16_t u16;
	uint32_t u32, i;
	uint64_t u64;
	int64_t t;
	int v;

	switch (f->kind) {
	case MF_STR:
		s = cat(m, f->off);
		if ((len = strnlen(s, (size_t)f->max + 1)) > f->max)
			return PV_ERR_INVALID;
		return pv_buf_put_string(b, s, len);
	case MF_BLOB:
	case MF_BLOB0:
		memcpy(&len, cat(m, f->aux), sizeof(len));
		if (len > f->max)
			return PV_ERR_INVALID;
		return pv_buf_put_string(b, cat(m, f->off), len);
	case MF_FIXED:
		return pv_buf_put_string(b, cat(m, f->off), (size_t)f->max);
	case MF_BOOL:
	case MF_PRESENT:
		v = *(const int *)cat(m, f->off);
		v = (f->flags & MFF_ALLOW) ? v == PV_ALLOW : v != 0;
		if (f->kind == MF_PRESENT && !v)
			*stop = 1;
		return pv_buf_put_u8(b, (uint8_t)v);
	case MF_U8:
		v = *(const int *)cat(m, f->off);
		if (v < 0 || v > UINT8_MAX)
			return PV_ERR_INVALID;
		return pv_buf_put_u8(b, (uint8_t)v);
	case MF_U16:
		memcpy(&u16, cat(m, f->off), sizeof(u16));
		return pv_buf_put_u16(b, u16);
	case MF_U32:
		memcpy(&u32, cat(m, f->off), sizeof(u32));
		return pv_buf_put_u32(b, u32);
	case MF_U64:
		memcpy(&u64, cat(m, f->off), sizeof(u64));
		return pv_buf_put_u64(b, u64);
	case MF_TIME:
		memcpy(&t, cat(m, f->off), sizeof(t));
		return pv_buf_put_u64(b, (uint64_t)t);
	case MF_ERRNO:
		v = *(const int *)cat(m, f->off);
		if (v >= 0 || v < PV_ERR_MIN_)
			return PV_ERR_INVALID;
		return pv_buf_put_u32(b, (uint32_t)-v);
	case MF_NAMES: {
		int r;

		memcpy(&u32, cat(m, f->aux), sizeof(u32));
		if (u32 > f->n)
			return PV_ERR_INVALID;
		if ((r = pv_buf_put_u32(b, u32)) != 0)
			return r;
		for (i = 0; i < u32; i++) {
			s = (const char *)cat(m, f->off) + i * (f->max + 1);
			if ((len = strnlen(s, (size_t)f->max + 1)) > f->max)
				return PV_ERR_INVALID;
			if ((r = pv_buf_put_string(b, s, len)) != 0)
				return r;
		}
		return 0;
	}
	}
	return PV_ERR_INVALID;
}

/* The payload of m's type, every field checked; nothing may follow. */
static int
decode_payload(
    struct pv_buf *b, const struct mon_type_def *d, struct mon_msg *m)
{
	size_t i;
	int stop = 0;

	for (i = 0; i < d->nfields && !stop; i++)
		if (field_get(b, &d->fields[i], m, &stop) != 0)
			return PV_ERR_PROTOCOL;
	if (d->check != NULL && d->check(m) != 0)
		return PV_ERR_PROTOCOL;
	return pv_buf_len(b) == 0 ? 0 : PV_ERR_PROTOCOL;
}

static int
encode_payload(const struct mon_msg *m, struct pv_buf *b)
{
	const struct mon_type_def *d = broker_mon_type_def((int)m->type);
	size_t i;
	int r, stop = 0;

	if (d == NULL)
		return PV_ERR_INVALID;
	for (i = 0; i < d->nfields && !stop; i++)
		if ((r = field_put(b, &d->fields[i], m, &stop)) != 0)
			return r;
	return 0;
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
	const struct mon_type_def *d;
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
	    pv_buf_get_u8(b, &type) != 0 ||
	    (d = broker_mon_type_def(type)) == NULL)
		goto out;
	out->type = (enum mon_type)type;
	r = decode_payload(b, d, out);
out:
	pv_buf_free(b);
	if (r != 0)
		broker_mon_msg_clear(out);
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

unsigned int
broker_mon_state_phase(const struct monitor_state *st)
{
	if (st->ended)
		return MON_PH_END;
	return st->authenticated ? MON_PH_AUTH : MON_PH_PRE;
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
	const struct mon_type_def *d = broker_mon_type_def((int)m->type);

	if (st->failed || st->pending != 0 || d == NULL ||
	    d->dir != MON_DIR_REQUEST ||
	    (d->phases & broker_mon_state_phase(st)) == 0)
		return state_fail(st);
	if (d->order != NULL && d->order(st, m) != 0)
		return state_fail(st);
	st->pending = (int)m->type;
	return 0;
}

int
broker_mon_state_answer(struct monitor_state *st, const struct mon_msg *m)
{
	const struct mon_type_def *d = broker_mon_type_def((int)m->type);

	if (st->failed || st->pending == 0 || d == NULL)
		return state_fail(st);
	if (m->type == MON_ERROR) {
		st->pending = 0;
		return 0;
	}
	if ((int)m->type != broker_mon_type_answer(st->pending))
		return state_fail(st);
	if (d->order != NULL && d->order(st, m) != 0)
		return state_fail(st);
	st->pending = 0;
	return 0;
}
