/*
 * test_plugins.c: the plugin loader against real shared objects: ABI and
 * file checks, fail-closed check_access, on_event switched off on error.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/common.h"
#include "plugins/plugins.h"

/* The test plugins, under $top_builddir/tests/unit/.libs (set by make check). */
static char GOOD[512], BADABI[512];

static const struct provost_plugin_host host = {
	.version = PROVOST_PLUGIN_VERSION,
};

static struct provost_access
access_for(const char *engineer)
{
	struct provost_access a = {
		.engineer = engineer,
		.provider = "acme",
		.target = "db01",
		.classification = "internal",
		.account = "postgres",
		.channel = "shell",
		.now = 1795812349,
	};

	return a;
}

static void
test_load_and_check(void **state)
{
	struct plugin_set *set = plugin_set_new(&host);
	struct provost_access a;
	char err[256], reason[256];

	(void)state;
	assert_non_null(set);
	assert_int_equal(plugin_set_load(set, GOOD, NULL, err, sizeof(err)), 0);
	assert_int_equal(plugin_set_count(set), 1);
	a = access_for("alice");
	assert_int_equal(
	    plugin_set_check_access(set, &a, reason, sizeof(reason)), PV_ALLOW);
	/* no notice: the reason of a yes stays empty */
	assert_string_equal(reason, "");
	/* a notice comes back one printable line (ABI 1.2's notice hook) */
	a = access_for("noticed");
	assert_int_equal(
	    plugin_set_check_access(set, &a, reason, sizeof(reason)), PV_ALLOW);
	assert_string_equal(reason, "ends soon?[2J??provost: forged");
	a = access_for("mallory");
	assert_int_equal(
	    plugin_set_check_access(set, &a, reason, sizeof(reason)), PV_DENY);
	assert_string_equal(reason, "plugin testplugin denies: contract ended");
	/* An error in the plugin denies too. */
	a = access_for("error");
	assert_int_equal(
	    plugin_set_check_access(set, &a, reason, sizeof(reason)), PV_DENY);
	assert_string_equal(
	    reason, "plugin testplugin failed (deny): database down");
	plugin_set_free(set);
	plugin_set_free(NULL);
}

static void
test_refusals(void **state)
{
	struct plugin_set *set = plugin_set_new(&host);
	char err[512], dir[] = "/tmp/pvplugXXXXXX", path[128], cmd[1200];
	char want[64];

	(void)state;
	assert_int_not_equal(
	    plugin_set_load(set, BADABI, NULL, err, sizeof(err)), 0);
	(void)snprintf(want, sizeof(want),
	    "plugin ABI 2.%d, provost speaks 1.%d", PROVOST_PLUGIN_MINOR,
	    PROVOST_PLUGIN_MINOR);
	assert_non_null(strstr(err, want));
	assert_int_not_equal(
	    plugin_set_load(set, GOOD, "fail", err, sizeof(err)), 0);
	assert_non_null(
	    strstr(err, "testplugin: init failed: config says fail"));
	assert_int_not_equal(
	    plugin_set_load(set, "relative.so", NULL, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "must be absolute"));
	assert_int_not_equal(
	    plugin_set_load(set, "/nonexistent.so", NULL, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "not a regular file"));

	/* A world-writable copy is refused before dlopen. */
	assert_non_null(mkdtemp(dir));
	(void)snprintf(path, sizeof(path), "%s/p.so", dir);
	(void)snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", GOOD, path);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(chmod(path, 0666), 0);
	assert_int_not_equal(
	    plugin_set_load(set, path, NULL, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "writable by group or others"));
	/* A file that is no shared object. */
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(truncate(path, 10), 0);
	assert_int_not_equal(
	    plugin_set_load(set, path, NULL, err, sizeof(err)), 0);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
	assert_int_equal(plugin_set_count(set), 0);
	plugin_set_free(set);
}

static int error_lines;

static void
count_errors(void *ctx, enum pv_log_level level, const char *line)
{
	(void)ctx;
	(void)line;
	if (level == PV_LOG_ERROR)
		error_lines++;
}

static void
test_events(void **state)
{
	struct plugin_set *set = plugin_set_new(&host);
	struct provost_event ev = {
		.kind = PROVOST_EVENT_SESSION_START,
		.time = 1795812349,
		.object_id = "s1",
	};
	char err[256];

	(void)state;
	assert_int_equal(plugin_set_load(set, GOOD, NULL, err, sizeof(err)), 0);
	pv_log_set_sink(count_errors, NULL);
	assert_int_equal(plugin_set_event(set, &ev, err, sizeof(err)), 0);
	assert_int_equal(error_lines, 0);
	ev.object_id = "boom";
	/* errs: switched off from here, and the caller is told who */
	assert_int_equal(plugin_set_event(set, &ev, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "plugin "));
	assert_int_equal(error_lines, 1);
	/* not delivered, so no second error */
	assert_int_equal(plugin_set_event(set, &ev, NULL, 0), 0);
	assert_int_equal(error_lines, 1);
	pv_log_set_sink(NULL, NULL);
	plugin_set_free(set);
}

static int
find_plugins(void)
{
	const char *b = getenv("top_builddir");
	int n;

	if (b == NULL) {
		fprintf(stderr,
		    "top_builddir is not set: run through make check\n");
		return -1;
	}
	n = snprintf(
	    GOOD, sizeof(GOOD), "%s/tests/unit/.libs/plugin_good.so", b);
	if (n < 0 || (size_t)n >= sizeof(GOOD))
		return -1;
	n = snprintf(
	    BADABI, sizeof(BADABI), "%s/tests/unit/.libs/plugin_badabi.so", b);
	return n < 0 || (size_t)n >= sizeof(BADABI) ? -1 : 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_and_check),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_events),
	};

	if (find_plugins() != 0)
		return 1;
	return cmocka_run_group_tests_name("plugins", tests, NULL, NULL);
}
