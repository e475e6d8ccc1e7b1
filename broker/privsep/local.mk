# broker/privsep/: what provostd's monitor and its session processes both
# link: the seccomp sandbox and the monitor protocol (libprovost_privsep.la).
noinst_LTLIBRARIES += libprovost_privsep.la
libprovost_privsep_la_SOURCES = \
	broker/privsep/sandbox.h \
	broker/privsep/sandbox.c \
	broker/privsep/protocol.h \
	broker/privsep/monitor_proto.c \
	broker/privsep/monitor_io.c
libprovost_privsep_la_CFLAGS = $(AM_CFLAGS) $(SECCOMP_CFLAGS)
libprovost_privsep_la_LIBADD = libprovost_common.la $(SECCOMP_LIBS)
LINT_C_FILES += $(filter %.c,$(libprovost_privsep_la_SOURCES))
LINT_H_FILES += $(filter %.h,$(libprovost_privsep_la_SOURCES))

PRIVSEP_UNIT_TESTS = tests/unit/test_broker_sandbox \
	tests/unit/test_broker_monitor
check_PROGRAMS += $(PRIVSEP_UNIT_TESTS)
TESTS += $(PRIVSEP_UNIT_TESTS)
tests_unit_test_broker_sandbox_SOURCES = tests/unit/test_broker_sandbox.c
tests_unit_test_broker_sandbox_CFLAGS = $(UNIT_CC) $(SECCOMP_CFLAGS)
tests_unit_test_broker_sandbox_LDFLAGS = $(UNIT_LINK)
tests_unit_test_broker_sandbox_LDADD = libprovost_privsep.la \
	libprovost_common.la $(CMOCKA_LIBS) $(SECCOMP_LIBS)
LINT_C_FILES += tests/unit/test_broker_sandbox.c
tests_unit_test_broker_monitor_SOURCES = tests/unit/test_broker_monitor.c
tests_unit_test_broker_monitor_CFLAGS = $(UNIT_CC)
tests_unit_test_broker_monitor_LDFLAGS = $(UNIT_LINK)
tests_unit_test_broker_monitor_LDADD = libprovost_privsep.la \
	libprovost_common.la $(CMOCKA_LIBS) $(SECCOMP_LIBS)
LINT_C_FILES += tests/unit/test_broker_monitor.c

# The monitor's decoder and order rules on arbitrary bytes.
FUZZ_TARGETS += tests/fuzz/fuzz_monitor
tests_fuzz_fuzz_monitor_SOURCES = tests/fuzz/fuzz_monitor.c
tests_fuzz_fuzz_monitor_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_monitor_LDADD = $(FUZZ_MAIN_LIB) libprovost_privsep.la \
	libprovost_common.la $(SECCOMP_LIBS)
LINT_C_FILES += tests/fuzz/fuzz_monitor.c

EXTRA_DIST += docs/privsep.md

# A test helper: plays a taken-over session process against the real
# monitor (tests/integration/t_broker_forge.sh).
check_PROGRAMS += broker/pv-broker-forge
broker_pv_broker_forge_SOURCES = broker/privsep/tool_forge.c
broker_pv_broker_forge_CFLAGS = $(AM_CFLAGS)
broker_pv_broker_forge_LDFLAGS = $(PROG_LINK)
broker_pv_broker_forge_LDADD = libprovost_privsep.la libprovost_policy.la \
	libprovost_common.la $(SECCOMP_LIBS) $(CRYPTO_LIBS)
LINT_C_FILES += broker/privsep/tool_forge.c
