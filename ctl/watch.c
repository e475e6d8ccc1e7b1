/*
 * watch.c: provostctl session watch: a live session's output as it
 * happens, read-only, through provostd's control socket.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "ctl/ctl.h"
#include "recorder/recorder.h"

#define WATCH_LINE_MAX 4096

/*
 * One JSON line of provostd's, read a byte at a time so that nothing of
 * the stream after it is taken.  NULL with *r set on failure.
 */
static json_t *
watch_header(int fd, int *r)
{
	char line[WATCH_LINE_MAX];
	size_t n = 0;
	ssize_t got;
	json_error_t jerr;
	json_t *o;

	for (;;) {
		if (n == sizeof(line)) {
			*r = PV_ERR_LIMIT;
			return NULL;
		}
		got = read(fd, line + n, 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			*r = got == 0 ? PV_ERR_CLOSED : PV_ERR_IO;
			return NULL;
		}
		if (line[n] == '\n')
			break;
		n++;
	}
	if ((o = json_loadb(line, n, 0, &jerr)) == NULL || !json_is_object(o)) {
		json_decref(o);
		*r = PV_ERR_PROTOCOL;
		return NULL;
	}
	*r = json_is_true(json_object_get(o, "ok")) ? 0 : PV_ERR_DENIED;
	return o;
}

static int
watch_connect(struct ctl *c, int *out)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	const char *path = c->cfg->control_socket;
	int fd;

	*out = -1;
	if (strlen(path) >= sizeof(sun.sun_path))
		return ctl_fail(
		    PV_ERR_RANGE, "ControlSocket %s: too long", path);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return ctl_fail(PV_ERR_IO, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		int e = errno;

		close(fd);
		if (e == ENOENT || e == ECONNREFUSED)
			return ctl_fail(PV_ERR_CLOSED,
			    "provostd is not running (no control socket at "
			    "%s)",
			    path);
		if (e == EACCES)
			return ctl_fail(PV_ERR_PERM,
			    "control socket %s: permission denied (root or "
			    "provostd's user only)",
			    path);
		return ctl_fail(
		    PV_ERR_IO, "control socket %s: %s", path, strerror(e));
	}
	*out = fd;
	return 0;
}

/* The stream, made safe for this terminal, until provostd closes it. */
static int
watch_stream(int fd)
{
	struct rec_escape *esc = NULL;
	struct pv_buf *out = NULL;
	uint8_t buf[64 * 1024];
	ssize_t n;
	int r = 0;

	if ((esc = rec_escape_new(REC_ESC_TERMINAL)) == NULL ||
	    (out = pv_buf_new(PV_BUF_DEFAULT_MAX)) == NULL) {
		r = ctl_fail(PV_ERR_ALLOC, "out of memory");
		goto out;
	}
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = ctl_fail(PV_ERR_IO, "watch: %s", strerror(errno));
			goto out;
		}
		pv_buf_reset(out);
		if (n == 0) {
			(void)rec_escape_finish(esc, out);
		} else if (rec_escape_filter(esc, buf, (size_t)n, out) != 0) {
			r = ctl_fail(PV_ERR_ALLOC, "out of memory");
			goto out;
		}
		if (pv_buf_len(out) > 0 &&
		    pv_write_all(
			STDOUT_FILENO, pv_buf_ptr(out), pv_buf_len(out)) != 0) {
			r = CTL_EXIT_OK; /* the reader went: so do we */
			goto out;
		}
		if (n == 0)
			break;
	}
	fprintf(stderr, "\r\nprovostctl: the watch ended\r\n");
	r = CTL_EXIT_OK;
out:
	rec_escape_free(esc);
	pv_buf_free(out);
	return r;
}

/*
 * --as APPROVER: the approver's current code, one line from the terminal
 * (not echoed) or from standard input: six to eight digits.
 */
static int
watch_code(const char *as, char *code, size_t len)
{
	struct termios old, quiet;
	int tty = isatty(STDIN_FILENO), echo_off = 0;
	size_t n;

	fprintf(stderr, "provostctl: approver %s's code: ", as);
	(void)fflush(stderr);
	if (tty && tcgetattr(STDIN_FILENO, &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		echo_off = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
	}
	if (fgets(code, (int)len, stdin) == NULL)
		code[0] = '\0';
	if (echo_off)
		(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	if (tty)
		fputc('\n', stderr);
	code[strcspn(code, "\r\n")] = '\0';
	n = strlen(code);
	if (n < 6 || n > 8 || strspn(code, "0123456789") != n) {
		OPENSSL_cleanse(code, len);
		return ctl_fail(PV_ERR_INVALID,
		    "--as %s: a code of six to eight digits expected", as);
	}
	return 0;
}

int
ctl_cmd_session_watch(struct ctl *c, int argc, char **argv)
{
	const char *follow = NULL, *as = NULL;
	const struct ctl_opt opts[] = {
		{ "follow-engineer", 1, &follow, NULL },
		{ "as", 1, &as, NULL },
		{ NULL, 0, NULL, NULL },
	};
	struct timeval tv = { .tv_sec = 5 }, none = { 0 };
	json_t *req, *ans = NULL;
	char *line = NULL, code[16] = "";
	int fd = -1, r;

	PARSE("session", "watch", opts);
	if ((follow == NULL && argc - first != 1) ||
	    (follow != NULL && argc - first != 0))
		return ctl_usage(cmd,
		    "one session ID, or --follow-engineer LOGIN, expected");
	if (follow != NULL && !store_name_valid(follow))
		return ctl_usage(cmd, "--follow-engineer: not a login");
	if (as != NULL && !store_name_valid(as))
		return ctl_usage(cmd, "--as: not an approver's name");
	/* A moderator proves who she is with her own code, as at the menu. */
	if (as != NULL && (r = watch_code(as, code, sizeof(code))) != 0)
		return r;
	req = follow != NULL ? json_pack("{s:s, s:s, s:s}", "cmd", "watch",
				   "follow", follow, "actor", c->actor)
			     : json_pack("{s:s, s:s, s:s}", "cmd", "watch",
				   "id", argv[first], "actor", c->actor);
	if (req != NULL && as != NULL &&
	    (json_object_set_new(req, "approver", json_string(as)) != 0 ||
		json_object_set_new(req, "code", json_string(code)) != 0)) {
		json_decref(req);
		req = NULL;
	}
	OPENSSL_cleanse(code, sizeof(code));
	if (req == NULL || (line = json_dumps(req, JSON_COMPACT)) == NULL) {
		json_decref(req);
		return ctl_fail(PV_ERR_ALLOC, "out of memory");
	}
	json_decref(req);
	(void)signal(SIGPIPE, SIG_IGN);
	if ((r = watch_connect(c, &fd)) != 0) {
		free(line);
		return r;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (pv_write_all(fd, line, strlen(line)) != 0 ||
	    pv_write_all(fd, "\n", 1) != 0) {
		OPENSSL_cleanse(line, strlen(line));
		free(line);
		close(fd);
		return ctl_fail(PV_ERR_IO, "control socket: cannot send");
	}
	OPENSSL_cleanse(line, strlen(line)); /* it held the code */
	free(line);
	ans = watch_header(fd, &r);
	if (r == 0 && follow != NULL) {
		fprintf(stderr, "provostctl: waiting for %s's next session\n",
		    follow);
		json_decref(ans);
		/* as long as it takes */
		(void)setsockopt(
		    fd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof(none));
		ans = watch_header(fd, &r);
	}
	if (r != 0) {
		const char *e =
		    json_string_value(json_object_get(ans, "error"));

		if (r == PV_ERR_DENIED)
			r = ctl_fail(e != NULL && strstr(e, "no such") != NULL
				? PV_ERR_NOT_FOUND
				: PV_ERR_DENIED,
			    "provostd: %s", e != NULL ? e : "refused");
		else
			r = ctl_fail(r, "control socket: %s", pv_err_str(r));
		json_decref(ans);
		close(fd);
		return r;
	}
	fprintf(stderr,
	    "provostctl: watching session %s (%s as %s on %s), read-only; "
	    "Ctrl-C stops\n",
	    json_string_value(json_object_get(ans, "watching")),
	    json_string_value(json_object_get(ans, "engineer")),
	    json_string_value(json_object_get(ans, "account")),
	    json_string_value(json_object_get(ans, "target")));
	json_decref(ans);
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof(none));
	r = watch_stream(fd);
	close(fd);
	return r;
}
