/*
 * resolver.h: the monitor's name resolver, a process of its own that
 * answers "resolve HOST PORT" so that the monitor never waits in
 * getaddrinfo; one fixed-layout message each way over a SOCK_SEQPACKET
 * socketpair, every answer checked strictly by the monitor.
 */
#ifndef PROVOST_BROKER_MONITOR_RESOLVER_H
#define PROVOST_BROKER_MONITOR_RESOLVER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define BROKER_RES_HOST_MAX 255 /* MON_HOST_MAX */
#define BROKER_RES_ADDRS_MAX 8
#define BROKER_RES_ERR_MAX 120
/* Lookups the resolver runs at once; beyond, it answers with an error. */
#define BROKER_RES_INFLIGHT_MAX 32
/* A lookup not answered in this long fails (no ConnectTimeout exists). */
#define BROKER_RES_DEADLINE_MS 10000
/*
 * A lookup that timed out keeps its place until the resolver answers (its
 * thread holds one there too), at most this long.
 */
#define BROKER_RES_STALE_MS 120000
/* A resolver that ended is started again at most this often. */
#define BROKER_RES_RESTART_MS 1000

/*
 * The layout, all integers big-endian:
 *   query:  u8 'Q', u32 id (not 0), u16 port, u8 hostlen (1..255),
 *           host[hostlen] (printable, no NUL)
 *   answer: u8 'A', u32 id, u8 naddr (0..8), u8 errlen (0..120),
 *           naddr x (u8 family 4 or 6, 16 bytes of address: an IPv4
 *           address in the first 4, the rest 0), err[errlen] (printable)
 * exactly one of naddr and errlen is not 0, and the length is exact.
 */
#define BROKER_RES_QUERY 'Q'
#define BROKER_RES_ANSWER 'A'
#define BROKER_RES_QUERY_MAX (8 + BROKER_RES_HOST_MAX)
#define BROKER_RES_ANSWER_MAX \
	(7 + 17 * BROKER_RES_ADDRS_MAX + BROKER_RES_ERR_MAX)

struct broker_res_addr {
	int family; /* AF_INET or AF_INET6 */
	uint8_t addr[16];
};

struct broker_res_answer {
	uint32_t id;
	unsigned int naddr;
	struct broker_res_addr addr[BROKER_RES_ADDRS_MAX];
	char err[BROKER_RES_ERR_MAX + 1]; /* "" when naddr > 0 */
};

/*
 * A message of the resolver, checked field by field: 0, or
 * PV_ERR_PROTOCOL with why in one line.
 */
int broker_res_answer_parse(const uint8_t *p, size_t len,
    struct broker_res_answer *out, char *why, size_t whylen);
/* Its encoding (the resolver's side, and tests): the length, or < 0. */
int broker_res_answer_build(
    const struct broker_res_answer *a, uint8_t *p, size_t cap, size_t *len);

struct broker_resolver;
/*
 * In the new resolver process, before anything else: what it must not
 * keep of the monitor's (keys freed, other state forgotten) and the drop
 * to the SandboxUser.  Not 0: the process exits.
 */
typedef int (*broker_res_scrub_fn)(void *ctx);
/*
 * What the monitor gets for each lookup, once: the answer (its naddr 0
 * and err set for a failure, the resolver's or the monitor's own).
 */
typedef void (*broker_res_done_fn)(
    void *ctx, void *owner, const struct broker_res_answer *a);
/*
 * The socket goes into the caller's epoll set (on 1) when a process
 * starts, and out of it (on 0) before it is closed.
 */
typedef void (*broker_res_watch_fn)(void *ctx, int fd, int on);

/* Starts the process (its pid and socket kept in *out). */
int broker_resolver_new(broker_res_scrub_fn scrub, void *scrub_ctx,
    broker_res_done_fn done, broker_res_watch_fn watch, void *ctx,
    struct broker_resolver **out);
/* The socket for the epoll set (-1: none now); its pid (-1: none). */
int broker_resolver_fd(const struct broker_resolver *r);
pid_t broker_resolver_pid(const struct broker_resolver *r);
/*
 * Asks for host:port on owner's behalf; *id names the lookup.  A
 * resolver that ended is started again first (once a second at most).
 * 0, or an error with why in one line (then no lookup is in flight).
 */
int broker_resolver_ask(struct broker_resolver *r, const char *host,
    uint16_t port, void *owner, uint32_t *id, char *why, size_t whylen);
/* The owner is gone: its answer, when it comes, is dropped. */
void broker_resolver_cancel(struct broker_resolver *r, uint32_t id);
/*
 * The socket is readable: every answer waiting is checked and handed to
 * done.  A malformed answer or an unknown id is refused and logged; an
 * ended process fails every lookup in flight (and is killed, reaped by
 * the caller's waitpid).  1 when the process ended (its fd is gone).
 */
int broker_resolver_read(struct broker_resolver *r);
/* The caller's waitpid found pid: 1 if it was the resolver. */
int broker_resolver_reaped(struct broker_resolver *r, pid_t pid, int status);
/* Has a lookup in flight passed its deadline? */
int broker_resolver_due(const struct broker_resolver *r, uint64_t now);
/* Lookups in flight whose deadline passed fail ("name lookup timed out"). */
void broker_resolver_tick(struct broker_resolver *r, uint64_t now);
/* Kills and reaps the process; NULL does nothing. */
void broker_resolver_free(struct broker_resolver *r);
/* In a forked session process: the socket closed, nothing else done. */
void broker_resolver_forget(struct broker_resolver *r);

#endif /* PROVOST_BROKER_MONITOR_RESOLVER_H */
