/*
 * rec_main.c: provost-rec, which runs a command in a pty and records its
 * input, output and window size into an encrypted recording.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pty.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "common/common.h"
#include "recorder/recorder.h"

#define REC_MAX_RECIPIENTS 16
#define REC_IO_BUF 16384
/* Exit status when recording itself fails (the command is stopped). */
#define REC_EXIT_FAIL 125

/* Signal handlers only write the signal number into this pipe. */
static int sig_pipe[2] = { -1, -1 };

static void
on_signal(int sig)
{
	int save = errno;
	unsigned char c = (unsigned char)sig;

	(void)!write(sig_pipe[1], &c, 1);
	errno = save;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: provost-rec --recipient PUB [--recipient PUB2] -o FILE "
	    "[--session-id ID] -- COMMAND [ARGS]\n"
	    "Runs COMMAND in a pseudo-terminal and records its input, output "
	    "and window\nsize into FILE, encrypted to the recipients' public "
	    "keys (PEM X25519 or RSA).\n");
}

struct rec_run {
	struct rec_writer *w;
	int master;
	pid_t pid;
	int in_tty;
	int stdin_open;
	struct termios saved;
	int raw;
};

static int
run_winsize(struct rec_run *s, uint64_t now)
{
	struct winsize ws;

	if (!s->in_tty || ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) != 0)
		return 0;
	(void)ioctl(s->master, TIOCSWINSZ, &ws);
	return rec_writer_resize(s->w, now, ws.ws_col, ws.ws_row);
}

static void
run_restore(struct rec_run *s)
{
	if (s->raw) {
		(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &s->saved);
		s->raw = 0;
	}
}

/* Copies one read from the pty to stdout, recorded first. */
static int
run_output(struct rec_run *s, uint8_t *buf, int *done)
{
	ssize_t n = read(s->master, buf, REC_IO_BUF);
	int r;

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0) { /* EIO: the last holder of the pty's slave side left */
		*done = 1;
		return 0;
	}
	if ((r = rec_writer_data(
		 s->w, pv_mono_ms(), REC_EV_OUTPUT, buf, (size_t)n)) != 0)
		return r;
	(void)pv_write_all(STDOUT_FILENO, buf, (size_t)n);
	return 0;
}

static int
run_input(struct rec_run *s, uint8_t *buf)
{
	ssize_t n = read(STDIN_FILENO, buf, REC_IO_BUF);
	unsigned char eof = 4; /* ^D: end of input for the command */
	int r;

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0) {
		s->stdin_open = 0;
		if (!s->in_tty)
			(void)!write(s->master, &eof, 1);
		return 0;
	}
	if ((r = rec_writer_data(
		 s->w, pv_mono_ms(), REC_EV_INPUT, buf, (size_t)n)) != 0)
		return r;
	(void)pv_write_all(s->master, buf, (size_t)n);
	return 0;
}

static int
run_loop(struct rec_run *s, int *status)
{
	uint8_t buf[REC_IO_BUF];
	struct pollfd pfd[3];
	unsigned char sig;
	int done = 0, exited = 0, r, timeout, nfd;
	pid_t w;

	*status = 0;
	while (!done) {
		timeout = rec_writer_next_tick_ms(s->w, pv_mono_ms());
		pfd[0] = (struct pollfd){ .fd = s->master, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = sig_pipe[0], .events = POLLIN };
		pfd[2] =
		    (struct pollfd){ .fd = s->stdin_open ? STDIN_FILENO : -1,
			    .events = POLLIN };
		nfd = poll(pfd, 3, exited ? 0 : timeout);
		if (nfd < 0 && errno != EINTR)
			return PV_ERR_IO;
		if ((r = rec_writer_tick(s->w, pv_mono_ms())) != 0)
			return r;
		if (nfd <= 0) {
			if (exited)
				break; /* child gone and the pty drained */
			continue;
		}
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			if ((r = run_output(s, buf, &done)) != 0)
				return r;
		}
		if (pfd[2].revents & (POLLIN | POLLHUP | POLLERR)) {
			if ((r = run_input(s, buf)) != 0)
				return r;
		}
		if (pfd[1].revents & POLLIN) {
			if (read(sig_pipe[0], &sig, 1) != 1)
				continue;
			if (sig == SIGWINCH) {
				if ((r = run_winsize(s, pv_mono_ms())) != 0)
					return r;
			} else if (sig == SIGCHLD) {
				w = waitpid(s->pid, status, WNOHANG);
				if (w == s->pid)
					exited = 1;
			} else
				(void)kill(s->pid, sig);
		}
	}
	if (!exited) {
		while ((w = waitpid(s->pid, status, 0)) < 0 && errno == EINTR)
			;
		if (w < 0)
			return PV_ERR_INTERNAL;
	}
	return 0;
}

static int
run_exit_event(struct rec_run *s, int status)
{
	const char *name;
	struct rec_exit e = { .kind = REC_EXIT_STATUS };

	if (WIFSIGNALED(status)) {
		e.kind = REC_EXIT_SIGNAL;
		e.value = (uint32_t)WTERMSIG(status);
		e.core_dumped = WCOREDUMP(status) ? 1 : 0;
		name = sigabbrev_np(WTERMSIG(status));
		e.signame = name;
	} else
		e.value = (uint32_t)WEXITSTATUS(status);
	return rec_writer_exit(s->w, pv_mono_ms(), &e);
}

static const char *
user_name(char *buf, size_t len)
{
	struct passwd pw, *res = NULL;

	if (getpwuid_r(getuid(), &pw, buf, len, &res) != 0 || res == NULL)
		return NULL;
	return res->pw_name;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "recipient", required_argument, NULL, 'r' },
		{ "output", required_argument, NULL, 'o' },
		{ "session-id", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *rpaths[REC_MAX_RECIPIENTS], *out = NULL, *sid = NULL;
	struct rec_recipients *rs = NULL;
	struct rec_run s = { .master = -1, .stdin_open = 1 };
	struct winsize ws = { .ws_col = 80, .ws_row = 24 };
	struct termios raw;
	struct sigaction sa;
	char uuid[PV_UUID_LEN + 1], host[256], err[512], pwbuf[4096];
	size_t nr = 0;
	uint8_t sha[32];
	uint64_t size;
	int ch, r, status = 0, rc = REC_EXIT_FAIL;
	const int sigs[] = { SIGWINCH, SIGCHLD, SIGINT, SIGTERM, SIGHUP,
		SIGQUIT };
	size_t i;

	pv_log_init("provost-rec", PV_LOG_STDERR, PV_LOG_WARN);
	while (
	    (ch = getopt_long(argc, argv, "+r:o:s:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'r':
			if (nr == REC_MAX_RECIPIENTS) {
				fprintf(stderr,
				    "provost-rec: too many recipients\n");
				return 2;
			}
			rpaths[nr++] = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 's':
			sid = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (nr == 0 || out == NULL || optind >= argc) {
		fprintf(stderr, "provost-rec: %s\n",
		    nr == 0           ? "at least one --recipient is needed"
			: out == NULL ? "-o FILE is needed"
				      : "no COMMAND given");
		usage(stderr);
		return 2;
	}
	if (sid == NULL) {
		if (pv_uuid_new(uuid) != 0)
			return REC_EXIT_FAIL;
		sid = uuid;
	}
	if (rec_recipients_load(&rs, rpaths, nr, err, sizeof(err)) != 0) {
		fprintf(stderr, "provost-rec: %s\n", err);
		return REC_EXIT_FAIL;
	}
	s.in_tty = isatty(STDIN_FILENO);
	if (s.in_tty) {
		(void)ioctl(STDIN_FILENO, TIOCGWINSZ, &ws);
		if (tcgetattr(STDIN_FILENO, &s.saved) != 0)
			s.in_tty = 0;
	}
	if (gethostname(host, sizeof(host)) != 0)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	{
		struct rec_meta m = {
			.session_id = sid,
			.engineer = user_name(pwbuf, sizeof(pwbuf)),
			.target = host,
			.term = getenv("TERM"),
			.cols = ws.ws_col,
			.rows = ws.ws_row,
			.start_unix_ms = pv_wall_ms(),
			.start_mono_ms = pv_mono_ms(),
		};
		if ((r = rec_writer_open(&s.w, out, rs, &m)) != 0) {
			fprintf(stderr, "provost-rec: %s: %s\n", out,
			    pv_err_str(r));
			goto out;
		}
	}
	if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
		goto out;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		(void)sigaction(sigs[i], &sa, NULL);
	/* A closed stdout must not kill the recorder before it seals, and a
	 * file size limit is a write error (EFBIG) that stops the command. */
	(void)signal(SIGPIPE, SIG_IGN);
	(void)signal(SIGXFSZ, SIG_IGN);
	s.pid = forkpty(&s.master, NULL, s.in_tty ? &s.saved : NULL, &ws);
	if (s.pid < 0) {
		fprintf(stderr, "provost-rec: forkpty: %s\n", strerror(errno));
		goto out;
	}
	if (s.pid == 0) {
		for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
			(void)signal(sigs[i], SIG_DFL);
		(void)signal(SIGPIPE, SIG_DFL);
		(void)signal(SIGXFSZ, SIG_DFL);
		execvp(argv[optind], argv + optind);
		fprintf(stderr, "provost-rec: %s: %s\r\n", argv[optind],
		    strerror(errno));
		_exit(127);
	}
	if (s.in_tty) {
		raw = s.saved;
		cfmakeraw(&raw);
		if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) == 0)
			s.raw = 1;
	}
	if ((r = run_loop(&s, &status)) != 0) {
		run_restore(&s);
		fprintf(stderr,
		    "provost-rec: recording failed (%s): stopping the "
		    "command\n",
		    pv_err_str(r));
		(void)kill(s.pid, SIGHUP);
		(void)kill(s.pid, SIGKILL);
		(void)waitpid(s.pid, NULL, 0);
		goto out;
	}
	run_restore(&s);
	if ((r = run_exit_event(&s, status)) != 0 ||
	    (r = rec_writer_close(s.w, pv_mono_ms(), sha, &size)) != 0) {
		s.w = NULL;
		fprintf(stderr, "provost-rec: %s: %s\n", out, pv_err_str(r));
		goto out;
	}
	s.w = NULL;
	rc = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
out:
	run_restore(&s);
	rec_writer_free(s.w);
	rec_recipients_free(rs);
	if (s.master >= 0)
		close(s.master);
	return rc;
}
