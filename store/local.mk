# store/: the governance store (store/store.h) over SQLite, and the
# provostd.conf loader shared by provostd and provostctl.
noinst_LTLIBRARIES += libprovost_store.la
libprovost_store_la_SOURCES = \
	store/store.h \
	store/store-int.h \
	store/approvers.c \
	store/audit.c \
	store/copy.c \
	store/db.c \
	store/db_sqlite.c \
	store/db_sqlite.h \
	store/decide.c \
	store/exits.c \
	store/exposures.c \
	store/grants.c \
	store/hook.c \
	store/shadow.c \
	store/identity.c \
	store/import.c \
	store/incidents.c \
	store/json.c \
	store/keys.c \
	store/leases.c \
	store/mfagrace.c \
	store/migrate.c \
	store/query.c \
	store/sessions.c \
	store/sweep.c \
	store/targets.c \
	store/totp.c
libprovost_store_la_CFLAGS = $(AM_CFLAGS) $(SQLITE_CFLAGS) $(JANSSON_CFLAGS) \
	$(OATH_CFLAGS) $(CRYPTO_CFLAGS)
libprovost_store_la_LIBADD = libprovost_policy.la libprovost_common.la $(SQLITE_LIBS) \
	$(JANSSON_LIBS) $(OATH_LIBS) $(CRYPTO_LIBS)
EXTRA_DIST += store/db_pg.c store/db_pg.h
if HAVE_LIBPQ
libprovost_store_la_SOURCES += store/db_pg.c store/db_pg.h
libprovost_store_la_CFLAGS += $(LIBPQ_CFLAGS)
libprovost_store_la_LIBADD += $(LIBPQ_LIBS)
LINT_H_FILES += store/db_pg.h
# a server that stops answering, played on a unix socket (libpq only)
check_PROGRAMS += tests/unit/test_store_pgbound
TESTS += tests/unit/test_store_pgbound
tests_unit_test_store_pgbound_SOURCES = tests/unit/test_store_pgbound.c \
	tests/unit/store_test_util.h
tests_unit_test_store_pgbound_CFLAGS = $(STORE_TEST_CFLAGS)
tests_unit_test_store_pgbound_LDFLAGS = $(UNIT_LINK)
tests_unit_test_store_pgbound_LDADD = $(STORE_TEST_LDADD)
LINT_C_FILES += tests/unit/test_store_pgbound.c
endif
LINT_C_FILES += $(filter %.c,$(libprovost_store_la_SOURCES))
LINT_H_FILES += store/store.h store/store-int.h store/db_sqlite.h

STORE_UNIT_TESTS = \
	tests/unit/test_store \
	tests/unit/test_store_audit \
	tests/unit/test_store_decide \
	tests/unit/test_store_exit \
	tests/unit/test_store_grants \
	tests/unit/test_store_misc \
	tests/unit/test_store_mfagrace \
	tests/unit/test_store_lease
check_PROGRAMS += $(STORE_UNIT_TESTS)
TESTS += $(STORE_UNIT_TESTS)
STORE_TEST_CFLAGS = $(UNIT_CC) $(SQLITE_CFLAGS) $(JANSSON_CFLAGS) \
	$(OATH_CFLAGS) $(CRYPTO_CFLAGS)
STORE_TEST_LDADD = libprovost_store.la libprovost_common.la $(CMOCKA_LIBS) \
	$(SQLITE_LIBS) $(JANSSON_LIBS) $(OATH_LIBS) $(CRYPTO_LIBS)
tests_unit_test_store_SOURCES = tests/unit/test_store.c \
	tests/unit/store_test_util.h
tests_unit_test_store_CFLAGS = $(STORE_TEST_CFLAGS)
tests_unit_test_store_LDFLAGS = $(UNIT_LINK)
tests_unit_test_store_LDADD = $(STORE_TEST_LDADD)
tests_unit_test_store_audit_SOURCES = tests/unit/test_store_audit.c \
	tests/unit/store_test_util.h
tests_unit_test_store_audit_CFLAGS = $(STORE_TEST_CFLAGS)
tests_unit_test_store_audit_LDFLAGS = $(UNIT_LINK)
tests_unit_test_store_audit_LDADD = $(STORE_TEST_LDADD)
tests_unit_test_store_decide_SOURCES = tests/unit/test_store_decide.c \
	tests/unit/store_test_util.h
tests_unit_test_store_decide_CFLAGS = $(STORE_TEST_CFLAGS)
tests_unit_test_store_decide_LDFLAGS = $(UNIT_LINK)
tests_unit_test_store_decide_LDADD = $(STORE_TEST_LDADD)
tests_unit_test_store_exit_SOURCES = tests/unit/test_store_exit.c \
	tests/unit/store_test_util.h
tests_unit_test_store_exit_CFLAGS = $(STORE_TEST_CFLAGS)
tests_unit_test_store_exit_LDFLAGS = $(UNIT_LINK)
tests_unit_test_store_exit_LDADD = $(STORE_TEST_LDADD)
tests_unit_test_store_grants_SOURCES = tests/unit/test_store_grants.c \
	tests/unit/store_test_util.h
tests_unit_test_store_grants_CFLAGS = $(STORE_TEST_CFLAGS)
tests_unit_test_store_grants_LDFLAGS = $(UNIT_LINK)
tests_unit_test_store_grants_LDADD = $(STORE_TEST_LDADD)
tests_unit_test_store_misc_SOURCES = tests/unit/test_store_misc.c \
	tests/unit/store_test_util.h
tests_unit_test_store_misc_CFLAGS = $(STORE_TEST_CFLAGS)
tests_unit_test_store_misc_LDFLAGS = $(UNIT_LINK)
tests_unit_test_store_misc_LDADD = $(STORE_TEST_LDADD)
tests_unit_test_store_mfagrace_SOURCES = tests/unit/test_store_mfagrace.c \
	tests/unit/store_test_util.h
tests_unit_test_store_mfagrace_CFLAGS = $(STORE_TEST_CFLAGS)
tests_unit_test_store_mfagrace_LDFLAGS = $(UNIT_LINK)
tests_unit_test_store_mfagrace_LDADD = $(STORE_TEST_LDADD)
tests_unit_test_store_lease_SOURCES = tests/unit/test_store_lease.c \
	tests/unit/store_test_util.h
tests_unit_test_store_lease_CFLAGS = $(STORE_TEST_CFLAGS)
tests_unit_test_store_lease_LDFLAGS = $(UNIT_LINK)
tests_unit_test_store_lease_LDADD = $(STORE_TEST_LDADD)
LINT_C_FILES += tests/unit/test_store_lease.c
LINT_C_FILES += tests/unit/test_store.c tests/unit/test_store_audit.c \
	tests/unit/test_store_grants.c tests/unit/test_store_misc.c \
	tests/unit/test_store_decide.c tests/unit/test_store_exit.c \
	tests/unit/test_store_mfagrace.c
LINT_H_FILES += tests/unit/store_test_util.h

# Fuzz target: the JSON inventory import on an in-memory store.
FUZZ_TARGETS += tests/fuzz/fuzz_inventory
tests_fuzz_fuzz_inventory_SOURCES = tests/fuzz/fuzz_inventory.c
tests_fuzz_fuzz_inventory_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_inventory_LDADD = $(FUZZ_MAIN_LIB) libprovost_store.la \
	libprovost_common.la
LINT_C_FILES += tests/fuzz/fuzz_inventory.c

# Fuzz target: provostd.conf's keyword table (BrokerName, BrokerLease, ...).
FUZZ_TARGETS += tests/fuzz/fuzz_provostd_conf
tests_fuzz_fuzz_provostd_conf_SOURCES = tests/fuzz/fuzz_provostd_conf.c
tests_fuzz_fuzz_provostd_conf_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_provostd_conf_LDADD = $(FUZZ_MAIN_LIB) libprovost_store.la \
	libprovost_common.la
LINT_C_FILES += tests/fuzz/fuzz_provostd_conf.c

# Fuzz target: provostctl exposure import (CSV, JSON lines).
FUZZ_TARGETS += tests/fuzz/fuzz_exposures
tests_fuzz_fuzz_exposures_SOURCES = tests/fuzz/fuzz_exposures.c
tests_fuzz_fuzz_exposures_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_exposures_LDADD = $(FUZZ_MAIN_LIB) libprovost_store.la \
	libprovost_common.la
LINT_C_FILES += tests/fuzz/fuzz_exposures.c

# Fuzz target: what an exit reads (hook answers, a bundle's audit.jsonl,
# the certificate's signature).
FUZZ_TARGETS += tests/fuzz/fuzz_exit
tests_fuzz_fuzz_exit_SOURCES = tests/fuzz/fuzz_exit.c
tests_fuzz_fuzz_exit_CFLAGS = $(AM_CFLAGS) $(CRYPTO_CFLAGS) $(JANSSON_CFLAGS)
tests_fuzz_fuzz_exit_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_exit_LDADD = $(FUZZ_MAIN_LIB) libprovost_store.la \
	libprovost_common.la $(CRYPTO_LIBS) $(JANSSON_LIBS)
LINT_C_FILES += tests/fuzz/fuzz_exit.c

# Fuzz target: the audit anchors file (provostctl audit verify --anchors).
FUZZ_TARGETS += tests/fuzz/fuzz_anchors
tests_fuzz_fuzz_anchors_SOURCES = tests/fuzz/fuzz_anchors.c
tests_fuzz_fuzz_anchors_CFLAGS = $(AM_CFLAGS) $(CRYPTO_CFLAGS)
tests_fuzz_fuzz_anchors_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_anchors_LDADD = $(FUZZ_MAIN_LIB) libprovost_store.la \
	libprovost_common.la $(CRYPTO_LIBS)
LINT_C_FILES += tests/fuzz/fuzz_anchors.c

# Benchmark driver for bench/store (not installed, not a test).
noinst_PROGRAMS += bench/store_bench
bench_store_bench_SOURCES = bench/store_bench.c
bench_store_bench_CFLAGS = $(AM_CFLAGS) $(SQLITE_CFLAGS) $(JANSSON_CFLAGS) \
	$(CRYPTO_CFLAGS)
bench_store_bench_LDFLAGS = $(PROG_LINK)
bench_store_bench_LDADD = libprovost_store.la libprovost_common.la \
	$(SQLITE_LIBS) $(JANSSON_LIBS) $(CRYPTO_LIBS)
LINT_C_FILES += bench/store_bench.c
EXTRA_DIST += bench/store

# Fuzz target: what the built-in unix-password rotation reads back from a
# target's shadow (store_shadow_parse).
FUZZ_TARGETS += tests/fuzz/fuzz_shadow
tests_fuzz_fuzz_shadow_SOURCES = tests/fuzz/fuzz_shadow.c
tests_fuzz_fuzz_shadow_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_shadow_LDADD = $(FUZZ_MAIN_LIB) libprovost_store.la \
	libprovost_common.la $(CRYPTO_LIBS) $(JANSSON_LIBS)
LINT_C_FILES += tests/fuzz/fuzz_shadow.c
