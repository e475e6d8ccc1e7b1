/*
 * monitor.h: the privileged monitor's own parts (provostd's parent): the
 * store backend, one monitor state per session process, the menu.  Nothing
 * under broker/monitor/ includes a broker/session/ header.
 */
#ifndef PROVOST_BROKER_MONITOR_MONITOR_H
#define PROVOST_BROKER_MONITOR_MONITOR_H

#include <stdint.h>
#include <sys/types.h>

#include "broker/broker.h"

struct pv_config;
struct policy;
struct store;
/* menu.c: list, request, status, help for a plain ENGINEER login. */
struct store_veto;
struct broker_menu_ctx {
	struct store *st;
	const struct policy *pol;
	/* store_decide's veto (the plugins), or NULL */
	int (*veto)(void *ctx, const struct store_veto *v, char *reason,
	    size_t reasonlen);
	void *veto_ctx;
	const char *source; /* the engineer's address, for the veto */
};
int broker_menu_run(const struct broker_menu_ctx *mc, const char *engineer,
    const char *command, int64_t now, struct pv_buf *out);
/*
 * Splits a menu command line as sh would (no expansion) into argv; the
 * count, or -1 (too many words, an open quote, a trailing backslash).
 */
int broker_menu_split(char *line, char **argv, int max);
/*
 * A --reason's words, argv[from] up to the next --option, joined by
 * blanks into *out (malloc'd); *next is where it stopped.
 */
int broker_menu_reason(char **argv, int from, int argc, char **out, int *next);
/*
 * menu_approver.c: pending, approve, deny for an approver the monitor
 * signed in (key and code) from addr in session; never an engineer.
 */
int broker_menu_approver_run(const struct broker_menu_ctx *mc,
    const char *approver, const char *addr, const char *session_id,
    const char *command, int64_t now, struct pv_buf *out);
/*
 * What the approvers' menu does to live sessions, through the control
 * side's table (the daemon's, set on each session's monitor state): watch
 * session id (the socket goes to the approver's session process apid over
 * its link), end it.  0, or err says why not.
 */
struct broker_menu_live {
	int (*watch)(void *ctx, const char *approver, const char *addr,
	    pid_t apid, const char *asid, const char *id, char *err,
	    size_t errlen);
	int (*end)(void *ctx, const char *approver, const char *addr,
	    const char *id, const char *reason, char *err, size_t errlen);
	void *ctx;
};
/* Not a command of broker_menu_approver_live: the store's menu answers. */
#define BROKER_MENU_NOT_LIVE (-1000)
/*
 * watch ID, moderate ID (the same: watching is moderating for an approver
 * of the session's Moderated group) and end ID [--reason R] for approver,
 * signed in from addr in session asid (process apid): the exit status
 * (0: watching, the stream comes over the link), or BROKER_MENU_NOT_LIVE.
 */
int broker_menu_approver_live(const struct broker_menu_live *lv,
    const char *approver, const char *addr, pid_t apid, const char *asid,
    const char *command, struct pv_buf *out);
/*
 * May engineer know of target t: could a rule or grant open one of its
 * accounts now (what list shows)?  PV_ALLOW, PV_DENY or a store error.
 */
struct store_target;
int broker_target_visible(struct store *st, const struct policy *pol,
    const char *engineer, const struct store_target *t, int64_t now);
/* backend_store.c: the governance store and the policy. */
int broker_backend_store_new(
    const struct pv_config *conf, EVP_PKEY *ca, struct broker_backend *out);
/*
 * The store closed (before daemon(): reopened on use).  A session's fork
 * keeps it open: the forked process lets go of it with _forget.
 */
int broker_backend_store_detach(struct broker_backend *bk);
struct policy;
int broker_backend_store_reload(
    struct broker_backend *bk, struct policy *pol, const char *detail);
/*
 * The plugin host every decision asks from now on (the backend owns it);
 * plugins get the audit rows appended from now on as events, handed on by
 * broker_backend_store_events once a poll round.
 */
struct plugin_host;
int broker_backend_store_set_plugins(
    struct broker_backend *bk, struct plugin_host *h);
int broker_backend_store_events(struct broker_backend *bk);
/* A plugin's audit row (plugin_host_opts.audit; ctx the backend). */
int broker_backend_store_plugin_audit(void *ctx, const char *plugin,
    const char *action, const char *object, const char *details_json);
/* In the plugin host's process: the audit and token keys freed (wiped). */
void broker_backend_store_wipe_keys(struct broker_backend *bk);
/*
 * In a session process: the keys wiped and the monitor's store let go of
 * (store_forget: no descriptor of it, no mapping, no call into it).  Not
 * for a process that opens the store itself (the plugin host): SQLite
 * there would find the connection's unmapped -shm in its inode list.
 */
void broker_backend_store_forget(struct broker_backend *bk);
/* At start-up: sessions a crash left open are marked aborted. */
int broker_backend_store_recover(struct broker_backend *bk);
/* The monitor's store handle (opened if need be); NULL: none. */
struct store *broker_backend_store_handle(struct broker_backend *bk);

/*
 * lease.c: this provostd's lease under BrokerName in the shared store,
 * and the sweep that aborts the rows of brokers whose lease expired.
 */
struct broker_lease {
	char name[65]; /* STORE_NAME_MAX + 1 */
	char holder[PV_UUID_LEN + 1];
	char host[256];
	int64_t duration_ms;
	int64_t expires_ms; /* wall clock, as the store keeps it */
	uint64_t renew_due; /* monotonic */
	uint64_t reap_due;
	int lost;
	int taken;  /* the renewal found the name held by another holder */
	int others; /* other brokers' running leases, at the last look */
};
int broker_lease_take(struct broker_lease *l, struct broker_backend *bk,
    const struct pv_config *conf);
/*
 * From the monitor's loop; does nothing until something is due.  1: the
 * lease expired without a renewal (fail closed: end every session).
 */
int broker_lease_tick(struct broker_lease *l, struct broker_backend *bk);

/*
 * leg.c: a TCP connection to host:port for a session's target leg,
 * started without waiting: *fd is non-blocking, its connect done or under
 * way.  A host name is not resolved here: BROKER_LEG_NAME says so (the
 * resolver process answers, then broker_leg_connect_addrs).  PV_ERR_IO
 * (every address failed at once), why says how in one line.
 */
#define BROKER_LEG_NAME 1
int broker_leg_connect(
    const char *host, uint16_t port, int *fd, char *why, size_t whylen);
struct broker_res_answer;
int broker_leg_connect_addrs(const struct broker_res_answer *a, uint16_t port,
    int *fd, char *why, size_t whylen);

/* monitor_srv.c: the monitor's side, one per session process. */
struct broker_mon_child;
struct rec_recipients;
/* rs: the RecordingRecipient keys the monitor wraps each data key to. */
int broker_monsrv_new(const struct pv_config *conf, struct broker_backend *bk,
    const struct rec_recipients *rs, pid_t pid, int sock,
    const char *session_id, const char *client_addr,
    struct broker_mon_child **out);
/*
 * Takes one request of a child whose socket is readable and builds its
 * answer, kept until broker_monsrv_answer: 0, PV_ERR_CLOSED (the child
 * closed its end), or PV_ERR_PROTOCOL (malformed or out of order: the
 * child was killed, the violation logged and audited).
 */
int broker_monsrv_take(struct broker_mon_child *c);
/* Has the monitor a handler for requests of this type?  (For tests.) */
int broker_monsrv_handles(int type);
/* Is an answer waiting to be sent? */
int broker_monsrv_pending(const struct broker_mon_child *c);
/* Sends it; lost: the store did not keep the batch, send an error. */
int broker_monsrv_answer(struct broker_mon_child *c, int lost);
int broker_monsrv_sock(const struct broker_mon_child *c);
/*
 * The epoll set the daemon put the socket in: it is taken out of it
 * before it is closed (a forked copy would keep it in).  -1: in none,
 * which a forked session process sets before freeing the others.
 */
void broker_monsrv_set_epoll(struct broker_mon_child *c, int epfd);
pid_t broker_monsrv_pid(const struct broker_mon_child *c);
/*
 * Who the session is, from the monitor's own state: the engineer once
 * authenticated ("" before), the target, account and classification once
 * its row is open ("" before).  1 when it changed since the last call.
 */
struct broker_mon_identity {
	const char *engineer;
	const char *target;
	const char *account;
	const char *classification;
	const char *moderated; /* Moderated GROUP of its decision, "" */
};
int broker_monsrv_identity(
    struct broker_mon_child *c, struct broker_mon_identity *out);
/*
 * Whether a moderator watches the session now (the control side's own
 * watcher table): a decision with a Moderated group gets no certificate
 * or token without one, whatever the process says.
 */
void broker_monsrv_set_moderator(struct broker_mon_child *c, int on);
/*
 * The resolver process the monitor asks for a target stored by host name
 * (NULL: none, such a target cannot be reached).  Its answer for c comes
 * to broker_monsrv_resolved, which builds the answer to send (pending).
 */
struct broker_resolver;
struct broker_res_answer;
void broker_monsrv_set_resolver(
    struct broker_mon_child *c, struct broker_resolver *res);
void broker_monsrv_resolved(
    struct broker_mon_child *c, const struct broker_res_answer *ans);
/* What an approver's menu may do to live sessions (NULL: nothing). */
void broker_monsrv_set_live(
    struct broker_mon_child *c, const struct broker_menu_live *live);
/* Wrong codes since the last call (for the per-source penalty). */
unsigned int broker_monsrv_auth_fails(struct broker_mon_child *c);
const char *broker_monsrv_addr(const struct broker_mon_child *c);
/*
 * Once a poll round: a frame unfinished for 5 s, or no authentication
 * LoginGraceTime (+2 s) after the fork, gets the process killed.  1 if it
 * was.
 */
int broker_monsrv_tick(struct broker_mon_child *c, uint64_t now);
/*
 * 1 when the last tick hashed a whole step of the recording: the monitor
 * ticks again in 100 ms rather than waiting up to a second.
 */
int broker_monsrv_hash_behind(const struct broker_mon_child *c);
const char *broker_monsrv_id(const struct broker_mon_child *c);
/*
 * The monitor's own revocation check of a live session, from what the
 * monitor approved (never the child's word): 1 (why filled) when its
 * engineer, their provider, its grant or the session itself was revoked
 * since the last check, 0 if not, < 0 if the store could not say.
 * none: the scan's one query found no revocation of anyone after
 * before (up to head): a session checked up to before is then moved on
 * to head without a query of its own.
 */
int broker_monsrv_revoked(struct broker_mon_child *c, int none, uint64_t before,
    uint64_t head, char *why, size_t whylen);
/* A session row is open and the session has not ended. */
int broker_monsrv_live(const struct broker_mon_child *c);
int broker_monsrv_recheck(struct broker_mon_child *c, char *why, size_t whylen);
/*
 * The child was reaped: a session row it left open is marked aborted, with
 * the bytes its last reports gave.
 */
void broker_monsrv_reaped(struct broker_mon_child *c, int status,
    uint64_t bytes_in, uint64_t bytes_out);
void broker_monsrv_free(struct broker_mon_child *c);
/*
 * In a forked session process, another session's state: its descriptors
 * closed, its pages unmapped (gone from this process without a copy).
 */
void broker_monsrv_forget(struct broker_mon_child *c);

#endif /* PROVOST_BROKER_MONITOR_MONITOR_H */
