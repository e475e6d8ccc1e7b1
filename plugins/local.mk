# plugins/: the plugin ABI (provost_plugin.h, installed for plugin authors)
# and the loader (plugins/plugins.h).
noinst_LTLIBRARIES += libprovost_plugins.la
libprovost_plugins_la_SOURCES = plugins/plugins.h plugins/plugins.c \
	plugins/host.c
libprovost_plugins_la_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
libprovost_plugins_la_LIBADD = libprovost_common.la $(JANSSON_LIBS) -ldl
pkginclude_HEADERS = plugins/provost_plugin.h
LINT_C_FILES += plugins/plugins.c plugins/host.c
LINT_H_FILES += plugins/plugins.h plugins/provost_plugin.h

# Test plugins: shared objects built only for make check.
check_LTLIBRARIES = tests/unit/plugin_good.la tests/unit/plugin_badabi.la \
	tests/unit/plugin_nosym.la plugins/example/example.la
PLUGIN_TEST_FLAGS = -module -avoid-version -shared -rpath /nowhere \
	-export-symbols-regex '^provost_plugin_v1$$'
tests_unit_plugin_good_la_SOURCES = tests/unit/plugin_good.c
tests_unit_plugin_good_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden
tests_unit_plugin_good_la_LDFLAGS = $(AM_LDFLAGS) $(PLUGIN_TEST_FLAGS)
tests_unit_plugin_badabi_la_SOURCES = tests/unit/plugin_good.c
tests_unit_plugin_badabi_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden \
	-DPLUGIN_TEST_MAJOR=2
tests_unit_plugin_badabi_la_LDFLAGS = $(AM_LDFLAGS) $(PLUGIN_TEST_FLAGS)
tests_unit_plugin_nosym_la_SOURCES = tests/unit/plugin_good.c
tests_unit_plugin_nosym_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden \
	-DPLUGIN_TEST_NOSYM
tests_unit_plugin_nosym_la_LDFLAGS = $(AM_LDFLAGS) -module -avoid-version \
	-shared -rpath /nowhere -export-symbols-regex '^plugin_test_ops$$'


check_PROGRAMS += tests/unit/test_plugins
TESTS += tests/unit/test_plugins
tests_unit_test_plugins_SOURCES = tests/unit/test_plugins.c
tests_unit_test_plugins_CFLAGS = $(UNIT_CC)
tests_unit_test_plugins_LDFLAGS = $(UNIT_LINK)
tests_unit_test_plugins_LDADD = libprovost_plugins.la libprovost_common.la \
	$(CMOCKA_LIBS)
LINT_C_FILES += tests/unit/plugin_good.c tests/unit/test_plugins.c
# The example of provost_plugin(3), built and loaded by t_broker_plugin.
plugins_example_example_la_SOURCES = plugins/example/example.c
plugins_example_example_la_LDFLAGS = $(AM_LDFLAGS) $(PLUGIN_TEST_FLAGS)
LINT_C_FILES += plugins/example/example.c
dist_man_MANS += docs/provost_plugin.3

# The plugin host against provostd, provostctl and stock ssh.
PLUGIN_INTEGRATION_TESTS = tests/integration/t_broker_plugin.sh
TESTS += $(PLUGIN_INTEGRATION_TESTS)
EXTRA_DIST += $(PLUGIN_INTEGRATION_TESTS) tests/integration/memscan.py
