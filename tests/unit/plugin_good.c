/*
 * plugin_good.c: a test plugin for the loader and the plugin host.  It
 * denies the engineer "mallory", errs for "error", hangs for "hangman"
 * and crashes for "crasher" (t_broker_plugin), counts events and, when its
 * config is an absolute path, appends one line per event there; "report
 * test" prints the count.  Built a second time with PLUGIN_TEST_MAJOR=2 to
 * test the ABI check.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plugins/provost_plugin.h"

#ifndef PLUGIN_TEST_MAJOR
#define PLUGIN_TEST_MAJOR PROVOST_PLUGIN_MAJOR
#endif

struct state {
	const struct provost_plugin_host *host;
	char reason[128];
	int events;
	char log[4096]; /* "" or where events are appended */
};

static int
t_init(const struct provost_plugin_host *host, const char *config, void **state,
    const char **errstr)
{
	struct state *s;

	(void)host;
	/* "fail", or a path ending in /fail (provostd wants absolute paths) */
	if (config != NULL &&
	    (strcmp(config, "fail") == 0 ||
		(strlen(config) > 5 &&
		    strcmp(config + strlen(config) - 5, "/fail") == 0))) {
		*errstr = "config says fail";
		return PROVOST_PLUGIN_ERROR;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return PROVOST_PLUGIN_ERROR;
	if (config != NULL && config[0] == '/')
		(void)snprintf(s->log, sizeof(s->log), "%s", config);
	s->host = host;
	*state = s;
	return 1;
}

/*
 * "querier": asks the store for the engineers, appends an audit row of its
 * own and tries to forge a session.open; the reason tells what happened.
 */
static int
t_query(struct state *s, const char **errstr)
{
	const struct provost_plugin_host *h = s->host;
	const char *e = NULL, *p;
	char *json = NULL, details[64];
	int n = 0, ok, forged;

	if (h == NULL || h->version < 0x10001 || h->query == NULL ||
	    h->audit == NULL) {
		*errstr = "no query or audit in this host";
		return PROVOST_PLUGIN_ERROR;
	}
	if (h->query(h->ctx, "engineers", &json, &e) != 1) {
		*errstr = e != NULL ? e : "query failed";
		return PROVOST_PLUGIN_ERROR;
	}
	for (p = json; (p = strstr(p, "\"login\":")) != NULL; p++)
		n++;
	free(json);
	(void)snprintf(details, sizeof(details), "{\"engineers\":%d}", n);
	ok = h->audit(
	    h->ctx, "plugin.testplugin.asked", "engineer:querier", details, &e);
	forged = h->audit(h->ctx, "session.open", "session:x", NULL, &e);
	(void)snprintf(s->reason, sizeof(s->reason),
	    "engineers=%d audit=%s forged=%s", n, ok == 1 ? "ok" : "failed",
	    forged == 1 ? "accepted" : "refused");
	*errstr = s->reason;
	return PROVOST_PLUGIN_DENY;
}

static int
t_check(void *state, const struct provost_access *a, const char **errstr)
{
	if (strcmp(a->engineer, "querier") == 0)
		return t_query(state, errstr);
	if (strcmp(a->engineer, "mallory") == 0) {
		*errstr = "contract ended";
		return PROVOST_PLUGIN_DENY;
	}
	if (strcmp(a->engineer, "error") == 0) {
		*errstr = "database down";
		return PROVOST_PLUGIN_ERROR;
	}
	if (strcmp(a->engineer, "hangman") == 0)
		(void)sleep(3600);
	if (strcmp(a->engineer, "crasher") == 0)
		abort();
	return PROVOST_PLUGIN_ALLOW;
}

static int
t_event(void *state, const struct provost_event *ev, const char **errstr)
{
	struct state *s = state;

	s->events++;
	if (s->log[0] != '\0') {
		FILE *f = fopen(s->log, "a");

		if (f != NULL) {
			fprintf(f, "%d %s\n", (int)ev->kind,
			    ev->details_json != NULL ? ev->details_json : "");
			(void)fclose(f);
		}
	}
	if (ev->object_id != NULL && strcmp(ev->object_id, "boom") == 0) {
		*errstr = "cannot handle boom";
		return PROVOST_PLUGIN_ERROR;
	}
	/* The count is reported back through the event's own id field. */
	return s->events;
}

static int
t_report(void *state, FILE *out, const char *what, const char **errstr)
{
	struct state *s = state;

	if (strcmp(what, "test fail") == 0) {
		*errstr = "asked to fail";
		return PROVOST_PLUGIN_ERROR;
	}
	if (strncmp(what, "test", 4) != 0)
		return 0;
	fprintf(out, "events %d\nwhat %s\n", s->events, what);
	return 1;
}

/*
 * "noticed" gets a notice that tries to clear the engineer's screen and
 * forge a line of provost's own; the loader must make it one printable
 * line.  Everyone else gets none.
 */
static const char *
t_notice(void *state, const struct provost_access *a)
{
	(void)state;
	if (strcmp(a->engineer, "noticed") == 0)
		return "ends soon\x1b[2J\r\nprovost: forged";
	return NULL;
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
	.report = t_report,
	.fini = t_fini,
	.notice = t_notice,
};

/* Built a third time without its entry point: "no provost_plugin_v1()". */
#ifndef PLUGIN_TEST_NOSYM
__attribute__((visibility("default"))) const struct provost_plugin *
provost_plugin_v1(void);

__attribute__((visibility("default"))) const struct provost_plugin *
provost_plugin_v1(void)
{
	return &ops;
}
#else
__attribute__((visibility("default"))) const struct provost_plugin *
plugin_test_ops(void);

__attribute__((visibility("default"))) const struct provost_plugin *
plugin_test_ops(void)
{
	return &ops;
}
#endif
