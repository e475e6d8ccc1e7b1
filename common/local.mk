# common/: the shared pieces (common/common.h).  Links OpenSSL only.
noinst_LTLIBRARIES += libprovost_common.la
libprovost_common_la_SOURCES = \
	common/common.h \
	common/buf.c \
	common/conf.c \
	common/config.c \
	common/duration.c \
	common/encode.c \
	common/err.c \
	common/fdpass.c \
	common/fdpass.h \
	common/file.c \
	common/id.c \
	common/krl.c \
	common/log.c \
	common/num.c \
	common/secret.c \
	common/sshkey.c \
	common/sshsig.c \
	common/time.c
libprovost_common_la_CFLAGS = $(AM_CFLAGS) $(CRYPTO_CFLAGS)
libprovost_common_la_LIBADD = $(CRYPTO_LIBS)
LINT_C_FILES += $(filter %.c,$(libprovost_common_la_SOURCES))
LINT_H_FILES += common/common.h common/fdpass.h

COMMON_UNIT_TESTS = \
	tests/unit/test_common_buf \
	tests/unit/test_common_conf \
	tests/unit/test_common_misc \
	tests/unit/test_common_sshkey
check_PROGRAMS += $(COMMON_UNIT_TESTS)
TESTS += $(COMMON_UNIT_TESTS)
tests_unit_test_common_buf_SOURCES = tests/unit/test_common_buf.c
tests_unit_test_common_buf_CFLAGS = $(UNIT_CC)
tests_unit_test_common_buf_LDFLAGS = $(UNIT_LINK)
tests_unit_test_common_buf_LDADD = libprovost_common.la $(CMOCKA_LIBS)
tests_unit_test_common_conf_SOURCES = tests/unit/test_common_conf.c
tests_unit_test_common_conf_CFLAGS = $(UNIT_CC)
tests_unit_test_common_conf_LDFLAGS = $(UNIT_LINK)
tests_unit_test_common_conf_LDADD = libprovost_common.la $(CMOCKA_LIBS)
tests_unit_test_common_misc_SOURCES = tests/unit/test_common_misc.c
tests_unit_test_common_misc_CFLAGS = $(UNIT_CC)
tests_unit_test_common_misc_LDFLAGS = $(UNIT_LINK)
tests_unit_test_common_misc_LDADD = libprovost_common.la $(CMOCKA_LIBS)
tests_unit_test_common_sshkey_SOURCES = tests/unit/test_common_sshkey.c
tests_unit_test_common_sshkey_CFLAGS = $(UNIT_CC)
tests_unit_test_common_sshkey_LDFLAGS = $(UNIT_LINK)
tests_unit_test_common_sshkey_LDADD = libprovost_common.la $(CMOCKA_LIBS) $(CRYPTO_LIBS)
LINT_C_FILES += tests/unit/test_common_sshkey.c
LINT_C_FILES += tests/unit/test_common_buf.c tests/unit/test_common_conf.c \
	tests/unit/test_common_misc.c

# Fuzz targets for common's parsers.
FUZZ_TARGETS += tests/fuzz/fuzz_conf tests/fuzz/fuzz_duration \
	tests/fuzz/fuzz_buf tests/fuzz/fuzz_b64 tests/fuzz/fuzz_sshkey
tests_fuzz_fuzz_sshkey_SOURCES = tests/fuzz/fuzz_sshkey.c
tests_fuzz_fuzz_sshkey_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_sshkey_LDADD = $(FUZZ_MAIN_LIB) libprovost_common.la $(CRYPTO_LIBS)
LINT_C_FILES += tests/fuzz/fuzz_sshkey.c
tests_fuzz_fuzz_conf_SOURCES = tests/fuzz/fuzz_conf.c
tests_fuzz_fuzz_conf_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_conf_LDADD = $(FUZZ_MAIN_LIB) libprovost_common.la
tests_fuzz_fuzz_duration_SOURCES = tests/fuzz/fuzz_duration.c
tests_fuzz_fuzz_duration_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_duration_LDADD = $(FUZZ_MAIN_LIB) libprovost_common.la
tests_fuzz_fuzz_buf_SOURCES = tests/fuzz/fuzz_buf.c
tests_fuzz_fuzz_buf_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_buf_LDADD = $(FUZZ_MAIN_LIB) libprovost_common.la
tests_fuzz_fuzz_b64_SOURCES = tests/fuzz/fuzz_b64.c
tests_fuzz_fuzz_b64_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_b64_LDADD = $(FUZZ_MAIN_LIB) libprovost_common.la
LINT_C_FILES += tests/fuzz/standalone.c tests/fuzz/fuzz_conf.c tests/fuzz/fuzz_duration.c \
	tests/fuzz/fuzz_buf.c tests/fuzz/fuzz_b64.c
