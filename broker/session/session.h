/*
 * session.h: a session process's own parts: the per-connection session, the
 * per-channel relay, authentication, the target leg, transfers.  Nothing
 * under broker/session/ includes a broker/monitor/ header.
 */
#ifndef PROVOST_BROKER_SESSION_SESSION_H
#define PROVOST_BROKER_SESSION_SESSION_H

#include <stdint.h>
#include <sys/types.h>

#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <libssh/server.h>

#include "broker/broker.h"
#include "broker/privsep/protocol.h"
#include "broker/session/sftp.h"

/* sandbox_enter.c: enters the sandbox once the target leg and recording are. */
struct broker_session;
void broker_privsep_tick(struct broker_session *s);

#define BROKER_MAX_CHANNELS 10
#define BROKER_ENV_MAX 16
#define BROKER_RELAY_CHUNK (64 * 1024)

struct broker_session;

/* One session channel: the engineer's side (c) and the target's (t). */
struct relay_chan;

/*
 * A relay channel's kind (tlog's sink types): what a shell, a command,
 * sftp, legacy scp, the broker's own menu, ssh -L and ssh -R each do where
 * they differ, called through instead of flags tested in every function.
 * A hook left NULL is the plain relay's way.  The kinds are the const
 * broker_relay_* below; a channel is a shell until its request says more.
 */
struct relay_kind {
	const char *name; /* "shell", "exec", "sftp", "scp", "menu", ... */
	/*
	 * Its bytes go into the recording as a stream; the others are
	 * recorded as events (file transfers, a forward's totals).
	 */
	int records_stream;
	/* A TCP forward: no exit status, the target's EOF passes at once. */
	int forward;
	/*
	 * The whole pump (the menu, which answers itself): 1 once the
	 * channel is done.
	 */
	int (*pump)(struct relay_chan *rc);
	/* Engineer bytes on their way to the target: bytes taken. */
	int (*c_data)(struct relay_chan *rc, const uint8_t *data, size_t len);
	/* Engineer bytes that stalled, from the pump: 1 once all moved. */
	int (*in_pump)(struct relay_chan *rc);
	/* What a peer took, one way (kind): 0, or -1 if the channel failed. */
	int (*passed)(struct relay_chan *rc, enum broker_rec_kind kind,
	    const uint8_t *data, size_t n);
	/* Replies of the broker's own to send first: 1 while some remain. */
	int (*flush)(struct relay_chan *rc);
	/*
	 * The channel's end (broker_relay_kind_end calls it once): its
	 * summaries and audit, and its own state freed.
	 */
	void (*end)(struct relay_chan *rc);
};

extern const struct relay_kind broker_relay_shell;
extern const struct relay_kind broker_relay_exec;
extern const struct relay_kind broker_relay_menu;
extern const struct relay_kind broker_relay_sftp;      /* relay_xfer.c */
extern const struct relay_kind broker_relay_scp;       /* relay_xfer.c */
extern const struct relay_kind broker_relay_direct;    /* relay_xfer.c */
extern const struct relay_kind broker_relay_forwarded; /* relay_xfer.c */

/* sftp subsystem or legacy scp: the trackers between the legs */
struct relay_xfer {
	struct sftp_tracker *sftp;
	struct scp_tracker *scp;
	struct pv_buf *inq;      /* sftp: engineer bytes not yet decided */
	size_t pass_left;        /* of a PASS verdict, still to forward */
	size_t drop_left;        /* of a REFUSE verdict, still to drop */
	int in_blocked;          /* inq waits for window or replies */
	uint64_t files, refused; /* transfer events, refusals */
};

/* A TCP forward: ssh -L/-D (direct) or ssh -R (forwarded). */
struct relay_fwd {
	char dest[256]; /* the destination (-R: the listen) */
	unsigned int port;
	char src[256]; /* -R: the originator on the target */
	unsigned int src_port;
};

/* The broker's own menu, and an approver's watch it started (view.c). */
struct relay_menu {
	struct pv_buf *out; /* output still to send */
	int status;
	int view;            /* streams the watched session's view */
	uint64_t view_until; /* its socket comes by then */
};

struct relay_chan {
	struct broker_session *s;
	const struct relay_kind *kind;
	int kind_ended; /* its end hook ran */
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
	char fail_msg[512]; /* a refusal to print, then exit 1 */
	int busy;           /* inside a callback or the pump */
	/*
	 * Moderated: decided and accepted, its start (the target's
	 * channel) waits for a moderator; the request as it came.
	 */
	int held;
	char *held_command, *held_subsystem;
	/*
	 * The kind's own state: only the member of the kind in force is
	 * live (a channel's kind is set once, before its state is made),
	 * and the kind's end hook frees what it holds.
	 */
	union {
		struct relay_xfer xfer; /* sftp, scp */
		struct relay_fwd fwd;   /* direct-tcpip, forwarded-tcpip */
		struct relay_menu menu; /* menu */
	} u;
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
	uint32_t
	    key_failures; /* of them, refused keys (wrong codes: the monitor counts) */
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
	uint64_t deadline_ms; /* LoginGraceTime, 0 once authenticated */
	int64_t grant_ends;   /* the earliest grant end of live channels */
	int grant_warned;     /* 2: 5-minute warning given, 1: 1-minute */
	int ending;
	int repump; /* a callback left bytes to the pump: poll without waiting */
	char end_reason[128];
	uint64_t bytes_in, bytes_out;
	/* live watchers (watch.c): 0 costs the relay one test per chunk */
	struct broker_watch *watch[BROKER_WATCH_MAX];
	int nwatch;
	/*
	 * Moderated (a decision named a group): channels start and input
	 * passes only while the monitor says a moderator watches (mod_on).
	 */
	int mod_required, mod_on;
	struct broker_view *view; /* an approver watching another session */
	uint8_t buf[BROKER_RELAY_CHUNK];
};

/* The SSH wire blob of a libssh key (libssh 0.10 exports only base64). */
int broker_key_blob(ssh_key key, uint8_t **blob, size_t *len);

/* session.c */
void broker_session_end(struct broker_session *s, const char *reason);
/* Resolves target and account, asks the backend; PV_ALLOW or a refusal. */
int broker_session_decide(struct broker_session *s, struct relay_chan *rc,
    unsigned int channel, char *msg, size_t msglen);
/*
 * An audit row of this session: action is one of the session side's
 * (enum mon_audit_action, protocol.h), the only names the monitor takes.
 */
void broker_audit(struct broker_session *s, enum mon_audit_action action,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

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

/* relay_xfer.c: sftp and scp channels (broker/session/sftp.h) */
int broker_xfer_sftp_start(struct relay_chan *rc);
/*
 * A direct-tcpip open (ssh -L, -D) from the message callback: decided,
 * opened on the target leg, accepted.  0 if replied, 1 for a refusal.
 */
int broker_xfer_forward_open(struct broker_session *s, ssh_message msg);

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
/* The channel's kind's end hook, once (broker_relay_kind). */
void broker_relay_kind_end(struct relay_chan *rc);

/*
 * watch.c: live watchers.  _add takes a socket the monitor passed (and
 * closes it if it cannot keep it); _feed copies recorded output to each
 * without waiting (a watcher that falls behind is cut off); _tick closes
 * the gone and sets poll events; _stop ends them all with reason.
 */
struct broker_watch;
void broker_watch_add(
    struct broker_session *s, int fd, int notify, const char *who);
void broker_watch_feed(
    struct broker_session *s, const uint8_t *data, size_t len);
void broker_watch_tick(struct broker_session *s);
void broker_watch_stop(struct broker_session *s, const char *reason);
/* session.c: a line on every live channel's stderr (not recorded). */
void broker_session_say(struct broker_session *s, const char *line);
/*
 * relay.c: the monitor says whether a moderator watches (link "M"):
 * held channels start, input passes or is held, the engineer is told.
 */
void broker_relay_moderated(struct broker_session *s, int on);
/* Held channels whose moderator came start (outside a poll round). */
void broker_relay_moderation_tick(struct broker_session *s);

/*
 * view.c: an approver watches another session from the approvers' menu:
 * _arrive takes the socket the monitor passed over the link ("V\tID\t
 * ENGINEER\tACCOUNT\tTARGET"), _start marks the menu channel whose watch
 * the monitor accepted, _input takes the approver's keys (q, x), _pump
 * streams (1 when the channel is done), _stop closes it.
 */
struct broker_view;
void broker_view_arrive(struct broker_session *s, int fd, const char *msg);
void broker_view_start(struct relay_chan *rc);
int broker_view_input(struct relay_chan *rc, const uint8_t *d, size_t len);
int broker_view_pump(struct relay_chan *rc);
void broker_view_stop(struct broker_session *s);

/* link.c: reports to provostd's control side, takes its orders. */
int broker_link_start(struct broker_session *s);
void broker_link_tick(struct broker_session *s);
/* ms until the byte counts are due at the control side (0: now), -1: none. */
int broker_link_due_ms(const struct broker_session *s, uint64_t now);
void broker_link_stop(struct broker_session *s);

#endif /* PROVOST_BROKER_SESSION_SESSION_H */
