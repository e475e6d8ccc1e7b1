/*
 * tool_forge.c: a test helper (not installed) that plays a taken-over
 * session process against the real monitor.  It stops a live session
 * process (SIGSTOP), takes a copy of its monitor socket (pidfd_getfd, as
 * root), and sends the requests named on the command line with the real
 * codec, printing one line per answer.  What a libssh bug in the session
 * process would let an attacker say, said on purpose.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "broker/privsep/protocol.h"
#include "policy/policy.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

#define FORGE_FIELDS 8
#define FORGE_WAIT_MS 10000
/* Answers the stopped process had asked for before it stopped: skipped. */
#define FORGE_STALE_MAX 4

static void
usage(void)
{
	fprintf(stderr,
	    "usage: pv-broker-forge PID FD REQUEST...\n"
	    "  REQUEST is one argument, fields split on spaces:\n"
	    "    decide ENGINEER TARGET ACCOUNT CHANNEL [CLIENT-ADDRESS]\n"
	    "    mint-cert SESSION TARGET PRINCIPAL SOURCE-ADDRESS OUTFILE\n"
	    "    mint-token SESSION TARGET ACCOUNT\n"
	    "    target-get ENGINEER NAME\n"
	    "    target-connect ENGINEER NAME  (the monitor opens the leg)\n"
	    "    target-failed STAGE REASON...  (1 connect, 2 key exchange)\n"
	    "    totp ENGINEER CODE\n"
	    "    pubkey LOGIN FILE.pub  (is this public key the login's?)\n"
	    "    grace LOGIN FILE.pub   (did this key pass a code within "
	    "MFAGrace?)\n"
	    "    menu WORD...      (a menu command, words joined by blanks)\n"
	    "    audit SESSION ACTION DETAIL...  (one audit row, plain words)\n"
	    "    nowait REQUEST    (REQUEST sent, its answer not awaited)\n"
	    "    sleep MS\n"
	    "    partial           (a frame header and part of its body, no "
	    "more)\n"
	    "    audit-flood SESSION N  (N audit appends, each awaited)\n"
	    "    rewrite FILE      (the process's recording, *.pvr, replaced "
	    "by FILE)\n"
	    "    session-end       (ends the session: counters, no hash)\n"
	    "    report FIELD...   (FD is the control link: one message, "
	    "fields\n"
	    "                       joined by tabs, no answer awaited)\n"
	    "  The session process PID is stopped; its monitor socket is "
	    "FD.\n"
	    "  Exit 0, or 3 when the monitor closed the socket.\n");
	exit(2);
}

static int
set(char *dst, size_t size, const char *src)
{
	if (strlen(src) >= size) {
		fprintf(stderr, "pv-broker-forge: field too long: %s\n", src);
		exit(2);
	}
	memcpy(dst, src, strlen(src) + 1);
	return 0;
}

/* MON_AUTH_PUBKEY for login with the key of an OpenSSH .pub file. */
static void
pubkey(struct mon_msg *q, const char *login, const char *file)
{
	char line[4096], *b64, *end;
	uint8_t *blob = NULL;
	size_t len = 0;
	FILE *fp;

	if ((fp = fopen(file, "r")) == NULL ||
	    fgets(line, sizeof(line), fp) == NULL) {
		perror(file);
		exit(2);
	}
	fclose(fp);
	if ((b64 = strchr(line, ' ')) == NULL)
		usage();
	b64++;
	end = b64 + strcspn(b64, " \n");
	if (pv_b64_decode(b64, (size_t)(end - b64), 0, &blob, &len) != 0 ||
	    len > sizeof(q->u.auth_pubkey.blob))
		usage();
	q->type = MON_AUTH_PUBKEY;
	set(q->u.auth_pubkey.login, sizeof(q->u.auth_pubkey.login), login);
	memcpy(q->u.auth_pubkey.blob, blob, len);
	q->u.auth_pubkey.bloblen = len;
	set(q->u.auth_pubkey.addr, sizeof(q->u.auth_pubkey.addr), "127.0.0.1");
	free(blob);
}

/* MON_MFA_GRACE for login with the key of an OpenSSH .pub file. */
static void
grace(struct mon_msg *q, const char *login, const char *file)
{
	struct mon_msg k;

	memset(&k, 0, sizeof(k));
	pubkey(&k, login, file);
	q->type = MON_MFA_GRACE;
	set(q->u.mfa_grace.engineer, sizeof(q->u.mfa_grace.engineer), login);
	memcpy(
	    q->u.mfa_grace.blob, k.u.auth_pubkey.blob, k.u.auth_pubkey.bloblen);
	q->u.mfa_grace.bloblen = k.u.auth_pubkey.bloblen;
	set(q->u.mfa_grace.addr, sizeof(q->u.mfa_grace.addr), "127.0.0.1");
}

/* A request from its fields; 0, or exits on a bad command line. */
static void
build(char **f, int n, struct mon_msg *q, char *out, size_t outlen)
{
	memset(q, 0, sizeof(*q));
	if (strcmp(f[0], "decide") == 0 && (n == 5 || n == 6)) {
		q->type = MON_DECIDE_CH;
		set(q->u.decide_ch.engineer, sizeof(q->u.decide_ch.engineer),
		    f[1]);
		set(q->u.decide_ch.target, sizeof(q->u.decide_ch.target), f[2]);
		set(q->u.decide_ch.account, sizeof(q->u.decide_ch.account),
		    f[3]);
		if ((q->u.decide_ch.channel = policy_channel_parse(f[4])) == 0)
			usage();
		(void)snprintf(q->u.decide_ch.client,
		    sizeof(q->u.decide_ch.client), "%s port 1",
		    n == 6 ? f[5] : "127.0.0.1");
	} else if (strcmp(f[0], "mint-cert") == 0 && n == 6) {
		q->type = MON_MINT_CERT;
		set(q->u.mint_cert.session_id,
		    sizeof(q->u.mint_cert.session_id), f[1]);
		set(q->u.mint_cert.target, sizeof(q->u.mint_cert.target), f[2]);
		set(q->u.mint_cert.principal, sizeof(q->u.mint_cert.principal),
		    f[3]);
		set(q->u.mint_cert.source_address,
		    sizeof(q->u.mint_cert.source_address), f[4]);
		/* any 32 bytes make an Ed25519 public key to sign */
		memset(
		    q->u.mint_cert.pubkey, 0x5a, sizeof(q->u.mint_cert.pubkey));
		set(out, outlen, f[5]);
	} else if (strcmp(f[0], "mint-token") == 0 && n == 4) {
		q->type = MON_MINT_TOKEN;
		set(q->u.mint_token.session_id,
		    sizeof(q->u.mint_token.session_id), f[1]);
		set(q->u.mint_token.target, sizeof(q->u.mint_token.target),
		    f[2]);
		set(q->u.mint_token.account, sizeof(q->u.mint_token.account),
		    f[3]);
	} else if (strcmp(f[0], "totp") == 0 && n == 3) {
		q->type = MON_AUTH_TOTP;
		set(q->u.auth_totp.login, sizeof(q->u.auth_totp.login), f[1]);
		set(q->u.auth_totp.code, sizeof(q->u.auth_totp.code), f[2]);
	} else if (strcmp(f[0], "pubkey") == 0 && n == 3) {
		pubkey(q, f[1], f[2]);
	} else if (strcmp(f[0], "grace") == 0 && n == 3) {
		grace(q, f[1], f[2]);
	} else if (strcmp(f[0], "menu") == 0 && n >= 2) {
		size_t len = 0;
		int i;

		q->type = MON_MENU;
		for (i = 1; i < n; i++) {
			if (len + strlen(f[i]) + 2 > sizeof(q->u.menu.command))
				usage();
			if (i > 1)
				q->u.menu.command[len++] = ' ';
			memcpy(q->u.menu.command + len, f[i], strlen(f[i]));
			len += strlen(f[i]);
		}
		q->u.menu.command[len] = '\0';
	} else if (strcmp(f[0], "target-get") == 0 && n == 3) {
		q->type = MON_TARGET_GET;
		set(q->u.target_get.engineer, sizeof(q->u.target_get.engineer),
		    f[1]);
		set(q->u.target_get.name, sizeof(q->u.target_get.name), f[2]);
	} else if (strcmp(f[0], "target-connect") == 0 && n == 3) {
		q->type = MON_TARGET_CONNECT;
		set(q->u.target_connect.engineer,
		    sizeof(q->u.target_connect.engineer), f[1]);
		set(q->u.target_connect.target,
		    sizeof(q->u.target_connect.target), f[2]);
	} else if (strcmp(f[0], "target-failed") == 0 && n >= 3) {
		size_t len = 0;
		int i;

		q->type = MON_TARGET_FAILED;
		q->u.target_failed.stage = (int)strtol(f[1], NULL, 10);
		for (i = 2; i < n; i++) {
			if (len + strlen(f[i]) + 2 >
			    sizeof(q->u.target_failed.reason))
				usage();
			if (i > 2)
				q->u.target_failed.reason[len++] = ' ';
			memcpy(q->u.target_failed.reason + len, f[i],
			    strlen(f[i]));
			len += strlen(f[i]);
		}
	} else if (strcmp(f[0], "audit") == 0 && n >= 4) {
		/* one row: the detail is the words after ACTION, plain text */
		char d[512];
		size_t len = 0;
		int i;

		q->type = MON_AUDIT;
		set(q->u.audit.action, sizeof(q->u.audit.action), f[2]);
		if (snprintf(q->u.audit.object, sizeof(q->u.audit.object),
			"session:%s", f[1]) >= (int)sizeof(q->u.audit.object))
			usage();
		for (i = 3; i < n; i++) {
			if (len + strlen(f[i]) + 2 > sizeof(d) ||
			    strpbrk(f[i], "\"\\") != NULL)
				usage();
			if (i > 3)
				d[len++] = ' ';
			memcpy(d + len, f[i], strlen(f[i]));
			len += strlen(f[i]);
		}
		d[len] = '\0';
		if (snprintf(q->u.audit.details, sizeof(q->u.audit.details),
			"{\"detail\":\"%s\"}",
			d) >= (int)sizeof(q->u.audit.details))
			usage();
	} else if (strcmp(f[0], "session-end") == 0 && n == 1) {
		q->type = MON_SESSION_END;
		set(q->u.session_end.reason, sizeof(q->u.session_end.reason),
		    "forged end");
	} else
		usage();
}

/*
 * The recording descriptor of the session process (a *.pvr it holds),
 * taken as a writer of it would, and its content replaced by FILE's.
 */
static void
rewrite(int pidfd, long pid, const char *file)
{
	char dir[64], link[PATH_MAX], target[PATH_MAX], buf[65536];
	struct dirent *de;
	ssize_t n, len;
	DIR *d;
	int in, rfd = -1;

	(void)snprintf(dir, sizeof(dir), "/proc/%ld/fd", pid);
	if ((d = opendir(dir)) == NULL) {
		perror(dir);
		exit(1);
	}
	/* a DIR of our own: readdir is safe (readdir_r is deprecated) */
	// cppcheck-suppress readdirCalled
	while ((de = readdir(d)) != NULL && rfd < 0) {
		(void)snprintf(link, sizeof(link), "%s/%s", dir, de->d_name);
		len = readlink(link, target, sizeof(target) - 1);
		if (len < 5)
			continue;
		target[len] = '\0';
		if (strcmp(target + len - 4, ".pvr") == 0)
			rfd = (int)syscall(SYS_pidfd_getfd, pidfd,
			    (int)strtol(de->d_name, NULL, 10), 0);
	}
	closedir(d);
	if (rfd < 0 || (in = open(file, O_RDONLY)) < 0) {
		fprintf(stderr, "pv-broker-forge: no recording to rewrite\n");
		exit(1);
	}
	/* O_APPEND: emptied first, then written from offset 0 */
	if (ftruncate(rfd, 0) != 0) {
		perror("pv-broker-forge: ftruncate");
		exit(1);
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (pv_write_all(rfd, buf, (size_t)n) != 0) {
			perror("pv-broker-forge: write");
			exit(1);
		}
	(void)close(in);
	(void)close(rfd);
	printf("rewritten %s\n", target);
	fflush(stdout);
}

static int
write_cert(const char *path, const struct mon_cert_serial *c)
{
	char *b64 = NULL;
	FILE *fp;
	int ok;

	if (pv_b64_encode(c->blob, c->bloblen, 0, &b64) != 0)
		return -1;
	if ((fp = fopen(path, "w")) == NULL) {
		free(b64);
		return -1;
	}
	ok = fprintf(fp, "ssh-ed25519-cert-v01@openssh.com %s forged\n", b64) >
	    0;
	ok = fclose(fp) == 0 && ok;
	free(b64);
	return ok ? 0 : -1;
}

/* A frame that says 100 bytes follow, and 10 that do: a slow writer. */
static void
partial(int sock)
{
	static const uint8_t part[4 + 10] = { 0, 0, 0, 100, MON_AUDIT };

	if (send(sock, part, sizeof(part), MSG_NOSIGNAL) !=
	    (ssize_t)sizeof(part)) {
		printf("closed (send: %s)\n", strerror(errno));
		exit(3);
	}
	printf("sent\n");
	fflush(stdout);
}

/*
 * n audit appends for session, each waited for; stops at an error.  The
 * row is one a session process may append before authentication (a
 * refused key), so only the bound on requests stops it.
 */
static void
flood(int sock, const char *session, int n)
{
	struct mon_msg q, a;
	int i, r;

	memset(&q, 0, sizeof(q));
	q.type = MON_AUDIT;
	set(q.u.audit.action, sizeof(q.u.audit.action), "auth.fail");
	if (snprintf(q.u.audit.object, sizeof(q.u.audit.object), "session:%s",
		session) >= (int)sizeof(q.u.audit.object))
		usage();
	set(q.u.audit.details, sizeof(q.u.audit.details),
	    "{\"detail\":\"user=forge from=flood\"}");
	for (i = 0; i < n; i++) {
		if ((r = broker_mon_send(
			 sock, &q, -1, pv_mono_ms() + FORGE_WAIT_MS)) != 0 ||
		    (r = broker_mon_recv(
			 sock, &a, NULL, pv_mono_ms() + FORGE_WAIT_MS)) != 0) {
			printf("closed after %d (%s)\n", i, pv_err_str(r));
			exit(3);
		}
	}
	printf("flood of %d taken\n", n);
	fflush(stdout);
}

/* A control-link report, as a session process sends one (SEQPACKET). */
static void
report(int sock, char **f, int n)
{
	char msg[1024] = "";
	size_t len = 0;
	int i;

	for (i = 0; i < n; i++) {
		if (len + strlen(f[i]) + 2 > sizeof(msg))
			usage();
		if (i > 0)
			msg[len++] = '\t';
		memcpy(msg + len, f[i], strlen(f[i]));
		len += strlen(f[i]);
	}
	if (send(sock, msg, len, MSG_NOSIGNAL) != (ssize_t)len) {
		printf("closed (send: %s)\n", strerror(errno));
		exit(3);
	}
	printf("sent\n");
	fflush(stdout);
}

/* One line for the answer a to q. */
static void
show(const struct mon_msg *a, const char *out)
{
	switch (a->type) {
	case MON_DECISION_CH:
		printf("decision %s %s %s\n",
		    a->u.decision_ch.outcome == PV_ALLOW ? "allow" : "deny",
		    a->u.decision_ch.rule[0] ? a->u.decision_ch.rule : "-",
		    a->u.decision_ch.reason);
		break;
	case MON_CERT_SERIAL:
		if (write_cert(out, &a->u.cert_serial) != 0) {
			perror(out);
			exit(1);
		}
		printf("cert serial %llu\n",
		    (unsigned long long)a->u.cert_serial.serial);
		break;
	case MON_AUTH_TOTP_ANS:
		printf("code %s\n",
		    a->u.auth_ans.flags & MON_AUTH_OK ? "ok" : "wrong");
		break;
	case MON_MFA_GRACE_ANS:
		printf("grace %s\n",
		    a->u.auth_ans.flags & MON_AUTH_DONE ? "granted"
							: "refused");
		break;
	case MON_AUTH_PUBKEY_ANS:
		printf("key %s\n",
		    a->u.auth_ans.flags & MON_AUTH_OK ? "ok" : "refused");
		break;
	case MON_MENU_OUT: {
		const uint8_t *o = a->u.menu_out.out;
		size_t i, n = a->u.menu_out.outlen;

		printf("menu status %u: ", (unsigned)a->u.menu_out.status);
		/* the output's first line, printable */
		for (i = 0; i < n && o[i] != '\n'; i++)
			putchar(o[i] >= 0x20 && o[i] < 0x7f ? o[i] : '?');
		putchar('\n');
		break;
	}
	case MON_TOKEN:
		printf("token serial %llu\n",
		    (unsigned long long)a->u.token.serial);
		break;
	case MON_TARGET:
		if (!a->u.target.found)
			printf("target none\n");
		else
			printf("target %s host %s port %u class %s "
			       "accounts %u\n",
			    a->u.target.name, a->u.target.host,
			    (unsigned)a->u.target.port,
			    a->u.target.classification[0]
				? a->u.target.classification
				: "-",
			    (unsigned)a->u.target.naccounts);
		break;
	case MON_TARGET_SOCKET:
		printf("socket %s %s %u\n", a->u.target_socket.target,
		    a->u.target_socket.host, (unsigned)a->u.target_socket.port);
		break;
	case MON_ERROR:
		printf("error %s: %s\n", pv_err_str(a->u.error.code),
		    a->u.error.msg);
		break;
	default:
		printf("answer %s\n",
		    broker_mon_type_name((int)a->type)
			? broker_mon_type_name((int)a->type)
			: "?");
		break;
	}
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	struct mon_msg q, a;
	char line[1024], *f[FORGE_FIELDS], *save = NULL, out[1024] = "";
	long pid, fd;
	int pidfd, sock, i, n, r, stale, afd, nowait;

	if (argc < 4)
		usage();
	pid = strtol(argv[1], NULL, 10);
	fd = strtol(argv[2], NULL, 10);
	if (pid <= 1 || fd < 0)
		usage();
	if ((pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0)) < 0 ||
	    (sock = (int)syscall(SYS_pidfd_getfd, pidfd, (int)fd, 0)) < 0) {
		fprintf(stderr, "pv-broker-forge: pid %ld fd %ld: %s\n", pid,
		    fd, strerror(errno));
		return 1;
	}
	/* The real process stays out of the way from here on. */
	if (kill((pid_t)pid, SIGSTOP) != 0) {
		perror("pv-broker-forge: SIGSTOP");
		return 1;
	}
	for (i = 3; i < argc; i++) {
		if (strlen(argv[i]) >= sizeof(line))
			usage();
		memcpy(line, argv[i], strlen(argv[i]) + 1);
		n = 0;
		f[0] = strtok_r(line, " ", &save);
		while (n < FORGE_FIELDS - 1 && f[n] != NULL) {
			n++;
			f[n] = strtok_r(NULL, " ", &save);
		}
		if (n == 0)
			usage();
		if (strcmp(f[0], "sleep") == 0 && n == 2) {
			(void)poll(NULL, 0, (int)strtol(f[1], NULL, 10));
			continue;
		}
		if (strcmp(f[0], "partial") == 0 && n == 1) {
			partial(sock);
			continue;
		}
		if (strcmp(f[0], "audit-flood") == 0 && n == 3) {
			flood(sock, f[1], (int)strtol(f[2], NULL, 10));
			continue;
		}
		if (strcmp(f[0], "rewrite") == 0 && n == 2) {
			rewrite(pidfd, pid, f[1]);
			continue;
		}
		if (strcmp(f[0], "report") == 0) {
			report(sock, f + 1, n - 1);
			continue;
		}
		nowait = strcmp(f[0], "nowait") == 0 && n > 1;
		build(f + nowait, n - nowait, &q, out, sizeof(out));
		if ((r = broker_mon_send(
			 sock, &q, -1, pv_mono_ms() + FORGE_WAIT_MS)) != 0) {
			printf("closed (send: %s)\n", pv_err_str(r));
			return 3;
		}
		if (nowait) {
			printf("sent %s\n", f[1]);
			continue;
		}
		for (stale = 0;; stale++) {
			afd = -1;
			r = broker_mon_recv(
			    sock, &a, &afd, pv_mono_ms() + FORGE_WAIT_MS);
			if (afd >= 0)
				close(afd);
			if (r != 0) {
				printf("closed (%s)\n", pv_err_str(r));
				return 3;
			}
			if ((int)a.type == (int)q.type + 1 ||
			    a.type == MON_ERROR || stale >= FORGE_STALE_MAX)
				break;
		}
		show(&a, out);
		broker_mon_msg_clear(&a);
	}
	return 0;
}
