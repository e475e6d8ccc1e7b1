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
