/*
 * sftp-tap.c: a test relay that puts the SFTP (or scp) tracker between a
 * real client and a real server on pipes, writing its events as JSON lines.
 *
 *   sftp -D "sftp-tap /usr/lib/openssh/sftp-server" -b batch
 *   SFTP_TAP_SCP=1 scp -O -S sftp-tap FILE host:/path
 *
 * Environment: SFTP_TAP_EVENTS (jsonl file, appended), SFTP_TAP_ALLOW
 * (both|upload|download|none, default both), SFTP_TAP_CONTENT (a
 * directory: recorded contents are written to DIR/<dir>-<file_id>),
 * SFTP_TAP_CAPTURE (a file: both directions as a fuzz_sftp seed).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "broker/session/sftp.h"
#include "common/common.h"

#define TAP_READ (64 * 1024)

struct tap {
	FILE *events;
	FILE *capture; /* fuzz_sftp input: the raw bytes of both sides */
	const char *content_dir;
	int to_server, from_server;
	struct sftp_tracker *sftp;
	struct scp_tracker *scp;
};

static int
tap_event(void *ctx, const struct sftp_event *ev)
{
	struct tap *tap = ctx;
	json_t *o;
	const char *hash = ev->hash == SFTP_HASH_SEQUENTIAL ? "sequential"
	    : ev->hash == SFTP_HASH_NON_SEQUENTIAL          ? "non-sequential"
							    : "none";
	int r = 0;

	if (tap->events == NULL)
		return 0;
	o = json_pack("{s:s, s:s?, s:s, s:s?, s:s, s:I, s:I, s:I, s:I, s:s, "
		      "s:s, s:I, s:s, s:b}",
	    "op", sftp_op_name(ev->op), "ext", ev->ext, "path", ev->path,
	    "path2", ev->path2, "dir", sftp_dir_name(ev->direction), "file_id",
	    (json_int_t)ev->file_id, "flags", (json_int_t)ev->open_flags,
	    "bytes", (json_int_t)ev->bytes, "packets", (json_int_t)ev->packets,
	    "hash", hash, "sha256", ev->sha256, "status",
	    (json_int_t)ev->status, "message", ev->message, "refused",
	    ev->refused);
	if (o == NULL)
		return PV_ERR_ALLOC;
	if (json_dumpf(o, tap->events, JSON_COMPACT | JSON_ENSURE_ASCII) != 0 ||
	    fputc('\n', tap->events) == EOF || fflush(tap->events) != 0)
		r = PV_ERR_IO;
	json_decref(o);
	return r;
}

static int
tap_content(void *ctx, uint64_t file_id, enum sftp_dir dir, uint64_t offset,
    const uint8_t *data, size_t len)
{
	struct tap *tap = ctx;
	char path[4096];
	int fd, r = 0;
	ssize_t w;

	if (tap->content_dir == NULL)
		return 0;
	if (snprintf(path, sizeof(path), "%s/%s-%llu", tap->content_dir,
		sftp_dir_name(dir),
		(unsigned long long)file_id) >= (int)sizeof(path))
		return PV_ERR_LIMIT;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) == -1)
		return PV_ERR_IO;
	while (len > 0) {
		w = pwrite(fd, data, len, (off_t)offset);
		if (w <= 0) {
			r = PV_ERR_IO;
			break;
		}
		data += w;
		len -= (size_t)w;
		offset += (uint64_t)w;
	}
	close(fd);
	return r;
}

static int
tap_spawn(char **argv, int *to, int *from, pid_t *pid)
{
	int in[2], out[2];

	if (pipe2(in, O_CLOEXEC) == -1 || pipe2(out, O_CLOEXEC) == -1)
		return -1;
	if ((*pid = fork()) == -1)
		return -1;
	if (*pid == 0) {
		if (dup2(in[0], 0) == -1 || dup2(out[1], 1) == -1)
			_exit(127);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	*to = in[1];
	*from = out[0];
	return 0;
}

/* Records of at most 128 bytes: (server << 7 | len - 1), bytes. */
static void
tap_capture(struct tap *tap, int server, const uint8_t *p, size_t n)
{
	size_t k;

	while (tap->capture != NULL && n > 0) {
		k = n < 128 ? n : 128;
		fputc((server << 7) | (int)(k - 1), tap->capture);
		fwrite(p, 1, k, tap->capture);
		p += k;
		n -= k;
	}
}

/* Replies for refused requests, when the server stream is between packets. */
static int
tap_flush_replies(struct tap *tap)
{
	const uint8_t *p;
	size_t n;

	if (tap->sftp == NULL)
		return 0;
	if (sftp_tracker_reply(tap->sftp, &p, &n) != 0)
		return -1;
	if (n == 0)
		return 0;
	if (pv_write_all(1, p, n) != 0)
		return -1;
	sftp_tracker_reply_consumed(tap->sftp, n);
	return 0;
}

/* Works through the client bytes held; returns bytes kept, or -1. */
static ssize_t
tap_client(struct tap *tap, uint8_t *buf, size_t len)
{
	struct sftp_verdict v;
	size_t off = 0;
	int r;

	if (tap->scp != NULL) {
		if (scp_tracker_client_data(tap->scp, buf, len) != 0 ||
		    pv_write_all(tap->to_server, buf, len) != 0)
			return -1;
		return 0;
	}
	while (off < len) {
		if ((r = sftp_tracker_client_data(
			 tap->sftp, buf + off, len - off, &v)) != 0) {
			fprintf(
			    stderr, "sftp-tap: client: %s\n", pv_err_str(r));
			return -1;
		}
		if (v.action == SFTP_NEED)
			break;
		if (v.action == SFTP_WAIT) {
			if (tap_flush_replies(tap) != 0)
				return -1;
			continue;
		}
		if (v.action == SFTP_PASS &&
		    pv_write_all(tap->to_server, buf + off, v.len) != 0)
			return -1;
		off += v.len;
		if (tap_flush_replies(tap) != 0)
			return -1;
	}
	memmove(buf, buf + off, len - off);
	return (ssize_t)(len - off);
}

static int
tap_loop(struct tap *tap)
{
	uint8_t *cbuf, sbuf[TAP_READ];
	size_t clen = 0, ccap = SFTP_HOLD_MAX + TAP_READ;
	struct pollfd pfd[2];
	ssize_t n, kept;
	int r, cin_open = 1;

	if ((cbuf = malloc(ccap)) == NULL)
		return -1;
	for (;;) {
		pfd[0] = (struct pollfd){ .fd = cin_open ? 0 : -1,
			.events = POLLIN };
		pfd[1] =
		    (struct pollfd){ .fd = tap->from_server, .events = POLLIN };
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			n = read(tap->from_server, sbuf, sizeof(sbuf));
			if (n <= 0)
				break; /* the server ended */
			tap_capture(tap, 1, sbuf, (size_t)n);
			r = tap->scp != NULL
			    ? scp_tracker_server_data(tap->scp, sbuf, (size_t)n)
			    : sftp_tracker_server_data(
				  tap->sftp, sbuf, (size_t)n);
			if (r != 0) {
				fprintf(stderr, "sftp-tap: server: %s\n",
				    pv_err_str(r));
				free(cbuf);
				return -1;
			}
			if (pv_write_all(1, sbuf, (size_t)n) != 0 ||
			    tap_flush_replies(tap) != 0)
				break;
		}
		if (cin_open &&
		    (pfd[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			n = read(0, cbuf + clen, ccap - clen);
			if (n <= 0) {
				cin_open = 0;
				close(tap->to_server);
				tap->to_server = -1;
				continue;
			}
			tap_capture(tap, 0, cbuf + clen, (size_t)n);
			clen += (size_t)n;
			if ((kept = tap_client(tap, cbuf, clen)) < 0) {
				free(cbuf);
				return -1;
			}
			clen = (size_t)kept;
		}
	}
	free(cbuf);
	return 0;
}

int
main(int argc, char **argv)
{
	struct tap tap = { .to_server = -1, .from_server = -1 };
	struct sftp_config cfg = { .allow =
				       SFTP_ALLOW_UPLOAD | SFTP_ALLOW_DOWNLOAD,
		.cb = {
		    .event = tap_event, .content = tap_content, .ctx = &tap } };
	const char *ev = getenv("SFTP_TAP_EVENTS");
	const char *allow = getenv("SFTP_TAP_ALLOW");
	char shell[] = "/bin/sh", dash_c[] = "-c";
	char *sh[] = { shell, dash_c, NULL, NULL };
	char **child = argv + 1, *path = NULL;
	enum scp_mode mode = SCP_NONE;
	int recursive, status = 0, rc = 1;
	pid_t pid = -1;

	signal(SIGPIPE, SIG_IGN);
	pv_log_init("sftp-tap", PV_LOG_STDERR, PV_LOG_WARN);
	if (argc < 2) {
		fprintf(stderr, "usage: sftp-tap SERVER [ARGS...]\n");
		return 2;
	}
	if (allow != NULL && strcmp(allow, "upload") == 0)
		cfg.allow = SFTP_ALLOW_UPLOAD;
	else if (allow != NULL && strcmp(allow, "download") == 0)
		cfg.allow = SFTP_ALLOW_DOWNLOAD;
	else if (allow != NULL && strcmp(allow, "none") == 0)
		cfg.allow = 0;
	tap.content_dir = getenv("SFTP_TAP_CONTENT");
	cfg.record_contents = tap.content_dir != NULL;
	if (ev != NULL && (tap.events = fopen(ev, "a")) == NULL) {
		fprintf(stderr, "sftp-tap: %s: %s\n", ev, strerror(errno));
		return 1;
	}
	if (getenv("SFTP_TAP_CAPTURE") != NULL) {
		if ((tap.capture = fopen(getenv("SFTP_TAP_CAPTURE"), "w")) ==
		    NULL)
			goto out;
		/* the settings byte: allow bits, contents, scp, download */
		fputc((int)cfg.allow | (cfg.record_contents ? 4 : 0) |
			(getenv("SFTP_TAP_SCP") != NULL ? 8 : 0),
		    tap.capture);
	}
	if (getenv("SFTP_TAP_SCP") != NULL) {
		/* As scp -S: ssh-like options, then "--", host, command. */
		const char *cmd = argv[argc - 1];

		if (scp_classify(cmd, strlen(cmd), &mode, &path, &recursive) !=
			0 ||
		    mode == SCP_NONE) {
			fprintf(stderr, "sftp-tap: not an scp command\n");
			goto out;
		}
		if ((mode == SCP_UPLOAD && !(cfg.allow & SFTP_ALLOW_UPLOAD)) ||
		    (mode == SCP_DOWNLOAD &&
			!(cfg.allow & SFTP_ALLOW_DOWNLOAD))) {
			fprintf(stderr, "%s\n",
			    mode == SCP_UPLOAD ? SFTP_MSG_UPLOAD_DENIED
					       : SFTP_MSG_DOWNLOAD_DENIED);
			goto out;
		}
		if (tap.capture != NULL && mode == SCP_DOWNLOAD &&
		    (fseek(tap.capture, 0, SEEK_SET) != 0 ||
			fputc((int)cfg.allow | (cfg.record_contents ? 4 : 0) |
				8 | 16,
			    tap.capture) == EOF))
			goto out;
		if (scp_tracker_new(&tap.scp, mode, path, &cfg) != 0)
			goto out;
		sh[2] = argv[argc - 1];
		child = sh;
	} else if (sftp_tracker_new(&tap.sftp, &cfg) != 0)
		goto out;
	if (tap_spawn(child, &tap.to_server, &tap.from_server, &pid) != 0) {
		fprintf(stderr, "sftp-tap: spawn: %s\n", strerror(errno));
		goto out;
	}
	if (tap_loop(&tap) != 0)
		kill(pid, SIGTERM);
	else
		rc = 0;
	if (tap.sftp != NULL && sftp_tracker_finish(tap.sftp) != 0)
		rc = 1;
	if (tap.scp != NULL && scp_tracker_finish(tap.scp) != 0)
		rc = 1;
	if (tap.to_server != -1)
		close(tap.to_server);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (rc == 0 && WIFEXITED(status))
		rc = WEXITSTATUS(status);
out:
	sftp_tracker_free(tap.sftp);
	scp_tracker_free(tap.scp);
	free(path);
	if (tap.events != NULL)
		fclose(tap.events);
	if (tap.capture != NULL)
		fclose(tap.capture);
	return rc;
}
