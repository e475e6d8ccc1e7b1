/*
 * plugin_good.c: a test plugin for the loader.  It denies the engineer
 * "mallory", errs for "error", and counts events; built a second time with
 * PLUGIN_TEST_MAJOR=2 to test the ABI check.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "plugins/provost_plugin.h"

#ifndef PLUGIN_TEST_MAJOR
#define PLUGIN_TEST_MAJOR PROVOST_PLUGIN_MAJOR
#endif

struct state {
	int events;
};

static int
t_init(const struct provost_plugin_host *host, const char *config, void **state,
    const char **errstr)
{
	struct state *s;

	(void)host;
	if (config != NULL && strcmp(config, "fail") == 0) {
		*errstr = "config says fail";
		return PROVOST_PLUGIN_ERROR;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return PROVOST_PLUGIN_ERROR;
	*state = s;
	return 1;
}

static int
t_check(void *state, const struct provost_access *a, const char **errstr)
{
	(void)state;
	if (strcmp(a->engineer, "mallory") == 0) {
		*errstr = "contract ended";
		return PROVOST_PLUGIN_DENY;
	}
	if (strcmp(a->engineer, "error") == 0) {
		*errstr = "database down";
		return PROVOST_PLUGIN_ERROR;
	}
	return PROVOST_PLUGIN_ALLOW;
}

static int
t_event(void *state, const struct provost_event *ev, const char **errstr)
{
	struct state *s = state;

	s->events++;
	if (ev->object_id != NULL && strcmp(ev->object_id, "boom") == 0) {
		*errstr = "cannot handle boom";
		return PROVOST_PLUGIN_ERROR;
	}
	/* The count is reported back through the event's own id field. */
	return s->events;
}

static void
t_fini(void *state)
{
	free(state);
}

static const struct provost_plugin ops = {
	.type = PROVOST_PLUGIN_TYPE,
	.version = (PLUGIN_TEST_MAJOR << 16) | PROVOST_PLUGIN_MINOR,
	.name = "testplugin",
	.init = t_init,
	.check_access = t_check,
	.on_event = t_event,
	.fini = t_fini,
};

__attribute__((visibility("default"))) const struct provost_plugin *
provost_plugin_v1(void);

__attribute__((visibility("default"))) const struct provost_plugin *
provost_plugin_v1(void)
{
	return &ops;
}
