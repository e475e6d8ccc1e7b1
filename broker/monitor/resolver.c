/*
 * resolver.c: the monitor's name resolver process (getaddrinfo in threads
 * of its own, one per lookup) and the monitor's side of it, which checks
 * every answer and fails a lookup that is late, refused or orphaned.
 */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "broker/broker.h"
#include "broker/monitor/resolver.h"

struct res_lookup {
	uint32_t id; /* 0: a free slot */
	void *owner; /* NULL: cancelled, the answer is dropped */
	uint64_t deadline_ms;
	char host[BROKER_RES_HOST_MAX + 1];
};

struct broker_resolver {
	pid_t pid;
	int reaped; /* pid is gone (kept for the log) */
	int fd;
	pid_t owner_pid; /* the monitor: a forked copy only closes fd */
	uint32_t next_id;
	uint64_t started_ms;
	broker_res_scrub_fn scrub;
	void *scrub_ctx;
	broker_res_done_fn done;
	broker_res_watch_fn watch;
	void *ctx;
	struct res_lookup v[BROKER_RES_INFLIGHT_MAX];
};

static int
res_printable(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] > 0x7e)
			return 0;
	return 1;
}

int
broker_res_answer_parse(const uint8_t *p, size_t len,
    struct broker_res_answer *out, char *why, size_t whylen)
{
	struct pv_buf *b = NULL;
	uint8_t type, naddr, errlen, fam, zero[12] = { 0 };
	unsigned int i;
	const char *bad = NULL;

	memset(out, 0, sizeof(*out));
	why[0] = '\0';
	if (len < 7 || len > BROKER_RES_ANSWER_MAX) {
		bad = "its length is out of range";
		goto out;
	}
	if ((b = pv_buf_from(p, len)) == NULL) {
		bad = "out of memory";
		goto out;
	}
	if (pv_buf_get_u8(b, &type) != 0 || pv_buf_get_u32(b, &out->id) != 0 ||
	    pv_buf_get_u8(b, &naddr) != 0 || pv_buf_get_u8(b, &errlen) != 0) {
		bad = "it is truncated";
		goto out;
	}
	if (type != BROKER_RES_ANSWER)
		bad = "not an answer";
	else if (out->id == 0)
		bad = "request id 0";
	else if (naddr > BROKER_RES_ADDRS_MAX)
		bad = "too many addresses";
	else if (errlen > BROKER_RES_ERR_MAX)
		bad = "its error text is too long";
	else if ((naddr == 0) == (errlen == 0))
		bad = "neither addresses nor an error, or both";
	else if (len != 7 + 17 * (size_t)naddr + errlen)
		bad = "its length does not match its counts";
	if (bad != NULL)
		goto out;
	for (i = 0; i < naddr; i++) {
		struct broker_res_addr *a = &out->addr[i];

		if (pv_buf_get_u8(b, &fam) != 0 ||
		    pv_buf_get(b, a->addr, sizeof(a->addr)) != 0) {
			bad = "it is truncated";
			goto out;
		}
		if (fam == 4 && memcmp(a->addr + 4, zero, sizeof(zero)) == 0)
			a->family = AF_INET;
		else if (fam == 6)
			a->family = AF_INET6;
		else {
			bad = fam == 4 ? "an IPv4 address with stray bytes"
				       : "an address family other than "
					 "IPv4 or IPv6";
			goto out;
		}
	}
	out->naddr = naddr;
	if (errlen > 0) {
		const uint8_t *e = pv_buf_ptr(b);

		if (pv_buf_len(b) != errlen || !res_printable(e, errlen)) {
			bad = "its error text is not printable";
			goto out;
		}
		memcpy(out->err, e, errlen);
		out->err[errlen] = '\0';
	}
out:
	pv_buf_free(b);
	if (bad == NULL)
		return 0;
	(void)snprintf(why, whylen, "%s", bad);
	memset(out, 0, sizeof(*out));
	return PV_ERR_PROTOCOL;
}

static void
res_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

int
broker_res_answer_build(
    const struct broker_res_answer *a, uint8_t *p, size_t cap, size_t *len)
{
	size_t el = strlen(a->err), n, i;

	*len = 0;
	if (a->naddr > BROKER_RES_ADDRS_MAX || el > BROKER_RES_ERR_MAX)
		return PV_ERR_RANGE;
	n = 7 + 17 * (size_t)a->naddr + el;
	if (n > cap)
		return PV_ERR_RANGE;
	p[0] = BROKER_RES_ANSWER;
	res_put32(p + 1, a->id);
	p[5] = (uint8_t)a->naddr;
	p[6] = (uint8_t)el;
	for (i = 0; i < a->naddr; i++) {
		uint8_t *q = p + 7 + 17 * i;

		q[0] = a->addr[i].family == AF_INET ? 4 : 6;
		memset(q + 1, 0, 16);
		memcpy(q + 1, a->addr[i].addr,
		    a->addr[i].family == AF_INET ? 4 : 16);
	}
	memcpy(p + 7 + 17 * a->naddr, a->err, el);
	*len = n;
	return 0;
}

/* ---- the resolver process ---- */

static int res_sock = -1;
static unsigned int res_inflight; /* __atomic only */

struct res_job {
	uint32_t id;
	uint16_t port;
	char host[BROKER_RES_HOST_MAX + 1];
};

static void
res_send(const struct broker_res_answer *a)
{
	uint8_t m[BROKER_RES_ANSWER_MAX];
	size_t n;

	/* one message each, whole: SOCK_SEQPACKET is thread-safe per send */
	if (broker_res_answer_build(a, m, sizeof(m), &n) == 0)
		(void)send(res_sock, m, n, MSG_NOSIGNAL);
}

static void
res_fail(uint32_t id, const char *err)
{
	struct broker_res_answer a;

	memset(&a, 0, sizeof(a));
	a.id = id;
	(void)snprintf(a.err, sizeof(a.err), "%s", err);
	res_send(&a);
}

static void *
res_thread(void *arg)
{
	struct res_job *j = arg;
	struct addrinfo hints, *res = NULL, *ai;
	struct broker_res_answer a;
	char serv[8];
	int rc;

	memset(&hints, 0, sizeof(hints));
	memset(&a, 0, sizeof(a));
	a.id = j->id;
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
	(void)snprintf(serv, sizeof(serv), "%u", (unsigned int)j->port);
	rc = getaddrinfo(j->host, serv, &hints, &res);
	if (rc != 0)
		(void)snprintf(a.err, sizeof(a.err), "%s", gai_strerror(rc));
	for (ai = res; ai != NULL && a.naddr < BROKER_RES_ADDRS_MAX;
	     ai = ai->ai_next) {
		struct broker_res_addr *d = &a.addr[a.naddr];

		if (ai->ai_family == AF_INET) {
			d->family = AF_INET;
			memcpy(d->addr,
			    &((struct sockaddr_in *)(void *)ai->ai_addr)
				 ->sin_addr,
			    4);
		} else if (ai->ai_family == AF_INET6) {
			d->family = AF_INET6;
			memcpy(d->addr,
			    &((struct sockaddr_in6 *)(void *)ai->ai_addr)
				 ->sin6_addr,
			    16);
		} else
			continue;
		a.naddr++;
	}
	if (res != NULL)
		freeaddrinfo(res);
	if (rc == 0 && a.naddr == 0)
		(void)snprintf(a.err, sizeof(a.err),
		    "no IPv4 or IPv6 address for the name");
	res_send(&a);
	free(j);
	__atomic_sub_fetch(&res_inflight, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/* A query, checked as strictly as the answers; 0 or -1. */
static int
res_query_parse(const uint8_t *m, size_t n, struct res_job *j)
{
	size_t hl;

	if (n < 9 || n > BROKER_RES_QUERY_MAX || m[0] != BROKER_RES_QUERY)
		return -1;
	j->id = (uint32_t)m[1] << 24 | (uint32_t)m[2] << 16 |
	    (uint32_t)m[3] << 8 | m[4];
	j->port = (uint16_t)(m[5] << 8 | m[6]);
	hl = m[7];
	if (j->id == 0 || hl == 0 || n != 8 + hl || !res_printable(m + 8, hl))
		return -1;
	memcpy(j->host, m + 8, hl);
	j->host[hl] = '\0';
	return 0;
}

static void __attribute__((noreturn)) res_main(int fd)
{
	uint8_t m[BROKER_RES_QUERY_MAX + 1];
	struct res_job *j;
	pthread_attr_t at;
	pthread_t t;
	ssize_t n;

	res_sock = fd;
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		_exit(0);
	(void)signal(SIGPIPE, SIG_IGN);
	(void)signal(SIGHUP, SIG_IGN);
	(void)signal(SIGINT, SIG_IGN);
	(void)signal(SIGTERM, SIG_DFL);
	(void)signal(SIGCHLD, SIG_DFL);
	if (pthread_attr_init(&at) != 0 ||
	    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED) != 0)
		_exit(1);
	for (;;) {
		n = recv(fd, m, sizeof(m), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(n == 0 ? 0 : 1);
		if ((j = calloc(1, sizeof(*j))) == NULL)
			_exit(1);
		if (res_query_parse(m, (size_t)n, j) != 0) {
			pv_error("resolver: a malformed query was dropped");
			free(j);
			continue;
		}
		if (__atomic_add_fetch(&res_inflight, 1, __ATOMIC_SEQ_CST) >
		    BROKER_RES_INFLIGHT_MAX) {
			__atomic_sub_fetch(&res_inflight, 1, __ATOMIC_SEQ_CST);
			res_fail(j->id, "too many name lookups in flight");
			free(j);
			continue;
		}
		if (pthread_create(&t, &at, res_thread, j) != 0) {
			__atomic_sub_fetch(&res_inflight, 1, __ATOMIC_SEQ_CST);
			res_fail(j->id, "the resolver cannot start a lookup");
			free(j);
		}
	}
}

/* ---- the monitor's side ---- */

static int
res_spawn(struct broker_resolver *r)
{
	int sv[2];
	pid_t pid;

	r->started_ms = pv_mono_ms();
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		pv_error("resolver: socketpair: %s", strerror(errno));
		return PV_ERR_IO;
	}
	if ((pid = fork()) < 0) {
		pv_error("resolver: fork: %s", strerror(errno));
		(void)close(sv[0]);
		(void)close(sv[1]);
		return PV_ERR_IO;
	}
	if (pid == 0) {
		/* nothing of the monitor's but this socket and stdio */
		if (dup2(sv[1], 3) != 3)
			_exit(1);
		(void)close_range(4, ~0U, 0);
		if (r->scrub != NULL && r->scrub(r->scrub_ctx) != 0)
			_exit(1);
		res_main(3);
	}
	(void)close(sv[1]);
	r->pid = pid;
	r->reaped = 0;
	r->fd = sv[0];
	if (r->watch != NULL)
		r->watch(r->ctx, r->fd, 1);
	pv_info("resolver process %ld started", (long)pid);
	return 0;
}

int
broker_resolver_new(broker_res_scrub_fn scrub, void *scrub_ctx,
    broker_res_done_fn done, broker_res_watch_fn watch, void *ctx,
    struct broker_resolver **out)
{
	struct broker_resolver *r;

	*out = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return PV_ERR_ALLOC;
	r->pid = -1;
	r->fd = -1;
	r->owner_pid = getpid();
	r->scrub = scrub;
	r->scrub_ctx = scrub_ctx;
	r->done = done;
	r->watch = watch;
	r->ctx = ctx;
	/*
	 * Started at the first lookup: a broker whose targets are all stored
	 * by address runs no resolver.
	 */
	*out = r;
	return 0;
}

int
broker_resolver_fd(const struct broker_resolver *r)
{
	return r != NULL ? r->fd : -1;
}

pid_t
broker_resolver_pid(const struct broker_resolver *r)
{
	return r != NULL ? r->pid : -1;
}

/* Every lookup in flight fails with err (the owners are told). */
static void
res_fail_all(struct broker_resolver *r, const char *err)
{
	struct broker_res_answer a;
	size_t i;
	void *owner;

	for (i = 0; i < BROKER_RES_INFLIGHT_MAX; i++) {
		if (r->v[i].id == 0)
			continue;
		owner = r->v[i].owner;
		memset(&a, 0, sizeof(a));
		a.id = r->v[i].id;
		(void)snprintf(a.err, sizeof(a.err), "%s", err);
		memset(&r->v[i], 0, sizeof(r->v[i]));
		if (owner != NULL)
			r->done(r->ctx, owner, &a);
	}
}

/* The process is gone or useless: killed, its socket closed. */
static void
res_down(struct broker_resolver *r, const char *why)
{
	if (r->fd >= 0) {
		if (r->watch != NULL)
			r->watch(r->ctx, r->fd, 0);
		(void)close(r->fd);
	}
	r->fd = -1;
	pv_error("resolver process %ld: %s; its lookups in flight fail, "
		 "and it is started again at the next one",
	    (long)r->pid, why);
	/* the caller's waitpid reaps it (broker_resolver_reaped) */
	if (r->pid > 0 && !r->reaped)
		(void)kill(r->pid, SIGKILL);
	res_fail_all(r, "the resolver process ended");
}

int
broker_resolver_ask(struct broker_resolver *r, const char *host, uint16_t port,
    void *owner, uint32_t *id, char *why, size_t whylen)
{
	uint8_t m[BROKER_RES_QUERY_MAX];
	size_t hl = strlen(host), i, slot = BROKER_RES_INFLIGHT_MAX;

	*id = 0;
	why[0] = '\0';
	if (hl == 0 || hl > BROKER_RES_HOST_MAX ||
	    !res_printable((const uint8_t *)host, hl)) {
		(void)snprintf(why, whylen, "not a host name");
		return PV_ERR_INVALID;
	}
	if (r->fd < 0) {
		int again = r->pid > 0; /* one ran before */

		if (again &&
		    pv_mono_ms() - r->started_ms < BROKER_RES_RESTART_MS) {
			(void)snprintf(
			    why, whylen, "the resolver process is restarting");
			return PV_ERR_LIMIT;
		}
		if (res_spawn(r) != 0) {
			(void)snprintf(
			    why, whylen, "the resolver process cannot start");
			return PV_ERR_IO;
		}
		if (again)
			pv_warn("resolver process restarted (pid %ld)",
			    (long)r->pid);
	}
	for (i = 0; i < BROKER_RES_INFLIGHT_MAX; i++)
		if (r->v[i].id == 0) {
			slot = i;
			break;
		}
	if (slot == BROKER_RES_INFLIGHT_MAX) {
		(void)snprintf(why, whylen, "too many name lookups in flight");
		return PV_ERR_LIMIT;
	}
	if (++r->next_id == 0)
		r->next_id = 1;
	m[0] = BROKER_RES_QUERY;
	res_put32(m + 1, r->next_id);
	m[5] = (uint8_t)(port >> 8);
	m[6] = (uint8_t)port;
	m[7] = (uint8_t)hl;
	for (i = 0; i < hl; i++)
		m[8 + i] = (uint8_t)host[i];
	if (send(r->fd, m, 8 + hl, MSG_NOSIGNAL | MSG_DONTWAIT) !=
	    (ssize_t)(8 + hl)) {
		(void)snprintf(why, whylen,
		    "the resolver process cannot be "
		    "asked");
		res_down(r, "it cannot be asked");
		return PV_ERR_IO;
	}
	r->v[slot].id = r->next_id;
	r->v[slot].owner = owner;
	r->v[slot].deadline_ms = pv_mono_ms() + BROKER_RES_DEADLINE_MS;
	(void)snprintf(r->v[slot].host, sizeof(r->v[slot].host), "%s", host);
	*id = r->next_id;
	return 0;
}

void
broker_resolver_cancel(struct broker_resolver *r, uint32_t id)
{
	size_t i;

	if (r == NULL || id == 0)
		return;
	for (i = 0; i < BROKER_RES_INFLIGHT_MAX; i++)
		if (r->v[i].id == id)
			r->v[i].owner =
			    NULL; /* the slot waits for the answer */
}

int
broker_resolver_read(struct broker_resolver *r)
{
	uint8_t m[BROKER_RES_ANSWER_MAX + 1];
	struct broker_res_answer a;
	char why[128];
	ssize_t n;
	size_t i;
	void *owner;

	while (r->fd >= 0) {
		n = recv(r->fd, m, sizeof(m), MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0) {
			res_down(r, n == 0 ? "it ended" : strerror(errno));
			return 1;
		}
		if (broker_res_answer_parse(
			m, (size_t)n, &a, why, sizeof(why)) != 0) {
			/* the id is not to be believed: the process goes */
			pv_error("resolver process %ld: a malformed answer "
				 "refused: %s",
			    (long)r->pid, why);
			res_down(r, "it sent a malformed answer");
			return 1;
		}
		for (i = 0; i < BROKER_RES_INFLIGHT_MAX; i++)
			if (r->v[i].id == a.id)
				break;
		if (i == BROKER_RES_INFLIGHT_MAX) {
			pv_error("resolver process %ld: an answer to unknown "
				 "lookup %lu refused",
			    (long)r->pid, (unsigned long)a.id);
			continue;
		}
		owner = r->v[i].owner;
		if (owner == NULL)
			pv_verbose("resolver: the late answer for %s dropped "
				   "(its session timed out or is gone)",
			    r->v[i].host);
		memset(&r->v[i], 0, sizeof(r->v[i]));
		if (owner != NULL)
			r->done(r->ctx, owner, &a);
	}
	return 1;
}

int
broker_resolver_reaped(struct broker_resolver *r, pid_t pid, int status)
{
	if (r == NULL || pid <= 0 || pid != r->pid || r->reaped)
		return 0;
	if (WIFSIGNALED(status))
		pv_warn("resolver process %ld killed by signal %d", (long)pid,
		    WTERMSIG(status));
	r->reaped = 1;
	/* answers already sent are still read; the socket's EOF ends it */
	return 1;
}

int
broker_resolver_due(const struct broker_resolver *r, uint64_t now)
{
	size_t i;

	for (i = 0; r != NULL && i < BROKER_RES_INFLIGHT_MAX; i++)
		if (r->v[i].id != 0 && r->v[i].owner != NULL &&
		    now >= r->v[i].deadline_ms)
			return 1;
	return 0;
}

void
broker_resolver_tick(struct broker_resolver *r, uint64_t now)
{
	struct broker_res_answer a;
	size_t i;
	void *owner;

	if (r == NULL)
		return;
	for (i = 0; i < BROKER_RES_INFLIGHT_MAX; i++) {
		if (r->v[i].id == 0 || now < r->v[i].deadline_ms)
			continue;
		owner = r->v[i].owner;
		memset(&a, 0, sizeof(a));
		a.id = r->v[i].id;
		(void)snprintf(a.err, sizeof(a.err), "name lookup timed out");
		/*
		 * The slot stays taken, owner gone, until the resolver
		 * answers (its thread holds one of the resolver's places
		 * as long); the late answer is then dropped.  One that has
		 * not come after BROKER_RES_STALE_MS is given up.
		 */
		if (owner == NULL) {
			if (now >= r->v[i].deadline_ms + BROKER_RES_STALE_MS)
				memset(&r->v[i], 0, sizeof(r->v[i]));
			continue;
		}
		r->v[i].owner = NULL;
		pv_warn("resolver: lookup of %s timed out after %d ms",
		    r->v[i].host, BROKER_RES_DEADLINE_MS);
		r->done(r->ctx, owner, &a);
	}
}

void
broker_resolver_free(struct broker_resolver *r)
{
	int status;

	if (r == NULL)
		return;
	if (getpid() != r->owner_pid) {
		broker_resolver_forget(r);
		free(r);
		return;
	}
	if (r->fd >= 0) {
		if (r->watch != NULL)
			r->watch(r->ctx, r->fd, 0);
		(void)close(r->fd);
	}
	if (r->pid > 0 && !r->reaped) {
		(void)kill(r->pid, SIGKILL);
		while (waitpid(r->pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	free(r);
}

void
broker_resolver_forget(struct broker_resolver *r)
{
	if (r == NULL)
		return;
	if (r->fd >= 0)
		(void)close(r->fd);
	r->fd = -1;
	r->pid = -1;
}
