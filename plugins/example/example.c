/*
 * example.c: a complete provost plugin, small enough to read in a minute:
 * a change freeze.  Its config is a file name; while that file exists,
 * every access is refused with the file's first line as the reason
 * ("quarter close until 2 Jan").  It also counts the events it is handed
 * and makes one report, "example".
 *
 *   cc -shared -fPIC -o example.so example.c
 *   Plugin /usr/lib/provost/plugins/example.so /etc/provost/freeze
 *
 * See provost_plugin(3).  The test suite builds and loads this file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/provost_plugin.h"

struct freeze {
	const struct provost_plugin_host *host;
	char path[4096];
	char reason[256];
	unsigned long events;
};

static int
freeze_init(const struct provost_plugin_host *host, const char *config,
    void **state, const char **errstr)
{
	struct freeze *f;

	if (config == NULL || config[0] != '/') {
		*errstr = "the config must name the freeze file";
		return PROVOST_PLUGIN_ERROR;
	}
	if ((f = calloc(1, sizeof(*f))) == NULL) {
		*errstr = "out of memory";
		return PROVOST_PLUGIN_ERROR;
	}
	f->host = host;
	(void)snprintf(f->path, sizeof(f->path), "%s", config);
	*state = f;
	return 1;
}

/* May only add restrictions: no objection unless the freeze is on. */
static int
freeze_check(void *state, const struct provost_access *a, const char **errstr)
{
	struct freeze *f = state;
	FILE *fp = fopen(f->path, "r");

	(void)a;
	if (fp == NULL)
		return PROVOST_PLUGIN_ALLOW;
	if (fgets(f->reason, sizeof(f->reason), fp) == NULL)
		(void)snprintf(f->reason, sizeof(f->reason), "in force");
	(void)fclose(fp);
	f->reason[strcspn(f->reason, "\r\n")] = '\0';
	*errstr = f->reason;
	return PROVOST_PLUGIN_DENY;
}

static int
freeze_event(void *state, const struct provost_event *ev, const char **errstr)
{
	struct freeze *f = state;

	(void)ev;
	(void)errstr;
	f->events++;
	return 1;
}

static int
freeze_report(void *state, FILE *out, const char *what, const char **errstr)
{
	struct freeze *f = state;

	(void)errstr;
	if (strcmp(what, "example") != 0)
		return 0; /* not ours: the next plugin is asked */
	fprintf(out, "freeze file: %s\nevents seen: %lu\n", f->path, f->events);
	return 1;
}

static void
freeze_fini(void *state)
{
	free(state);
}

static const struct provost_plugin freeze_ops = {
	.type = PROVOST_PLUGIN_TYPE,
	.version = PROVOST_PLUGIN_VERSION,
	.name = "example",
	.init = freeze_init,
	.check_access = freeze_check,
	.on_event = freeze_event,
	.report = freeze_report,
	.fini = freeze_fini,
};

const struct provost_plugin *provost_plugin_v1(void);

const struct provost_plugin *
provost_plugin_v1(void)
{
	return &freeze_ops;
}
