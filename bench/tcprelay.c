/*
 * tcprelay.c: the cheapest relay there is, as a floor for bench/run.
 * Listens on 127.0.0.1:PORT; each connection gets a process that connects
 * to 127.0.0.1:TARGET and copies bytes both ways with poll, read and
 * write (TCP_NODELAY on both sockets).  No SSH, no crypto, no recording:
 * what any process in the path of a keystroke costs on this machine.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/common.h"

#define RELAY_BUF 65536

static int
tcp_socket(void)
{
	int fd, one = 1;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static struct sockaddr_in
loopback(uint16_t port)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sin;
}

/* Writes all of buf; 0 or -1. */
static int
write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, buf, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

static void
relay(int a, uint16_t target)
{
	struct sockaddr_in sin = loopback(target);
	struct pollfd pfd[2];
	static char buf[RELAY_BUF];
	int b, i;

	if ((b = tcp_socket()) < 0 ||
	    connect(b, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
		perror("tcprelay: connect");
		return;
	}
	pfd[0] = (struct pollfd){ .fd = a, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = b, .events = POLLIN };
	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		for (i = 0; i < 2; i++) {
			ssize_t n;

			if (pfd[i].revents == 0)
				continue;
			if ((n = read(pfd[i].fd, buf, sizeof(buf))) <= 0)
				return;
			if (write_all(pfd[1 - i].fd, buf, (size_t)n) != 0)
				return;
		}
	}
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sin;
	uint32_t port, target;
	int l, c, one = 1;

	if (argc != 3 || pv_parse_u32(argv[1], 1, 65535, &port) != 0 ||
	    pv_parse_u32(argv[2], 1, 65535, &target) != 0) {
		fprintf(stderr, "usage: tcprelay PORT TARGET_PORT\n");
		return 2;
	}
	sin = loopback((uint16_t)port);
	if ((l = tcp_socket()) < 0 ||
	    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(l, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    listen(l, 128) != 0) {
		perror("tcprelay: listen");
		return 1;
	}
	printf("tcprelay: listening on 127.0.0.1 port %u\n", port);
	fflush(stdout);
	for (;;) {
		struct pollfd lp = { .fd = l, .events = POLLIN };
		pid_t pid;

		/*
		 * Reap finished relays (no SIGCHLD handler), so their CPU
		 * time reaches this process's children's time.
		 */
		while (waitpid(-1, NULL, WNOHANG) > 0)
			continue;
		if (poll(&lp, 1, 1000) <= 0)
			continue;
		if ((c = accept4(l, NULL, NULL, SOCK_CLOEXEC)) < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			perror("tcprelay: accept");
			return 1;
		}
		(void)setsockopt(
		    c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if ((pid = fork()) == 0) {
			(void)close(l);
			relay(c, (uint16_t)target);
			_exit(0);
		}
		if (pid < 0)
			perror("tcprelay: fork");
		(void)close(c);
	}
}
