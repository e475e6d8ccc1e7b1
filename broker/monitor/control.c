/*
 * control.c: provostd's side of live-session control: the table of session
 * processes, the control socket, pre-auth limits and store staleness.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "broker/monitor/control.h"
#include "broker/monitor/monitor.h"
#include "broker/monitor/control-int.h"
#include "policy/policy.h"
#include "store/store.h"

#define CTL_MAX_SOURCES 1024
#define CTL_STORE_POLL_MS 1000
#define CTL_IO_TIMEOUT_S 2
/* Ready descriptors taken per wake-up (the rest, level-triggered, next). */
#define CTL_EV_BATCH 256

static int
ctl_socket_dir_ok(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	const char *slash = strrchr(path, '/');
	struct stat st;
	int n;

	if (slash == NULL)
		return PV_ERR_CONFIG;
	n = snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if (n < 0 || (size_t)n >= sizeof(dir))
		return PV_ERR_RANGE;
	if (dir[0] == '\0')
		(void)snprintf(dir, sizeof(dir), "/");
	if (stat(dir, &st) != 0) {
		if (errno != ENOENT || mkdir(dir, 0700) != 0 ||
		    stat(dir, &st) != 0) {
			pv_error("ControlSocket %s: directory %s: %s", path,
			    dir, strerror(errno));
			return PV_ERR_IO;
		}
	}
	if (!S_ISDIR(st.st_mode) || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		pv_error("ControlSocket %s: directory %s is group or world "
			 "writable (or not a directory)",
		    path, dir);
		return PV_ERR_PERM;
	}
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			pv_error("ControlSocket %s exists and is not a socket",
			    path);
			return PV_ERR_EXISTS;
		}
		if (unlink(path) != 0) {
			pv_error("ControlSocket %s: %s", path, strerror(errno));
			return PV_ERR_IO;
		}
	}
	return 0;
}

static int
ctl_socket_open(const char *path, int *out)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	mode_t old;
	int fd, r;

	*out = -1;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		pv_error("ControlSocket %s: path too long", path);
		return PV_ERR_RANGE;
	}
	if ((r = ctl_socket_dir_ok(path)) != 0)
		return r;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(
		 AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
		return PV_ERR_IO;
	old = umask(0177);
	r = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	(void)umask(old);
	if (r != 0 || fchmod(fd, 0600) != 0 || chmod(path, 0600) != 0 ||
	    listen(fd, 16) != 0) {
		pv_error("ControlSocket %s: %s", path, strerror(errno));
		close(fd);
		return PV_ERR_IO;
	}
	*out = fd;
	return 0;
}

int
broker_ctl_new(struct broker_ctx *bx, struct broker_ctl **out)
{
	struct broker_ctl *c;
	struct policy *pol = NULL;
	char err[PV_CONF_ERR_MAX];
	int r;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return PV_ERR_ALLOC;
	c->bx = bx;
	c->lfd = -1;
	c->pending_fd = -1;
	c->store_fd = -1;
	c->store_ok_ms = pv_mono_ms();
	if ((c->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		pv_error("epoll: %s", strerror(errno));
		r = PV_ERR_IO;
		goto fail;
	}
	if ((r = policy_load_file(
		 bx->conf->policy_file, &pol, err, sizeof(err))) != 0) {
		pv_error("%s", err);
		goto fail;
	}
	broker_ctl_set_policy(c, pol);
	if ((r = ctl_socket_open(bx->conf->control_socket, &c->lfd)) != 0 ||
	    (r = broker_ctl_ev_add_kind(c, CTL_EV_CONTROL, c->lfd, EPOLLIN)) !=
		0)
		goto fail;
	pv_info("control socket %s", bx->conf->control_socket);
	*out = c;
	return 0;
fail:
	broker_ctl_free(c);
	return r;
}

void
broker_ctl_free(struct broker_ctl *c)
{
	size_t i;

	if (c == NULL)
		return;
	if (c->lfd >= 0) {
		close(c->lfd);
		(void)unlink(c->bx->conf->control_socket);
	}
	for (i = 0; i < c->nkids; i++)
		if (c->kids[i].fd >= 0)
			close(c->kids[i].fd);
	free(c->kids);
	broker_ctl_watch_free(c);
	free(c->src);
	free(c->linkidx);
	if (c->epfd >= 0)
		close(c->epfd);
	policy_free(c->pol);
	free(c);
}

void
broker_ctl_forget(struct broker_ctl *c)
{
	size_t i;

	/*
	 * The set is the parent's too (a forked descriptor names the same
	 * one): closed first, so that nothing below takes a descriptor out
	 * of the parent's set.
	 */
	if (c->epfd >= 0)
		close(c->epfd);
	c->epfd = -1;
	if (c->lfd >= 0)
		close(c->lfd);
	c->lfd = -1;
	if (c->pending_fd >= 0)
		close(c->pending_fd);
	c->pending_fd = -1;
	/*
	 * The tables are only read here, never written: a write would copy
	 * each of their pages, shared with the daemon, into this process
	 * (about 0.5 kB per session the daemon holds, in every session
	 * process).  They are emptied instead, so nothing here uses them.
	 */
	for (i = 0; i < c->nkids; i++)
		if (c->kids[i].fd >= 0)
			close(c->kids[i].fd);
	c->nkids = 0;
	/* A copy left here would hide a watcher's hang-up from the daemon. */
	for (i = 0; i < c->nwatchers; i++)
		if (c->watchers[i].fd >= 0)
			close(c->watchers[i].fd);
	c->nwatchers = 0;
}

int
broker_ctl_ev_add_kind(struct broker_ctl *c, int kind, int fd, uint32_t events)
{
	struct epoll_event e = {
		.events = events,
		.data.u64 = (uint64_t)(uint32_t)kind << 32 | (uint32_t)fd,
	};

	if (c->epfd < 0 || fd < 0)
		return PV_ERR_INVALID;
	if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &e) != 0) {
		pv_error("epoll_ctl: %s", strerror(errno));
		return PV_ERR_IO;
	}
	return 0;
}

int
broker_ctl_ev_add(struct broker_ctl *c, int kind, int fd)
{
	return broker_ctl_ev_add_kind(c, kind, fd, EPOLLIN);
}

void
broker_ctl_ev_del(struct broker_ctl *c, int fd)
{
	if (c->epfd >= 0 && fd >= 0)
		(void)epoll_ctl(c->epfd, EPOLL_CTL_DEL, fd, NULL);
}

int
broker_ctl_epfd(const struct broker_ctl *c)
{
	return c->epfd;
}

/* Where link fd's child is in kids: idx1 = 1 + its index, 0 = none. */
static int
ctl_link_map(struct broker_ctl *c, int fd, size_t idx1)
{
	if (fd < 0)
		return PV_ERR_INVALID;
	if ((size_t)fd >= c->linkcap) {
		size_t cap = (size_t)fd + 1 > 2 * c->linkcap ? (size_t)fd + 1
							     : 2 * c->linkcap;
		size_t *n = reallocarray(c->linkidx, cap, sizeof(*n));

		if (n == NULL)
			return PV_ERR_ALLOC;
		memset(n + c->linkcap, 0, (cap - c->linkcap) * sizeof(*n));
		c->linkidx = n;
		c->linkcap = cap;
	}
	c->linkidx[fd] = idx1;
	return 0;
}

/* A link closed by the daemon: out of the set and the map first. */
static void
ctl_link_close(struct broker_ctl *c, struct ctl_child *k)
{
	if (k->fd < 0)
		return;
	broker_ctl_ev_del(c, k->fd);
	if ((size_t)k->fd < c->linkcap)
		c->linkidx[k->fd] = 0;
	close(k->fd);
	k->fd = -1;
}

/* An audit row from the daemon itself; the store is closed again after. */
void
broker_ctl_audit(struct broker_ctl *c, const char *id, const char *event,
    const char *fmt, ...)
{
	struct broker_backend *b = &c->bx->backend;
	char detail[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (n < 0)
		detail[0] = '\0';
	if (b->ops->audit(b->ctx, id, event, detail) != 0)
		pv_warn("audit %s %s: not recorded (store unavailable)", event,
		    detail);
}

/*
 * Who a source is for the per-source limits: an IPv4 address, or the /64
 * of an IPv6 one (a host is handed a whole /64 and picks addresses in it
 * at will).  Anything unparsed is its own key.
 */
static void
ctl_source_key(const char *addr, char *out, size_t outlen)
{
	struct in6_addr a;
	char text[INET6_ADDRSTRLEN];

	if (strchr(addr, ':') != NULL && inet_pton(AF_INET6, addr, &a) == 1 &&
	    !IN6_IS_ADDR_V4MAPPED(&a)) {
		memset(a.s6_addr + 8, 0, 8);
		if (inet_ntop(AF_INET6, &a, text, sizeof(text)) != NULL) {
			(void)snprintf(out, outlen, "%s/64", text);
			return;
		}
	}
	(void)snprintf(out, outlen, "%s", addr);
}

static int
ctl_same_source(const char *a, const char *b)
{
	char ka[INET6_ADDRSTRLEN + 4], kb[INET6_ADDRSTRLEN + 4];

	ctl_source_key(a, ka, sizeof(ka));
	ctl_source_key(b, kb, sizeof(kb));
	return strcmp(ka, kb) == 0;
}

static struct ctl_source *
ctl_source(struct broker_ctl *c, const char *addr, int create)
{
	struct ctl_source *e, *oldest = NULL;
	char key[sizeof(e->addr)];
	size_t i;

	ctl_source_key(addr, key, sizeof(key));
	for (i = 0; c->src != NULL && i < c->nsrc; i++) {
		e = &c->src[i];
		if (strcmp(e->addr, key) == 0)
			return e;
		/*
		 * The stalest makes room, known-good sources last: failures
		 * from many addresses must not push them out.
		 */
		if (oldest == NULL ||
		    (oldest->good_ms != 0) > (e->good_ms != 0) ||
		    ((oldest->good_ms != 0) == (e->good_ms != 0) &&
			e->last_ms + e->good_ms <
			    oldest->last_ms + oldest->good_ms))
			oldest = e;
	}
	if (!create)
		return NULL;
	if (c->nsrc == c->srccap && c->srccap < CTL_MAX_SOURCES) {
		size_t cap = c->srccap ? c->srccap * 2 : 16;
		struct ctl_source *n = realloc(c->src, cap * sizeof(*n));

		if (n == NULL)
			return oldest;
		c->src = n;
		c->srccap = cap;
	}
	if (c->nsrc < c->srccap)
		e = &c->src[c->nsrc++];
	else
		e = oldest; /* full: the stalest entry makes room */
	if (e == NULL)
		return NULL;
	memset(e, 0, sizeof(*e));
	(void)snprintf(e->addr, sizeof(e->addr), "%s", key);
	return e;
}

/* The penalty ends DURATION after an address's last failure. */
static void
ctl_source_decay(struct broker_ctl *c, struct ctl_source *e, int64_t now)
{
	if (e->failures > 0 &&
	    now - e->last_ms > (int64_t)c->bx->conf->penalty_duration * 1000) {
		e->failures = 0;
		e->refused_noted = 0;
	}
}

/*
 * Known-good sources: an engineer authenticated from it within the last
 * CTL_KNOWN_DAYS (learned from the store's sessions at start, and from
 * every authentication since).  They have start capacity of their own
 * that a flood of unknown addresses cannot take (MaxStartups counts them
 * apart, and only its FULL applies to them), and CTL_KNOWN_PER_SOURCE
 * times PerSourceMaxStartups, for a burst of honest logins from one
 * control host (ansible -f 30).
 */
#define CTL_KNOWN_DAYS 7
#define CTL_KNOWN_PER_SOURCE 4

static void
ctl_source_good(struct broker_ctl *c, const char *addr, int64_t at_ms)
{
	struct ctl_source *e;

	if ((e = ctl_source(c, addr, 1)) != NULL && at_ms > e->good_ms)
		e->good_ms = at_ms;
}

static void
ctl_source_seen(void *cbctx, const char *addr, int64_t last)
{
	ctl_source_good(cbctx, addr, last * 1000);
}

static int
ctl_source_known(struct broker_ctl *c, const char *addr, int64_t now)
{
	struct broker_backend *b = &c->bx->backend;
	struct ctl_source *e;

	if (!c->sources_loaded && b->ops->recent_sources != NULL) {
		c->sources_loaded = 1;
		(void)b->ops->recent_sources(b->ctx,
		    now / 1000 - CTL_KNOWN_DAYS * 86400, ctl_source_seen, c);
	}
	return (e = ctl_source(c, addr, 0)) != NULL && e->good_ms != 0 &&
	    now - e->good_ms < (int64_t)CTL_KNOWN_DAYS * 86400 * 1000;
}

void
broker_ctl_auth_failed(struct broker_ctl *c, const char *addr, unsigned int n)
{
	struct ctl_source *e;

	if (n == 0 || (e = ctl_source(c, addr, 1)) == NULL)
		return;
	ctl_source_decay(c, e, pv_wall_ms());
	e->failures += n;
	e->last_ms = pv_wall_ms();
}

int
broker_ctl_admit(
    struct broker_ctl *c, const char *addr, const char *peer, int *child_fd)
{
	const struct pv_config *conf = c->bx->conf;
	uint32_t preauth = 0, mine = 0, p;
	int known;
	struct ctl_source *e;
	int64_t now = pv_wall_ms();
	int sv[2];
	size_t i;

	*child_fd = -1;
	c->verdict_delay_ms = 0;
	c->verdict_refuse[0] = '\0';
	c->verdict_known = known = ctl_source_known(c, addr, now);
	/* a known source counts against its own pool, an unknown one too */
	for (i = 0; i < c->nkids; i++) {
		if (c->kids[i].authenticated || c->kids[i].known != known)
			continue;
		preauth++;
		if (ctl_same_source(c->kids[i].addr, addr))
			mine++;
	}
	if (mine >=
	    conf->per_source_startups * (known ? CTL_KNOWN_PER_SOURCE : 1)) {
		c->drops++;
		if (pv_mono_ms() >= c->drop_log_ms) {
			pv_warn("dropped connection from %s: "
				"PerSourceMaxStartups %u (%llu dropped so far)",
			    peer, conf->per_source_startups,
			    (unsigned long long)c->drops);
			c->drop_log_ms = pv_mono_ms() + 1000;
		}
		return PV_DENY;
	}
	/*
	 * sshd's random early drop: rate% at START, rising to 100% at FULL.
	 * Known-good sources (their own pool) only meet FULL: a burst of
	 * honest logins from one host is no flood.
	 */
	if (preauth >= (known ? conf->startups_full : conf->startups_begin)) {
		uint32_t roll;

		if (preauth >= conf->startups_full)
			p = 100;
		else
			p = conf->startups_rate +
			    (uint32_t)((uint64_t)(100 - conf->startups_rate) *
				(preauth - conf->startups_begin) /
				(conf->startups_full - conf->startups_begin));
		if (pv_random_bytes(&roll, sizeof(roll)) != 0 ||
		    roll % 100 < p) {
			c->drops++;
			if (pv_mono_ms() >= c->drop_log_ms) {
				pv_warn("dropped connection from %s: "
					"MaxStartups %u:%u:%u with %u "
					"unauthenticated (%llu dropped so far)",
				    peer, conf->startups_begin,
				    conf->startups_rate, conf->startups_full,
				    preauth, (unsigned long long)c->drops);
				c->drop_log_ms = pv_mono_ms() + 1000;
			}
			return PV_DENY;
		}
	}
	if ((e = ctl_source(c, addr, 0)) != NULL) {
		ctl_source_decay(c, e, now);
		if (e->failures >= conf->penalty_failures) {
			pv_warn("refused connection from %s: %u authentication "
				"failures (PerSourcePenalty)",
			    peer, e->failures);
			if (!e->refused_noted) {
				e->refused_noted = 1;
				broker_ctl_audit(c, "-", "preauth.penalty",
				    "addr=%s failures=%u refused_for=%llus",
				    addr, e->failures,
				    (unsigned long long)conf->penalty_duration);
			}
			return PV_DENY;
		}
		/* Each failure adds a quarter second, up to 5 s. */
		c->verdict_delay_ms =
		    e->failures * 250 > 5000 ? 5000 : e->failures * 250;
	}
	if (c->stale)
		(void)snprintf(c->verdict_refuse, sizeof(c->verdict_refuse),
		    "provost: the governance store cannot be read; new "
		    "sessions are refused until it is back");
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		pv_error("socketpair: %s", strerror(errno));
		return PV_DENY;
	}
	c->pending_fd = sv[0];
	*child_fd = sv[1];
	return PV_ALLOW;
}

void
broker_ctl_child_add(
    struct broker_ctl *c, pid_t pid, const char *addr, const char *id)
{
	struct ctl_child *k;

	if (pid < 0 || (c->nkids == c->kidcap && c->kidcap >= 100000)) {
		close(c->pending_fd);
		c->pending_fd = -1;
		return;
	}
	if (c->nkids == c->kidcap) {
		size_t cap = c->kidcap ? c->kidcap * 2 : 32;
		struct ctl_child *n = realloc(c->kids, cap * sizeof(*n));

		if (n == NULL) {
			close(c->pending_fd);
			c->pending_fd = -1;
			return;
		}
		c->kids = n;
		c->kidcap = cap;
	}
	k = &c->kids[c->nkids++];
	*k = (struct ctl_child){
		.pid = pid,
		.fd = c->pending_fd,
		.known = c->verdict_known,
		.start = (int64_t)time(NULL),
		.active_ms = pv_wall_ms(),
		.mod_told = -1,
	};
	(void)snprintf(k->addr, sizeof(k->addr), "%s", addr);
	(void)snprintf(k->id, sizeof(k->id), "%s", id != NULL ? id : "");
	(void)fcntl(k->fd, F_SETFL, O_NONBLOCK);
	c->pending_fd = -1;
	/*
	 * Not watched, a link could not be heard: closed instead, so the
	 * process ends (provostd gone) rather than run unsupervised.
	 */
	if (ctl_link_map(c, k->fd, c->nkids) != 0 ||
	    broker_ctl_ev_add_kind(c, CTL_EV_LINK, k->fd, EPOLLIN) != 0)
		ctl_link_close(c, k);
}

void
broker_ctl_child_identity(struct broker_ctl *c, pid_t pid, const char *engineer,
    const char *target, const char *account, const char *classification)
{
	struct ctl_child *k = NULL;
	size_t i;

	for (i = 0; i < c->nkids && k == NULL; i++)
		if (c->kids[i].pid == pid)
			k = &c->kids[i];
	if (k == NULL)
		return;
	if (engineer != NULL && engineer[0] != '\0') {
		if (!k->authenticated)
			ctl_source_good(c, k->addr, pv_wall_ms());
		k->authenticated = 1;
		(void)snprintf(
		    k->engineer, sizeof(k->engineer), "%s", engineer);
	}
	if (target != NULL && target[0] != '\0') {
		(void)snprintf(k->target, sizeof(k->target), "%s", target);
		(void)snprintf(k->account, sizeof(k->account), "%s",
		    account != NULL ? account : "");
		(void)snprintf(k->classification, sizeof(k->classification),
		    "%s", classification != NULL ? classification : "");
		broker_ctl_watch_identity(c, k);
	}
}

void
broker_ctl_child_moderated(struct broker_ctl *c, pid_t pid, const char *group)
{
	size_t i;

	if (group == NULL || group[0] == '\0')
		return;
	for (i = 0; i < c->nkids; i++)
		if (c->kids[i].pid == pid && c->kids[i].moderated[0] == '\0') {
			(void)snprintf(c->kids[i].moderated,
			    sizeof(c->kids[i].moderated), "%s", group);
			/* watchers that came first: moderators now? */
			broker_ctl_watch_rate(c, &c->kids[i]);
			broker_ctl_watch_moderation(c, &c->kids[i]);
		}
}

int
broker_ctl_moderator_on(struct broker_ctl *c, pid_t pid)
{
	size_t i;

	for (i = 0; i < c->nkids; i++)
		if (c->kids[i].pid == pid)
			return c->kids[i].mod_told == 1;
	return 0;
}

static void ctl_child_report(struct broker_ctl *c, struct ctl_child *k);

void
broker_ctl_child_gone(
    struct broker_ctl *c, pid_t pid, uint64_t *bytes_in, uint64_t *bytes_out)
{
	size_t i;

	*bytes_in = *bytes_out = 0;
	for (i = 0; i < c->nkids; i++) {
		if (c->kids[i].pid != pid)
			continue;
		if (c->kids[i].fd >= 0) {
			ctl_child_report(c, &c->kids[i]); /* still queued */
			ctl_link_close(c, &c->kids[i]);
		}
		*bytes_in = c->kids[i].bytes_in;
		*bytes_out = c->kids[i].bytes_out;
		broker_ctl_watch_gone(c, &c->kids[i]);
		c->kids[i] = c->kids[--c->nkids];
		/* the last one moved into the slot: its link follows */
		if (i < c->nkids && c->kids[i].fd >= 0)
			(void)ctl_link_map(c, c->kids[i].fd, i + 1);
		break;
	}
}

struct ctl_child *
broker_ctl_find(struct broker_ctl *c, const char *id, int *ambiguous)
{
	struct ctl_child *hit = NULL;
	size_t i, len = strlen(id);

	*ambiguous = 0;
	if (len < 8)
		return NULL;
	for (i = 0; i < c->nkids; i++) {
		if (c->kids[i].id[0] == '\0' ||
		    strncmp(c->kids[i].id, id, len) != 0)
			continue;
		if (hit != NULL) {
			*ambiguous = 1;
			return NULL;
		}
		hit = &c->kids[i];
	}
	return hit;
}

int
broker_ctl_tell(struct ctl_child *k, const char *msg)
{
	size_t len = strlen(msg);

	if (k->fd < 0)
		return PV_ERR_CLOSED;
	if (send(k->fd, msg, len, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)len)
		return PV_ERR_IO;
	return 0;
}

/*
 * A session told to end (a kill, a revocation, staleness) ends itself: the engineer
 * reads why, the recording is sealed, the row closed.  One that has not
 * gone this long after being told (stopped, hung, or no longer ours to
 * trust) is killed, and the monitor marks its row aborted.
 */
#define CTL_END_GRACE_MS 10000
/*
 * The monitor's revocation scan, for revokes made by other brokers (and
 * provostctl without a control socket): one query of the store, twice a
 * second, so that a revocation at any broker ends a session at any other
 * within a second (issue 17: 0.9-1.0 s with a scan a second).
 */
#define CTL_REVOKE_SCAN_MS 500

static void
ctl_told_to_end(struct ctl_child *k)
{
	k->ending = 1;
	if (k->end_told_ms == 0)
		k->end_told_ms = pv_mono_ms();
}

static void
ctl_end_overdue(struct broker_ctl *c)
{
	uint64_t now = pv_mono_ms();
	size_t i;

	for (i = 0; i < c->nkids; i++) {
		struct ctl_child *k = &c->kids[i];

		if (k->end_told_ms == 0 || k->end_killed || k->pid <= 0 ||
		    now - k->end_told_ms < CTL_END_GRACE_MS)
			continue;
		pv_warn("session %s: still running %d s after it was told to "
			"end: killed",
		    k->id, CTL_END_GRACE_MS / 1000);
		(void)kill(k->pid, SIGKILL);
		k->end_killed = 1;
	}
}

/* Ends a session with reason shown to the engineer; audited by actor. */
int
broker_ctl_end(struct broker_ctl *c, struct ctl_child *k, const char *event,
    const char *actor, const char *reason)
{
	char msg[256];
	int n, r;

	n = snprintf(msg, sizeof(msg), "E\t%s", reason);
	if (n < 0 || (size_t)n >= sizeof(msg))
		return PV_ERR_RANGE;
	r = broker_ctl_tell(k, msg);
	ctl_told_to_end(k);
	pv_info("session %s: %s by %s: %s", k->id, event, actor, reason);
	broker_ctl_audit(c, k->id, event,
	    "admin=%s engineer=%s target=%s reason=%s", actor, k->engineer,
	    k->target, reason);
	return r;
}

/*
 * provostd is stopping: every session process is told to end, as a kill
 * would (the engineer sees the reason, the recording is sealed, the row
 * closed by the session itself); those not logged in yet just end.
 */
void
broker_ctl_stop(struct broker_ctl *c, const char *reason)
{
	char msg[256];
	size_t i;

	(void)snprintf(msg, sizeof(msg), "E\t%s", reason);
	for (i = 0; i < c->nkids; i++) {
		if (c->kids[i].ending)
			continue;
		if (broker_ctl_tell(&c->kids[i], msg) != 0 &&
		    c->kids[i].pid > 0)
			(void)kill(c->kids[i].pid, SIGTERM);
		c->kids[i].ending = 1;
	}
}

/*
 * A revoke was made: the monitor's scan runs at once (the session
 * processes are not asked; they no longer check for themselves).
 */
void
broker_ctl_nudge(struct broker_ctl *c)
{
	c->revoke_now = 1;
}

int
broker_ctl_revoke_due(struct broker_ctl *c)
{
	uint64_t now = pv_mono_ms();

	if (!c->revoke_now && now < c->revoke_next_ms)
		return 0;
	c->revoke_now = 0;
	c->revoke_next_ms = now + CTL_REVOKE_SCAN_MS;
	return 1;
}

void
broker_ctl_ended(
    struct broker_ctl *c, const char *id, const char *event, const char *why)
{
	struct ctl_child *k;
	int ambiguous;

	if ((k = broker_ctl_find(c, id, &ambiguous)) == NULL || k->ending)
		return;
	(void)broker_ctl_end(c, k, event, "broker", why);
}

void
broker_ctl_set_policy(struct broker_ctl *c, struct policy *pol)
{
	policy_free(c->pol);
	c->pol = pol;
	c->stale_rank = policy_level_rank(c->pol, "confidential");
	if (c->stale_rank < 0)
		c->stale_rank = 0;
}

/* Splits a tab-separated report into at most max fields (in place). */
static int
ctl_fields(char *s, char **f, int max)
{
	int n = 0;

	while (n < max) {
		f[n++] = s;
		if ((s = strchr(s, '\t')) == NULL)
			break;
		*s++ = '\0';
	}
	return n;
}

/* A malformed report: killed (the monitor marks its row aborted). */
static void
ctl_bad_report(struct broker_ctl *c, struct ctl_child *k)
{
	pv_error("session %s: session process %ld killed: a malformed report",
	    k->id[0] ? k->id : "-", (long)k->pid);
	broker_ctl_audit(c, k->id, "session.monitor_violation",
	    "pid=%ld reason=a malformed report", (long)k->pid);
	if (k->pid > 0 && !k->end_killed)
		(void)kill(k->pid, SIGKILL);
	k->end_killed = 1;
	k->ending = 1;
	ctl_link_close(c, k);
}

static void
ctl_child_report(struct broker_ctl *c, struct ctl_child *k)
{
	char buf[1024], *f[6];
	uint64_t in, out;
	int64_t t;
	ssize_t n;
	int nf;

	for (;;) {
		n = recv(k->fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			ctl_link_close(c, k);
			return;
		}
		buf[n] = '\0';
		nf = ctl_fields(buf, f, 6);
		if (strcmp(f[0], "F") == 0 && nf == 1) {
			broker_ctl_auth_failed(c, k->addr, 1);
		} else if (strcmp(f[0], "S") == 0 && nf == 4 &&
		    pv_parse_u64(f[1], 0, UINT64_MAX, &in) == 0 &&
		    pv_parse_u64(f[2], 0, UINT64_MAX, &out) == 0 &&
		    pv_parse_i64(f[3], 0, INT64_MAX, &t) == 0) {
			k->bytes_in = in;
			k->bytes_out = out;
			k->active_ms = t;
		} else {
			/*
			 * Counters are all a session process reports; who
			 * it is comes from the monitor.  Anything else is a
			 * lie or a fault: the process goes.
			 */
			ctl_bad_report(c, k);
			return;
		}
	}
}

/*
 * Each signed checkpoint of the audit chain goes to the log (journald,
 * syslog) as it is made, by whichever program made it: an anchor kept off
 * this host (docs/threat-model.md).  At warn level, so that LogLevel warn
 * keeps them.  The last one published is kept in the state directory, so
 * a restart publishes what was made while provostd was down.
 */
#define CTL_ANCHOR_FILE "audit-anchor.published"

static void
ctl_anchor_log(void *cbctx, uint64_t seq, const char *json)
{
	(void)cbctx;
	(void)seq;
	pv_warn("audit anchor: %s", json);
}

static void
ctl_anchors(struct broker_ctl *c)
{
	struct broker_backend *b = &c->bx->backend;
	char path[4096], tmp[4200], buf[32];
	uint64_t before;
	FILE *fp;

	if (b->ops->audit_anchors == NULL ||
	    snprintf(path, sizeof(path), "%s/%s", c->bx->conf->state_dir,
		CTL_ANCHOR_FILE) >= (int)sizeof(path))
		return;
	if (!c->anchor_loaded) {
		c->anchor_loaded = 1;
		if ((fp = fopen(path, "re")) != NULL) {
			if (fgets(buf, sizeof(buf), fp) != NULL) {
				buf[strcspn(buf, "\n")] = '\0';
				(void)pv_parse_u64(
				    buf, 0, INT64_MAX, &c->anchor_seq);
			}
			(void)fclose(fp);
		}
	}
	before = c->anchor_seq;
	if (b->ops->audit_anchors(b->ctx, &c->anchor_seq, ctl_anchor_log, c) !=
		0 ||
	    c->anchor_seq == before)
		return;
	(void)snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((fp = fopen(tmp, "we")) == NULL)
		return;
	fprintf(fp, "%llu\n", (unsigned long long)c->anchor_seq);
	if (fclose(fp) == 0)
		(void)rename(tmp, path);
}

/*
 * Every second: can the store be read?  Past StoreStaleness, sessions at
 * confidential and above end and new connections are refused.
 */
static void
ctl_store_poll(struct broker_ctl *c)
{
	struct broker_backend *b = &c->bx->backend;
	uint64_t now = pv_mono_ms(), cursor = 0;
	char why[64];
	size_t i;
	int r;

	if (now < c->store_next_ms)
		return;
	c->store_next_ms = now + CTL_STORE_POLL_MS;
	r = b->ops->revoked(b->ctx, "-", NULL, "-", &cursor, why, sizeof(why));
	if (r >= 0) {
		ctl_anchors(c);
		if (c->stale)
			pv_warn("the store can be read again: new sessions are "
				"accepted");
		c->stale = 0;
		c->store_ok_ms = now;
		return;
	}
	if (now - c->store_ok_ms <= c->bx->conf->store_staleness * 1000)
		return;
	if (!c->stale)
		pv_error("the store could not be read for %llu s "
			 "(StoreStaleness): ending sessions at confidential "
			 "and above, refusing new ones",
		    (unsigned long long)((now - c->store_ok_ms) / 1000));
	c->stale = 1;
	for (i = 0; i < c->nkids; i++) {
		struct ctl_child *k = &c->kids[i];
		int rank;

		if (k->ending || k->target[0] == '\0')
			continue;
		rank = policy_level_rank(c->pol, k->classification);
		if (rank >= 0 && rank < c->stale_rank)
			continue;
		pv_warn("session %s: ended: the store is stale (%s is %s)",
		    k->id, k->target, k->classification);
		ctl_told_to_end(k);
		(void)broker_ctl_tell(k,
		    "E\tsession ended: the governance store cannot be read "
		    "(fail closed)");
	}
}

/*
 * The store's socket in the epoll set while the store announces
 * revocations (PostgreSQL: LISTEN on each connection).  A connection
 * closed left the set with its descriptor; a new one is added.  Edge
 * triggered: a copy of an old socket still open in a forked process
 * wakes the set once, not for ever, and what libpq read during a query
 * is taken after each wait.
 */
static void
ctl_store_watch(struct broker_ctl *c)
{
	struct broker_backend *b = &c->bx->backend;
	struct epoll_event e;
	uint64_t gen = 0;
	int fd;

	if (b->ops->notify_fd == NULL || c->epfd < 0)
		return;
	if ((fd = b->ops->notify_fd(b->ctx, &gen)) < 0) {
		c->store_fd = -1;
		return;
	}
	if (fd == c->store_fd && gen == c->store_gen)
		return;
	e = (struct epoll_event){ .events = EPOLLIN | EPOLLET,
		.data.u64 = (uint64_t)CTL_EV_STORE << 32 | (uint32_t)fd };
	if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &e) != 0 && errno != EEXIST) {
		pv_warn("epoll_ctl (the store's socket): %s; revocations are "
			"read by the scan alone",
		    strerror(errno));
		return;
	}
	c->store_fd = fd;
	c->store_gen = gen;
}

/* Announced revocations run the scan at once (the next round's). */
static void
ctl_store_heard(struct broker_ctl *c, int read)
{
	struct broker_backend *b = &c->bx->backend;

	if (b->ops->notified != NULL && b->ops->notified(b->ctx, read) > 0)
		broker_ctl_nudge(c);
}

int
broker_ctl_wait(struct broker_ctl *c, struct broker_ev *ev, int max, int ms)
{
	struct epoll_event e[CTL_EV_BATCH];
	uint64_t now;
	size_t at;
	int n, i, kind, fd, out = 0, control = 0, store = 0;

	ctl_store_watch(c);
	n = epoll_wait(c->epfd, e, CTL_EV_BATCH, ms);
	if (n < 0 && errno != EINTR)
		pv_warn("epoll_wait: %s", strerror(errno));
	for (i = 0; i < n; i++) {
		kind = (int)(e[i].data.u64 >> 32);
		fd = (int)(uint32_t)e[i].data.u64;
		switch (kind) {
		case CTL_EV_LINK:
			/* the map says whose: O(1), not a walk of the table */
			if ((size_t)fd < c->linkcap &&
			    (at = c->linkidx[fd]) != 0 && at <= c->nkids &&
			    c->kids[at - 1].fd == fd)
				ctl_child_report(c, &c->kids[at - 1]);
			break;
		case CTL_EV_WATCHER:
			broker_ctl_watch_hangup(c, fd);
			break;
		case CTL_EV_CONTROL:
			control = 1;
			break;
		case CTL_EV_STORE:
			store = fd == c->store_fd;
			break;
		default:
			if (out < max)
				ev[out++] = (struct broker_ev){ .kind = kind,
					.fd = fd,
					.events = e[i].events };
		}
	}
	/* after the reports and hang-ups: a new watcher takes a slot */
	if (control)
		broker_ctl_serve(c, c->lfd);
	ctl_store_heard(c, store);
	ctl_store_poll(c);
	/* the 10 s grace needs no finer look than a quarter second */
	now = pv_mono_ms();
	if (now >= c->overdue_next_ms) {
		c->overdue_next_ms = now + 250;
		ctl_end_overdue(c);
	}
	return n < 0 ? -1 : out;
}

void
broker_ctl_verdict(
    const struct broker_ctl *c, uint32_t *delay_ms, const char **refuse)
{
	*delay_ms = c->verdict_delay_ms;
	*refuse = c->verdict_refuse;
}
