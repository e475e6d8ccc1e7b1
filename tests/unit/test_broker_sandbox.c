/*
 * test_broker_sandbox.c: a forked child enters the session sandbox and tries
 * one thing; the parent checks it was killed by SIGSYS, refused, or worked.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "broker/privsep/sandbox.h"
#include "common/common.h"

#define CHILD_SANDBOX_FAILED 100
#define CHILD_WRONG 101

/* Forks; the child enters role's sandbox and returns fn()'s value. */
static int
in_role(enum broker_sandbox_role role, int (*fn)(const void *), const void *arg)
{
	int st = 0;
	pid_t pid;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char err[256];

		if (broker_sandbox_enter(role, err, sizeof(err)) != 0) {
			_exit(write(2, err, strlen(err)) > 0
				? CHILD_SANDBOX_FAILED
				: CHILD_WRONG);
		}
		_exit(fn(arg));
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return st;
}

static int
in_sandbox(int (*fn)(const void *), const void *arg)
{
	return in_role(BROKER_SANDBOX_SESSION, fn, arg);
}

static void
assert_sigsys(int st, const char *what)
{
	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGSYS)
		fail_msg("%s: want death by SIGSYS, got %s %d", what,
		    WIFSIGNALED(st) ? "signal" : "exit",
		    WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
}

static void
assert_exit0(int st, const char *what)
{
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("%s: want exit 0, got %s %d", what,
		    WIFSIGNALED(st) ? "signal" : "exit",
		    WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
}

/* Forbidden: each one is a raw syscall with harmless arguments. */
struct forbidden {
	const char *name;
	long nr;
	long a[6];
};

static const struct forbidden forbidden_cases[] = {
	{ "execve", SYS_execve, { 0, 0, 0 } },
	{ "execveat", SYS_execveat, { -1, 0, 0, 0, 0 } },
	{ "fork", SYS_fork, { 0 } },
	{ "vfork", SYS_vfork, { 0 } },
	{ "clone", SYS_clone, { SIGCHLD, 0, 0, 0, 0 } },
	{ "clone3", SYS_clone3, { 0, 0 } },
	{ "ptrace", SYS_ptrace, { 0 /* TRACEME */, 0, 0, 0 } },
	{ "socket", SYS_socket, { AF_UNIX, SOCK_STREAM, 0 } },
	{ "socketpair", SYS_socketpair, { AF_UNIX, SOCK_STREAM, 0, 0 } },
	{ "connect", SYS_connect, { -1, 0, 0 } },
	{ "bind", SYS_bind, { -1, 0, 0 } },
	{ "listen", SYS_listen, { -1, 1 } },
	{ "accept", SYS_accept, { -1, 0, 0 } },
	{ "accept4", SYS_accept4, { -1, 0, 0, 0 } },
	{ "io_uring_setup", SYS_io_uring_setup, { 1, 0 } },
	{ "io_uring_enter", SYS_io_uring_enter, { -1, 0, 0, 0, 0, 0 } },
	{ "bpf", SYS_bpf, { 0, 0, 0 } },
	{ "mount", SYS_mount, { 0, 0, 0, 0, 0 } },
	{ "umount2", SYS_umount2, { 0, 0 } },
	{ "setuid", SYS_setuid, { 0 } },
	{ "setgid", SYS_setgid, { 0 } },
	{ "setresuid", SYS_setresuid, { -1, -1, -1 } },
	{ "setgroups", SYS_setgroups, { 0, 0 } },
	{ "process_vm_readv", SYS_process_vm_readv, { 1, 0, 0, 0, 0, 0 } },
	{ "process_vm_writev", SYS_process_vm_writev, { 1, 0, 0, 0, 0, 0 } },
	{ "kexec_load", SYS_kexec_load, { 0, 0, 0, 0 } },
	{ "pipe2", SYS_pipe2, { 0, 0 } },
	{ "dup", SYS_dup, { 0 } },
	{ "dup3", SYS_dup3, { 0, 50, 0 } },
	{ "fcntl F_DUPFD", SYS_fcntl, { 0, F_DUPFD, 0 } },
	{ "fcntl F_SETLK", SYS_fcntl, { 0, F_SETLK, 0 } },
	{ "mprotect PROT_EXEC", SYS_mprotect,
	    { 0, 4096, PROT_READ | PROT_EXEC } },
	{ "mmap PROT_EXEC", SYS_mmap,
	    { 0, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		0 } },
	{ "kill init", SYS_kill, { 1, 0 } },
	{ "tgkill init", SYS_tgkill, { 1, 1, 0 } },
	{ "ioctl TIOCSTI", SYS_ioctl, { 0, TIOCSTI, 0 } },
	{ "prctl", SYS_prctl, { PR_GET_DUMPABLE, 0, 0, 0, 0 } },
	{ "unshare", SYS_unshare, { 0 } },
	{ "setns", SYS_setns, { -1, 0 } },
	{ "memfd_create", SYS_memfd_create, { 0, 0 } },
	{ "unlink", SYS_unlink, { 0 } },
	{ "chdir", SYS_chdir, { 0 } },
	{ "pread64", SYS_pread64, { 0, 0, 0, 0 } },
	{ "prlimit64", SYS_prlimit64, { 0, RLIMIT_NOFILE, 0, 0 } },
	{ "perf_event_open", SYS_perf_event_open, { 0, 0, -1, -1, 0 } },
	{ "userfaultfd", SYS_userfaultfd, { 0 } },
	{ "keyctl", SYS_keyctl, { 0, 0, 0, 0, 0 } },
	{ "seccomp", SYS_seccomp, { 0, 0, 0 } },
	{ "personality", SYS_personality, { 0xffffffff } },
	{ "epoll_create1", SYS_epoll_create1, { 0 } },
	{ "sendfile", SYS_sendfile, { 1, 0, 0, 1 } },
};

static int
do_forbidden(const void *arg)
{
	const struct forbidden *f = arg;

	(void)syscall(
	    f->nr, f->a[0], f->a[1], f->a[2], f->a[3], f->a[4], f->a[5]);
	return CHILD_WRONG; /* still alive: the call was not refused */
}

static void
test_forbidden_killed(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(forbidden_cases) / sizeof(forbidden_cases[0]);
	     i++)
		assert_sigsys(in_sandbox(do_forbidden, &forbidden_cases[i]),
		    forbidden_cases[i].name);
}

/* Probed by libc: refused with EACCES, the process lives. */
struct refused {
	const char *name;
	long nr;
	long a[4];
};

static const struct refused refused_cases[] = {
	{ "open", SYS_open, { (long)"/etc/passwd", O_RDONLY, 0 } },
	{ "openat", SYS_openat,
	    { AT_FDCWD, (long)"/etc/passwd", O_RDONLY, 0 } },
	{ "openat O_CREAT", SYS_openat,
	    { AT_FDCWD, (long)"/tmp/pv-sandbox-x", O_WRONLY | O_CREAT, 0600 } },
	{ "stat", SYS_stat, { (long)"/etc/passwd", 0 } },
	{ "access", SYS_access, { (long)"/etc/passwd", 0 } },
	{ "statx path", SYS_statx, { AT_FDCWD, (long)"/etc/passwd", 0, 0 } },
	{ "newfstatat path", SYS_newfstatat,
	    { AT_FDCWD, (long)"/etc/passwd", 0, 0 } },
};

static int
do_refused(const void *arg)
{
	const struct refused *f = arg;
	struct stat st;
	uint8_t buf[512];
	long ret;

	if (f->nr == SYS_stat)
		ret = syscall(f->nr, f->a[0], &st);
	else if (f->nr == SYS_statx)
		ret = syscall(f->nr, f->a[0], f->a[1], 0, 0x7ff, buf);
	else if (f->nr == SYS_newfstatat)
		ret = syscall(f->nr, f->a[0], f->a[1], &st, 0);
	else
		ret = syscall(f->nr, f->a[0], f->a[1], f->a[2], f->a[3]);
	return ret == -1 && errno == EACCES ? 0 : CHILD_WRONG;
}

static void
test_refused_eacces(void **state)
{
	size_t i;

	(void)state;
	(void)unlink("/tmp/pv-sandbox-x");
	for (i = 0; i < sizeof(refused_cases) / sizeof(refused_cases[0]); i++)
		assert_exit0(in_sandbox(do_refused, &refused_cases[i]),
		    refused_cases[i].name);
	/* and the libc wrappers see the same */
	assert_int_equal(access("/tmp/pv-sandbox-x", F_OK) == -1, 1);
}

/* What the session process does keeps working. */
struct allowed_ctx {
	int pipe_r, pipe_w;
	int file;
};

static int
do_allowed(const void *arg)
{
	const struct allowed_ctx *a = arg;
	struct pollfd pfd = { .fd = a->pipe_r, .events = POLLIN };
	struct timespec ts, nap = { .tv_sec = 0, .tv_nsec = 1000 };
	struct stat st;
	uint8_t rnd[32], c = 0;
	char *big, *bigger;
	int fl;

	if (write(a->pipe_w, "x", 1) != 1)
		return 1;
	if (poll(&pfd, 1, 1000) != 1 || read(a->pipe_r, &c, 1) != 1 || c != 'x')
		return 2;
	if (write(a->file, "recorded", 8) != 8 || fdatasync(a->file) != 0 ||
	    fsync(a->file) != 0 || lseek(a->file, 0, SEEK_SET) != 0 ||
	    ftruncate(a->file, 4) != 0)
		return 3;
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return 4;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0 ||
	    nanosleep(&nap, NULL) != 0)
		return 5;
	/* large blocks: mmap, mremap, munmap without PROT_EXEC */
	if ((big = malloc(4 * 1024 * 1024)) == NULL)
		return 6;
	memset(big, 1, 4 * 1024 * 1024);
	if ((bigger = realloc(big, 16 * 1024 * 1024)) == NULL) {
		/* realloc failed: big is still ours */
		// cppcheck-suppress doubleFree
		free(big);
		return 6;
	}
	free(bigger);
	if (fstat(a->file, &st) != 0 || st.st_size != 4)
		return 7;
	if ((fl = fcntl(a->pipe_r, F_GETFL)) == -1 ||
	    fcntl(a->pipe_r, F_SETFL, fl | O_NONBLOCK) != 0 ||
	    fcntl(a->pipe_r, F_SETFD, FD_CLOEXEC) != 0)
		return 8;
	if (kill(getpid(), 0) != 0 || getpid() <= 0)
		return 9;
	if (isatty(2) || errno != ENOTTY)
		return 10;
	if (close(a->pipe_w) != 0)
		return 11;
	return 0;
}

static void
test_allowed_work(void **state)
{
	char path[] = "/tmp/pv-sandbox-XXXXXX";
	struct allowed_ctx a;
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	a.pipe_r = p[0];
	a.pipe_w = p[1];
	assert_true((a.file = mkstemp(path)) >= 0);
	(void)unlink(path);
	assert_exit0(in_sandbox(do_allowed, &a), "allowed operations");
	close(p[0]);
	close(p[1]);
	close(a.file);
}

#if defined(__x86_64__)
/* getpid through the x32 ABI: syscall number 39 | __X32_SYSCALL_BIT. */
static int
do_x32(const void *arg)
{
	long ret;

	(void)arg;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "0"(0x40000000L | 39L)
			 : "rcx", "r11", "memory");
	return CHILD_WRONG;
}

/* getpid through the i386 ABI (int 0x80, number 20). */
static int
do_int80(const void *arg)
{
	long ret;

	(void)arg;
	__asm__ volatile("int $0x80" : "=a"(ret) : "0"(20L) : "memory");
	return CHILD_WRONG;
}

static void
test_other_abis_killed(void **state)
{
	(void)state;
	assert_sigsys(in_sandbox(do_x32, NULL), "x32 getpid");
	assert_sigsys(in_sandbox(do_int80, NULL), "int 0x80 getpid");
}
#endif

/* A thread started before the filter is filtered too (TSYNC). */
static int thread_pipe[2];

static void *
thread_main(void *arg)
{
	char c;

	(void)arg;
	if (read(thread_pipe[0], &c, 1) == 1)
		(void)syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
	return NULL;
}

static void
test_threads_filtered(void **state)
{
	int st = 0;
	pid_t pid;

	(void)state;
	assert_int_equal(pipe(thread_pipe), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		pthread_t t;
		char err[256];

		if (pthread_create(&t, NULL, thread_main, NULL) != 0)
			_exit(CHILD_WRONG);
		if (broker_sandbox_enter(
			BROKER_SANDBOX_SESSION, err, sizeof(err)) != 0)
			_exit(CHILD_SANDBOX_FAILED);
		if (write(thread_pipe[1], "go", 1) != 1)
			_exit(CHILD_WRONG);
		(void)pthread_join(t, NULL);
		_exit(CHILD_WRONG);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_sigsys(st, "socket from a thread started before");
	close(thread_pipe[0]);
	close(thread_pipe[1]);
}

/*
 * preauth: what the session role kills is killed here too (connect among
 * them: the monitor opens the target leg), except what key exchange and
 * the recorder's threads need (allowed) and what libc probes (refused
 * with an errno: socket of any family libc uses).
 */
static const char *const preauth_not_killed[] = { "socket", "clone3",
	"mprotect PROT_EXEC", "mmap PROT_EXEC", "prlimit64", "seccomp" };

static const struct forbidden preauth_forbidden[] = {
	{ "socket AF_PACKET", SYS_socket, { AF_PACKET, SOCK_RAW, 0 } },
	{ "prlimit64 of init", SYS_prlimit64, { 1, RLIMIT_NOFILE, 0, 0 } },
	{ "prctl PR_SET_NAME", SYS_prctl, { PR_SET_NAME, 0, 0, 0, 0 } },
};

static void
test_preauth_killed(void **state)
{
	size_t i, j;
	int skip;

	(void)state;
	for (i = 0; i < sizeof(forbidden_cases) / sizeof(forbidden_cases[0]);
	     i++) {
		for (skip = 0, j = 0; j <
		     sizeof(preauth_not_killed) / sizeof(preauth_not_killed[0]);
		     j++)
			skip |= strcmp(forbidden_cases[i].name,
				    preauth_not_killed[j]) == 0;
		if (!skip)
			assert_sigsys(in_role(BROKER_SANDBOX_PREAUTH,
					  do_forbidden, &forbidden_cases[i]),
			    forbidden_cases[i].name);
	}
	for (i = 0;
	     i < sizeof(preauth_forbidden) / sizeof(preauth_forbidden[0]); i++)
		assert_sigsys(in_role(BROKER_SANDBOX_PREAUTH, do_forbidden,
				  &preauth_forbidden[i]),
		    preauth_forbidden[i].name);
}

/* A raw call that must fail with want; 0 if it did. */
static int
fails_with(long ret, int want)
{
	return ret == -1 && errno == want ? 0 : 1;
}

static int
do_preauth_refused(const void *arg)
{
	int r = 0;

	(void)arg;
	r |= fails_with(syscall(SYS_openat, AT_FDCWD, "/tmp/pv-sandbox-x",
			    O_WRONLY | O_CREAT, 0600),
		 EACCES)
	    << 0;
	r |= fails_with(
		 syscall(SYS_openat, AT_FDCWD, "/etc/passwd", O_RDWR), EACCES)
	    << 1;
	r |= fails_with(syscall(SYS_openat, AT_FDCWD, "/tmp/pv-sandbox-x",
			    O_RDONLY | O_CREAT, 0600),
		 EACCES)
	    << 2;
	r |= fails_with(
		 syscall(SYS_open, "/etc/passwd", O_RDONLY | O_TRUNC), EACCES)
	    << 3;
	r |= fails_with(
		 syscall(SYS_open, "/etc/passwd", O_WRONLY | O_APPEND), EACCES)
	    << 4;
	r |= fails_with(syscall(SYS_socket, AF_UNIX, SOCK_DGRAM, 0), EACCES)
	    << 5;
	r |= fails_with(syscall(SYS_clone3, 0, 0), ENOSYS) << 6;
	r |= fails_with(syscall(SYS_mmap, 0, 4096, PROT_READ | PROT_EXEC,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
		 EPERM)
	    << 7;
	/* no TCP of its own: the target leg's socket comes from the monitor */
	r |= fails_with(syscall(SYS_socket, AF_INET, SOCK_STREAM, 0), EACCES)
	    << 8;
	r |= fails_with(syscall(SYS_socket, AF_INET6, SOCK_STREAM, 0), EACCES)
	    << 9;
	r |= fails_with(syscall(SYS_socket, AF_INET, SOCK_DGRAM, 0), EACCES)
	    << 10;
	return r;
}

/*
 * A taken-over pre-auth process that holds a TCP socket anyway (the
 * target leg's, from the monitor) cannot point it elsewhere: connect kills.
 */
static int
do_preauth_connect(const void *arg)
{
	const int *fd = arg;
	struct sockaddr_in sin = { .sin_family = AF_INET,
		.sin_port = htons(9) };

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	(void)syscall(SYS_connect, *fd, &sin, sizeof(sin));
	return 0;
}

static void
test_preauth_no_network(void **state)
{
	int fd;

	(void)state;
	assert_true((fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	assert_sigsys(in_role(BROKER_SANDBOX_PREAUTH, do_preauth_connect, &fd),
	    "connect of a TCP socket under preauth");
	assert_sigsys(in_role(BROKER_SANDBOX_SESSION, do_preauth_connect, &fd),
	    "connect of a TCP socket under session");
	close(fd);
}

static int preauth_thread_ran;

static void *
preauth_thread(void *arg)
{
	(void)arg;
	return &preauth_thread_ran;
}

static int
do_preauth_allowed(const void *arg)
{
	struct addrinfo hints = { 0 }, *ai = NULL;
	char buf[64], err[256];
	pthread_t t;
	void *ret = NULL;
	struct stat st;
	int fd;

	(void)arg;
	/* what libc's getpwuid and localtime read */
	if ((fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC)) == -1 ||
	    read(fd, buf, sizeof(buf)) <= 0 || close(fd) != 0)
		return 1;
	if (stat("/etc/passwd", &st) != 0)
		return 2;
	/* a name from files (nscd and netlink probes are refused with an
	 * errno and glibc goes on without them) */
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	if (getaddrinfo("localhost", "22", &hints, &ai) != 0)
		return 7;
	freeaddrinfo(ai);
	/* the recorder's threads (clone3 refused: glibc falls back) */
	if (pthread_create(&t, NULL, preauth_thread, NULL) != 0 ||
	    pthread_join(t, &ret) != 0 || ret != &preauth_thread_ran)
		return 4;
	/* then the session role stacked on it; sockets kill from there */
	if (broker_sandbox_enter(BROKER_SANDBOX_SESSION, err, sizeof(err)) != 0)
		return 5;
	(void)syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
	return 6;
}

static void
test_preauth_works(void **state)
{
	int st;

	(void)state;
	(void)unlink("/tmp/pv-sandbox-x");
	assert_exit0(in_role(BROKER_SANDBOX_PREAUTH, do_preauth_refused, NULL),
	    "preauth refusals");
	assert_int_equal(access("/tmp/pv-sandbox-x", F_OK), -1);
	st = in_role(BROKER_SANDBOX_PREAUTH, do_preauth_allowed, NULL);
	if (WIFEXITED(st))
		fail_msg("preauth then session: exit %d", WEXITSTATUS(st));
	assert_sigsys(st, "socket after the session role");
}

/* Reads /proc/PID/FILE into buf; 0 or -1. */
static int
read_proc(pid_t pid, const char *file, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd, k;

	k = snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	if (k < 0 || (size_t)k >= sizeof(path) ||
	    (fd = open(path, O_RDONLY)) == -1)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

/* Open descriptors of this process (not counting the directory's own). */
static int
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	// cppcheck-suppress readdirCalled
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n - 1;
}

/* The state of a live sandboxed child, seen from outside. */
static void
test_process_state(void **state)
{
	char limits[4096], status[4096];
	int go[2], ready[2], st = 0, nfds;
	pid_t pid;
	char c;

	(void)state;
	assert_int_equal(pipe(go), 0);
	assert_int_equal(pipe(ready), 0);
	nfds = count_fds();
	assert_true(nfds > 4);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char err[256];

		if (broker_sandbox_enter(
			BROKER_SANDBOX_SESSION, err, sizeof(err)) != 0)
			_exit(CHILD_SANDBOX_FAILED);
		if (write(ready[1], "r", 1) != 1)
			_exit(CHILD_WRONG);
		_exit(read(go[0], &c, 1) == 1 ? 0 : CHILD_WRONG);
	}
	assert_int_equal(read(ready[0], &c, 1), 1);
	assert_int_equal(read_proc(pid, "status", status, sizeof(status)), 0);
	assert_int_equal(read_proc(pid, "limits", limits, sizeof(limits)), 0);
	assert_int_equal(write(go[1], "g", 1), 1);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_exit0(st, "state child");
	assert_non_null(strstr(status, "NoNewPrivs:\t1\n"));
	assert_non_null(strstr(status, "Seccomp:\t2\n"));
	assert_non_null(strstr(limits, "Max core file size        0 "));
	assert_non_null(strstr(limits, "Max processes             0 "));
	/* at most the descriptors open now plus the margin */
	{
		const char *want = "Max open files            ";
		const char *p = strstr(limits, want);
		long v;

		assert_non_null(p);
		v = strtol(p + strlen(want), NULL, 10);
		assert_true(v >= BROKER_SANDBOX_NOFILE_MARGIN);
		assert_true(v <= nfds + BROKER_SANDBOX_NOFILE_MARGIN);
	}
	close(go[0]);
	close(go[1]);
	close(ready[0]);
	close(ready[1]);
}

/* rlimits alone (no filter): at most the margin of new descriptors. */
static int
do_count_new_files(void)
{
	char err[256];
	int n = 0;

	if (broker_sandbox_rlimits(BROKER_SANDBOX_SESSION, err, sizeof(err)) !=
	    0)
		return CHILD_SANDBOX_FAILED;
	while (n < 100 && open("/dev/null", O_RDONLY) != -1)
		n++;
	if (errno != EMFILE)
		return CHILD_WRONG;
	return n;
}

static void
test_no_new_files(void **state)
{
	int st = 0;
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(do_count_new_files());
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), BROKER_SANDBOX_NOFILE_MARGIN);
}

static void
test_pfc_export(void **state)
{
	char *pfc = NULL;

	(void)state;
	assert_int_equal(
	    broker_sandbox_export_pfc(BROKER_SANDBOX_SESSION, &pfc), 0);
	assert_non_null(pfc);
	/* default and bad architecture: kill the process */
	assert_non_null(
	    strstr(pfc, "# default action\n  action KILL_PROCESS;"));
	assert_non_null(
	    strstr(pfc, "# invalid architecture action\naction KILL_PROCESS;"));
#if defined(__x86_64__)
	/* only x86_64 (AUDIT_ARCH_X86_64 = 0xc000003e) */
	assert_non_null(strstr(pfc, "if ($arch == 3221225534)"));
#endif
	assert_non_null(strstr(pfc, "# filter for syscall \"poll\""));
	assert_non_null(strstr(pfc, "# filter for syscall \"openat\""));
	assert_non_null(strstr(pfc, "action ERRNO(13);"));
	assert_null(strstr(pfc, "\"execve\""));
	assert_null(strstr(pfc, "\"socket\""));
	assert_null(strstr(pfc, "\"clone\""));
	free(pfc);
	assert_int_equal(broker_sandbox_export_pfc(99, &pfc), PV_ERR_INVALID);
	assert_null(pfc);
}

static void
test_bad_role(void **state)
{
	char err[128] = "";

	(void)state;
	assert_int_equal(
	    broker_sandbox_enter(0, err, sizeof(err)), PV_ERR_INVALID);
	assert_non_null(strstr(err, "unknown role"));
	assert_string_equal(
	    broker_sandbox_role_name(BROKER_SANDBOX_SESSION), "session");
	assert_string_equal(
	    broker_sandbox_role_name(BROKER_SANDBOX_PREAUTH), "preauth");
	assert_null(broker_sandbox_role_name(7));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forbidden_killed),
		cmocka_unit_test(test_refused_eacces),
		cmocka_unit_test(test_allowed_work),
#if defined(__x86_64__)
		cmocka_unit_test(test_other_abis_killed),
#endif
		cmocka_unit_test(test_threads_filtered),
		cmocka_unit_test(test_process_state),
		cmocka_unit_test(test_no_new_files),
		cmocka_unit_test(test_preauth_killed),
		cmocka_unit_test(test_preauth_works),
		cmocka_unit_test(test_preauth_no_network),
		cmocka_unit_test(test_pfc_export),
		cmocka_unit_test(test_bad_role),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
