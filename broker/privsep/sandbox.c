/*
 * sandbox.c: the libseccomp allow-list a provostd session process enters
 * after its sockets and recording fd are open; rlimits and NNP come first.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <seccomp.h>

#include "broker/privsep/sandbox.h"
#include "common/common.h"

#define SB_PFC_MAX (1024 * 1024)
#define SB_FD_SCAN_MAX 65536

/*
 * The session role's unconditional allow-list.  Measured with strace -ff
 * on a real provostd session (exec, 4 MB cat, pty shell) from the moment
 * the target leg was up: poll/recvfrom/sendto/getpid dominate (libssh
 * relaying between the two sockets, OpenSSL's fork check), futex and
 * write/fdatasync are the recorder's I/O thread.  What the same trace
 * showed that is NOT here (pread64, pwrite64, fcntl F_SETLK, openat of the
 * database) is SQLite, which moves to the monitor with privilege
 * separation.  The rest are what these libraries call on paths a short
 * session does not reach (rekeying, memory growth, signals, teardown).
 */
struct sb_rule {
	int nr;
	const char *why;
};

static const struct sb_rule session_allow[] = {
	/* the relay: two sockets, libssh's poll loop, the monitor socket */
	{ SCMP_SYS(read), "sockets, monitor socket" },
	{ SCMP_SYS(write), "sockets, the recording (recorder thread), stderr" },
	{ SCMP_SYS(readv), "libc/libssh scatter reads" },
	{ SCMP_SYS(writev), "libc/libssh gather writes" },
	{ SCMP_SYS(recvfrom), "libssh reads its sockets with recv()" },
	{ SCMP_SYS(sendto), "libssh writes its sockets with send()" },
	{ SCMP_SYS(recvmsg), "monitor replies, SCM_RIGHTS" },
	{ SCMP_SYS(sendmsg), "monitor requests" },
	{ SCMP_SYS(poll), "ssh_event_dopoll" },
	{ SCMP_SYS(ppoll), "poll on newer libc" },
	{ SCMP_SYS(select), "libssh blocking flush fallbacks" },
	{ SCMP_SYS(pselect6), "select on newer libc" },
	{ SCMP_SYS(epoll_wait), "an event loop on epoll set up before" },
	{ SCMP_SYS(epoll_pwait), "as epoll_wait" },
	{ SCMP_SYS(epoll_ctl), "as epoll_wait (no epoll_create: no new fds)" },
	{ SCMP_SYS(shutdown), "closing a leg" },
	{ SCMP_SYS(getsockopt), "SO_ERROR after a non-blocking write" },
	{ SCMP_SYS(setsockopt), "TCP_NODELAY, keepalive" },
	{ SCMP_SYS(getsockname), "libssh at disconnect (seen in the trace)" },
	{ SCMP_SYS(getpeername), "libssh, logging the peer" },
	/* time */
	{ SCMP_SYS(clock_gettime), "deadlines (vDSO fallback)" },
	{ SCMP_SYS(clock_getres), "vDSO fallback" },
	{ SCMP_SYS(gettimeofday), "vDSO fallback, libssh timestamps" },
	{ SCMP_SYS(time), "time() fallback" },
	{ SCMP_SYS(nanosleep), "short waits" },
	{ SCMP_SYS(clock_nanosleep), "short waits on newer libc" },
	/* identity and randomness */
	{ SCMP_SYS(getpid), "OpenSSL fork detection (every RAND call)" },
	{ SCMP_SYS(gettid), "raise(), abort()" },
	{ SCMP_SYS(getrandom), "OpenSSL DRBG reseed, rekeying" },
	/* memory: mmap and mprotect are below (no PROT_EXEC) */
	{ SCMP_SYS(brk), "malloc" },
	{ SCMP_SYS(munmap), "free of large blocks" },
	{ SCMP_SYS(mremap), "realloc of large blocks (seen: 2 MB buffers)" },
	{ SCMP_SYS(madvise), "malloc trimming, thread stacks" },
	/* threads and signals */
	{ SCMP_SYS(futex), "the recorder's queue (mutex, condvars)" },
	{ SCMP_SYS(rt_sigaction), "SIGPIPE handling, abort()" },
	{ SCMP_SYS(rt_sigprocmask), "thread exit, abort()" },
	{ SCMP_SYS(rt_sigreturn), "return from a handler" },
	{ SCMP_SYS(restart_syscall), "the kernel restarting a sleep" },
	{ SCMP_SYS(sched_yield), "lock back-off" },
	{ SCMP_SYS(sigaltstack),
	    "thread teardown (sanitizer runtimes at _exit)" },
	/* descriptors already open: fcntl and newfstatat are below */
	{ SCMP_SYS(fstat), "stdio, OpenSSL on open fds" },
	{ SCMP_SYS(lseek), "the recording" },
	{ SCMP_SYS(fsync), "the recording" },
	{ SCMP_SYS(fdatasync),
	    "the recording (recorder thread, group commit)" },
	{ SCMP_SYS(ftruncate), "the recording" },
	{ SCMP_SYS(close), "legs and channels ending" },
	{ SCMP_SYS(exit), "the recorder thread ends" },
	{ SCMP_SYS(exit_group), "the session process ends" },
};

/* libc probes these; a refusal is handled, a kill would not be. */
static const int session_eacces[] = {
	SCMP_SYS(open),
	SCMP_SYS(openat),
	SCMP_SYS(stat),
	SCMP_SYS(lstat),
	SCMP_SYS(access),
	SCMP_SYS(faccessat),
	SCMP_SYS(readlink),
	SCMP_SYS(readlinkat),
	SCMP_SYS(statx),
};

/*
 * The preauth role (from the fork until the session role): the session
 * list, plus what key exchange, authentication and the recorder's start
 * need.  Measured with strace -ff over the broker integration tests
 * (t_broker_relay, _auth, _sftp, _forward): the session processes between
 * the privilege drop and the session filter called, beyond the session
 * list, openat O_RDONLY of /etc/passwd, /etc/nsswitch.conf,
 * /etc/localtime, /dev/null and /dev/urandom (libssh's getpwuid,
 * localtime, OpenSSL), newfstatat on paths, getuid, and clone3, rseq,
 * set_robust_list for the recorder's threads.  Stat-like calls only read
 * metadata.  No socket is made and none is connected: the monitor opens
 * the target leg's TCP connection and passes the socket (target-connect),
 * so socket(2) fails with EACCES (libc probes: nscd, netlink) and
 * connect(2), sendmmsg(2) (glibc's resolver) kill.
 */
static const struct sb_rule preauth_allow[] = {
	{ SCMP_SYS(rseq), "a new thread registers (the recorder's)" },
	{ SCMP_SYS(set_robust_list), "a new thread's futex list" },
	{ SCMP_SYS(getuid), "libssh's getpwuid(getuid())" },
	{ SCMP_SYS(geteuid), "libc" },
	{ SCMP_SYS(getgid), "libc" },
	{ SCMP_SYS(getegid), "libc" },
	{ SCMP_SYS(getppid), "libc" },
	{ SCMP_SYS(uname), "libc, OpenSSL" },
	{ SCMP_SYS(sched_getaffinity), "thread start-up (sanitizers)" },
	{ SCMP_SYS(getdents64), "/proc/self/fd, counted for the NOFILE limit" },
	{ SCMP_SYS(newfstatat), "nsswitch.conf and friends" },
	{ SCMP_SYS(stat), "metadata only" },
	{ SCMP_SYS(lstat), "metadata only" },
	{ SCMP_SYS(access), "metadata only" },
	{ SCMP_SYS(faccessat), "metadata only" },
	{ SCMP_SYS(faccessat2), "metadata only" },
	{ SCMP_SYS(readlink), "metadata only" },
	{ SCMP_SYS(readlinkat), "metadata only" },
	{ SCMP_SYS(statx), "metadata only" },
	{ SCMP_SYS(seccomp), "entering the session filter (only narrows)" },
};

static void __attribute__((format(printf, 3, 4)))
sb_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	if (n < 0)
		err[0] = '\0';
}

const char *
broker_sandbox_role_name(enum broker_sandbox_role role)
{
	switch (role) {
	case BROKER_SANDBOX_SESSION:
		return "session";
	case BROKER_SANDBOX_PREAUTH:
		return "preauth";
	}
	return NULL;
}

/* Marks the open descriptors below SB_FD_SCAN_MAX, from /proc or probing. */
static void
sb_open_fds(uint8_t *used)
{
	DIR *d;
	struct dirent *de;
	struct rlimit rl;
	int fd, self;
	long v;
	char *end;

	if ((d = opendir("/proc/self/fd")) != NULL) {
		self = dirfd(d);
		/* a DIR of our own: readdir is safe (readdir_r is deprecated) */
		// cppcheck-suppress readdirCalled
		while ((de = readdir(d)) != NULL) {
			errno = 0;
			v = strtol(de->d_name, &end, 10);
			if (errno != 0 || end == de->d_name || *end != '\0' ||
			    v < 0 || v >= SB_FD_SCAN_MAX || v == self)
				continue;
			used[v / 8] |= (uint8_t)(1U << (v % 8));
		}
		closedir(d);
		return;
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		rl.rlim_cur = SB_FD_SCAN_MAX;
	for (fd = 0; fd < SB_FD_SCAN_MAX && (rlim_t)fd < rl.rlim_cur; fd++)
		if (fcntl(fd, F_GETFD) != -1)
			used[fd / 8] |= (uint8_t)(1U << (fd % 8));
}

/*
 * The lowest RLIMIT_NOFILE that leaves exactly `margin` free descriptor
 * numbers below it: a new descriptor takes the lowest free number, so at
 * most `margin` can ever be made.  Descriptors above the limit (inherited,
 * high numbers) keep working; only new ones are bounded.
 */
static int
sb_nofile_limit(int margin, rlim_t *out)
{
	uint8_t *used;
	int n, nfree = 0;

	*out = 0;
	if ((used = calloc(SB_FD_SCAN_MAX / 8, 1)) == NULL)
		return PV_ERR_ALLOC;
	sb_open_fds(used);
	for (n = 0; n < SB_FD_SCAN_MAX; n++) {
		if (used[n / 8] & (1U << (n % 8)))
			continue;
		if (nfree == margin)
			break;
		nfree++;
	}
	free(used);
	*out = (rlim_t)n;
	return 0;
}

static int
sb_setrlimit(int res, const char *name, rlim_t v, char *err, size_t errlen)
{
	struct rlimit rl = { .rlim_cur = v, .rlim_max = v };

	if (setrlimit(res, &rl) != 0) {
		sb_err(err, errlen, "setrlimit(%s, %llu): %s", name,
		    (unsigned long long)v, strerror(errno));
		return PV_ERR_PERM;
	}
	return 0;
}

int
broker_sandbox_rlimits(enum broker_sandbox_role role, char *err, size_t errlen)
{
	struct rlimit cur;
	rlim_t nofile;
	int r;

	if (broker_sandbox_role_name(role) == NULL) {
		sb_err(err, errlen, "sandbox: unknown role %d", (int)role);
		return PV_ERR_INVALID;
	}
	/* No core file can leak session keys. */
	if ((r = sb_setrlimit(RLIMIT_CORE, "RLIMIT_CORE", 0, err, errlen)) != 0)
		return r;
	/*
	 * No process can be made.  RLIMIT_NPROC counts threads too, and the
	 * recorder's are started under preauth: there the filter alone
	 * refuses processes (clone without CLONE_THREAD kills).
	 */
	if (role == BROKER_SANDBOX_SESSION &&
	    (r = sb_setrlimit(RLIMIT_NPROC, "RLIMIT_NPROC", 0, err, errlen)) !=
		0)
		return r;
	/* No descriptors beyond those open now and a small margin. */
	if (getrlimit(RLIMIT_NOFILE, &cur) != 0) {
		sb_err(err, errlen, "getrlimit(RLIMIT_NOFILE): %s",
		    strerror(errno));
		return PV_ERR_INTERNAL;
	}
	if ((r = sb_nofile_limit(role == BROKER_SANDBOX_PREAUTH
		     ? BROKER_SANDBOX_PREAUTH_NOFILE_MARGIN
		     : BROKER_SANDBOX_NOFILE_MARGIN,
		 &nofile)) != 0) {
		sb_err(err, errlen, "sandbox: out of memory");
		return r;
	}
	if (cur.rlim_max != RLIM_INFINITY && nofile > cur.rlim_max)
		nofile = cur.rlim_max;
	/* RLIMIT_FSIZE stays: the recorder must write. */
	return sb_setrlimit(
	    RLIMIT_NOFILE, "RLIMIT_NOFILE", nofile, err, errlen);
}

static int
sb_add(scmp_filter_ctx ctx, uint32_t action, int nr, unsigned int n,
    const struct scmp_arg_cmp *cmp, char *err, size_t errlen)
{
	int rc;

	if ((rc = seccomp_rule_add_array(ctx, action, nr, n, cmp)) != 0) {
		char *name =
		    seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);

		sb_err(err, errlen, "seccomp_rule_add(%s): %s",
		    name != NULL ? name : "?", strerror(-rc));
		free(name);
		return PV_ERR_INTERNAL;
	}
	return 0;
}

/*
 * preauth: open(2)/openat(2) read-only is allowed; asking for write, create
 * or truncate is refused with EACCES.  The rules split the flags into
 * disjoint cases (an access mode, then O_CREAT and O_TRUNC with O_RDONLY).
 */
static int
sb_preauth_open(
    scmp_filter_ctx ctx, int nr, unsigned int arg, char *err, size_t errlen)
{
	static const scmp_datum_t refused_acc[] = { O_WRONLY, O_RDWR,
		O_ACCMODE };
	static const scmp_datum_t refused_rdonly[] = { O_CREAT, O_TRUNC,
		O_CREAT | O_TRUNC };
	const scmp_datum_t all = O_ACCMODE | O_CREAT | O_TRUNC;
	struct scmp_arg_cmp c[1];
	size_t i;
	int r;

	for (i = 0; i < sizeof(refused_acc) / sizeof(refused_acc[0]); i++) {
		c[0] = (struct scmp_arg_cmp){ arg, SCMP_CMP_MASKED_EQ,
			O_ACCMODE, refused_acc[i] };
		if ((r = sb_add(ctx, SCMP_ACT_ERRNO(EACCES), nr, 1, c, err,
			 errlen)) != 0)
			return r;
	}
	for (i = 0; i < sizeof(refused_rdonly) / sizeof(refused_rdonly[0]);
	     i++) {
		c[0] = (struct scmp_arg_cmp){ arg, SCMP_CMP_MASKED_EQ, all,
			refused_rdonly[i] };
		if ((r = sb_add(ctx, SCMP_ACT_ERRNO(EACCES), nr, 1, c, err,
			 errlen)) != 0)
			return r;
	}
	c[0] = (struct scmp_arg_cmp){ arg, SCMP_CMP_MASKED_EQ, all, O_RDONLY };
	return sb_add(ctx, SCMP_ACT_ALLOW, nr, 1, c, err, errlen);
}

/* preauth: the rules with argument checks that only it has. */
static int
sb_preauth_conditional(scmp_filter_ctx ctx, char *err, size_t errlen)
{
	const uint32_t A = SCMP_ACT_ALLOW;
	static const int prctl_ok[] = { PR_SET_NO_NEW_PRIVS, PR_SET_DUMPABLE,
		PR_GET_NO_NEW_PRIVS, PR_GET_SECCOMP, PR_SET_SECCOMP };
	static const int socket_refused[] = { AF_INET, AF_INET6, AF_UNIX,
		AF_NETLINK };
	struct scmp_arg_cmp c[1];
	size_t i;
	int r;

	/*
	 * No socket of its own: the target leg's comes from the monitor.
	 * What libc probes (the resolver's UDP, nscd, syslog, netlink) is
	 * refused with EACCES; another family kills.
	 */
	for (i = 0; i < sizeof(socket_refused) / sizeof(socket_refused[0]);
	     i++) {
		c[0] = SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)socket_refused[i]);
		if ((r = sb_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket),
			 1, c, err, errlen)) != 0)
			return r;
	}
	if ((r = sb_preauth_open(ctx, SCMP_SYS(open), 1, err, errlen)) != 0 ||
	    (r = sb_preauth_open(ctx, SCMP_SYS(openat), 2, err, errlen)) != 0)
		return r;
	/* Threads (the recorder's), never processes; clone3 hides its flags. */
	c[0] = SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD);
	if ((r = sb_add(ctx, A, SCMP_SYS(clone), 1, c, err, errlen)) != 0 ||
	    (r = sb_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0, NULL,
		 err, errlen)) != 0)
		return r;
	/* Code never made: dlopen (an NSS module) fails instead of killing. */
	c[0] = SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC);
	if ((r = sb_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(mmap), 1, c, err,
		 errlen)) != 0 ||
	    (r = sb_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(mprotect), 1, c,
		 err, errlen)) != 0)
		return r;
	/* Entering the session role: its rlimits, NNP, dumpable, filter. */
	for (i = 0; i < sizeof(prctl_ok) / sizeof(prctl_ok[0]); i++) {
		c[0] = SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)prctl_ok[i]);
		if ((r = sb_add(ctx, A, SCMP_SYS(prctl), 1, c, err, errlen)) !=
		    0)
			return r;
	}
	c[0] = SCMP_A0(SCMP_CMP_EQ, 0); /* this process's own limits */
	return sb_add(ctx, A, SCMP_SYS(prlimit64), 1, c, err, errlen);
}

/* Rules with argument checks, one line each. */
static int
sb_session_conditional(scmp_filter_ctx ctx, enum broker_sandbox_role role,
    char *err, size_t errlen)
{
	const uint32_t A = SCMP_ACT_ALLOW;
	const scmp_datum_t self = (scmp_datum_t)getpid();
	static const int fcntl_ok[] = { F_GETFL, F_SETFL, F_GETFD, F_SETFD };
	/* FIONREAD: bytes waiting; FIONBIO: non-blocking (libc, libssh). */
	static const unsigned long ioctl_ok[] = { FIONREAD, FIONBIO };
	struct scmp_arg_cmp c[1];
	size_t i;
	int r;

	/* Memory that can never become code (no PROT_EXEC, ever). */
	c[0] = SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0);
	if ((r = sb_add(ctx, A, SCMP_SYS(mmap), 1, c, err, errlen)) != 0 ||
	    (r = sb_add(ctx, A, SCMP_SYS(mprotect), 1, c, err, errlen)) != 0)
		return r;
	/* fcntl: flags only (O_NONBLOCK, FD_CLOEXEC); no dup, no locks. */
	for (i = 0; i < sizeof(fcntl_ok) / sizeof(fcntl_ok[0]); i++) {
		c[0] = SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)fcntl_ok[i]);
		if ((r = sb_add(ctx, A, SCMP_SYS(fcntl), 1, c, err, errlen)) !=
		    0)
			return r;
	}
	for (i = 0; i < sizeof(ioctl_ok) / sizeof(ioctl_ok[0]); i++) {
		c[0] = SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)ioctl_ok[i]);
		if ((r = sb_add(ctx, A, SCMP_SYS(ioctl), 1, c, err, errlen)) !=
		    0)
			return r;
	}
	/* isatty() on stderr: "not a terminal" rather than a kill. */
	c[0] = SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)TCGETS);
	if ((r = sb_add(ctx, SCMP_ACT_ERRNO(ENOTTY), SCMP_SYS(ioctl), 1, c, err,
		 errlen)) != 0)
		return r;
	/* Signals to this process only (raise, abort, pthread_kill). */
	c[0] = SCMP_A0(SCMP_CMP_EQ, self);
	if ((r = sb_add(ctx, A, SCMP_SYS(kill), 1, c, err, errlen)) != 0 ||
	    (r = sb_add(ctx, A, SCMP_SYS(tgkill), 1, c, err, errlen)) != 0)
		return r;
	if (role == BROKER_SANDBOX_PREAUTH)
		return sb_preauth_conditional(ctx, err, errlen);
	/* fstat() is newfstatat(fd, "", AT_EMPTY_PATH); paths are refused. */
	c[0] = SCMP_A3(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, AT_EMPTY_PATH);
	if ((r = sb_add(ctx, A, SCMP_SYS(newfstatat), 1, c, err, errlen)) != 0)
		return r;
	c[0] = SCMP_A3(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, 0);
	return sb_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(newfstatat), 1, c,
	    err, errlen);
}

static int
sb_filter_new(enum broker_sandbox_role role, scmp_filter_ctx *out, char *err,
    size_t errlen)
{
	scmp_filter_ctx ctx = NULL;
	size_t i;
	int r = PV_ERR_INTERNAL, rc;

	*out = NULL;
	if (broker_sandbox_role_name(role) == NULL) {
		sb_err(err, errlen, "sandbox: unknown role %d", (int)role);
		return PV_ERR_INVALID;
	}
	if (seccomp_api_get() < 3) {
		/* Without SCMP_ACT_KILL_PROCESS a thread could survive. */
		sb_err(err, errlen, "sandbox: seccomp API level %u < 3",
		    seccomp_api_get());
		return PV_ERR_UNSUPPORTED;
	}
	/*
	 * Default kill; only the native architecture is in the filter, so
	 * the i386 ABI (int 0x80) fails the architecture check and, on
	 * x86_64, libseccomp refuses x32 numbers (__X32_SYSCALL_BIT): both
	 * take the bad-architecture action, which is a kill too.
	 */
	if ((ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL) {
		sb_err(err, errlen, "seccomp_init failed");
		return PV_ERR_ALLOC;
	}
	if ((rc = seccomp_attr_set(
		 ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS)) != 0 ||
	    (rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1)) != 0 ||
	    (rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) != 0) {
		sb_err(err, errlen, "seccomp_attr_set: %s", strerror(-rc));
		goto out;
	}
	/* A binary tree of syscall numbers: the relay calls poll a lot. */
	(void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	for (i = 0; i < sizeof(session_allow) / sizeof(session_allow[0]); i++)
		if ((r = sb_add(ctx, SCMP_ACT_ALLOW, session_allow[i].nr, 0,
			 NULL, err, errlen)) != 0)
			goto out;
	if (role == BROKER_SANDBOX_PREAUTH) {
		for (i = 0;
		     i < sizeof(preauth_allow) / sizeof(preauth_allow[0]); i++)
			if ((r = sb_add(ctx, SCMP_ACT_ALLOW,
				 preauth_allow[i].nr, 0, NULL, err, errlen)) !=
			    0)
				goto out;
	} else {
		for (i = 0;
		     i < sizeof(session_eacces) / sizeof(session_eacces[0]);
		     i++)
			if ((r = sb_add(ctx, SCMP_ACT_ERRNO(EACCES),
				 session_eacces[i], 0, NULL, err, errlen)) != 0)
				goto out;
	}
	if ((r = sb_session_conditional(ctx, role, err, errlen)) != 0)
		goto out;
	*out = ctx;
	ctx = NULL;
	r = 0;
out:
	if (ctx != NULL)
		seccomp_release(ctx);
	return r;
}

int
broker_sandbox_enter(enum broker_sandbox_role role, char *err, size_t errlen)
{
	scmp_filter_ctx ctx = NULL;
	int r = PV_ERR_INTERNAL, rc;

	/* Built first: libseccomp allocates, and a build error is ours. */
	if ((r = sb_filter_new(role, &ctx, err, errlen)) != 0)
		return r;
	if ((r = broker_sandbox_rlimits(role, err, errlen)) != 0)
		goto out;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		sb_err(err, errlen, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
		r = PV_ERR_PERM;
		goto out;
	}
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
		sb_err(err, errlen, "PR_SET_DUMPABLE: %s", strerror(errno));
		r = PV_ERR_PERM;
		goto out;
	}
	if ((rc = seccomp_load(ctx)) != 0) {
		sb_err(err, errlen, "seccomp_load: %s", strerror(-rc));
		r = rc == -ESRCH ? PV_ERR_UNSUPPORTED : PV_ERR_PERM;
		goto out;
	}
	r = 0;
out:
	seccomp_release(ctx);
	return r;
}

int
broker_sandbox_export_pfc(enum broker_sandbox_role role, char **out)
{
	scmp_filter_ctx ctx = NULL;
	char *text = NULL;
	off_t end;
	size_t got = 0;
	ssize_t n;
	int fd = -1, r = PV_ERR_INTERNAL;

	*out = NULL;
	if ((r = sb_filter_new(role, &ctx, NULL, 0)) != 0)
		return r;
	if ((fd = memfd_create("provost-pfc", MFD_CLOEXEC)) == -1) {
		r = PV_ERR_IO;
		goto out;
	}
	if (seccomp_export_pfc(ctx, fd) != 0) {
		r = PV_ERR_INTERNAL;
		goto out;
	}
	if ((end = lseek(fd, 0, SEEK_END)) < 0 || end > SB_PFC_MAX ||
	    lseek(fd, 0, SEEK_SET) != 0) {
		r = end > SB_PFC_MAX ? PV_ERR_LIMIT : PV_ERR_IO;
		goto out;
	}
	if ((text = malloc((size_t)end + 1)) == NULL) {
		r = PV_ERR_ALLOC;
		goto out;
	}
	while (got < (size_t)end) {
		n = read(fd, text + got, (size_t)end - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = PV_ERR_IO;
			goto out;
		}
		got += (size_t)n;
	}
	text[got] = '\0';
	*out = text;
	text = NULL;
	r = 0;
out:
	free(text);
	if (fd != -1)
		close(fd);
	seccomp_release(ctx);
	return r;
}
