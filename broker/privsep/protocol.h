/*
 * protocol.h: the framed IPC between provostd's privileged monitor
 * and a session process: messages, their codecs, the order rules, the I/O.
 */
#ifndef PROVOST_BROKER_PRIVSEP_PROTOCOL_H
#define PROVOST_BROKER_PRIVSEP_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

/*
 * A frame is u32 length (of what follows), u8 type, payload; 1 <= length
 * <= MON_FRAME_MAX.  Integers are big-endian, strings u32 length + bytes
 * (pv_buf).  Every field is checked on decode; a short, long or trailing
 * frame, an unknown type or a bad field is PV_ERR_PROTOCOL, and the
 * monitor then kills the session process.  Type numbers are frozen.
 */
#define MON_FRAME_MAX (64 * 1024)
#define MON_HDR_LEN 4

enum mon_type {
	MON_AUTH_PUBKEY = 1,      /* child: is this key the login's? */
	MON_AUTH_PUBKEY_ANS = 2,  /* monitor: struct mon_auth_ans */
	MON_AUTH_TOTP = 3,        /* child: is this the login's code? */
	MON_AUTH_TOTP_ANS = 4,    /* monitor: struct mon_auth_ans */
	MON_REC_OPEN = 9,         /* child: open the recording */
	MON_REC_OPEN_ANS = 10,    /* monitor: + the fd (SCM_RIGHTS) */
	MON_AUDIT = 11,           /* child: append to the audit chain */
	MON_AUDIT_ACK = 12,       /* monitor */
	MON_SESSION_END = 13,     /* child: totals (the monitor hashes) */
	MON_SESSION_END_ACK = 14, /* monitor */
	MON_ERROR = 15,           /* monitor: the request failed (not denied) */
	MON_MFA_GRACE = 17,       /* child: a code within MFAGrace? */
	MON_MFA_GRACE_ANS = 18,   /* monitor: struct mon_auth_ans */
	MON_FRESH_MFA = 19,       /* child: does the target want a code? */
	MON_FRESH_MFA_ANS = 20,   /* monitor: struct mon_verdict */
	MON_TARGET_GET = 21,      /* child: the target by name */
	MON_TARGET = 22,          /* monitor: struct mon_target */
	MON_DECIDE_CH = 23,       /* child: a channel's decision */
	MON_DECISION_CH = 24,     /* monitor: struct mon_decision_ch */
	MON_MINT_CERT = 25,       /* child: a certificate for the target leg */
	MON_CERT_SERIAL = 26,     /* monitor: serial and certificate */
	MON_MINT_TOKEN = 27,      /* child: a pvt1 token for the target leg */
	MON_TOKEN = 28,           /* monitor: serial and token */
	MON_SESSION_OPEN = 29,    /* child: the session row */
	MON_SESSION_OPEN_ACK = 30, /* monitor */
	MON_MENU = 31,             /* child: a menu command */
	MON_MENU_OUT = 32,         /* monitor: status and output */
	MON_TARGET_CONNECT = 35,   /* child: open the target's TCP connection */
	MON_TARGET_SOCKET = 36,    /* monitor: + the socket (SCM_RIGHTS) */
	MON_TARGET_FAILED = 37,    /* child: the target leg failed */
	MON_TARGET_FAILED_ACK = 38, /* monitor */
};
/*
 * Retired, never to be reused; a frame of one is an unknown type:
 *  5..8  decide, decision, mint, certificate: the first design's session
 *        decision and its certificate, which provostd never answered
 *        (23..26 replaced them: a decision per channel, the monitor's own
 *        source address in the certificate);
 *  16    never used (15, an answer, broke the odd/even pattern);
 *  33,34 the session process's twice-a-second "revoked since the
 *        cursor?" and its answer: the monitor enforces revocation itself
 *        (its once-a-second scan of every live session, at once on a
 *        revoke).
 */
#define MON_TYPE_MAX_ 38

/* Field limits (bytes, without the NUL). */
#define MON_NAME_MAX 64    /* engineer, target, account, rule */
#define MON_LOGIN_MAX 160  /* ENGINEER+ACCOUNT@TARGET */
#define MON_ADDR_MAX 64    /* client address */
#define MON_CODE_MAX 10    /* TOTP digits */
#define MON_BLOB_MAX 2048  /* SSH public key blob */
#define MON_CERT_MAX 8192  /* certificate blob */
#define MON_REASON_MAX 256 /* decision reason, end reason, error text */
#define MON_ACTION_MAX 64  /* audit action "session.end" */
#define MON_OBJECT_MAX 256 /* audit object */
#define MON_DETAILS_MAX (32 * 1024) /* audit details, a JSON object */
#define MON_PATH_MAX 1024           /* recording path (for logs) */
#define MON_HOST_MAX 255            /* target host name or address */
#define MON_HOSTKEY_MAX 2048        /* pinned host key "TYPE BASE64" */
#define MON_SHA256_HEX 64
#define MON_TERM_MAX 64      /* TERM of the first terminal */
#define MON_REC_KEY_LEN 32   /* the recording's data key */
#define MON_REC_PREFIX_LEN 4 /* its nonce prefix */
#define MON_REC_HASH_LEN 32  /* SHA-256 of its header */
#define MON_REC_HEADER_MAX (14 + 1024 * 1024)
#define MON_TCLASS_MAX 63    /* target classification */
#define MON_ACCOUNTS_MAX 16  /* accounts of a target */
#define MON_CLIENT_MAX 127   /* "ADDR port N" */
#define MON_SRCADDR_MAX 79   /* certificate source-address "ADDR/32" */
#define MON_ED25519_LEN 32   /* raw ephemeral public key */
#define MON_TOKEN_MAX 4096   /* a pvt1 token */
#define MON_COMMAND_MAX 4096 /* a menu command */
#define MON_MENU_OUT_MAX 60000
/*
 * Target connections a session process may ask for in all: the pre-opened
 * leg, the decision's own, a retry or two if the leg is lost (as
 * MS_CREDS_MAX); before authentication at most one.
 */
#define MON_TARGET_CONNECTS_MAX 4
/* Auth requests (key, code, grace) a session may make in all. */
#define MON_AUTH_REQS_MAX 64

/* mon_auth_ans.flags */
#define MON_AUTH_OK 0x1   /* this factor is good */
#define MON_AUTH_DONE 0x2 /* authentication is complete (needs OK) */

struct mon_auth_pubkey {
	char login[MON_LOGIN_MAX + 1];
	uint8_t blob[MON_BLOB_MAX];
	size_t bloblen;
	char addr[MON_ADDR_MAX + 1];
};

struct mon_auth_totp {
	char login[MON_LOGIN_MAX + 1];
	char code[MON_CODE_MAX + 1]; /* secret: broker_mon_msg_wipe */
};

struct mon_auth_ans {
	uint32_t flags; /* MON_AUTH_* */
};

/*
 * The monitor makes the recording's header (the session's metadata as it
 * decided it, a fresh data key wrapped to the recipients, the nonce
 * prefix) and writes it; the child sends only what the first channel's
 * terminal looks like, and gets what it needs to write the chunks.
 */
struct mon_rec_open {
	char session_id[PV_UUID_LEN + 1];
	char term[MON_TERM_MAX + 1]; /* "" without a terminal */
	uint16_t cols, rows;
};

struct mon_rec_open_ans {
	char path[MON_PATH_MAX + 1]; /* for logs and the session row */
	/* secret: broker_mon_msg_wipe */
	uint8_t dk[MON_REC_KEY_LEN];
	uint8_t nonce_prefix[MON_REC_PREFIX_LEN];
	uint8_t header_sha256[MON_REC_HASH_LEN];
	uint64_t header_len;
};

struct mon_audit {
	char action[MON_ACTION_MAX + 1];
	char object[MON_OBJECT_MAX + 1];
	char details[MON_DETAILS_MAX + 1]; /* a JSON object: {...} */
};

/*
 * The audit actions a session process appends, all of them: the session
 * side names one by its number (broker_audit), so it writes no other, and
 * the monitor's audit-append refuses any other name, one in a phase its
 * entry does not allow, or a detail that contradicts what the monitor saw
 * itself (the process is then killed).  The names are the audit chain's:
 * frozen; entries only appended.
 */
enum mon_audit_action {
	MON_AUD_AUTH_FAIL = 1,           /* auth.fail: a refused key */
	MON_AUD_AUTH_OK,                 /* auth.ok */
	MON_AUD_DECISION,                /* decision */
	MON_AUD_CREDENTIAL_ISSUED,       /* credential.issued */
	MON_AUD_TARGET_HOSTKEY_MISMATCH, /* target.hostkey_mismatch */
	MON_AUD_CHANNEL_START,           /* channel.start */
	MON_AUD_CHANNEL_END,             /* channel.end */
	MON_AUD_CHANNEL_REFUSED,         /* channel.refused */
	MON_AUD_CHANNEL_SIGNAL,          /* channel.signal */
	MON_AUD_CHANNEL_HELD,            /* channel.held */
	MON_AUD_MENU,                    /* menu */
	MON_AUD_TRANSFER,                /* transfer */
	MON_AUD_TRANSFER_REFUSED,        /* transfer.refused */
	MON_AUD_TRANSFER_ERROR,          /* transfer.error */
	MON_AUD_FORWARD_START,           /* forward.start */
	MON_AUD_FORWARD_END,             /* forward.end */
	MON_AUD_FORWARD_REFUSED,         /* forward.refused */
	MON_AUD_RFORWARD_LISTEN,         /* rforward.listen */
	MON_AUD_RFORWARD_CANCEL,         /* rforward.cancel */
	MON_AUD_RFORWARD_START,          /* rforward.start */
	MON_AUD_RFORWARD_END,            /* rforward.end */
	MON_AUD_SESSION_GRANT_EXPIRED,   /* session.grant_expired */
	MON_AUD_SESSION_END,             /* session.end */
};
#define MON_AUD_MAX_ MON_AUD_SESSION_END

/*
 * What the monitor checks of an action's detail, past the field's class
 * (one line of text), from its own record of the session.
 */
enum mon_aud_form {
	MON_AUDF_TEXT = 0, /* any line */
	/*
	 * "engineer=W from=ADDR login=L by=HOW": W the engineer (or approver)
	 * whose key the monitor approved, ADDR the client address it
	 * accepted, L a login of W's, HOW what completed it ("key and code",
	 * or "key; code within MFAGrace")
	 */
	MON_AUDF_AUTH_OK,
	/*
	 * "allow engineer=W target=T account=A ...": the last decision, which
	 * allowed, for T and A; "deny engineer=W ..."; or "deny target=..."
	 * (no such target)
	 */
	MON_AUDF_DECISION,
	/* "serial=N principal=A ...": the last credential the monitor minted */
	MON_AUDF_CREDENTIAL,
	/* "engineer=W ...": the authenticated engineer (or approver) */
	MON_AUDF_ENGINEER,
};

struct mon_audit_def {
	int action;          /* enum mon_audit_action */
	const char *name;    /* "auth.ok", ... */
	unsigned int phases; /* MON_PH_* it may be appended in */
	int form;            /* enum mon_aud_form */
};

/* What the monitor saw itself of a session, for a detail's form. */
struct mon_audit_facts {
	const char *who;  /* the engineer (or approver) whose key it approved */
	const char *addr; /* the client address it accepted */
	int by_code;      /* authentication completed with a code */
	int dec_allowed;  /* the last decision allowed ... */
	const char *dec_target, *dec_account; /* ... this */
	int cred_minted; /* a credential was minted: the last one's */
	uint64_t cred_serial;
	const char *cred_account;
};

/*
 * Does detail have action d's form and agree with the facts?  1 yes, 0
 * no (a lie: the monitor kills the process).
 */
int broker_mon_audit_detail_ok(const struct mon_audit_def *d,
    const struct mon_audit_facts *f, const char *detail);

/* The entry of an action, NULL if none. */
const struct mon_audit_def *broker_mon_audit_def(int action);
/* The entry of an action by its name, NULL if the session writes none. */
const struct mon_audit_def *broker_mon_audit_find(const char *name);

struct mon_session_end {
	uint64_t bytes_in; /* engineer -> target */
	uint64_t bytes_out;
	char reason[MON_REASON_MAX + 1];
	/*
	 * The bytes the child says the recording holds; the monitor hashes
	 * the file itself and records its own hash and size.
	 */
	uint64_t size;
	int aborted;
};

/* Answers that are a yes or no (PV_ALLOW / PV_DENY). */
struct mon_verdict {
	int allow;
};

struct mon_mfa_grace {
	char engineer[MON_NAME_MAX + 1];
	uint8_t blob[MON_BLOB_MAX];
	size_t bloblen;
	char addr[MON_ADDR_MAX + 1];
};

struct mon_fresh_mfa {
	char engineer[MON_NAME_MAX + 1];
	char target[MON_NAME_MAX + 1];
	char account[MON_NAME_MAX + 1]; /* "" when the login names none */
};

struct mon_target_get {
	char engineer[MON_NAME_MAX + 1];
	char name[MON_NAME_MAX + 1];
};

struct mon_target {
	int found;
	/* only when found: */
	char name[MON_NAME_MAX + 1];
	int auth; /* 0 certificate, 1 pam-token */
	char host[MON_HOST_MAX + 1];
	uint16_t port;
	char classification[MON_TCLASS_MAX + 1];
	char hostkey[MON_HOSTKEY_MAX + 1];
	uint32_t naccounts; /* <= MON_ACCOUNTS_MAX */
	char accounts[MON_ACCOUNTS_MAX][MON_NAME_MAX + 1];
};

/*
 * The monitor opens the target's TCP connection itself (the session
 * process has no socket(2) or connect(2)): the host and port are those of
 * the monitor's own store row for the target, which must be one this
 * engineer may see (before any decision: the pre-opened leg, after the
 * login's key, once) or, after a decision, the target of the last one,
 * which must have allowed.  The
 * answer carries the socket, non-blocking, its connect possibly still in
 * progress (libssh waits for it), or MON_ERROR when it failed at once.
 */
struct mon_target_connect {
	char engineer[MON_NAME_MAX + 1];
	char target[MON_NAME_MAX + 1];
};

struct mon_target_socket {
	char target[MON_NAME_MAX + 1]; /* the row's name, for logs */
	char host[MON_HOST_MAX + 1];   /* ... its host and port */
	uint16_t port;
};

/*
 * What only the session process sees of a leg the monitor opened: the
 * connect that went on after the socket was handed over, or the key
 * exchange, failed.  The monitor writes target.unreachable for the target
 * it decided (never a name from here); only after authentication, and
 * once per socket handed out.
 */
enum mon_leg_stage {
	MON_LEG_CONNECT = 1, /* the TCP connect (refused, timed out) */
	MON_LEG_KEX = 2,     /* the SSH version exchange or key exchange */
};

struct mon_target_failed {
	int stage;                       /* enum mon_leg_stage */
	char reason[MON_REASON_MAX + 1]; /* libssh's words */
};

struct mon_decide_ch {
	char engineer[MON_NAME_MAX + 1];
	char target[MON_NAME_MAX + 1];
	char account[MON_NAME_MAX + 1];
	uint32_t channel;                /* one POLICY_CH_* bit */
	char client[MON_CLIENT_MAX + 1]; /* "ADDR port N" */
	char fwd_host[MON_HOST_MAX + 1]; /* forwards only, else "" */
	uint32_t fwd_port;               /* 0..65535 */
};

struct mon_decision_ch {
	int outcome; /* PV_ALLOW or PV_DENY */
	int permit_pty;
	int permit_forward;
	uint32_t channels;
	char rule[MON_NAME_MAX + 1];
	char grant_id[MON_NAME_MAX + 1];
	int64_t grant_ends; /* 0 = standing */
	char reason[MON_REASON_MAX + 1];
	uint32_t transfer;
	int record_file_contents;
	char moderated[MON_NAME_MAX + 1]; /* Moderated GROUP, "" if none */
	char notice[MON_REASON_MAX + 1];  /* the plugins' banner, "" if none */
};

struct mon_mint_cert {
	char session_id[PV_UUID_LEN + 1];
	char target[MON_NAME_MAX + 1];
	char principal[MON_NAME_MAX + 1];
	uint8_t pubkey[MON_ED25519_LEN];
	char source_address[MON_SRCADDR_MAX + 1];
};

struct mon_cert_serial {
	uint64_t serial;
	uint8_t blob[MON_CERT_MAX];
	size_t bloblen;
};

struct mon_mint_token {
	char session_id[PV_UUID_LEN + 1];
	char target[MON_NAME_MAX + 1];
	char account[MON_NAME_MAX + 1];
};

struct mon_token {
	uint64_t serial;
	char token[MON_TOKEN_MAX + 1]; /* secret: broker_mon_msg_wipe */
};

struct mon_session_open {
	char session_id[PV_UUID_LEN + 1];
	char target[MON_NAME_MAX + 1];
	char account[MON_NAME_MAX + 1];
};

struct mon_menu {
	char command[MON_COMMAND_MAX + 1]; /* any bytes but NUL */
};

struct mon_menu_out {
	uint32_t status;
	uint8_t out[MON_MENU_OUT_MAX];
	size_t outlen;
};

struct mon_error {
	int code; /* a PV_ERR_* */
	char msg[MON_REASON_MAX + 1];
};

struct mon_msg {
	enum mon_type type;
	union {
		struct mon_auth_pubkey auth_pubkey;
		struct mon_auth_totp auth_totp;
		struct mon_auth_ans auth_ans; /* both answer types */
		struct mon_rec_open rec_open;
		struct mon_rec_open_ans rec_open_ans;
		struct mon_audit audit;
		struct mon_session_end session_end;
		struct mon_error error;
		struct mon_verdict verdict; /* MON_FRESH_MFA_ANS */
		struct mon_mfa_grace mfa_grace;
		struct mon_fresh_mfa fresh_mfa;
		struct mon_target_get target_get;
		struct mon_target target;
		struct mon_decide_ch decide_ch;
		struct mon_decision_ch decision_ch;
		struct mon_mint_cert mint_cert;
		struct mon_cert_serial cert_serial;
		struct mon_mint_token mint_token;
		struct mon_token token;
		struct mon_session_open session_open;
		struct mon_menu menu;
		struct mon_menu_out menu_out;
		struct mon_target_connect target_connect;
		struct mon_target_socket target_socket;
		struct mon_target_failed target_failed;
		/* MON_TARGET_FAILED_ACK, MON_AUDIT_ACK, MON_SESSION_END_ACK, MON_SESSION_OPEN_ACK: empty */
	} u;
};

/*
 * The protocol as a table (OpenSSH's monitor.c): one entry per message
 * type says which way it goes, in which phases of a session process a
 * request is allowed, which answer it gets, and its fields with their
 * limits; one codec (broker_mon_msg_encode/_decode) walks the entries,
 * and the order rules start from them.  The monitor's handler of each
 * request is its own table, in broker/monitor/monitor_srv.c.
 */
enum mon_dir {
	MON_DIR_REQUEST = 1, /* the session process asks */
	MON_DIR_ANSWER = 2,  /* the monitor answers */
};

/* A session process's phases (monitor_state), a bit each. */
#define MON_PH_PRE 0x1  /* authentication not complete */
#define MON_PH_AUTH 0x2 /* authenticated, the session not ended */
#define MON_PH_END 0x4  /* after session-end */

/* What bytes a string field may hold. */
enum mon_class {
	MC_NAME = 1, /* [a-z0-9._-], starts with a letter or digit */
	MC_NAME0,    /* as MC_NAME, may be empty */
	MC_HOST,     /* [A-Za-z0-9.:-] host name or address */
	MC_HOST0,    /* as MC_HOST, may be empty */
	MC_LOGIN,    /* names joined by '+' and '@' */
	MC_ADDR,     /* an IPv4/IPv6 address (with %scope) */
	MC_CODE,     /* digits */
	MC_TEXT,     /* printable: no control bytes */
	MC_TEXT0,    /* as MC_TEXT, may be empty */
	MC_JSON,     /* {...} without control bytes */
	MC_UUID,     /* a lower-case UUID */
	MC_BYTES0,   /* any bytes but NUL, may be empty */
};

/* How a field goes on the wire and where it lives in struct mon_msg. */
enum mon_fkind {
	MF_STR = 1, /* u32 length + bytes, into char[max + 1], class cl */
	MF_BLOB,    /* u32 length + 1..max bytes, its size_t length at aux */
	MF_BLOB0,   /* as MF_BLOB, may be empty */
	MF_FIXED,   /* u32 length + exactly max bytes */
	MF_BOOL,    /* u8 0 or 1, into an int */
	MF_PRESENT, /* as MF_BOOL; 0: none of the fields after it are sent */
	MF_U8,      /* u8 min..max, into an int */
	MF_U16,     /* u16 min..max, into a uint16_t */
	MF_U32,     /* u32 min..max, into a uint32_t */
	MF_U64,     /* u64 min..max, into a uint64_t */
	MF_TIME,    /* u64 <= INT64_MAX, into an int64_t */
	MF_ERRNO,   /* u32 1..-PV_ERR_MIN_, into an int as a PV_ERR_* */
	MF_NAMES,   /* u32 count <= n, then count MF_STR of class cl, into
		       char[n][max + 1]; the uint32_t count at aux */
};

/* mon_field.flags */
#define MFF_ONE_BIT 0x1 /* MF_U32: exactly one bit set */
#define MFF_ALLOW 0x2   /* MF_BOOL: PV_ALLOW (1) or PV_DENY (0) */

struct mon_field {
	const char *name;
	enum mon_fkind kind;
	enum mon_class cl;  /* MF_STR, MF_NAMES */
	size_t off;         /* offsetof(struct mon_msg, ...) */
	size_t aux;         /* MF_BLOB*: its length's offset; MF_NAMES: count */
	uint64_t min, max;  /* integers: range; strings, blobs: max bytes */
	size_t n;           /* MF_NAMES: at most this many */
	unsigned int flags; /* MFF_* */
};

struct monitor_state;

struct mon_type_def {
	int type;
	const char *name; /* "auth-pubkey", ... for logs */
	enum mon_dir dir;
	unsigned int phases; /* a request: the MON_PH_* it may come in */
	int answer;          /* a request: its answer's type (or MON_ERROR) */
	int has_fd;          /* an answer: a descriptor comes with it */
	const struct mon_field *fields;
	size_t nfields;
	/* rules between fields (both ways on the wire), or NULL */
	int (*check)(const struct mon_msg *m);
	/*
	 * A request: the order rules past its phase (0 or PV_ERR_PROTOCOL),
	 * and what it changes; an answer: what it changes.  Or NULL.
	 */
	int (*order)(struct monitor_state *st, const struct mon_msg *m);
};

/* The entry of a type, NULL if unknown or retired. */
const struct mon_type_def *broker_mon_type_def(int type);
/* "auth-pubkey", ... or NULL. */
const char *broker_mon_type_name(int type);
/* 1 for the child's requests, 0 for the monitor's answers (and unknown). */
int broker_mon_type_is_request(int type);
/*
 * Does an answer of this type carry a descriptor?  (MON_REC_OPEN_ANS,
 * MON_TARGET_SOCKET)
 */
int broker_mon_type_has_fd(int type);
/* The answer a request of this type gets (besides MON_ERROR), or 0. */
int broker_mon_type_answer(int type);

/* Appends the whole frame (header included) to out. */
int broker_mon_msg_encode(const struct mon_msg *m, struct pv_buf *out);
/*
 * Decodes exactly one whole frame (header included, len must match it).
 * out is cleared first; on error it stays cleared.  PV_ERR_PROTOCOL.
 */
int broker_mon_msg_decode(
    const uint8_t *frame, size_t len, struct mon_msg *out);
/* Wipes m (it may hold a TOTP code), all of it: for a message reused. */
void broker_mon_msg_clear(struct mon_msg *m);
/*
 * Wipes only the fields that hold secrets (a TOTP code, a recording's
 * data key and nonce prefix, a pvt1 token), whatever m's type says now
 * (an answer may have become an error after a secret was written): for
 * a message about to be freed.  About 4 KiB instead of all ~100 KiB.
 */
void broker_mon_msg_wipe(struct mon_msg *m);

/*
 * Blocking I/O on a SOCK_STREAM unix socket, EINTR and partial transfers
 * handled, until deadline_ms (absolute, pv_mono_ms(); 0 = no deadline):
 * PV_ERR_TIMEOUT, PV_ERR_CLOSED (peer gone), PV_ERR_IO, PV_ERR_PROTOCOL.
 * send passes fd_pass (>= 0) with the frame's first byte.  recv accepts a
 * descriptor only for a type that carries one and only if fd_out is not
 * NULL (*fd_out = -1 otherwise); any other descriptor is closed and the
 * frame is PV_ERR_PROTOCOL, as is an answer that should carry one and
 * does not.
 */
int broker_mon_send(
    int sock, const struct mon_msg *m, int fd_pass, uint64_t deadline_ms);
int broker_mon_recv(
    int sock, struct mon_msg *out, int *fd_out, uint64_t deadline_ms);

/*
 * The monitor's reader: never waits.  Each call takes what the socket
 * holds of the current frame (never past it) and returns 1 with out
 * filled once the frame is whole, 0 while it is not (started_ms then says
 * since when a frame is unfinished, 0 if none is), or PV_ERR_CLOSED,
 * PV_ERR_IO, PV_ERR_PROTOCOL (a bad length or type, or any descriptor: a
 * session process passes none).  One reader per socket; free with
 * broker_mon_reader_free (it wipes: a TOTP code may be inside).
 */
struct mon_reader {
	uint8_t
	    *buf; /* MON_HDR_LEN + MON_FRAME_MAX, only while a frame is read */
	size_t have;
	uint64_t started_ms;
};
int broker_mon_read_some(int sock, struct mon_reader *rd, struct mon_msg *out);
void broker_mon_reader_free(struct mon_reader *rd);

/*
 * The order rules, kept by the monitor per session process (and usable by
 * the child to check the monitor): one request at a time, each in a phase
 * its entry allows (auth checks only before authentication completes,
 * decisions, mints, the recording, the row and the menu only after it,
 * only audit after session-end), and each type's own rule: at most
 * max_auth_tries auth checks, a code only after a good key for the same
 * login; mint only after an allow decision, once per decision, for that
 * decision's target and account; open-recording once, after an allow
 * decision; target-connect only for the good key's engineer, once before
 * any decision (the pre-opened leg), then only for the last decision's
 * target if it allowed, MON_TARGET_CONNECTS_MAX in all; target-failed
 * once per socket handed out; session-end once.  A violation is
 * PV_ERR_PROTOCOL and sticks: every later call fails too.
 */
struct monitor_state {
	char session_id[PV_UUID_LEN + 1];
	unsigned int max_auth_tries;
	unsigned int auth_tries;
	int pending; /* the request awaiting its answer, 0 if none */
	char pend_login[MON_LOGIN_MAX + 1]; /* of a pending auth request */
	int key_ok; /* a good key was shown for key_login */
	char key_login[MON_LOGIN_MAX + 1];
	int authenticated;
	int allowed; /* an allow decision was seen */
	int mint_ok; /* the last decision allows one mint */
	char dec_target[MON_NAME_MAX + 1];
	char dec_account[MON_NAME_MAX + 1];
	int rec_opened;
	int ended;
	int failed;
	int by_code;     /* authenticated with a code, not by MFAGrace */
	int row_opened;  /* session-open was asked */
	int dec_allowed; /* the last decision allowed */
	int pre_gets;    /* target-gets before authentication (at most 1) */
	unsigned int connects; /* target-connects (MON_TARGET_CONNECTS_MAX) */
	int pre_connects;      /* ... before any decision (at most 1) */
	int decided;           /* a decision was asked */
	int leg_out; /* a socket was handed out, no failure told since */
};

/* The phase st is in now: one MON_PH_* bit. */
unsigned int broker_mon_state_phase(const struct monitor_state *st);
int broker_mon_state_init(struct monitor_state *st, const char *session_id,
    unsigned int max_auth_tries);
/* A request from the child: 0 if it may be asked now, else PV_ERR_PROTOCOL. */
int broker_mon_state_request(struct monitor_state *st, const struct mon_msg *m);
/* The monitor's answer to the pending request (updates the state). */
int broker_mon_state_answer(struct monitor_state *st, const struct mon_msg *m);

#endif /* PROVOST_BROKER_PRIVSEP_PROTOCOL_H */
