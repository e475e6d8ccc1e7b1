# broker/: provostd, in three parts that show the privilege boundary:
# monitor/ (the privileged parent), session/ (the sandboxed per-connection
# process), privsep/ (what both link: privsep/local.mk), and broker.h, the
# interfaces they share.  The library holds everything testable; provostd
# is its main().  check-layout refuses an include across the boundary.
noinst_LTLIBRARIES += libprovost_broker.la
libprovost_broker_la_SOURCES = \
	broker/broker.h \
	broker/algos.c \
	broker/keyblob.c \
	broker/login.c \
	broker/recpath.c \
	broker/monitor/monitor.h \
	broker/monitor/control.h \
	broker/monitor/control-int.h \
	broker/monitor/backend_store.c \
	broker/monitor/cert.c \
	broker/monitor/control.c \
	broker/monitor/control_cmd.c \
	broker/monitor/control_watch.c \
	broker/monitor/lease.c \
	broker/monitor/leg.c \
	broker/monitor/listen.c \
	broker/monitor/menu.c \
	broker/monitor/menu_approver.c \
	broker/monitor/monitor_srv.c \
	broker/monitor/resolver.h \
	broker/monitor/resolver.c \
	broker/session/session.h \
	broker/session/auth.c \
	broker/session/backend_monitor.c \
	broker/session/link.c \
	broker/session/recorder_rec.c \
	broker/session/relay.c \
	broker/session/relay_rfwd.c \
	broker/session/relay_xfer.c \
	broker/session/sandbox_enter.c \
	broker/session/session.c \
	broker/session/target.c \
	broker/session/view.c \
	broker/session/watch.c
libprovost_broker_la_CFLAGS = $(AM_CFLAGS) $(LIBSSH_CFLAGS) $(CRYPTO_CFLAGS) \
	$(JANSSON_CFLAGS) $(SQLITE_CFLAGS)
libprovost_broker_la_LIBADD = libprovost_privsep.la \
	libprovost_sftp.la libprovost_store.la \
	libprovost_recorder.la libprovost_pvt.la \
	libprovost_plugins.la libprovost_policy.la libprovost_common.la \
	$(LIBSSH_LIBS) $(CRYPTO_LIBS) $(JANSSON_LIBS) $(SECCOMP_LIBS) -ldl \
	-lpthread
LINT_C_FILES += $(filter %.c,$(libprovost_broker_la_SOURCES))
LINT_H_FILES += $(filter %.h,$(libprovost_broker_la_SOURCES))

sbin_PROGRAMS += provostd
provostd_SOURCES = broker/monitor/daemon.c
provostd_CFLAGS = $(AM_CFLAGS) $(LIBSSH_CFLAGS) $(CRYPTO_CFLAGS) \
	$(JANSSON_CFLAGS)
provostd_LDFLAGS = $(PROG_LINK)
provostd_LDADD = libprovost_broker.la libprovost_privsep.la \
	libprovost_sftp.la libprovost_store.la \
	libprovost_pvt.la \
	libprovost_recorder.la libprovost_plugins.la libprovost_policy.la \
	libprovost_common.la \
	$(LIBSSH_LIBS) $(CRYPTO_LIBS) $(JANSSON_LIBS) $(SQLITE_LIBS) \
	$(ZSTD_LIBS) $(OATH_LIBS) $(SECCOMP_LIBS) -ldl
LINT_C_FILES += broker/monitor/daemon.c

BROKER_UNIT_TESTS = \
	tests/unit/test_broker_cert \
	tests/unit/test_broker_control \
	tests/unit/test_broker_listen \
	tests/unit/test_broker_login \
	tests/unit/test_broker_monsrv \
	tests/unit/test_broker_resolver
check_PROGRAMS += $(BROKER_UNIT_TESTS)
TESTS += $(BROKER_UNIT_TESTS)
tests_unit_test_broker_login_SOURCES = tests/unit/test_broker_login.c
tests_unit_test_broker_login_CFLAGS = $(UNIT_CC) $(CRYPTO_CFLAGS)
tests_unit_test_broker_login_LDFLAGS = $(UNIT_LINK)
tests_unit_test_broker_login_LDADD = libprovost_broker.la \
	libprovost_common.la $(CMOCKA_LIBS)
tests_unit_test_broker_monsrv_SOURCES = tests/unit/test_broker_monsrv.c
tests_unit_test_broker_monsrv_CFLAGS = $(UNIT_CC) $(CRYPTO_CFLAGS) \
	$(LIBSSH_CFLAGS) $(JANSSON_CFLAGS)
tests_unit_test_broker_monsrv_LDFLAGS = $(UNIT_LINK)
tests_unit_test_broker_monsrv_LDADD = libprovost_broker.la \
	libprovost_privsep.la libprovost_store.la libprovost_common.la \
	$(CMOCKA_LIBS)
tests_unit_test_broker_cert_SOURCES = tests/unit/test_broker_cert.c
tests_unit_test_broker_cert_CFLAGS = $(UNIT_CC) $(CRYPTO_CFLAGS)
tests_unit_test_broker_cert_LDFLAGS = $(UNIT_LINK)
tests_unit_test_broker_cert_LDADD = libprovost_broker.la \
	libprovost_common.la $(CMOCKA_LIBS) $(CRYPTO_LIBS)
tests_unit_test_broker_control_SOURCES = tests/unit/test_broker_control.c
tests_unit_test_broker_control_CFLAGS = $(UNIT_CC) $(CRYPTO_CFLAGS) \
	$(LIBSSH_CFLAGS) $(JANSSON_CFLAGS)
tests_unit_test_broker_control_LDFLAGS = $(UNIT_LINK)
tests_unit_test_broker_control_LDADD = libprovost_broker.la \
	libprovost_store.la libprovost_common.la $(CMOCKA_LIBS)
tests_unit_test_broker_resolver_SOURCES = tests/unit/test_broker_resolver.c
tests_unit_test_broker_resolver_CFLAGS = $(UNIT_CC) $(CRYPTO_CFLAGS)
tests_unit_test_broker_resolver_LDFLAGS = $(UNIT_LINK)
tests_unit_test_broker_resolver_LDADD = libprovost_broker.la \
	libprovost_common.la $(CMOCKA_LIBS)
tests_unit_test_broker_listen_SOURCES = tests/unit/test_broker_listen.c
tests_unit_test_broker_listen_CFLAGS = $(UNIT_CC) $(CRYPTO_CFLAGS)
tests_unit_test_broker_listen_LDFLAGS = $(UNIT_LINK)
tests_unit_test_broker_listen_LDADD = libprovost_broker.la \
	libprovost_common.la $(CMOCKA_LIBS)
LINT_C_FILES += $(BROKER_UNIT_TESTS:=.c)

FUZZ_TARGETS += tests/fuzz/fuzz_login
tests_fuzz_fuzz_login_SOURCES = tests/fuzz/fuzz_login.c
tests_fuzz_fuzz_login_CFLAGS = $(AM_CFLAGS) $(CRYPTO_CFLAGS)
tests_fuzz_fuzz_login_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_login_LDADD = $(FUZZ_MAIN_LIB) libprovost_broker.la \
	libprovost_common.la
LINT_C_FILES += tests/fuzz/fuzz_login.c

# The resolver process's answers as the monitor checks them.
FUZZ_TARGETS += tests/fuzz/fuzz_resolver
tests_fuzz_fuzz_resolver_SOURCES = tests/fuzz/fuzz_resolver.c
tests_fuzz_fuzz_resolver_CFLAGS = $(AM_CFLAGS) $(CRYPTO_CFLAGS)
tests_fuzz_fuzz_resolver_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_resolver_LDADD = $(FUZZ_MAIN_LIB) libprovost_broker.la \
	libprovost_common.la
LINT_C_FILES += tests/fuzz/fuzz_resolver.c

# The engineer's menu line (split as sh would) on an in-memory store.
FUZZ_TARGETS += tests/fuzz/fuzz_menu
tests_fuzz_fuzz_menu_SOURCES = tests/fuzz/fuzz_menu.c
tests_fuzz_fuzz_menu_CFLAGS = $(AM_CFLAGS) $(CRYPTO_CFLAGS) $(JANSSON_CFLAGS)
tests_fuzz_fuzz_menu_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_menu_LDADD = $(FUZZ_MAIN_LIB) libprovost_broker.la \
	libprovost_common.la
LINT_C_FILES += tests/fuzz/fuzz_menu.c

# A test helper that mints certificates as provostd does (not installed).
check_PROGRAMS += broker/pv-broker-mint
broker_pv_broker_mint_SOURCES = broker/monitor/tool_mint.c
broker_pv_broker_mint_CFLAGS = $(AM_CFLAGS) $(CRYPTO_CFLAGS)
broker_pv_broker_mint_LDFLAGS = $(PROG_LINK)
broker_pv_broker_mint_LDADD = libprovost_broker.la libprovost_common.la \
	$(CRYPTO_LIBS)
LINT_C_FILES += broker/monitor/tool_mint.c

BROKER_INTEGRATION_TESTS = \
	tests/integration/t_broker_auth.sh \
	tests/integration/t_broker_cert.sh \
	tests/integration/t_broker_control.sh \
	tests/integration/t_broker_dns.sh \
	tests/integration/t_broker_watch.sh \
	tests/integration/t_broker_moderate.sh \
	tests/integration/t_broker_approver_watch.sh \
	tests/integration/t_broker_approve.sh \
	tests/integration/t_broker_preauth.sh \
	tests/integration/t_broker_preconnect.sh \
	tests/integration/t_broker_privsep.sh \
	tests/integration/t_broker_recfail.sh \
	tests/integration/t_broker_relay.sh \
	tests/integration/t_pam_broker.sh \
	tests/integration/t_broker_stale.sh \
	tests/integration/t_broker_sftp.sh \
	tests/integration/t_broker_extract.sh \
	tests/integration/t_broker_forward.sh \
	tests/integration/t_broker_rekey.sh \
	tests/integration/t_broker_close.sh \
	tests/integration/t_broker_reload.sh \
	tests/integration/t_broker_long.sh \
	tests/integration/t_broker_idle.sh \
	tests/integration/t_broker_forge.sh \
	tests/integration/t_broker_recaudit.sh \
	tests/integration/t_broker_lockout.sh \
	tests/integration/t_broker_flood.sh \
	tests/integration/t_broker_recdir.sh \
	tests/integration/t_broker_kex.sh \
	tests/integration/t_broker_pg.sh \
	tests/integration/t_broker_lease.sh \
	tests/integration/t_broker_lease_pg.sh \
	tests/integration/t_broker_pg2.sh \
	tests/integration/t_broker_pghang.sh \
	tests/integration/t_decide_callers.sh
TESTS += $(BROKER_INTEGRATION_TESTS)
EXTRA_DIST += $(BROKER_INTEGRATION_TESTS) tests/integration/broker-setup.sh \
	tests/integration/tcp-peer.py
dist_man_MANS += docs/provostd.8

FUZZ_TARGETS += tests/fuzz/fuzz_cert
tests_fuzz_fuzz_cert_SOURCES = tests/fuzz/fuzz_cert.c
tests_fuzz_fuzz_cert_CFLAGS = $(AM_CFLAGS) $(CRYPTO_CFLAGS)
tests_fuzz_fuzz_cert_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_cert_LDADD = $(FUZZ_MAIN_LIB) libprovost_broker.la \
	libprovost_common.la $(CRYPTO_LIBS)
LINT_C_FILES += tests/fuzz/fuzz_cert.c
EXTRA_DIST += bench/broker-throughput bench/broker-sftp

# A test helper: offers a key without a signature, then a good code.
check_PROGRAMS += broker/pv-broker-probe
broker_pv_broker_probe_SOURCES = broker/session/tool_probe.c
broker_pv_broker_probe_CFLAGS = $(AM_CFLAGS) $(LIBSSH_CFLAGS)
broker_pv_broker_probe_LDFLAGS = $(PROG_LINK)
broker_pv_broker_probe_LDADD = libprovost_common.la $(LIBSSH_LIBS) $(CRYPTO_LIBS)
LINT_C_FILES += broker/session/tool_probe.c

# The boundary, enforced: nothing under broker/monitor/ includes a
# broker/session/ header, and the reverse (DESIGN.md, docs/privsep.md);
# in the built objects, monitor code calls no session function but the
# session process's entry points, and session code no monitor function
# (scripts/check-boundary).
check-layout: libprovost_broker.la provostd$(EXEEXT)
	@$(srcdir)/scripts/check-boundary $(abs_top_builddir)
	@bad=$$(cd $(srcdir) && { grep -l '#include "broker/session/' \
	    broker/monitor/*.[ch] 2>/dev/null; grep -l \
	    '#include "broker/monitor/' broker/session/*.[ch] 2>/dev/null; \
	    grep -l '#include "broker/\(monitor\|session\)/' \
	    broker/privsep/*.[ch] broker/*.[ch] 2>/dev/null; }); \
	if [ -n "$$bad" ]; then \
		echo "check-layout: includes across the privilege boundary:" \
		    $$bad >&2; exit 1; fi
.PHONY: check-layout
