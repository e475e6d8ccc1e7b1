/*
 * view.c: an approver's watch from the approvers' menu: the socket the
 * monitor passed over the link, streamed to the approver's channel as
 * provostctl session watch shows it; q stops watching, x ends a session
 * the approver moderates.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "broker/session/session.h"
#include "recorder/recorder.h"

/* How long a watch that the menu accepted waits for its socket. */
#define VIEW_WAIT_MS 5000
/* Filtered output not yet taken by the approver's window (then no read). */
#define VIEW_OUT_MAX (256 * 1024)
#define VIEW_READ 16384

struct broker_view {
	int fd;
	char id[PV_UUID_LEN + 1];
	char who[200]; /* "ENGINEER as ACCOUNT on TARGET" */
	struct rec_escape *esc;
	struct pv_buf *out;
	int registered;
	int eof;       /* the stream ended (the session, or a cut-off) */
	int want_end;  /* the approver pressed x */
	int want_quit; /* ... or q */
	int told;      /* the header went into out */
};

static void
view_free(struct broker_session *s)
{
	struct broker_view *v = s->view;

	if (v == NULL)
		return;
	if (v->registered && s->event != NULL)
		ssh_event_remove_fd(s->event, v->fd);
	/* both ways: the monitor's copy sees the hang-up and audits it */
	(void)shutdown(v->fd, SHUT_RDWR);
	(void)close(v->fd);
	rec_escape_free(v->esc);
	pv_buf_free(v->out);
	free(v);
	s->view = NULL;
}

void
broker_view_arrive(struct broker_session *s, int fd, const char *msg)
{
	struct broker_view *v = NULL;
	char *copy = NULL, *f[4], *p, *save = NULL;
	int n = 0;

	if (s->view != NULL || (copy = strdup(msg)) == NULL)
		goto fail;
	for (p = strtok_r(copy, "\t", &save); p != NULL && n < 4;
	     p = strtok_r(NULL, "\t", &save))
		f[n++] = p;
	if (n != 4 || (v = calloc(1, sizeof(*v))) == NULL)
		goto fail;
	v->fd = fd;
	(void)snprintf(v->id, sizeof(v->id), "%s", f[0]);
	(void)snprintf(
	    v->who, sizeof(v->who), "%s as %s on %s", f[1], f[2], f[3]);
	if ((v->esc = rec_escape_new(REC_ESC_TERMINAL)) == NULL ||
	    (v->out = pv_buf_new(VIEW_OUT_MAX + VIEW_READ * 8)) == NULL)
		goto fail;
	s->view = v;
	free(copy);
	pv_info("session %s: watching session %s", s->id, v->id);
	return;
fail:
	pv_warn("session %s: a watch socket refused", s->id);
	if (v != NULL) {
		rec_escape_free(v->esc);
		pv_buf_free(v->out);
		free(v);
	}
	free(copy);
	(void)shutdown(fd, SHUT_RDWR);
	(void)close(fd);
}

void
broker_view_start(struct relay_chan *rc)
{
	rc->u.menu.view = 1;
	rc->u.menu.view_until = pv_mono_ms() + VIEW_WAIT_MS;
}

int
broker_view_input(struct relay_chan *rc, const uint8_t *d, size_t len)
{
	struct broker_view *v = rc->s->view;
	size_t i;

	for (i = 0; v != NULL && i < len; i++) {
		if (d[i] == 'q' || d[i] == 3 /* ^C */ || d[i] == 4 /* ^D */)
			v->want_quit = 1;
		else if (d[i] == 'x')
			v->want_end = 1;
	}
	rc->s->repump = 1;
	return (int)len; /* a watcher only reads: the rest is dropped */
}

static int
view_event(socket_t fd, int revents, void *userdata)
{
	(void)fd;
	(void)revents;
	((struct broker_session *)userdata)->repump = 1;
	return 0;
}

static int
view_close(struct relay_chan *rc, int status, const char *why)
{
	if (why != NULL && ssh_channel_window_size(rc->c) >= strlen(why))
		(void)ssh_channel_write(rc->c, why, (uint32_t)strlen(why));
	view_free(rc->s);
	(void)ssh_channel_request_send_exit_status(rc->c, status);
	(void)ssh_channel_send_eof(rc->c);
	(void)ssh_channel_close(rc->c);
	rc->u.menu.view = 0;
	return 1;
}

/* x: the monitor ends the session if this approver moderates it. */
static void
view_end(struct broker_session *s, struct broker_view *v)
{
	const struct broker_backend *b = &s->bx->backend;
	char cmd[128];
	struct pv_buf *ans = pv_buf_new(4096);
	int r;

	v->want_end = 0;
	(void)snprintf(cmd, sizeof(cmd),
	    "end %s --reason ended by the moderator watching", v->id);
	r = ans != NULL
	    ? b->ops->menu(b->ctx, s->login.engineer, NULL, cmd, ans)
	    : PV_ERR_ALLOC;
	(void)pv_buf_putf(v->out, "\r\nprovost: %s\r\n",
	    r == 0 ? "the session was told to end"
		   : "you cannot end this session (you do not moderate it)");
	pv_info("session %s: end of %s asked: status %d", s->id, v->id, r);
	pv_buf_free(ans);
}

int
broker_view_pump(struct relay_chan *rc)
{
	struct broker_session *s = rc->s;
	struct broker_view *v = s->view;
	uint8_t buf[VIEW_READ];
	uint32_t win;
	ssize_t n;
	int w, want;

	if (rc->c_closed)
		return view_close(rc, 0, NULL);
	if (v == NULL) {
		if (pv_mono_ms() < rc->u.menu.view_until)
			return 0;
		return view_close(
		    rc, 1, "provost: the watch did not start\r\n");
	}
	if (!v->told) {
		v->told = 1;
		(void)pv_buf_putf(v->out,
		    "provost: watching session %s (%s), read-only; q stops "
		    "watching, x ends the session (moderators)\r\n",
		    v->id, v->who);
	}
	if (v->want_quit) {
		(void)pv_buf_putf(
		    v->out, "\r\nprovost: you stopped watching\r\n");
		v->eof = 1;
		v->want_quit = 0;
		/* the socket goes now: the monitor audits the watch's end */
		if (v->registered && s->event != NULL)
			ssh_event_remove_fd(s->event, v->fd);
		v->registered = 0;
		(void)shutdown(v->fd, SHUT_RDWR);
	}
	if (v->want_end && !v->eof)
		view_end(s, v);
	for (;;) {
		/* what the window takes; read more only once all is out */
		while (pv_buf_len(v->out) > 0 &&
		    (win = ssh_channel_window_size(rc->c)) > 0) {
			w = ssh_channel_write(rc->c, pv_buf_ptr(v->out),
			    (uint32_t)(pv_buf_len(v->out) < win
				    ? pv_buf_len(v->out)
				    : win));
			if (w <= 0)
				break;
			(void)pv_buf_consume(v->out, (size_t)w);
		}
		if (pv_buf_len(v->out) > 0 || v->eof)
			break;
		n = recv(v->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			v->eof = 1;
			(void)rec_escape_finish(v->esc, v->out);
			(void)pv_buf_putf(
			    v->out, "\r\nprovost: the watch ended\r\n");
			continue;
		}
		if (rec_escape_filter(v->esc, buf, (size_t)n, v->out) != 0)
			return view_close(rc, 1, "provost: out of memory\r\n");
	}
	rc->stall_out = pv_buf_len(v->out) > 0;
	if (v->eof && pv_buf_len(v->out) == 0)
		return view_close(rc, 0, NULL);
	/* the socket is polled only while its bytes can go on */
	want = !v->eof && pv_buf_len(v->out) == 0;
	if (want != v->registered && s->event != NULL) {
		if (v->registered)
			ssh_event_remove_fd(s->event, v->fd);
		v->registered = want &&
		    ssh_event_add_fd(s->event, v->fd, POLLIN, view_event, s) ==
			SSH_OK;
	}
	return 0;
}

void
broker_view_stop(struct broker_session *s)
{
	view_free(s);
}
