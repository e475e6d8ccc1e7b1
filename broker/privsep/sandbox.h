/*
 * sandbox.h: the seccomp sandbox a provostd process enters once it
 * holds every descriptor it will need (one libseccomp filter per role).
 */
#ifndef PROVOST_BROKER_PRIVSEP_SANDBOX_H
#define PROVOST_BROKER_PRIVSEP_SANDBOX_H

#include <stddef.h>

#include "broker/broker.h"

/*
 * Process roles, each with its own allow-list.  The session process is the
 * network-facing child: after its client and target sockets, the monitor
 * socket and the recording fd are open, it only relays, records and asks.
 */
enum broker_sandbox_role {
	BROKER_SANDBOX_SESSION = 1,
	/*
	 * From the privilege drop until SESSION: key exchange and
	 * authentication of an unauthenticated client, the target's TCP
	 * connect, the recorder's threads.  SESSION is stacked on it later
	 * (both filters apply; the narrower wins).
	 */
	BROKER_SANDBOX_PREAUTH = 2,
};

/*
 * RLIMIT_NOFILE leaves exactly this many free descriptor numbers: room for
 * a passed fd or two, and one socket per live watcher (BROKER_WATCH_MAX
 * in broker/broker.h: the monitor passes no more), nothing more.
 */
#define BROKER_SANDBOX_NOFILE_MARGIN (2 + BROKER_WATCH_MAX)
/* preauth: the target socket, the recording, libc's files, sockets. */
#define BROKER_SANDBOX_PREAUTH_NOFILE_MARGIN 32

/*
 * Enters the sandbox for role, for every thread of the process (TSYNC):
 * rlimits (no core, no new processes, at most NOFILE_MARGIN new
 * descriptors; file size left
 * as it is), PR_SET_NO_NEW_PRIVS, PR_SET_DUMPABLE 0, then the filter
 * (native architecture only, default: kill the process with SIGSYS).
 * 0, or PV_ERR_* with one line in err; on error the caller must not go on
 * unconfined (fail closed: end the session).
 */
int broker_sandbox_enter(
    enum broker_sandbox_role role, char *err, size_t errlen);

/* Only the rlimit step of broker_sandbox_enter (for tests and the monitor). */
int broker_sandbox_rlimits(
    enum broker_sandbox_role role, char *err, size_t errlen);

/*
 * Debug: the role's filter as libseccomp pseudo-filter code (PFC) in a
 * NUL-terminated string the caller frees; nothing is loaded.
 */
int broker_sandbox_export_pfc(enum broker_sandbox_role role, char **out);

/* "session", "preauth", or NULL for an unknown role. */
const char *broker_sandbox_role_name(enum broker_sandbox_role role);

#endif /* PROVOST_BROKER_PRIVSEP_SANDBOX_H */
