# policy/: the classification policy: parser, evaluator, explain.  Pure
# functions over common/ (no libraries beyond libc).
noinst_LTLIBRARIES += libprovost_policy.la
libprovost_policy_la_SOURCES = \
	policy/policy.h \
	policy/policy-int.h \
	policy/decide.c \
	policy/explain.c \
	policy/hours.c \
	policy/parse.c \
	policy/tz.c
libprovost_policy_la_CFLAGS = $(AM_CFLAGS)
libprovost_policy_la_LIBADD = libprovost_common.la
LINT_C_FILES += $(filter %.c,$(libprovost_policy_la_SOURCES))
LINT_H_FILES += policy/policy.h policy/policy-int.h
EXTRA_DIST += docs/policy.md

POLICY_UNIT_TESTS = \
	tests/unit/test_policy_parse \
	tests/unit/test_policy_decide \
	tests/unit/test_policy_tz
check_PROGRAMS += $(POLICY_UNIT_TESTS)
TESTS += $(POLICY_UNIT_TESTS)
tests_unit_test_policy_parse_SOURCES = tests/unit/test_policy_parse.c
tests_unit_test_policy_parse_CFLAGS = $(UNIT_CC)
tests_unit_test_policy_parse_LDFLAGS = $(UNIT_LINK)
tests_unit_test_policy_parse_LDADD = libprovost_policy.la \
	libprovost_common.la $(CMOCKA_LIBS)
tests_unit_test_policy_decide_SOURCES = tests/unit/test_policy_decide.c
tests_unit_test_policy_decide_CFLAGS = $(UNIT_CC)
tests_unit_test_policy_decide_LDFLAGS = $(UNIT_LINK)
tests_unit_test_policy_decide_LDADD = libprovost_policy.la \
	libprovost_common.la $(CMOCKA_LIBS)
tests_unit_test_policy_tz_SOURCES = tests/unit/test_policy_tz.c
tests_unit_test_policy_tz_CFLAGS = $(UNIT_CC)
tests_unit_test_policy_tz_LDFLAGS = $(UNIT_LINK)
tests_unit_test_policy_tz_LDADD = libprovost_policy.la \
	libprovost_common.la $(CMOCKA_LIBS)
LINT_C_FILES += tests/unit/test_policy_parse.c \
	tests/unit/test_policy_decide.c tests/unit/test_policy_tz.c

# Fuzz target: parse, then decide and explain fixed requests.
FUZZ_TARGETS += tests/fuzz/fuzz_policy
tests_fuzz_fuzz_policy_SOURCES = tests/fuzz/fuzz_policy.c
tests_fuzz_fuzz_policy_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_policy_LDADD = $(FUZZ_MAIN_LIB) libprovost_policy.la \
	libprovost_common.la
LINT_C_FILES += tests/fuzz/fuzz_policy.c

# Benchmark driver for bench/policy (not installed, not a test).
noinst_PROGRAMS += bench/policy_bench
bench_policy_bench_SOURCES = bench/policy_bench.c
bench_policy_bench_LDFLAGS = $(PROG_LINK)
bench_policy_bench_LDADD = libprovost_policy.la libprovost_common.la
LINT_C_FILES += bench/policy_bench.c
EXTRA_DIST += bench/policy
