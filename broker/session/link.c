/*
 * link.c: a session process's line to provostd: it reports who, where and
 * how many bytes; it takes "check revocations now", "end: REASON" and a
 * watcher's socket.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/fdpass.h"
#include "broker/session/session.h"

#define LINK_STATS_MS 500

struct broker_link {
	int fd;
	int attached; /* in the session's event */
	int bannered;
	int eof;
	uint32_t delay_ms;
	char refuse[192];
	uint32_t sent_fail;
	uint64_t in, out, next_ms;
	int64_t active_ms;
};

int
broker_link_new(
    int fd, uint32_t delay_ms, const char *refuse, struct broker_link **out)
{
	struct broker_link *l;

	*out = NULL;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return PV_ERR_ALLOC;
	l->fd = fd;
	l->delay_ms = delay_ms;
	(void)snprintf(l->refuse, sizeof(l->refuse), "%s", refuse);
	*out = l;
	return 0;
}

void
broker_link_free(struct broker_link *l)
{
	if (l == NULL)
		return;
	if (l->fd >= 0)
		close(l->fd);
	free(l);
}

static void link_send(struct broker_link *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
link_send(struct broker_link *l, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int n;

	if (l->fd < 0 || l->eof)
		return;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(msg))
		return;
	(void)send(l->fd, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/*
 * One message from provostd, and the descriptor that came with it (-1:
 * none; a second one, or one cut short, is closed here).
 */
static ssize_t
link_recv(int fd, char *buf, size_t len, int *passed)
{
	union pv_fd_cmsg cm;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	*passed = -1;
	pv_fd_expect(&mh, &cm);
	n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return n;
	if (pv_fd_take(&mh, passed) && (mh.msg_flags & MSG_CTRUNC) != 0)
		pv_warn("link: a descriptor from provostd did not fit");
	return n;
}

static int
link_readable(socket_t fd, int revents, void *userdata)
{
	struct broker_session *s = userdata;
	struct broker_link *l = s->bx->link;
	char buf[512];
	ssize_t n;
	int passed;

	for (;;) {
		n = link_recv(fd, buf, sizeof(buf) - 1, &passed);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (n <= 0) {
			if (passed >= 0)
				(void)close(passed);
			/*
			 * provostd is gone (killed, crashed): nobody could
			 * list, kill or revoke this session any more, so it
			 * does not go on alone.  It ends like any other: the
			 * engineer is told, the recording sealed.
			 */
			l->eof = 1;
			if (!s->ending) {
				pv_warn("session %s: provostd is gone: ending "
					"the session",
				    s->id);
				broker_session_end(s, BROKER_END_ORPHANED);
			}
			return 0;
		}
		buf[n] = '\0';
		if (strncmp(buf, "W\t", 2) == 0 && passed >= 0 &&
		    (buf[2] == '0' || buf[2] == '1') && buf[3] == '\t') {
			/* a watcher's socket: "W\tNOTIFY\tWHO" */
			broker_watch_add(s, passed, buf[2] == '1', buf + 4);
			passed = -1;
		} else if (strncmp(buf, "V\t", 2) == 0 && passed >= 0) {
			/* an approver's watch of another session */
			broker_view_arrive(s, passed, buf + 2);
			passed = -1;
		} else if (strcmp(buf, "M\t1") == 0 || strcmp(buf, "M\t0") == 0)
			broker_relay_moderated(s, buf[2] == '1');
		else if (strncmp(buf, "E\t", 2) == 0) {
			pv_info("session %s: %s", s->id, buf + 2);
			broker_session_end(s, buf + 2);
		}
		if (passed >= 0) {
			(void)shutdown(passed, SHUT_RDWR);
			(void)close(passed);
		}
	}
}

/* Every authentication attempt of a refused connection: the banner, no. */
static void
link_banner(struct broker_session *s)
{
	struct broker_link *l = s->bx->link;
	char line[sizeof(l->refuse) + 2];
	ssh_string b;

	if (l->bannered)
		return;
	(void)snprintf(line, sizeof(line), "%s\n", l->refuse);
	if ((b = ssh_string_from_char(line)) == NULL)
		return;
	(void)ssh_send_issue_banner(s->client, b);
	ssh_string_free(b);
	l->bannered = 1;
}

static int
link_refuse_pubkey(ssh_session session, const char *user,
    struct ssh_key_struct *key, char signature_state, void *userdata)
{
	link_banner(userdata);
	return SSH_AUTH_DENIED;
}

static int
link_refuse_message(ssh_session session, ssh_message msg, void *userdata)
{
	if (ssh_message_type(msg) == SSH_REQUEST_AUTH)
		link_banner(userdata);
	return 1; /* the default failure */
}

/*
 * A refused connection: the reason goes out as a userauth banner (ssh
 * prints it at its default LogLevel) on the first authentication attempt,
 * every attempt fails, and the connection ends after the client gives up
 * or 3 seconds.
 */
static void
link_refuse(struct broker_session *s, const char *msg)
{
	uint64_t until = pv_mono_ms() + 3000;

	s->scb.auth_pubkey_function = link_refuse_pubkey;
	ssh_set_message_callback(s->client, link_refuse_message, s);
	(void)ssh_session_set_disconnect_message(s->client, msg);
	while (pv_mono_ms() < until && ssh_is_connected(s->client))
		if (broker_session_poll(s, 100) == SSH_ERROR)
			break;
	(void)ssh_blocking_flush(s->client, 500);
}

int
broker_link_start(struct broker_session *s)
{
	struct broker_link *l = s->bx->link;
	struct timespec ts;

	if (l == NULL)
		return 0;
	if (l->delay_ms > 0) {
		ts.tv_sec = l->delay_ms / 1000;
		ts.tv_nsec = (long)(l->delay_ms % 1000) * 1000000L;
		(void)nanosleep(&ts, NULL);
	}
	if (l->refuse[0] != '\0') {
		pv_warn(
		    "session %s: refused %s: %s", s->id, s->peer, l->refuse);
		link_refuse(s, l->refuse);
		broker_session_end(s, l->refuse);
		return PV_DENY;
	}
	if (ssh_event_add_fd(s->event, l->fd, POLLIN, link_readable, s) ==
	    SSH_OK)
		l->attached = 1;
	l->active_ms = pv_wall_ms();
	return 0;
}

void
broker_link_tick(struct broker_session *s)
{
	struct broker_link *l = s->bx->link;
	uint64_t now;

	if (l == NULL)
		return;
	if (l->eof && l->attached) {
		ssh_event_remove_fd(s->event, l->fd);
		l->attached = 0;
	}
	while (l->sent_fail < s->key_failures) {
		link_send(l, "F");
		l->sent_fail++;
	}
	now = pv_mono_ms();
	if (s->bytes_in != l->in || s->bytes_out != l->out) {
		l->active_ms = pv_wall_ms();
		if (now >= l->next_ms) {
			l->in = s->bytes_in;
			l->out = s->bytes_out;
			l->next_ms = now + LINK_STATS_MS;
			link_send(l, "S\t%llu\t%llu\t%lld",
			    (unsigned long long)l->in,
			    (unsigned long long)l->out,
			    (long long)l->active_ms);
		}
	}
}

int
broker_link_due_ms(const struct broker_session *s, uint64_t now)
{
	const struct broker_link *l = s->bx->link;

	if (l == NULL || (s->bytes_in == l->in && s->bytes_out == l->out))
		return -1;
	return now >= l->next_ms ? 0 : (int)(l->next_ms - now);
}

void
broker_link_stop(struct broker_session *s)
{
	struct broker_link *l = s->bx->link;

	if (l == NULL || !l->attached || s->event == NULL)
		return;
	ssh_event_remove_fd(s->event, l->fd);
	l->attached = 0;
}
