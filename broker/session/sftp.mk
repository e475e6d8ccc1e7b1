# broker/session/sftp.mk: the SFTP and scp trackers (broker/session/sftp.h), their
# unit tests, the sftp-tap test relay, the integration test and fuzz target.
noinst_LTLIBRARIES += libprovost_sftp.la
libprovost_sftp_la_SOURCES = \
	broker/session/sftp.h \
	broker/session/sftp-int.h \
	broker/session/sftp.c \
	broker/session/sftp_client.c \
	broker/session/sftp_scp.c
libprovost_sftp_la_CFLAGS = $(AM_CFLAGS) $(CRYPTO_CFLAGS)
libprovost_sftp_la_LIBADD = libprovost_common.la $(CRYPTO_LIBS)
LINT_C_FILES += $(filter %.c,$(libprovost_sftp_la_SOURCES))
LINT_H_FILES += $(filter %.h,$(libprovost_sftp_la_SOURCES))

check_PROGRAMS += tests/unit/test_broker_sftp
TESTS += tests/unit/test_broker_sftp
tests_unit_test_broker_sftp_SOURCES = tests/unit/test_broker_sftp.c \
	tests/unit/sftp_test_util.h
tests_unit_test_broker_sftp_CFLAGS = $(UNIT_CC) $(CRYPTO_CFLAGS)
tests_unit_test_broker_sftp_LDFLAGS = $(UNIT_LINK)
tests_unit_test_broker_sftp_LDADD = libprovost_sftp.la libprovost_common.la \
	$(CMOCKA_LIBS) $(CRYPTO_LIBS)
LINT_C_FILES += tests/unit/test_broker_sftp.c
LINT_H_FILES += tests/unit/sftp_test_util.h

check_PROGRAMS += tests/unit/test_broker_sftp_errors
TESTS += tests/unit/test_broker_sftp_errors
tests_unit_test_broker_sftp_errors_SOURCES = \
	tests/unit/test_broker_sftp_errors.c tests/unit/sftp_test_util.h
tests_unit_test_broker_sftp_errors_CFLAGS = $(UNIT_CC) $(CRYPTO_CFLAGS)
tests_unit_test_broker_sftp_errors_LDFLAGS = $(UNIT_LINK)
tests_unit_test_broker_sftp_errors_LDADD = libprovost_sftp.la \
	libprovost_common.la $(CMOCKA_LIBS) $(CRYPTO_LIBS)
LINT_C_FILES += tests/unit/test_broker_sftp_errors.c

check_PROGRAMS += tests/unit/test_broker_sftp_scp
TESTS += tests/unit/test_broker_sftp_scp
tests_unit_test_broker_sftp_scp_SOURCES = tests/unit/test_broker_sftp_scp.c
tests_unit_test_broker_sftp_scp_CFLAGS = $(UNIT_CC) $(CRYPTO_CFLAGS)
tests_unit_test_broker_sftp_scp_LDFLAGS = $(UNIT_LINK)
tests_unit_test_broker_sftp_scp_LDADD = libprovost_sftp.la \
	libprovost_common.la $(CMOCKA_LIBS) $(CRYPTO_LIBS)
LINT_C_FILES += tests/unit/test_broker_sftp_scp.c

# sftp-tap: sftp -D "sftp-tap SERVER" puts the tracker between the real
# sftp and the real sftp-server (the integration test and the benchmark).
check_PROGRAMS += tests/sftp/sftp-tap
tests_sftp_sftp_tap_SOURCES = tests/sftp/sftp-tap.c
tests_sftp_sftp_tap_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tests_sftp_sftp_tap_LDFLAGS = $(PROG_LINK)
tests_sftp_sftp_tap_LDADD = libprovost_sftp.la libprovost_common.la \
	$(JANSSON_LIBS) $(CRYPTO_LIBS)
LINT_C_FILES += tests/sftp/sftp-tap.c

TESTS += tests/integration/t_sftp_tap.sh
EXTRA_DIST += tests/integration/t_sftp_tap.sh docs/sftp-recording.md \
	bench/sftp-tap

FUZZ_TARGETS += tests/fuzz/fuzz_sftp
tests_fuzz_fuzz_sftp_SOURCES = tests/fuzz/fuzz_sftp.c
tests_fuzz_fuzz_sftp_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_sftp_LDADD = $(FUZZ_MAIN_LIB) libprovost_sftp.la \
	libprovost_common.la $(CRYPTO_LIBS)
LINT_C_FILES += tests/fuzz/fuzz_sftp.c
