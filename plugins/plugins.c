/*
 * plugins.c: loading plugins with dlopen and calling their hooks.  Every
 * check is fail-closed: a plugin that cannot be loaded stops start-up, and
 * a check_access error denies.
 */
#include "config.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"
#include "plugins/plugins.h"

#define PLUGINS_MAX 16

struct plugin {
	void *handle;
	const struct provost_plugin *ops;
	/* the host's functions with this plugin as their ctx */
	struct provost_plugin_host api;
	void *state;
	char *path;
	int events_off; /* on_event failed once: switched off */
};

struct plugin_set {
	const struct provost_plugin_host *host;
	struct plugin p[PLUGINS_MAX];
	size_t n;
};

struct plugin_set *
plugin_set_new(const struct provost_plugin_host *host)
{
	struct plugin_set *set;

	if ((set = calloc(1, sizeof(*set))) == NULL)
		return NULL;
	set->host = host;
	return set;
}

void
plugin_set_free(struct plugin_set *set)
{
	size_t i;

	if (set == NULL)
		return;
	for (i = set->n; i > 0; i--) {
		struct plugin *pl = &set->p[i - 1];

		if (pl->ops->fini != NULL)
			pl->ops->fini(pl->state);
		dlclose(pl->handle);
		free(pl->path);
	}
	free(set);
}

const char *
plugin_name_of(const void *ctx)
{
	const struct plugin *pl = ctx;

	return pl != NULL && pl->ops != NULL ? pl->ops->name : "?";
}

size_t
plugin_set_count(const struct plugin_set *set)
{
	return set->n;
}

/* A plugin runs with the broker's privileges: only trusted files load. */
static int
plugin_file_ok(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (path[0] != '/') {
		(void)snprintf(
		    err, errlen, "%s: plugin path must be absolute", path);
		return 0;
	}
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
		(void)snprintf(err, errlen, "%s: not a regular file", path);
		return 0;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		(void)snprintf(err, errlen, "%s: owned by uid %u, not root",
		    path, (unsigned int)st.st_uid);
		return 0;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		(void)snprintf(
		    err, errlen, "%s: writable by group or others", path);
		return 0;
	}
	return 1;
}

int
plugin_set_load(struct plugin_set *set, const char *path, const char *config,
    char *err, size_t errlen)
{
	const struct provost_plugin *ops;
	provost_plugin_entry entry;
	const char *errstr = NULL;
	void *handle = NULL, *state = NULL;
	int r = PV_ERR_CONFIG;

	if (set->n == PLUGINS_MAX) {
		(void)snprintf(
		    err, errlen, "%s: more than %d plugins", path, PLUGINS_MAX);
		return PV_ERR_LIMIT;
	}
	if (!plugin_file_ok(path, err, errlen))
		return PV_ERR_PERM;
	if ((handle = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		(void)snprintf(err, errlen, "%s: %s", path, dlerror());
		return PV_ERR_CONFIG;
	}
	*(void **)&entry = dlsym(handle, PROVOST_PLUGIN_SYMBOL);
	if (entry == NULL || (ops = entry()) == NULL) {
		(void)snprintf(
		    err, errlen, "%s: no %s()", path, PROVOST_PLUGIN_SYMBOL);
		goto out;
	}
	if (ops->type != PROVOST_PLUGIN_TYPE) {
		(void)snprintf(err, errlen, "%s: not a provost plugin", path);
		goto out;
	}
	if (PROVOST_PLUGIN_VERSION_MAJOR(ops->version) !=
	    PROVOST_PLUGIN_MAJOR) {
		(void)snprintf(err, errlen,
		    "%s: plugin ABI %u.%u, provost speaks %d.%d", path,
		    PROVOST_PLUGIN_VERSION_MAJOR(ops->version),
		    PROVOST_PLUGIN_VERSION_MINOR(ops->version),
		    PROVOST_PLUGIN_MAJOR, PROVOST_PLUGIN_MINOR);
		goto out;
	}
	if (ops->init == NULL || ops->name == NULL) {
		(void)snprintf(
		    err, errlen, "%s: plugin has no name or init", path);
		goto out;
	}
	set->p[set->n].ops = ops;
	set->p[set->n].api = *set->host;
	set->p[set->n].api.ctx = &set->p[set->n];
	if (ops->init(&set->p[set->n].api, config, &state, &errstr) != 1) {
		(void)snprintf(err, errlen, "%s: %s: init failed: %s", path,
		    ops->name, errstr != NULL ? errstr : "no reason given");
		goto out;
	}
	if ((set->p[set->n].path = strdup(path)) == NULL) {
		if (ops->fini != NULL)
			ops->fini(state);
		r = PV_ERR_ALLOC;
		goto out;
	}
	set->p[set->n].handle = handle;
	set->p[set->n].ops = ops;
	set->p[set->n].state = state;
	set->n++;
	pv_info("plugin %s loaded from %s", ops->name, path);
	return 0;
out:
	dlclose(handle);
	return r;
}

/*
 * Every allowing plugin's notice (1.2 and later), joined with "; ", into
 * buf: printable ASCII only (anything else becomes '?'), so a plugin
 * cannot move the engineer's cursor or forge a line of its own.
 */
static void
plugin_set_notices(struct plugin_set *set, const struct provost_access *access,
    char *buf, size_t len)
{
	size_t i, o = 0;

	for (i = 0; i < set->n && len > 0; i++) {
		const struct provost_plugin *ops = set->p[i].ops;
		const char *t;

		if (PROVOST_PLUGIN_VERSION_MINOR(ops->version) < 2 ||
		    ops->notice == NULL ||
		    (t = ops->notice(set->p[i].state, access)) == NULL ||
		    *t == '\0')
			continue;
		if (o > 0 && o + 2 < len) {
			buf[o++] = ';';
			buf[o++] = ' ';
		}
		for (; *t != '\0' && o + 1 < len; t++)
			buf[o++] = *t >= 0x20 && *t < 0x7f ? *t : '?';
		buf[o] = '\0';
	}
}

int
plugin_set_check_access(struct plugin_set *set,
    const struct provost_access *access, char *reason, size_t reasonlen)
{
	const char *errstr;
	size_t i;
	int v;

	if (reasonlen > 0)
		reason[0] = '\0';
	for (i = 0; i < set->n; i++) {
		const struct provost_plugin *ops = set->p[i].ops;

		if (ops->check_access == NULL)
			continue;
		errstr = NULL;
		v = ops->check_access(set->p[i].state, access, &errstr);
		if (v == PROVOST_PLUGIN_ALLOW)
			continue;
		(void)snprintf(reason, reasonlen, "plugin %s %s: %s", ops->name,
		    v == PROVOST_PLUGIN_DENY ? "denies" : "failed (deny)",
		    errstr != NULL ? errstr : "no reason given");
		return PV_DENY;
	}
	plugin_set_notices(set, access, reason, reasonlen);
	return PV_ALLOW;
}

int
plugin_set_event(struct plugin_set *set, const struct provost_event *event,
    char *err, size_t errlen)
{
	const char *errstr;
	size_t i;
	int r = 0;

	for (i = 0; i < set->n; i++) {
		struct plugin *pl = &set->p[i];

		if (pl->ops->on_event == NULL || pl->events_off)
			continue;
		/* a kind a plugin's version does not know is not its to see */
		if (event->kind == PROVOST_EVENT_EXIT_DUE &&
		    PROVOST_PLUGIN_VERSION_MINOR(pl->ops->version) < 4)
			continue;
		errstr = NULL;
		if (pl->ops->on_event(pl->state, event, &errstr) < 0) {
			pl->events_off = 1;
			pv_error("plugin %s: on_event failed, switched off: %s",
			    pl->ops->name,
			    errstr != NULL ? errstr : "no reason given");
			if (r == 0 && err != NULL)
				(void)snprintf(err, errlen, "plugin %s: %s",
				    pl->ops->name,
				    errstr != NULL ? errstr
						   : "no reason given");
			r = -1;
		}
	}
	return r;
}

int
plugin_set_report(struct plugin_set *set, FILE *out, const char *what,
    char *err, size_t errlen)
{
	const char *errstr;
	size_t i;
	int v;

	if (errlen > 0)
		err[0] = '\0';
	for (i = 0; i < set->n; i++) {
		const struct provost_plugin *ops = set->p[i].ops;

		if (ops->report == NULL)
			continue;
		errstr = NULL;
		v = ops->report(set->p[i].state, out, what, &errstr);
		if (v == 1)
			return 1;
		if (v < 0) {
			(void)snprintf(err, errlen, "plugin %s: report %s: %s",
			    ops->name, what,
			    errstr != NULL ? errstr : "no reason given");
			return -1;
		}
	}
	(void)snprintf(err, errlen, "no plugin makes the report %s", what);
	return 0;
}
