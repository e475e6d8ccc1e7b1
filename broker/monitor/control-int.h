/*
 * control-int.h: what control.c (the table, limits, staleness) and
 * control_cmd.c (the control socket's requests) share.
 */
#ifndef PROVOST_BROKER_MONITOR_CONTROL_INT_H
#define PROVOST_BROKER_MONITOR_CONTROL_INT_H

#include <stdint.h>
#include <sys/types.h>

#include "broker/monitor/control.h"
#include "broker/broker.h"
#include "common/common.h"

/* One session process, as its reports describe it. */
struct ctl_child {
	pid_t pid;
	int fd; /* the link; -1 once closed */
	char addr[64];
	char id[PV_UUID_LEN + 1];
	char engineer[BROKER_LOGIN_MAX + 1];
	char target[BROKER_TARGET_MAX + 1];
	char account[BROKER_ACCOUNT_MAX + 1];
	char classification[64];
	int authenticated;
	int known; /* admitted from a known-good source (its own pool) */
	int ending;
	uint64_t end_told_ms; /* told to end (kill, revoke, stale); 0: not */
	int end_killed;       /* ... and SIGKILLed for not ending in time */
	int64_t start;        /* unix seconds */
	uint64_t bytes_in, bytes_out;
	int64_t active_ms;  /* wall clock of the last byte relayed */
	char moderated[64]; /* Moderated GROUP of its decision, "" */
	int mod_told;       /* last told: 1 a moderator watches, 0 not, -1 */
};

/*
 * Per source (an address, an IPv6 /64): authentication failures
 * (PerSourcePenalty), and when an engineer last got in from it.
 */
struct ctl_source {
	char addr[64];
	uint32_t failures;
	int64_t last_ms;
	int refused_noted;
	int64_t good_ms; /* last authentication from it (wall ms), 0: none */
};

/*
 * A watcher (provostctl session watch): the monitor keeps its own copy of
 * the socket it passed to the session process, to see the watcher go
 * (hang-up) whatever the session process says; following (pid 0): waits
 * for the engineer's next session.
 */
struct ctl_watcher {
	int fd;
	pid_t pid; /* the session process watched; 0: following */
	char id[PV_UUID_LEN + 1];
	char actor[160]; /* who, from SO_PEERCRED (and root's claim) */
	char follow[BROKER_ENGINEER_MAX + 1];
	long peer_pid;
	unsigned int peer_uid;
	int moderator;     /* an approver of the session's Moderated group */
	uint64_t since_ms; /* monotonic, at attach */
	/*
	 * An approver signed in to the broker (key and code, the monitor's
	 * own record) who watches from the approvers' menu: "" for a local
	 * watcher.  from: their address; via: their own session.
	 */
	char approver[65];
	char from[64];
	char via[PV_UUID_LEN + 1];
	/* at the menu: its session process, not provostctl, reads the stream */
	int view;
};

struct policy;
struct broker_ctl {
	struct broker_ctx *bx;
	int lfd;
	struct ctl_child *kids;
	size_t nkids, kidcap;
	struct ctl_source *src;
	size_t nsrc, srccap;
	int epfd; /* the monitor's epoll set (broker_ctl_wait) */
	/* a link's descriptor -> 1 + its index in kids (0: none) */
	size_t *linkidx;
	size_t linkcap;
	uint64_t overdue_next_ms;
	struct policy *pol;
	int stale_rank; /* sessions at this rank and above end when stale */
	int stale;
	uint64_t store_ok_ms, store_next_ms;
	uint64_t anchor_seq;     /* the last audit anchor published */
	int anchor_loaded;       /* anchor_seq read from the state directory */
	uint64_t revoke_next_ms; /* the monitor's revocation scan */
	int revoke_now;          /* a revoke nudged us: scan at once */
	int store_fd;            /* the store's socket in the set, or -1 */
	uint64_t store_gen;      /* ... of this connection of the store */
	uint64_t drops, drop_log_ms;
	/* the verdict for the connection being forked */
	int pending_fd;
	uint32_t verdict_delay_ms;
	int verdict_known;  /* the connection being forked is known-good */
	int sources_loaded; /* known-good sources read from the store */
	char verdict_refuse[192];
	struct ctl_watcher *watchers;
	size_t nwatchers, watchcap;
};

/* control_cmd.c: one request on the control socket (accepts it). */
void broker_ctl_serve(struct broker_ctl *c, int lfd);
/*
 * control_watch.c: a watch (id) or follow (follow: an engineer's next
 * session) request from the control socket's fd: 0 when fd is the
 * watcher's from now on (answered, kept), else err says why (the caller
 * answers).  The watchers' poll slots (hang-ups), a session's new identity
 * (followers attach), a session gone (its watchers detach).
 */
int broker_ctl_watch(struct broker_ctl *c, int fd, const char *actor,
    long peer_pid, unsigned int peer_uid, const char *id, const char *follow,
    char *err, size_t errlen);
/*
 * The same for a watcher who proves to be approver with her current code
 * (provostctl session watch --as): only such a watcher, or an approver
 * signed in at the broker's menu, moderates.  The code is checked as at
 * the menu (each time step once); a wrong one refuses the watch.
 */
int broker_ctl_watch_as(struct broker_ctl *c, int fd, const char *actor,
    long peer_pid, unsigned int peer_uid, const char *id, const char *follow,
    const char *approver, const char *code, char *err, size_t errlen);
/* A watcher's socket hung up (or failed): it is dropped. */
void broker_ctl_watch_hangup(struct broker_ctl *c, int fd);
void broker_ctl_watch_identity(struct broker_ctl *c, struct ctl_child *k);
void broker_ctl_watch_gone(struct broker_ctl *c, struct ctl_child *k);
void broker_ctl_watch_free(struct broker_ctl *c);
/* Marks k's watchers that are approvers of its Moderated group. */
void broker_ctl_watch_rate(struct broker_ctl *c, struct ctl_child *k);
/* Tells k whether a moderator watches it, when that changed. */
void broker_ctl_watch_moderation(struct broker_ctl *c, struct ctl_child *k);
void broker_ctl_audit(struct broker_ctl *c, const char *id, const char *event,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* control.c: the epoll set's own kinds, beside enum broker_ev_kind */
#define CTL_EV_CONTROL 16
#define CTL_EV_LINK 17
#define CTL_EV_WATCHER 18
#define CTL_EV_STORE 19 /* the store's announcements (LISTEN) */
int broker_ctl_ev_add_kind(
    struct broker_ctl *c, int kind, int fd, uint32_t events);
/* control.c */
struct ctl_child *broker_ctl_find(
    struct broker_ctl *c, const char *id, int *ambiguous);
int broker_ctl_tell(struct ctl_child *k, const char *msg);
int broker_ctl_end(struct broker_ctl *c, struct ctl_child *k, const char *event,
    const char *actor, const char *reason);
void broker_ctl_nudge(struct broker_ctl *c);

#endif /* PROVOST_BROKER_MONITOR_CONTROL_INT_H */
