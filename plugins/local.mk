# plugins/: the plugin ABI (provost_plugin.h, installed for plugin authors)
# and the loader (plugins/plugins.h).
noinst_LTLIBRARIES += libprovost_plugins.la
libprovost_plugins_la_SOURCES = plugins/plugins.h plugins/plugins.c \
	plugins/host.c plugins/host_store.c
libprovost_plugins_la_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(SQLITE_CFLAGS)
libprovost_plugins_la_LIBADD = libprovost_store.la libprovost_common.la \
	$(JANSSON_LIBS) -ldl
pkginclude_HEADERS = plugins/provost_plugin.h
LINT_C_FILES += plugins/plugins.c plugins/host.c plugins/host_store.c
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
PLUGIN_INTEGRATION_TESTS = tests/integration/t_broker_plugin.sh \
	tests/integration/t_plugin_contract.sh tests/integration/t_plugin_sla.sh \
	tests/integration/t_contract_banner.sh
TESTS += $(PLUGIN_INTEGRATION_TESTS)
EXTRA_DIST += $(PLUGIN_INTEGRATION_TESTS) tests/integration/memscan.py

# The contract plugin (provost-contract(5)): its parser and evaluator
# (parse.c, which the unit tests and the fuzz target build too) and the
# ABI glue, in the installed module with common/ inside it.
pluginsdir = $(pkglibdir)/plugins
plugins_LTLIBRARIES = plugins/contract/contract.la plugins/sla/sla.la
plugins_contract_contract_la_SOURCES = plugins/contract/contract.h \
	plugins/contract/parse.c plugins/contract/plugin.c
plugins_contract_contract_la_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) \
	-fvisibility=hidden
plugins_contract_contract_la_LDFLAGS = $(AM_LDFLAGS) -module -avoid-version \
	-shared -export-symbols-regex '^provost_plugin_v1$$'
plugins_contract_contract_la_LIBADD = libprovost_common.la $(JANSSON_LIBS)
LINT_C_FILES += plugins/contract/parse.c plugins/contract/plugin.c
LINT_H_FILES += plugins/contract/contract.h
dist_man_MANS += docs/provost-contract.5

check_PROGRAMS += tests/unit/test_plugin_contract
TESTS += tests/unit/test_plugin_contract
tests_unit_test_plugin_contract_SOURCES = tests/unit/test_plugin_contract.c \
	plugins/contract/parse.c
tests_unit_test_plugin_contract_CFLAGS = $(UNIT_CC)
tests_unit_test_plugin_contract_LDFLAGS = $(UNIT_LINK)
tests_unit_test_plugin_contract_LDADD = libprovost_common.la $(CMOCKA_LIBS)
LINT_C_FILES += tests/unit/test_plugin_contract.c

FUZZ_TARGETS += tests/fuzz/fuzz_contract
tests_fuzz_fuzz_contract_SOURCES = tests/fuzz/fuzz_contract.c \
	plugins/contract/parse.c
tests_fuzz_fuzz_contract_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_contract_LDADD = $(FUZZ_MAIN_LIB) libprovost_common.la
LINT_C_FILES += tests/fuzz/fuzz_contract.c

# The sla plugin (provost-sla(5)): its parser (conf.c) and arithmetic
# (calc.c, render.c), which the unit test and the fuzz targets build too,
# and the ABI glue; reports from the store's incidents and outages.
SLA_CORE = plugins/sla/sla.h plugins/sla/conf.c plugins/sla/calc.c \
	plugins/sla/render.c
plugins_sla_sla_la_SOURCES = $(SLA_CORE) plugins/sla/plugin.c
plugins_sla_sla_la_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) -fvisibility=hidden
plugins_sla_sla_la_LDFLAGS = $(AM_LDFLAGS) -module -avoid-version \
	-shared -export-symbols-regex '^provost_plugin_v1$$'
plugins_sla_sla_la_LIBADD = libprovost_common.la $(JANSSON_LIBS)
LINT_C_FILES += plugins/sla/conf.c plugins/sla/calc.c plugins/sla/render.c \
	plugins/sla/plugin.c
LINT_H_FILES += plugins/sla/sla.h
dist_man_MANS += docs/provost-sla.5

check_PROGRAMS += tests/unit/test_plugin_sla
TESTS += tests/unit/test_plugin_sla
tests_unit_test_plugin_sla_SOURCES = tests/unit/test_plugin_sla.c $(SLA_CORE)
tests_unit_test_plugin_sla_CFLAGS = $(UNIT_CC) $(JANSSON_CFLAGS) \
	$(SQLITE_CFLAGS)
tests_unit_test_plugin_sla_LDFLAGS = $(UNIT_LINK)
tests_unit_test_plugin_sla_LDADD = libprovost_store.la libprovost_common.la \
	$(CMOCKA_LIBS) $(JANSSON_LIBS) $(SQLITE_LIBS) $(CRYPTO_LIBS)
LINT_C_FILES += tests/unit/test_plugin_sla.c

FUZZ_TARGETS += tests/fuzz/fuzz_sla_conf
tests_fuzz_fuzz_sla_conf_SOURCES = tests/fuzz/fuzz_sla_conf.c $(SLA_CORE)
tests_fuzz_fuzz_sla_conf_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tests_fuzz_fuzz_sla_conf_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_sla_conf_LDADD = $(FUZZ_MAIN_LIB) libprovost_common.la \
	$(JANSSON_LIBS)
LINT_C_FILES += tests/fuzz/fuzz_sla_conf.c

FUZZ_TARGETS += tests/fuzz/fuzz_incidents
tests_fuzz_fuzz_incidents_SOURCES = tests/fuzz/fuzz_incidents.c
tests_fuzz_fuzz_incidents_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_incidents_LDADD = $(FUZZ_MAIN_LIB) libprovost_store.la \
	libprovost_common.la
LINT_C_FILES += tests/fuzz/fuzz_incidents.c

# bench/plugins' driver (not installed, not a test).
noinst_PROGRAMS += bench/plugins_bench
bench_plugins_bench_SOURCES = bench/plugins_bench.c
bench_plugins_bench_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
bench_plugins_bench_LDFLAGS = $(PROG_LINK)
bench_plugins_bench_LDADD = libprovost_plugins.la libprovost_store.la \
	libprovost_policy.la libprovost_common.la
LINT_C_FILES += bench/plugins_bench.c
EXTRA_DIST += bench/plugins bench/plugins-login bench/sla
