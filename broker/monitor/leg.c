/*
 * leg.c: the monitor opens a target's TCP connection (non-blocking) for a
 * session process, which gets the socket and has no socket(2) of its own.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "broker/monitor/monitor.h"
#include "broker/monitor/resolver.h"

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

/* Each address in turn until one connect is under way. */
static int
leg_try_all(const struct addrinfo *res, int *fd, char *why, size_t whylen)
{
	const struct addrinfo *ai;
	int s = -ENOENT;

	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
			continue;
		if ((s = leg_try(ai)) >= 0)
			break;
	}
	if (s < 0) {
		(void)snprintf(why, whylen, "%s", strerror(-s));
		return PV_ERR_IO;
	}
	*fd = s;
	return 0;
}

int
broker_leg_connect(
    const char *host, uint16_t port, int *fd, char *why, size_t whylen)
{
	struct addrinfo hints, *res = NULL;
	char serv[8];
	int rc, r;

	*fd = -1;
	why[0] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	(void)snprintf(serv, sizeof(serv), "%u", (unsigned int)port);
	rc = getaddrinfo(host, serv, &hints, &res);
	/*
	 * A host name: never resolved here (the loop would wait for a DNS
	 * server); the resolver process answers, broker_leg_connect_addrs
	 * connects.
	 */
	if (rc == EAI_NONAME)
		return BROKER_LEG_NAME;
	if (rc != 0) {
		(void)snprintf(why, whylen, "%s", gai_strerror(rc));
		return PV_ERR_NOT_FOUND;
	}
	r = leg_try_all(res, fd, why, whylen);
	freeaddrinfo(res);
	return r;
}

int
broker_leg_connect_addrs(const struct broker_res_answer *a, uint16_t port,
    int *fd, char *why, size_t whylen)
{
	struct sockaddr_in sin[BROKER_RES_ADDRS_MAX];
	struct sockaddr_in6 sin6[BROKER_RES_ADDRS_MAX];
	struct addrinfo ai[BROKER_RES_ADDRS_MAX];
	unsigned int i, n = 0;

	*fd = -1;
	why[0] = '\0';
	memset(ai, 0, sizeof(ai));
	memset(sin, 0, sizeof(sin));
	memset(sin6, 0, sizeof(sin6));
	for (i = 0; i < a->naddr && i < BROKER_RES_ADDRS_MAX; i++) {
		ai[n].ai_socktype = SOCK_STREAM;
		ai[n].ai_protocol = IPPROTO_TCP;
		if (a->addr[i].family == AF_INET) {
			sin[n].sin_family = AF_INET;
			sin[n].sin_port = htons(port);
			memcpy(&sin[n].sin_addr, a->addr[i].addr, 4);
			ai[n].ai_family = AF_INET;
			ai[n].ai_addr = (struct sockaddr *)&sin[n];
			ai[n].ai_addrlen = sizeof(sin[n]);
		} else if (a->addr[i].family == AF_INET6) {
			sin6[n].sin6_family = AF_INET6;
			sin6[n].sin6_port = htons(port);
			memcpy(&sin6[n].sin6_addr, a->addr[i].addr, 16);
			ai[n].ai_family = AF_INET6;
			ai[n].ai_addr = (struct sockaddr *)&sin6[n];
			ai[n].ai_addrlen = sizeof(sin6[n]);
		} else
			continue;
		if (n > 0)
			ai[n - 1].ai_next = &ai[n];
		n++;
	}
	if (n == 0) {
		(void)snprintf(why, whylen, "no address");
		return PV_ERR_NOT_FOUND;
	}
	return leg_try_all(ai, fd, why, whylen);
}
