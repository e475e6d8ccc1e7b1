# broker/sandbox.mk: privilege separation pieces for provostd (issue 6): the
# seccomp sandbox and the monitor protocol, as libprovost_privsep.la.
noinst_LTLIBRARIES += libprovost_privsep.la
libprovost_privsep_la_SOURCES = \
	broker/broker-sandbox.h \
	broker/sandbox.c
libprovost_privsep_la_CFLAGS = $(AM_CFLAGS) $(SECCOMP_CFLAGS)
libprovost_privsep_la_LIBADD = libprovost_common.la $(SECCOMP_LIBS)
LINT_C_FILES += broker/sandbox.c
LINT_H_FILES += broker/broker-sandbox.h

PRIVSEP_UNIT_TESTS = tests/unit/test_broker_sandbox
check_PROGRAMS += $(PRIVSEP_UNIT_TESTS)
TESTS += $(PRIVSEP_UNIT_TESTS)
tests_unit_test_broker_sandbox_SOURCES = tests/unit/test_broker_sandbox.c
tests_unit_test_broker_sandbox_CFLAGS = $(UNIT_CC) $(SECCOMP_CFLAGS)
tests_unit_test_broker_sandbox_LDFLAGS = $(UNIT_LINK)
tests_unit_test_broker_sandbox_LDADD = libprovost_privsep.la \
	libprovost_common.la $(CMOCKA_LIBS) $(SECCOMP_LIBS)
LINT_C_FILES += tests/unit/test_broker_sandbox.c
