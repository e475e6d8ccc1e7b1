/*
 * control_watch.c: live watch from the monitor's side: a watcher's socket
 * is answered, passed to the session process it names, and kept to audit
 * when it goes; followers wait for an engineer's next session.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include "broker/monitor/control-int.h"
#include "common/fdpass.h"
#include "store/store.h"

/* Watchers of every session together, followers included. */
#define CTL_WATCH_TOTAL_MAX 256

static void
watch_line(int fd, json_t *o)
{
	char *s;

	if (o == NULL)
		return;
	if ((s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS)) != NULL) {
		if (pv_write_all(fd, s, strlen(s)) == 0)
			(void)pv_write_all(fd, "\n", 1);
		free(s);
	}
	json_decref(o);
}

static size_t
watch_count(const struct broker_ctl *c, pid_t pid)
{
	size_t i, n = 0;

	for (i = 0; i < c->nwatchers; i++)
		if (c->watchers[i].pid == pid)
			n++;
	return n;
}

/*
 * msg (n bytes of snprintf's into a buffer of size) and fd to a session
 * process on its link, not waiting.
 */
static int
link_send_fd(struct ctl_child *to, char *msg, int n, size_t size, int fd)
{
	union pv_fd_cmsg cm;
	struct iovec iov;
	struct msghdr mh = { 0 };

	if (n < 0 || (size_t)n >= size)
		return PV_ERR_RANGE;
	iov = (struct iovec){ .iov_base = msg, .iov_len = (size_t)n };
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	pv_fd_attach(&mh, &cm, fd);
	if (sendmsg(to->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)n)
		return PV_ERR_IO;
	return 0;
}

/*
 * Passes fd to session process k on its link: "W\tNOTIFY\tWHO" with the
 * descriptor (SCM_RIGHTS).  The monitor names the session by choosing
 * whose link it writes to; the process is told nothing it could use to
 * claim another.
 */
static int
watch_pass(struct broker_ctl *c, struct ctl_child *k, int fd, const char *who)
{
	char msg[256];
	int n;

	if (k->fd < 0 || k->ending)
		return PV_ERR_CLOSED;
	n = snprintf(msg, sizeof(msg), "W\t%d\t%s",
	    c->bx->conf->notify_watchers ? 1 : 0, who);
	return link_send_fd(k, msg, n, sizeof(msg), fd);
}

static struct ctl_child *
watch_kid(struct broker_ctl *c, pid_t pid)
{
	size_t i;

	for (i = 0; i < c->nkids; i++)
		if (c->kids[i].pid == pid)
			return &c->kids[i];
	return NULL;
}

/*
 * Is w an approver of k's Moderated group: only by the approver it proved
 * to be (signed in at the menu, or a code with provostctl's --as).  The
 * local user a control socket names (root's SUDO_USER) is not proof.
 */
static void
watch_rate_one(struct broker_ctl *c, struct ctl_watcher *w, struct ctl_child *k)
{
	const struct broker_backend *b = &c->bx->backend;

	w->moderator = k->moderated[0] != '\0' && w->approver[0] != '\0' &&
	    b->ops->approver_in_group != NULL &&
	    b->ops->approver_in_group(b->ctx, w->approver, k->moderated) ==
		PV_ALLOW;
}

void
broker_ctl_watch_rate(struct broker_ctl *c, struct ctl_child *k)
{
	size_t i;

	for (i = 0; i < c->nwatchers; i++)
		if (c->watchers[i].pid == k->pid)
			watch_rate_one(c, &c->watchers[i], k);
}

void
broker_ctl_watch_moderation(struct broker_ctl *c, struct ctl_child *k)
{
	const char *who = NULL;
	size_t i;
	int on;

	if (k->moderated[0] == '\0' || k->ending)
		return;
	for (i = 0; i < c->nwatchers && who == NULL; i++)
		if (c->watchers[i].pid == k->pid && c->watchers[i].moderator)
			who = c->watchers[i].actor;
	on = who != NULL;
	if (on == k->mod_told)
		return;
	k->mod_told = on;
	(void)broker_ctl_tell(k, on ? "M\t1" : "M\t0");
	if (on)
		pv_info("session %s: moderated by %s (group %s): it runs",
		    k->id, who, k->moderated);
	else
		pv_info("session %s: no moderator of group %s watches: held",
		    k->id, k->moderated);
	broker_ctl_audit(c, k->id, "session.moderation",
	    "state=%s group=%s moderator=%s engineer=%s target=%s",
	    on ? "watched" : "held", k->moderated, on ? who : "-", k->engineer,
	    k->target);
}

/*
 * w (in the table, fd answered already) watches k from now on: the header
 * line, the descriptor to the session, the audit row.  On failure w's
 * socket is closed and w left for the caller to drop.
 */
static int
watch_attach(struct broker_ctl *c, struct ctl_watcher *w, struct ctl_child *k)
{
	int r;

	if (watch_count(c, k->pid) >= BROKER_WATCH_MAX)
		return PV_ERR_LIMIT;
	/* an approver's session process says who it watches itself */
	if (!w->view)
		watch_line(w->fd,
		    json_pack("{s:b, s:s, s:s, s:s, s:s}", "ok", 1, "watching",
			k->id, "engineer", k->engineer, "target", k->target,
			"account", k->account));
	watch_rate_one(c, w, k);
	if ((r = watch_pass(c, k, w->fd, w->actor)) != 0)
		return r;
	w->pid = k->pid;
	(void)snprintf(w->id, sizeof(w->id), "%s", k->id);
	w->since_ms = pv_mono_ms();
	pv_info("session %s: %s watches (pid %ld uid %u)", k->id, w->actor,
	    w->peer_pid, w->peer_uid);
	if (w->approver[0] != '\0')
		broker_ctl_audit(c, k->id, "session.watch",
		    "watcher=%s approver=%s from=%s via=%s engineer=%s "
		    "target=%s account=%s%s%s",
		    w->actor, w->approver, w->from, w->via, k->engineer,
		    k->target, k->account, w->moderator ? " moderator=" : "",
		    w->moderator ? k->moderated : "");
	else
		broker_ctl_audit(c, k->id, "session.watch",
		    "watcher=%s uid=%u pid=%ld engineer=%s target=%s "
		    "account=%s%s%s",
		    w->actor, w->peer_uid, w->peer_pid, k->engineer, k->target,
		    k->account, w->moderator ? " moderator=" : "",
		    w->moderator ? k->moderated : "");
	broker_ctl_watch_moderation(c, k);
	return 0;
}

static void
watch_drop(struct broker_ctl *c, size_t i, const char *why)
{
	struct ctl_watcher *w = &c->watchers[i];
	struct ctl_child *k;
	uint64_t secs;
	pid_t pid = w->pid;

	if (w->pid != 0) {
		secs = (pv_mono_ms() - w->since_ms + 500) / 1000;
		pv_info("session %s: %s stopped watching after %llu s (%s)",
		    w->id, w->actor, (unsigned long long)secs, why);
		if (w->approver[0] != '\0')
			broker_ctl_audit(c, w->id, "session.watch_end",
			    "watcher=%s approver=%s from=%s seconds=%llu "
			    "why=%s",
			    w->actor, w->approver, w->from,
			    (unsigned long long)secs, why);
		else
			broker_ctl_audit(c, w->id, "session.watch_end",
			    "watcher=%s uid=%u pid=%ld seconds=%llu why=%s",
			    w->actor, w->peer_uid, w->peer_pid,
			    (unsigned long long)secs, why);
	}
	if (w->fd >= 0) {
		broker_ctl_ev_del(c, w->fd);
		(void)shutdown(w->fd, SHUT_RDWR);
		close(w->fd);
	}
	c->watchers[i] = c->watchers[--c->nwatchers];
	if (pid != 0 && (k = watch_kid(c, pid)) != NULL)
		broker_ctl_watch_moderation(c, k);
}

/* Who an approver's watcher is, set before it attaches (or NULL). */
struct watch_who {
	const char *approver, *from, *via;
	int view; /* the approvers' menu's (else provostctl --as) */
};

static int
watch_new(struct broker_ctl *c, int fd, const char *actor, long peer_pid,
    unsigned int peer_uid, const char *id, const char *follow,
    const struct watch_who *who, char *err, size_t errlen)
{
	struct ctl_watcher *w;
	struct ctl_child *k = NULL;
	int amb, r;

	if ((id == NULL) == (follow == NULL)) {
		(void)snprintf(
		    err, errlen, "a watch names \"id\" or \"follow\"");
		return PV_ERR_INVALID;
	}
	if (follow != NULL &&
	    (strlen(follow) > BROKER_ENGINEER_MAX ||
		!store_name_valid(follow))) {
		(void)snprintf(err, errlen, "follow: not an engineer login");
		return PV_ERR_INVALID;
	}
	if (id != NULL) {
		k = broker_ctl_find(c, id, &amb);
		if (k == NULL || !k->authenticated) {
			(void)snprintf(err, errlen,
			    amb ? "session %.40s: ambiguous prefix"
				: "session %.40s: no such live session",
			    id);
			return PV_ERR_NOT_FOUND;
		}
		if (k->ending) {
			(void)snprintf(
			    err, errlen, "session %s: ending", k->id);
			return PV_ERR_CLOSED;
		}
		if (watch_count(c, k->pid) >= BROKER_WATCH_MAX) {
			(void)snprintf(err, errlen,
			    "session %s: already %d watchers (the most)", k->id,
			    BROKER_WATCH_MAX);
			return PV_ERR_LIMIT;
		}
	}
	if (c->nwatchers >= CTL_WATCH_TOTAL_MAX) {
		(void)snprintf(
		    err, errlen, "too many watchers (%d)", CTL_WATCH_TOTAL_MAX);
		return PV_ERR_LIMIT;
	}
	if (c->nwatchers == c->watchcap) {
		size_t cap = c->watchcap ? c->watchcap * 2 : 8;
		struct ctl_watcher *n = realloc(c->watchers, cap * sizeof(*n));

		if (n == NULL) {
			(void)snprintf(err, errlen, "out of memory");
			return PV_ERR_ALLOC;
		}
		c->watchers = n;
		c->watchcap = cap;
	}
	/* it sends nothing: its hang-up is what the monitor waits for */
	if (broker_ctl_ev_add_kind(c, CTL_EV_WATCHER, fd, EPOLLRDHUP) != 0) {
		(void)snprintf(err, errlen, "cannot wait on the watcher");
		return PV_ERR_IO;
	}
	w = &c->watchers[c->nwatchers++];
	*w = (struct ctl_watcher){
		.fd = fd,
		.peer_pid = peer_pid,
		.peer_uid = peer_uid,
	};
	(void)snprintf(w->actor, sizeof(w->actor), "%s", actor);
	if (who != NULL) {
		(void)snprintf(
		    w->approver, sizeof(w->approver), "%s", who->approver);
		(void)snprintf(w->from, sizeof(w->from), "%s", who->from);
		(void)snprintf(w->via, sizeof(w->via), "%s",
		    who->via != NULL ? who->via : "-");
		w->view = who->view;
	}
	if (follow != NULL) {
		(void)snprintf(w->follow, sizeof(w->follow), "%s", follow);
		watch_line(
		    fd, json_pack("{s:b, s:s}", "ok", 1, "following", follow));
		pv_info(
		    "control socket: %s follows engineer %s", actor, follow);
		return 0;
	}
	if ((r = watch_attach(c, w, k)) != 0) {
		broker_ctl_ev_del(c, fd);
		c->nwatchers--; /* w, the last: the caller still holds fd */
		(void)snprintf(err, errlen,
		    "session %s: its process did not take the watcher", k->id);
		return r;
	}
	return 0;
}

int
broker_ctl_watch(struct broker_ctl *c, int fd, const char *actor, long peer_pid,
    unsigned int peer_uid, const char *id, const char *follow, char *err,
    size_t errlen)
{
	return watch_new(
	    c, fd, actor, peer_pid, peer_uid, id, follow, NULL, err, errlen);
}

int
broker_ctl_watch_as(struct broker_ctl *c, int fd, const char *actor,
    long peer_pid, unsigned int peer_uid, const char *id, const char *follow,
    const char *approver, const char *code, char *err, size_t errlen)
{
	const struct broker_backend *b = &c->bx->backend;
	const struct watch_who who = {
		.approver = approver,
		.from = "the control socket",
	};

	if (approver == NULL)
		return broker_ctl_watch(
		    c, fd, actor, peer_pid, peer_uid, id, follow, err, errlen);
	if (code == NULL || b->ops->approver_totp_check == NULL ||
	    b->ops->approver_totp_check(
		b->ctx, approver, code, "the control socket") != PV_ALLOW) {
		broker_ctl_audit(c, id != NULL ? id : "-",
		    "session.watch_refused",
		    "watcher=%s approver=%s reason=the code was refused", actor,
		    approver);
		(void)snprintf(
		    err, errlen, "approver %s: the code was refused", approver);
		return PV_ERR_DENIED;
	}
	return watch_new(
	    c, fd, actor, peer_pid, peer_uid, id, follow, &who, err, errlen);
}

static struct ctl_child *
watch_kid_live(struct broker_ctl *c, const char *id, char *err, size_t errlen)
{
	struct ctl_child *k;
	int amb;

	k = broker_ctl_find(c, id, &amb);
	if (k == NULL || !k->authenticated || k->target[0] == '\0') {
		(void)snprintf(err, errlen,
		    amb ? "session %.40s: ambiguous prefix"
			: "session %.40s: no such live session",
		    id);
		return NULL;
	}
	return k;
}

/*
 * Passes fd to the approver's session process a: "V\tID\tENGINEER\t
 * ACCOUNT\tTARGET", the session it now watches.
 */
static int
watch_pass_view(struct ctl_child *a, int fd, const struct ctl_child *k)
{
	char msg[256];
	int n;

	if (a->fd < 0 || a->ending)
		return PV_ERR_CLOSED;
	n = snprintf(msg, sizeof(msg), "V\t%s\t%s\t%s\t%s", k->id, k->engineer,
	    k->account, k->target);
	return link_send_fd(a, msg, n, sizeof(msg), fd);
}

int
broker_ctl_watch_approver(struct broker_ctl *c, const char *approver,
    const char *addr, pid_t apid, const char *asid, const char *id, char *err,
    size_t errlen)
{
	const struct watch_who who = {
		.approver = approver,
		.from = addr,
		.via = asid,
		.view = 1,
	};
	struct ctl_child *a, *k;
	char actor[96];
	size_t i;
	int sv[2], r;

	if ((a = watch_kid(c, apid)) == NULL || a->fd < 0 || a->ending) {
		(void)snprintf(err, errlen, "your session is not live");
		return PV_ERR_CLOSED;
	}
	if ((k = watch_kid_live(c, id, err, errlen)) == NULL)
		return PV_ERR_NOT_FOUND;
	if (k->pid == apid) {
		(void)snprintf(err, errlen, "not your own session");
		return PV_ERR_INVALID;
	}
	(void)snprintf(actor, sizeof(actor), "approver:%s", approver);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		(void)snprintf(err, errlen, "socketpair: %s", strerror(errno));
		return PV_ERR_IO;
	}
	/* sv[0] is the watcher's (the table keeps it), sv[1] the approver's */
	if ((r = watch_new(c, sv[0], actor, (long)apid, 0, k->id, NULL, &who,
		 err, errlen)) != 0) {
		close(sv[0]);
		close(sv[1]);
		return r;
	}
	r = watch_pass_view(a, sv[1], k);
	close(sv[1]);
	if (r != 0) {
		for (i = 0; i < c->nwatchers; i++)
			if (c->watchers[i].fd == sv[0])
				watch_drop(c, i,
				    "the approver's session did "
				    "not take it");
		(void)snprintf(err, errlen, "your session did not take it");
		return r;
	}
	return 0;
}

int
broker_ctl_end_approver(struct broker_ctl *c, const char *approver,
    const char *addr, const char *id, const char *reason, char *err,
    size_t errlen)
{
	const struct broker_backend *b = &c->bx->backend;
	char actor[160], msg[160], clean[BROKER_CTL_REASON_MAX + 1];
	struct ctl_child *k;
	int n;

	if ((k = watch_kid_live(c, id, err, errlen)) == NULL)
		return PV_ERR_NOT_FOUND;
	/* only a moderator of the session ends it from the menu */
	if (k->moderated[0] == '\0' || b->ops->approver_in_group == NULL ||
	    b->ops->approver_in_group(b->ctx, approver, k->moderated) !=
		PV_ALLOW) {
		(void)snprintf(err, errlen,
		    "session %s: you do not moderate it (only an approver of "
		    "its Moderated group ends it here)",
		    k->id);
		return PV_ERR_DENIED;
	}
	if (k->ending) {
		(void)snprintf(err, errlen, "session %s: ending", k->id);
		return PV_ERR_CLOSED;
	}
	(void)snprintf(
	    actor, sizeof(actor), "approver:%s(from %s)", approver, addr);
	/* it goes to the engineer's terminal and the audit: text only */
	(void)snprintf(clean, sizeof(clean), "%s", reason);
	for (n = 0; clean[n] != '\0'; n++)
		if (clean[n] < 0x20 || clean[n] > 0x7e)
			clean[n] = '?';
	n = snprintf(msg, sizeof(msg), "session ended by moderator %s: %s",
	    approver, clean);
	if (n < 0 || (size_t)n >= sizeof(msg)) {
		(void)snprintf(err, errlen, "reason too long");
		return PV_ERR_RANGE;
	}
	if (broker_ctl_end(c, k, "session.kill", actor, msg) != 0) {
		(void)snprintf(err, errlen,
		    "session %s: its process did not take the message", k->id);
		return PV_ERR_IO;
	}
	return 0;
}

void
broker_ctl_watch_hangup(struct broker_ctl *c, int fd)
{
	size_t i;

	/* Watchers send nothing: a hang-up (or an error) is all that comes. */
	for (i = 0; i < c->nwatchers; i++)
		if (c->watchers[i].fd == fd) {
			watch_drop(c, i,
			    c->watchers[i].pid == 0 ? "gave up following"
						    : "detached");
			return;
		}
}

void
broker_ctl_watch_identity(struct broker_ctl *c, struct ctl_child *k)
{
	size_t i;

	if (!k->authenticated || k->target[0] == '\0')
		return;
	for (i = c->nwatchers; i-- > 0;) {
		struct ctl_watcher *w = &c->watchers[i];

		if (w->pid != 0 || strcmp(w->follow, k->engineer) != 0)
			continue;
		if (watch_attach(c, w, k) != 0) {
			pv_warn("session %s: follower %s not attached", k->id,
			    w->actor);
			watch_drop(c, i, "not attached");
		}
	}
}

void
broker_ctl_watch_gone(struct broker_ctl *c, struct ctl_child *k)
{
	size_t i;

	k->moderated[0] = '\0'; /* nothing more to tell it */
	for (i = c->nwatchers; i-- > 0;)
		if (c->watchers[i].pid == k->pid)
			watch_drop(c, i, "session ended");
}

void
broker_ctl_watch_free(struct broker_ctl *c)
{
	size_t i;

	for (i = 0; i < c->nwatchers; i++)
		if (c->watchers[i].fd >= 0)
			close(c->watchers[i].fd);
	free(c->watchers);
	c->watchers = NULL;
	c->nwatchers = c->watchcap = 0;
}
