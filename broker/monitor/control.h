/*
 * control.h: the monitor's live-session table, its control socket, pre-auth
 * limits and store staleness (control.c); session processes report to it
 * over their link (session/link.c).
 */
#ifndef PROVOST_BROKER_MONITOR_CONTROL_H
#define PROVOST_BROKER_MONITOR_CONTROL_H

#include <stdint.h>
#include <sys/types.h>

#define BROKER_CTL_LINE_MAX 4096
#define BROKER_CTL_REASON_MAX 80

struct broker_ctx;
struct broker_ctl;

/*
 * The daemon side.  _new opens ControlSocket (0600; refuses a group- or
 * world-writable directory or a non-socket in the way).
 */
int broker_ctl_new(struct broker_ctx *bx, struct broker_ctl **out);
void broker_ctl_free(struct broker_ctl *c);
/*
 * The monitor waits on one epoll set: the control socket, every session
 * link and watcher (served here), and the daemon's own descriptors, added
 * with broker_ctl_ev_add under a kind: what is ready of those comes back
 * from broker_ctl_wait.  A wake-up costs what is ready, not the number
 * of sessions.
 */
enum broker_ev_kind {
	BROKER_EV_LISTEN = 1,   /* a listener */
	BROKER_EV_MONITOR = 2,  /* a session process's monitor socket */
	BROKER_EV_RESOLVER = 3, /* the resolver process's socket */
};
struct broker_ev {
	int kind;
	int fd;
	uint32_t events; /* EPOLLIN, EPOLLHUP, ... */
};
int broker_ctl_ev_add(struct broker_ctl *c, int kind, int fd);
/* Before fd is closed (a closed one leaves the set by itself only once
 * no forked copy of it is left). */
void broker_ctl_ev_del(struct broker_ctl *c, int fd);
/* The set, for broker_monsrv_set_epoll; -1 in a forked session process. */
int broker_ctl_epfd(const struct broker_ctl *c);
/*
 * Waits up to ms; serves control requests, child reports and watchers'
 * hang-ups, polls the store every second; fills ev with at most max of
 * the daemon's ready descriptors.  Returns their number, or -1.
 */
int broker_ctl_wait(
    struct broker_ctl *c, struct broker_ev *ev, int max, int ms);
/*
 * An accepted connection from addr: PV_DENY to drop it (MaxStartups,
 * PerSourceMaxStartups, PerSourcePenalty), else PV_ALLOW with *child_fd
 * the session's end of a new link.
 */
int broker_ctl_admit(
    struct broker_ctl *c, const char *addr, const char *peer, int *child_fd);
/*
 * In the parent after fork; pid -1 if the fork failed.  id is the session
 * id the monitor made: the control side learns who a session is only
 * from the monitor (broker_ctl_child_identity), never from the process.
 */
void broker_ctl_child_add(
    struct broker_ctl *c, pid_t pid, const char *addr, const char *id);
/*
 * What the monitor approved of session process pid: the authenticated
 * engineer (NULL: not yet), and once its row is open the target, account
 * and classification (NULL: not yet).
 */
void broker_ctl_child_identity(struct broker_ctl *c, pid_t pid,
    const char *engineer, const char *target, const char *account,
    const char *classification);
/*
 * The Moderated GROUP the monitor decided for session process pid ("" or
 * NULL: none): it runs only while a member of GROUP watches.
 */
void broker_ctl_child_moderated(
    struct broker_ctl *c, pid_t pid, const char *group);
/* Does a moderator watch session process pid now? 1 or 0. */
int broker_ctl_moderator_on(struct broker_ctl *c, pid_t pid);
/*
 * An approver's watch from the approvers' menu (control_watch.c): a
 * socket pair, one end watching session id as any watcher does, the other
 * passed to the approver's own session process apid over its link
 * ("V\tID\tENGINEER\tACCOUNT\tTARGET" and the descriptor).  0, or err
 * says why not.
 */
int broker_ctl_watch_approver(struct broker_ctl *c, const char *approver,
    const char *addr, pid_t apid, const char *asid, const char *id, char *err,
    size_t errlen);
/*
 * An approver ends session id: only one who moderates it (an approver of
 * its Moderated group).  0, or err says why not.
 */
int broker_ctl_end_approver(struct broker_ctl *c, const char *approver,
    const char *addr, const char *id, const char *reason, char *err,
    size_t errlen);
/* status as waitpid(2) gave it: a signalled child's session row is aborted. */
void broker_ctl_child_gone(
    struct broker_ctl *c, pid_t pid, uint64_t *bytes_in, uint64_t *bytes_out);
/*
 * n authentication failures from addr (PerSourcePenalty; an IPv6 address
 * counts for its /64): from the monitor's own answers (codes) and the
 * session process's reports (keys).
 */
void broker_ctl_auth_failed(
    struct broker_ctl *c, const char *addr, unsigned int n);
/* provostd is stopping: every session process is told to end (reason). */
void broker_ctl_stop(struct broker_ctl *c, const char *reason);
/*
 * The monitor's own revocation scan: due once a second, and at once after
 * a revoke nudged the daemon (then cleared).
 */
int broker_ctl_revoke_due(struct broker_ctl *c);
/*
 * Ends the live session ID like a kill (the engineer reads why; killed if
 * it has not ended 10 s later), audited as event: session.revoked for the
 * revocation scan, session.policy for a reload's recheck.
 */
void broker_ctl_ended(
    struct broker_ctl *c, const char *id, const char *event, const char *why);
/* A reloaded policy (owned from now on): the stale-store ranks. */
struct policy;
void broker_ctl_set_policy(struct broker_ctl *c, struct policy *pol);
/* In the child after fork: closes every descriptor of the daemon's side. */
void broker_ctl_forget(struct broker_ctl *c);

/*
 * The admission verdict for the connection being forked (a delay, a
 * refusal to show after key exchange): the session's link carries it.
 */
void broker_ctl_verdict(
    const struct broker_ctl *c, uint32_t *delay_ms, const char **refuse);

#endif /* PROVOST_BROKER_MONITOR_CONTROL_H */
