/*
 * provost_plugin.h: the versioned C ABI for contract, SLA and other policy
 * plugins, loaded with dlopen from Plugin lines.  Like sudo's: type and
 * version first, members only ever appended, the major must match.
 */
#ifndef PROVOST_PLUGIN_H
#define PROVOST_PLUGIN_H

#include <stdint.h>
#include <stdio.h>

#define PROVOST_PLUGIN_TYPE 0x70767374U /* "pvst" */
#define PROVOST_PLUGIN_MAJOR 1
#define PROVOST_PLUGIN_MINOR 4
#define PROVOST_PLUGIN_VERSION \
	((PROVOST_PLUGIN_MAJOR << 16) | PROVOST_PLUGIN_MINOR)
#define PROVOST_PLUGIN_VERSION_MAJOR(v) ((v) >> 16)
#define PROVOST_PLUGIN_VERSION_MINOR(v) ((v)&0xffff)

/* The one symbol a plugin exports. */
#define PROVOST_PLUGIN_SYMBOL "provost_plugin_v1"

/* Hook results: 1 allow / done, 0 deny, -1 error (with *errstr set). */
#define PROVOST_PLUGIN_ALLOW 1
#define PROVOST_PLUGIN_DENY 0
#define PROVOST_PLUGIN_ERROR (-1)

/*
 * What provost asks about before it lets an engineer in: channel is
 * "login", "shell", "exec", "sftp", "scp", "forward", "remote-forward"
 * (the broker), "list", "request" (a grant request) or "token" (a PAM
 * token).  Strings are never NULL except grant_id.
 */
struct provost_access {
	const char *engineer;
	const char *provider;
	const char *target;
	const char *classification;
	const char *account;
	const char *channel;  /* "shell", "exec", "sftp", ... */
	const char *grant_id; /* NULL for standing access */
	int64_t now;          /* unix seconds */
	/*
	 * Added in 1.3 (read only when the host's version is 0x10003 or
	 * more): the engineer's address as provostd's monitor saw the
	 * connection, or NULL for a decision that comes from no connection
	 * (provostctl).
	 */
	const char *source;
};

/* Event kinds: values are frozen (plugins switch on them). */
enum provost_event_kind {
	PROVOST_EVENT_GRANT = 1, /* requested, approved, denied, expired */
	PROVOST_EVENT_SESSION_START = 2,
	PROVOST_EVENT_SESSION_END = 3,
	PROVOST_EVENT_REVOKE = 4,
	PROVOST_EVENT_EXIT = 5, /* a provider's exit ran a step */
	/*
	 * Added in 1.4 (given only to plugins built against 1.4 or later):
	 * provost-exit.timer's daily "provostctl exit due" asks whose exit
	 * is due; a plugin answers by calling the host's request_exit for
	 * each such provider before on_event returns.  Only provider-less
	 * fields: time is set, the rest NULL.
	 */
	PROVOST_EVENT_EXIT_DUE = 6,
};

struct provost_event {
	enum provost_event_kind kind;
	int64_t time; /* unix seconds */
	const char *provider;
	const char *engineer;
	const char *target;
	const char *object_id;    /* grant, session or exit id */
	const char *details_json; /* canonical JSON, as in the audit chain */
};

/* What provost offers a plugin; check version before newer members. */
struct provost_plugin_host {
	unsigned int version;
	void *ctx;
	void (*log)(void *ctx, int level, const char *msg);
	/*
	 * Asks provost to start a provider's exit (contract plugin): heeded
	 * while the plugin handles PROVOST_EVENT_EXIT_DUE (provostctl exit
	 * due starts it when ExitOnContractEnd is yes), otherwise logged for
	 * the admin.  1 sent, -1 not.
	 */
	int (*request_exit)(
	    void *ctx, const char *provider, const char *reason);
	/* Added in 1.1: check version >= 0x10001 before use. */
	/*
	 * Appends a row to the audit chain, actor "plugin:NAME"; details is
	 * a JSON object or NULL.  1 appended (or queued for the monitor),
	 * -1 refused (errstr says why).
	 */
	int (*audit)(void *ctx, const char *action, const char *object,
	    const char *details_json, const char **errstr);
	/*
	 * A read-only question to the governance store: "providers",
	 * "engineers", "targets", "grants", "sessions" or "audit SEQ" (up
	 * to 1000 rows after SEQ); later also "action ACTION SEQ" (the
	 * rows of one action), "target NAME", "incidents
	 * PROVIDER FROM TO" and "outages FROM TO" (provost_plugin(3)).  1
	 * with *json_out a malloc'd JSON array (the caller frees it), -1
	 * with errstr.
	 */
	int (*query)(
	    void *ctx, const char *what, char **json_out, const char **errstr);
};

struct provost_plugin {
	unsigned int type;    /* PROVOST_PLUGIN_TYPE */
	unsigned int version; /* PROVOST_PLUGIN_VERSION built against */
	const char *name;
	/* 1 ready, -1 error.  config may be NULL. */
	int (*init)(const struct provost_plugin_host *host, const char *config,
	    void **state, const char **errstr);
	/* May only add restrictions: 1 no objection, 0 deny, -1 error. */
	int (*check_access)(void *state, const struct provost_access *access,
	    const char **errstr);
	/* 1 handled, -1 error (the hook is then switched off). */
	int (*on_event)(void *state, const struct provost_event *event,
	    const char **errstr);
	/*
	 * Writes the report what ("sla --month 2026-11", "contract") to out:
	 * 1 written, 0 not a report this plugin makes, -1 error.
	 */
	int (*report)(
	    void *state, FILE *out, const char *what, const char **errstr);
	void (*fini)(void *state);
	/*
	 * Added in 1.2 (read only from a plugin whose version's minor is 2
	 * or more; NULL: none).  Called right after check_access allowed
	 * the same access: a one-line notice for the engineer (the banner
	 * at login and in list), or NULL.  Not a decision: it cannot deny.
	 */
	const char *(*notice)(void *state, const struct provost_access *access);
	/* New members go here, after a minor version bump. */
};

typedef const struct provost_plugin *(*provost_plugin_entry)(void);

#endif /* PROVOST_PLUGIN_H */
