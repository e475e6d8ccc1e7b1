/*
 * daemon.c: provostd's main(): options, configuration, keys, listeners on
 * every ListenAddress, one session process per connection, reaping.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <netinet/in.h>

#include <libssh/libssh.h>
#include <libssh/server.h>

#include "broker/monitor/control.h"
#include "broker/monitor/monitor.h"
#include "broker/monitor/resolver.h"
#include "broker/privsep/sandbox.h"
#include "plugins/plugins.h"
#include "policy/policy.h"
#include "recorder/recorder.h"
#include "store/store.h"

#define DEFAULT_CONFIG "/etc/provost/provostd.conf"
#define MAX_LISTENERS 64

/*
 * Modern algorithms only (broker/algos.c: the best this libssh has, or the
 * configured lists); strict kex is on in libssh >= 0.10.6.
 */
#define SERVER_PUBKEY_TYPES                                    \
	"ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384," \
	"ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,"      \
	"sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256"

/* Signal handlers only set these. */
static volatile sig_atomic_t got_term;
static volatile sig_atomic_t n_term;
static volatile sig_atomic_t got_chld;
static volatile sig_atomic_t got_hup;

/*
 * On the first SIGTERM provostd stops accepting and tells every session to
 * end (the engineer is told, the recording sealed, the row ended as
 * aborted with the reason); it goes on serving their last requests for up to this long, then kills
 * what is left.  A second signal kills at once.  systemd's stop timeout
 * (90 s by default, KillMode=mixed) is longer.
 */
#define STOP_GRACE_MS 10000

static void
on_term(int sig)
{
	got_term = sig;
	n_term++;
}

static void
on_chld(int sig)
{
	got_chld = 1;
}

static void
on_hup(int sig)
{
	got_hup = 1;
}

/* -h and --help: to stdout, exit 0; a bad option: to stderr, exit 2. */
static void
usage(int help)
{
	fprintf(help ? stdout : stderr,
	    "usage: provostd [-f CONFIG] [-D] [-t | -T] [-d]\n"
	    "  -f CONFIG  the configuration (default %s)\n"
	    "  -D         stay in the foreground, log to stderr\n"
	    "  -t         check the configuration, the policy and the keys\n"
	    "  -T         the same, then print the configuration in force\n"
	    "  -d         debug logging\n",
	    DEFAULT_CONFIG);
	exit(help ? 0 : 2);
}

static int
path_join(char *out, size_t outlen, const char *dir, const char *name)
{
	int n = snprintf(out, outlen, "%s/%s", dir, name);

	return n > 0 && (size_t)n < outlen ? 0 : PV_ERR_RANGE;
}

/* The engineer's leg's lists (the target leg's live in broker_ctx). */
struct server_algos {
	char kex[512], ciphers[256], macs[256], hostkeys[256];
};

/*
 * Both legs' lists, from the configuration or the best this libssh has;
 * a configured name libssh lacks is one line on stderr and a refusal.
 */
static int
resolve_algos(const struct pv_config *c, const char *conf_path,
    struct server_algos *sa, struct broker_ctx *bx)
{
	char err[256];
	int r;

	if ((r = broker_algos(c, BROKER_ALGO_KEX, 1, sa->kex, sizeof(sa->kex),
		 err, sizeof(err))) != 0 ||
	    (r = broker_algos(c, BROKER_ALGO_CIPHER, 1, sa->ciphers,
		 sizeof(sa->ciphers), err, sizeof(err))) != 0 ||
	    (r = broker_algos(c, BROKER_ALGO_MAC, 1, sa->macs, sizeof(sa->macs),
		 err, sizeof(err))) != 0 ||
	    (r = broker_algos(c, BROKER_ALGO_HOSTKEY, 1, sa->hostkeys,
		 sizeof(sa->hostkeys), err, sizeof(err))) != 0 ||
	    (r = broker_algos(c, BROKER_ALGO_KEX, 0, bx->target_kex,
		 sizeof(bx->target_kex), err, sizeof(err))) != 0 ||
	    (r = broker_algos(c, BROKER_ALGO_CIPHER, 0, bx->target_ciphers,
		 sizeof(bx->target_ciphers), err, sizeof(err))) != 0 ||
	    (r = broker_algos(c, BROKER_ALGO_MAC, 0, bx->target_macs,
		 sizeof(bx->target_macs), err, sizeof(err))) != 0) {
		fprintf(stderr, "provostd: %s: %s\n", conf_path, err);
		return r;
	}
	return 0;
}

static int
setup_bind(
    const struct pv_config *c, const struct server_algos *sa, ssh_bind *out)
{
	char path[4096];
	ssh_bind b;
	ssh_key hk = NULL;
	bool no = false;

	*out = NULL;
	if (path_join(path, sizeof(path), c->state_dir, "host_ed25519") != 0 ||
	    (b = ssh_bind_new()) == NULL)
		return PV_ERR_ALLOC;
	/*
	 * Loaded here, as root: session processes (SandboxUser) cannot read
	 * the state directory, and libssh would load it at each accept.
	 */
	if (ssh_pki_import_privkey_file(path, NULL, NULL, NULL, &hk) !=
	    SSH_OK) {
		pv_error("host key %s: cannot load", path);
		ssh_bind_free(b);
		return PV_ERR_CONFIG;
	}
	if (ssh_bind_options_set(b, SSH_BIND_OPTIONS_IMPORT_KEY, hk) < 0) {
		pv_error("host key %s: %s", path, ssh_get_error(b));
		ssh_key_free(hk);
		ssh_bind_free(b);
		return PV_ERR_CONFIG;
	}
	/* the bind owns hk now */
	if (ssh_bind_options_set(b, SSH_BIND_OPTIONS_PROCESS_CONFIG, &no) < 0 ||
	    ssh_bind_options_set(b, SSH_BIND_OPTIONS_KEY_EXCHANGE, sa->kex) <
		0 ||
	    ssh_bind_options_set(b, SSH_BIND_OPTIONS_CIPHERS_C_S, sa->ciphers) <
		0 ||
	    ssh_bind_options_set(b, SSH_BIND_OPTIONS_CIPHERS_S_C, sa->ciphers) <
		0 ||
	    ssh_bind_options_set(b, SSH_BIND_OPTIONS_HMAC_C_S, sa->macs) < 0 ||
	    ssh_bind_options_set(b, SSH_BIND_OPTIONS_HMAC_S_C, sa->macs) < 0 ||
	    ssh_bind_options_set(
		b, SSH_BIND_OPTIONS_HOSTKEY_ALGORITHMS, sa->hostkeys) < 0 ||
	    ssh_bind_options_set(b, SSH_BIND_OPTIONS_PUBKEY_ACCEPTED_KEY_TYPES,
		SERVER_PUBKEY_TYPES) < 0) {
		pv_error("host key %s: %s", path, ssh_get_error(b));
		ssh_bind_free(b);
		return PV_ERR_CONFIG;
	}
	*out = b;
	return 0;
}

static int
open_listeners(const struct pv_config *c, struct pollfd *pfd, int *npfd)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_PASSIVE | AI_NUMERICSERV,
	};
	struct addrinfo *res, *ai;
	struct broker_listen la;
	char port[8];
	size_t i;
	int fd, one = 1, rc;

	*npfd = 0;
	for (i = 0; i < c->nlisten; i++) {
		if (broker_listen_parse(c->listen[i], &la) != 0) {
			pv_error(
			    "ListenAddress %s: not HOST:PORT", c->listen[i]);
			return PV_ERR_CONFIG;
		}
		(void)snprintf(port, sizeof(port), "%u", la.port);
		if ((rc = getaddrinfo(la.host, port, &hints, &res)) != 0) {
			pv_error(
			    "ListenAddress %s: %s", la.host, gai_strerror(rc));
			return PV_ERR_CONFIG;
		}
		for (ai = res; ai != NULL && *npfd < MAX_LISTENERS;
		     ai = ai->ai_next) {
			fd = socket(ai->ai_family,
			    ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
			if (fd < 0)
				continue;
			(void)setsockopt(
			    fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
			if (ai->ai_family == AF_INET6)
				(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY,
				    &one, sizeof(one));
			if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 ||
			    listen(fd, 128) != 0) {
				pv_error("cannot listen on %s port %s: %s",
				    la.host, port, strerror(errno));
				close(fd);
				freeaddrinfo(res);
				return PV_ERR_IO;
			}
			pfd[*npfd].fd = fd;
			pfd[*npfd].events = POLLIN;
			(*npfd)++;
			pv_info("listening on %s port %s", la.host, port);
		}
		freeaddrinfo(res);
	}
	return *npfd > 0 ? 0 : PV_ERR_CONFIG;
}

static void
peer_name(const struct sockaddr_storage *ss, socklen_t sl, char *out,
    size_t outlen, char *addr, size_t addrlen)
{
	char h[NI_MAXHOST], p[NI_MAXSERV];
	int n = -1;

	if (getnameinfo((const struct sockaddr *)ss, sl, h, sizeof(h), p,
		sizeof(p), NI_NUMERICHOST | NI_NUMERICSERV) == 0)
		n = snprintf(out, outlen, "%.64s port %.8s", h, p);
	if (n < 0 || (size_t)n >= outlen) {
		(void)snprintf(out, outlen, "?");
		(void)snprintf(addr, addrlen, "?");
	} else
		(void)snprintf(addr, addrlen, "%.63s", h);
}

/*
 * Descriptors the monitor holds for each session process: its monitor
 * socket, its control link, its own descriptor of the recording (hashed
 * as it grows), and one passed in an answer while that is in flight.
 */
#define NOFILE_PER_SESSION 4
/*
 * And besides: the listeners (MAX_LISTENERS), watchers (256 in all), and
 * the rest: stdin, stdout, stderr, the store's files (database, -wal,
 * -shm), syslog, the control socket and the client being served, the
 * epoll set, the plugin host, a burst of connections not yet forked.
 */
#define NOFILE_FIXED (MAX_LISTENERS + 256 + 64)

/*
 * RLIMIT_NOFILE's soft limit raised to what MaxSessions needs; a hard
 * limit below it is one line in err (systemd: LimitNOFILE=).
 */
static int
nofile_raise(uint32_t max_sessions, char *err, size_t errlen)
{
	rlim_t need = (rlim_t)max_sessions * NOFILE_PER_SESSION + NOFILE_FIXED;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
		(void)snprintf(err, errlen, "getrlimit(RLIMIT_NOFILE): %s",
		    strerror(errno));
		return PV_ERR_INTERNAL;
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need)
		return 0;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
		(void)snprintf(err, errlen,
		    "MaxSessions %u needs %llu file descriptors (%d per "
		    "session and %d), but the hard limit (RLIMIT_NOFILE) is "
		    "%llu: raise it (LimitNOFILE= in provostd.service, ulimit "
		    "-Hn) or lower MaxSessions",
		    max_sessions, (unsigned long long)need, NOFILE_PER_SESSION,
		    NOFILE_FIXED, (unsigned long long)rl.rlim_max);
		return PV_ERR_CONFIG;
	}
	rl.rlim_cur = need;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
		(void)snprintf(err, errlen,
		    "setrlimit(RLIMIT_NOFILE, %llu): %s",
		    (unsigned long long)need, strerror(errno));
		return PV_ERR_PERM;
	}
	pv_verbose("RLIMIT_NOFILE raised to %llu for MaxSessions %u",
	    (unsigned long long)need, max_sessions);
	return 0;
}

/* The session processes' user, resolved once at start-up. */
struct sandbox_id {
	uid_t uid;
	gid_t gid;
	int drop; /* we are root: children drop to uid/gid */
};

static int
sandbox_user(const struct pv_config *c, struct sandbox_id *out)
{
	struct passwd pwd, *pw = NULL;
	char buf[4096];
	int e;

	memset(out, 0, sizeof(*out));
	e = getpwnam_r(c->sandbox_user, &pwd, buf, sizeof(buf), &pw);
	if (e != 0 || pw == NULL) {
		pv_error("SandboxUser %s: no such user (create it, e.g. "
			 "useradd --system --no-create-home --shell "
			 "/usr/sbin/nologin %s)",
		    c->sandbox_user, c->sandbox_user);
		return PV_ERR_CONFIG;
	}
	if (pw->pw_uid == 0 || pw->pw_gid == 0) {
		pv_error("SandboxUser %s: must not be root or in group root",
		    c->sandbox_user);
		return PV_ERR_CONFIG;
	}
	out->uid = pw->pw_uid;
	out->gid = pw->pw_gid;
	out->drop = geteuid() == 0;
	return 0;
}

/*
 * In a new session process: to the SandboxUser for good, verified (no way
 * back to root).  Fails closed: the caller exits.
 */
static int
drop_privileges(const struct sandbox_id *sb)
{
	if (!sb->drop)
		return 0;
	if (setgroups(1, &sb->gid) != 0 || setgid(sb->gid) != 0 ||
	    setuid(sb->uid) != 0) {
		pv_error("cannot drop to the SandboxUser: %s", strerror(errno));
		return PV_ERR_PERM;
	}
	if (getuid() != sb->uid || geteuid() != sb->uid ||
	    getgid() != sb->gid || getegid() != sb->gid || setuid(0) != -1 ||
	    setgid(0) != -1) {
		pv_error("privileges not dropped (uid %ld euid %ld)",
		    (long)getuid(), (long)geteuid());
		return PV_ERR_PERM;
	}
	return 0;
}

/* Ready descriptors the daemon takes per wake-up. */
#define DAEMON_EV_MAX 256
/* The monitor looks at every session process (timeouts, hashing) this often. */
#define DAEMON_TICK_MS 100
/* The longest wait for an event: the revocation scan's half second. */
#define DAEMON_WAIT_MS 500
/* SQLite's page cache (2,000 KiB by default), in pages of its own */
#define DAEMON_STORE_CACHE ((size_t)2048 * 1024)

/* The monitor's side of every live session process. */
struct kids {
	struct broker_mon_child **v;
	int *fd; /* v[i]'s monitor socket as it was added (the map's key) */
	size_t n, cap;
	/* a monitor socket -> its session process: O(1) per ready socket */
	struct broker_mon_child **byfd;
	size_t nbyfd;
	/* the name resolver's process (broker/monitor/resolver.c) */
	struct broker_resolver *res;
};

static struct broker_mon_child *
kids_find(struct kids *k, pid_t pid, size_t *at)
{
	size_t i;

	for (i = 0; i < k->n; i++)
		if (broker_monsrv_pid(k->v[i]) == pid) {
			*at = i;
			return k->v[i];
		}
	return NULL;
}

static int
kids_add(struct kids *k, struct broker_mon_child *c)
{
	if (k->n == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 16;
		struct broker_mon_child **v =
		    realloc(k->v, cap * sizeof(struct broker_mon_child *));

		if (v == NULL)
			return PV_ERR_ALLOC;
		k->v = v;
		int *f = reallocarray(k->fd, cap, sizeof(int));

		if (f == NULL)
			return PV_ERR_ALLOC;
		k->fd = f;
		k->cap = cap;
	}
	k->fd[k->n] = -1;
	k->v[k->n++] = c;
	return 0;
}

/* The last one added (at): its socket in the map and in the epoll set. */
static int
kids_watch(struct kids *k, struct broker_ctl *ctl, size_t at)
{
	struct broker_mon_child *c = k->v[at];
	int fd = broker_monsrv_sock(c);

	if (fd < 0)
		return PV_ERR_INVALID;
	if ((size_t)fd >= k->nbyfd) {
		size_t cap = (size_t)fd + 1 > 2 * k->nbyfd ? (size_t)fd + 1
							   : 2 * k->nbyfd;
		struct broker_mon_child **m = reallocarray(
		    k->byfd, cap, sizeof(struct broker_mon_child *));

		if (m == NULL)
			return PV_ERR_ALLOC;
		memset(m + k->nbyfd, 0,
		    (cap - k->nbyfd) * sizeof(struct broker_mon_child *));
		k->byfd = m;
		k->nbyfd = cap;
	}
	if (broker_ctl_ev_add(ctl, BROKER_EV_MONITOR, fd) != 0)
		return PV_ERR_IO;
	k->byfd[fd] = c;
	k->fd[at] = fd;
	broker_monsrv_set_epoll(c, broker_ctl_epfd(ctl));
	return 0;
}

/* Whose monitor socket fd is (NULL: closed since, or not one). */
static struct broker_mon_child *
kids_by_fd(const struct kids *k, int fd)
{
	struct broker_mon_child *c;

	if (fd < 0 || (size_t)fd >= k->nbyfd || (c = k->byfd[fd]) == NULL)
		return NULL;
	return broker_monsrv_sock(c) == fd ? c : NULL;
}

static void
kids_reap(struct kids *k, struct broker_ctl *ctl, uint32_t *children)
{
	struct broker_mon_child *c;
	size_t at;
	pid_t pid;
	uint64_t in, out;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (broker_resolver_reaped(k->res, pid, status))
			continue;
		if (*children > 0)
			(*children)--;
		/* The control side knows the bytes relayed (the reports). */
		broker_ctl_child_gone(ctl, pid, &in, &out);
		if ((c = kids_find(k, pid, &at)) == NULL) {
			if (WIFSIGNALED(status))
				pv_warn("session process %ld killed by signal "
					"%d",
				    (long)pid, WTERMSIG(status));
			continue;
		}
		broker_monsrv_reaped(c, status, in, out);
		if (k->fd[at] >= 0 && (size_t)k->fd[at] < k->nbyfd &&
		    k->byfd[k->fd[at]] == c)
			k->byfd[k->fd[at]] = NULL;
		broker_monsrv_free(c);
		k->fd[at] = k->fd[k->n - 1];
		k->v[at] = k->v[--k->n];
	}
}

/*
 * The stop grace is over: what is left is killed and reaped (its row
 * marked aborted, its recording ends at its last flush).
 */
static void
kids_kill(struct kids *k, struct broker_ctl *ctl, uint32_t *children)
{
	uint64_t until = pv_mono_ms() + 5000;
	size_t i;

	pv_warn("%zu session process(es) did not end in time: killed", k->n);
	for (i = 0; i < k->n; i++)
		(void)kill(broker_monsrv_pid(k->v[i]), SIGKILL);
	while (k->n > 0 && pv_mono_ms() < until) {
		kids_reap(k, ctl, children);
		if (k->n > 0)
			(void)poll(NULL, 0, 20);
	}
}

/* Who a session is, as the monitor approved it, for the control side. */
static void
kids_identity(struct broker_ctl *ctl, struct broker_mon_child *c)
{
	struct broker_mon_identity id;

	if (broker_monsrv_identity(c, &id)) {
		broker_ctl_child_moderated(
		    ctl, broker_monsrv_pid(c), id.moderated);
		broker_ctl_child_identity(ctl, broker_monsrv_pid(c),
		    id.engineer, id.target, id.account, id.classification);
	}
	broker_ctl_auth_failed(
	    ctl, broker_monsrv_addr(c), broker_monsrv_auth_fails(c));
}

/*
 * Every ready request of this poll round is taken inside one store batch
 * and answered only after its single commit (group commit: 200 logins at
 * once cost a few fsyncs, not some 1,800).  A batch that is not kept
 * turns every answer of the round into an error.
 */
static void
kids_serve(struct broker_backend *bk, struct broker_ctl *ctl, struct kids *k,
    const struct broker_ev *ev, int n)
{
	struct broker_mon_child *served[DAEMON_EV_MAX], *c;
	int i, ns = 0, batch, lost = 0;

	/* only what is ready: nothing here walks the whole table */
	for (i = 0; i < n && ns < DAEMON_EV_MAX; i++)
		if (ev[i].kind == BROKER_EV_MONITOR &&
		    (c = kids_by_fd(k, ev[i].fd)) != NULL)
			served[ns++] = c;
	if (ns == 0)
		return;
	batch = bk->ops->batch != NULL && bk->ops->batch(bk->ctx, 1) == 0;
	for (i = 0; i < ns; i++) {
		/* as the control side told the process */
		broker_monsrv_set_moderator(served[i],
		    broker_ctl_moderator_on(ctl, broker_monsrv_pid(served[i])));
		(void)broker_monsrv_take(served[i]);
	}
	if (batch && bk->ops->batch(bk->ctx, 0) != 0)
		lost = 1;
	for (i = 0; i < ns; i++) {
		if (broker_monsrv_pending(served[i]))
			(void)broker_monsrv_answer(served[i], lost);
		kids_identity(ctl, served[i]);
	}
}

/*
 * Revocation enforced by the monitor: once a second (at once after a
 * revoke's nudge) every live session is checked against what the monitor
 * itself approved, and a revoked one is told to end like a kill (killed
 * if it does not).  It is the only check: session processes do not ask
 * (a poll from each, twice a second, would cost thousands of store
 * queries a second), and it catches revokes made by other brokers
 * sharing the store.
 */
static void
kids_revoke(struct broker_backend *bk, struct broker_ctl *ctl, struct kids *k,
    uint64_t *cursor)
{
	char why[256];
	uint64_t before = *cursor;
	size_t i;
	int none = 0, n;

	if (!broker_ctl_revoke_due(ctl))
		return;
	/*
	 * One query for all: a second without a revocation of anyone (the
	 * usual one) costs no query per session.  Otherwise, or when the
	 * store could not say, each live session is checked on its own.
	 */
	if (bk->ops->revocations != NULL) {
		n = bk->ops->revocations(bk->ctx, cursor);
		none = n == 0 && before != 0;
		if (n < 0)
			*cursor = before;
	}
	for (i = 0; i < k->n; i++)
		if (broker_monsrv_revoked(
			k->v[i], none, before, *cursor, why, sizeof(why)) == 1)
			broker_ctl_ended(ctl, broker_monsrv_id(k->v[i]),
			    "session.revoked", why);
}

/*
 * This broker's lease expired without a renewal (the store unreachable,
 * or the name taken): the other brokers mark its rows aborted, so no
 * session of it may go on (fail closed).
 */
static void
kids_lease_lost(struct broker_ctl *ctl, struct kids *k, const char *name)
{
	char why[160];
	size_t i;

	(void)snprintf(why, sizeof(why),
	    "session ended: broker %s could not renew its lease in the store",
	    name);
	for (i = 0; i < k->n; i++)
		broker_ctl_ended(
		    ctl, broker_monsrv_id(k->v[i]), "session.lease_lost", why);
}

/*
 * A new session process: nothing of the monitor's stays with it (keys
 * freed, which wipes them; the store's descriptors and shared mappings
 * let go of; other sessions' sockets closed), then it drops to the SandboxUser and asks
 * the monitor for everything through sock.
 */
static void __attribute__((noreturn)) session_child(struct broker_ctx *bx,
    struct broker_ctl *ctl, struct pollfd *pfd, int npfd, struct kids *k,
    EVP_PKEY **ca, const struct sandbox_id *sb, int sock, int cfd, int fd,
    const char *id, const char *peer, const char *addr)
{
	const char *refuse;
	char err[256];
	uint32_t delay_ms;
	size_t i;
	int j;

	/* the epoll set is the parent's: nothing here may touch it */
	broker_ctl_forget(ctl);
	for (j = 0; j < npfd; j++)
		close(pfd[j].fd);
	for (i = 0; i < k->n; i++)
		broker_monsrv_forget(k->v[i]);
	k->n = 0;
	/* the monitor's store stays open there: let go of, never closed */
	broker_backend_store_forget(&bx->backend);
	broker_resolver_forget(k->res);
	bx->backend.ops->free(bx->backend.ctx);
	memset(&bx->backend, 0, sizeof(bx->backend));
	store_cache_forget();
	EVP_PKEY_free(*ca);
	*ca = NULL;
	(void)signal(SIGTERM, SIG_DFL);
	(void)signal(SIGINT, SIG_DFL);
	(void)signal(SIGHUP, SIG_DFL);
	(void)signal(SIGCHLD, SIG_DFL);
	broker_ctl_verdict(ctl, &delay_ms, &refuse);
	if (drop_privileges(sb) != 0 ||
	    broker_backend_monitor_new(sock, addr, &bx->backend) != 0 ||
	    broker_link_new(cfd, delay_ms, refuse, &bx->link) != 0)
		_exit(1);
	/*
	 * Before a byte from the client is read: the preauth filter (no
	 * exec, no process, no write-open, TCP sockets only, ...).  The
	 * session filter is stacked on it once the target leg is up.
	 */
	if (broker_sandbox_enter(BROKER_SANDBOX_PREAUTH, err, sizeof(err)) !=
	    0) {
		pv_error("session %s: the preauth sandbox could not be "
			 "entered: %s",
		    id, err);
		_exit(1);
	}
	broker_recorder_rec_set_opener(
	    &bx->recorder, broker_backend_monitor_rec_open, &bx->backend);
	(void)snprintf(bx->session_id, sizeof(bx->session_id), "%s", id);
	bx->sandbox = 1;
	pv_verbose("session %s: session process %ld runs as uid %ld, monitor "
		   "socket fd %d, link fd %d",
	    id, (long)getpid(), (long)getuid(), sock, cfd);
	_exit(broker_session_run(bx, fd, peer, addr) == 0 ? 0 : 1);
}

/*
 * SIGHUP: provostd.conf and the policy are read and checked first; a bad
 * one is refused with one line and the running ones stay.  Otherwise they
 * apply to every decision from now on, keywords that need a restart are
 * named, and every live session is asked again of the new policy: one it
 * no longer allows is ended with the reason, the others go on.  Audited as
 * config.reload (and session.policy for each session ended).
 */
static void
reload(struct broker_ctx *bx, struct pv_config *conf, const char *path,
    struct broker_ctl *ctl, struct kids *k)
{
	struct pv_config *nc = NULL;
	struct policy *pol = NULL, *cpol = NULL;
	uint8_t *text = NULL;
	size_t len = 0, i;
	char err[PV_CONF_ERR_MAX], restart[256], detail[1024], why[512];
	int checked = 0, ended = 0, r;

	if (pv_config_new(&nc) != 0 ||
	    pv_config_load_file(nc, path, err, sizeof(err)) != 0)
		goto refuse;
	/* One read, two parses: the decisions' copy and the control side's. */
	if ((r = pv_file_read(
		 nc->policy_file, PV_CONF_MAX_FILE, &text, &len)) != 0) {
		(void)snprintf(err, sizeof(err), "%s: cannot read: %s",
		    nc->policy_file, pv_err_str(r));
		goto refuse;
	}
	if (policy_load_mem(nc->policy_file, (const char *)text, len, &pol, err,
		sizeof(err)) != 0 ||
	    policy_load_mem(nc->policy_file, (const char *)text, len, &cpol,
		err, sizeof(err)) != 0)
		goto refuse;
	/* MaxSessions applies at once: the descriptors must be there */
	if (nofile_raise(nc->max_sessions, err, sizeof(err)) != 0)
		goto refuse;
	/* the directory in force (a new one waits for a restart) */
	if (broker_recorder_rec_check(conf, err, sizeof(err)) != 0)
		goto refuse;
	pv_config_reload(conf, nc, restart, sizeof(restart));
	pv_log_set_level((enum pv_log_level)conf->log_level);
	broker_ctl_set_policy(ctl, cpol);
	cpol = NULL;
	(void)snprintf(detail, sizeof(detail), "applied %s and %s%s%s", path,
	    conf->policy_file,
	    restart[0] ? "; unchanged until a restart: " : "", restart);
	(void)broker_backend_store_reload(&bx->backend, pol, detail);
	pol = NULL;
	pv_info("reload: %s", detail);
	if (restart[0] != '\0')
		pv_warn("reload: %s change only on a restart; the running "
			"values stay",
		    restart);
	for (i = 0; i < k->n; i++) {
		checked += broker_monsrv_live(k->v[i]);
		if (broker_monsrv_recheck(k->v[i], why, sizeof(why)) == 0)
			continue;
		pv_info(
		    "session %s: ended: %s", broker_monsrv_id(k->v[i]), why);
		broker_ctl_ended(
		    ctl, broker_monsrv_id(k->v[i]), "session.policy", why);
		ended++;
	}
	pv_info("reload: %d live session(s) checked, %d ended", checked, ended);
	goto out;
refuse:
	pv_error("reload refused: %s; the running configuration and policy "
		 "stay",
	    err);
	(void)snprintf(detail, sizeof(detail), "refused: %s", err);
	(void)broker_backend_store_reload(&bx->backend, NULL, detail);
out:
	free(text);
	policy_free(pol);
	policy_free(cpol);
	pv_config_free(nc);
}

/* The approvers' menu on live sessions: the control side's table. */
static int
live_watch(void *ctx, const char *approver, const char *addr, pid_t apid,
    const char *asid, const char *id, char *err, size_t errlen)
{
	return broker_ctl_watch_approver(
	    ctx, approver, addr, apid, asid, id, err, errlen);
}

static int
live_end(void *ctx, const char *approver, const char *addr, const char *id,
    const char *reason, char *err, size_t errlen)
{
	return broker_ctl_end_approver(
	    ctx, approver, addr, id, reason, err, errlen);
}

/*
 * The resolver process and its answers: each answer builds its session's
 * answer (connect, rows) inside one store batch, sent once the batch is
 * kept, as kids_serve does for requests.
 */
struct daemon_res {
	struct broker_backend *bk;
	struct broker_ctl *ctl;
	struct kids *k;
	EVP_PKEY **ca;
	const struct sandbox_id *sb;
	struct broker_mon_child *done[2 * BROKER_RES_INFLIGHT_MAX];
	size_t ndone;
};

/*
 * In the new resolver process: nothing of the monitor's stays (the CA
 * and store keys freed, which wipes them, the open store let go of as a
 * session process does, other sessions' state and the control side's
 * descriptors forgotten, the store's page cache unmapped;
 * the caller then closes every descriptor but its socket and stdio), and
 * it runs as the SandboxUser.
 */
static int
res_scrub(void *ctx)
{
	struct daemon_res *d = ctx;
	size_t i;

	broker_ctl_forget(d->ctl);
	for (i = 0; i < d->k->n; i++)
		broker_monsrv_forget(d->k->v[i]);
	d->k->n = 0;
	EVP_PKEY_free(*d->ca);
	*d->ca = NULL;
	/* the monitor's open store let go of (never closed), keys wiped */
	if (d->bk->ops != NULL)
		broker_backend_store_forget(d->bk);
	store_cache_forget();
	(void)signal(SIGTERM, SIG_DFL);
	(void)signal(SIGCHLD, SIG_DFL);
	return drop_privileges(d->sb);
}

static void
res_watch(void *ctx, int fd, int on)
{
	struct daemon_res *d = ctx;

	if (!on)
		broker_ctl_ev_del(d->ctl, fd);
	else if (broker_ctl_ev_add(d->ctl, BROKER_EV_RESOLVER, fd) != 0)
		pv_error("resolver: its socket cannot be waited on");
}

static void
res_done(void *ctx, void *owner, const struct broker_res_answer *a)
{
	struct daemon_res *d = ctx;
	struct broker_mon_child *c = owner;

	broker_monsrv_resolved(c, a);
	if (!broker_monsrv_pending(c))
		return;
	if (d->ndone < sizeof(d->done) / sizeof(d->done[0]))
		d->done[d->ndone++] = c;
	else
		(void)broker_monsrv_answer(c, 0); /* its rows are plain */
}

/* Answers that came, and lookups past their deadline, in one batch. */
static void
res_serve(struct daemon_res *d, int readable, uint64_t now)
{
	struct broker_backend *bk = d->bk;
	size_t i;
	int batch, lost = 0;

	batch = bk->ops->batch != NULL && bk->ops->batch(bk->ctx, 1) == 0;
	if (readable)
		(void)broker_resolver_read(d->k->res);
	broker_resolver_tick(d->k->res, now);
	if (batch && bk->ops->batch(bk->ctx, 0) != 0)
		lost = 1;
	/* filled and emptied in one turn of the loop: none was reaped */
	for (i = 0; i < d->ndone; i++)
		(void)broker_monsrv_answer(d->done[i], lost);
	d->ndone = 0;
}

static void
serve(struct broker_ctx *bx, struct pv_config *conf, const char *conf_path,
    struct broker_ctl *ctl, struct pollfd *pfd, int npfd, EVP_PKEY **ca,
    const struct sandbox_id *sb, const struct rec_recipients *rs,
    struct broker_lease *lease)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	char peer[128], addr[64], id[PV_UUID_LEN + 1];
	struct kids k = { 0 };
	struct broker_mon_child *mc;
	const struct broker_menu_live live = {
		.watch = live_watch,
		.end = live_end,
		.ctx = ctl,
	};
	struct broker_ev ev[DAEMON_EV_MAX];
	uint32_t children = 0;
	uint64_t stop_ms = 0, events_ms = 0, tick_ms = 0, now, rcursor = 0;
	int behind = 0, resready;
	pid_t pid;
	int i, j, n, fd, cfd, sv[2], burst;
	struct daemon_res dr = {
		.bk = &bx->backend,
		.ctl = ctl,
		.k = &k,
		.ca = ca,
		.sb = sb,
	};

	/* target names are looked up there (from the first), never here */
	if (broker_resolver_new(
		res_scrub, &dr, res_done, res_watch, &dr, &k.res) != 0)
		pv_error("resolver: out of memory: targets stored by host "
			 "name cannot be reached");
	for (;;) {
		if (got_chld) {
			got_chld = 0;
			kids_reap(&k, ctl, &children);
		}
		if (got_term && stop_ms == 0) {
			/* no new connections; every session told to end */
			for (i = 0; i < npfd; i++) {
				broker_ctl_ev_del(ctl, pfd[i].fd);
				close(pfd[i].fd);
				pfd[i].fd = -1;
			}
			npfd = 0;
			pv_info("terminating on signal %d: ending %zu "
				"session(s), at most %d s",
			    (int)got_term, k.n, STOP_GRACE_MS / 1000);
			broker_ctl_stop(
			    ctl, "session ended: provostd is stopping");
			stop_ms = pv_mono_ms() + STOP_GRACE_MS;
		}
		if (stop_ms != 0 && k.n == 0)
			break;
		if (stop_ms != 0 && (n_term > 1 || pv_mono_ms() >= stop_ms)) {
			kids_kill(&k, ctl, &children);
			break;
		}
		if (got_hup && stop_ms == 0) {
			got_hup = 0;
			reload(bx, conf, conf_path, ctl, &k);
		}
		if (stop_ms == 0)
			kids_revoke(&bx->backend, ctl, &k, &rcursor);
		if (broker_lease_tick(lease, &bx->backend) == 1)
			kids_lease_lost(ctl, &k, lease->name);
		/* The plugins hear of what the audit chain holds, once a second. */
		if (stop_ms == 0 && pv_mono_ms() >= events_ms) {
			events_ms = pv_mono_ms() + 1000;
			(void)broker_backend_store_events(&bx->backend);
		}
		/*
		 * Timeouts and the recordings' hashing need no more than ten
		 * looks a second, however many wake-ups there are.
		 */
		now = pv_mono_ms();
		if (now >= tick_ms) {
			tick_ms = now + DAEMON_TICK_MS;
			behind = 0;
			for (size_t t = 0; t < k.n; t++) {
				(void)broker_monsrv_tick(k.v[t], now);
				behind |= broker_monsrv_hash_behind(k.v[t]);
			}
		}
		/* a recording the hashing has not caught up with: ten looks */
		n = broker_ctl_wait(ctl, ev, DAEMON_EV_MAX,
		    stop_ms != 0 || behind ? DAEMON_TICK_MS : DAEMON_WAIT_MS);
		resready = 0;
		for (j = 0; j < n; j++)
			resready |= ev[j].kind == BROKER_EV_RESOLVER;
		now = pv_mono_ms();
		if (resready || dr.ndone > 0 || broker_resolver_due(k.res, now))
			res_serve(&dr, resready, now);
		if (n <= 0)
			continue;
		kids_serve(&bx->backend, ctl, &k, ev, n);
		/* a resolver that ended while asked: its lookups' answers */
		if (dr.ndone > 0)
			res_serve(&dr, 0, pv_mono_ms());
		/*
		 * A burst is drained at once (the listener does not block):
		 * up to 64 in a row from each ready listener.
		 */
		for (j = 0; j < n; j++) {
			if (ev[j].kind != BROKER_EV_LISTEN || npfd == 0)
				continue;
			for (burst = 0; burst < 64; burst++) {
				sl = sizeof(ss);
				fd = accept4(ev[j].fd, (struct sockaddr *)&ss,
				    &sl, SOCK_CLOEXEC);
				if (fd < 0)
					break;
				peer_name(&ss, sl, peer, sizeof(peer), addr,
				    sizeof(addr));
				if (children >= bx->conf->max_sessions) {
					pv_warn("refused connection from %s: "
						"MaxSessions %u reached",
					    peer, bx->conf->max_sessions);
					close(fd);
					continue;
				}
				if (broker_ctl_admit(ctl, addr, peer, &cfd) !=
				    PV_ALLOW) {
					close(fd);
					continue;
				}
				if (pv_uuid_new(id) != 0 ||
				    socketpair(AF_UNIX,
					SOCK_STREAM | SOCK_CLOEXEC, 0,
					sv) != 0) {
					pv_error("session setup: %s",
					    strerror(errno));
					broker_ctl_child_add(
					    ctl, -1, addr, NULL);
					close(cfd);
					close(fd);
					continue;
				}
				if ((pid = fork()) < 0) {
					pv_error("fork: %s", strerror(errno));
					broker_ctl_child_add(
					    ctl, -1, addr, NULL);
					close(sv[0]);
					close(sv[1]);
					close(cfd);
					close(fd);
					continue;
				}
				if (pid == 0) {
					close(sv[0]);
					session_child(bx, ctl, pfd, npfd, &k,
					    ca, sb, sv[1], cfd, fd, id, peer,
					    addr);
				}
				close(sv[1]);
				if (broker_monsrv_new(bx->conf, &bx->backend,
					rs, pid, sv[0], id, addr, &mc) == 0) {
					broker_monsrv_set_live(mc, &live);
					broker_monsrv_set_resolver(mc, k.res);
				}
				if (mc == NULL || kids_add(&k, mc) != 0) {
					/* no monitor for it: it must not run */
					pv_error("session %s: no monitor "
						 "state; killed",
					    id);
					(void)kill(pid, SIGKILL);
					if (mc != NULL)
						broker_monsrv_free(mc);
					else
						close(sv[0]);
				} else if (kids_watch(&k, ctl, k.n - 1) != 0) {
					/* not heard, it could not be served: killed */
					pv_error("session %s: its monitor "
						 "socket cannot "
						 "be waited on; killed",
					    id);
					(void)kill(pid, SIGKILL);
				}
				mc = NULL;
				children++;
				broker_ctl_child_add(ctl, pid, addr, id);
				close(cfd);
				close(fd);
			}
		}
	}
	pv_info("terminated on signal %d", (int)got_term);
	for (size_t t = 0; t < k.n; t++)
		broker_monsrv_free(k.v[t]);
	broker_resolver_free(k.res);
	free(k.v);
	free(k.fd);
	free(k.byfd);
}

/* What a new plugin host's process must not keep of the monitor's. */
struct host_scrub {
	EVP_PKEY **ca;
	struct broker_backend *bk;
};

static void
host_scrub(void *ctx)
{
	struct host_scrub *x = ctx;

	EVP_PKEY_free(*x->ca);
	*x->ca = NULL;
	if (x->bk->ops != NULL)
		broker_backend_store_wipe_keys(x->bk);
}

/*
 * The Plugin lines' host: loaded once before daemon() so that a plugin
 * that cannot load stops the start with its line (and -t says so), then
 * for good in the daemon itself (a host whose parent exits dies).
 */
static int
plugins_start(const struct pv_config *conf, struct host_scrub *x, int keep)
{
	const char *db = NULL;
	struct plugin_host_opts o = {
		.timeout_ms = PLUGIN_CHECK_TIMEOUT_MS,
		.scrub = host_scrub,
		.scrub_ctx = x,
		.audit = broker_backend_store_plugin_audit,
		.audit_ctx = x->bk,
	};
	struct plugin_host *h = NULL;
	char err[512];

	if (pv_config_store_path(conf, &db) == 0) {
		o.query = plugin_host_store_query;
		o.query_ctx = db;
	}
	if (plugin_host_start_config(conf, &o, &h, err, sizeof(err)) != 0) {
		pv_error("Plugin: %s", err);
		return -1;
	}
	if (h == NULL)
		return 0;
	if (!keep) {
		plugin_host_free(h);
		return 0;
	}
	if (broker_backend_store_set_plugins(x->bk, h) != 0) {
		pv_error("Plugin: the store cannot be read");
		return -1;
	}
	pv_info(
	    "%u plugin(s) loaded in their host process", plugin_host_count(h));
	return 0;
}

int
main(int argc, char **argv)
{
	const char *conf_path = DEFAULT_CONFIG;
	struct pv_config *conf = NULL;
	struct broker_ctx bx;
	struct broker_ctl *ctl = NULL;
	struct pollfd pfd[MAX_LISTENERS];
	struct sigaction sa;
	char err[PV_CONF_ERR_MAX], path[4096];
	EVP_PKEY *ca = NULL;
	struct rec_recipients *rs = NULL;
	struct sandbox_id sb;
	struct server_algos algos;
	struct host_scrub scrub = { &ca, &bx.backend };
	struct broker_lease lease;
	int ch, foreground = 0, test = 0, debug = 0, npfd = 0, i, r;

	memset(&bx, 0, sizeof(bx));
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0)
			usage(1);
	}
	while ((ch = getopt(argc, argv, "f:DtTdh")) != -1) {
		switch (ch) {
		case 'f':
			conf_path = optarg;
			break;
		case 'D':
			foreground = 1;
			break;
		case 't':
			test = 1;
			break;
		case 'T':
			test = 2;
			break;
		case 'd':
			debug = 1;
			break;
		case 'h':
			usage(1);
			break;
		default:
			usage(0);
		}
	}
	if (optind != argc)
		usage(0);
	pv_log_init("provostd",
	    foreground || test ? PV_LOG_STDERR : PV_LOG_SYSLOG, PV_LOG_INFO);
	if (pv_config_new(&conf) != 0 ||
	    pv_config_load_file(conf, conf_path, err, sizeof(err)) != 0) {
		fprintf(stderr, "provostd: %s\n", err);
		pv_config_free(conf);
		return 1;
	}
	pv_log_set_level(
	    debug ? PV_LOG_DEBUG : (enum pv_log_level)conf->log_level);
	/*
	 * The store's page cache in pages a session process unmaps: a page
	 * the monitor reads after a fork would otherwise be copied into each
	 * session process that still maps the one it replaced.
	 */
	if (store_cache_private(DAEMON_STORE_CACHE, NULL) != 0)
		pv_warn("the store's page cache stays on the heap");
	if (sandbox_user(conf, &sb) != 0)
		goto fail;
	if (nofile_raise(conf->max_sessions, err, sizeof(err)) != 0) {
		fprintf(stderr, "provostd: %s: %s\n", conf_path, err);
		goto fail;
	}
	if (path_join(path, sizeof(path), conf->state_dir, "ca") != 0 ||
	    broker_ca_load(path, &ca) != 0)
		goto fail;
	if (broker_backend_store_new(conf, ca, &bx.backend) != 0 ||
	    broker_recorder_rec_new(conf, &bx.recorder) != 0)
		goto fail;
	if (broker_recorder_rec_check(conf, err, sizeof(err)) != 0) {
		pv_error("%s", err);
		goto fail;
	}
	/* the monitor's own copy: it makes every recording's header */
	if (rec_recipients_load(&rs, (const char *const *)conf->recipients,
		conf->nrecipients, err, sizeof(err)) != 0) {
		pv_error("RecordingRecipient: %s", err);
		goto fail;
	}
	ssh_init();
	if (resolve_algos(conf, conf_path, &algos, &bx) != 0 ||
	    setup_bind(conf, &algos, &bx.bind) != 0)
		goto fail;
	for (i = 0; i < (int)conf->nlisten; i++) {
		struct broker_listen la;

		if (broker_listen_parse(conf->listen[i], &la) != 0) {
			fprintf(stderr,
			    "provostd: ListenAddress %s: not "
			    "HOST:PORT\n",
			    conf->listen[i]);
			goto fail;
		}
	}
	if (plugins_start(conf, &scrub, 0) != 0)
		goto fail;
	if (test) {
		if (test == 2) {
			pv_config_print(conf, stdout);
			/* the lists in force, whether configured or not */
			printf("kexalgorithms %s\nciphers %s\nmacs %s\n"
			       "hostkeyalgorithms %s\n",
			    algos.kex, algos.ciphers, algos.macs,
			    algos.hostkeys);
		}
		fprintf(stderr, "provostd: %s: configuration OK\n", conf_path);
		r = 0;
		goto out;
	}
	/* the name first: then this broker's own rows a crash left open */
	if (broker_lease_take(&lease, &bx.backend, conf) != 0 ||
	    broker_backend_store_recover(&bx.backend) != 0)
		goto fail;
	/*
	 * daemon()'s fork: the process that goes on is the child, which
	 * holds none of the parent's SQLite locks, and a PostgreSQL
	 * connection would be one socket with two users: closed, reopened on
	 * use.  Later forks (a session process, the plugin host) keep it
	 * open here, its statements prepared once; the child lets go of it
	 * (broker_backend_store_forget).
	 */
	(void)broker_backend_store_detach(&bx.backend);
	if (!sb.drop)
		pv_warn("not running as root: session processes keep uid %ld "
			"(SandboxUser %s is not used)",
		    (long)getuid(), conf->sandbox_user);
	bx.conf = conf;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_hup;
	(void)sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = on_chld;
	sa.sa_flags = SA_NOCLDSTOP;
	(void)sigaction(SIGCHLD, &sa, NULL);
	(void)signal(SIGPIPE, SIG_IGN);
	/* A file size limit makes writes fail (EFBIG) instead of killing. */
	(void)signal(SIGXFSZ, SIG_IGN);
	if (open_listeners(conf, pfd, &npfd) != 0 ||
	    broker_ctl_new(&bx, &ctl) != 0)
		goto fail;
	for (i = 0; i < npfd; i++)
		if (broker_ctl_ev_add(ctl, BROKER_EV_LISTEN, pfd[i].fd) != 0)
			goto fail;
	if (!foreground && daemon(0, 0) != 0) {
		pv_error("daemon: %s", strerror(errno));
		goto fail;
	}
	if (plugins_start(conf, &scrub, 1) != 0)
		goto fail;
	pv_info("provostd %s started (backend: %s, recorder: %s; session "
		"processes run as %s, sandboxed)",
	    PACKAGE_VERSION, bx.backend.ops->name, bx.recorder.ops->name,
	    sb.drop ? conf->sandbox_user : "this user");
	/* renewed at once: the daemon's pid is the lease's from now on */
	lease.renew_due = 0;
	serve(&bx, conf, conf_path, ctl, pfd, npfd, &ca, &sb, rs, &lease);
	r = 0;
	goto out;
fail:
	r = 1;
out:
	for (i = 0; i < npfd; i++)
		close(pfd[i].fd);
	broker_ctl_free(ctl);
	if (bx.bind != NULL)
		ssh_bind_free(bx.bind);
	if (bx.backend.ops != NULL)
		bx.backend.ops->free(bx.backend.ctx);
	if (bx.recorder.ops != NULL)
		bx.recorder.ops->free(bx.recorder.ctx);
	rec_recipients_free(rs);
	EVP_PKEY_free(ca);
	pv_config_free(conf);
	ssh_finalize();
	return r;
}
