/*
 * broker.h: what provostd's privileged monitor (broker/monitor/) and its
 * session processes (broker/session/) share: the login string parser,
 * certificates, the backend and recorder interfaces that privilege
 * separation runs across, and the entry points the monitor calls in a new
 * session process.  Nothing here is private to one side.
 */
#ifndef PROVOST_BROKER_H
#define PROVOST_BROKER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <sys/types.h>

#include <openssl/evp.h>

#include "common/common.h"

struct pv_config;
struct sftp_event;
struct ssh_bind_struct;

/*
 * SSH algorithms (algos.c): provostd's preference order filtered by what
 * this libssh implements, or the configured list (each name checked).
 * server: the engineer's leg (else the target leg, which prefers
 * AES-GCM).  0, or PV_ERR_UNSUPPORTED with err saying which name.
 */
enum broker_algo {
	BROKER_ALGO_KEX,
	BROKER_ALGO_CIPHER,
	BROKER_ALGO_MAC,
	BROKER_ALGO_HOSTKEY,
};
int broker_algos(const struct pv_config *conf, enum broker_algo kind,
    int server, char *out, size_t outlen, char *err, size_t errlen);
/* Is name (one) a method of kind this libssh implements? */
int broker_algo_supported(enum broker_algo kind, const char *name);
const char *broker_algo_keyword(enum broker_algo kind);

/*
 * A failed authentication waits this long before its answer (the session
 * process sleeps it); the monitor takes no code sooner than this after a
 * wrong one (less 100 ms for scheduling), whatever the process does.
 */
#define BROKER_AUTH_FAIL_DELAY_MS 700

/*
 * Login strings (the user part of ssh's user@host, split by OpenSSH at the
 * last '@'): "alice" (menu), "alice+db01" (target, the grant's one
 * account), "alice+postgres@db01" (account at target).  Names use only
 * [a-z0-9._-], start with a letter or digit, and are capped below.
 */
#define BROKER_ENGINEER_MAX 32
#define BROKER_ACCOUNT_MAX 32
#define BROKER_TARGET_MAX 64
/*
 * Watchers of one live session at once (provostctl session watch): each
 * is a socket the monitor passes to the session process, which the
 * session sandbox's descriptor margin leaves room for.
 */
#define BROKER_WATCH_MAX 4
#define BROKER_LOGIN_MAX \
	(BROKER_ENGINEER_MAX + 1 + BROKER_ACCOUNT_MAX + 1 + BROKER_TARGET_MAX)

enum broker_login_kind {
	BROKER_LOGIN_MENU = 0, /* ENGINEER */
	BROKER_LOGIN_TARGET,   /* ENGINEER+TARGET */
	BROKER_LOGIN_ACCOUNT,  /* ENGINEER+ACCOUNT@TARGET */
};

struct broker_login {
	enum broker_login_kind kind;
	char engineer[BROKER_ENGINEER_MAX + 1];
	char account[BROKER_ACCOUNT_MAX + 1]; /* "" unless ACCOUNT form */
	char target[BROKER_TARGET_MAX + 1];   /* "" in MENU form */
};

/* 0, or PV_ERR_INVALID / PV_ERR_RANGE; out is zeroed on every error. */
int broker_login_parse(const char *s, size_t len, struct broker_login *out);
/* 1 if s[0..len) is a valid name of at most max bytes, else 0. */
int broker_name_valid(const char *s, size_t len, size_t max);

/*
 * OpenSSH user certificates (PROTOCOL.certkeys), ssh-ed25519-cert-v01,
 * built and signed here with OpenSSL.  Exactly one principal; extensions
 * are permit-pty or nothing; source-address is always set.
 */
#define BROKER_CERT_TYPE "ssh-ed25519-cert-v01@openssh.com"
#define BROKER_CERT_NONCE_LEN 32
#define BROKER_ED25519_LEN 32
#define BROKER_CERT_BACKDATE 30 /* seconds before now */

struct broker_cert_req {
	const uint8_t *pubkey; /* the ephemeral key, BROKER_ED25519_LEN raw */
	uint64_t serial;
	const char *session_id;
	const char *engineer;
	const char *principal;      /* the target account */
	int64_t now;                /* unix seconds */
	uint64_t lifetime;          /* seconds, > 0 */
	const char *source_address; /* e.g. "127.0.0.1/32" */
	int permit_pty;
	int permit_port_forwarding; /* the rule allows forward channels */
};

/* Appends the certificate blob (wire format) to out. */
int broker_cert_mint(
    EVP_PKEY *ca, const struct broker_cert_req *req, struct pv_buf *out);
/* "TYPE BASE64 comment" of a key or certificate blob (comment optional). */
int broker_sshkey_line(const char *type, const uint8_t *blob, size_t len,
    const char *comment, char **line);
/* The SSH wire public key blob of an Ed25519 key ("ssh-ed25519", key). */
int broker_ed25519_blob(EVP_PKEY *key, struct pv_buf *out);
/* The raw 32 public bytes of an "ssh-ed25519" wire blob. */
int broker_ed25519_from_blob(
    const uint8_t *blob, size_t len, uint8_t pub[BROKER_ED25519_LEN]);
/* Loads the CA private key (the single place that knows its file format). */
int broker_ca_load(const char *path, EVP_PKEY **out);
/* 1 if a principal is acceptable: a valid name, no glob characters. */
int broker_principal_valid(const char *s);

/* provostd.conf is read with store/'s pv_config (shared with provostctl). */
struct broker_listen {
	char host[256];
	uint16_t port;
};

/* "host:port", "[v6]:port" or "host" (port 2222). */
int broker_listen_parse(const char *s, struct broker_listen *out);

/*
 * The backend: every question the broker asks of the store, the policy and
 * the CA.  The monitor answers them from the store (monitor/backend_store.c);
 * a session process asks them of the monitor (session/backend_monitor.c).
 * Decisions return PV_ALLOW / PV_DENY / <0 (callers test == PV_ALLOW).
 */
#define BROKER_HOSTKEY_MAX 2048
#define BROKER_MAX_ACCOUNTS 16
#define BROKER_REASON_MAX 256

/* broker_target.auth: how the broker logs in to the target. */
#define BROKER_AUTH_CERT 0      /* an SSH certificate for an ephemeral key */
#define BROKER_AUTH_PAM_TOKEN 1 /* a pvt1 token for pam_provost */

struct broker_target {
	char name[BROKER_TARGET_MAX + 1];
	int auth; /* BROKER_AUTH_* */
	char host[256];
	uint16_t port;
	char classification[64];
	char hostkey[BROKER_HOSTKEY_MAX]; /* pinned: "TYPE BASE64" */
	char accounts[BROKER_MAX_ACCOUNTS][BROKER_ACCOUNT_MAX + 1];
	int naccounts;
};

struct broker_decide_req {
	const char *session_id;
	const char *engineer;
	const struct broker_target *target;
	const char *account;
	unsigned int channel; /* POLICY_CH_* of policy/policy.h */
	int64_t now;
	const char *client_addr;
	/*
	 * POLICY_CH_FORWARD: the destination, checked against ForwardTo;
	 * POLICY_CH_REMOTE_FORWARD: the listen address and port asked of
	 * the target (port 0: it picks), checked against
	 * RemoteForwardListen.
	 */
	const char *forward_host;
	unsigned int forward_port;
};

struct broker_decision {
	int permit_pty;
	int permit_forward;    /* the target cert allows port forwarding
				  (forward or remote-forward) */
	unsigned int channels; /* POLICY_CH_* the rule allows */
	char rule[64];
	char grant_id[64];
	int64_t grant_ends;             /* unix seconds; 0 = standing access */
	char reason[BROKER_REASON_MAX]; /* shown to the engineer on deny */
	unsigned int transfer;          /* POLICY_TRANSFER_* for sftp and scp */
	int record_file_contents;       /* sftp/scp bytes recorded in full */
	/* Moderated GROUP: starts and takes input only while watched */
	char moderated[64];
	/* On allow: the plugins' notice for the engineer (a banner), or "" */
	char notice[BROKER_REASON_MAX];
};

struct broker_session_row {
	const char *id;
	const char *engineer;
	const char *target;
	const char *account;
	const char *grant_id; /* NULL for standing access */
	const char *rule;
	const char *client_addr;
	const char *recording_path;
	/* hex SHA-256 of the header the monitor wrote; NULL if none */
	const char *recording_header_sha256;
};

struct broker_session_end {
	uint64_t bytes_in; /* engineer -> target */
	uint64_t bytes_out;
	const char *recording_sha256; /* hex, "" if none */
	uint64_t recording_size;
	const char *reason;
	int aborted;
};

/* A pvt1 token for a pam-token target (docs/pam-token.md). */
struct broker_token_req {
	const char *session_id;
	const char *engineer;
	const char *account;
	const char *grant_id; /* "" or NULL: none */
	int64_t now;
	uint64_t lifetime; /* seconds: CertificateLifetime */
	uint64_t serial;   /* out: the credential's serial */
};

struct broker_backend_ops {
	const char *name;
	/* Is blob (SSH wire public key) a registered key of engineer? */
	int (*key_check)(
	    void *ctx, const char *engineer, const uint8_t *blob, size_t len);
	/*
	 * Is code the engineer's TOTP now (+-1 step), never used before?  On
	 * success the backend notes (engineer, key, address, time) for
	 * MFAGrace.
	 */
	int (*totp_check)(void *ctx, const char *engineer, const char *code,
	    const uint8_t *blob, size_t len, const char *addr);
	/*
	 * Does a rule that could open target (any of its accounts when
	 * account is "") demand a fresh code (FreshMFA yes)?  PV_ALLOW if so.
	 */
	int (*fresh_mfa)(void *ctx, const char *engineer, const char *target,
	    const char *account);
	/* Did this key from this address pass a code within grace seconds? */
	int (*mfa_recent)(void *ctx, const char *engineer, const uint8_t *blob,
	    size_t len, const char *addr, uint64_t grace);
	/* The target by name, if this engineer may know of it. */
	int (*target_get)(void *ctx, const char *engineer, const char *name,
	    struct broker_target *out);
	/* Policy decision (plus grant lookup); reason filled either way. */
	int (*decide)(void *ctx, const struct broker_decide_req *req,
	    struct broker_decision *out);
	/*
	 * Records the credential (which assigns the serial), then signs
	 * with the CA: req->serial is set; the blob is appended to out.
	 */
	int (*cert_mint)(void *ctx, const char *target,
	    struct broker_cert_req *req, struct pv_buf *out);
	/*
	 * Records the credential (kind token), then signs a pvt1 token with
	 * the token key: req->serial is set; *token is freed with
	 * pv_secret_freestr.  NULL in backends without pam-token targets.
	 */
	int (*token_mint)(void *ctx, const char *target,
	    struct broker_token_req *req, char **token);
	/* The session row: opened when the first channel is allowed. */
	int (*session_open)(void *ctx, const struct broker_session_row *row);
	int (*session_close)(void *ctx, const char *session_id,
	    const struct broker_session_end *end);
	/*
	 * Menu mode (login ENGINEER): runs command (NULL: a shell) and
	 * appends its output; returns the exit status for the engineer.
	 * client is the engineer's address as the monitor saw it (the
	 * session process passes NULL: the monitor fills in its own).
	 */
	int (*menu)(void *ctx, const char *engineer, const char *client,
	    const char *command, struct pv_buf *out);
	/*
	 * Revocations since *cursor (0: start from now) that end this
	 * session: its engineer, provider, grant or the session itself.
	 * PV_ALLOW with why filled if so; *cursor advances.
	 */
	int (*revoked)(void *ctx, const char *engineer, const char *grant_id,
	    const char *session_id, uint64_t *cursor, char *why, size_t whylen);
	/*
	 * How many revocations of anyone there were since *cursor (0: none,
	 * the cursor starts at the audit head); *cursor advances.  One
	 * query for the monitor's scan of every live session.  NULL in
	 * backends without a store.
	 */
	int (*revocations)(void *ctx, uint64_t *cursor);
	/*
	 * Revocations announced by the store (PostgreSQL's LISTEN): the
	 * socket to wait on (-1: none now), *gen changing with each new
	 * connection; and how many announcements arrived (read: the socket
	 * is readable), each a reason to run the scan at once.  NULL in
	 * backends without a store.
	 */
	int (*notify_fd)(void *ctx, uint64_t *gen);
	int (*notified)(void *ctx, int read);
	/* An audit event (one line of detail, no secrets). */
	int (*audit)(void *ctx, const char *session_id, const char *event,
	    const char *detail);
	/*
	 * The audit chain's signed checkpoints after row *after, each given
	 * to cb as its anchor JSON; *after advances.  NULL in backends
	 * without a store.
	 */
	int (*audit_anchors)(void *ctx, uint64_t *after,
	    void (*cb)(void *cbctx, uint64_t seq, const char *json),
	    void *cbctx);
	/*
	 * Client addresses that opened a session since (unix seconds), each
	 * with the last time.  NULL in backends without a store.
	 */
	int (*recent_sources)(void *ctx, int64_t since,
	    void (*cb)(void *cbctx, const char *addr, int64_t last),
	    void *cbctx);
	/*
	 * Group commit (may be NULL): begin 1 opens a batch, begin 0 commits
	 * it; what the ops wrote between is durable only once that returns
	 * 0, and no answer built in the batch may leave before.
	 */
	int (*batch)(void *ctx, int begin);
	void (*free)(void *ctx);
	/*
	 * Is approver name in group (Moderated)?  PV_ALLOW, PV_DENY, < 0.
	 * NULL in backends without a store.
	 */
	int (*approver_in_group)(
	    void *ctx, const char *name, const char *group);
	/*
	 * Approvers sign in as engineers do, with their own keys and codes
	 * (the monitor asks these when a login's key is not an engineer's
	 * key of that name).  NULL in backends without a store: no
	 * approver then signs in.
	 */
	int (*approver_key_check)(
	    void *ctx, const char *name, const uint8_t *blob, size_t len);
	int (*approver_totp_check)(
	    void *ctx, const char *name, const char *code, const char *addr);
	/* The approver's menu (pending, approve, deny); as menu. */
	int (*approver_menu)(void *ctx, const char *approver, const char *addr,
	    const char *session_id, const char *command, struct pv_buf *out);
	/*
	 * The target leg's TCP connection, opened by the monitor for the
	 * engineer's target: *fd non-blocking, its connect under way.  On
	 * failure why says so ("cannot reach target T: ...").  NULL in the
	 * monitor's own backend.
	 */
	int (*target_connect)(void *ctx, const char *engineer,
	    const char *target, int *fd, char *why, size_t whylen);
	/*
	 * A leg target_connect handed over failed later (stage: 1 the
	 * connect, 2 the key exchange): the monitor writes the unreachable
	 * row.  NULL in the monitor's own backend.
	 */
	int (*target_failed)(void *ctx, int stage, const char *reason);
};

struct broker_backend {
	const struct broker_backend_ops *ops;
	void *ctx;
};

/*
 * The recorder hook: every byte each way goes through event() before it
 * is forwarded; an error ends the session ("session ended: recording
 * failed").  session/recorder_rec.c puts recorder/'s writer behind them.
 */
enum broker_rec_kind {
	BROKER_REC_INPUT = 0,
	BROKER_REC_OUTPUT,
	BROKER_REC_STDERR,
	BROKER_REC_RESIZE,      /* data: u32 cols, u32 rows (big-endian) */
	BROKER_REC_EXEC,        /* data: the command, or "" for a shell */
	BROKER_REC_EXIT,        /* data: u32 status (big-endian) */
	BROKER_REC_EXIT_SIGNAL, /* data: the signal name ("KILL") */
	BROKER_REC_SUBSYSTEM,   /* data: the subsystem name ("sftp") */
};

struct broker_rec_info {
	const char *session_id;
	const char *engineer;
	const char *provider;
	const char *target;
	const char *account;
	const char *client_addr;
	const char *term;
	uint16_t cols, rows;
};

struct broker_recorder_ops {
	const char *name;
	/* Opens the recording; its path (for the session row) into path. */
	int (*open)(void *ctx, const struct broker_rec_info *info, void **rec,
	    char *path, size_t pathlen);
	int (*event)(void *rec, enum broker_rec_kind kind, uint32_t channel,
	    const void *data, size_t len);
	/* A file-transfer event (sftp, scp) of a channel. */
	int (*file)(void *rec, uint32_t channel, const struct sftp_event *ev);
	/*
	 * File content as it passes (RecordFileContents yes): the bytes at
	 * offset of the channel's file file_id, one direction (enum
	 * sftp_dir of session/sftp.h).
	 */
	int (*content)(void *rec, uint32_t channel, uint64_t file_id,
	    unsigned int dir, uint64_t offset, const uint8_t *data, size_t len);
	/* Seals what is due; returns when it next wants a call (ms). */
	int (*tick)(void *rec, int *next_ms);
	/* Seals; reports the file's SHA-256 (hex) and size when known. */
	int (*close)(void *rec, int aborted, char *sha256_hex, size_t hexlen,
	    uint64_t *size);
	void (*free)(void *ctx);
};

struct broker_recorder {
	const struct broker_recorder_ops *ops;
	void *ctx;
};

/* The entry points the monitor calls in a new session process. */
/* What the daemon hands every session process. */
struct broker_ctx {
	const struct pv_config *conf;
	struct broker_backend backend;
	struct broker_recorder recorder;
	struct ssh_bind_struct *bind; /* ssh_bind */
	struct broker_link *link;     /* the session's line to provostd */
	/* the target leg's algorithms (broker_algos), set at start */
	char target_kex[512], target_ciphers[256], target_macs[256];
	/* privilege separation (docs/privsep.md): set in the session process */
	char session_id[PV_UUID_LEN + 1]; /* the monitor's id for it */
	int sandbox;   /* enter the seccomp sandbox once the legs are up */
	int sandboxed; /* ... and it did */
};

/*
 * The session process's entry points: in the child it forks (no exec), the
 * monitor calls these, and no other function of broker/session/, to make
 * the process a session process (daemon.c's session_child).  scripts/
 * check-boundary holds the built objects to that (make lint).
 */
/* session/session.c: serves one connection; returns when it ended. */
int broker_session_run(
    struct broker_ctx *bx, int fd, const char *peer, const char *addr);
/* backend_monitor.c: a session process's calls, sent to the monitor. */
int broker_backend_monitor_new(
    int sock, const char *client_addr, struct broker_backend *out);
/* A broker_rec_opener; arg is the monitor backend. */
struct rec_resume;
int broker_backend_monitor_rec_open(void *arg,
    const struct broker_rec_info *info, char *path, size_t pathlen, int *fd,
    struct rec_resume *res);
/* The monitor socket, or -1 if the backend is not one or the link is lost. */
int broker_backend_monitor_sock(const struct broker_backend *bk);

/* recorder_rec.c: recorder/'s encrypted recordings. */
int broker_recorder_rec_new(
    const struct pv_config *conf, struct broker_recorder *out);
/*
 * Opens a session's recording elsewhere (the monitor, which writes the
 * header): its path into path, its fd, and what writing the chunks needs
 * (res holds the data key: the caller wipes it, rec_resume_wipe).
 */
typedef int (*broker_rec_opener)(void *arg, const struct broker_rec_info *info,
    char *path, size_t pathlen, int *fd, struct rec_resume *res);
/* Privilege separation: the recording file comes from the monitor. */
void broker_recorder_rec_set_opener(
    struct broker_recorder *rec, broker_rec_opener fn, void *arg);

/*
 * recpath.c, shared: the recording's path, RecordingDirectory/YYYY/MM/
 * ID.pvr (dirs made, and RecordingDirectory's parents checked as
 * broker_recorder_rec_check does).
 */
int broker_recorder_rec_path(const struct pv_config *conf,
    const char *session_id, char *path, size_t pathlen);
/*
 * RecordingDirectory and every parent is owned by root or provostd's user
 * and writable by nobody else (a sticky one holding ours is accepted), so
 * nobody else can move it or make its year and month elsewhere; else
 * PV_ERR_PERM with the line to say in err ("RecordingDirectory /srv/rec:
 * /srv is writable by group").  At start, by -t, on reload and for each
 * recording.
 */
int broker_recorder_rec_check(
    const struct pv_config *conf, char *err, size_t errlen);

/* session/link.c: the session process's line to provostd's control side. */
struct broker_link;
#define BROKER_END_ORPHANED \
	"session ended: provostd stopped; no session runs unsupervised"
/* delay_ms and refuse: the admission verdict for this connection. */
int broker_link_new(
    int fd, uint32_t delay_ms, const char *refuse, struct broker_link **out);
void broker_link_free(struct broker_link *l);

#endif /* PROVOST_BROKER_H */
