/*
 * rec_main.c: provost-rec, which runs a command in a pty and records its
 * input, output and window size into an encrypted recording.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
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
/* From a forwarded SIGTERM, SIGINT, SIGHUP or SIGQUIT to SIGKILL. */
#define REC_KILL_GRACE_MS 5000
/* How often the command's terminal is checked for unread input while an
 * EOF character waits, and the first wait after one was sent; the wait
 * doubles after each one up to the maximum. */
#define REC_EOF_CHECK_MS 200
#define REC_EOF_WAIT_MAX_MS 3200
/* How long output is still copied after the command ended. */
#define REC_DRAIN_MS 2000

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

/* Opens /dev/null on each of fds 0-2 that is closed, so that no file
 * opened later (the recording, the signal pipe) takes its place and is read
 * as stdin or written to as stdout. */
static void
std_fds_open(void)
{
	int fd;

	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= STDERR_FILENO)
		;
	if (fd > STDERR_FILENO)
		close(fd);
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
	int master; /* non-blocking */
	int master_open;
	/* The pty's slave side, opened once a non-terminal stdin ended, to
	 * see whether the command has read everything written to it. */
	int slave;
	pid_t pid;
	int exited;
	uint64_t drain_until;
	int in_tty;
	int stdin_open;
	/* Input read and recorded, not yet taken by the pty. */
	uint8_t in[REC_IO_BUF];
	size_t in_off, in_len;
	/* The end of a non-terminal stdin goes to the command as the
	 * terminal's EOF character, not before it read all input before it,
	 * and again each time it read the last one while it runs on. */
	int eof_wanted;
	uint64_t eof_next;
	uint64_t eof_wait;
	/* 1: a stop signal was forwarded, SIGKILL at kill_at; 2: killed. */
	int stopping;
	uint64_t kill_at;
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

/*
 * Sends sig to the command's process group and to the terminal's foreground
 * process group when that is another (a job of a shell with job control),
 * as a terminal does for ^C.  Only while the command is not yet reaped, so
 * its pid still names it.
 */
static void
run_signal(struct rec_run *s, int sig)
{
	pid_t fg;

	if (s->exited || s->pid <= 1)
		return;
	if (kill(-s->pid, sig) != 0)
		(void)kill(s->pid, sig);
	fg = tcgetpgrp(s->master);
	if (fg > 1 && fg != s->pid)
		(void)kill(-fg, sig);
}

/* SIGTERM, SIGINT, SIGHUP or SIGQUIT to provost-rec: passed on to the
 * command, which gets SIGKILL if it has not ended REC_KILL_GRACE_MS later,
 * or at once on a second such signal. */
static void
run_stop(struct rec_run *s, int sig, uint64_t now)
{
	if (s->exited || s->stopping == 2)
		return;
	if (s->stopping == 1) {
		pv_warn("SIG%s again: killing the command", sigabbrev_np(sig));
		run_signal(s, SIGKILL);
		s->stopping = 2;
		return;
	}
	run_signal(s, sig);
	s->stopping = 1;
	s->kill_at = now + REC_KILL_GRACE_MS;
}

/* Copies one read from the pty to stdout, recorded first. */
static int
run_output(struct rec_run *s, uint8_t *buf)
{
	ssize_t n = read(s->master, buf, REC_IO_BUF);
	int r;

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0) { /* EIO: the last holder of the pty's slave side left */
		s->master_open = 0;
		return 0;
	}
	if ((r = rec_writer_data(
		 s->w, pv_mono_ms(), REC_EV_OUTPUT, buf, (size_t)n)) != 0)
		return r;
	(void)pv_write_all(STDOUT_FILENO, buf, (size_t)n);
	return 0;
}

/* Gives the pty as much of the pending input as it takes now: a blocking
 * write could wait for ever on a command that waits for its output to be
 * read. */
static void
run_input_flush(struct rec_run *s)
{
	ssize_t n;

	while (s->in_len > 0) {
		n = write(s->master, s->in + s->in_off, s->in_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) { /* no slave side left: nobody would read it */
			s->in_len = 0;
			s->stdin_open = 0;
			s->eof_wanted = 0;
			break;
		}
		s->in_off += (size_t)n;
		s->in_len -= (size_t)n;
	}
	s->in_off = 0;
}

/* Reads and records one piece of input, when the last is all passed on. */
static int
run_input(struct rec_run *s, uint64_t now)
{
	ssize_t n = read(STDIN_FILENO, s->in, sizeof(s->in));
	int r;

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0) {
		s->stdin_open = 0;
		if (!s->in_tty) {
			s->eof_wanted = 1;
			s->eof_next = now;
			s->eof_wait = REC_EOF_CHECK_MS;
		}
		return 0;
	}
	if ((r = rec_writer_data(s->w, now, REC_EV_INPUT, s->in, (size_t)n)) !=
	    0)
		return r;
	s->in_off = 0;
	s->in_len = (size_t)n;
	run_input_flush(s);
	return 0;
}

/*
 * Writes the terminal's EOF character once all input is passed on and the
 * command has read all of it: written earlier, the line discipline keeps it
 * as a NUL that a shell switching to its own line editor reads as a key.
 * As that can still happen, and a command may read on after an end of
 * input, it is written again each time the last one was read, at doubling
 * intervals (a line editor takes ^D after unfinished text as a key).
 */
static void
run_eof(struct rec_run *s, uint64_t now)
{
	struct pollfd p;
	struct termios t;
	char name[128];

	if (!s->eof_wanted || s->exited || s->in_len > 0 || now < s->eof_next)
		return;
	s->eof_next = now + REC_EOF_CHECK_MS;
	if (s->slave < 0 &&
	    (ptsname_r(s->master, name, sizeof(name)) != 0 ||
		(s->slave = open(
		     name, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)) < 0)) {
		/* Cannot tell what the command read: one EOF, now. */
		pv_warn(
		    "cannot open the command's terminal: %s", strerror(errno));
		s->eof_wanted = 0;
	} else {
		p = (struct pollfd){ .fd = s->slave, .events = POLLIN };
		if (poll(&p, 1, 0) != 0)
			return; /* not all read yet */
	}
	if (tcgetattr(s->master, &t) != 0 || t.c_cc[VEOF] == _POSIX_VDISABLE)
		return;
	if (write(s->master, &t.c_cc[VEOF], 1) != 1)
		return; /* the pty is full: try again at the next check */
	s->eof_next = now + s->eof_wait;
	if (s->eof_wait < REC_EOF_WAIT_MAX_MS)
		s->eof_wait *= 2;
}

/* t, or the time until due if that is sooner (t < 0: no timeout). */
static int
run_sooner(int t, uint64_t due, uint64_t now)
{
	int d;

	if (due <= now)
		d = 0;
	else
		d = due - now > INT_MAX ? INT_MAX : (int)(due - now);
	return t < 0 || d < t ? d : t;
}

/* The poll timeout: the next chunk seal, EOF character or SIGKILL. */
static int
run_timeout(const struct rec_run *s, uint64_t now)
{
	int t = rec_writer_next_tick_ms(s->w, now);

	if (s->exited)
		return 0;
	if (s->eof_wanted && s->in_len == 0)
		t = run_sooner(t, s->eof_next, now);
	if (s->stopping == 1)
		t = run_sooner(t, s->kill_at, now);
	return t;
}

static int
run_signals(struct rec_run *s, int *status)
{
	unsigned char sig;
	uint64_t now;
	int r;

	while (read(sig_pipe[0], &sig, 1) == 1) {
		now = pv_mono_ms();
		if (sig == SIGWINCH) {
			if ((r = run_winsize(s, now)) != 0)
				return r;
		} else if (sig == SIGCHLD) {
			if (!s->exited &&
			    waitpid(s->pid, status, WNOHANG) == s->pid) {
				s->exited = 1;
				s->drain_until = now + REC_DRAIN_MS;
			}
		} else
			run_stop(s, sig, now);
	}
	return 0;
}

/*
 * Copies input to the command and its output out, recording both, until
 * the command has ended and its output is drained (at most REC_DRAIN_MS, as
 * something it left running may hold the pty).
 */
static int
run_loop(struct rec_run *s, int *status)
{
	uint8_t buf[REC_IO_BUF];
	struct pollfd pfd[3];
	uint64_t now;
	int r, nfd;

	*status = 0;
	for (;;) {
		now = pv_mono_ms();
		if (s->stopping == 1 && now >= s->kill_at) {
			pv_warn("the command did not end %d s after the "
				"signal: killing it",
			    REC_KILL_GRACE_MS / 1000);
			run_signal(s, SIGKILL);
			s->stopping = 2;
		}
		run_eof(s, now);
		pfd[0] = (struct pollfd){
			.fd = s->master_open ? s->master : -1,
			.events = (short)(POLLIN |
			    (s->in_len > 0 && !s->exited ? POLLOUT : 0)),
		};
		pfd[1] = (struct pollfd){ .fd = sig_pipe[0], .events = POLLIN };
		pfd[2] = (struct pollfd){
			.fd = s->stdin_open && s->in_len == 0 && !s->exited
			    ? STDIN_FILENO
			    : -1,
			.events = POLLIN,
		};
		nfd = poll(pfd, 3, run_timeout(s, now));
		if (nfd < 0 && errno != EINTR)
			return PV_ERR_IO;
		now = pv_mono_ms();
		if ((r = rec_writer_tick(s->w, now)) != 0)
			return r;
		if (s->exited &&
		    (nfd <= 0 || !s->master_open || now >= s->drain_until))
			break;
		if (nfd <= 0)
			continue;
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			if ((r = run_output(s, buf)) != 0)
				return r;
		}
		if ((pfd[0].revents & POLLOUT) && s->master_open)
			run_input_flush(s);
		if (pfd[2].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)) {
			if ((r = run_input(s, now)) != 0)
				return r;
		}
		if ((pfd[1].revents & POLLIN) &&
		    (r = run_signals(s, status)) != 0)
			return r;
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
	struct rec_run s = { .master = -1, .slave = -1, .stdin_open = 1 };
	struct winsize ws = { .ws_col = 80, .ws_row = 24 };
	struct termios raw;
	struct sigaction sa;
	sigset_t block, oldmask;
	char uuid[PV_UUID_LEN + 1], host[256], err[512], pwbuf[4096];
	size_t nr = 0;
	uint8_t sha[32];
	uint64_t size;
	int ch, r, fl, status = 0, rc = REC_EXIT_FAIL;
	const int sigs[] = { SIGWINCH, SIGCHLD, SIGINT, SIGTERM, SIGHUP,
		SIGQUIT };
	size_t i;

	std_fds_open();
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
	/* From here a stop signal waits in the pipe for the command, so it
	 * cannot leave a recording without its end. */
	if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
		fprintf(stderr, "provost-rec: pipe: %s\n", strerror(errno));
		goto out;
	}
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
	/* Blocked until the child has its default handlers back: caught
	 * there, a signal would come into our pipe as if it were ours. */
	sigemptyset(&block);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(&block, sigs[i]);
	(void)sigprocmask(SIG_BLOCK, &block, &oldmask);
	s.pid = forkpty(&s.master, NULL, s.in_tty ? &s.saved : NULL, &ws);
	if (s.pid == 0) {
		for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
			(void)signal(sigs[i], SIG_DFL);
		(void)signal(SIGPIPE, SIG_DFL);
		(void)signal(SIGXFSZ, SIG_DFL);
		(void)sigprocmask(SIG_SETMASK, &oldmask, NULL);
		execvp(argv[optind], argv + optind);
		fprintf(stderr, "provost-rec: %s: %s\r\n", argv[optind],
		    strerror(errno));
		_exit(127);
	}
	(void)sigprocmask(SIG_SETMASK, &oldmask, NULL);
	if (s.pid < 0) {
		fprintf(stderr, "provost-rec: forkpty: %s\n", strerror(errno));
		goto out;
	}
	s.master_open = 1;
	if ((fl = fcntl(s.master, F_GETFL)) < 0 ||
	    fcntl(s.master, F_SETFL, fl | O_NONBLOCK) != 0) {
		fprintf(stderr, "provost-rec: fcntl: %s\n", strerror(errno));
		run_signal(&s, SIGKILL);
		(void)waitpid(s.pid, NULL, 0);
		goto out;
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
		run_signal(&s, SIGHUP);
		run_signal(&s, SIGKILL);
		if (!s.exited)
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
	if (s.slave >= 0)
		close(s.slave);
	if (s.master >= 0)
		close(s.master);
	return rc;
}
