/*
 * plugins.h: the loader provostd and provostctl use: dlopen each Plugin
 * line's object, check its ABI, and call the hooks fail-closed.
 */
#ifndef PROVOST_PLUGINS_H
#define PROVOST_PLUGINS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "plugins/provost_plugin.h"

struct plugin_set;

struct plugin_set *plugin_set_new(const struct provost_plugin_host *host);
/* Unloads every plugin (fini first); NULL is a no-op. */
void plugin_set_free(struct plugin_set *set);
/*
 * Loads PATH and calls its init with CONFIG.  Refused: not a regular file
 * owned by root or the caller, group/world-writable, no provost_plugin_v1,
 * wrong type, another major version, missing init, or init failing.
 */
int plugin_set_load(struct plugin_set *set, const char *path,
    const char *config, char *err, size_t errlen);
size_t plugin_set_count(const struct plugin_set *set);
/*
 * Each plugin gets the host functions with its own ctx: the name of the
 * plugin calling one of them.
 */
const char *plugin_name_of(const void *ctx);
/*
 * Asks every plugin with check_access: PV_ALLOW only if all allow.  A
 * plugin that denies or errs decides (deny); reason names it.  On
 * PV_ALLOW, reason holds the plugins' notices for the engineer (the
 * notice hook, ABI 1.2), printable ASCII, or is empty.
 */
int plugin_set_check_access(struct plugin_set *set,
    const struct provost_access *access, char *reason, size_t reasonlen);
/*
 * Delivers an event to every plugin; one that errs is switched off.  0,
 * or -1 when one erred (err, when not NULL, names the first).
 */
int plugin_set_event(struct plugin_set *set, const struct provost_event *event,
    char *err, size_t errlen);
/*
 * Asks each plugin with a report hook, in order, for the report what
 * ("contract --provider acme"): 1 the first that wrote it, 0 none makes
 * it, -1 one failed (err says which and why).
 */
int plugin_set_report(struct plugin_set *set, FILE *out, const char *what,
    char *err, size_t errlen);

/*
 * The plugin host (host.c): the plugins run in a process of their own,
 * forked by plugin_host_start, so that a crash or a hang takes down only
 * that process.  Every question to a host that crashed, hangs past
 * timeout_ms or cannot be restarted is answered deny.
 */
struct plugin_spec {
	const char *path;
	const char *config; /* NULL: none */
};
struct plugin_host;
struct plugin_host_opts {
	unsigned int timeout_ms; /* a check's time limit */
	/*
	 * Run first in every new host's process (also on a restart): the
	 * caller wipes what plugins have no business with (keys).
	 */
	void (*scrub)(void *ctx);
	void *scrub_ctx;
	/* In the host's process: a plugin's query of the store (or NULL). */
	int (*query)(const void *ctx, const char *what, char **json_out,
	    char *err, size_t errlen);
	const void *query_ctx;
	/* In the caller's process: a plugin's audit row (or NULL: refused). */
	int (*audit)(void *ctx, const char *plugin, const char *action,
	    const char *object, const char *details_json);
	void *audit_ctx;
	/*
	 * In the caller's process: a plugin asks for provider's exit (or
	 * NULL: the request is logged).
	 */
	void (*exit)(void *ctx, const char *plugin, const char *provider,
	    const char *reason);
	void *exit_ctx;
};
/* Loads every plugin in a new host; err holds the one line on failure. */
int plugin_host_start(const struct plugin_spec *specs, size_t n,
    const struct plugin_host_opts *o, struct plugin_host **out, char *err,
    size_t errlen);
/* Kills the host (in the process that started it); NULL is a no-op. */
void plugin_host_free(struct plugin_host *h);
/*
 * PV_ALLOW (also when h is NULL: no plugins), reason then the plugins'
 * notice or empty; or PV_DENY with reason.
 */
int plugin_host_check(struct plugin_host *h, const struct provost_access *a,
    char *reason, size_t reasonlen);
/* Hands an event on; does not wait. */
void plugin_host_event(struct plugin_host *h, const struct provost_event *ev);
/*
 * Writes the report what to outfd: 0, PV_ERR_NOT_FOUND when no plugin
 * makes it, or another PV_ERR_* with err.
 */
int plugin_host_report(struct plugin_host *h, const char *what, int outfd,
    unsigned int timeout_ms, char *err, size_t errlen);
/*
 * exit due: every plugin gets PROVOST_EVENT_EXIT_DUE at now; the exits
 * they ask for reach o.exit before this returns 0.  PV_ERR_* with err
 * when the host cannot answer.
 */
int plugin_host_due(struct plugin_host *h, int64_t now, unsigned int timeout_ms,
    char *err, size_t errlen);
unsigned int plugin_host_count(const struct plugin_host *h);
/*
 * A query function for plugin_host_opts (host_store.c): ctx is the store's
 * file; the host's process opens its own connection on first use.
 */
int plugin_host_store_query(const void *ctx, const char *what, char **json_out,
    char *err, size_t errlen);
/* Handles what the host sent unasked (audit rows, exit requests). */
void plugin_host_poll(struct plugin_host *h);
/*
 * A host for the Plugin lines of c; *out stays NULL (and 0 is returned)
 * when there are none.
 */
struct pv_config;
int plugin_host_start_config(const struct pv_config *c,
    const struct plugin_host_opts *o, struct plugin_host **out, char *err,
    size_t errlen);
/* How long a check may take before the host is killed and it is denied. */
#define PLUGIN_CHECK_TIMEOUT_MS 2000
/* store_decide's veto over a host (ctx): plugin_host_check. */
struct store_veto;
int plugin_host_veto(
    void *ctx, const struct store_veto *v, char *reason, size_t reasonlen);

#endif /* PROVOST_PLUGINS_H */
