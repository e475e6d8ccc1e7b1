/*
 * test_broker_monitor.c: the monitor protocol: a table of frames, round
 * trips per type, the order rules as sequences, and a socketpair with fds.
 */
#include "config.h"

#include <errno.h>
#include <glob.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "broker/privsep/protocol.h"

#define SID "0b9c5a3e-7d1f-4c2a-9e8b-1a2b3c4d5e6f"
#define SID2 "1b9c5a3e-7d1f-4c2a-9e8b-1a2b3c4d5e6f"

/* --- frames built field by field, so that bad fields can be sent --- */

struct field {
	char
	    kind; /* s: string, b: u8, w: u16, u: u32, q: u64, r: raw, 0: end */
	const char *s;
	uint64_t v; /* b/u/q value; for s and r: length if non-zero */
};

struct frame_case {
	const char *name;
	long type;
	struct field f[12];
	long want;
	long lenfix; /* added to the header's length */
};

#define S(x)                \
	{                   \
		's', (x), 0 \
	}
#define B(x)                   \
	{                      \
		'b', NULL, (x) \
	}
#define U(x)                   \
	{                      \
		'u', NULL, (x) \
	}
#define Q(x)                   \
	{                      \
		'q', NULL, (x) \
	}
#define U16(x)                 \
	{                      \
		'w', NULL, (x) \
	}
#define BLOB                                     \
	{                                        \
		's', "\0\0\0\x0bssh-ed25519", 15 \
	}
#define TGT S("root"), S("db01.example"), U16(22), S("ssh-ed25519 AAAAC3Nz")
#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define RAW(x, n)             \
	{                     \
		's', (x), (n) \
	}
#define K32 RAW("0123456789abcdef0123456789abcdef", 32)
#define P4 RAW("\x01\x02\x03\x04", 4)

#define DCH S("alice"), S("db01"), S("root"), U(2), S("127.0.0.1 port 5")
#define DCH_OK(o, rsn)                                                       \
	B(o), B(1), B(0), U(3), S("r1"), S("g-1"), Q(0), S(rsn), U(0), B(0), \
	    S(""), S("")

static const struct frame_case frame_cases[] = {
	/* valid, one of each type */
	{ "pubkey", MON_AUTH_PUBKEY,
	    { S("alice+root@db01"), BLOB, S("127.0.0.1") }, 0, 0 },
	{ "pubkey v6", MON_AUTH_PUBKEY, { S("alice"), BLOB, S("fe80::1%2") }, 0,
	    0 },
	{ "pubkey ans", MON_AUTH_PUBKEY_ANS, { U(MON_AUTH_OK) }, 0, 0 },
	{ "totp", MON_AUTH_TOTP, { S("alice+db01"), S("123456") }, 0, 0 },
	{ "totp ans", MON_AUTH_TOTP_ANS, { U(MON_AUTH_OK | MON_AUTH_DONE) }, 0,
	    0 },
	{ "decide", MON_DECIDE_CH, { DCH, S(""), U(0) }, 0, 0 },
	{ "decide forward", MON_DECIDE_CH, { DCH, S("intranet"), U(443) }, 0,
	    0 },
	{ "decision", MON_DECISION_CH, { DCH_OK(1, "ok") }, 0, 0 },
	{ "decision deny", MON_DECISION_CH, { DCH_OK(0, "no rule allows it") },
	    0, 0 },
	{ "mint", MON_MINT_CERT,
	    { S(SID), S("db01"), S("root"), K32, S("127.0.0.1/32") }, 0, 0 },
	{ "cert", MON_CERT_SERIAL, { Q(42), BLOB }, 0, 0 },
	{ "rec open", MON_REC_OPEN,
	    { S(SID), S("xterm-256color"), U16(80), U16(24) }, 0, 0 },
	{ "rec open no pty", MON_REC_OPEN, { S(SID), S(""), U16(0), U16(0) }, 0,
	    0 },
	{ "rec ans", MON_REC_OPEN_ANS,
	    { S("/var/lib/provost/rec/x.pvr"), K32, P4, K32, Q(300) }, 0, 0 },
	{ "audit", MON_AUDIT, { S("session.end"), S(""), S("{\"a\":1}") }, 0,
	    0 },
	{ "audit ack", MON_AUDIT_ACK, { { 0, NULL, 0 } }, 0, 0 },
	{ "end", MON_SESSION_END, { Q(1), Q(2), S("bye"), Q(3), B(0) }, 0, 0 },
	{ "end no rec", MON_SESSION_END, { Q(1), Q(2), S("bye"), Q(0), B(1) },
	    0, 0 },
	{ "end ack", MON_SESSION_END_ACK, { { 0, NULL, 0 } }, 0, 0 },
	{ "error", MON_ERROR, { U(13), S("store down") }, 0, 0 },
	{ "target none", MON_TARGET, { B(0) }, 0, 0 },
	/* framing */
	{ "length one short", MON_DECIDE_CH, { DCH, S(""), U(0) },
	    PV_ERR_PROTOCOL, -1 },
	{ "length one long", MON_DECIDE_CH, { DCH, S(""), U(0) },
	    PV_ERR_PROTOCOL, 1 },
	{ "trailing byte", MON_DECIDE_CH, { DCH, S(""), U(0), B(0) },
	    PV_ERR_PROTOCOL, 0 },
	{ "field cut", MON_DECIDE_CH,
	    { S("alice"), S("db01"), S("root"), B(2) }, PV_ERR_PROTOCOL, 0 },
	{ "ack with payload", MON_AUDIT_ACK, { B(0) }, PV_ERR_PROTOCOL, 0 },
	{ "target none with a name", MON_TARGET, { B(0), S("db01") },
	    PV_ERR_PROTOCOL, 0 },
	{ "unknown type 0", 0, { { 0, NULL, 0 } }, PV_ERR_PROTOCOL, 0 },
	{ "unknown type 16", 16, { { 0, NULL, 0 } }, PV_ERR_PROTOCOL, 0 },
	/*
	 * retired: the first design's session decision and certificate
	 * (provostd never answered them; 23..26 did), as they were framed
	 */
	{ "retired type 5 (decide)", 5,
	    { S("alice"), S("db01"), S("root"), U(2) }, PV_ERR_PROTOCOL, 0 },
	{ "retired type 6 (decision)", 6,
	    { B(0), S(""), S("no rule allows it"), Q(0), U(0), U(0) },
	    PV_ERR_PROTOCOL, 0 },
	{ "retired type 7 (mint)", 7,
	    { S(SID), S("db01"), S("root"), BLOB, B(0) }, PV_ERR_PROTOCOL, 0 },
	{ "retired type 8 (cert)", 8, { BLOB }, PV_ERR_PROTOCOL, 0 },
	/*
	 * retired: the session process's revocation poll (the monitor
	 * enforces revocation itself); a process still sending it is
	 * refused like any unknown type
	 */
	{ "retired type 33 (revoked)", 33, { S(SID), Q(9) }, PV_ERR_PROTOCOL,
	    0 },
	{ "retired type 34 (revoked-answer)", 34, { U(1) }, PV_ERR_PROTOCOL,
	    0 },
	{ "unknown type 255", 255, { U(1) }, PV_ERR_PROTOCOL, 0 },
	{ "oversize audit", MON_AUDIT,
	    { S("a"), S("b"), { 'r', NULL, MON_FRAME_MAX } }, PV_ERR_PROTOCOL,
	    0 },
	/* bad fields */
	{ "login upper", MON_AUTH_PUBKEY, { S("Alice"), BLOB, S("127.0.0.1") },
	    PV_ERR_PROTOCOL, 0 },
	{ "login empty", MON_AUTH_PUBKEY, { S(""), BLOB, S("127.0.0.1") },
	    PV_ERR_PROTOCOL, 0 },
	{ "login NUL", MON_AUTH_PUBKEY,
	    { { 's', "al\0ce", 5 }, BLOB, S("127.0.0.1") }, PV_ERR_PROTOCOL,
	    0 },
	{ "blob empty", MON_AUTH_PUBKEY, { S("alice"), S(""), S("127.0.0.1") },
	    PV_ERR_PROTOCOL, 0 },
	{ "addr letters", MON_AUTH_PUBKEY,
	    { S("alice"), BLOB, S("evil.example") }, PV_ERR_PROTOCOL, 0 },
	{ "code letter", MON_AUTH_TOTP, { S("alice"), S("12345x") },
	    PV_ERR_PROTOCOL, 0 },
	{ "code long", MON_AUTH_TOTP, { S("alice"), S("12345678901") },
	    PV_ERR_PROTOCOL, 0 },
	{ "auth unknown flag", MON_AUTH_TOTP_ANS, { U(4) }, PV_ERR_PROTOCOL,
	    0 },
	{ "auth done not ok", MON_AUTH_PUBKEY_ANS, { U(MON_AUTH_DONE) },
	    PV_ERR_PROTOCOL, 0 },
	{ "grace ok not done", MON_MFA_GRACE_ANS, { U(MON_AUTH_OK) },
	    PV_ERR_PROTOCOL, 0 },
	{ "two channels", MON_DECIDE_CH,
	    { S("alice"), S("db01"), S("root"), U(3), S("127.0.0.1 port 5"),
		S(""), U(0) },
	    PV_ERR_PROTOCOL, 0 },
	{ "no channel", MON_DECIDE_CH,
	    { S("alice"), S("db01"), S("root"), U(0), S("127.0.0.1 port 5"),
		S(""), U(0) },
	    PV_ERR_PROTOCOL, 0 },
	{ "target slash", MON_DECIDE_CH,
	    { S("alice"), S("../db"), S("root"), U(1), S("127.0.0.1 port 5"),
		S(""), U(0) },
	    PV_ERR_PROTOCOL, 0 },
	{ "decide no account", MON_DECIDE_CH,
	    { S("alice"), S("db01"), S(""), U(1), S("127.0.0.1 port 5"), S(""),
		U(0) },
	    PV_ERR_PROTOCOL, 0 },
	{ "forward host space", MON_DECIDE_CH,
	    { DCH, S("db01 -oProxy"), U(22) }, PV_ERR_PROTOCOL, 0 },
	{ "forward port 65536", MON_DECIDE_CH, { DCH, S("db01"), U(65536) },
	    PV_ERR_PROTOCOL, 0 },
	{ "outcome 2", MON_DECISION_CH, { DCH_OK(2, "ok") }, PV_ERR_PROTOCOL,
	    0 },
	{ "grant_ends negative", MON_DECISION_CH,
	    { B(1), B(1), B(0), U(3), S("r1"), S("g-1"), Q(UINT64_MAX), S("ok"),
		U(0), B(0), S(""), S("") },
	    PV_ERR_PROTOCOL, 0 },
	{ "permit_pty 2", MON_DECISION_CH,
	    { B(1), B(2), B(0), U(3), S("r1"), S("g-1"), Q(0), S("ok"), U(0),
		B(0), S(""), S("") },
	    PV_ERR_PROTOCOL, 0 },
	{ "reason newline", MON_DECISION_CH, { DCH_OK(0, "no\nrule") },
	    PV_ERR_PROTOCOL, 0 },
	{ "moderated not a name", MON_DECISION_CH,
	    { B(1), B(1), B(0), U(3), S("r1"), S("g-1"), Q(0), S("ok"), U(0),
		B(0), S("DBA team"), S("") },
	    PV_ERR_PROTOCOL, 0 },
	{ "mint bad sid", MON_MINT_CERT,
	    { S("not-a-uuid"), S("db01"), S("root"), K32, S("127.0.0.1/32") },
	    PV_ERR_PROTOCOL, 0 },
	{ "mint key 31 bytes", MON_MINT_CERT,
	    { S(SID), S("db01"), S("root"),
		RAW("0123456789abcdef0123456789abcde", 31), S("127.0.0.1/32") },
	    PV_ERR_PROTOCOL, 0 },
	{ "cert too big", MON_CERT_SERIAL,
	    { Q(1), { 'r', NULL, 4 + MON_CERT_MAX + 1 } }, PV_ERR_PROTOCOL, 0 },
	{ "details not json", MON_AUDIT, { S("x"), S(""), S("a=1") },
	    PV_ERR_PROTOCOL, 0 },
	{ "action empty", MON_AUDIT, { S(""), S(""), S("{}") }, PV_ERR_PROTOCOL,
	    0 },
	/* the child no longer says what the recording hashes to */
	{ "end with a hash", MON_SESSION_END,
	    { Q(1), Q(2), S("bye"), S(HEX64), Q(3), B(0) }, PV_ERR_PROTOCOL,
	    0 },
	{ "rec open term ctl", MON_REC_OPEN,
	    { S(SID), S("xterm\x1b"), U16(80), U16(24) }, PV_ERR_PROTOCOL, 0 },
	{ "rec open term long", MON_REC_OPEN,
	    { S(SID),
		S("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		  "x"
		  "xxxx"),
		U16(80), U16(24) },
	    PV_ERR_PROTOCOL, 0 },
	{ "rec ans key short", MON_REC_OPEN_ANS,
	    { S("/r/x.pvr"), RAW("0123456789abcdef0123456789abcde", 31), P4,
		K32, Q(300) },
	    PV_ERR_PROTOCOL, 0 },
	{ "rec ans header 0", MON_REC_OPEN_ANS,
	    { S("/r/x.pvr"), K32, P4, K32, Q(0) }, PV_ERR_PROTOCOL, 0 },
	{ "rec ans header huge", MON_REC_OPEN_ANS,
	    { S("/r/x.pvr"), K32, P4, K32, Q(MON_REC_HEADER_MAX + 1) },
	    PV_ERR_PROTOCOL, 0 },
	{ "error code 0", MON_ERROR, { U(0), S("x") }, PV_ERR_PROTOCOL, 0 },
	{ "error code 99", MON_ERROR, { U(99), S("x") }, PV_ERR_PROTOCOL, 0 },
};

/* Builds a frame; a 'r' field of length n is a u32 length n-4 + bytes. */
static struct pv_buf *
build_frame(const struct frame_case *c)
{
	struct pv_buf *body = pv_buf_new(4 * MON_FRAME_MAX);
	struct pv_buf *fr = pv_buf_new(4 * MON_FRAME_MAX);
	uint8_t *dst;
	size_t i;

	assert_non_null(body);
	assert_non_null(fr);
	assert_int_equal(pv_buf_put_u8(body, (uint8_t)c->type), 0);
	for (i = 0; i < 12 && c->f[i].kind != 0; i++) {
		const struct field *f = &c->f[i];
		size_t n;

		switch (f->kind) {
		case 's':
			n = f->v ? (size_t)f->v : strlen(f->s);
			assert_int_equal(pv_buf_put_string(body, f->s, n), 0);
			break;
		case 'b':
			assert_int_equal(pv_buf_put_u8(body, (uint8_t)f->v), 0);
			break;
		case 'w':
			assert_int_equal(
			    pv_buf_put_u16(body, (uint16_t)f->v), 0);
			break;
		case 'u':
			assert_int_equal(
			    pv_buf_put_u32(body, (uint32_t)f->v), 0);
			break;
		case 'q':
			assert_int_equal(pv_buf_put_u64(body, f->v), 0);
			break;
		case 'r':
			n = (size_t)f->v - 4;
			assert_int_equal(pv_buf_put_u32(body, (uint32_t)n), 0);
			assert_int_equal(pv_buf_reserve(body, n, &dst), 0);
			memset(dst, '{', n);
			break;
		default:
			fail();
		}
	}
	assert_int_equal(
	    pv_buf_put_u32(fr, (uint32_t)((long)pv_buf_len(body) + c->lenfix)),
	    0);
	assert_int_equal(pv_buf_put(fr, pv_buf_ptr(body), pv_buf_len(body)), 0);
	pv_buf_free(body);
	return fr;
}

static void
test_frame_table(void **state)
{
	struct mon_msg *m = calloc(1, sizeof(*m));
	size_t i;

	(void)state;
	assert_non_null(m);
	for (i = 0; i < sizeof(frame_cases) / sizeof(frame_cases[0]); i++) {
		const struct frame_case *c = &frame_cases[i];
		struct pv_buf *fr = build_frame(c);
		struct pv_buf *again = pv_buf_new(0);
		int r;

		r = broker_mon_msg_decode(pv_buf_ptr(fr), pv_buf_len(fr), m);
		if (r != c->want)
			fail_msg(
			    "%s: decode %d, want %ld", c->name, r, c->want);
		if (r == 0) {
			/* canonical: encoding what was decoded gives it back */
			assert_int_equal((int)m->type, c->type);
			assert_int_equal(broker_mon_msg_encode(m, again), 0);
			assert_int_equal(pv_buf_len(again), pv_buf_len(fr));
			assert_memory_equal(
			    pv_buf_ptr(again), pv_buf_ptr(fr), pv_buf_len(fr));
		} else {
			assert_int_equal((int)m->type, 0);
		}
		pv_buf_free(again);
		pv_buf_free(fr);
	}
	/* every cut of a valid frame is refused */
	for (i = 0; i < sizeof(frame_cases) / sizeof(frame_cases[0]); i++) {
		struct pv_buf *fr;
		size_t cut;

		if (frame_cases[i].want != 0 || frame_cases[i].lenfix != 0)
			continue;
		fr = build_frame(&frame_cases[i]);

		for (cut = 0; cut < pv_buf_len(fr); cut++)
			assert_int_equal(
			    broker_mon_msg_decode(pv_buf_ptr(fr), cut, m),
			    PV_ERR_PROTOCOL);
		pv_buf_free(fr);
	}
	free(m);
}

static void
test_encode_refuses_bad(void **state)
{
	struct mon_msg m = { .type = MON_DECIDE_CH };
	struct pv_buf *b = pv_buf_new(0);

	(void)state;
	(void)snprintf(
	    m.u.decide_ch.engineer, sizeof(m.u.decide_ch.engineer), "Bob");
	(void)snprintf(
	    m.u.decide_ch.target, sizeof(m.u.decide_ch.target), "db01");
	(void)snprintf(
	    m.u.decide_ch.account, sizeof(m.u.decide_ch.account), "root");
	(void)snprintf(m.u.decide_ch.client, sizeof(m.u.decide_ch.client),
	    "127.0.0.1 port 5");
	m.u.decide_ch.channel = 1;
	assert_int_equal(broker_mon_msg_encode(&m, b), PV_ERR_INVALID);
	assert_int_equal(pv_buf_len(b), 0);
	m.u.decide_ch.engineer[0] = 'b';
	assert_int_equal(broker_mon_msg_encode(&m, b), 0);
	assert_true(pv_buf_len(b) > MON_HDR_LEN);
	m.type = (enum mon_type)40;
	assert_int_equal(broker_mon_msg_encode(&m, b), PV_ERR_INVALID);
	/* a retired type is no type: nothing is sent */
	pv_buf_reset(b);
	m.type = (enum mon_type)5;
	assert_int_equal(broker_mon_msg_encode(&m, b), PV_ERR_INVALID);
	assert_int_equal(pv_buf_len(b), 0);
	pv_buf_free(b);
	assert_string_equal(broker_mon_type_name(MON_MINT_CERT), "mint-cert");
	assert_null(broker_mon_type_name(0));
	assert_null(broker_mon_type_name(5));
	assert_null(broker_mon_type_name(8));
	assert_true(broker_mon_type_is_request(MON_AUDIT));
	assert_false(broker_mon_type_is_request(MON_ERROR));
	assert_int_equal(
	    broker_mon_type_answer(MON_MINT_CERT), MON_CERT_SERIAL);
	assert_int_equal(broker_mon_type_answer(MON_CERT_SERIAL), 0);
}

/* --- the order rules: sequences of steps, and where each must fail --- */

enum step {
	END_ = 0,
	CONN,     /* target-connect alice db01 */
	CONN_T2,  /* ... db02 */
	CONN_BOB, /* ... bob db01 */
	SOCK,     /* its answer (the socket) */
	LEGFAIL,  /* target-failed */
	LEGACK,
	PK,
	PK_BOB,
	PK_OK,
	PK_DONE,
	PK_NO,
	TOTP,
	TOTP_BOB,
	T_DONE,
	T_NO,
	DEC,
	DEC2,
	ALLOW,
	DENY,
	MINT,
	MINT_T2,
	MINT_SID2,
	MINT_ACC2,
	CERT,
	REC,
	REC_SID2,
	REC_ANS,
	AUD,
	ACK,
	END,
	END_ACK,
	ERR,
};

static void
make_step(enum step s, struct mon_msg *m)
{
	memset(m, 0, sizeof(*m));
	switch (s) {
	case PK:
	case PK_BOB:
		m->type = MON_AUTH_PUBKEY;
		(void)snprintf(m->u.auth_pubkey.login,
		    sizeof(m->u.auth_pubkey.login), "%s",
		    s == PK ? "alice" : "bob");
		m->u.auth_pubkey.bloblen = 1;
		(void)snprintf(m->u.auth_pubkey.addr,
		    sizeof(m->u.auth_pubkey.addr), "127.0.0.1");
		break;
	case PK_OK:
	case PK_DONE:
	case PK_NO:
		m->type = MON_AUTH_PUBKEY_ANS;
		m->u.auth_ans.flags = s == PK_OK ? MON_AUTH_OK
		    : s == PK_DONE               ? MON_AUTH_OK | MON_AUTH_DONE
						 : 0;
		break;
	case TOTP:
	case TOTP_BOB:
		m->type = MON_AUTH_TOTP;
		(void)snprintf(m->u.auth_totp.login,
		    sizeof(m->u.auth_totp.login), "%s",
		    s == TOTP ? "alice" : "bob");
		(void)snprintf(
		    m->u.auth_totp.code, sizeof(m->u.auth_totp.code), "123456");
		break;
	case T_DONE:
	case T_NO:
		m->type = MON_AUTH_TOTP_ANS;
		m->u.auth_ans.flags =
		    s == T_DONE ? MON_AUTH_OK | MON_AUTH_DONE : 0;
		break;
	case DEC:
	case DEC2:
		m->type = MON_DECIDE_CH;
		(void)snprintf(m->u.decide_ch.engineer,
		    sizeof(m->u.decide_ch.engineer), "alice");
		(void)snprintf(m->u.decide_ch.target,
		    sizeof(m->u.decide_ch.target), "%s",
		    s == DEC2 ? "db02" : "db01");
		(void)snprintf(m->u.decide_ch.account,
		    sizeof(m->u.decide_ch.account), "root");
		m->u.decide_ch.channel = 1;
		(void)snprintf(m->u.decide_ch.client,
		    sizeof(m->u.decide_ch.client), "127.0.0.1 port 5");
		break;
	case ALLOW:
	case DENY:
		m->type = MON_DECISION_CH;
		m->u.decision_ch.outcome = s == DENY ? PV_DENY : PV_ALLOW;
		break;
	case MINT:
	case MINT_T2:
	case MINT_SID2:
	case MINT_ACC2:
		m->type = MON_MINT_CERT;
		(void)snprintf(m->u.mint_cert.session_id,
		    sizeof(m->u.mint_cert.session_id), "%s",
		    s == MINT_SID2 ? SID2 : SID);
		(void)snprintf(m->u.mint_cert.target,
		    sizeof(m->u.mint_cert.target), "%s",
		    s == MINT_T2 ? "db02" : "db01");
		(void)snprintf(m->u.mint_cert.principal,
		    sizeof(m->u.mint_cert.principal), "%s",
		    s == MINT_ACC2 ? "admin" : "root");
		(void)snprintf(m->u.mint_cert.source_address,
		    sizeof(m->u.mint_cert.source_address), "127.0.0.1/32");
		break;
	case CERT:
		m->type = MON_CERT_SERIAL;
		m->u.cert_serial.bloblen = 1;
		break;
	case REC:
	case REC_SID2:
		m->type = MON_REC_OPEN;
		(void)snprintf(m->u.rec_open.session_id,
		    sizeof(m->u.rec_open.session_id), "%s",
		    s == REC ? SID : SID2);
		break;
	case REC_ANS:
		m->type = MON_REC_OPEN_ANS;
		break;
	case AUD:
		m->type = MON_AUDIT;
		break;
	case ACK:
		m->type = MON_AUDIT_ACK;
		break;
	case END:
		m->type = MON_SESSION_END;
		break;
	case END_ACK:
		m->type = MON_SESSION_END_ACK;
		break;
	case ERR:
		m->type = MON_ERROR;
		m->u.error.code = PV_ERR_STORE;
		break;
	case CONN:
	case CONN_T2:
	case CONN_BOB:
		m->type = MON_TARGET_CONNECT;
		(void)snprintf(m->u.target_connect.engineer,
		    sizeof(m->u.target_connect.engineer), "%s",
		    s == CONN_BOB ? "bob" : "alice");
		(void)snprintf(m->u.target_connect.target,
		    sizeof(m->u.target_connect.target), "%s",
		    s == CONN_T2 ? "db02" : "db01");
		break;
	case SOCK:
		m->type = MON_TARGET_SOCKET;
		break;
	case LEGFAIL:
		m->type = MON_TARGET_FAILED;
		m->u.target_failed.stage = MON_LEG_CONNECT;
		break;
	case LEGACK:
		m->type = MON_TARGET_FAILED_ACK;
		break;
	case END_:
		break;
	}
}

struct seq_case {
	const char *name;
	enum step steps[24];
	int fail_at; /* index of the step that must fail, -1: none */
};

#define AUTHED PK, PK_OK, TOTP, T_DONE
static const struct seq_case seq_cases[] = {
	{ "full session",
	    { AUTHED, DEC, ALLOW, MINT, CERT, REC, REC_ANS, AUD, ACK, END,
		END_ACK, AUD, ACK },
	    -1 },
	{ "key within grace", { PK, PK_DONE, DEC, ALLOW, MINT, CERT }, -1 },
	{ "second channel decides again",
	    { AUTHED, DEC, ALLOW, MINT, CERT, DEC, ALLOW, MINT, CERT }, -1 },
	{ "audit before auth", { AUD, ACK, PK, PK_NO, AUD, ACK }, -1 },
	{ "error answers any", { PK, ERR, PK, PK_OK, TOTP, ERR }, -1 },
	{ "three tries", { PK, PK_NO, PK, PK_OK, TOTP, T_NO }, -1 },
	{ "fourth try", { PK, PK_NO, PK, PK_NO, PK, PK_OK, TOTP }, 6 },
	{ "mint other account", { AUTHED, DEC, ALLOW, MINT_ACC2 }, 6 },
	{ "decide before auth", { DEC }, 0 },
	{ "decide after key only", { PK, PK_OK, DEC }, 2 },
	{ "totp before key", { TOTP }, 0 },
	{ "totp after bad key", { PK, PK_NO, TOTP }, 2 },
	{ "totp for another login", { PK, PK_OK, TOTP_BOB }, 2 },
	{ "auth after auth", { AUTHED, PK }, 4 },
	{ "totp after auth", { AUTHED, TOTP }, 4 },
	{ "mint before decide", { AUTHED, MINT }, 4 },
	{ "mint after deny", { AUTHED, DEC, DENY, MINT }, 6 },
	{ "mint twice", { AUTHED, DEC, ALLOW, MINT, CERT, MINT }, 8 },
	{ "mint after failed mint", { AUTHED, DEC, ALLOW, MINT, ERR, MINT },
	    8 },
	{ "mint other target", { AUTHED, DEC, ALLOW, MINT_T2 }, 6 },
	{ "mint other session", { AUTHED, DEC, ALLOW, MINT_SID2 }, 6 },
	{ "new decide drops mint", { AUTHED, DEC, ALLOW, DEC2, DENY, MINT },
	    8 },
	{ "mint while pending", { AUTHED, DEC, MINT }, 5 },
	{ "mint before auth", { PK, PK_OK, MINT }, 2 },
	{ "rec before allow", { AUTHED, REC }, 4 },
	{ "rec twice", { AUTHED, DEC, ALLOW, REC, REC_ANS, REC }, 8 },
	{ "rec other session", { AUTHED, DEC, ALLOW, REC_SID2 }, 6 },
	{ "two requests", { PK, PK }, 1 },
	{ "answer with nothing pending", { PK_OK }, 0 },
	{ "wrong answer", { PK, T_DONE }, 1 },
	{ "cert for decide", { AUTHED, DEC, CERT }, 5 },
	{ "end twice", { END, END_ACK, END }, 2 },
	{ "decide after end", { AUTHED, END, END_ACK, DEC }, 6 },
	{ "key after end", { END, END_ACK, PK }, 2 },
	{ "sticky failure", { DEC, AUD }, 0 },
	/* the target's TCP connection, opened by the monitor */
	{ "pre-opened leg, then the decision's",
	    { PK, PK_OK, CONN, SOCK, TOTP, T_DONE, DEC, ALLOW, CONN, SOCK,
		LEGFAIL, LEGACK },
	    -1 },
	{ "pre-opened leg within grace", { PK, PK_DONE, CONN, SOCK }, -1 },
	{ "connect before the key", { CONN }, 0 },
	{ "connect after a refused key", { PK, PK_NO, CONN }, 2 },
	{ "connect for another engineer", { PK, PK_OK, CONN_BOB }, 2 },
	{ "a second pre-opened leg", { PK, PK_OK, CONN, SOCK, CONN }, 4 },
	{ "a second after grace", { PK, PK_DONE, CONN, SOCK, CONN }, 4 },
	{ "connect after a deny", { AUTHED, DEC, DENY, CONN }, 6 },
	{ "connect to another target than decided",
	    { AUTHED, DEC, ALLOW, CONN_T2 }, 6 },
	{ "connect while deciding", { AUTHED, DEC, CONN }, 5 },
	{ "fifth connect",
	    { AUTHED, DEC, ALLOW, CONN, SOCK, CONN, SOCK, CONN, SOCK, CONN,
		SOCK, CONN },
	    14 },
	{ "leg failure before auth", { PK, PK_OK, CONN, SOCK, LEGFAIL }, 4 },
	{ "leg failure with no leg", { AUTHED, LEGFAIL }, 4 },
	{ "leg failure twice",
	    { AUTHED, DEC, ALLOW, CONN, SOCK, LEGFAIL, LEGACK, LEGFAIL }, 10 },
	{ "leg failure after a refused connect",
	    { AUTHED, DEC, ALLOW, CONN, ERR, LEGFAIL }, 8 },
};

static void
test_order_rules(void **state)
{
	struct mon_msg m;
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(seq_cases) / sizeof(seq_cases[0]); i++) {
		const struct seq_case *c = &seq_cases[i];
		struct monitor_state st;
		int failed_at = -1, r;

		assert_int_equal(broker_mon_state_init(&st, SID, 3), 0);
		for (j = 0; j < 24 && c->steps[j] != END_; j++) {
			make_step(c->steps[j], &m);
			r = broker_mon_type_is_request((int)m.type)
			    ? broker_mon_state_request(&st, &m)
			    : broker_mon_state_answer(&st, &m);
			if (r != 0) {
				assert_int_equal(r, PV_ERR_PROTOCOL);
				failed_at = (int)j;
				break;
			}
		}
		if (failed_at != c->fail_at)
			fail_msg("%s: failed at step %d, want %d", c->name,
			    failed_at, c->fail_at);
		if (failed_at >= 0) {
			/* the failure sticks */
			make_step(AUD, &m);
			assert_int_equal(
			    broker_mon_state_request(&st, &m), PV_ERR_PROTOCOL);
		}
	}
	{
		struct monitor_state st;

		assert_int_equal(
		    broker_mon_state_init(&st, "nope", 3), PV_ERR_INVALID);
		assert_int_equal(
		    broker_mon_state_init(&st, SID, 0), PV_ERR_INVALID);
	}
}

/* --- provostd's calls (17..32) --- */

static void
mk(struct mon_msg *m, enum mon_type t)
{
	memset(m, 0, sizeof(*m));
	m->type = t;
	switch (t) {
	case MON_AUTH_PUBKEY:
		(void)snprintf(m->u.auth_pubkey.login,
		    sizeof(m->u.auth_pubkey.login), "alice");
		m->u.auth_pubkey.bloblen = 3;
		memcpy(m->u.auth_pubkey.blob, "key", 3);
		(void)snprintf(m->u.auth_pubkey.addr,
		    sizeof(m->u.auth_pubkey.addr), "127.0.0.1");
		break;
	case MON_AUTH_PUBKEY_ANS:
		m->u.auth_ans.flags = MON_AUTH_OK;
		break;
	case MON_AUTH_TOTP:
		(void)snprintf(m->u.auth_totp.login,
		    sizeof(m->u.auth_totp.login), "alice");
		(void)snprintf(
		    m->u.auth_totp.code, sizeof(m->u.auth_totp.code), "123456");
		break;
	case MON_AUTH_TOTP_ANS:
		m->u.auth_ans.flags = MON_AUTH_OK | MON_AUTH_DONE;
		break;
	case MON_SESSION_END:
		m->u.session_end.bytes_in = 1;
		m->u.session_end.bytes_out = 2;
		(void)snprintf(m->u.session_end.reason,
		    sizeof(m->u.session_end.reason), "bye");
		m->u.session_end.size = 3;
		break;
	case MON_ERROR:
		m->u.error.code = PV_ERR_STORE;
		(void)snprintf(
		    m->u.error.msg, sizeof(m->u.error.msg), "store down");
		break;
	case MON_MFA_GRACE:
		(void)snprintf(m->u.mfa_grace.engineer,
		    sizeof(m->u.mfa_grace.engineer), "alice");
		m->u.mfa_grace.bloblen = 3;
		memcpy(m->u.mfa_grace.blob, "key", 3);
		(void)snprintf(
		    m->u.mfa_grace.addr, sizeof(m->u.mfa_grace.addr), "::1");
		break;
	case MON_MFA_GRACE_ANS:
		m->u.auth_ans.flags = MON_AUTH_OK | MON_AUTH_DONE;
		break;
	case MON_FRESH_MFA:
		(void)snprintf(m->u.fresh_mfa.engineer,
		    sizeof(m->u.fresh_mfa.engineer), "alice");
		(void)snprintf(m->u.fresh_mfa.target,
		    sizeof(m->u.fresh_mfa.target), "db01");
		break;
	case MON_FRESH_MFA_ANS:
		m->u.verdict.allow = 1;
		break;
	case MON_TARGET_GET:
		(void)snprintf(m->u.target_get.engineer,
		    sizeof(m->u.target_get.engineer), "alice");
		(void)snprintf(
		    m->u.target_get.name, sizeof(m->u.target_get.name), "db01");
		break;
	case MON_TARGET:
		m->u.target.found = 1;
		(void)snprintf(
		    m->u.target.name, sizeof(m->u.target.name), "db01");
		m->u.target.auth = 1;
		(void)snprintf(
		    m->u.target.host, sizeof(m->u.target.host), "10.0.0.1");
		m->u.target.port = 22;
		(void)snprintf(m->u.target.classification,
		    sizeof(m->u.target.classification), "confidential");
		(void)snprintf(m->u.target.hostkey, sizeof(m->u.target.hostkey),
		    "ssh-ed25519 AAAA");
		m->u.target.naccounts = 2;
		(void)snprintf(m->u.target.accounts[0],
		    sizeof(m->u.target.accounts[0]), "root");
		(void)snprintf(m->u.target.accounts[1],
		    sizeof(m->u.target.accounts[1]), "postgres");
		break;
	case MON_DECIDE_CH:
		(void)snprintf(m->u.decide_ch.engineer,
		    sizeof(m->u.decide_ch.engineer), "alice");
		(void)snprintf(m->u.decide_ch.target,
		    sizeof(m->u.decide_ch.target), "db01");
		(void)snprintf(m->u.decide_ch.account,
		    sizeof(m->u.decide_ch.account), "root");
		m->u.decide_ch.channel = 4;
		(void)snprintf(m->u.decide_ch.client,
		    sizeof(m->u.decide_ch.client), "127.0.0.1 port 5555");
		(void)snprintf(m->u.decide_ch.fwd_host,
		    sizeof(m->u.decide_ch.fwd_host), "intranet.example");
		m->u.decide_ch.fwd_port = 443;
		break;
	case MON_DECISION_CH:
		m->u.decision_ch.outcome = PV_ALLOW;
		m->u.decision_ch.permit_pty = 1;
		m->u.decision_ch.channels = 7;
		(void)snprintf(m->u.decision_ch.rule,
		    sizeof(m->u.decision_ch.rule), "dba");
		(void)snprintf(m->u.decision_ch.grant_id,
		    sizeof(m->u.decision_ch.grant_id), "g-1");
		m->u.decision_ch.grant_ends = 1900000000;
		(void)snprintf(m->u.decision_ch.reason,
		    sizeof(m->u.decision_ch.reason), "grant g-1");
		m->u.decision_ch.transfer = 3;
		m->u.decision_ch.record_file_contents = 1;
		break;
	case MON_MINT_CERT:
		(void)snprintf(m->u.mint_cert.session_id,
		    sizeof(m->u.mint_cert.session_id), SID);
		(void)snprintf(m->u.mint_cert.target,
		    sizeof(m->u.mint_cert.target), "db01");
		(void)snprintf(m->u.mint_cert.principal,
		    sizeof(m->u.mint_cert.principal), "root");
		memset(m->u.mint_cert.pubkey, 7, sizeof(m->u.mint_cert.pubkey));
		(void)snprintf(m->u.mint_cert.source_address,
		    sizeof(m->u.mint_cert.source_address), "127.0.0.1/32");
		break;
	case MON_CERT_SERIAL:
		m->u.cert_serial.serial = 42;
		m->u.cert_serial.bloblen = 5;
		memcpy(m->u.cert_serial.blob, "certs", 5);
		break;
	case MON_MINT_TOKEN:
		(void)snprintf(m->u.mint_token.session_id,
		    sizeof(m->u.mint_token.session_id), SID);
		(void)snprintf(m->u.mint_token.target,
		    sizeof(m->u.mint_token.target), "db01");
		(void)snprintf(m->u.mint_token.account,
		    sizeof(m->u.mint_token.account), "root");
		break;
	case MON_TOKEN:
		m->u.token.serial = 43;
		(void)snprintf(
		    m->u.token.token, sizeof(m->u.token.token), "pvt1.abc.def");
		break;
	case MON_SESSION_OPEN:
		(void)snprintf(m->u.session_open.session_id,
		    sizeof(m->u.session_open.session_id), SID);
		(void)snprintf(m->u.session_open.target,
		    sizeof(m->u.session_open.target), "db01");
		(void)snprintf(m->u.session_open.account,
		    sizeof(m->u.session_open.account), "root");
		break;
	case MON_MENU:
		(void)snprintf(m->u.menu.command, sizeof(m->u.menu.command),
		    "request db01\t\x1b[1m");
		break;
	case MON_MENU_OUT:
		m->u.menu_out.status = 2;
		m->u.menu_out.outlen = 4;
		memcpy(m->u.menu_out.out, "a\0b\n", 4);
		break;
	case MON_REC_OPEN:
		(void)snprintf(m->u.rec_open.session_id,
		    sizeof(m->u.rec_open.session_id), SID);
		break;
	case MON_REC_OPEN_ANS:
		(void)snprintf(m->u.rec_open_ans.path,
		    sizeof(m->u.rec_open_ans.path), "/r/x.pvr");
		m->u.rec_open_ans.header_len = 300;
		break;
	case MON_AUDIT:
		(void)snprintf(
		    m->u.audit.action, sizeof(m->u.audit.action), "decision");
		(void)snprintf(m->u.audit.object, sizeof(m->u.audit.object),
		    "session:" SID);
		(void)snprintf(m->u.audit.details, sizeof(m->u.audit.details),
		    "{\"detail\":\"x\"}");
		break;
	case MON_TARGET_CONNECT:
		(void)snprintf(m->u.target_connect.engineer,
		    sizeof(m->u.target_connect.engineer), "alice");
		(void)snprintf(m->u.target_connect.target,
		    sizeof(m->u.target_connect.target), "db01");
		break;
	case MON_TARGET_SOCKET:
		(void)snprintf(m->u.target_socket.target,
		    sizeof(m->u.target_socket.target), "db01");
		(void)snprintf(m->u.target_socket.host,
		    sizeof(m->u.target_socket.host), "10.0.0.5");
		m->u.target_socket.port = 22;
		break;
	case MON_TARGET_FAILED:
		m->u.target_failed.stage = MON_LEG_KEX;
		(void)snprintf(m->u.target_failed.reason,
		    sizeof(m->u.target_failed.reason), "Connection refused");
		break;
	default:
		break;
	}
}

/* Is any byte of p[0..n) not zero? */
static int
nonzero(const void *p, size_t n)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] != 0)
			return 1;
	return 0;
}

/*
 * broker_mon_msg_wipe: the secret fields go, whatever the type says by
 * then (an answer that became an error after its token was written), and
 * only they: the rest of a ~100 KiB message is not written again.
 */
static void
test_msg_wipe(void **state)
{
	struct mon_msg *m = calloc(1, sizeof(*m));

	(void)state;
	assert_non_null(m);
	mk(m, MON_TOKEN);
	(void)snprintf(
	    m->u.token.token, sizeof(m->u.token.token), "pvt1.secret-token");
	m->type = MON_ERROR; /* as ms_error leaves it */
	broker_mon_msg_wipe(m);
	assert_false(nonzero(m->u.token.token, sizeof(m->u.token.token)));
	mk(m, MON_REC_OPEN_ANS);
	memset(m->u.rec_open_ans.dk, 0xa5, sizeof(m->u.rec_open_ans.dk));
	memset(m->u.rec_open_ans.nonce_prefix, 0x5a,
	    sizeof(m->u.rec_open_ans.nonce_prefix));
	broker_mon_msg_wipe(m);
	assert_false(
	    nonzero(m->u.rec_open_ans.dk, sizeof(m->u.rec_open_ans.dk)));
	assert_false(nonzero(m->u.rec_open_ans.nonce_prefix,
	    sizeof(m->u.rec_open_ans.nonce_prefix)));
	/*
	 * Past the secret fields (the token's, the longest, ends at 4 KiB)
	 * nothing is written: an audit row's details stay as they were.
	 */
	mk(m, MON_AUDIT);
	memset(m->u.audit.details + 8192, 'x', 16384);
	broker_mon_msg_wipe(m);
	assert_int_equal(m->u.audit.details[8192], 'x');
	assert_int_equal(m->u.audit.details[8192 + 16383], 'x');
	memset(m, 0, sizeof(*m));
	m->type = MON_AUTH_TOTP;
	(void)snprintf(
	    m->u.auth_totp.login, sizeof(m->u.auth_totp.login), "alice");
	(void)snprintf(
	    m->u.auth_totp.code, sizeof(m->u.auth_totp.code), "123456");
	broker_mon_msg_wipe(m);
	assert_false(nonzero(m->u.auth_totp.code, sizeof(m->u.auth_totp.code)));
	broker_mon_msg_wipe(NULL);
	free(m);
}

static void
test_provostd_roundtrip(void **state)
{
	struct mon_msg *m = calloc(1, sizeof(*m)), *d = calloc(1, sizeof(*d));
	struct pv_buf *a = pv_buf_new(0), *b = pv_buf_new(0);
	int t;

	(void)state;
	assert_non_null(m);
	assert_non_null(d);
	for (t = MON_MFA_GRACE; t <= MON_TYPE_MAX_; t++) {
		if (t == 33 || t == 34) /* retired */
			continue;
		mk(m, (enum mon_type)t);
		pv_buf_reset(a);
		pv_buf_reset(b);
		assert_non_null(broker_mon_type_name(t));
		assert_int_equal(broker_mon_type_is_request(t), t & 1);
		if (broker_mon_msg_encode(m, a) != 0)
			fail_msg("encode %s", broker_mon_type_name(t));
		assert_int_equal(
		    broker_mon_msg_decode(pv_buf_ptr(a), pv_buf_len(a), d), 0);
		assert_int_equal(broker_mon_msg_encode(d, b), 0);
		assert_int_equal(pv_buf_len(a), pv_buf_len(b));
		assert_memory_equal(
		    pv_buf_ptr(a), pv_buf_ptr(b), pv_buf_len(a));
	}
	assert_null(broker_mon_type_name(16));
	assert_null(broker_mon_type_name(33)); /* retired */
	assert_null(broker_mon_type_name(34));
	assert_false(broker_mon_type_is_request(15));
	/* fields out of their class are refused at the sender */
	mk(m, MON_MFA_GRACE_ANS);
	m->u.auth_ans.flags = MON_AUTH_OK; /* grace is all or nothing */
	assert_int_equal(broker_mon_msg_encode(m, a), PV_ERR_INVALID);
	mk(m, MON_DECIDE_CH);
	m->u.decide_ch.channel = 3; /* two channels */
	assert_int_equal(broker_mon_msg_encode(m, a), PV_ERR_INVALID);
	mk(m, MON_DECIDE_CH);
	m->u.decide_ch.fwd_port = 65536;
	assert_int_equal(broker_mon_msg_encode(m, a), PV_ERR_INVALID);
	mk(m, MON_DECIDE_CH);
	(void)snprintf(
	    m->u.decide_ch.fwd_host, sizeof(m->u.decide_ch.fwd_host), "a b");
	assert_int_equal(broker_mon_msg_encode(m, a), PV_ERR_INVALID);
	mk(m, MON_TARGET);
	m->u.target.naccounts = MON_ACCOUNTS_MAX + 1;
	assert_int_equal(broker_mon_msg_encode(m, a), PV_ERR_INVALID);
	mk(m, MON_TARGET);
	m->u.target.port = 0;
	assert_int_equal(broker_mon_msg_encode(m, a), PV_ERR_INVALID);
	mk(m, MON_MENU_OUT);
	m->u.menu_out.status = 256;
	assert_int_equal(broker_mon_msg_encode(m, a), PV_ERR_INVALID);
	mk(m, MON_TOKEN);
	m->u.token.token[3] = '\n';
	assert_int_equal(broker_mon_msg_encode(m, a), PV_ERR_INVALID);
	/* a mint-cert key is exactly 32 bytes: a 31-byte one on the wire */
	{
		uint8_t fr[256];
		size_t n;

		mk(m, MON_MINT_CERT);
		pv_buf_reset(a);
		assert_int_equal(broker_mon_msg_encode(m, a), 0);
		n = pv_buf_len(a);
		memcpy(fr, pv_buf_ptr(a), n);
		/* the key's length field sits after id, target, principal */
		n = 4 + 1 + 4 + strlen(SID) + 4 + 4 + 4 + 4;
		assert_int_equal(fr[n + 3], 32);
		fr[n + 3] = 31;
		assert_int_equal(broker_mon_msg_decode(fr, pv_buf_len(a), d),
		    PV_ERR_PROTOCOL);
	}
	broker_mon_msg_clear(m);
	free(m);
	free(d);
	pv_buf_free(a);
	pv_buf_free(b);
}

/* --- the table itself: every type, every field, every phase --- */

/* Every type the table knows round-trips; the retired ones are gone. */
static void
test_table_roundtrip(void **state)
{
	struct mon_msg *m = calloc(1, sizeof(*m)), *d = calloc(1, sizeof(*d));
	struct pv_buf *a = pv_buf_new(0), *b = pv_buf_new(0);
	int t, known = 0;

	(void)state;
	assert_non_null(m);
	assert_non_null(d);
	for (t = 0; t <= 255; t++) {
		const struct mon_type_def *def = broker_mon_type_def(t);

		if (def == NULL)
			continue;
		known++;
		assert_int_equal(def->type, t);
		assert_non_null(def->name);
		/* a request names its answer, an answer none */
		if (def->dir == MON_DIR_REQUEST) {
			const struct mon_type_def *ans =
			    broker_mon_type_def(def->answer);

			assert_non_null(ans);
			assert_int_equal(ans->dir, MON_DIR_ANSWER);
			assert_true(def->phases != 0);
			assert_false(def->has_fd);
		} else {
			assert_int_equal(def->dir, MON_DIR_ANSWER);
			assert_int_equal(def->phases, 0);
		}
		mk(m, (enum mon_type)t);
		pv_buf_reset(a);
		pv_buf_reset(b);
		if (broker_mon_msg_encode(m, a) != 0)
			fail_msg("encode %s", def->name);
		assert_int_equal(
		    broker_mon_msg_decode(pv_buf_ptr(a), pv_buf_len(a), d), 0);
		assert_int_equal((int)d->type, t);
		assert_int_equal(broker_mon_msg_encode(d, b), 0);
		assert_int_equal(pv_buf_len(a), pv_buf_len(b));
		assert_memory_equal(
		    pv_buf_ptr(a), pv_buf_ptr(b), pv_buf_len(a));
	}
	/* 1..4, 9..15, 17..32, 35..38: 5..8, 16, 33 and 34 are retired */
	assert_int_equal(known, 4 + 7 + 16 + 4);
	for (t = 5; t <= 8; t++)
		assert_null(broker_mon_type_def(t));
	assert_null(broker_mon_type_def(16));
	assert_null(broker_mon_type_def(33));
	assert_null(broker_mon_type_def(34));
	broker_mon_msg_clear(m);
	free(m);
	free(d);
	pv_buf_free(a);
	pv_buf_free(b);
}

enum edge {
	AT_MAX,    /* the field at its limit: accepted */
	OVER_MAX,  /* one past it: refused */
	UNDER_MIN, /* one below its least value: refused */
};

/* A string of len bytes of the field's class (its longest, for a UUID). */
static void
put_class_str(struct pv_buf *b, enum mon_class cl, size_t len)
{
	uint8_t *dst;
	size_t i;

	assert_int_equal(pv_buf_put_u32(b, (uint32_t)len), 0);
	assert_int_equal(pv_buf_reserve(b, len, &dst), 0);
	for (i = 0; i < len; i++)
		dst[i] = cl == MC_CODE || cl == MC_ADDR ? '1' : 'a';
	if (cl == MC_JSON && len >= 2) {
		dst[0] = '{';
		dst[len - 1] = '}';
	}
	if (cl == MC_UUID && len >= PV_UUID_LEN)
		for (i = 0; i < PV_UUID_LEN; i++)
			dst[i] = (uint8_t)SID[i];
}

/*
 * The test's own writer, from the table's description alone: m's fields,
 * but field `edge_at` at the given edge.  0, or 1 when the field has no
 * such edge (its wire type cannot hold a value past it).
 */
static int
table_frame(const struct mon_type_def *def, const struct mon_msg *m,
    size_t edge_at, enum edge e, struct pv_buf *fr)
{
	struct pv_buf *b = pv_buf_new(4 * MON_FRAME_MAX);
	const uint8_t *base = (const uint8_t *)m;
	size_t i, k, len;
	uint64_t v = 0, top;
	uint32_t n;
	int iv;

	assert_non_null(b);
	assert_int_equal(pv_buf_put_u8(b, (uint8_t)def->type), 0);
	for (i = 0; i < def->nfields; i++) {
		const struct mon_field *f = &def->fields[i];
		int edge = i == edge_at;

		switch (f->kind) {
		case MF_STR:
			if (edge) {
				if (e == UNDER_MIN)
					goto none;
				put_class_str(
				    b, f->cl, f->max + (e == OVER_MAX));
				break;
			}
			len = strlen((const char *)base + f->off);
			assert_int_equal(
			    pv_buf_put_string(b, base + f->off, len), 0);
			break;
		case MF_BLOB:
		case MF_BLOB0:
		case MF_FIXED:
			if (edge) {
				if (e == UNDER_MIN && f->kind != MF_FIXED)
					goto none;
				len = e == AT_MAX   ? f->max
				    : e == OVER_MAX ? f->max + 1
						    : f->max - 1;
				put_class_str(b, MC_TEXT, len);
				break;
			}
			if (f->kind == MF_FIXED)
				len = (size_t)f->max;
			else
				memcpy(&len, base + f->aux, sizeof(len));
			assert_int_equal(
			    pv_buf_put_string(b, base + f->off, len), 0);
			break;
		case MF_NAMES:
			if (edge) {
				if (e == UNDER_MIN)
					goto none;
				n = (uint32_t)f->n + (e == OVER_MAX);
				assert_int_equal(pv_buf_put_u32(b, n), 0);
				for (k = 0; k < n; k++)
					put_class_str(b, f->cl, f->max);
				break;
			}
			memcpy(&n, base + f->aux, sizeof(n));
			assert_int_equal(pv_buf_put_u32(b, n), 0);
			for (k = 0; k < n; k++) {
				const char *s = (const char *)base + f->off +
				    k * (f->max + 1);

				assert_int_equal(
				    pv_buf_put_string(b, s, strlen(s)), 0);
			}
			break;
		default:
			/* integers: the value, or the edge */
			top = f->kind == MF_U16 ? UINT16_MAX
			    : f->kind == MF_U32 || f->kind == MF_ERRNO
			    ? UINT32_MAX
			    : f->kind == MF_U64 || f->kind == MF_TIME
			    ? UINT64_MAX
			    : UINT8_MAX;
			if (edge) {
				if (e == AT_MAX)
					v = (f->flags & MFF_ONE_BIT)
					    ? (uint64_t)1 << 31
					    : f->max;
				else if (e == OVER_MAX) {
					if (f->flags & MFF_ONE_BIT)
						v = 3; /* two bits */
					else if (f->max >= top)
						goto none;
					else
						v = f->max + 1;
				} else {
					if (f->min == 0)
						goto none;
					v = f->min - 1;
				}
			} else {
				switch (f->kind) {
				case MF_U16: {
					uint16_t x;

					memcpy(&x, base + f->off, sizeof(x));
					v = x;
					break;
				}
				case MF_U32: {
					uint32_t x;

					memcpy(&x, base + f->off, sizeof(x));
					v = x;
					break;
				}
				case MF_U64:
				case MF_TIME:
					memcpy(&v, base + f->off, sizeof(v));
					break;
				case MF_ERRNO:
					memcpy(&iv, base + f->off, sizeof(iv));
					v = (uint64_t)-iv;
					break;
				default: /* bool, present, u8: an int */
					memcpy(&iv, base + f->off, sizeof(iv));
					v = (f->flags & MFF_ALLOW)
					    ? iv == PV_ALLOW
					    : (uint64_t)iv;
					break;
				}
			}
			if (top == UINT8_MAX)
				assert_int_equal(
				    pv_buf_put_u8(b, (uint8_t)v), 0);
			else if (top == UINT16_MAX)
				assert_int_equal(
				    pv_buf_put_u16(b, (uint16_t)v), 0);
			else if (top == UINT32_MAX)
				assert_int_equal(
				    pv_buf_put_u32(b, (uint32_t)v), 0);
			else
				assert_int_equal(pv_buf_put_u64(b, v), 0);
			break;
		}
	}
	pv_buf_reset(fr);
	assert_int_equal(pv_buf_put_u32(fr, (uint32_t)pv_buf_len(b)), 0);
	assert_int_equal(pv_buf_put(fr, pv_buf_ptr(b), pv_buf_len(b)), 0);
	pv_buf_free(b);
	return 0;
none:
	pv_buf_free(b);
	return 1;
}

/*
 * Every field of every type: at its limit it is accepted (and canonical),
 * one past it (or below its least value) the frame is refused; and the
 * encoder refuses to send a string that fills its array.
 */
static void
test_table_limits(void **state)
{
	struct mon_msg *m = calloc(1, sizeof(*m)), *d = calloc(1, sizeof(*d));
	struct pv_buf *fr = pv_buf_new(0), *again = pv_buf_new(0);
	int t, checked = 0, refused = 0;
	size_t i;

	(void)state;
	assert_non_null(m);
	assert_non_null(d);
	for (t = 1; t <= MON_TYPE_MAX_; t++) {
		const struct mon_type_def *def = broker_mon_type_def(t);

		if (def == NULL)
			continue;
		mk(m, (enum mon_type)t);
		/* the writer agrees with the codec on the plain message */
		assert_int_equal(
		    table_frame(def, m, (size_t)-1, AT_MAX, fr), 0);
		pv_buf_reset(again);
		assert_int_equal(broker_mon_msg_encode(m, again), 0);
		assert_int_equal(pv_buf_len(again), pv_buf_len(fr));
		assert_memory_equal(
		    pv_buf_ptr(again), pv_buf_ptr(fr), pv_buf_len(fr));
		for (i = 0; i < def->nfields; i++) {
			const struct mon_field *f = &def->fields[i];
			int r;

			if (table_frame(def, m, i, AT_MAX, fr) == 0) {
				r = broker_mon_msg_decode(
				    pv_buf_ptr(fr), pv_buf_len(fr), d);
				if (r != 0)
					fail_msg("%s.%s at its limit: %d",
					    def->name, f->name, r);
				pv_buf_reset(again);
				assert_int_equal(
				    broker_mon_msg_encode(d, again), 0);
				assert_memory_equal(pv_buf_ptr(again),
				    pv_buf_ptr(fr), pv_buf_len(fr));
				checked++;
			}
			if (table_frame(def, m, i, OVER_MAX, fr) == 0) {
				r = broker_mon_msg_decode(
				    pv_buf_ptr(fr), pv_buf_len(fr), d);
				if (r != PV_ERR_PROTOCOL)
					fail_msg("%s.%s past its limit: %d",
					    def->name, f->name, r);
				refused++;
			}
			if (table_frame(def, m, i, UNDER_MIN, fr) == 0) {
				r = broker_mon_msg_decode(
				    pv_buf_ptr(fr), pv_buf_len(fr), d);
				if (r != PV_ERR_PROTOCOL)
					fail_msg("%s.%s below its least: %d",
					    def->name, f->name, r);
				refused++;
			}
			/* a string with no room for its NUL is not sent */
			if (f->kind == MF_STR) {
				mk(d, (enum mon_type)t);
				memset((uint8_t *)d + f->off, 'a', f->max + 1);
				pv_buf_reset(again);
				if (broker_mon_msg_encode(d, again) !=
				    PV_ERR_INVALID)
					fail_msg("%s.%s sent past its limit",
					    def->name, f->name);
				assert_int_equal(pv_buf_len(again), 0);
			}
		}
	}
	/* every field of the 27 types was tried at one edge at least */
	assert_true(checked > 60);
	assert_true(refused > 60);
	broker_mon_msg_clear(m);
	free(m);
	free(d);
	pv_buf_free(fr);
	pv_buf_free(again);
}

/*
 * The phases, read from the specification (docs/privsep.md) rather than
 * from the table: the table must say the same, and a request in any
 * other phase is refused and the refusal sticks.
 */
static void
test_table_phases(void **state)
{
	static const struct {
		int type;
		unsigned int phases;
	} want[] = {
		{ MON_AUTH_PUBKEY, MON_PH_PRE },
		{ MON_AUTH_TOTP, MON_PH_PRE },
		{ MON_MFA_GRACE, MON_PH_PRE },
		{ MON_FRESH_MFA, MON_PH_PRE },
		{ MON_TARGET_GET, MON_PH_PRE | MON_PH_AUTH },
		{ MON_DECIDE_CH, MON_PH_AUTH },
		{ MON_MINT_CERT, MON_PH_AUTH },
		{ MON_MINT_TOKEN, MON_PH_AUTH },
		{ MON_REC_OPEN, MON_PH_AUTH },
		{ MON_SESSION_OPEN, MON_PH_AUTH },
		{ MON_MENU, MON_PH_AUTH },
		{ MON_SESSION_END, MON_PH_PRE | MON_PH_AUTH },
		{ MON_AUDIT, MON_PH_PRE | MON_PH_AUTH | MON_PH_END },
		{ MON_TARGET_CONNECT, MON_PH_PRE | MON_PH_AUTH },
		{ MON_TARGET_FAILED, MON_PH_AUTH },
	};
	static const enum step to_auth[] = { PK, PK_OK, TOTP, T_DONE };
	static const enum step to_end[] = { END, END_ACK };
	struct mon_msg m;
	size_t i, j, requests = 0;
	unsigned int ph;
	int t;

	(void)state;
	for (t = 1; t <= MON_TYPE_MAX_; t++)
		if (broker_mon_type_is_request(t))
			requests++;
	assert_int_equal(requests, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct mon_type_def *def =
		    broker_mon_type_def(want[i].type);

		assert_non_null(def);
		if (def->phases != want[i].phases)
			fail_msg("%s: phases %#x, want %#x", def->name,
			    def->phases, want[i].phases);
		for (ph = MON_PH_PRE; ph <= MON_PH_END; ph <<= 1) {
			struct monitor_state st;
			const enum step *to =
			    ph == MON_PH_AUTH ? to_auth : to_end;
			size_t nto = ph == MON_PH_PRE ? 0
			    : ph == MON_PH_AUTH
			    ? sizeof(to_auth) / sizeof(to_auth[0])
			    : sizeof(to_end) / sizeof(to_end[0]);

			if (def->phases & ph)
				continue;
			assert_int_equal(broker_mon_state_init(&st, SID, 8), 0);
			for (j = 0; j < nto; j++) {
				make_step(to[j], &m);
				assert_int_equal(
				    broker_mon_type_is_request((int)m.type)
					? broker_mon_state_request(&st, &m)
					: broker_mon_state_answer(&st, &m),
				    0);
			}
			assert_int_equal(broker_mon_state_phase(&st), ph);
			mk(&m, (enum mon_type)want[i].type);
			if (broker_mon_state_request(&st, &m) !=
			    PV_ERR_PROTOCOL)
				fail_msg(
				    "%s accepted in phase %#x", def->name, ph);
			assert_true(st.failed);
			make_step(AUD, &m);
			assert_int_equal(
			    broker_mon_state_request(&st, &m), PV_ERR_PROTOCOL);
		}
	}
	/* an answer is never a request, in any phase */
	{
		struct monitor_state st;

		assert_int_equal(broker_mon_state_init(&st, SID, 8), 0);
		mk(&m, MON_AUDIT_ACK);
		assert_int_equal(
		    broker_mon_state_request(&st, &m), PV_ERR_PROTOCOL);
	}
}

/* Applies types in turn; the index of the first refusal, or -1. */
static int
run_calls(struct monitor_state *st, const int *types, size_t n,
    void (*tweak)(struct mon_msg *m, size_t i))
{
	struct mon_msg m;
	size_t i;
	int r;

	for (i = 0; i < n; i++) {
		mk(&m, (enum mon_type)types[i]);
		if (tweak != NULL)
			tweak(&m, i);
		r = broker_mon_type_is_request(types[i])
		    ? broker_mon_state_request(st, &m)
		    : broker_mon_state_answer(st, &m);
		if (r != 0)
			return (int)i;
	}
	return -1;
}

#define AUTHED_BY_GRACE                                      \
	MON_AUTH_PUBKEY, MON_AUTH_PUBKEY_ANS, MON_FRESH_MFA, \
	    MON_FRESH_MFA_ANS, MON_MFA_GRACE, MON_MFA_GRACE_ANS
#define N(a) (sizeof(a) / sizeof((a)[0]))

static size_t tweak_at;
static void (*tweak_fn)(struct mon_msg *m);

static void
tweak_one(struct mon_msg *m, size_t i)
{
	if (i == tweak_at && tweak_fn != NULL)
		tweak_fn(m);
}

static void
other_engineer(struct mon_msg *m)
{
	(void)snprintf(
	    m->u.decide_ch.engineer, sizeof(m->u.decide_ch.engineer), "bob");
}

static void
other_account(struct mon_msg *m)
{
	(void)snprintf(m->u.session_open.account,
	    sizeof(m->u.session_open.account), "postgres");
}

static void
deny(struct mon_msg *m)
{
	m->u.decision_ch.outcome = PV_DENY;
}

static void
no_key(struct mon_msg *m)
{
	m->u.auth_ans.flags = 0;
}

static void
test_provostd_order(void **state)
{
	struct monitor_state st;
	static const int good[] = { AUTHED_BY_GRACE, MON_TARGET_GET, MON_TARGET,
		MON_DECIDE_CH, MON_DECISION_CH, MON_REC_OPEN, MON_REC_OPEN_ANS,
		MON_SESSION_OPEN, MON_SESSION_OPEN_ACK, MON_MINT_CERT,
		MON_CERT_SERIAL, MON_DECIDE_CH, MON_DECISION_CH, MON_MENU,
		MON_MENU_OUT, MON_SESSION_END, MON_SESSION_END_ACK, MON_AUDIT,
		MON_AUDIT_ACK };
	static const int target_first[] = { MON_TARGET_GET };
	static const int grace_no_key[] = { MON_AUTH_PUBKEY,
		MON_AUTH_PUBKEY_ANS, MON_MFA_GRACE };
	static const int decide_other[] = { AUTHED_BY_GRACE, MON_DECIDE_CH };
	static const int mint_twice[] = { AUTHED_BY_GRACE, MON_DECIDE_CH,
		MON_DECISION_CH, MON_MINT_CERT, MON_CERT_SERIAL,
		MON_MINT_TOKEN };
	static const int mint_denied[] = { AUTHED_BY_GRACE, MON_DECIDE_CH,
		MON_DECISION_CH, MON_MINT_CERT };
	static const int row_denied[] = { AUTHED_BY_GRACE, MON_DECIDE_CH,
		MON_DECISION_CH, MON_SESSION_OPEN };
	static const int row_other[] = { AUTHED_BY_GRACE, MON_DECIDE_CH,
		MON_DECISION_CH, MON_SESSION_OPEN };
	static const int row_twice[] = { AUTHED_BY_GRACE, MON_DECIDE_CH,
		MON_DECISION_CH, MON_SESSION_OPEN, MON_SESSION_OPEN_ACK,
		MON_SESSION_OPEN };
	static const int menu_pre_auth[] = { MON_AUTH_PUBKEY,
		MON_AUTH_PUBKEY_ANS, MON_MENU };
	static const int fresh_after[] = { AUTHED_BY_GRACE, MON_FRESH_MFA };
	static const int menu_after_end[] = { AUTHED_BY_GRACE, MON_SESSION_END,
		MON_SESSION_END_ACK, MON_MENU };
	static const int wrong_answer[] = { MON_AUTH_PUBKEY,
		MON_AUTH_PUBKEY_ANS, MON_FRESH_MFA, MON_TARGET };
	/* before the code: one target (the login's), after it: any */
	static const int target_twice_pre[] = { MON_AUTH_PUBKEY,
		MON_AUTH_PUBKEY_ANS, MON_TARGET_GET, MON_TARGET,
		MON_TARGET_GET };
	static const int target_twice_post[] = { AUTHED_BY_GRACE,
		MON_TARGET_GET, MON_TARGET, MON_TARGET_GET, MON_TARGET };

	(void)state;
#define RUN(arr, at, fn, want)                                           \
	do {                                                             \
		assert_int_equal(broker_mon_state_init(&st, SID, 8), 0); \
		tweak_at = (at);                                         \
		tweak_fn = (fn);                                         \
		assert_int_equal(                                        \
		    run_calls(&st, arr, N(arr), tweak_one), (want));     \
	} while (0)
	RUN(good, 0, NULL, -1);
	assert_true(st.authenticated);
	assert_false(st.by_code);
	RUN(target_first, 0, NULL, 0);
	RUN(grace_no_key, 1, no_key, 2);
	RUN(decide_other, 6, other_engineer, 6);
	RUN(mint_twice, 0, NULL, 10);
	RUN(mint_denied, 7, deny, 8);
	RUN(row_denied, 7, deny, 8);
	RUN(row_other, 8, other_account, 8);
	RUN(row_twice, 0, NULL, 10);
	RUN(menu_pre_auth, 0, NULL, 2);
	RUN(fresh_after, 0, NULL, 6);
	RUN(menu_after_end, 0, NULL, 8);
	RUN(wrong_answer, 0, NULL, 3);
	RUN(target_twice_pre, 0, NULL, 4);
	RUN(target_twice_post, 0, NULL, -1);
#undef RUN
}

/* --- over a socketpair --- */

static void
test_socketpair_roundtrip(void **state)
{
	struct mon_msg *in = calloc(1, sizeof(*in));
	struct mon_msg *out = calloc(1, sizeof(*out));
	int sp[2], p[2], fd = -2;
	char c = 0;

	(void)state;
	assert_non_null(in);
	assert_non_null(out);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	assert_int_equal(pipe(p), 0);

	/* a request without fd */
	make_step(DEC, out);
	assert_int_equal(
	    broker_mon_send(sp[0], out, -1, pv_mono_ms() + 1000), 0);
	assert_int_equal(
	    broker_mon_recv(sp[1], in, &fd, pv_mono_ms() + 1000), 0);
	assert_int_equal(fd, -1);
	assert_int_equal((int)in->type, MON_DECIDE_CH);
	assert_string_equal(in->u.decide_ch.target, "db01");

	/* the recording fd passes with its answer */
	memset(out, 0, sizeof(*out));
	out->type = MON_REC_OPEN_ANS;
	(void)snprintf(out->u.rec_open_ans.path,
	    sizeof(out->u.rec_open_ans.path), "/rec/x.pvr");
	out->u.rec_open_ans.header_len = 300;
	memset(out->u.rec_open_ans.dk, 0x42, sizeof(out->u.rec_open_ans.dk));
	assert_int_equal(broker_mon_send(sp[1], out, -1, 0), PV_ERR_INVALID);
	assert_int_equal(broker_mon_send(sp[1], out, p[1], 0), 0);
	assert_int_equal(
	    broker_mon_recv(sp[0], in, &fd, pv_mono_ms() + 1000), 0);
	assert_true(fd >= 0 && fd != p[1]);
	assert_string_equal(in->u.rec_open_ans.path, "/rec/x.pvr");
	assert_int_equal(in->u.rec_open_ans.header_len, 300);
	assert_int_equal(in->u.rec_open_ans.dk[31], 0x42);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(write(fd, "r", 1), 1);
	assert_int_equal(read(p[0], &c, 1), 1);
	assert_int_equal(c, 'r');
	close(fd);

	/* a descriptor nobody asked for is closed and refused */
	{
		struct mon_msg ack = { .type = MON_AUDIT_ACK };
		struct pv_buf *b = pv_buf_new(0);
		char cm[CMSG_SPACE(sizeof(int))];
		uint8_t raw[64];
		struct iovec iov;
		struct msghdr mh = { 0 };
		struct cmsghdr *ch;

		assert_int_equal(broker_mon_msg_encode(&ack, b), 0);
		assert_true(pv_buf_len(b) <= sizeof(raw));
		memcpy(raw, pv_buf_ptr(b), pv_buf_len(b));
		iov.iov_base = raw;
		iov.iov_len = pv_buf_len(b);
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		memset(cm, 0, sizeof(cm));
		mh.msg_control = cm;
		mh.msg_controllen = sizeof(cm);
		ch = CMSG_FIRSTHDR(&mh);
		ch->cmsg_level = SOL_SOCKET;
		ch->cmsg_type = SCM_RIGHTS;
		ch->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(ch), &p[1], sizeof(int));
		assert_true(sendmsg(sp[1], &mh, 0) == (ssize_t)pv_buf_len(b));
		assert_int_equal(
		    broker_mon_recv(sp[0], in, &fd, 0), PV_ERR_PROTOCOL);
		assert_int_equal(fd, -1);
		/* the answer that must carry one, without it */
		memset(&ack, 0, sizeof(ack));
		ack.type = MON_REC_OPEN_ANS;
		(void)snprintf(ack.u.rec_open_ans.path,
		    sizeof(ack.u.rec_open_ans.path), "/x");
		ack.u.rec_open_ans.header_len = 300;
		pv_buf_reset(b);
		assert_int_equal(broker_mon_msg_encode(&ack, b), 0);
		assert_true(write(sp[1], pv_buf_ptr(b), pv_buf_len(b)) ==
		    (ssize_t)pv_buf_len(b));
		assert_int_equal(
		    broker_mon_recv(sp[0], in, &fd, 0), PV_ERR_PROTOCOL);
		pv_buf_free(b);
	}

	/* nothing arrives: the deadline ends the wait */
	{
		uint64_t t0 = pv_mono_ms();

		assert_int_equal(
		    broker_mon_recv(sp[0], in, NULL, t0 + 100), PV_ERR_TIMEOUT);
		assert_true(pv_mono_ms() - t0 >= 100);
	}
	/* an oversize header is refused before any body is read */
	{
		const uint8_t big[] = { 0, 1, 0, 1 };

		assert_true(write(sp[1], big, sizeof(big)) == sizeof(big));
		assert_int_equal(
		    broker_mon_recv(sp[0], in, NULL, 0), PV_ERR_PROTOCOL);
	}
	/* half a frame, then the peer goes away */
	{
		const uint8_t half[] = { 0, 0, 0, 9, MON_DECIDE_CH, 0 };

		assert_true(write(sp[1], half, sizeof(half)) == sizeof(half));
		close(sp[1]);
		assert_int_equal(
		    broker_mon_recv(sp[0], in, NULL, 0), PV_ERR_CLOSED);
		assert_int_equal(
		    broker_mon_recv(sp[0], in, NULL, 0), PV_ERR_CLOSED);
		make_step(AUD, out);
		(void)snprintf(
		    out->u.audit.action, sizeof(out->u.audit.action), "x");
		(void)snprintf(
		    out->u.audit.details, sizeof(out->u.audit.details), "{}");
		assert_int_equal(
		    broker_mon_send(sp[0], out, -1, 0), PV_ERR_CLOSED);
	}
	close(sp[0]);
	close(p[0]);
	close(p[1]);
	free(in);
	free(out);
}

/* A large frame through a small socket buffer: partial reads and writes. */
static void
test_large_frames(void **state)
{
	struct mon_msg *m = calloc(1, sizeof(*m));
	int sp[2], sz = 4096, st = 0, i;
	pid_t pid;

	(void)state;
	assert_non_null(m);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	assert_int_equal(
	    setsockopt(sp[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)), 0);
	assert_int_equal(
	    setsockopt(sp[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz)), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(sp[1]);
		m->type = MON_AUDIT;
		(void)snprintf(
		    m->u.audit.action, sizeof(m->u.audit.action), "bulk");
		memset(m->u.audit.details, 'x', MON_DETAILS_MAX);
		m->u.audit.details[0] = '{';
		m->u.audit.details[MON_DETAILS_MAX - 1] = '}';
		for (i = 0; i < 20; i++)
			if (broker_mon_send(
				sp[0], m, -1, pv_mono_ms() + 5000) != 0)
				_exit(1);
		_exit(0);
	}
	close(sp[0]);
	for (i = 0; i < 20; i++) {
		assert_int_equal(
		    broker_mon_recv(sp[1], m, NULL, pv_mono_ms() + 5000), 0);
		assert_int_equal(strlen(m->u.audit.details), MON_DETAILS_MAX);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(sp[1]);
	free(m);
}

/* The monitor's reader: a frame in pieces, never past it, no fds. */
static void
test_read_some(void **state)
{
	struct mon_msg *in = calloc(1, sizeof(*in));
	struct mon_msg *out = calloc(1, sizeof(*out));
	struct mon_reader rd = { 0 };
	struct pv_buf *b = pv_buf_new(MON_HDR_LEN + MON_FRAME_MAX);
	int sp[2], p[2];
	size_t len;

	(void)state;
	assert_non_null(in);
	assert_non_null(out);
	assert_non_null(b);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	make_step(DEC, out);
	assert_int_equal(broker_mon_msg_encode(out, b), 0);
	len = pv_buf_len(b);
	/* nothing yet, then three bytes, then the rest and a second frame */
	assert_int_equal(broker_mon_read_some(sp[1], &rd, in), 0);
	assert_int_equal(rd.started_ms, 0);
	assert_int_equal(write(sp[0], pv_buf_ptr(b), 3), 3);
	assert_int_equal(broker_mon_read_some(sp[1], &rd, in), 0);
	assert_true(rd.started_ms != 0);
	assert_int_equal(
	    write(sp[0], pv_buf_ptr(b) + 3, len - 3), (ssize_t)(len - 3));
	assert_int_equal(write(sp[0], pv_buf_ptr(b), len), (ssize_t)len);
	assert_int_equal(broker_mon_read_some(sp[1], &rd, in), 1);
	assert_int_equal((int)in->type, MON_DECIDE_CH);
	assert_int_equal(rd.started_ms, 0);
	assert_int_equal(broker_mon_read_some(sp[1], &rd, in), 1);
	assert_int_equal(broker_mon_read_some(sp[1], &rd, in), 0);
	/* a descriptor from a session process: refused */
	assert_int_equal(pipe(p), 0);
	out->type = MON_REC_OPEN_ANS;
	(void)snprintf(out->u.rec_open_ans.path,
	    sizeof(out->u.rec_open_ans.path), "/rec/x.pvr");
	out->u.rec_open_ans.header_len = 300;
	assert_int_equal(broker_mon_send(sp[0], out, p[1], 0), 0);
	assert_int_equal(broker_mon_read_some(sp[1], &rd, in), PV_ERR_PROTOCOL);
	broker_mon_reader_free(&rd);
	close(sp[0]);
	close(sp[1]);
	/* a length out of range (the monitor kills the writer after) */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	assert_int_equal(write(sp[0], "\0\0\0\0", 4), 4);
	assert_int_equal(broker_mon_read_some(sp[1], &rd, in), PV_ERR_PROTOCOL);
	broker_mon_reader_free(&rd);
	close(sp[0]);
	assert_int_equal(broker_mon_read_some(sp[1], &rd, in), PV_ERR_CLOSED);
	broker_mon_reader_free(&rd);
	close(sp[1]);
	close(p[0]);
	close(p[1]);
	pv_buf_free(b);
	free(in);
	free(out);
}

/*
 * The session side's audit actions: one entry per number, found by its
 * name, in some phase; the monitor's own rows are in none.
 */
static void
test_audit_table(void **state)
{
	static const char *const monitors[] = { "target.unreachable",
		"target.connect", "session.monitor_violation", "auth.ok.",
		"approver.login", "grant.approve", "engineer.revoke",
		"exit.complete", "audit.checkpoint", "", "AUTH.OK" };
	const struct mon_audit_def *d;
	size_t i;
	int a;

	(void)state;
	assert_null(broker_mon_audit_def(0));
	assert_null(broker_mon_audit_def(MON_AUD_MAX_ + 1));
	for (a = 1; a <= MON_AUD_MAX_; a++) {
		assert_non_null(d = broker_mon_audit_def(a));
		assert_int_equal(d->action, a);
		assert_ptr_equal(broker_mon_audit_find(d->name), d);
		assert_true(strlen(d->name) <= MON_ACTION_MAX);
		assert_true(d->phases != 0);
		assert_int_equal(d->phases &
			~(unsigned)(MON_PH_PRE | MON_PH_AUTH | MON_PH_END),
		    0);
	}
	for (i = 0; i < sizeof(monitors) / sizeof(monitors[0]); i++)
		if (broker_mon_audit_find(monitors[i]) != NULL)
			fail_msg("%s is not the session side's", monitors[i]);
	/* before authentication only a refused key */
	for (a = 1; a <= MON_AUD_MAX_; a++)
		if ((broker_mon_audit_def(a)->phases & MON_PH_PRE) !=
		    (a == MON_AUD_AUTH_FAIL ? MON_PH_PRE : 0))
			fail_msg("%s before authentication",
			    broker_mon_audit_def(a)->name);
}

/* "auth.ok" -> "MON_AUD_AUTH_OK": the constant an entry's name goes with */
static void
audit_const(const char *name, char *out, size_t outlen)
{
	size_t i, n = strlen("MON_AUD_");

	assert_true(n + strlen(name) < outlen);
	memcpy(out, "MON_AUD_", n);
	for (i = 0; name[i] != '\0'; i++)
		out[n + i] = name[i] == '.'
		    ? '_'
		    : (char)(name[i] >= 'a' && name[i] <= 'z' ? name[i] - 32
							      : name[i]);
	out[n + i] = '\0';
}

/*
 * The session side's sources (broker/session and broker): every
 * broker_audit call names its action by a table constant (no string, no
 * variable), only broker_audit calls the backend's audit op, only the
 * monitor client sends MON_AUDIT; every constant used is an entry's and
 * every entry is used.  The list and what the session writes cannot drift.
 */
static void
test_audit_session_sources(void **state)
{
	const char *top = getenv("top_srcdir");
	char pat[4096], want[MON_ACTION_MAX + 16];
	char *all = NULL;
	const char *hay;
	size_t alllen = 0, i, calls = 0, ops = 0, sends = 0;
	glob_t g;
	int a, k;

	(void)state;
	assert_non_null(top); /* make check exports it */
	for (k = 0; k < 2; k++) {
		assert_true(snprintf(pat, sizeof(pat), "%s/broker/%s*.c", top,
				k == 0 ? "session/" : "") < (int)sizeof(pat));
		memset(&g, 0, sizeof(g));
		assert_int_equal(glob(pat, 0, NULL, &g), 0);
		for (i = 0; i < g.gl_pathc; i++) {
			uint8_t *doc = NULL;
			size_t len = 0;
			const char *p, *arg;
			char *grown;

			assert_int_equal(
			    pv_file_read(g.gl_pathv[i], 1 << 22, &doc, &len),
			    0);
			for (p = (const char *)doc;
			     (p = strstr(p, "broker_audit(")) != NULL; p++) {
				if (strncmp(p, "broker_audit(struct", 19) == 0)
					continue; /* the definition */
				arg = strchr(p, ',');
				assert_non_null(arg);
				arg += strspn(arg, ", \t\n");
				if (strncmp(arg, "MON_AUD_", 8) != 0)
					fail_msg(
					    "%s: broker_audit(%.40s: not a "
					    "table constant",
					    g.gl_pathv[i], arg);
				calls++;
			}
			for (p = (const char *)doc;
			     (p = strstr(p, "ops->audit(")) != NULL; p++)
				ops++;
			for (p = (const char *)doc;
			     (p = strstr(p, "= MON_AUDIT;")) != NULL; p++)
				if (strstr(g.gl_pathv[i],
					"backend_monitor.c") == NULL)
					fail_msg("%s sends MON_AUDIT",
					    g.gl_pathv[i]);
				else
					sends++;
			assert_non_null(grown = realloc(all, alllen + len + 1));
			all = grown;
			memcpy(all + alllen, doc, len);
			alllen += len;
			all[alllen] = '\0';
			free(doc);
		}
		globfree(&g);
	}
	/* 35 calls on main at 7b030e0: fewer means the scan lost some */
	hay = all != NULL ? all : ""; /* none read: every entry unused */
	assert_true(calls >= 35);
	assert_int_equal(ops, 1);   /* broker_audit's */
	assert_int_equal(sends, 1); /* bm_audit's */
	/* every entry's constant is used, every constant used an entry's */
	for (a = 1; a <= MON_AUD_MAX_; a++) {
		audit_const(broker_mon_audit_def(a)->name, want, sizeof(want));
		if (strstr(hay, want) == NULL)
			fail_msg("%s (%s) is never written by the session side",
			    want, broker_mon_audit_def(a)->name);
	}
	for (const char *p = hay; (p = strstr(p, "MON_AUD_")) != NULL; p++) {
		size_t n = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_");
		int found = 0;

		for (a = 1; a <= MON_AUD_MAX_ && !found; a++) {
			audit_const(
			    broker_mon_audit_def(a)->name, want, sizeof(want));
			found = strlen(want) == n && strncmp(p, want, n) == 0;
		}
		if (!found)
			fail_msg("%.*s is no entry's", (int)n, p);
	}
	free(all);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_table),
		cmocka_unit_test(test_encode_refuses_bad),
		cmocka_unit_test(test_order_rules),
		cmocka_unit_test(test_provostd_roundtrip),
		cmocka_unit_test(test_table_roundtrip),
		cmocka_unit_test(test_table_limits),
		cmocka_unit_test(test_table_phases),
		cmocka_unit_test(test_msg_wipe),
		cmocka_unit_test(test_provostd_order),
		cmocka_unit_test(test_socketpair_roundtrip),
		cmocka_unit_test(test_large_frames),
		cmocka_unit_test(test_read_some),
		cmocka_unit_test(test_audit_table),
		cmocka_unit_test(test_audit_session_sources),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
