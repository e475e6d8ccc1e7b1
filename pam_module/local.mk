# pam_module/: pam_provost.so for target hosts, on the token library of
# pvt/ (pvt/local.mk).
# The module: only pam_sm_* leave the object.
pammod_LTLIBRARIES = pam_provost.la
pam_provost_la_SOURCES = pam_module/pam_provost.c
pam_provost_la_CFLAGS = $(AM_CFLAGS) $(CRYPTO_CFLAGS) -fvisibility=hidden
pam_provost_la_LDFLAGS = $(AM_LDFLAGS) -module -avoid-version -shared \
	-export-symbols-regex '^pam_sm_'
pam_provost_la_LIBADD = libprovost_pvt.la $(CRYPTO_LIBS) $(PAM_LIBS)
LINT_C_FILES += pam_module/pam_provost.c

# A test tool that signs tokens and revocation lists with a key file.
check_PROGRAMS += tests/pam/pvt-tool
tests_pam_pvt_tool_SOURCES = tests/pam/pvt-tool.c
tests_pam_pvt_tool_CFLAGS = $(AM_CFLAGS) $(CRYPTO_CFLAGS)
tests_pam_pvt_tool_LDFLAGS = $(PROG_LINK)
tests_pam_pvt_tool_LDADD = libprovost_pvt.la libprovost_common.la \
	$(CRYPTO_LIBS)
LINT_C_FILES += tests/pam/pvt-tool.c

PAM_UNIT_TESTS = \
	tests/unit/test_pam_token \
	tests/unit/test_pam_revlist
check_PROGRAMS += $(PAM_UNIT_TESTS)
TESTS += $(PAM_UNIT_TESTS)
tests_unit_test_pam_token_SOURCES = tests/unit/test_pam_token.c
tests_unit_test_pam_token_CFLAGS = $(UNIT_CC) $(CRYPTO_CFLAGS)
tests_unit_test_pam_token_LDFLAGS = $(UNIT_LINK)
tests_unit_test_pam_token_LDADD = libprovost_pvt.la \
	libprovost_common.la $(CMOCKA_LIBS) $(CRYPTO_LIBS)
tests_unit_test_pam_revlist_SOURCES = tests/unit/test_pam_revlist.c
tests_unit_test_pam_revlist_CFLAGS = $(UNIT_CC) $(CRYPTO_CFLAGS)
tests_unit_test_pam_revlist_LDFLAGS = $(UNIT_LINK)
tests_unit_test_pam_revlist_LDADD = libprovost_pvt.la \
	libprovost_common.la $(CMOCKA_LIBS) $(CRYPTO_LIBS)
LINT_C_FILES += tests/unit/test_pam_token.c tests/unit/test_pam_revlist.c

FUZZ_TARGETS += tests/fuzz/fuzz_pvt_token tests/fuzz/fuzz_pvt_revlist
tests_fuzz_fuzz_pvt_token_SOURCES = tests/fuzz/fuzz_pvt_token.c
tests_fuzz_fuzz_pvt_token_CFLAGS = $(AM_CFLAGS) $(CRYPTO_CFLAGS)
tests_fuzz_fuzz_pvt_token_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_pvt_token_LDADD = $(FUZZ_MAIN_LIB) libprovost_pvt.la \
	libprovost_common.la $(CRYPTO_LIBS)
tests_fuzz_fuzz_pvt_revlist_SOURCES = tests/fuzz/fuzz_pvt_revlist.c
tests_fuzz_fuzz_pvt_revlist_CFLAGS = $(AM_CFLAGS) $(CRYPTO_CFLAGS)
tests_fuzz_fuzz_pvt_revlist_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_pvt_revlist_LDADD = $(FUZZ_MAIN_LIB) \
	libprovost_pvt.la libprovost_common.la $(CRYPTO_LIBS)
LINT_C_FILES += tests/fuzz/fuzz_pvt_token.c tests/fuzz/fuzz_pvt_revlist.c

# Integration: the built module under pam_wrapper + pamtester.  The test
# needs to know whether the module carries ASan (pamtester does not).
PAM_INTEGRATION_TESTS = tests/integration/t_pam_token.sh \
	tests/integration/t_pam_sshd.sh
TESTS += $(PAM_INTEGRATION_TESTS)
EXTRA_DIST += $(PAM_INTEGRATION_TESTS) docs/pam-token.md
AM_TESTS_ENVIRONMENT += PV_SAN_CFLAGS='$(SAN_CFLAGS)'; PV_CC='$(CC)'; \
	export PV_SAN_CFLAGS PV_CC;
dist_man_MANS += docs/pam_provost.8
