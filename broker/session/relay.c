/*
 * relay.c: session channels between the engineer and the target: requests
 * replayed, bytes recorded then forwarded with backpressure, tails in order.
 */
#include "config.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <string.h>
#include <time.h>

#include "broker/session/session.h"
#include "policy/policy.h"
#include "store/store.h"

#define FAIL_EXIT_STATUS 1

/*
 * Small packets (sftp requests and status replies, typed keys) go out at
 * once: Nagle's wait for an ACK would stall request/reply protocols.
 */
void
broker_nodelay(int fd)
{
	int one = 1;

	if (fd >= 0)
		(void)setsockopt(
		    fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* RekeyLimit on a leg (either side); libssh's defaults when unset. */
int
broker_rekey_options(const struct pv_config *conf, ssh_session leg)
{
	uint64_t data = conf->rekey_data;
	uint32_t secs = (uint32_t)conf->rekey_time;

	if (data != 0 &&
	    ssh_options_set(leg, SSH_OPTIONS_REKEY_DATA, &data) < 0)
		return PV_ERR_INTERNAL;
	if (secs != 0 &&
	    ssh_options_set(leg, SSH_OPTIONS_REKEY_TIME, &secs) < 0)
		return PV_ERR_INTERNAL;
	return 0;
}

int
broker_rec(struct broker_session *s, enum broker_rec_kind kind,
    uint32_t channel, const void *data, size_t len)
{
	int r;

	if (s->rec == NULL)
		return PV_ERR_INTERNAL; /* nothing passes unrecorded */
	r = s->bx->recorder.ops->event(s->rec, kind, channel, data, len);
	/* Watchers see the recorded output stream, once it is recorded. */
	if (r == 0 && s->nwatch > 0 &&
	    (kind == BROKER_REC_OUTPUT || kind == BROKER_REC_STDERR))
		broker_watch_feed(s, data, len);
	if (r != 0) {
		pv_error(
		    "session %s: recording failed: %s", s->id, pv_err_str(r));
		broker_session_end(s, "session ended: recording failed");
	}
	return r;
}

/* The carry that holds a direction's taken bytes: input, output, stderr. */
static struct pv_buf **
relay_carry(struct relay_chan *rc, enum broker_rec_kind kind)
{
	return &rc->carry[kind == BROKER_REC_INPUT ? 0
		: kind == BROKER_REC_STDERR        ? 2
						   : 1];
}

/*
 * Writes at most n bytes to the peer; what it took is counted and shown to
 * the transfer trackers.  Returns the bytes taken (0 during the peer's key
 * re-exchange or with no window), or -1 when the session is ending.
 */
static int
relay_write(struct relay_chan *rc, ssh_channel to, enum broker_rec_kind kind,
    const uint8_t *data, size_t n)
{
	struct broker_session *s = rc->s;
	uint32_t win = ssh_channel_window_size(to);
	int w;

	if (n > win)
		n = win;
	if (n == 0)
		return 0;
	if (kind == BROKER_REC_STDERR)
		w = ssh_channel_write_stderr(to, data, (uint32_t)n);
	else
		w = ssh_channel_write(to, data, (uint32_t)n);
	if (w < 0 || (size_t)w > n) {
		broker_session_end(s, "a write to a peer failed");
		return -1;
	}
	if (kind == BROKER_REC_INPUT) {
		rc->bytes_in += (uint64_t)w;
		s->bytes_in += (uint64_t)w;
	} else {
		rc->bytes_out += (uint64_t)w;
		s->bytes_out += (uint64_t)w;
	}
	/* Fails the channel on a protocol error; the bytes were taken. */
	if (w > 0 && rc->kind->passed != NULL)
		(void)rc->kind->passed(rc, kind, data, (size_t)w);
	return w;
}

/* The side to writes to sent its close: it takes nothing more. */
static int
relay_peer_closed(const struct relay_chan *rc, ssh_channel to)
{
	return (to == rc->c && rc->c_closed) || (to == rc->t && rc->t_closed);
}

/*
 * Before a direction's new bytes: the sftp refusal replies, then the bytes
 * carried from an earlier read.  1 when both are out.
 */
static int
relay_ready(struct relay_chan *rc, ssh_channel to, enum broker_rec_kind kind)
{
	struct pv_buf *carry = *relay_carry(rc, kind);
	int w;

	if (relay_peer_closed(rc, to)) {
		pv_buf_free(carry);
		*relay_carry(rc, kind) = NULL;
		return 1;
	}

	/* sftp: refusal replies go out before more of the target's bytes. */
	if (kind == BROKER_REC_OUTPUT && rc->kind->flush != NULL &&
	    rc->kind->flush(rc) != 0)
		return 0;
	if (carry == NULL || pv_buf_len(carry) == 0)
		return 1;
	w = relay_write(rc, to, kind, pv_buf_ptr(carry), pv_buf_len(carry));
	if (w <= 0)
		return 0;
	(void)pv_buf_consume(carry, (size_t)w);
	return pv_buf_len(carry) == 0;
}

/*
 * Forwards what the peer takes, recording it first.  Two kinds of caller:
 *
 * - a data callback (consumed 0): data stays in the sender's libssh buffer
 *   until taken.  *prerec counts bytes at its head that were recorded but
 *   not taken (a write that returned 0 during the peer's key re-exchange),
 *   so that no byte is recorded twice.  Returns the bytes taken.
 * - the pump's drain (consumed 1): data was read out of that buffer.  All
 *   of it is recorded and what the peer does not take now (a key
 *   re-exchange on the peer's leg, a window that shrank) is carried and
 *   written before any later byte of the direction.  Returns len.
 *
 * Never forwards a byte that was not recorded, nor loses or reorders one.
 */
int
broker_relay_forward(struct relay_chan *rc, ssh_channel to,
    enum broker_rec_kind kind, const uint8_t *data, size_t len, size_t *prerec,
    int consumed)
{
	struct broker_session *s = rc->s;
	struct pv_buf **carry;
	size_t n = len, skip;
	int ready, w = 0;

	if (s->ending || to == NULL || rc->fail_msg[0] != '\0')
		return 0;
	if (relay_peer_closed(rc, to)) {
		/* Nothing more reaches a side that closed: taken, dropped. */
		skip = *prerec < len ? *prerec : len;
		*prerec -= skip;
		return (int)len;
	}
	ready = relay_ready(rc, to, kind);
	if (s->ending)
		return 0;
	if (!consumed) {
		uint32_t win = ssh_channel_window_size(to);

		if (!ready)
			return 0;
		if (n > win)
			n = win;
		if (n == 0)
			return 0;
	}
	skip = *prerec < n ? *prerec : n;
	*prerec -= skip;
	/*
	 * sftp and scp bytes: file events, the stream with RecordFileContents;
	 * a forward's: its totals at the end
	 */
	if (n > skip &&
	    (kind == BROKER_REC_STDERR || rc->kind->records_stream) &&
	    broker_rec(s, kind, rc->id, data + skip, n - skip) != 0)
		return 0;
	if (ready && (w = relay_write(rc, to, kind, data, n)) < 0)
		return 0;
	if ((size_t)w == n)
		return (int)n;
	if (!consumed) {
		*prerec += n - (size_t)w; /* recorded; still in the buffer */
		return w;
	}
	carry = relay_carry(rc, kind);
	if (*carry == NULL &&
	    (*carry = pv_buf_new(2 * BROKER_RELAY_CHUNK)) == NULL) {
		broker_session_end(s, "out of memory");
		return 0;
	}
	if (pv_buf_put(*carry, data + w, n - (size_t)w) != 0) {
		broker_session_end(s, "internal error: relay carry");
		return 0;
	}
	return (int)n;
}

/* Engineer -> target. */
static int
c_data(ssh_session session, ssh_channel channel, void *data, uint32_t len,
    int is_stderr, void *userdata)
{
	struct relay_chan *rc = userdata;
	int n;

	if (rc->kind == &broker_relay_menu && rc->u.menu.view)
		return broker_view_input(rc, data, len);
	/* Moderated and nobody moderating: input waits, in order. */
	if (!rc->started || rc->t == NULL || rc->fail_msg[0] != '\0' ||
	    rc->busy || (rc->s->mod_required && !rc->s->mod_on)) {
		rc->stall_in = 1; /* the pump moves it, in order */
		rc->s->repump |= rc->busy;
		return 0;
	}
	rc->busy = 1;
	if (rc->kind->c_data != NULL)
		n = rc->kind->c_data(rc, data, len);
	else {
		n = broker_relay_forward(
		    rc, rc->t, BROKER_REC_INPUT, data, len, &rc->pre_in, 0);
		rc->stall_in = (uint32_t)n < len;
	}
	rc->busy = 0;
	return n;
}

/* Target -> engineer, stdout and stderr kept apart. */
static int
t_data(ssh_session session, ssh_channel channel, void *data, uint32_t len,
    int is_stderr, void *userdata)
{
	struct relay_chan *rc = userdata;
	int n;

	/*
	 * libssh may run callbacks from inside a write (a key re-exchange,
	 * a window wait): the bytes stay in its buffer for the pump, so that
	 * no byte is taken twice or out of order.
	 */
	if (rc->busy) {
		rc->s->repump = 1; /* no poll wait before the pump runs */
		if (is_stderr)
			rc->stall_err = 1;
		else
			rc->stall_out = 1;
		return 0;
	}
	rc->busy = 1;
	if (is_stderr) {
		n = broker_relay_forward(
		    rc, rc->c, BROKER_REC_STDERR, data, len, &rc->pre_err, 0);
		rc->stall_err = (uint32_t)n < len;
	} else {
		n = broker_relay_forward(
		    rc, rc->c, BROKER_REC_OUTPUT, data, len, &rc->pre_out, 0);
		rc->stall_out = (uint32_t)n < len;
	}
	rc->busy = 0;
	return n;
}

static void
c_eof(ssh_session session, ssh_channel channel, void *userdata)
{
	((struct relay_chan *)userdata)->c_eof = 1;
}

static void
c_close(ssh_session session, ssh_channel channel, void *userdata)
{
	((struct relay_chan *)userdata)->c_closed = 1;
}

static void
t_eof(ssh_session session, ssh_channel channel, void *userdata)
{
	((struct relay_chan *)userdata)->t_eof = 1;
}

static void
t_close(ssh_session session, ssh_channel channel, void *userdata)
{
	((struct relay_chan *)userdata)->t_closed = 1;
}

static void
t_exit_status(
    ssh_session session, ssh_channel channel, int status, void *userdata)
{
	struct relay_chan *rc = userdata;

	rc->have_status = 1;
	rc->exit_status = (uint32_t)status;
}

static void
t_exit_signal(ssh_session session, ssh_channel channel, const char *signal,
    int core, const char *errmsg, const char *lang, void *userdata)
{
	struct relay_chan *rc = userdata;

	rc->have_status = 2;
	(void)snprintf(rc->exit_signal, sizeof(rc->exit_signal), "%s",
	    signal != NULL ? signal : "KILL");
	rc->exit_core = core;
}

static int
wontblock(
    ssh_session session, ssh_channel channel, uint32_t bytes, void *userdata)
{
	/* The pump after this poll round moves what waited. */
	return 0;
}

static int
c_pty(ssh_session session, ssh_channel channel, const char *term, int cols,
    int rows, int px, int py, void *userdata)
{
	struct relay_chan *rc = userdata;

	if (rc->started || term == NULL || strlen(term) >= sizeof(rc->term))
		return -1;
	(void)snprintf(rc->term, sizeof(rc->term), "%s", term);
	rc->want_pty = 1;
	rc->cols = cols;
	rc->rows = rows;
	rc->px = px;
	rc->py = py;
	return 0;
}

static int
c_window_change(ssh_session session, ssh_channel channel, int cols, int rows,
    int px, int py, void *userdata)
{
	struct relay_chan *rc = userdata;
	uint8_t ev[8];

	if (!rc->want_pty)
		return -1;
	rc->cols = cols;
	rc->rows = rows;
	if (!rc->started || rc->t == NULL)
		return 0;
	ev[0] = (uint8_t)((uint32_t)cols >> 24);
	ev[1] = (uint8_t)((uint32_t)cols >> 16);
	ev[2] = (uint8_t)((uint32_t)cols >> 8);
	ev[3] = (uint8_t)cols;
	ev[4] = (uint8_t)((uint32_t)rows >> 24);
	ev[5] = (uint8_t)((uint32_t)rows >> 16);
	ev[6] = (uint8_t)((uint32_t)rows >> 8);
	ev[7] = (uint8_t)rows;
	if (broker_rec(rc->s, BROKER_REC_RESIZE, rc->id, ev, sizeof(ev)) != 0)
		return -1;
	(void)ssh_channel_change_pty_size(rc->t, cols, rows);
	return 0;
}

/* LANG, LC_* and TERM only, with plain values. */
static int
env_allowed(const char *name, const char *value)
{
	size_t i;

	if (strcmp(name, "LANG") != 0 && strcmp(name, "TERM") != 0 &&
	    strncmp(name, "LC_", 3) != 0)
		return 0;
	if (strlen(name) > 32 || strlen(value) > 128)
		return 0;
	for (i = 0; name[i] != '\0'; i++) {
		if (!((name[i] >= 'A' && name[i] <= 'Z') || name[i] == '_'))
			return 0;
	}
	for (i = 0; value[i] != '\0'; i++) {
		if ((unsigned char)value[i] < 0x20 || value[i] == 0x7f)
			return 0;
	}
	return 1;
}

static int
c_env(ssh_session session, ssh_channel channel, const char *name,
    const char *value, void *userdata)
{
	struct relay_chan *rc = userdata;
	char *n, *v;

	if (rc->started || rc->nenv >= BROKER_ENV_MAX ||
	    !env_allowed(name, value)) {
		pv_verbose("session %s: env %.32s refused", rc->s->id, name);
		return -1;
	}
	if ((n = strdup(name)) == NULL || (v = strdup(value)) == NULL) {
		free(n);
		return -1;
	}
	rc->env[rc->nenv][0] = n;
	rc->env[rc->nenv][1] = v;
	rc->nenv++;
	return 0;
}

static void
c_signal(ssh_session session, ssh_channel channel, const char *signal,
    void *userdata)
{
	struct relay_chan *rc = userdata;

	if (rc->t != NULL && rc->started && signal != NULL) {
		broker_audit(rc->s, MON_AUD_CHANNEL_SIGNAL,
		    "channel=%u signal=%s", rc->id, signal);
		(void)ssh_channel_request_send_signal(rc->t, signal);
	}
}

static void
c_agent(ssh_session session, ssh_channel channel, void *userdata)
{
	struct relay_chan *rc = userdata;

	/* Never granted: no agent channel is ever opened back. */
	pv_info("session %s: refused agent forwarding", rc->s->id);
	broker_audit(rc->s, MON_AUD_CHANNEL_REFUSED, "agent forwarding");
}

static int relay_start(
    struct relay_chan *rc, const char *command, const char *subsystem);

static int
c_subsystem(ssh_session session, ssh_channel channel, const char *subsystem,
    void *userdata)
{
	struct relay_chan *rc = userdata;

	/* sftp (and scp, which speaks sftp) when the rule allows it. */
	if (strcmp(subsystem, "sftp") == 0)
		return relay_start(rc, NULL, "sftp");
	pv_info("session %s: refused subsystem %.32s", rc->s->id, subsystem);
	broker_audit(
	    rc->s, MON_AUD_CHANNEL_REFUSED, "subsystem=%.32s", subsystem);
	return -1;
}

/* Menu mode: the broker answers itself; nothing reaches a target. */
static int
relay_menu(struct relay_chan *rc, const char *command)
{
	struct broker_session *s = rc->s;
	const struct broker_backend *b = &s->bx->backend;
	int r;

	rc->kind = &broker_relay_menu;
	if ((rc->u.menu.out = pv_buf_new(1024 * 1024)) == NULL)
		return -1;
	r = b->ops->menu(b->ctx, s->login.engineer, NULL,
	    command != NULL ? command : "help", rc->u.menu.out);
	if (r >= 0 && command == NULL)
		r = b->ops->menu(
		    b->ctx, s->login.engineer, NULL, "list", rc->u.menu.out);
	rc->u.menu.status = r < 0 ? 1 : r;
	/* a watch the monitor took: its socket comes over the link */
	if (r == 0 && command != NULL &&
	    (strncmp(command + strspn(command, " \t"), "watch", 5) == 0 ||
		strncmp(command + strspn(command, " \t"), "moderate", 8) == 0))
		broker_view_start(rc);
	pv_info("session %s: menu for %s: %.64s (status %d)", s->id,
	    s->login.engineer, command != NULL ? command : "(shell)",
	    rc->u.menu.status);
	broker_audit(s, MON_AUD_MENU, "engineer=%s command=%.200s status=%d",
	    s->login.engineer, command != NULL ? command : "(shell)",
	    rc->u.menu.status);
	return 0;
}

/* Writes what the peer's window takes; at the end, status and close. */
static int
relay_menu_pump(struct relay_chan *rc)
{
	size_t len = pv_buf_len(rc->u.menu.out), n;
	uint32_t win = ssh_channel_window_size(rc->c);
	const uint8_t *p = pv_buf_ptr(rc->u.menu.out);
	int w;

	/* Under a pty the engineer's terminal wants CR LF. */
	for (n = 0; n < len && n < win && n < 4096; n++) {
		if (p[n] == '\n' && rc->want_pty)
			break;
	}
	if (n > 0) {
		if ((w = ssh_channel_write(rc->c, p, (uint32_t)n)) < 0)
			return 1;
		(void)pv_buf_consume(rc->u.menu.out, (size_t)w);
		return 0;
	}
	if (len > 0 && rc->want_pty && win >= 2) {
		if (ssh_channel_write(rc->c, "\r\n", 2) == 2)
			(void)pv_buf_consume(rc->u.menu.out, 1);
		return 0;
	}
	if (len > 0)
		return 0;
	(void)ssh_channel_request_send_exit_status(rc->c, rc->u.menu.status);
	(void)ssh_channel_send_eof(rc->c);
	(void)ssh_channel_close(rc->c);
	return 1;
}

/*
 * The menu's pump: its output, then status and close (or the engineer's);
 * a watch or moderation the menu started runs once its output is out.
 */
static int
menu_pump(struct relay_chan *rc)
{
	if (rc->u.menu.view && pv_buf_len(rc->u.menu.out) == 0)
		rc->done = broker_view_pump(rc);
	else
		rc->done = relay_menu_pump(rc) || rc->c_closed;
	return rc->done;
}

static void
menu_end(struct relay_chan *rc)
{
	pv_buf_free(rc->u.menu.out);
	rc->u.menu.out = NULL;
}

/* Legacy scp (scp -O) runs "scp -t"/"scp -f" as a command. */
static int
is_scp(const char *command)
{
	enum scp_mode mode = SCP_NONE;
	char *path = NULL;
	int recursive = 0, r;

	if (command == NULL)
		return 0;
	r = scp_classify(command, strlen(command), &mode, &path, &recursive);
	free(path);
	return r != 0 || mode != SCP_NONE; /* malformed scp is still scp */
}

static int relay_go(
    struct relay_chan *rc, const char *command, const char *subsystem);

/*
 * Moderated, and no moderator watches: the request is accepted and kept;
 * the target's channel opens when one comes (broker_relay_moderation_tick).
 */
static int
relay_hold(struct relay_chan *rc, const char *command, const char *subsystem)
{
	struct broker_session *s = rc->s;
	char line[256];
	int n;

	if ((command != NULL && (rc->held_command = strdup(command)) == NULL) ||
	    (subsystem != NULL &&
		(rc->held_subsystem = strdup(subsystem)) == NULL)) {
		(void)snprintf(rc->fail_msg, sizeof(rc->fail_msg),
		    "provost: out of memory\r\n");
		return 0;
	}
	rc->held = 1;
	pv_info("session %s: channel %u: held: moderated by group %s, no "
		"moderator watches yet",
	    s->id, rc->id, s->decision.moderated);
	broker_audit(s, MON_AUD_CHANNEL_HELD, "channel=%u group=%s", rc->id,
	    s->decision.moderated);
	n = snprintf(line, sizeof(line),
	    "provost: this session is moderated: it starts when a moderator "
	    "(group %s) watches it\r\n",
	    s->decision.moderated);
	if (n > 0 && (size_t)n < sizeof(line))
		(void)ssh_channel_write_stderr(rc->c, line, (uint32_t)n);
	return 0;
}

void
broker_relay_moderated(struct broker_session *s, int on)
{
	int was = s->mod_on;

	s->mod_on = on != 0;
	if (!s->mod_required || was == s->mod_on)
		return;
	pv_info("session %s: %s", s->id,
	    s->mod_on ? "a moderator watches: it runs"
		      : "no moderator watches: input held");
	broker_session_say(s,
	    s->mod_on ? "\r\nprovost: a moderator watches this session: "
			"input passes\r\n"
		      : "\r\nprovost: no moderator watches this session: "
			"input is held until one does\r\n");
	s->repump = 1;
}

void
broker_relay_moderation_tick(struct broker_session *s)
{
	int i;

	if (!s->mod_on || s->ending)
		return;
	for (i = 0; i < s->nchans; i++) {
		struct relay_chan *rc = s->chans[i];

		if (!rc->held || rc->done)
			continue;
		rc->held = 0;
		(void)relay_go(rc, rc->held_command, rc->held_subsystem);
		s->repump = 1;
	}
}

/*
 * The monitor's notice for this decision (a contract in its notice
 * period), one line on the channel's stderr before the shell, command,
 * sftp or scp starts: stdout stays the target's alone (and so the file
 * transfer protocols), and the engineer's ssh prints stderr as it comes.  The monitor checked it is
 * printable text; nothing here decides whether there is one.
 */
static void
relay_notice(struct relay_chan *rc)
{
	char line[sizeof(rc->s->decision.notice) + 16];
	int n;

	if (rc->s->decision.notice[0] == '\0')
		return;
	n = snprintf(line, sizeof(line), "provost: %s%s",
	    rc->s->decision.notice, rc->want_pty ? "\r\n" : "\n");
	if (n > 0 && (size_t)n < sizeof(line))
		(void)ssh_channel_write_stderr(rc->c, line, (uint32_t)n);
}

/*
 * Decides, connects, opens: any refusal is printed to the engineer.
 * command: exec; subsystem: "sftp"; neither: a shell.
 */
static int
relay_start(struct relay_chan *rc, const char *command, const char *subsystem)
{
	struct broker_session *s = rc->s;
	char msg[sizeof(rc->fail_msg) - 32];
	unsigned int kind = subsystem != NULL ? POLICY_CH_SFTP
	    : is_scp(command)                 ? POLICY_CH_SCP
	    : command != NULL                 ? POLICY_CH_EXEC
					      : POLICY_CH_SHELL;

	msg[0] = '\0';
	if (rc->started || rc->fail_msg[0] != '\0')
		return -1;
	rc->started = 1;
	if (s->login.kind == BROKER_LOGIN_MENU && subsystem == NULL)
		return relay_menu(rc, command);
	rc->kind = kind == POLICY_CH_SFTP ? &broker_relay_sftp
	    : kind == POLICY_CH_SCP       ? &broker_relay_scp
	    : kind == POLICY_CH_EXEC      ? &broker_relay_exec
					  : &broker_relay_shell;
	if (broker_session_decide(s, rc, kind, msg, sizeof(msg)) != PV_ALLOW)
		goto fail;
	if (kind == POLICY_CH_SCP &&
	    broker_xfer_scp_check(rc, command, msg, sizeof(msg)) != PV_ALLOW)
		goto fail;
	/* sftp and scp speak on stdout only: their ssh shows stderr */
	relay_notice(rc);
	if (s->decision.moderated[0] != '\0')
		s->mod_required = 1;
	if (s->mod_required && !s->mod_on)
		return relay_hold(rc, command, subsystem);
	return relay_go(rc, command, subsystem);
fail:
	(void)snprintf(rc->fail_msg, sizeof(rc->fail_msg), "provost: %s\r\n",
	    msg[0] ? msg : "refused");
	return 0;
}

/* Records the request, connects, opens the target's channel. */
static int
relay_go(struct relay_chan *rc, const char *command, const char *subsystem)
{
	struct broker_session *s = rc->s;
	char msg[sizeof(rc->fail_msg) - 32];
	const char *kname = subsystem != NULL ? subsystem
	    : command != NULL                 ? "exec"
					      : "shell";
	int r;

	msg[0] = '\0';
	if (subsystem != NULL)
		r = broker_rec(s, BROKER_REC_SUBSYSTEM, rc->id, subsystem,
		    strlen(subsystem));
	else
		r = broker_rec(s, BROKER_REC_EXEC, rc->id,
		    command ? command : "", command ? strlen(command) : 0);
	if (r != 0)
		return 0;
	/* an unreachable target: the monitor writes that row itself */
	if (broker_target_connect(s, msg, sizeof(msg)) != 0)
		goto fail;
	broker_nodelay(ssh_get_fd(s->target));
	/*
	 * A later channel on a multiplexed connection: the target leg is
	 * non-blocking by now, and opening a channel must wait for its answer.
	 */
	if (s->target_added)
		ssh_set_blocking(s->target, 1);
	r = broker_target_open(s, rc, command, subsystem, msg, sizeof(msg));
	if (s->target_added && s->target != NULL)
		ssh_set_blocking(s->target, 0);
	if (r != 0)
		goto fail;
	if (subsystem != NULL && broker_xfer_sftp_start(rc) != 0) {
		(void)snprintf(msg, sizeof(msg), "internal error");
		goto fail;
	}
	pv_info("session %s: channel %u: %s%s started for %s as %s@%s", s->id,
	    rc->id, kname, rc->want_pty ? " with pty" : "", s->login.engineer,
	    s->account, s->tgt.name);
	broker_audit(s, MON_AUD_CHANNEL_START, "channel=%u kind=%s pty=%d",
	    rc->id, kname, rc->want_pty);
	return 0;
fail:
	(void)snprintf(rc->fail_msg, sizeof(rc->fail_msg), "provost: %s\r\n",
	    msg[0] ? msg : "refused");
	return 0;
}

static int
c_shell(ssh_session session, ssh_channel channel, void *userdata)
{
	return relay_start(userdata, NULL, NULL);
}

static int
c_exec(ssh_session session, ssh_channel channel, const char *command,
    void *userdata)
{
	return relay_start(userdata, command, NULL);
}

struct relay_chan *
broker_relay_chan_new(struct broker_session *s)
{
	struct relay_chan *rc;

	if (s->nchans >= BROKER_MAX_CHANNELS ||
	    (rc = calloc(1, sizeof(*rc))) == NULL)
		return NULL;
	rc->s = s;
	rc->kind = &broker_relay_shell; /* until its request says more */
	rc->id = s->chan_seq++;
	if ((rc->c = ssh_channel_new(s->client)) == NULL) {
		free(rc);
		return NULL;
	}
	rc->ccb = (struct ssh_channel_callbacks_struct){
		.userdata = rc,
		.channel_data_function = c_data,
		.channel_eof_function = c_eof,
		.channel_close_function = c_close,
		.channel_signal_function = c_signal,
		.channel_pty_request_function = c_pty,
		.channel_shell_request_function = c_shell,
		.channel_auth_agent_req_function = c_agent,
		.channel_pty_window_change_function = c_window_change,
		.channel_exec_request_function = c_exec,
		.channel_env_request_function = c_env,
		.channel_subsystem_request_function = c_subsystem,
		.channel_write_wontblock_function = wontblock,
	};
	ssh_callbacks_init(&rc->ccb);
	ssh_set_channel_callbacks(rc->c, &rc->ccb);
	s->chans[s->nchans++] = rc;
	return rc;
}

void
broker_relay_target_callbacks(struct relay_chan *rc)
{
	rc->tcb = (struct ssh_channel_callbacks_struct){
		.userdata = rc,
		.channel_data_function = t_data,
		.channel_eof_function = t_eof,
		.channel_close_function = t_close,
		.channel_exit_status_function = t_exit_status,
		.channel_exit_signal_function = t_exit_signal,
		.channel_write_wontblock_function = wontblock,
	};
	ssh_callbacks_init(&rc->tcb);
	ssh_set_channel_callbacks(rc->t, &rc->tcb);
	/*
	 * What the target sent while its channel was being opened (a banner,
	 * and its EOF and close, can all come in the open's own poll) waits
	 * in libssh's buffer with no callback having seen it: the pump
	 * drains it before the channel's tails.
	 */
	rc->stall_out = rc->stall_err = 1;
	rc->s->repump = 1;
}

void
broker_relay_chan_free(struct relay_chan *rc)
{
	int i;

	if (rc == NULL)
		return;
	for (i = 0; i < rc->nenv; i++) {
		free(rc->env[i][0]);
		free(rc->env[i][1]);
	}
	free(rc->held_command);
	free(rc->held_subsystem);
	for (i = 0; i < 3; i++)
		pv_buf_free(rc->carry[i]);
	broker_relay_kind_end(rc);
	free(rc);
}

/*
 * Frees the channels that ended, so that a long session (ControlMaster, a
 * forward that a browser opens a connection on per request) is not limited
 * to BROKER_MAX_CHANNELS in its life, only at once.  Outside a poll round:
 * our callbacks go first, and libssh frees a channel whose peer has not yet
 * answered our close when the answer comes.
 */
void
broker_relay_reap(struct broker_session *s)
{
	struct relay_chan *rc;
	int i = 0, j;

	while (i < s->nchans) {
		rc = s->chans[i];
		if (!rc->done || rc->busy) {
			i++;
			continue;
		}
		(void)ssh_remove_channel_callbacks(rc->c, &rc->ccb);
		ssh_channel_free(rc->c);
		/* a target channel lives only on the leg that is up */
		if (rc->t != NULL && s->target != NULL && s->target_up) {
			(void)ssh_remove_channel_callbacks(rc->t, &rc->tcb);
			ssh_channel_free(rc->t);
		}
		broker_relay_chan_free(rc);
		for (j = i + 1; j < s->nchans; j++)
			s->chans[j - 1] = s->chans[j];
		s->nchans--;
	}
}

/*
 * Moves bytes that waited in from's buffer; returns 1 when that buffer and
 * the direction's carry are empty.
 */
static int
relay_drain(struct relay_chan *rc, ssh_channel from, ssh_channel to,
    enum broker_rec_kind kind, size_t *prerec)
{
	struct broker_session *s = rc->s;
	int is_err = kind == BROKER_REC_STDERR, n, w, rounds;
	uint32_t win;

	for (rounds = 0; rounds < 16 && !s->ending; rounds++) {
		if (!relay_ready(rc, to, kind))
			return 0;
		win = ssh_channel_window_size(to);
		if (win == 0)
			return 0;
		if (win > sizeof(s->buf))
			win = sizeof(s->buf);
		/*
		 * Read no more than the window: what the peer does not take
		 * now is carried, and the carry stays small.
		 */
		n = ssh_channel_read_nonblocking(from, s->buf, win, is_err);
		if (n == SSH_EOF || n == 0)
			return 1;
		if (n < 0) {
			broker_session_end(s, "read from a peer failed");
			return 0;
		}
		w = broker_relay_forward(
		    rc, to, kind, s->buf, (size_t)n, prerec, 1);
		if (w != n)
			return 0; /* the session is ending */
	}
	return 0;
}

static void
relay_fail(struct relay_chan *rc)
{
	struct broker_session *s = rc->s;

	pv_info(
	    "session %s: channel %u refused: %s", s->id, rc->id, rc->fail_msg);
	(void)ssh_channel_write_stderr(
	    rc->c, rc->fail_msg, (uint32_t)strlen(rc->fail_msg));
	(void)ssh_channel_request_send_exit_status(rc->c, FAIL_EXIT_STATUS);
	(void)ssh_channel_send_eof(rc->c);
	(void)ssh_channel_close(rc->c);
	if (rc->t != NULL)
		(void)ssh_channel_close(rc->t);
	rc->done = 1;
	broker_relay_kind_end(rc);
}

static int relay_pump_busy(struct broker_session *s, struct relay_chan *rc);

int
broker_relay_pump(struct broker_session *s, struct relay_chan *rc)
{
	int r;

	if (rc->done)
		return 1;
	if (rc->fail_msg[0] != '\0') {
		relay_fail(rc);
		return 1;
	}
	if (rc->busy)
		return 0;
	rc->busy = 1;
	r = relay_pump_busy(s, rc);
	rc->busy = 0;
	return r;
}

static int
relay_pump_busy(struct broker_session *s, struct relay_chan *rc)
{
	char stat[48];

	if (rc->kind->pump != NULL)
		return rc->kind->pump(rc);
	if (!rc->started || rc->t == NULL) {
		if (rc->c_closed) {
			(void)ssh_channel_close(rc->c);
			rc->done = 1;
		}
		return rc->done;
	}
	/* Engineer -> target, then its EOF. */
	if (rc->stall_in && rc->kind->in_pump != NULL) {
		if (rc->kind->in_pump(rc))
			rc->stall_in = 0;
	} else if (rc->stall_in && !(s->mod_required && !s->mod_on) &&
	    relay_drain(rc, rc->c, rc->t, BROKER_REC_INPUT, &rc->pre_in))
		rc->stall_in = 0;
	if (rc->c_eof && !rc->stall_in && !rc->c_eof_sent && !rc->t_closed) {
		(void)ssh_channel_send_eof(rc->t);
		rc->c_eof_sent = 1;
	}
	/* Target -> engineer: output, errors, EOF, status, close. */
	if (rc->stall_out &&
	    relay_drain(rc, rc->t, rc->c, BROKER_REC_OUTPUT, &rc->pre_out))
		rc->stall_out = 0;
	if (rc->stall_err &&
	    relay_drain(rc, rc->t, rc->c, BROKER_REC_STDERR, &rc->pre_err))
		rc->stall_err = 0;
	if (s->ending || rc->stall_out || rc->stall_err)
		return 0;
	/*
	 * An EOF or close that came while the channel was being opened,
	 * before its callbacks: libssh saw it, nobody told us.  (is_eof is
	 * true only once its buffer is empty.)
	 */
	if (!rc->t_eof && ssh_channel_is_eof(rc->t))
		rc->t_eof = 1;
	/* (a lost leg also reads as closed: that ends the session instead) */
	if (!rc->t_closed && ssh_is_connected(s->target) &&
	    ssh_channel_is_closed(rc->t))
		rc->t_closed = rc->t_eof = 1;
	if (rc->fail_msg[0] != '\0') {
		relay_fail(rc);
		return 1;
	}
	if (rc->kind->flush != NULL && rc->kind->flush(rc) != 0)
		return 0;
	if (rc->have_status && !rc->status_sent && rc->t_closed) {
		if (rc->have_status == 1) {
			uint8_t st[4] = { (uint8_t)(rc->exit_status >> 24),
				(uint8_t)(rc->exit_status >> 16),
				(uint8_t)(rc->exit_status >> 8),
				(uint8_t)rc->exit_status };

			if (broker_rec(s, BROKER_REC_EXIT, rc->id, st, 4) != 0)
				return 0;
			(void)ssh_channel_request_send_exit_status(
			    rc->c, (int)rc->exit_status);
		} else {
			if (broker_rec(s, BROKER_REC_EXIT_SIGNAL, rc->id,
				rc->exit_signal, strlen(rc->exit_signal)) != 0)
				return 0;
			(void)ssh_channel_request_send_exit_signal(
			    rc->c, rc->exit_signal, rc->exit_core, "", "");
		}
		rc->status_sent = 1;
	}
	/*
	 * The target's EOF goes on with its close, after the exit status:
	 * an engineer's client that saw EOF first could close the channel
	 * before the status arrived (a ControlMaster client then hangs).  A
	 * forward has no status: its EOF passes at once (half-close).
	 */
	if (rc->t_eof && !rc->t_eof_sent && !rc->c_closed &&
	    (rc->t_closed || rc->kind->forward)) {
		(void)ssh_channel_send_eof(rc->c);
		rc->t_eof_sent = 1;
	}
	/*
	 * A side that closed gets its close answered, and the other side is
	 * closed once every byte the closing side sent has reached it (the
	 * target's: above, before its status; the engineer's: stall_in).
	 */
	if (rc->t_closed || (rc->c_closed && !rc->stall_in)) {
		(void)ssh_channel_close(rc->c);
		(void)ssh_channel_close(rc->t);
		if (rc->have_status == 2)
			(void)snprintf(
			    stat, sizeof(stat), "signal:%s", rc->exit_signal);
		else if (rc->have_status == 1)
			(void)snprintf(
			    stat, sizeof(stat), "%u", rc->exit_status);
		else
			(void)snprintf(stat, sizeof(stat), "none");
		pv_info("session %s: channel %u ended: status=%s, %llu bytes "
			"in, %llu out%s",
		    s->id, rc->id, stat, (unsigned long long)rc->bytes_in,
		    (unsigned long long)rc->bytes_out,
		    rc->c_closed && !rc->t_closed ? " (closed by engineer)"
						  : "");
		broker_audit(s, MON_AUD_CHANNEL_END,
		    "channel=%u in=%llu out=%llu "
		    "status=%s",
		    rc->id, (unsigned long long)rc->bytes_in,
		    (unsigned long long)rc->bytes_out, stat);
		rc->done = 1;
		broker_relay_kind_end(rc);
	}
	return rc->done;
}

void
broker_relay_kind_end(struct relay_chan *rc)
{
	if (rc->kind_ended)
		return;
	rc->kind_ended = 1;
	if (rc->kind->end != NULL)
		rc->kind->end(rc);
}

/* A shell or a command: the plain relay, the bytes recorded as they pass. */
const struct relay_kind broker_relay_shell = {
	.name = "shell",
	.records_stream = 1,
};

const struct relay_kind broker_relay_exec = {
	.name = "exec",
	.records_stream = 1,
};

/* The broker's own menu (menu logins): nothing reaches a target. */
const struct relay_kind broker_relay_menu = {
	.name = "menu",
	.records_stream = 1,
	.pump = menu_pump,
	.end = menu_end,
};
