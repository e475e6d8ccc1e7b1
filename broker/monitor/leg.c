/*
 * leg.c: the monitor opens a target's TCP connection (non-blocking) for a
 * session process, which gets the socket and has no socket(2) of its own.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "broker/monitor/monitor.h"

/*
 * One address: a socket, non-blocking and close-on-exec, whose connect
 * is under way (or done).  -errno when it failed at once.
 */
static int
leg_try(const struct addrinfo *ai)
{
	int fd, one = 1, e;

	fd = socket(ai->ai_family,
	    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0)
		return -errno;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
	    errno == EINPROGRESS)
		return fd;
	e = errno;
	(void)close(fd);
	return -e;
}

int
broker_leg_connect(const char *host, uint16_t port, int *fd, int *resolved,
    char *why, size_t whylen)
{
	struct addrinfo hints, *res = NULL, *ai;
	char serv[8];
	int rc, s = -ENOENT;

	*fd = -1;
	*resolved = 0;
	why[0] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	(void)snprintf(serv, sizeof(serv), "%u", (unsigned int)port);
	rc = getaddrinfo(host, serv, &hints, &res);
	if (rc == EAI_NONAME) {
		/*
		 * A host name: resolved here, and the monitor's loop waits
		 * for it (the session process cannot: it has no socket).
		 * /etc/hosts answers in microseconds; a DNS server that does
		 * not answer stalls every session for the resolver's
		 * timeout.  Targets should be stored by address.
		 */
		*resolved = 1;
		hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
		rc = getaddrinfo(host, serv, &hints, &res);
	}
	if (rc != 0) {
		(void)snprintf(why, whylen, "%s", gai_strerror(rc));
		return PV_ERR_NOT_FOUND;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
			continue;
		if ((s = leg_try(ai)) >= 0)
			break;
	}
	freeaddrinfo(res);
	if (s < 0) {
		(void)snprintf(why, whylen, "%s", strerror(-s));
		return PV_ERR_IO;
	}
	*fd = s;
	return 0;
}
