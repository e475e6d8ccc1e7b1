/*
 * daemon.c: provostd's main(): options, configuration, keys, listeners on
 * every ListenAddress, one session process per connection, reaping.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <netinet/in.h>

#include "broker/broker-control.h"
#include "broker/broker-int.h"
#include "store/store.h"

#define DEFAULT_CONFIG "/etc/provost/provostd.conf"
#define MAX_LISTENERS 64

/* Modern algorithms only; strict kex is on in libssh >= 0.10.6. */
#define SERVER_KEX \
	"curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256"
#define SERVER_CIPHERS                                          \
	"chacha20-poly1305@openssh.com,aes256-gcm@openssh.com," \
	"aes128-gcm@openssh.com"
#define SERVER_MACS \
	"hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com"
#define SERVER_HOSTKEY_ALGS \
	"ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256"
#define SERVER_PUBKEY_TYPES                                    \
	"ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384," \
	"ecdsa-sha2-nistp521,sk-ssh-ed25519@openssh.com,"      \
	"sk-ecdsa-sha2-nistp256@openssh.com,rsa-sha2-512,rsa-sha2-256"

/* Signal handlers only set these. */
static volatile sig_atomic_t got_term;
static volatile sig_atomic_t got_chld;

static void
on_term(int sig)
{
	got_term = sig;
}

static void
on_chld(int sig)
{
	got_chld = 1;
}

static void
usage(void)
{
	fprintf(stderr, "usage: provostd [-f CONFIG] [-D] [-t] [-d]\n");
	exit(2);
}

static int
path_join(char *out, size_t outlen, const char *dir, const char *name)
{
	int n = snprintf(out, outlen, "%s/%s", dir, name);

	return n > 0 && (size_t)n < outlen ? 0 : PV_ERR_RANGE;
}

static int
setup_bind(const struct pv_config *c, ssh_bind *out)
{
	char path[4096];
	ssh_bind b;
	bool no = false;

	*out = NULL;
	if (path_join(path, sizeof(path), c->state_dir, "host_ed25519") != 0 ||
	    (b = ssh_bind_new()) == NULL)
		return PV_ERR_ALLOC;
	if (ssh_bind_options_set(b, SSH_BIND_OPTIONS_PROCESS_CONFIG, &no) < 0 ||
	    ssh_bind_options_set(b, SSH_BIND_OPTIONS_HOSTKEY, path) < 0 ||
	    ssh_bind_options_set(b, SSH_BIND_OPTIONS_KEY_EXCHANGE, SERVER_KEX) <
		0 ||
	    ssh_bind_options_set(
		b, SSH_BIND_OPTIONS_CIPHERS_C_S, SERVER_CIPHERS) < 0 ||
	    ssh_bind_options_set(
		b, SSH_BIND_OPTIONS_CIPHERS_S_C, SERVER_CIPHERS) < 0 ||
	    ssh_bind_options_set(b, SSH_BIND_OPTIONS_HMAC_C_S, SERVER_MACS) <
		0 ||
	    ssh_bind_options_set(b, SSH_BIND_OPTIONS_HMAC_S_C, SERVER_MACS) <
		0 ||
	    ssh_bind_options_set(b, SSH_BIND_OPTIONS_HOSTKEY_ALGORITHMS,
		SERVER_HOSTKEY_ALGS) < 0 ||
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

static void
serve(
    struct broker_ctx *bx, struct broker_ctl *ctl, struct pollfd *pfd, int npfd)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	char peer[128], addr[64];
	uint32_t children = 0;
	pid_t pid;
	int i, fd, cfd, status, burst = 0;

	while (!got_term) {
		if (got_chld) {
			got_chld = 0;
			while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
				if (children > 0)
					children--;
				broker_ctl_child_gone(ctl, pid, status);
				if (WIFSIGNALED(status))
					pv_warn("session process %ld killed by "
						"signal %d",
					    (long)pid, WTERMSIG(status));
			}
		}
		if (broker_ctl_poll(ctl, pfd, npfd, 1000) <= 0)
			continue;
		for (i = 0; i < npfd; i++) {
			if (!(pfd[i].revents & POLLIN))
				continue;
			sl = sizeof(ss);
			fd = accept4(pfd[i].fd, (struct sockaddr *)&ss, &sl,
			    SOCK_CLOEXEC);
			if (fd < 0) {
				burst = 0;
				continue;
			}
			/*
			 * A burst is drained at once (the listener does not
			 * block): this listener again, up to 64 in a row.
			 */
			if (++burst < 64)
				i--;
			else
				burst = 0;
			peer_name(
			    &ss, sl, peer, sizeof(peer), addr, sizeof(addr));
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
			if ((pid = fork()) < 0) {
				pv_error("fork: %s", strerror(errno));
				broker_ctl_child_add(ctl, -1, addr);
				close(cfd);
				close(fd);
				continue;
			}
			if (pid == 0) {
				int j;

				for (j = 0; j < npfd; j++)
					close(pfd[j].fd);
				broker_ctl_forget(ctl);
				if (broker_link_new(ctl, cfd, &bx->link) != 0)
					_exit(1);
				(void)signal(SIGTERM, SIG_DFL);
				(void)signal(SIGINT, SIG_DFL);
				(void)signal(SIGHUP, SIG_DFL);
				(void)signal(SIGCHLD, SIG_DFL);
				_exit(
				    broker_session_run(bx, fd, peer, addr) == 0
					? 0
					: 1);
			}
			children++;
			broker_ctl_child_add(ctl, pid, addr);
			close(cfd);
			close(fd);
		}
	}
	pv_info("terminating on signal %d", (int)got_term);
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
	int ch, foreground = 0, test = 0, debug = 0, npfd = 0, i, r;

	memset(&bx, 0, sizeof(bx));
	while ((ch = getopt(argc, argv, "f:Dtd")) != -1) {
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
		case 'd':
			debug = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
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
	if (path_join(path, sizeof(path), conf->state_dir, "ca") != 0 ||
	    broker_ca_load(path, &ca) != 0)
		goto fail;
	if (broker_backend_store_new(conf, ca, &bx.backend) != 0 ||
	    broker_recorder_rec_new(conf, &bx.recorder) != 0)
		goto fail;
	ssh_init();
	if (setup_bind(conf, &bx.bind) != 0)
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
	if (test) {
		fprintf(stderr, "provostd: %s: configuration OK\n", conf_path);
		r = 0;
		goto out;
	}
	if (broker_backend_store_recover(&bx.backend) != 0)
		goto fail;
	/* SQLite handles do not survive a fork: each child opens its own. */
	(void)broker_backend_store_detach(&bx.backend);
	bx.conf = conf;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGINT, &sa, NULL);
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
	if (!foreground && daemon(0, 0) != 0) {
		pv_error("daemon: %s", strerror(errno));
		goto fail;
	}
	pv_info("provostd %s started (backend: %s, recorder: %s)",
	    PACKAGE_VERSION, bx.backend.ops->name, bx.recorder.ops->name);
	serve(&bx, ctl, pfd, npfd);
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
	EVP_PKEY_free(ca);
	pv_config_free(conf);
	ssh_finalize();
	return r;
}
