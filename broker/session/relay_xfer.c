/*
 * relay_xfer.c: the channel kinds that record events, not a stream: the
 * sftp subsystem and legacy scp (the trackers' verdicts, refusal replies,
 * file events, fail closed), and TCP forwards (their totals).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/session/session.h"
#include "policy/policy.h"

/* One whole request held undecided, plus a relay chunk behind it. */
#define XFER_INQ_MAX (SFTP_HOLD_MAX + BROKER_RELAY_CHUNK)

/* A protocol error (or a tracker failure) ends this channel only. */
static void
xfer_fail(struct relay_chan *rc, const char *what, int err)
{
	if (rc->fail_msg[0] != '\0')
		return;
	pv_info("session %s: channel %u: %s: %s; channel closed", rc->s->id,
	    rc->id, what, pv_err_str(err));
	broker_audit(rc->s, MON_AUD_TRANSFER_ERROR,
	    "channel=%u kind=%s error=%s", rc->id, rc->kind->name,
	    pv_err_str(err));
	(void)snprintf(rc->fail_msg, sizeof(rc->fail_msg),
	    "provost: %s protocol error; channel closed\r\n", rc->kind->name);
}

static int
xfer_event(void *ctx, const struct sftp_event *ev)
{
	struct relay_chan *rc = ctx;
	struct broker_session *s = rc->s;
	int r;

	rc->u.xfer.files++;
	if (ev->refused) {
		rc->u.xfer.refused++;
		broker_audit(s, MON_AUD_TRANSFER_REFUSED,
		    "channel=%u op=%s direction=%s path=%.200s message=%s",
		    rc->id, sftp_op_name(ev->op), sftp_dir_name(ev->direction),
		    ev->path, ev->message);
	} else if (ev->op == SFTP_OP_READ || ev->op == SFTP_OP_WRITE) {
		broker_audit(s, MON_AUD_TRANSFER,
		    "channel=%u op=%s direction=%s path=%.200s bytes=%llu "
		    "sha256=%s status=%u",
		    rc->id, sftp_op_name(ev->op), sftp_dir_name(ev->direction),
		    ev->path, (unsigned long long)ev->bytes,
		    ev->sha256[0] ? ev->sha256 : "-", ev->status);
	}
	if (s->rec == NULL)
		return PV_ERR_INTERNAL;
	if ((r = s->bx->recorder.ops->file(s->rec, rc->id, ev)) != 0) {
		pv_error(
		    "session %s: recording failed: %s", s->id, pv_err_str(r));
		broker_session_end(s, "session ended: recording failed");
	}
	return r;
}

/* RecordFileContents yes: each piece of file data as it passes. */
static int
xfer_content(void *ctx, uint64_t file_id, enum sftp_dir dir, uint64_t offset,
    const uint8_t *data, size_t len)
{
	struct relay_chan *rc = ctx;
	struct broker_session *s = rc->s;
	int r;

	if (s->rec == NULL)
		return PV_ERR_INTERNAL;
	if ((r = s->bx->recorder.ops->content(
		 s->rec, rc->id, file_id, dir, offset, data, len)) != 0) {
		pv_error(
		    "session %s: recording failed: %s", s->id, pv_err_str(r));
		broker_session_end(s, "session ended: recording failed");
	}
	return r;
}

/*
 * File content is recorded as content events (provost-replay extract),
 * not as the channel's raw stream.
 */
static struct sftp_config
xfer_config(struct relay_chan *rc)
{
	return (struct sftp_config){
		.allow = rc->s->decision.transfer &
		    (SFTP_ALLOW_UPLOAD | SFTP_ALLOW_DOWNLOAD),
		.record_contents = rc->s->decision.record_file_contents != 0,
		.cb = { .event = xfer_event,
		    .content = xfer_content,
		    .ctx = rc },
	};
}

int
broker_xfer_sftp_start(struct relay_chan *rc)
{
	struct sftp_config cfg = xfer_config(rc);
	int r;

	if ((rc->u.xfer.inq = pv_buf_new(XFER_INQ_MAX)) == NULL)
		return PV_ERR_ALLOC;
	if ((r = sftp_tracker_new(&rc->u.xfer.sftp, &cfg)) != 0)
		return r;
	return 0;
}

int
broker_xfer_scp_check(
    struct relay_chan *rc, const char *command, char *msg, size_t msglen)
{
	struct sftp_config cfg = xfer_config(rc);
	enum scp_mode mode = SCP_NONE;
	char *path = NULL;
	int recursive = 0, r;

	r = scp_classify(command, strlen(command), &mode, &path, &recursive);
	if (r != 0 || mode == SCP_NONE) {
		(void)snprintf(msg, msglen, "malformed scp command refused");
		broker_audit(rc->s, MON_AUD_TRANSFER_REFUSED,
		    "channel=%u op=scp reason=malformed command=%.200s", rc->id,
		    command);
		free(path);
		return PV_DENY;
	}
	if ((mode == SCP_UPLOAD && !(cfg.allow & SFTP_ALLOW_UPLOAD)) ||
	    (mode == SCP_DOWNLOAD && !(cfg.allow & SFTP_ALLOW_DOWNLOAD))) {
		(void)snprintf(msg, msglen, "%s",
		    (mode == SCP_UPLOAD ? SFTP_MSG_UPLOAD_DENIED
					: SFTP_MSG_DOWNLOAD_DENIED) +
			strlen("provost: "));
		broker_audit(rc->s, MON_AUD_TRANSFER_REFUSED,
		    "channel=%u op=scp direction=%s path=%.200s rule=%s",
		    rc->id, mode == SCP_UPLOAD ? "upload" : "download", path,
		    rc->s->decision.rule);
		free(path);
		return PV_DENY;
	}
	r = scp_tracker_new(&rc->u.xfer.scp, mode, path, &cfg);
	free(path);
	if (r != 0) {
		(void)snprintf(msg, msglen, "internal error");
		return PV_DENY;
	}
	return PV_ALLOW;
}

/*
 * Writes the tracker's refusal replies to the engineer.  1 while some
 * remain (no window), 0 when none; -1 when the channel failed.
 */
static int
sftp_flush(struct relay_chan *rc)
{
	const uint8_t *p;
	size_t n;
	uint32_t win;
	int r, w;

	if (rc->u.xfer.sftp == NULL)
		return 0;
	for (;;) {
		if ((r = sftp_tracker_reply(rc->u.xfer.sftp, &p, &n)) != 0) {
			xfer_fail(rc, "sftp reply", r);
			return -1;
		}
		if (n == 0)
			return 0;
		win = ssh_channel_window_size(rc->c);
		if (win == 0)
			return 1;
		if (n > win)
			n = win;
		w = ssh_channel_write(rc->c, p, (uint32_t)n);
		if (w < 0 || (w > 0 && (size_t)w != n)) {
			broker_session_end(rc->s, "a write to a peer failed");
			return -1;
		}
		if (w == 0)
			return 1;
		sftp_tracker_reply_consumed(rc->u.xfer.sftp, n);
	}
}

/*
 * After relay_forward wrote n bytes one way: the tracker sees them (the
 * target's answers; the engineer's requests were decided before).
 */
static int
sftp_passed(struct relay_chan *rc, enum broker_rec_kind kind,
    const uint8_t *data, size_t n)
{
	int r;

	if (rc->u.xfer.sftp == NULL || kind != BROKER_REC_OUTPUT)
		return 0;
	if ((r = sftp_tracker_server_data(rc->u.xfer.sftp, data, n)) != 0) {
		xfer_fail(rc, "sftp", r);
		return -1;
	}
	return sftp_flush(rc) < 0 ? -1 : 0;
}

/* scp: the tracker sees both ways. */
static int
scp_passed(struct relay_chan *rc, enum broker_rec_kind kind,
    const uint8_t *data, size_t n)
{
	int r = 0;

	if (rc->u.xfer.scp == NULL)
		return 0;
	if (kind == BROKER_REC_OUTPUT)
		r = scp_tracker_server_data(rc->u.xfer.scp, data, n);
	else if (kind == BROKER_REC_INPUT)
		r = scp_tracker_client_data(rc->u.xfer.scp, data, n);
	if (r != 0) {
		xfer_fail(rc, "scp", r);
		return -1;
	}
	return 0;
}

/* Decides and forwards what inq holds, as far as windows allow. */
static void
xfer_process(struct relay_chan *rc)
{
	struct sftp_verdict v;
	const uint8_t *p;
	size_t len, n;
	int r, w;

	rc->u.xfer.in_blocked = 0;
	while (rc->fail_msg[0] == '\0' && !rc->s->ending) {
		p = pv_buf_ptr(rc->u.xfer.inq);
		len = pv_buf_len(rc->u.xfer.inq);
		if (len == 0)
			return;
		if (rc->u.xfer.pass_left > 0) {
			n = rc->u.xfer.pass_left < len ? rc->u.xfer.pass_left
						       : len;
			w = broker_relay_forward(
			    rc, rc->t, BROKER_REC_INPUT, p, n, &rc->pre_in, 0);
			if (w > 0) {
				(void)pv_buf_consume(rc->u.xfer.inq, (size_t)w);
				rc->u.xfer.pass_left -= (size_t)w;
			}
			if ((size_t)w < n) {
				rc->u.xfer.in_blocked = 1;
				return;
			}
			continue;
		}
		if (rc->u.xfer.drop_left > 0) {
			n = rc->u.xfer.drop_left < len ? rc->u.xfer.drop_left
						       : len;
			(void)pv_buf_consume(rc->u.xfer.inq, n);
			rc->u.xfer.drop_left -= n;
			continue;
		}
		if ((r = sftp_tracker_client_data(
			 rc->u.xfer.sftp, p, len, &v)) != 0) {
			xfer_fail(rc, "sftp request", r);
			return;
		}
		switch (v.action) {
		case SFTP_PASS:
		case SFTP_REFUSE:
			if (v.len == 0 || v.len > len) {
				xfer_fail(rc, "sftp verdict", PV_ERR_INTERNAL);
				return;
			}
			if (v.action == SFTP_PASS)
				rc->u.xfer.pass_left = v.len;
			else
				rc->u.xfer.drop_left = v.len;
			if (v.action == SFTP_REFUSE && sftp_flush(rc) < 0)
				return;
			break;
		case SFTP_WAIT:
			if ((r = sftp_flush(rc)) != 0) {
				rc->u.xfer.in_blocked = r > 0;
				return;
			}
			break;
		case SFTP_NEED:
			return;
		default:
			xfer_fail(rc, "sftp verdict", PV_ERR_INTERNAL);
			return;
		}
	}
}

/* Engineer -> target on an sftp channel: takes what inq has room for. */
static int
sftp_c_data(struct relay_chan *rc, const uint8_t *data, size_t len)
{
	size_t room = XFER_INQ_MAX - pv_buf_len(rc->u.xfer.inq);
	size_t take = len < room ? len : room;

	if (take > 0 && pv_buf_put(rc->u.xfer.inq, data, take) != 0) {
		xfer_fail(rc, "sftp buffer", PV_ERR_LIMIT);
		return 0;
	}
	xfer_process(rc);
	rc->stall_in = take < len || rc->u.xfer.in_blocked;
	return (int)take;
}

/* The pump: inq first, then what waits in libssh's buffer; 1 if idle. */
static int
sftp_in_pump(struct relay_chan *rc)
{
	struct broker_session *s = rc->s;
	size_t room;
	int n, rounds;

	xfer_process(rc);
	for (rounds = 0; rounds < 16; rounds++) {
		if (rc->u.xfer.in_blocked || rc->fail_msg[0] != '\0' ||
		    s->ending)
			return 0;
		room = XFER_INQ_MAX - pv_buf_len(rc->u.xfer.inq);
		if (room > sizeof(s->buf))
			room = sizeof(s->buf);
		if (room == 0)
			return 0;
		n = ssh_channel_read_nonblocking(
		    rc->c, s->buf, (uint32_t)room, 0);
		if (n == SSH_EOF || n == 0)
			return 1;
		if (n < 0) {
			broker_session_end(s, "read from a peer failed");
			return 0;
		}
		if (pv_buf_put(rc->u.xfer.inq, s->buf, (size_t)n) != 0) {
			xfer_fail(rc, "sftp buffer", PV_ERR_LIMIT);
			return 0;
		}
		xfer_process(rc);
	}
	return 0;
}

/* At the channel's end: summaries of what was still open; then free. */
static void
xfer_summary(struct relay_chan *rc, int r)
{
	if (r != 0)
		pv_info("session %s: channel %u: transfer end: %s", rc->s->id,
		    rc->id, pv_err_str(r));
	pv_info("session %s: channel %u: %llu transfer events, %llu "
		"refused",
	    rc->s->id, rc->id, (unsigned long long)rc->u.xfer.files,
	    (unsigned long long)rc->u.xfer.refused);
}

static void
sftp_end(struct relay_chan *rc)
{
	if (rc->u.xfer.sftp != NULL)
		xfer_summary(rc,
		    rc->s->rec != NULL ? sftp_tracker_finish(rc->u.xfer.sftp)
				       : 0);
	sftp_tracker_free(rc->u.xfer.sftp);
	rc->u.xfer.sftp = NULL;
	pv_buf_free(rc->u.xfer.inq);
	rc->u.xfer.inq = NULL;
}

static void
scp_end(struct relay_chan *rc)
{
	if (rc->u.xfer.scp != NULL)
		xfer_summary(rc,
		    rc->s->rec != NULL ? scp_tracker_finish(rc->u.xfer.scp)
				       : 0);
	scp_tracker_free(rc->u.xfer.scp);
	rc->u.xfer.scp = NULL;
}

int
broker_xfer_forward_open(struct broker_session *s, ssh_message msg)
{
	const char *host = ssh_message_channel_request_open_destination(msg);
	int port = ssh_message_channel_request_open_destination_port(msg);
	struct relay_chan *rc;
	char why[256];
	int r;

	why[0] = '\0';
	if (!s->authenticated || s->ending || host == NULL || port <= 0 ||
	    port > 65535 || strlen(host) >= sizeof(rc->u.fwd.dest))
		return 1;
	if ((rc = broker_relay_chan_new(s)) == NULL) {
		pv_info("session %s: forward refused (channel limit)", s->id);
		return 1;
	}
	rc->kind = &broker_relay_direct;
	rc->started = 1;
	(void)snprintf(rc->u.fwd.dest, sizeof(rc->u.fwd.dest), "%s", host);
	rc->u.fwd.port = (unsigned int)port;
	if (broker_session_decide(s, rc, POLICY_CH_FORWARD, why, sizeof(why)) !=
	    PV_ALLOW)
		goto refuse;
	if (broker_target_connect(s, why, sizeof(why)) != 0)
		goto refuse;
	broker_nodelay(ssh_get_fd(s->target));
	if ((rc->t = ssh_channel_new(s->target)) == NULL) {
		(void)snprintf(why, sizeof(why), "internal error");
		goto refuse;
	}
	ssh_set_blocking(s->target, 1);
	r = ssh_channel_open_forward(rc->t, host, port, "127.0.0.1", 0);
	if (s->target_added)
		ssh_set_blocking(s->target, 0);
	if (r != SSH_OK) {
		(void)snprintf(why, sizeof(why), "target %s could not open it",
		    s->tgt.name);
		goto refuse;
	}
	if (ssh_message_channel_request_open_reply_accept_channel(msg, rc->c) !=
	    SSH_OK) {
		(void)ssh_channel_close(rc->t);
		rc->done = 1;
		return 0;
	}
	broker_relay_target_callbacks(rc);
	pv_info("session %s: channel %u: forward to %s:%d for %s via %s", s->id,
	    rc->id, host, port, s->login.engineer, s->tgt.name);
	broker_audit(s, MON_AUD_FORWARD_START, "channel=%u destination=%s:%d",
	    rc->id, host, port);
	return 0;
refuse:
	pv_info(
	    "session %s: forward to %s:%d refused: %s", s->id, host, port, why);
	broker_audit(s, MON_AUD_FORWARD_REFUSED, "destination=%s:%d reason=%s",
	    host, port, why);
	if (rc->t != NULL) {
		(void)ssh_channel_close(rc->t);
		ssh_channel_free(rc->t);
		rc->t = NULL;
	}
	rc->done = 1;
	return 1;
}

/* At a forward's end (-L or -R): bytes each way as file events. */
static void
forward_end(struct relay_chan *rc)
{
	struct broker_session *s = rc->s;
	int remote = rc->kind == &broker_relay_forwarded;
	char dest[300], src[300] = "";
	int i, r = 0;

	if (s->rec == NULL || rc->t == NULL)
		return;
	(void)snprintf(
	    dest, sizeof(dest), "%s:%u", rc->u.fwd.dest, rc->u.fwd.port);
	if (remote) {
		(void)snprintf(src, sizeof(src), "%s:%u", rc->u.fwd.src,
		    rc->u.fwd.src_port);
		broker_audit(s, MON_AUD_RFORWARD_END,
		    "channel=%u listen=%s source=%s in=%llu out=%llu", rc->id,
		    dest, src, (unsigned long long)rc->bytes_in,
		    (unsigned long long)rc->bytes_out);
	} else
		broker_audit(s, MON_AUD_FORWARD_END,
		    "channel=%u destination=%s in=%llu out=%llu", rc->id, dest,
		    (unsigned long long)rc->bytes_in,
		    (unsigned long long)rc->bytes_out);
	for (i = 0; i < 2 && r == 0; i++) {
		struct sftp_event ev = {
			.op = SFTP_OP_EXTENDED,
			.ext = rc->kind->name,
			.path = dest,
			.path2 = remote ? src : NULL,
			.direction =
			    i == 0 ? SFTP_DIR_UPLOAD : SFTP_DIR_DOWNLOAD,
			.bytes = i == 0 ? rc->bytes_in : rc->bytes_out,
			.message = "",
		};

		r = s->bx->recorder.ops->file(s->rec, rc->id, &ev);
	}
}

/*
 * sftp: the engineer's requests are decided before they pass (a refused
 * one is answered by the broker), the target's answers seen as they pass.
 */
const struct relay_kind broker_relay_sftp = {
	.name = "sftp",
	.c_data = sftp_c_data,
	.in_pump = sftp_in_pump,
	.passed = sftp_passed,
	.flush = sftp_flush,
	.end = sftp_end,
};

/* Legacy scp: decided once at its command, the stream seen both ways. */
const struct relay_kind broker_relay_scp = {
	.name = "scp",
	.passed = scp_passed,
	.end = scp_end,
};

/* ssh -L and -D, and ssh -R: relayed as they come, their totals kept. */
const struct relay_kind broker_relay_direct = {
	.name = "direct-tcpip",
	.forward = 1,
	.end = forward_end,
};

const struct relay_kind broker_relay_forwarded = {
	.name = "forwarded-tcpip",
	.forward = 1,
	.end = forward_end,
};
