/*
 * watch.c: a session's live watchers: the recorded output stream copied to
 * each watcher's socket (from the monitor), never waiting for one.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "broker/session/session.h"

/*
 * A watcher that falls this far behind (beyond what its socket buffer
 * holds) is cut off: the session never waits for one.
 */
#define WATCH_QUEUE_MAX (1024 * 1024)
/* A cut-off watcher gets its notice if it reads again within this. */
#define WATCH_NOTICE_MS 30000

struct broker_watch {
	int fd;
	int notify;       /* NotifyWatchers: the engineer is told */
	char who[160];    /* as the monitor named the watcher */
	struct pv_buf *q; /* bytes its socket did not take yet */
	int registered;   /* events in the session's event, 0: none */
	int gone;         /* hung up or misbehaved: to be closed */
	int cut;          /* fell behind: only the notice is left */
	uint64_t cut_until;
	const char *why; /* why it goes, for the log and the engineer */
};

/* "provost: WHO WHAT" on the engineer's terminal. */
static void
watch_say(struct broker_session *s, const char *who, const char *what)
{
	char line[256];
	int n;

	n = snprintf(line, sizeof(line), "\r\nprovost: %s %s\r\n", who, what);
	if (n > 0 && (size_t)n < sizeof(line))
		broker_session_say(s, line);
}

/* Sends what it can of the queue; 1 when it is empty. */
static int
watch_flush(struct broker_watch *w)
{
	ssize_t n;

	while (w->q != NULL && pv_buf_len(w->q) > 0) {
		n = send(w->fd, pv_buf_ptr(w->q), pv_buf_len(w->q),
		    MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0) {
			w->gone = 1;
			w->why = "its socket closed";
			return 0;
		}
		(void)pv_buf_consume(w->q, (size_t)n);
	}
	return 1;
}

static void
watch_cut(struct broker_session *s, struct broker_watch *w)
{
	static const char notice[] =
	    "\r\nprovost: this watcher fell too far behind the session and "
	    "was cut off\r\n";

	pv_warn("session %s: watcher %s fell %d KiB behind: cut off", s->id,
	    w->who, WATCH_QUEUE_MAX / 1024);
	pv_buf_reset(w->q);
	if (pv_buf_put(w->q, notice, sizeof(notice) - 1) != 0) {
		w->gone = 1;
		w->why = "cut off: it fell behind";
		return;
	}
	w->cut = 1;
	w->cut_until = pv_mono_ms() + WATCH_NOTICE_MS;
	w->why = "cut off: it fell behind";
}

void
broker_watch_feed(struct broker_session *s, const uint8_t *data, size_t len)
{
	struct broker_watch *w;
	ssize_t n;
	size_t off;
	int i;

	for (i = 0; i < s->nwatch; i++) {
		w = s->watch[i];
		if (w->gone || w->cut || len == 0)
			continue;
		off = 0;
		if (w->q == NULL || pv_buf_len(w->q) == 0) {
			/* The common case: the socket takes it, no copy. */
			n = send(w->fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR) {
				w->gone = 1;
				w->why = "its socket closed";
				continue;
			}
			off = n > 0 ? (size_t)n : 0;
			if (off == len)
				continue;
		}
		if (w->q == NULL &&
		    (w->q = pv_buf_new(WATCH_QUEUE_MAX)) == NULL) {
			w->gone = 1;
			w->why = "out of memory";
			continue;
		}
		if (pv_buf_len(w->q) + (len - off) > WATCH_QUEUE_MAX ||
		    pv_buf_put(w->q, data + off, len - off) != 0)
			watch_cut(s, w);
	}
}

static int
watch_event(socket_t fd, int revents, void *userdata)
{
	struct broker_watch *w = userdata;
	char b[64];
	ssize_t n;

	if (revents & POLLOUT)
		(void)watch_flush(w);
	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		/* A watcher only reads: bytes from it, or EOF, end it. */
		n = recv(fd, b, sizeof(b), MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		w->gone = 1;
		w->why =
		    n > 0 ? "it sent bytes (watchers only read)" : "it left";
	}
	return 0;
}

/* Every descriptor that arrives is closed on every path but the table. */
void
broker_watch_add(struct broker_session *s, int fd, int notify, const char *who)
{
	struct broker_watch *w;

	if (s->ending || s->nwatch >= BROKER_WATCH_MAX ||
	    (w = calloc(1, sizeof(*w))) == NULL) {
		pv_warn("session %s: watcher %s refused (%s)", s->id, who,
		    s->ending ? "ending" : "too many");
		(void)shutdown(fd, SHUT_RDWR);
		(void)close(fd);
		return;
	}
	w->fd = fd;
	w->notify = notify;
	(void)snprintf(w->who, sizeof(w->who), "%s", who);
	(void)fcntl(fd, F_SETFL, O_NONBLOCK);
	s->watch[s->nwatch++] = w;
	pv_info("session %s: %s is watching", s->id, w->who);
	if (notify)
		watch_say(s, w->who, "is watching this session");
}

static void
watch_close(struct broker_session *s, int i)
{
	struct broker_watch *w = s->watch[i];

	if (w->registered && s->event != NULL)
		ssh_event_remove_fd(s->event, w->fd);
	/* both ways: the monitor's copy sees the hang-up and audits it */
	(void)shutdown(w->fd, SHUT_RDWR);
	(void)close(w->fd);
	pv_buf_free(w->q);
	free(w);
	s->watch[i] = s->watch[--s->nwatch];
	s->watch[s->nwatch] = NULL;
}

void
broker_watch_tick(struct broker_session *s)
{
	struct broker_watch *w;
	int i, want;

	for (i = s->nwatch; i-- > 0;) {
		w = s->watch[i];
		/* cut off: gone once the notice is out, or too late for it */
		if (!w->gone && w->cut &&
		    (watch_flush(w) || pv_mono_ms() > w->cut_until))
			w->gone = 1;
		if (w->gone) {
			pv_info("session %s: %s stopped watching: %s", s->id,
			    w->who, w->why != NULL ? w->why : "it left");
			if (w->notify)
				watch_say(s, w->who,
				    w->cut ? "stopped watching (cut off: too "
					     "slow)"
					   : "stopped watching this session");
			watch_close(s, i);
			continue;
		}
		/* events change outside the event's own poll round */
		want = POLLIN |
		    (w->q != NULL && pv_buf_len(w->q) > 0 ? POLLOUT : 0);
		if (want == w->registered || s->event == NULL)
			continue;
		if (w->registered)
			ssh_event_remove_fd(s->event, w->fd);
		w->registered = 0;
		if (ssh_event_add_fd(
			s->event, w->fd, (short)want, watch_event, w) == SSH_OK)
			w->registered = want;
	}
}

void
broker_watch_stop(struct broker_session *s, const char *reason)
{
	char line[256];
	int n, i;

	n = snprintf(line, sizeof(line), "\r\nprovost: session ended: %s\r\n",
	    reason != NULL ? reason : "");
	for (i = s->nwatch; i-- > 0;) {
		struct broker_watch *w = s->watch[i];

		/*
		 * what it still has to read (or its cut-off notice) comes
		 * first, if it fits now
		 */
		if (!w->gone && watch_flush(w) && !w->cut && n > 0 &&
		    (size_t)n < sizeof(line))
			(void)send(w->fd, line, (size_t)n,
			    MSG_DONTWAIT | MSG_NOSIGNAL);
		watch_close(s, i);
	}
}
