/*
 * latency.c: keystroke round-trip time through an interactive ssh session.
 * Runs the given command (an ssh -tt ... 'echo READY; cat') on a pty,
 * sends one byte at a time and waits for the remote tty's echo of it.
 * Prints JSON: {"n":..,"p50_us":..,"p90_us":..,"p99_us":..,"max_us":..}.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/common.h"

#define LAT_MAX_N 100000
#define LAT_TIMEOUT_MS 10000

static uint64_t
now_us(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Reads from fd until needle has been seen; bytes before it are dropped. */
static int
wait_for(int fd, const char *needle, int timeout_ms)
{
	size_t nl = strlen(needle), have = 0;
	uint64_t deadline = now_us() + (uint64_t)timeout_ms * 1000;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char c;

	while (have < nl) {
		uint64_t now = now_us();
		ssize_t n;

		if (now >= deadline)
			return PV_ERR_TIMEOUT;
		if (poll(&pfd, 1, (int)((deadline - now) / 1000) + 1) < 0) {
			if (errno == EINTR)
				continue;
			return PV_ERR_IO;
		}
		if ((n = read(fd, &c, 1)) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return PV_ERR_IO;
		}
		if (n == 0)
			return PV_ERR_CLOSED;
		if (c == needle[have])
			have++;
		else
			have = c == needle[0] ? 1 : 0;
	}
	return 0;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t
pct(const uint64_t *v, size_t n, unsigned int p)
{
	size_t i = (n * p + 99) / 100;

	return v[i == 0 ? 0 : i - 1];
}

int
main(int argc, char **argv)
{
	struct winsize ws = { .ws_row = 24, .ws_col = 80 };
	uint64_t *rtt, t0;
	uint32_t n;
	pid_t pid;
	int fd, i, st, r;
	char c;

	if (argc < 4 || strcmp(argv[2], "--") != 0 ||
	    pv_parse_u32(argv[1], 1, LAT_MAX_N, &n) != 0) {
		fprintf(stderr, "usage: latency N -- COMMAND [ARGS]\n");
		return 2;
	}
	if ((pid = forkpty(&fd, NULL, NULL, &ws)) < 0) {
		perror("forkpty");
		return 1;
	}
	if (pid == 0) {
		execvp(argv[3], argv + 3);
		_exit(127);
	}
	if ((r = wait_for(fd, "READY", LAT_TIMEOUT_MS)) != 0) {
		fprintf(stderr, "latency: no READY from the session: %s\n",
		    pv_err_str(r));
		kill(pid, SIGTERM);
		return 1;
	}
	if ((rtt = calloc(n, sizeof(*rtt))) == NULL) {
		kill(pid, SIGTERM);
		return 1;
	}
	for (i = 0; i < (int)n; i++) {
		/* Letters only: a tty would act on control characters. */
		c = (char)('a' + i % 26);
		t0 = now_us();
		if (write(fd, &c, 1) != 1) {
			perror("write");
			break;
		}
		if ((r = wait_for(fd, (char[]){ c, '\0' }, LAT_TIMEOUT_MS)) !=
		    0) {
			fprintf(stderr, "latency: byte %d not echoed: %s\n", i,
			    pv_err_str(r));
			break;
		}
		rtt[i] = now_us() - t0;
	}
	/* End the remote cat (^D after a newline) and the session. */
	if (write(fd, "\n\004", 2) != 2)
		kill(pid, SIGTERM);
	(void)waitpid(pid, &st, 0);
	if (i < (int)n) {
		free(rtt);
		return 1;
	}
	qsort(rtt, n, sizeof(*rtt), cmp_u64);
	printf("{\"n\":%u,\"p50_us\":%llu,\"p90_us\":%llu,\"p99_us\":%llu,"
	       "\"max_us\":%llu}\n",
	    n, (unsigned long long)pct(rtt, n, 50),
	    (unsigned long long)pct(rtt, n, 90),
	    (unsigned long long)pct(rtt, n, 99),
	    (unsigned long long)rtt[n - 1]);
	free(rtt);
	return 0;
}
