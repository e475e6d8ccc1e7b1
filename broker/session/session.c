/*
 * session.c: one engineer connection, in its own process: key exchange,
 * authentication, the decision, and the event loop that drives the relay.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "broker/session/session.h"
#include "policy/policy.h"
#include "store/store.h"

/*
 * A session process still logging in (or with a watcher, or an
 * approver's view starting) wakes this often: LoginGraceTime, the
 * pre-opened target leg and a cut-off watcher need no finer clock.  One
 * that is up sleeps until its next clock event (session_idle_ms): with
 * thousands of idle sessions each wake-up counts (issue 17: 500 ms cost
 * 1.5% of a core at 300 sessions here).
 */
#define LOOP_IDLE_MS 1000
#define LOOP_STALLED_MS 20
#define KEEPALIVE_MS 30000

void
broker_audit(struct broker_session *s, enum mon_audit_action action,
    const char *fmt, ...)
{
	const struct mon_audit_def *d = broker_mon_audit_def((int)action);
	char detail[512];
	va_list ap;
	int n;

	if (d == NULL) { /* cannot be: the enum is the table's */
		pv_error("session %s: audit action %d has no name", s->id,
		    (int)action);
		return;
	}
	va_start(ap, fmt);
	n = vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (n < 0)
		detail[0] = '\0';
	(void)s->bx->backend.ops->audit(
	    s->bx->backend.ctx, s->id, d->name, detail);
}

void
broker_session_end(struct broker_session *s, const char *reason)
{
	if (s->ending)
		return;
	s->ending = 1;
	(void)snprintf(s->end_reason, sizeof(s->end_reason), "%s", reason);
}

static const char *
channel_name(unsigned int channel)
{
	const char *n = policy_channel_name(channel);

	return n != NULL ? n : "?";
}

/* The recording first, then the session row that names it. */
static int
session_rec_open(struct broker_session *s, struct relay_chan *rc)
{
	const struct broker_backend *b = &s->bx->backend;
	struct broker_rec_info info = {
		.session_id = s->id,
		.engineer = s->login.engineer,
		.target = s->tgt.name,
		.account = s->account,
		.client_addr = s->peer_addr,
		.term = rc->want_pty ? rc->term : NULL,
		.cols = (uint16_t)(rc->want_pty ? rc->cols : 0),
		.rows = (uint16_t)(rc->want_pty ? rc->rows : 0),
	};
	int r;

	if (s->rec != NULL)
		return 0;
	if ((r = s->bx->recorder.ops->open(s->bx->recorder.ctx, &info, &s->rec,
		 s->rec_path, sizeof(s->rec_path))) != 0) {
		pv_error("session %s: cannot open the recording: %s", s->id,
		    pv_err_str(r));
		return r;
	}
	struct broker_session_row row = {
		.id = s->id,
		.engineer = s->login.engineer,
		.target = s->tgt.name,
		.account = s->account,
		.grant_id =
		    s->decision.grant_id[0] ? s->decision.grant_id : NULL,
		.rule = s->decision.rule,
		.client_addr = s->peer_addr,
		.recording_path = s->rec_path,
	};
	if ((r = b->ops->session_open(b->ctx, &row)) != 0)
		return r;
	s->row_open = 1;
	pv_info("session %s: recording to %s", s->id, s->rec_path);
	return 0;
}

/*
 * The target and the account the login names.  audit: a refusal is a
 * decision (the pre-open resolves quietly; the decision asks again).
 */
static int
session_resolve(struct broker_session *s, char *msg, size_t msglen, int audit)
{
	const struct broker_backend *b = &s->bx->backend;

	if (s->tgt.name[0] != '\0')
		return PV_ALLOW;
	if (b->ops->target_get(
		b->ctx, s->login.engineer, s->login.target, &s->tgt) != 0) {
		/* Say nothing of targets the engineer may not see. */
		(void)snprintf(
		    msg, msglen, "access to %s denied", s->login.target);
		if (audit)
			broker_audit(s, MON_AUD_DECISION,
			    "deny target=%s reason=no such target, or "
			    "none the engineer may see",
			    s->login.target);
		memset(&s->tgt, 0, sizeof(s->tgt));
		return PV_DENY;
	}
	if (s->login.kind == BROKER_LOGIN_ACCOUNT)
		(void)snprintf(
		    s->account, sizeof(s->account), "%s", s->login.account);
	else if (s->tgt.naccounts == 1)
		(void)snprintf(
		    s->account, sizeof(s->account), "%s", s->tgt.accounts[0]);
	else {
		(void)snprintf(msg, msglen,
		    "name the account: log in as %s+ACCOUNT@%s",
		    s->login.engineer, s->tgt.name);
		memset(&s->tgt, 0, sizeof(s->tgt));
		return PV_DENY;
	}
	return PV_ALLOW;
}

/*
 * Once the engineer's key has verified and the login names a target, the
 * target leg's connect and key exchange run while the code is typed.
 */
static void
session_preconnect(struct broker_session *s)
{
	char msg[256];

	if (s->pre_tried || !s->key_ok || s->ending ||
	    s->login.kind == BROKER_LOGIN_MENU || s->target != NULL)
		return;
	s->pre_tried = 1;
	if (session_resolve(s, msg, sizeof(msg), 0) == PV_ALLOW)
		(void)broker_target_preconnect(s);
}

static int session_decide(struct broker_session *s, struct relay_chan *rc,
    unsigned int channel, char *msg, size_t msglen);

int
broker_session_decide(struct broker_session *s, struct relay_chan *rc,
    unsigned int channel, char *msg, size_t msglen)
{
	int r = session_decide(s, rc, channel, msg, msglen);

	/* A refusal closes a pre-opened leg that never authenticated. */
	if (r != PV_ALLOW && s->target != NULL && !s->target_up) {
		pv_info("session %s: pre-opened leg to %s closed "
			"unauthenticated: the decision refused",
		    s->id, s->tgt.name[0] ? s->tgt.name : s->login.target);
		broker_target_drop(s);
	}
	return r;
}

static int
session_decide(struct broker_session *s, struct relay_chan *rc,
    unsigned int channel, char *msg, size_t msglen)
{
	const struct broker_backend *b = &s->bx->backend;
	int r;

	if (s->login.kind == BROKER_LOGIN_MENU) {
		(void)snprintf(msg, msglen,
		    "a menu login opens nothing on a target; log in as "
		    "%s+ACCOUNT@TARGET",
		    s->login.engineer);
		return PV_DENY;
	}
	if (session_resolve(s, msg, msglen, 1) != PV_ALLOW)
		return PV_DENY;
	struct broker_decide_req req = {
		.session_id = s->id,
		.engineer = s->login.engineer,
		.target = &s->tgt,
		.account = s->account,
		.channel = channel,
		.now = (int64_t)time(NULL),
		.client_addr = s->peer,
		.forward_host = rc->kind->forward ? rc->u.fwd.dest : NULL,
		.forward_port = rc->kind->forward ? rc->u.fwd.port : 0,
	};
	r = b->ops->decide(b->ctx, &req, &s->decision);
	pv_info("session %s: decision for %s as %s@%s (%s): %s, rule %s: %s",
	    s->id, s->login.engineer, s->account, s->tgt.name,
	    channel_name(channel), r == PV_ALLOW ? "allow" : "deny",
	    s->decision.rule[0] ? s->decision.rule : "(none)",
	    s->decision.reason);
	broker_audit(s, MON_AUD_DECISION,
	    "%s engineer=%s target=%s account=%s "
	    "channel=%s rule=%s grant=%s reason=%s",
	    r == PV_ALLOW ? "allow" : "deny", s->login.engineer, s->tgt.name,
	    s->account, channel_name(channel), s->decision.rule,
	    s->decision.grant_id, s->decision.reason);
	if (r != PV_ALLOW) {
		(void)snprintf(msg, msglen, "access denied: %s",
		    s->decision.reason[0] ? s->decision.reason
					  : "no rule allows it");
		return PV_DENY;
	}
	if (!(s->decision.channels & channel)) {
		(void)snprintf(msg, msglen,
		    "access denied: rule %s does not "
		    "allow %s",
		    s->decision.rule, channel_name(channel));
		return PV_DENY;
	}
	if (rc->want_pty && !s->decision.permit_pty) {
		(void)snprintf(msg, msglen,
		    "access denied: rule %s allows no "
		    "terminal",
		    s->decision.rule);
		return PV_DENY;
	}
	if ((r = session_rec_open(s, rc)) != 0) {
		(void)snprintf(msg, msglen, "%s",
		    r == PV_ERR_LIMIT
			? "session refused: the recording disk is full; "
			  "try again later"
			: "session refused: cannot record it");
		return PV_DENY;
	}
	if (s->decision.grant_ends != 0 &&
	    (s->grant_ends == 0 || s->decision.grant_ends < s->grant_ends))
		s->grant_ends = s->decision.grant_ends;
	return PV_ALLOW;
}

static ssh_channel
session_open_channel(ssh_session session, void *userdata)
{
	struct broker_session *s = userdata;
	struct relay_chan *rc;

	if (!s->authenticated || s->ending)
		return NULL;
	if ((rc = broker_relay_chan_new(s)) == NULL) {
		pv_info("session %s: channel refused (limit %d)", s->id,
		    BROKER_MAX_CHANNELS);
		return NULL;
	}
	return rc->c;
}

/* Tells every live channel why it ends; small, so windows do not matter. */
static void
session_notify_end(struct broker_session *s)
{
	uint64_t deadline = pv_mono_ms() + 3000;
	char line[256];
	int i, n;

	n = snprintf(line, sizeof(line), "provost: %s\r\n", s->end_reason);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	for (i = 0; i < s->nchans; i++) {
		struct relay_chan *rc = s->chans[i];

		if (rc->done || !ssh_channel_is_open(rc->c))
			continue;
		/*
		 * The engineer's window may be full of output: wait a little
		 * for room (nothing more is forwarded once ending is set).
		 */
		while (ssh_channel_window_size(rc->c) < (uint32_t)n &&
		    pv_mono_ms() < deadline && ssh_is_connected(s->client) &&
		    s->event != NULL)
			(void)broker_session_poll(s, 100);
		if (ssh_channel_write_stderr(rc->c, line, (uint32_t)n) != n)
			pv_verbose("session %s: channel %u: the end notice did "
				   "not fit (window %u)",
			    s->id, rc->id, ssh_channel_window_size(rc->c));
		(void)ssh_channel_request_send_exit_status(rc->c, 255);
		(void)ssh_channel_send_eof(rc->c);
		(void)ssh_channel_close(rc->c);
	}
}

/* A line on every live channel's stderr (small: windows do not matter). */
void
broker_session_say(struct broker_session *s, const char *line)
{
	int i;

	for (i = 0; i < s->nchans; i++) {
		struct relay_chan *rc = s->chans[i];

		if (!rc->done && rc->started && ssh_channel_is_open(rc->c))
			(void)ssh_channel_write_stderr(
			    rc->c, line, (uint32_t)strlen(line));
	}
}

/* Warns 5 and 1 minutes before the grant ends, then ends the session. */
static void
session_grant_check(struct broker_session *s)
{
	int64_t left;

	if (s->grant_ends == 0)
		return;
	left = s->grant_ends - (int64_t)time(NULL);
	if (left <= 0) {
		broker_audit(s, MON_AUD_SESSION_GRANT_EXPIRED, "ends=%lld",
		    (long long)s->grant_ends);
		broker_session_end(s, "your grant has expired");
	} else if (left <= 60 && s->grant_warned < 2) {
		broker_session_say(
		    s, "\r\nprovost: your grant ends in 1 minute\r\n");
		s->grant_warned = 2;
	} else if (left <= 300 && s->grant_warned < 1) {
		broker_session_say(
		    s, "\r\nprovost: your grant ends in 5 minutes\r\n");
		s->grant_warned = 1;
	}
}

/* a wait of ms, but no longer than cap (ms < 0: none) */
static int
session_sooner(int cap, int64_t ms)
{
	if (ms < 0 || ms >= cap)
		return cap;
	return (int)ms;
}

/*
 * How long a session process may wait for an event: until the next
 * thing due on a clock (the keepalives, the grant's warnings and end,
 * the byte counts for the control side), and the short tick while it is
 * still logging in or has a watcher or a view starting.  Everything else
 * comes as an event: the engineer's and the target's packets, the
 * monitor's orders on the link (a kill, a revocation, a moderator).
 */
static int
session_idle_ms(struct broker_session *s, uint64_t now, uint64_t keepalive)
{
	int64_t left;
	int i, ms;

	if (!s->authenticated || s->deadline_ms != 0 || s->target_connecting ||
	    (s->target != NULL && !s->target_added) || s->nwatch > 0 ||
	    s->view != NULL)
		return LOOP_IDLE_MS;
	for (i = 0; i < s->nchans; i++)
		if (s->chans[i]->kind == &broker_relay_menu &&
		    s->chans[i]->u.menu.view && !s->chans[i]->done)
			return LOOP_IDLE_MS;
	ms = session_sooner(KEEPALIVE_MS,
	    now - keepalive > KEEPALIVE_MS
		? 0
		: (int64_t)(keepalive + KEEPALIVE_MS - now) + 1);
	ms = session_sooner(ms, broker_link_due_ms(s, now));
	if (s->grant_ends != 0) {
		/* the next warning, then the end; whole seconds, never early */
		left = s->grant_ends - (int64_t)time(NULL) -
		    (s->grant_warned < 1          ? 300
			    : s->grant_warned < 2 ? 60
						  : 0);
		ms = session_sooner(ms, left <= 0 ? 0 : left * 1000);
	}
	return ms;
}

static void
session_loop(struct broker_session *s)
{
	uint64_t now, last_keepalive = pv_mono_ms();
	int i, stalled, timeout;

	while (!s->ending) {
		stalled = 0;
		for (i = 0; i < s->nchans; i++) {
			struct relay_chan *rc = s->chans[i];

			stalled |= !rc->done &&
			    (rc->stall_in || rc->stall_out || rc->stall_err);
		}
		timeout = s->repump ? 0
		    : stalled
		    ? LOOP_STALLED_MS
		    : session_idle_ms(s, pv_mono_ms(), last_keepalive);
		s->repump = 0;
		if (s->rec != NULL) {
			int next = timeout;

			if (s->bx->recorder.ops->tick(s->rec, &next) != 0) {
				broker_session_end(
				    s, "session ended: recording failed");
				break;
			}
			if (next >= 0 && next < timeout)
				timeout = next;
		}
		if (broker_session_poll(s, timeout) == SSH_ERROR &&
		    !ssh_is_connected(s->client)) {
			broker_session_end(s, "the engineer disconnected");
			break;
		}
		session_preconnect(s);
		broker_target_preconnect_step(s);
		if (s->target != NULL && !s->target_added) {
			ssh_set_blocking(s->target, 0);
			if (ssh_event_add_session(s->event, s->target) ==
			    SSH_OK)
				s->target_added = 1;
			else if (!s->target_up)
				broker_target_drop(
				    s); /* the decision retries */
			else {
				broker_session_end(s, "internal error");
				break;
			}
		}
		for (i = 0; i < s->nchans; i++)
			(void)broker_relay_pump(s, s->chans[i]);
		broker_relay_reap(s);
		broker_privsep_tick(s);
		now = pv_mono_ms();
		if (s->deadline_ms != 0 && now > s->deadline_ms)
			broker_session_end(s, "login grace time exceeded");
		session_grant_check(s);
		broker_link_tick(s);
		broker_watch_tick(s);
		broker_relay_moderation_tick(s);
		if (!ssh_is_connected(s->client))
			broker_session_end(s, "the engineer disconnected");
		if (s->target_up && !ssh_is_connected(s->target))
			broker_session_end(s,
			    "the connection to the target "
			    "was lost");
		if (now - last_keepalive > KEEPALIVE_MS) {
			last_keepalive = now;
			if (s->authenticated)
				(void)ssh_send_keepalive(s->client);
			if (s->target_up && s->target_added)
				(void)ssh_send_keepalive(s->target);
		}
	}
}

int
broker_session_poll(struct broker_session *s, int timeout)
{
	int r;

	s->polling++;
	r = ssh_event_dopoll(s->event, timeout);
	if (--s->polling == 0)
		broker_target_reap(s);
	return r;
}

static void
session_finish(struct broker_session *s)
{
	char hex[65] = "";
	uint64_t size = 0;
	int i, aborted;

	aborted = strcmp(s->end_reason, "the engineer disconnected") != 0;
	if (s->authenticated && ssh_is_connected(s->client)) {
		session_notify_end(s);
		/*
		 * Let the client read the notice and leave first: closing
		 * with its data unread would send a reset, and a reset can
		 * discard what it had not read yet.
		 */
		uint64_t until = pv_mono_ms() + 3000;

		(void)ssh_blocking_flush(s->client, 3000);
		while (ssh_is_connected(s->client) && pv_mono_ms() < until &&
		    s->event != NULL)
			(void)broker_session_poll(s, 100);
	}
	/* Transfers still open are summarised while the recording is. */
	for (i = 0; i < s->nchans; i++) {
		broker_relay_kind_end(s->chans[i]);
	}
	if (s->rec != NULL) {
		if (s->bx->recorder.ops->close(
			s->rec, aborted, hex, sizeof(hex), &size) != 0) {
			pv_error(
			    "session %s: sealing the recording failed", s->id);
			aborted = 1;
		}
		s->rec = NULL;
		/* the monitor hashes the file and records it (not hex) */
		pv_info("session %s: recording %s sealed: %llu bytes", s->id,
		    s->rec_path, (unsigned long long)size);
	}
	if (s->row_open) {
		struct broker_session_end end = {
			.bytes_in = s->bytes_in,
			.bytes_out = s->bytes_out,
			.recording_sha256 = hex,
			.recording_size = size,
			.reason = s->end_reason,
			.aborted = aborted,
		};

		(void)s->bx->backend.ops->session_close(
		    s->bx->backend.ctx, s->id, &end);
	}
	pv_info("session %s: end: %s; %llu bytes in, %llu out", s->id,
	    s->end_reason, (unsigned long long)s->bytes_in,
	    (unsigned long long)s->bytes_out);
	if (s->authenticated)
		broker_audit(s, MON_AUD_SESSION_END,
		    "reason=%s in=%llu out=%llu", s->end_reason,
		    (unsigned long long)s->bytes_in,
		    (unsigned long long)s->bytes_out);
	broker_target_drop(s);
	if (s->polling == 0)
		broker_target_reap(s);
	for (i = 0; i < s->nchans; i++)
		broker_relay_chan_free(s->chans[i]);
	s->nchans = 0;
}

int
broker_session_run(
    struct broker_ctx *bx, int fd, const char *peer, const char *addr)
{
	struct broker_session *s;
	long timeout;
	int r = PV_ERR_INTERNAL;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		close(fd);
		return PV_ERR_ALLOC;
	}
	s->bx = bx;
	(void)snprintf(s->peer, sizeof(s->peer), "%s", peer);
	(void)snprintf(s->peer_addr, sizeof(s->peer_addr), "%s", addr);
	if (bx->session_id[0] != '\0') /* the monitor's id for it */
		memcpy(s->id, bx->session_id, sizeof(s->id));
	else if ((r = pv_uuid_new(s->id)) != 0) {
		close(fd);
		goto out;
	}
	if ((s->client = ssh_new()) == NULL) {
		close(fd);
		goto out;
	}
	pv_info("session %s: connection from %s", s->id, s->peer);
	timeout = bx->conf->login_grace ? (long)bx->conf->login_grace : 600;
	(void)ssh_options_set(s->client, SSH_OPTIONS_TIMEOUT, &timeout);
	if (bx->conf->login_grace)
		s->deadline_ms = pv_mono_ms() + bx->conf->login_grace * 1000;
	if (ssh_bind_accept_fd(bx->bind, s->client, fd) != SSH_OK) {
		pv_info("session %s: accept failed: %s", s->id,
		    ssh_get_error(bx->bind));
		close(fd);
		goto out;
	}
	if (broker_rekey_options(bx->conf, s->client) != 0) {
		pv_error("session %s: RekeyLimit: %s", s->id,
		    ssh_get_error(s->client));
		goto out;
	}
	s->scb = (struct ssh_server_callbacks_struct){
		.userdata = s,
		.channel_open_request_session_function = session_open_channel,
	};
	broker_auth_setup(s);
	ssh_callbacks_init(&s->scb);
	ssh_set_server_callbacks(s->client, &s->scb);
	if (ssh_handle_key_exchange(s->client) != SSH_OK) {
		pv_info("session %s: key exchange with %s failed: %s", s->id,
		    s->peer, ssh_get_error(s->client));
		goto out;
	}
	broker_nodelay(fd);
	ssh_set_blocking(s->client, 0);
	if ((s->event = ssh_event_new()) == NULL ||
	    ssh_event_add_session(s->event, s->client) != SSH_OK)
		goto out;
	if (broker_link_start(s) != 0)
		goto out;
	session_loop(s);
	r = 0;
out:
	if (!s->ending)
		broker_session_end(s, "setup failed");
	session_finish(s);
	broker_watch_stop(s, s->end_reason);
	broker_view_stop(s);
	broker_link_stop(s);
	if (s->event != NULL) {
		if (s->client != NULL)
			ssh_event_remove_session(s->event, s->client);
		ssh_event_free(s->event);
	}
	if (s->client != NULL) {
		ssh_disconnect(s->client);
		ssh_free(s->client);
	}
	free(s->keyblob);
	free(s);
	return r;
}
