/*
 * broker-int.h: provostd's internals shared by its files: the backend and
 * recorder interfaces, the per-connection session and per-channel relay.
 */
#ifndef PROVOST_BROKER_INT_H
#define PROVOST_BROKER_INT_H

#include <stdint.h>
#include <sys/types.h>

#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <libssh/server.h>

#include "broker/broker-sftp.h"
#include "broker/broker.h"

/*
 * The backend: every question the broker asks of the store, the policy and
 * the CA.  Today it is called in-process; with privilege separation (issue
 * 6) the same calls become monitor requests, so keep them narrow and typed.
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
	 */
	int (*menu)(void *ctx, const char *engineer, const char *command,
	    struct pv_buf *out);
	/*
	 * Revocations since *cursor (0: start from now) that end this
	 * session: its engineer, provider, grant or the session itself.
	 * PV_ALLOW with why filled if so; *cursor advances.
	 */
	int (*revoked)(void *ctx, const char *engineer, const char *grant_id,
	    const char *session_id, uint64_t *cursor, char *why, size_t whylen);
	/* An audit event (one line of detail, no secrets). */
	int (*audit)(void *ctx, const char *session_id, const char *event,
	    const char *detail);
	/*
	 * Group commit (may be NULL): begin 1 opens a batch, begin 0 commits
	 * it; what the ops wrote between is durable only once that returns
	 * 0, and no answer built in the batch may leave before.
	 */
	int (*batch)(void *ctx, int begin);
	void (*free)(void *ctx);
};

struct broker_backend {
	const struct broker_backend_ops *ops;
	void *ctx;
};

/*
 * The recorder hook: every byte each way goes through event() before it
 * is forwarded; an error ends the session ("session ended: recording
 * failed").  recorder/'s rec_writer_* will sit behind these.
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
	 * offset of the channel's file file_id, one direction.
	 */
	int (*content)(void *rec, uint32_t channel, uint64_t file_id,
	    enum sftp_dir dir, uint64_t offset, const uint8_t *data,
	    size_t len);
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

struct pv_config;
struct policy;
struct store;
/* menu.c: list, request, status, help for a plain ENGINEER login. */
int broker_menu_run(struct store *st, const struct policy *pol,
    const char *engineer, const char *command, int64_t now, struct pv_buf *out);
/* backend_store.c: the governance store and the policy. */
int broker_backend_store_new(
    const struct pv_config *conf, EVP_PKEY *ca, struct broker_backend *out);
/* The parent closes its store before forking; each child opens its own. */
int broker_backend_store_detach(struct broker_backend *bk);
struct policy;
int broker_backend_store_reload(
    struct broker_backend *bk, struct policy *pol, const char *detail);
/* At start-up: sessions a crash left open are marked aborted. */
int broker_backend_store_recover(struct broker_backend *bk);
/* recorder_rec.c: recorder/'s encrypted recordings. */
int broker_recorder_rec_new(
    const struct pv_config *conf, struct broker_recorder *out);
/* Opens a session's recording elsewhere: its path into path, its fd. */
typedef int (*broker_rec_opener)(
    void *arg, const char *session_id, char *path, size_t pathlen, int *fd);
/* Privilege separation: the recording file comes from the monitor. */
void broker_recorder_rec_set_opener(
    struct broker_recorder *rec, broker_rec_opener fn, void *arg);
/* The recording's path: RecordingDirectory/YYYY/MM/ID.pvr (dirs made). */
int broker_recorder_rec_path(const struct pv_config *conf,
    const char *session_id, char *path, size_t pathlen);

/* backend_monitor.c: a session process's calls, sent to the monitor. */
int broker_backend_monitor_new(
    int sock, const char *client_addr, struct broker_backend *out);
/* A broker_rec_opener; arg is the monitor backend. */
int broker_backend_monitor_rec_open(
    void *arg, const char *session_id, char *path, size_t pathlen, int *fd);
/* The monitor socket, or -1 if the backend is not one or the link is lost. */
int broker_backend_monitor_sock(const struct broker_backend *bk);

/* monitor_srv.c: the monitor's side, one per session process. */
struct broker_mon_child;
int broker_monsrv_new(const struct pv_config *conf, struct broker_backend *bk,
    pid_t pid, int sock, const char *session_id, const char *client_addr,
    struct broker_mon_child **out);
/*
 * Takes one request of a child whose socket is readable and builds its
 * answer, kept until broker_monsrv_answer: 0, PV_ERR_CLOSED (the child
 * closed its end), or PV_ERR_PROTOCOL (malformed or out of order: the
 * child was killed, the violation logged and audited).
 */
int broker_monsrv_take(struct broker_mon_child *c);
/* Is an answer waiting to be sent? */
int broker_monsrv_pending(const struct broker_mon_child *c);
/* Sends it; lost: the store did not keep the batch, send an error. */
int broker_monsrv_answer(struct broker_mon_child *c, int lost);
int broker_monsrv_sock(const struct broker_mon_child *c);
pid_t broker_monsrv_pid(const struct broker_mon_child *c);
const char *broker_monsrv_id(const struct broker_mon_child *c);
/*
 * The monitor's own revocation check of a live session, from what the
 * monitor approved (never the child's word): 1 (why filled) when its
 * engineer, their provider, its grant or the session itself was revoked
 * since the last check, 0 if not, < 0 if the store could not say.
 */
int broker_monsrv_revoked(struct broker_mon_child *c, char *why, size_t whylen);
/* A session row is open and the session has not ended. */
int broker_monsrv_live(const struct broker_mon_child *c);
int broker_monsrv_recheck(struct broker_mon_child *c, char *why, size_t whylen);
/*
 * The child was reaped: a session row it left open is marked aborted, with
 * the bytes its last reports gave.
 */
void broker_monsrv_reaped(struct broker_mon_child *c, int status,
    uint64_t bytes_in, uint64_t bytes_out);
void broker_monsrv_free(struct broker_mon_child *c);

/* What the daemon hands every session process. */
struct broker_ctx {
	const struct pv_config *conf;
	struct broker_backend backend;
	struct broker_recorder recorder;
	ssh_bind bind;
	struct broker_link *link; /* the session's line to provostd */
	/* privilege separation (docs/privsep.md): set in the session process */
	char session_id[PV_UUID_LEN + 1]; /* the monitor's id for it */
	int sandbox;   /* enter the seccomp sandbox once the legs are up */
	int sandboxed; /* ... and it did */
};

/* privsep.c: enters the sandbox once the target leg and recording are. */
struct broker_session;
void broker_privsep_tick(struct broker_session *s);

#define BROKER_MAX_CHANNELS 10
#define BROKER_ENV_MAX 16
#define BROKER_RELAY_CHUNK (64 * 1024)

struct broker_session;

/* One session channel: the engineer's side (c) and the target's (t). */
struct relay_chan {
	struct broker_session *s;
	uint32_t id;
	ssh_channel c;
	ssh_channel t;
	struct ssh_channel_callbacks_struct ccb;
	struct ssh_channel_callbacks_struct tcb;
	/* collected before shell/exec, replayed to the target */
	int want_pty;
	char term[64];
	int cols, rows, px, py;
	char *env[BROKER_ENV_MAX][2];
	int nenv;
	int started;
	/* stalled: bytes wait in libssh's channel buffer for the peer */
	int stall_in, stall_out, stall_err;
	size_t pre_in, pre_out, pre_err; /* recorded, not yet taken */
	/*
	 * Read out of the sender's buffer and recorded, not yet taken by the
	 * peer (its key re-exchange): in, out, err.  Written first.
	 */
	struct pv_buf *carry[3];
	/* tails, forwarded in order once every byte before them is out */
	int c_eof, c_closed, t_eof, t_closed;
	int c_eof_sent, t_eof_sent;
	int have_status, status_sent;
	uint32_t exit_status;
	char exit_signal[32];
	int exit_core;
	int done;
	uint64_t bytes_in, bytes_out;
	char fail_msg[512];      /* a refusal to print, then exit 1 */
	struct pv_buf *menu_out; /* menu output still to send */
	int menu_status;
	/* sftp subsystem or legacy scp: the trackers between the legs */
	struct sftp_tracker *sftp;
	struct scp_tracker *scp;
	struct pv_buf *inq;      /* sftp: engineer bytes not yet decided */
	size_t pass_left;        /* of a PASS verdict, still to forward */
	size_t drop_left;        /* of a REFUSE verdict, still to drop */
	int in_blocked;          /* inq waits for window or replies */
	int busy;                /* inside a callback or the pump */
	uint64_t files, refused; /* transfer events, refusals */
	int fwd;                 /* direct-tcpip: metadata recorded only */
	char fwd_dest[256];      /* its destination host (-R: the listen) */
	unsigned int fwd_port;
	int rfwd;          /* forwarded-tcpip (ssh -R), fwd set too */
	char fwd_src[256]; /* -R: the originator on the target */
	unsigned int fwd_src_port;
};

/* A listen the broker asked of the target for ssh -R. */
#define BROKER_MAX_RFWD 8
struct broker_rfwd {
	char addr[256]; /* as the engineer's ssh asked ("" = every) */
	uint16_t port;  /* as asked (0: the target picked) */
	uint16_t bound; /* the port the target listens on */
};

struct broker_session {
	struct broker_ctx *bx;
	ssh_session client;
	ssh_session target;
	ssh_event event;
	struct ssh_server_callbacks_struct scb;
	char id[PV_UUID_LEN + 1];
	char peer[128];     /* "ADDR port N" for logs */
	char peer_addr[64]; /* ADDR */
	uint8_t *keyblob;   /* the engineer's verified key */
	size_t keybloblen;
	char user[BROKER_LOGIN_MAX + 1];
	struct broker_login login;
	int login_ok;
	uint32_t auth_failures;
	int key_ok;
	int authenticated;
	int target_added; /* target session is in the event */
	/*
	 * The target leg: pre-opened (TCP and key exchange, no user auth)
	 * once the engineer's key verified, authenticated after the decision.
	 */
	int pre_tried;         /* the pre-open was tried (once per session) */
	int target_connecting; /* ssh_connect returned SSH_AGAIN */
	int target_up;         /* authenticated: channels may open */
	/*
	 * Target sessions dropped inside ssh_event_dopoll (from a callback):
	 * libssh may still touch their poll handles in the same round, so
	 * they are freed after it returns (broker_session_poll).
	 */
	struct {
		ssh_session t;
		int added;
	} dropped[4];
	size_t ndropped;
	int polling; /* depth of broker_session_poll */
	struct broker_target tgt;
	char account[BROKER_ACCOUNT_MAX + 1];
	struct broker_decision decision;
	void *rec;
	char rec_path[4096];
	int row_open; /* the store has a session row */
	struct relay_chan *chans[BROKER_MAX_CHANNELS]; /* open at once */
	int nchans;
	uint32_t chan_seq; /* the next channel's id (recordings, audit) */
	struct broker_rfwd rfwd[BROKER_MAX_RFWD];
	int nrfwd;
	uint64_t deadline_ms;   /* LoginGraceTime, 0 once authenticated */
	int64_t grant_ends;     /* the earliest grant end of live channels */
	uint64_t revoke_cursor; /* audit seq seen by the revocation poll */
	uint64_t revoke_next_ms;
	int grant_warned; /* 2: 5-minute warning given, 1: 1-minute */
	int ending;
	int repump; /* a callback left bytes to the pump: poll without waiting */
	char end_reason[128];
	uint64_t bytes_in, bytes_out;
	uint8_t buf[BROKER_RELAY_CHUNK];
};

/* The SSH wire blob of a libssh key (libssh 0.10 exports only base64). */
int broker_key_blob(ssh_key key, uint8_t **blob, size_t *len);

/* session.c */
int broker_session_run(
    struct broker_ctx *bx, int fd, const char *peer, const char *addr);
void broker_session_end(struct broker_session *s, const char *reason);
/* Resolves target and account, asks the backend; PV_ALLOW or a refusal. */
int broker_session_decide(struct broker_session *s, struct relay_chan *rc,
    unsigned int channel, char *msg, size_t msglen);
void broker_audit(struct broker_session *s, const char *event, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

/* auth.c */
void broker_auth_setup(struct broker_session *s);

/* target.c */
/* Authenticates the leg (pre-opened or new); only after PV_ALLOW. */
int broker_target_connect(struct broker_session *s, char *msg, size_t msglen);
/* Starts the leg's TCP connect and key exchange without blocking. */
int broker_target_preconnect(struct broker_session *s);
/* After each poll: moves a pending key exchange on. */
void broker_target_preconnect_step(struct broker_session *s);
/* Closes the leg (never authenticated if not up) and forgets it. */
void broker_target_drop(struct broker_session *s);
/* Frees what broker_target_drop set aside inside a poll round. */
void broker_target_reap(struct broker_session *s);
/* ssh_event_dopoll on the session's event; reaps dropped legs after. */
int broker_session_poll(struct broker_session *s, int timeout);
int broker_target_open(struct broker_session *s, struct relay_chan *rc,
    const char *command, const char *subsystem, char *msg, size_t msglen);

/* relay.c */
void broker_nodelay(int fd); /* TCP_NODELAY on a connected socket */
int broker_rekey_options(const struct pv_config *conf, ssh_session leg);
struct relay_chan *broker_relay_chan_new(struct broker_session *s);
void broker_relay_chan_free(struct relay_chan *rc);
void broker_relay_target_callbacks(struct relay_chan *rc);
/* Moves stalled bytes and pending tails; returns 1 if a channel is done. */
void broker_relay_reap(struct broker_session *s);
int broker_relay_pump(struct broker_session *s, struct relay_chan *rc);
int broker_rec(struct broker_session *s, enum broker_rec_kind kind,
    uint32_t channel, const void *data, size_t len);
/* Records then writes what to's window takes; returns the bytes taken. */
int broker_relay_forward(struct relay_chan *rc, ssh_channel to,
    enum broker_rec_kind kind, const uint8_t *data, size_t len, size_t *prerec,
    int consumed);

/* relay_xfer.c: sftp and scp channels (broker/broker-sftp.h) */
int broker_xfer_sftp_start(struct relay_chan *rc);
/*
 * A direct-tcpip open (ssh -L, -D) from the message callback: decided,
 * opened on the target leg, accepted.  0 if replied, 1 for a refusal.
 */
int broker_xfer_forward_open(struct broker_session *s, ssh_message msg);
/* At a forward's end (-L or -R): bytes each way as file events. */
int broker_xfer_forward_end(struct relay_chan *rc);

/*
 * relay_rfwd.c: ssh -R.  From the engineer's message callback:
 * tcpip-forward (decided, listened on the target, answered) and
 * cancel-tcpip-forward; from the target's: a forwarded-tcpip open, relayed
 * to the engineer as a new channel.  0 if replied, 1 for a refusal.
 */
int broker_rfwd_request(struct broker_session *s, ssh_message msg);
int broker_rfwd_cancel(struct broker_session *s, ssh_message msg);
int broker_rfwd_open(struct broker_session *s, ssh_message msg);
/* Classifies an scp exec against the decision; PV_ALLOW or a refusal. */
int broker_xfer_scp_check(
    struct relay_chan *rc, const char *command, char *msg, size_t msglen);
int broker_xfer_flush(struct relay_chan *rc);
int broker_xfer_passed(struct relay_chan *rc, enum broker_rec_kind kind,
    const uint8_t *data, size_t n);
int broker_xfer_c_data(struct relay_chan *rc, const uint8_t *data, size_t len);
int broker_xfer_in_pump(struct relay_chan *rc);
void broker_xfer_end(struct relay_chan *rc);

#endif /* PROVOST_BROKER_INT_H */
