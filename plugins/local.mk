# plugins/: the plugin ABI (provost_plugin.h, installed for plugin authors)
# and the loader (plugins/plugins.h).
noinst_LTLIBRARIES += libprovost_plugins.la
libprovost_plugins_la_SOURCES = plugins/plugins.h plugins/plugins.c
libprovost_plugins_la_LIBADD = libprovost_common.la -ldl
pkginclude_HEADERS = plugins/provost_plugin.h
LINT_C_FILES += plugins/plugins.c
LINT_H_FILES += plugins/plugins.h plugins/provost_plugin.h

# Test plugins: shared objects built only for make check.
check_LTLIBRARIES = tests/unit/plugin_good.la tests/unit/plugin_badabi.la
PLUGIN_TEST_FLAGS = -module -avoid-version -shared -rpath /nowhere \
	-export-symbols-regex '^provost_plugin_v1$$'
tests_unit_plugin_good_la_SOURCES = tests/unit/plugin_good.c
tests_unit_plugin_good_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden
tests_unit_plugin_good_la_LDFLAGS = $(AM_LDFLAGS) $(PLUGIN_TEST_FLAGS)
tests_unit_plugin_badabi_la_SOURCES = tests/unit/plugin_good.c
tests_unit_plugin_badabi_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden \
	-DPLUGIN_TEST_MAJOR=2
tests_unit_plugin_badabi_la_LDFLAGS = $(AM_LDFLAGS) $(PLUGIN_TEST_FLAGS)

check_PROGRAMS += tests/unit/test_plugins
TESTS += tests/unit/test_plugins
tests_unit_test_plugins_SOURCES = tests/unit/test_plugins.c
tests_unit_test_plugins_CFLAGS = $(UNIT_CC)
tests_unit_test_plugins_LDFLAGS = $(UNIT_LINK)
tests_unit_test_plugins_LDADD = libprovost_plugins.la libprovost_common.la \
	$(CMOCKA_LIBS)
LINT_C_FILES += tests/unit/plugin_good.c tests/unit/test_plugins.c
