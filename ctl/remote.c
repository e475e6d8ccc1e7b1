/*
 * remote.c: provost's own connection to a target, as its admin account:
 * stock ssh with a key made for this one connection and a certificate
 * provost's CA signs for a minute (serial 0: no engineer's, never in a
 * KRL), the target's pinned host key as the only known host, and a
 * script on standard input.  What was sent and what came back is recorded
 * like a session, sealed to the RecordingRecipient keys.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "broker/broker.h"
#include "ctl/ctl.h"
#include "recorder/recorder.h"

#define REMOTE_OUT_MAX (16 * 1024 * 1024)
#define REMOTE_TIMEOUT_MS (120 * 1000)
#define REMOTE_CERT_LIFETIME 60
#define REMOTE_PROBE_MS (30 * 1000)

struct remote_files {
	char dir[4096];
	char key[4200], cert[4200], known[4200];
};

static void
remote_files_rm(struct remote_files *f)
{
	if (f->key[0] != '\0')
		(void)unlink(f->key);
	if (f->cert[0] != '\0')
		(void)unlink(f->cert);
	if (f->known[0] != '\0')
		(void)unlink(f->known);
	if (f->dir[0] != '\0')
		(void)rmdir(f->dir);
}

/*
 * In the forked child: ssh as account to target t with f's one-use key,
 * certificate and known-hosts file (no config, no agent, no other key),
 * running cmd (NULL-terminated).  Never returns.
 */
static void __attribute__((noreturn)) remote_exec(const struct store_target *t,
    const char *account, const struct remote_files *f, const char *const *cmd)
{
	char port[16], dest[300], idopt[4300], certopt[4300], knownopt[4300];
	const char *argv[48];
	size_t n = 0, i;

	(void)snprintf(port, sizeof(port), "%u", t->port);
	(void)snprintf(dest, sizeof(dest), "%s@%s", account, t->host);
	(void)snprintf(idopt, sizeof(idopt), "IdentityFile=%s", f->key);
	(void)snprintf(certopt, sizeof(certopt), "CertificateFile=%s", f->cert);
	(void)snprintf(
	    knownopt, sizeof(knownopt), "UserKnownHostsFile=%s", f->known);
	const char *const opts[] = { "ssh", "-F", "/dev/null", "-o",
		"BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", idopt, "-o",
		certopt, "-o", knownopt, "-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "StrictHostKeyChecking=yes", "-o", "ConnectTimeout=10",
		"-o", "LogLevel=ERROR", "-T", "-p", port, dest };
	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		argv[n++] = opts[i];
	for (i = 0; cmd[i] != NULL && n + 1 < sizeof(argv) / sizeof(argv[0]);
	     i++)
		argv[n++] = cmd[i];
	argv[n] = NULL;
	/* execvp's prototype predates const; it does not write */
	union {
		const char **c;
		char *const *v;
	} u = { .c = argv };
	execvp("ssh", u.v);
	_exit(127);
}

/*
 * The address this host reaches the target from (the kernel's route, by
 * a UDP socket that sends nothing), as a source-address for the
 * certificate: it is good from here only.
 */
static int
source_for(const struct store_target *t, char *out, size_t outlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *ai = NULL;
	struct sockaddr_storage ss = { .ss_family = AF_UNSPEC };
	socklen_t sl = sizeof(ss);
	char port[16], host[INET6_ADDRSTRLEN];
	int fd = -1, r = PV_ERR_IO;

	(void)snprintf(port, sizeof(port), "%u", t->port);
	if (getaddrinfo(t->host, port, &hints, &ai) != 0 || ai == NULL)
		return PV_ERR_IO;
	if ((fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
		goto out;
	if (ss.ss_family == AF_INET &&
	    inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host,
		sizeof(host)) != NULL)
		r = snprintf(out, outlen, "%s/32", host) > 0 ? 0 : PV_ERR_RANGE;
	else if (ss.ss_family == AF_INET6 &&
	    inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, host,
		sizeof(host)) != NULL)
		r = snprintf(out, outlen, "%s/128", host) > 0 ? 0
							      : PV_ERR_RANGE;
out:
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return r;
}

/*
 * What a certificate of the connection is: provost's own (serial 0, a
 * new key id) or, for a probe, one with an old serial and key id.
 */
struct remote_id {
	uint64_t serial;
	const char *session_id; /* NULL: a new one */
	const char *engineer;
};

/* The key, its certificate for account, and the pinned host key. */
static int
remote_files(struct ctl *c, const struct store_target *t, const char *account,
    const struct remote_id *id, const char *why, struct remote_files *f,
    char *err, size_t errlen)
{
	EVP_PKEY *key = NULL, *ca = NULL;
	struct pv_buf *blob = NULL, *cert = NULL;
	struct broker_cert_req req = { 0 };
	uint8_t pub[BROKER_ED25519_LEN];
	size_t publen = sizeof(pub);
	char sid[PV_UUID_LEN + 1], capath[4096], *line = NULL, *text = NULL;
	char src[64];
	const char *tmp = getenv("TMPDIR");
	int r = PV_ERR_CRYPTO;

	(void)snprintf(f->dir, sizeof(f->dir), "%s/provost-remote.XXXXXX",
	    tmp != NULL && tmp[0] == '/' ? tmp : "/tmp");
	if (mkdtemp(f->dir) == NULL) {
		f->dir[0] = '\0';
		(void)snprintf(
		    err, errlen, "a private directory: %s", strerror(errno));
		return PV_ERR_IO;
	}
	(void)snprintf(f->key, sizeof(f->key), "%s/id", f->dir);
	(void)snprintf(f->cert, sizeof(f->cert), "%s/id-cert.pub", f->dir);
	(void)snprintf(f->known, sizeof(f->known), "%s/known_hosts", f->dir);
	if ((r = ctl_state_path(c, "ca", capath, sizeof(capath))) != 0 ||
	    (r = pv_sshkey_load_private(capath, &ca)) != 0) {
		(void)snprintf(err, errlen, "%s: %s", capath, pv_err_str(r));
		goto out;
	}
	if ((r = pv_sshkey_generate_ed25519(&key)) != 0 ||
	    (r = pv_sshkey_save_private(f->key, key, "provost-admin")) != 0 ||
	    EVP_PKEY_get_raw_public_key(key, pub, &publen) != 1 ||
	    (id->session_id == NULL && (r = pv_uuid_new(sid)) != 0)) {
		(void)snprintf(err, errlen, "a key for the connection: %s",
		    pv_err_str(r != 0 ? r : PV_ERR_CRYPTO));
		r = r != 0 ? r : PV_ERR_CRYPTO;
		goto out;
	}
	if (id->session_id != NULL)
		(void)snprintf(sid, sizeof(sid), "%s", id->session_id);
	req.pubkey = pub;
	req.serial = id->serial;
	req.session_id = sid;
	req.engineer = id->engineer;
	req.principal = account;
	req.now = pv_wall_ms() / 1000;
	req.lifetime = REMOTE_CERT_LIFETIME;
	if ((r = source_for(t, src, sizeof(src))) != 0) {
		(void)snprintf(
		    err, errlen, "no route to %s:%u", t->host, t->port);
		goto out;
	}
	req.source_address = src;
	req.permit_pty = 0;
	if ((cert = pv_buf_new(PV_BUF_DEFAULT_MAX)) == NULL ||
	    (blob = pv_buf_new(PV_BUF_DEFAULT_MAX)) == NULL) {
		r = PV_ERR_ALLOC;
		goto out;
	}
	if ((r = broker_cert_mint(ca, &req, cert)) != 0 ||
	    (r = broker_sshkey_line(BROKER_CERT_TYPE, pv_buf_ptr(cert),
		 pv_buf_len(cert), "provost-admin", &line)) != 0) {
		(void)snprintf(err, errlen, "a certificate: %s", pv_err_str(r));
		goto out;
	}
	if (asprintf(&text, "%s\n", line) < 0) {
		text = NULL;
		r = PV_ERR_ALLOC;
		goto out;
	}
	if ((r = pv_file_write_new(f->cert, 0600, text, strlen(text))) != 0)
		goto out;
	free(text);
	text = NULL;
	if (asprintf(&text, "[%s]:%u %s\n", t->host, t->port, t->hostkey) < 0) {
		text = NULL;
		r = PV_ERR_ALLOC;
		goto out;
	}
	r = pv_file_write_new(f->known, 0600, text, strlen(text));
	if (r == 0) {
		json_t *d = json_pack("{s:s, s:s, s:s, s:s, s:i, s:I}",
		    "target", t->name, "account", account, "key_id", sid, "why",
		    why, "lifetime", REMOTE_CERT_LIFETIME, "serial",
		    (json_int_t)id->serial);

		/* store_audit_append takes its own reference */
		r = d == NULL ? PV_ERR_ALLOC
			      : store_audit_append(c->st, c->actor,
				    "target.connect", "target:*", d);
		json_decref(d);
		if (r != 0)
			(void)snprintf(
			    err, errlen, "audit: %s", store_errmsg(c->st));
	}
out:
	if (r != 0 && err[0] == '\0')
		(void)snprintf(err, errlen, "%s", pv_err_str(r));
	EVP_PKEY_free(key);
	EVP_PKEY_free(ca);
	pv_buf_free(cert);
	pv_buf_free(blob);
	free(line);
	free(text);
	return r;
}

/*
 * A recording of an earlier connection of the same name (a run killed
 * while it was connected) is kept as NAME.N.pvrec, not overwritten.
 */
static int
remote_rec_keep(const char *rec)
{
	char to[4400];
	size_t n = strlen(rec);
	int i;

	if (access(rec, F_OK) != 0)
		return 0;
	if (n < 6 || strcmp(rec + n - 6, ".pvrec") != 0)
		return PV_ERR_INVALID;
	for (i = 1; i < 1000; i++) {
		(void)snprintf(
		    to, sizeof(to), "%.*s.%d.pvrec", (int)(n - 6), rec, i);
		if (access(to, F_OK) != 0)
			return rename(rec, to) == 0 ? 0 : PV_ERR_IO;
	}
	return PV_ERR_EXISTS;
}

/*
 * The connection's recording, opened before anything is sent: the
 * command and the script, on disk (fdatasync) before ssh reads them.
 */
static int
remote_rec_open(struct ctl *c, const char *rec, const struct store_target *t,
    const char *account, const char *arg, const char *script,
    struct rec_recipients **rsp, struct rec_writer **wp)
{
	struct rec_meta m = { 0 };
	char err[256], sid[PV_UUID_LEN + 1], *cmd = NULL;
	int r = PV_ERR_CONFIG;

	*rsp = NULL;
	*wp = NULL;
	if (c->cfg->nrecipients == 0 ||
	    rec_recipients_load(rsp, (const char *const *)c->cfg->recipients,
		c->cfg->nrecipients, err, sizeof(err)) != 0 ||
	    pv_uuid_new(sid) != 0)
		return PV_ERR_CONFIG;
	m.session_id = sid;
	m.engineer = "provost-admin";
	m.target = t->name;
	m.account = account;
	m.start_unix_ms = pv_wall_ms();
	m.start_mono_ms = pv_mono_ms();
	if ((r = remote_rec_keep(rec)) != 0 ||
	    (r = rec_writer_open(wp, rec, *rsp, &m)) != 0)
		return r;
	if (asprintf(&cmd, "sh -s -- %s", arg) < 0)
		return PV_ERR_ALLOC;
	if ((r = rec_writer_exec(*wp, pv_mono_ms(), cmd, strlen(cmd))) != 0 ||
	    (r = rec_writer_data(*wp, pv_mono_ms(), REC_EV_INPUT, script,
		 strlen(script))) != 0 ||
	    (r = rec_writer_flush(*wp)) != 0) {
		free(cmd);
		return r;
	}
	free(cmd);
	return 0;
}

/* What came back, on disk as it comes: a kill -9 loses none of it. */
static int
remote_rec_data(
    struct rec_writer *w, enum rec_event_type type, const char *d, size_t n)
{
	int r;

	if (w == NULL || n == 0)
		return 0;
	if ((r = rec_writer_data(w, pv_mono_ms(), type, d, n)) != 0)
		return r;
	return rec_writer_flush(w);
}

/*
 * provost's own failure to reach a target counts toward the provider's
 * availability as the broker's do (the sla plugin's observed outages): a
 * target.unreachable row "target=NAME why: ssh's line", written only when
 * ssh itself could not connect (status 255 and a connection error; a
 * refused key or a failed script is no outage).
 */
static void
remote_unreachable(struct ctl *c, const struct store_target *t, const char *why,
    int st, const char *ebuf)
{
	static const char *const down[] = { "Connection refused",
		"Connection timed out", "No route to host",
		"Network is unreachable", "Connection reset",
		"Connection closed by", "kex_exchange_identification", NULL };
	char obj[160], d[768];
	json_t *j;
	size_t i;

	if (!WIFEXITED(st) || WEXITSTATUS(st) != 255)
		return;
	for (i = 0; down[i] != NULL && strstr(ebuf, down[i]) == NULL; i++)
		;
	if (down[i] == NULL)
		return;
	(void)snprintf(obj, sizeof(obj), "target:%s", t->name);
	(void)snprintf(d, sizeof(d), "target=%s %s: %s", t->name, why, ebuf);
	if ((j = json_pack("{s:s}", "detail", d)) == NULL ||
	    store_audit_append(c->st, c->actor, "target.unreachable", obj, j) !=
		0)
		pv_error("target %s: the unreachable row was not written: %s",
		    t->name, store_errmsg(c->st));
	json_decref(j);
}

int
ctl_remote_run(struct ctl *c, const char *target, const char *why,
    const char *script, const char *arg, const char *rec, char **out,
    size_t *outlen, char *err, size_t errlen)
{
	const struct remote_id admin_id = { .serial = 0,
		.engineer = "provost-admin" };
	struct store_target *t = NULL;
	struct remote_files f = { .dir = "" };
	struct rec_recipients *rs = NULL;
	struct rec_writer *w = NULL;
	char *account = NULL, *root = NULL, *buf = NULL, ebuf[512], tmp[4096];
	int in[2] = { -1, -1 }, o[2] = { -1, -1 }, e[2] = { -1, -1 }, st = 0,
	    r = PV_ERR_IO, recfail = 0, unsent = 0;
	uint64_t deadline = pv_mono_ms() + REMOTE_TIMEOUT_MS;
	size_t len = 0, elen = 0;
	struct pollfd pfd[2];
	pid_t pid = -1;
	ssize_t n;

	*out = NULL;
	*outlen = 0;
	err[0] = '\0';
	if ((r = store_target_get(c->st, target, &t)) != 0 ||
	    (r = store_target_admin_get(c->st, target, &account, &root)) != 0) {
		(void)snprintf(err, errlen, "%s", store_errmsg(c->st));
		goto out;
	}
	if ((r = remote_files(
		 c, t, account, &admin_id, why, &f, err, errlen)) != 0)
		goto out;
	if ((buf = malloc(REMOTE_OUT_MAX)) == NULL) {
		r = PV_ERR_ALLOC;
		goto out;
	}
	if (pipe2(in, O_CLOEXEC) != 0 || pipe2(o, O_CLOEXEC) != 0 ||
	    pipe2(e, O_CLOEXEC) != 0 || (pid = fork()) < 0) {
		(void)snprintf(err, errlen, "ssh: %s", strerror(errno));
		r = PV_ERR_IO;
		goto out;
	}
	if (pid == 0) {
		if (dup2(in[0], 0) < 0 || dup2(o[1], 1) < 0 ||
		    dup2(e[1], 2) < 0)
			_exit(127);
		const char *const cmd[] = { "sh", "-s", "--", arg, NULL };

		remote_exec(t, account, &f, cmd);
	}
	close(in[0]);
	close(o[1]);
	close(e[1]);
	in[0] = o[1] = e[1] = -1;
	/*
	 * No recording, nothing sent (fail closed): ssh waits for its
	 * script until the recording holds it (opened after the fork, so
	 * the child is not forked from a process with the writer's thread).
	 */
	if (rec != NULL &&
	    remote_rec_open(c, rec, t, account, arg, script, &rs, &w) != 0) {
		(void)kill(pid, SIGKILL);
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		(void)snprintf(err, errlen,
		    "%s: the connection could not be recorded "
		    "(RecordingRecipient?)",
		    rec);
		r = PV_ERR_IO;
		goto out;
	}
	(void)signal(SIGPIPE, SIG_IGN);
	/* said after ssh's status: a connection ssh could not make is why */
	unsent = pv_write_all(in[1], script, strlen(script)) != 0;
	close(in[1]);
	in[1] = -1;
	pfd[0].fd = o[0];
	pfd[1].fd = e[0];
	pfd[0].events = pfd[1].events = POLLIN;
	while (pfd[0].fd >= 0 || pfd[1].fd >= 0) {
		uint64_t now = pv_mono_ms();
		int i;

		if (now >= deadline) {
			(void)snprintf(err, errlen, "no answer in %d s: killed",
			    REMOTE_TIMEOUT_MS / 1000);
			(void)kill(pid, SIGKILL);
			break;
		}
		if (poll(pfd, 2, (int)(deadline - now)) < 0 && errno != EINTR)
			break;
		for (i = 0; i < 2; i++) {
			if (pfd[i].fd < 0 || pfd[i].revents == 0)
				continue;
			if (i == 0)
				n = read(
				    pfd[0].fd, buf + len, REMOTE_OUT_MAX - len);
			else
				n = read(pfd[1].fd, tmp, sizeof(tmp));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				pfd[i].fd = -1;
				continue;
			}
			if (remote_rec_data(w,
				i == 0 ? REC_EV_OUTPUT : REC_EV_STDERR,
				i == 0 ? buf + len : tmp, (size_t)n) != 0) {
				recfail = 1;
				(void)kill(pid, SIGKILL);
				pfd[0].fd = pfd[1].fd = -1;
				break;
			}
			if (i == 0) {
				len += (size_t)n;
				if (len == REMOTE_OUT_MAX)
					pfd[0].fd = -1;
			} else {
				size_t k = (size_t)n < sizeof(ebuf) - 1 - elen
				    ? (size_t)n
				    : sizeof(ebuf) - 1 - elen;

				memcpy(ebuf + elen, tmp, k);
				elen += k;
			}
		}
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	ebuf[elen] = '\0';
	ebuf[strcspn(ebuf, "\r\n")] = '\0';
	if (w != NULL && !recfail) {
		struct rec_exit ex = {
			.kind =
			    WIFEXITED(st) ? REC_EXIT_STATUS : REC_EXIT_SIGNAL,
			.value = WIFEXITED(st) ? (uint32_t)WEXITSTATUS(st)
					       : (uint32_t)WTERMSIG(st),
		};
		uint8_t sha[32];
		uint64_t size;

		recfail = rec_writer_exit(w, pv_mono_ms(), &ex) != 0;
		/* close frees w, also on error */
		if (rec_writer_close(w, pv_mono_ms(), sha, &size) != 0)
			recfail = 1;
		w = NULL;
	}
	/* no recording, no use of what came back (fail closed) */
	if (recfail) {
		(void)snprintf(err, errlen,
		    "%s: the connection could not be recorded to the end: "
		    "stopped",
		    rec);
		r = PV_ERR_IO;
		goto out;
	}
	if (err[0] != '\0') {
		r = PV_ERR_IO;
		goto out;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		remote_unreachable(c, t, why, st, ebuf);
		(void)snprintf(err, errlen, "ssh %s@%s:%u: %s", account,
		    t->host, t->port,
		    ebuf[0] != '\0'     ? ebuf
			: WIFEXITED(st) ? "the script failed"
					: "killed");
		r = PV_ERR_IO;
		goto out;
	}
	if (unsent) {
		(void)snprintf(err, errlen, "ssh did not take the script");
		r = PV_ERR_IO;
		goto out;
	}
	*out = buf;
	*outlen = len;
	buf = NULL;
	r = 0;
out:
	rec_writer_free(w);
	rec_recipients_free(rs);
	remote_files_rm(&f);
	free(buf);
	free(account);
	free(root);
	store_target_free(t);
	if (in[0] >= 0)
		close(in[0]);
	if (in[1] >= 0)
		close(in[1]);
	if (o[0] >= 0)
		close(o[0]);
	if (o[1] >= 0)
		close(o[1]);
	if (e[0] >= 0)
		close(e[0]);
	if (e[1] >= 0)
		close(e[1]);
	return r;
}

int
ctl_remote_look(struct ctl *c, const char *target, const char *why,
    const char *rec, char **text, size_t *len, json_t **state, char *err,
    size_t errlen)
{
	char *account = NULL, *root = NULL;
	int r;

	*text = NULL;
	*state = NULL;
	if ((r = store_target_admin_get(c->st, target, &account, &root)) != 0) {
		(void)snprintf(err, errlen, "%s", store_errmsg(c->st));
		return r;
	}
	r = ctl_remote_run(c, target, why, store_sweep_script, root, rec, text,
	    len, err, errlen);
	free(account);
	free(root);
	if (r != 0)
		return r;
	if ((r = store_sweep_parse(target, *text, *len, state, err, errlen)) !=
	    0) {
		free(*text);
		*text = NULL;
	}
	return r;
}

int
ctl_remote_probe(struct ctl *c, const char *target, const char *account,
    uint64_t serial, const char *session_id, const char *engineer,
    const char *why, int *accepted, char *err, size_t errlen)
{
	const struct remote_id id = {
		.serial = serial, .session_id = session_id, .engineer = engineer
	};
	struct store_target *t = NULL;
	struct remote_files f = { .dir = "" };
	char ebuf[512];
	int e[2] = { -1, -1 }, st = 0, nul = -1, r;
	uint64_t deadline = pv_mono_ms() + REMOTE_PROBE_MS;
	size_t elen = 0;
	pid_t pid;
	ssize_t n;

	*accepted = 0;
	err[0] = '\0';
	if (!broker_principal_valid(account)) {
		(void)snprintf(err, errlen, "not an account name");
		return PV_ERR_INVALID;
	}
	if ((r = store_target_get(c->st, target, &t)) != 0) {
		(void)snprintf(err, errlen, "%s", store_errmsg(c->st));
		return r;
	}
	if ((r = remote_files(c, t, account, &id, why, &f, err, errlen)) != 0)
		goto out;
	r = PV_ERR_IO;
	if ((nul = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0 ||
	    pipe2(e, O_CLOEXEC) != 0 || (pid = fork()) < 0) {
		(void)snprintf(err, errlen, "ssh: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		if (dup2(nul, 0) < 0 || dup2(nul, 1) < 0 || dup2(e[1], 2) < 0)
			_exit(127);
		const char *const cmd[] = { "true", NULL };

		remote_exec(t, account, &f, cmd);
	}
	close(e[1]);
	e[1] = -1;
	for (;;) {
		struct pollfd pfd = { .fd = e[0], .events = POLLIN };
		uint64_t now = pv_mono_ms();

		if (now >= deadline) {
			(void)kill(pid, SIGKILL);
			(void)snprintf(err, errlen, "no answer in %d s",
			    REMOTE_PROBE_MS / 1000);
			break;
		}
		if (poll(&pfd, 1, (int)(deadline - now)) <= 0)
			continue;
		n = read(e[0], ebuf + elen,
		    elen < sizeof(ebuf) - 1 ? sizeof(ebuf) - 1 - elen : 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (elen < sizeof(ebuf) - 1)
			elen += (size_t)n;
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	ebuf[elen] = '\0';
	ebuf[strcspn(ebuf, "\r\n")] = '\0';
	if (err[0] != '\0')
		goto out;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		*accepted = 1;
		r = 0;
	} else if (WIFEXITED(st) && WEXITSTATUS(st) == 255 &&
	    strstr(ebuf, "Permission denied") != NULL)
		r = 0;
	else {
		remote_unreachable(c, t, why, st, ebuf);
		(void)snprintf(err, errlen, "ssh %s@%s:%u: %s", account,
		    t->host, t->port,
		    ebuf[0] != '\0' ? ebuf : "failed without a word");
	}
out:
	remote_files_rm(&f);
	store_target_free(t);
	if (nul >= 0)
		close(nul);
	if (e[0] >= 0)
		close(e[0]);
	if (e[1] >= 0)
		close(e[1]);
	return r;
}
